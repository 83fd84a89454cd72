//! X write endpoints: posts, replies, DMs, likes, reposts, hidden replies, and
//! the app-only bearer token exchange.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::events::{create_tweet, deliver_dm, deliver_tweet, new_dm};
use super::{data, invalid_request, not_found, problem, weighted_length};
use crate::http::{ApiRequest, ApiResponse};
use crate::model::{PublishedKind, SimNetwork};
use crate::state::{Inner, World};

/// `POST /oauth2/token` with Basic auth of the consumer key and secret.
pub(crate) fn issue_bearer(inner: &Inner, request: &ApiRequest) -> ApiResponse {
    let basic = request.header("authorization").and_then(|h| h.strip_prefix("Basic ")).unwrap_or_default();
    let decoded = BASE64.decode(basic.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok()).unwrap_or_default();
    let (key, secret) = decoded.split_once(':').unwrap_or_default();
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let (key, secret) = (decode(key), decode(secret));
    let grant_ok = request.form_pairs().iter().any(|(k, v)| k == "grant_type" && v == "client_credentials")
        || request.query_pairs().iter().any(|(k, v)| k == "grant_type" && v == "client_credentials");
    inner.with(|world| {
        let known = world.accounts.iter().any(|a| {
            a.network == SimNetwork::X
                && a.credential("consumer_key") == Some(key.as_str())
                && a.credential("consumer_secret") == Some(secret.as_str())
        });
        if !known {
            return ApiResponse::json(
                403,
                &json!({"errors": [{"code": 99, "label": "authenticity_token_error", "message": "Unable to verify your credentials"}]}),
            );
        }
        if !grant_ok {
            return ApiResponse::json(400, &json!({"errors": [{"code": 170, "message": "Missing required parameter: grant_type"}]}));
        }
        let token = format!("AAAAAAAAAAAAAAAAAAAAA{}", world.rng.alphanumeric(60));
        world.x.issued_bearers.insert(token.clone(), key);
        ApiResponse::json(200, &json!({"token_type": "bearer", "access_token": token}))
    })
}

pub(crate) fn dispatch(
    world: &mut World,
    request: &ApiRequest,
    segments: &[&str],
    me: &str,
    method: &str,
    now: Timestamp,
) -> ApiResponse {
    let body = request.json_body().unwrap_or(Value::Null);
    match (method, segments) {
        ("POST", ["2", "tweets"]) => post_tweet(world, me, &body, now),
        ("DELETE", ["2", "tweets", id]) => delete_tweet(world, me, id, now),
        ("PUT", ["2", "tweets", id, "hidden"]) => hide_reply(world, me, id, &body, now),
        ("POST", ["2", "dm_conversations", "with", other, "messages"]) => send_dm(world, me, other, &body, now),
        ("POST", ["2", "dm_conversations", conversation, "messages"]) => {
            let other = conversation.split('-').find(|p| *p != me).unwrap_or_default().to_string();
            send_dm(world, me, &other, &body, now)
        }
        ("POST", ["2", "users", id, "likes"]) => toggle(world, me, id, &body, Toggle::Like, true, now),
        ("DELETE", ["2", "users", id, "likes", tweet]) => {
            toggle(world, me, id, &json!({"tweet_id": tweet}), Toggle::Like, false, now)
        }
        ("POST", ["2", "users", id, "retweets"]) => toggle(world, me, id, &body, Toggle::Repost, true, now),
        ("DELETE", ["2", "users", id, "retweets", tweet]) => {
            toggle(world, me, id, &json!({"tweet_id": tweet}), Toggle::Repost, false, now)
        }
        _ => not_found(),
    }
}

fn forbidden(detail: &str) -> ApiResponse {
    problem(403, "Forbidden", detail, "about:blank")
}

fn post_tweet(world: &mut World, me: &str, body: &Value, now: Timestamp) -> ApiResponse {
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return invalid_request("text", "The `text` field is required when no media or poll is attached.");
    };
    let weighted = weighted_length(text);
    if weighted > world.limits.x_tweet_weighted_max {
        let message =
            format!("The text field must be at most {} weighted characters", world.limits.x_tweet_weighted_max);
        return invalid_request("text", &message);
    }
    let duplicate = world.x.tweets.values().any(|t| t.author_id == me && !t.deleted && t.text == text);
    if duplicate {
        return forbidden("You are not allowed to create a Tweet with duplicate content.");
    }
    let reply_to = body.pointer("/reply/in_reply_to_tweet_id").and_then(Value::as_str).map(str::to_string);
    let parent = match &reply_to {
        Some(id) => match id.parse::<u64>().ok().and_then(|id| world.x.tweets.get(&id)).filter(|t| !t.deleted) {
            Some(parent) => Some(parent.clone()),
            None => {
                return invalid_request(
                    "reply.in_reply_to_tweet_id",
                    "The tweet you are replying to has been deleted or is not visible to you.",
                );
            }
        },
        None => None,
    };
    if let Some(parent) = &parent
        && world.limits.x_reply_restricted
        && !may_reply(world, me, parent)
    {
        return forbidden(
            "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
        );
    }
    let tweet = create_tweet(world, me, text, parent.as_ref(), now);
    let kind = if parent.is_some() { PublishedKind::Reply } else { PublishedKind::Post };
    let id = tweet.id.to_string();
    world.publish(
        SimNetwork::X,
        me,
        kind,
        &id,
        reply_to.as_deref(),
        parent.as_ref().map(|p| p.author_id.as_str()),
        text,
        now,
    );
    // X reports the account's own posts to its webhook too.
    deliver_tweet(world, me, &tweet, now);
    ApiResponse::json(201, &data(json!({"id": id, "text": text, "edit_history_tweet_ids": [id]})))
}

/// X's tightened rule: reply only where mentioned or already in the conversation.
fn may_reply(world: &World, me: &str, parent: &super::Tweet) -> bool {
    if parent.author_id == me || parent.mentions.iter().any(|m| m.user_id == me) {
        return true;
    }
    world.x.tweets.values().any(|t| t.conversation_id == parent.conversation_id && t.author_id == me)
}

fn delete_tweet(world: &mut World, me: &str, id: &str, now: Timestamp) -> ApiResponse {
    let Some(tweet) = id.parse::<u64>().ok().and_then(|id| world.x.tweets.get_mut(&id)) else { return not_found() };
    if tweet.author_id != me {
        return forbidden("You are not allowed to delete this Tweet.");
    }
    tweet.deleted = true;
    world.publish(SimNetwork::X, me, PublishedKind::Delete, id, None, None, "", now);
    ApiResponse::json(200, &data(json!({"deleted": true})))
}

fn hide_reply(world: &mut World, me: &str, id: &str, body: &Value, now: Timestamp) -> ApiResponse {
    let hidden = body.get("hidden").and_then(Value::as_bool).unwrap_or(true);
    let Some(reply) = id.parse::<u64>().ok().and_then(|id| world.x.tweets.get(&id)).cloned() else {
        return not_found();
    };
    let root_author = world.x.tweets.get(&reply.conversation_id).map(|t| t.author_id.clone());
    if reply.in_reply_to_status.is_none() || root_author.as_deref() != Some(me) {
        return forbidden("You can only hide or unhide replies to conversations you authored.");
    }
    if let Some(tweet) = world.x.tweets.get_mut(&reply.id) {
        tweet.hidden = hidden;
    }
    let kind = if hidden { PublishedKind::Hide } else { PublishedKind::Unhide };
    world.publish(SimNetwork::X, me, kind, id, None, None, "", now);
    ApiResponse::json(200, &data(json!({"hidden": hidden})))
}

fn send_dm(world: &mut World, me: &str, other: &str, body: &Value, now: Timestamp) -> ApiResponse {
    let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.is_empty() && body.get("attachments").is_none() {
        return invalid_request("text", "A message must contain text or an attachment.");
    }
    if text.chars().count() > world.limits.x_dm_max_chars {
        return invalid_request("text", "The text of a direct message must be at most 10000 characters.");
    }
    if !world.x.users.contains_key(other) {
        return invalid_request("participant_id", "The participant_id must be a valid user id.");
    }
    if world.limits.x_dm_requires_prior_contact && !has_contacted(world, other, me) {
        return forbidden("You are not permitted to send a direct message to this user.");
    }
    let event = new_dm(world, me, other, text, now);
    world.publish(SimNetwork::X, me, PublishedKind::DirectMessage, &event.id, None, Some(other), text, now);
    // Our own DMs come back through the webhook with sender = us.
    deliver_dm(world, me, &event, now);
    let conversation = conversation_id(me, other);
    ApiResponse::json(201, &data(json!({"dm_conversation_id": conversation, "dm_event_id": event.id})))
}

/// `<lower id>-<higher id>`, numerically.
pub(crate) fn conversation_id(a: &str, b: &str) -> String {
    let (x, y) = (a.parse::<u128>().unwrap_or(0), b.parse::<u128>().unwrap_or(0));
    if x <= y { format!("{a}-{b}") } else { format!("{b}-{a}") }
}

/// Whether `user` wrote to `brand` (DM, mention or reply) before.
fn has_contacted(world: &World, user: &str, brand: &str) -> bool {
    world.x.dms.iter().any(|d| d.sender_id == user && d.recipient_id == brand)
        || world.x.tweets.values().any(|t| {
            t.author_id == user
                && (t.in_reply_to_user.as_deref() == Some(brand) || t.mentions.iter().any(|m| m.user_id == brand))
        })
}

enum Toggle {
    Like,
    Repost,
}

fn toggle(
    world: &mut World,
    me: &str,
    path_user: &str,
    body: &Value,
    what: Toggle,
    on: bool,
    now: Timestamp,
) -> ApiResponse {
    if path_user != me {
        return forbidden("You are not allowed to act on behalf of this user.");
    }
    let Some(tweet_id) = body.get("tweet_id").and_then(Value::as_str).map(str::to_string) else {
        return invalid_request("tweet_id", "The `tweet_id` field is required.");
    };
    if tweet_id.parse::<u64>().ok().and_then(|id| world.x.tweets.get(&id)).is_none() {
        return not_found();
    }
    let key = (me.to_string(), tweet_id.clone());
    let (set, field, kind) = match what {
        Toggle::Like => (&mut world.x.likes, "liked", PublishedKind::Like),
        Toggle::Repost => (&mut world.x.retweets, "retweeted", PublishedKind::Repost),
    };
    let changed = if on { set.insert(key) } else { set.remove(&key) };
    if changed && on {
        world.publish(SimNetwork::X, me, kind, &tweet_id, None, None, "", now);
    }
    ApiResponse::json(200, &data(json!({ field: on })))
}
