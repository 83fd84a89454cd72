//! X v2 read endpoints with the v2 shapes: `data`, `includes.users`,
//! `meta.newest_id/oldest_id/next_token`, `since_id`/`until_id` semantics and
//! only the fields that were asked for.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{DmEvent, Tweet, data, invalid_request};
use crate::http::{ApiRequest, ApiResponse};
use crate::state::World;

/// Only the most recent mentions are reachable.
const MENTIONS_REACHABLE: usize = 800;

struct Query {
    params: Vec<(String, String)>,
}

impl Query {
    fn new(request: &ApiRequest) -> Self {
        Query { params: request.query_pairs() }
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(|v| v.split(',').map(|s| s.trim().to_string()).collect()).unwrap_or_default()
    }
    fn id(&self, key: &str) -> Result<Option<u64>, ApiResponse> {
        match self.get(key) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| invalid_request(key, &format!("The `{key}` query parameter value [{raw}] is not valid"))),
        }
    }
}

/// Resolved paging parameters.
struct Paging {
    since_id: Option<u64>,
    until_id: Option<u64>,
    /// Only ids strictly below this (from a pagination token).
    below: Option<u64>,
    max_results: usize,
}

fn paging(query: &Query, min: usize, max: usize, default: usize) -> Result<Paging, ApiResponse> {
    let max_results = match query.get("max_results") {
        None => default,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                let message = format!("The `max_results` query parameter value [{raw}] is not between {min} and {max}");
                return Err(invalid_request("max_results", &message));
            }
        },
    };
    let token = query.get("pagination_token").or_else(|| query.get("next_token"));
    let below = match token {
        None => None,
        Some(raw) => Some(u64::from_str_radix(raw, 36).map_err(|_| {
            invalid_request("pagination_token", "The `pagination_token` query parameter value is not valid")
        })?),
    };
    Ok(Paging { since_id: query.id("since_id")?, until_id: query.id("until_id")?, below, max_results })
}

/// Newest first, then cut to one page; returns the page and the next token.
fn page<T: Clone>(mut items: Vec<(u64, T)>, paging: &Paging) -> (Vec<(u64, T)>, Option<String>) {
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    items.retain(|(id, _)| {
        paging.since_id.is_none_or(|s| *id > s)
            && paging.until_id.is_none_or(|u| *id < u)
            && paging.below.is_none_or(|b| *id < b)
    });
    let more = items.len() > paging.max_results;
    items.truncate(paging.max_results);
    let next = if more { items.last().map(|(id, _)| radix36(*id)) } else { None };
    (items, next)
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn rfc3339_ms(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string()
}

fn v2_tweet(tweet: &Tweet, fields: &[String]) -> Value {
    let id = tweet.id.to_string();
    let mut object = json!({"id": id, "text": tweet.text, "edit_history_tweet_ids": [id]});
    let want = |f: &str| fields.iter().any(|x| x == f);
    if want("author_id") {
        object["author_id"] = json!(tweet.author_id);
    }
    if want("created_at") {
        object["created_at"] = json!(rfc3339_ms(tweet.created_at));
    }
    if want("conversation_id") {
        object["conversation_id"] = json!(tweet.conversation_id.to_string());
    }
    if want("in_reply_to_user_id")
        && let Some(user) = &tweet.in_reply_to_user
    {
        object["in_reply_to_user_id"] = json!(user);
    }
    if want("referenced_tweets")
        && let Some(parent) = tweet.in_reply_to_status
    {
        object["referenced_tweets"] = json!([{"type": "replied_to", "id": parent.to_string()}]);
    }
    if want("entities") && !tweet.mentions.is_empty() {
        let mentions: Vec<Value> = tweet
            .mentions
            .iter()
            .map(|m| json!({"start": m.start, "end": m.end, "username": m.screen_name, "id": m.user_id}))
            .collect();
        object["entities"] = json!({"mentions": mentions});
    }
    if want("lang") {
        object["lang"] = json!(crate::customers::guess_lang(&tweet.text));
    }
    if want("note_tweet") && tweet.text.chars().count() > 280 {
        object["note_tweet"] = json!({"text": tweet.text});
    }
    object
}

fn v2_user(world: &World, id: &str, fields: &[String]) -> Value {
    let user = world.x.users.get(id);
    let mut object = json!({
        "id": id,
        "name": user.map(|u| u.name.clone()).unwrap_or_default(),
        "username": user.map(|u| u.screen_name.clone()).unwrap_or_default(),
    });
    if fields.iter().any(|f| f == "profile_image_url") {
        object["profile_image_url"] = json!("https://pbs.twimg.com/profile_images/1/sandbox_normal.jpg");
    }
    object
}

/// `{data, includes, meta}` for a page of tweets.
fn tweets_response(world: &World, query: &Query, items: Vec<(u64, Tweet)>, next: Option<String>) -> ApiResponse {
    if items.is_empty() {
        return ApiResponse::json(200, &json!({"meta": {"result_count": 0}}));
    }
    let fields = query.list("tweet.fields");
    let expansions = query.list("expansions");
    let user_fields = query.list("user.fields");
    let tweets: Vec<Value> = items.iter().map(|(_, t)| v2_tweet(t, &fields)).collect();
    let mut body = json!({"data": tweets});
    let mut user_ids: Vec<String> = Vec::new();
    for (_, tweet) in &items {
        if expansions.iter().any(|e| e == "author_id") {
            user_ids.push(tweet.author_id.clone());
        }
        if expansions.iter().any(|e| e == "in_reply_to_user_id")
            && let Some(user) = &tweet.in_reply_to_user
        {
            user_ids.push(user.clone());
        }
        if expansions.iter().any(|e| e == "entities.mentions.username") {
            user_ids.extend(tweet.mentions.iter().map(|m| m.user_id.clone()));
        }
    }
    user_ids.sort();
    user_ids.dedup();
    if !user_ids.is_empty() {
        let users: Vec<Value> = user_ids.iter().map(|id| v2_user(world, id, &user_fields)).collect();
        body["includes"] = json!({"users": users});
    }
    let mut meta = json!({
        "result_count": items.len(),
        "newest_id": items.first().map(|(id, _)| id.to_string()),
        "oldest_id": items.last().map(|(id, _)| id.to_string()),
    });
    if let Some(token) = next {
        meta["next_token"] = json!(token);
    }
    body["meta"] = meta;
    ApiResponse::json(200, &body)
}

fn user_missing(id: &str) -> ApiResponse {
    ApiResponse::json(
        200,
        &json!({"errors": [{"value": id, "detail": format!("Could not find user with id: [{id}]."), "title": "Not Found Error",
                            "resource_type": "user", "parameter": "id", "resource_id": id,
                            "type": "https://api.twitter.com/2/problems/resource-not-found"}]}),
    )
}

pub(crate) fn me(world: &World, me: &str) -> ApiResponse {
    ApiResponse::json(200, &data(v2_user(world, me, &[])))
}

pub(crate) fn mentions(world: &World, request: &ApiRequest, user: &str, _now: Timestamp) -> ApiResponse {
    if !world.x.users.contains_key(user) {
        return user_missing(user);
    }
    let query = Query::new(request);
    let paging = match paging(&query, 5, 100, 10) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let mut all: Vec<(u64, Tweet)> = world
        .x
        .tweets
        .values()
        .filter(|t| !t.deleted && t.author_id != user && t.mentions.iter().any(|m| m.user_id == user))
        .map(|t| (t.id, t.clone()))
        .collect();
    all.sort_by_key(|item| std::cmp::Reverse(item.0));
    all.truncate(MENTIONS_REACHABLE);
    let (items, next) = page(all, &paging);
    tweets_response(world, &query, items, next)
}

pub(crate) fn user_tweets(world: &World, request: &ApiRequest, user: &str) -> ApiResponse {
    if !world.x.users.contains_key(user) {
        return user_missing(user);
    }
    let query = Query::new(request);
    let paging = match paging(&query, 5, 100, 10) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let all =
        world.x.tweets.values().filter(|t| !t.deleted && t.author_id == user).map(|t| (t.id, t.clone())).collect();
    let (items, next) = page(all, &paging);
    tweets_response(world, &query, items, next)
}

pub(crate) fn lookup(world: &World, request: &ApiRequest, id: &str) -> ApiResponse {
    let query = Query::new(request);
    match id.parse::<u64>().ok().and_then(|id| world.x.tweets.get(&id)).filter(|t| !t.deleted) {
        Some(tweet) => {
            let mut body = data(v2_tweet(tweet, &query.list("tweet.fields")));
            if query.list("expansions").iter().any(|e| e == "author_id") {
                let user = v2_user(world, &tweet.author_id, &query.list("user.fields"));
                body["includes"] = json!({"users": [user]});
            }
            ApiResponse::json(200, &body)
        }
        None => ApiResponse::json(
            200,
            &json!({"errors": [{"value": id, "detail": format!("Could not find tweet with id: [{id}]."), "title": "Not Found Error",
                                "resource_type": "tweet", "parameter": "id", "resource_id": id,
                                "type": "https://api.twitter.com/2/problems/resource-not-found"}]}),
        ),
    }
}

pub(crate) fn search_recent(world: &World, request: &ApiRequest, now: Timestamp) -> ApiResponse {
    let query = Query::new(request);
    let Some(text) = query.get("query").filter(|q| !q.trim().is_empty()) else {
        return invalid_request("query", "The `query` query parameter can not be empty");
    };
    if text.chars().count() > 512 {
        return invalid_request("query", "The `query` query parameter must be at most 512 characters");
    }
    let paging = match paging(&query, 10, 100, 10) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let terms = parse_terms(text);
    let oldest = now - SignedDuration::from_hours(24 * world.limits.x_search_window_days);
    let all = world
        .x
        .tweets
        .values()
        .filter(|t| !t.deleted && t.created_at >= oldest && terms.iter().all(|term| term.matches(world, t)))
        .map(|t| (t.id, t.clone()))
        .collect();
    let (items, next) = page(all, &paging);
    tweets_response(world, &query, items, next)
}

/// One operator of the recent-search query language (a useful subset).
struct Term {
    negated: bool,
    kind: TermKind,
}

enum TermKind {
    From(String),
    To(String),
    Mention(String),
    Conversation(u64),
    IsReply,
    IsRetweet,
    Text(String),
}

fn parse_terms(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        let negated = rest.starts_with('-');
        let body = rest.trim_start_matches('-');
        let (token, after) = if let Some(quoted) = body.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (format!("\"{}", &quoted[..end]), quoted.get(end + 1..).unwrap_or_default())
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            (body[..end].to_string(), &body[end..])
        };
        rest = after.trim_start();
        if token == "OR" || token.is_empty() {
            continue;
        }
        let lower = token.to_lowercase();
        let kind = if let Some(phrase) = token.strip_prefix('"') {
            TermKind::Text(phrase.to_lowercase())
        } else if let Some(user) = lower.strip_prefix("from:") {
            TermKind::From(user.trim_start_matches('@').to_string())
        } else if let Some(user) = lower.strip_prefix("to:") {
            TermKind::To(user.trim_start_matches('@').to_string())
        } else if let Some(id) = lower.strip_prefix("conversation_id:") {
            TermKind::Conversation(id.parse().unwrap_or(0))
        } else if lower == "is:reply" {
            TermKind::IsReply
        } else if lower == "is:retweet" {
            TermKind::IsRetweet
        } else if let Some(user) = lower.strip_prefix('@') {
            TermKind::Mention(user.to_string())
        } else {
            TermKind::Text(lower)
        };
        terms.push(Term { negated, kind });
    }
    terms
}

impl Term {
    fn matches(&self, world: &World, tweet: &Tweet) -> bool {
        let screen = |id: &str| world.x.screen_name(id).to_lowercase();
        let hit = match &self.kind {
            TermKind::From(user) => screen(&tweet.author_id) == *user || tweet.author_id == *user,
            TermKind::To(user) => tweet.in_reply_to_user.as_deref().is_some_and(|id| screen(id) == *user || id == user),
            TermKind::Mention(user) => tweet.mentions.iter().any(|m| m.screen_name.to_lowercase() == *user),
            TermKind::Conversation(id) => tweet.conversation_id == *id,
            TermKind::IsReply => tweet.in_reply_to_status.is_some(),
            TermKind::IsRetweet => false,
            TermKind::Text(text) => tweet.text.to_lowercase().contains(text.as_str()),
        };
        hit != self.negated
    }
}

pub(crate) fn dm_events(world: &World, request: &ApiRequest, me: &str, with: Option<&str>) -> ApiResponse {
    let query = Query::new(request);
    let paging = match paging(&query, 1, 100, 100) {
        Ok(p) => Paging { since_id: None, until_id: None, ..p },
        Err(response) => return response,
    };
    let all: Vec<(u64, DmEvent)> = world
        .x
        .dms
        .iter()
        .filter(|d| d.sender_id == me || d.recipient_id == me)
        .filter(|d| with.is_none_or(|other| d.sender_id == other || d.recipient_id == other))
        .map(|d| (d.id.parse().unwrap_or(0), d.clone()))
        .collect();
    let (items, next) = page(all, &paging);
    if items.is_empty() {
        return ApiResponse::json(200, &json!({"meta": {"result_count": 0}}));
    }
    let fields = query.list("dm_event.fields");
    let want = |f: &str| fields.iter().any(|x| x == f);
    let events: Vec<Value> = items
        .iter()
        .map(|(_, d)| {
            let mut event = json!({"id": d.id, "event_type": "MessageCreate", "text": d.text});
            if want("sender_id") {
                event["sender_id"] = json!(d.sender_id);
            }
            if want("created_at") {
                event["created_at"] = json!(rfc3339_ms(d.created_at));
            }
            if want("dm_conversation_id") {
                event["dm_conversation_id"] = json!(super::write::conversation_id(&d.sender_id, &d.recipient_id));
            }
            if want("participant_ids") {
                event["participant_ids"] = json!([d.sender_id, d.recipient_id]);
            }
            event
        })
        .collect();
    let mut meta = json!({"result_count": events.len()});
    if let Some(token) = next {
        meta["next_token"] = json!(token);
    }
    ApiResponse::json(200, &json!({"data": events, "meta": meta}))
}
