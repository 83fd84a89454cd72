//! X (Twitter): Account Activity webhooks in, API v2 out, and polling of
//! mentions and recent search for accounts whose tier has no webhooks.
//!
//! Credentials (`ctx.credentials`):
//! - `consumer_key`, `consumer_secret`: the app's key pair; the secret answers
//!   the CRC handshake and checks webhook signatures;
//! - `access_token`, `access_token_secret`: the brand account's OAuth 1.0a
//!   user token, which signs every write;
//! - `bearer_token` (optional): an app-only token for reading public posts;
//!   without it reads are signed with OAuth 1.0a too.
//!
//! Settings: `api_base_url` (default `https://api.x.com`), `monitor_query`
//! (a recent-search query for keyword and hashtag monitoring) and `app_id`
//! (optional: X's id for Hark's app, which tells Hark's own direct messages
//! from those typed in X's apps).
//!
//! `ctx.external_id` is the brand's X user id.
//!
//! Webhooks carry v1.1 tweets, polling returns v2 tweets; both produce the
//! same `tweet:<id>` dedup key so a post seen both ways is stored once.

use std::collections::{HashMap, HashSet};

use hark_domain::{ConversationKind, Network};
use jiff::Timestamp;
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::http::{self, JsonResponse};
use crate::model::*;
use crate::oauth1::{self, Credentials, Freshness, percent_encode};
use crate::signing::{base64_of, hmac_sha256_base64, verify_hmac_sha256};
use crate::text;

/// The API host used when a channel does not name another (the sandbox does).
pub const DEFAULT_API_BASE_URL: &str = "https://api.x.com";
/// The webhook signature header (base64 HMAC-SHA256 of the raw body).
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// Fields requested with every v2 tweet read (platform-apis.md 1.5, plus `lang`).
const TWEET_FIELDS: &str =
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,attachments,note_tweet,lang";
const EXPANSIONS: &str = "author_id,referenced_tweets.id,attachments.media_keys";
const USER_FIELDS: &str = "username,name,profile_image_url";
const MEDIA_FIELDS: &str = "url,variants,type";
/// How many pages one poll follows at most, so a first poll without a cursor
/// (or a misbehaving server) cannot loop for long.
const MAX_PAGES: usize = 10;
/// CRC tokens longer than this are refused (X's are short random strings).
const MAX_CRC_TOKEN_LEN: usize = 1024;

// ---------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------

/// Answers X's CRC handshake (GET) or verifies and reads an event delivery
/// (POST). Nothing is parsed before the signature on the raw body is checked.
pub fn handle_webhook(ctx: &ChannelContext, req: &RawRequest, now: Timestamp) -> Result<Inbound, WebhookError> {
    let secret = ctx.credential("consumer_secret").map_err(|e| WebhookError::Unauthorized(e.to_string()))?;
    if req.method.eq_ignore_ascii_case("GET") {
        return crc_response(secret, req.query).map(Inbound::Handshake);
    }
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::BadRequest(format!("X webhooks are GET or POST, not {}", req.method)));
    }
    verify_signature(secret, req)?;
    let envelope: Value =
        serde_json::from_slice(req.body).map_err(|e| WebhookError::BadRequest(format!("the body is not JSON: {e}")))?;
    let events = events_from_envelope(ctx, &envelope, now)?;
    Ok(Inbound::Events { reply: HttpReply::empty_ok(), events })
}

/// `{"response_token":"sha256=<base64 HMAC-SHA256(consumer_secret, crc_token)>"}`.
///
/// The CRC answer is an HMAC under the same key and construction as event
/// signatures, so answering any token would let anyone obtain a valid
/// signature for a body of their choosing. Event bodies are JSON objects, so
/// a token that could be one (it contains `{`) is refused.
fn crc_response(consumer_secret: &str, query: &str) -> Result<HttpReply, WebhookError> {
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "crc_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| WebhookError::BadRequest("a GET to the X webhook must carry a crc_token".into()))?;
    if token.is_empty() || token.len() > MAX_CRC_TOKEN_LEN || token.contains(['{', '}']) {
        return Err(WebhookError::BadRequest("the crc_token does not look like one X sends".into()));
    }
    let response_token = format!("sha256={}", hmac_sha256_base64(consumer_secret.as_bytes(), token.as_bytes()));
    Ok(HttpReply::ok_json(&json!({ "response_token": response_token })))
}

fn verify_signature(consumer_secret: &str, req: &RawRequest) -> Result<(), WebhookError> {
    let header = req
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| WebhookError::Unauthorized(format!("the {SIGNATURE_HEADER} header is missing")))?;
    let received = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| WebhookError::Unauthorized("the signature does not start with sha256=".into()))?;
    if verify_hmac_sha256(consumer_secret.as_bytes(), req.body, received.as_bytes(), base64_of) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized("the signature does not match the body".into()))
    }
}

/// One event per item of the envelope's event arrays. An item that cannot be
/// read becomes an `Ignored` event rather than failing the delivery, which X
/// would otherwise re-send with the same unreadable item.
fn events_from_envelope(
    ctx: &ChannelContext,
    envelope: &Value,
    now: Timestamp,
) -> Result<Vec<InboundEvent>, WebhookError> {
    let Some(fields) = envelope.as_object() else {
        return Err(WebhookError::BadRequest("the body is not a JSON object".into()));
    };
    let for_user_id = envelope
        .get("for_user_id")
        .and_then(id_of)
        .ok_or_else(|| WebhookError::BadRequest("the body has no for_user_id".into()))?;
    if !ctx.external_id.is_empty() && for_user_id != ctx.external_id {
        let what = format!("events for X user {for_user_id}, not this channel's account");
        return Ok(vec![ignored("other_account", envelope, now, what)]);
    }
    let blocked = envelope.get("user_has_blocked").is_some_and(truthy);
    let users = envelope.get("users").cloned().unwrap_or(Value::Null);
    let app_id = ctx.setting_str("app_id");
    let mut events = Vec::new();
    for (key, value) in fields {
        let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
        match key.as_str() {
            "for_user_id" | "users" | "apps" | "user_has_blocked" | "source" => {}
            "tweet_create_events" => {
                events.extend(items.iter().map(|item| tweet_create_event(item, &for_user_id, blocked, now)));
            }
            "direct_message_events" => {
                events.extend(items.iter().map(|item| dm_event(item, &for_user_id, &users, app_id, now)));
            }
            "tweet_delete_events" => events.extend(items.iter().map(|item| tweet_delete_event(item, now))),
            "favorite_events" => events.extend(items.iter().map(|item| favorite_event(item, now))),
            "user_event" => {
                tracing::warn!(account = %for_user_id, "X says the account revoked Hark's access");
                events.push(ignored(key, value, now, "the account revoked Hark's access to X".into()));
            }
            _ if items.is_empty() && !value.is_array() => {
                events.push(ignored(key, value, now, format!("unknown X webhook field `{key}`")));
            }
            _ => events.extend(items.iter().map(|item| ignored(key, item, now, describe_other_event(key)))),
        }
    }
    Ok(events)
}

/// Follows, blocks, mutes, typing and read receipts: understood, not stored.
fn describe_other_event(key: &str) -> String {
    let what = key.trim_end_matches("_events").replace('_', " ");
    format!("X {what}")
}

/// An `Ignored` event whose dedup key is a digest of the item, so a
/// redelivery of the same item has the same key.
fn ignored(kind: &str, item: &Value, now: Timestamp, what: String) -> InboundEvent {
    let digest = Sha256::digest(item.to_string().as_bytes());
    let occurred_at =
        item.get("timestamp_ms").or_else(|| item.get("created_timestamp")).and_then(millis).unwrap_or(now);
    InboundEvent {
        dedup_key: format!("{kind}:{}", hex::encode(&digest[..12])),
        occurred_at,
        kind: InboundKind::Ignored { what },
    }
}

/// An id as X sends it: a string, or (in older payloads) a number. Numbers
/// are read as integers, never through `f64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        let value = Value::deserialize(deserializer)?;
        id_of(&value).map(Id).ok_or_else(|| serde::de::Error::custom("expected an id (string or integer)"))
    }
}

fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// `true`, or `"true"` as X's docs write some booleans.
fn truthy(value: &Value) -> bool {
    value.as_bool().unwrap_or_else(|| value.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
}

/// Epoch milliseconds, as a string or a number.
fn millis(value: &Value) -> Option<Timestamp> {
    let ms = match value {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Timestamp::from_millisecond(ms).ok()
}

/// A v1.1 tweet, as Account Activity delivers it.
#[derive(Debug, Deserialize)]
struct V1Tweet {
    id_str: Id,
    #[serde(default)]
    text: String,
    #[serde(default)]
    full_text: Option<String>,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    display_text_range: Option<[usize; 2]>,
    #[serde(default)]
    extended_tweet: Option<ExtendedTweet>,
    #[serde(default)]
    in_reply_to_status_id_str: Option<Id>,
    #[serde(default)]
    in_reply_to_user_id_str: Option<Id>,
    user: V1User,
    #[serde(default)]
    extended_entities: Option<V1Entities>,
    #[serde(default)]
    retweeted_status: Option<Value>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    timestamp_ms: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    edit_history: Option<EditHistory>,
}

/// Present on an edited post, which X delivers as a new post with a new id.
#[derive(Debug, Deserialize)]
struct EditHistory {
    initial_tweet_id: Id,
}

/// The full text of a post longer than 140 characters.
#[derive(Debug, Deserialize)]
struct ExtendedTweet {
    full_text: String,
    #[serde(default)]
    display_text_range: Option<[usize; 2]>,
    #[serde(default)]
    extended_entities: Option<V1Entities>,
}

#[derive(Debug, Deserialize)]
struct V1User {
    id_str: Id,
    #[serde(default)]
    screen_name: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct V1Entities {
    #[serde(default)]
    media: Vec<Value>,
}

impl V1Tweet {
    /// The text a person wrote: the long text when truncated, without the
    /// automatic leading @mentions of a reply (cut with `display_text_range`,
    /// which counts code points of the text with X's HTML escapes undone).
    fn display_text(&self) -> String {
        let (text, range) = match (&self.extended_tweet, &self.full_text) {
            (Some(long), _) if self.truncated => (long.full_text.as_str(), long.display_text_range),
            (_, Some(full)) => (full.as_str(), self.display_text_range),
            _ => (self.text.as_str(), self.display_text_range),
        };
        slice_code_points(&unescape_html(text), range).trim().to_string()
    }

    fn media(&self) -> &[Value] {
        let long = self.extended_tweet.as_ref().filter(|_| self.truncated).and_then(|e| e.extended_entities.as_ref());
        long.or(self.extended_entities.as_ref()).map(|e| e.media.as_slice()).unwrap_or_default()
    }

    fn occurred_at(&self) -> Option<Timestamp> {
        self.timestamp_ms.as_ref().and_then(millis).or_else(|| self.created_at.as_deref().and_then(parse_v1_date))
    }

    fn language(&self) -> Option<String> {
        self.lang.clone().filter(|l| !l.is_empty() && l != "und")
    }
}

/// `Tue Nov 03 09:12:45 +0000 2026`.
fn parse_v1_date(text: &str) -> Option<Timestamp> {
    jiff::fmt::strtime::parse("%a %b %d %H:%M:%S %z %Y", text).ok()?.to_timestamp().ok()
}

/// The code points `range[0]..range[1]` of `text`, or all of it when the
/// range does not fit.
fn slice_code_points(text: &str, range: Option<[usize; 2]>) -> &str {
    let Some([start, end]) = range else { return text };
    let byte_at = |index: usize| text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())).nth(index);
    match (byte_at(start), byte_at(end)) {
        (Some(from), Some(to)) if from <= to => &text[from..to],
        _ => text,
    }
}

/// X escapes `&`, `<` and `>` in v1.1 tweet text.
fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn tweet_create_event(item: &Value, brand_id: &str, blocked: bool, now: Timestamp) -> InboundEvent {
    let tweet: V1Tweet = match serde_json::from_value(item.clone()) {
        Ok(tweet) => tweet,
        Err(e) => return ignored("tweet_unreadable", item, now, format!("an unreadable X post: {e}")),
    };
    let id = tweet.id_str.0.clone();
    let kind = classify_tweet(&tweet, brand_id, blocked);
    InboundEvent { dedup_key: format!("tweet:{id}"), occurred_at: tweet.occurred_at().unwrap_or(now), kind }
}

/// Retweets are ignored, the brand's own posts are echoes, mentions from
/// accounts the brand blocked are ignored, an edit (a new post naming the
/// post it replaces) edits the message Hark knows by the first post's id,
/// and everything else is a public message. A reply is threaded under the post it answers, so a customer's
/// answer to the brand's reply stays in the same conversation.
fn classify_tweet(tweet: &V1Tweet, brand_id: &str, blocked: bool) -> InboundKind {
    if tweet.retweeted_status.is_some() {
        return InboundKind::Ignored { what: "an X repost".into() };
    }
    let id = tweet.id_str.0.clone();
    let parent_id = tweet.in_reply_to_status_id_str.as_ref().map(|p| p.0.clone());
    let thread_id = parent_id.clone().unwrap_or_else(|| id.clone());
    if tweet.user.id_str.0 == brand_id {
        return InboundKind::Echo(EchoMessage {
            platform_message_id: id,
            thread_id,
            recipient_platform_user_id: tweet.in_reply_to_user_id_str.as_ref().map(|u| u.0.clone()),
            text: tweet.display_text(),
            // X says which app posted only as display HTML in `source`, which
            // is not a reliable key; Hark recognises its posts by id instead.
            by_hark: false,
        });
    }
    if blocked {
        return InboundKind::Ignored { what: "a mention from an account the brand blocked on X".into() };
    }
    if let Some(initial) = tweet.edit_history.as_ref().map(|h| &h.initial_tweet_id.0).filter(|initial| **initial != id)
    {
        return InboundKind::Edited { platform_message_id: initial.clone(), text: tweet.display_text() };
    }
    InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Public,
        platform_message_id: id,
        thread_id,
        parent_id,
        author: Author {
            platform_user_id: tweet.user.id_str.0.clone(),
            handle: tweet.user.screen_name.clone(),
            display_name: tweet.user.name.clone(),
        },
        text: tweet.display_text(),
        attachments: tweet.media().iter().map(v1_media_attachment).collect(),
        via_monitoring: false,
        language: tweet.language(),
    })
}

/// A v1.1 media entity as an attachment: its type, id and image URL, and for
/// videos and GIFs the MP4 variant with the highest bitrate.
fn v1_media_attachment(media: &Value) -> Value {
    let mut attachment = json!({
        "type": media.get("type").and_then(Value::as_str).unwrap_or("photo"),
        "id": media.get("id_str").and_then(id_of).or_else(|| media.get("id").and_then(id_of)),
        "url": media.get("media_url_https").and_then(Value::as_str),
    });
    if let Some(video) = best_mp4(media.pointer("/video_info/variants")) {
        attachment["video_url"] = Value::String(video);
    }
    attachment
}

fn best_mp4(variants: Option<&Value>) -> Option<String> {
    variants?
        .as_array()?
        .iter()
        .filter(|v| v.get("content_type").and_then(Value::as_str) == Some("video/mp4"))
        .max_by_key(|v| v.get("bitrate").and_then(Value::as_u64).unwrap_or(0))
        .and_then(|v| v.get("url").and_then(Value::as_str))
        .map(str::to_string)
}

/// A legacy direct message event.
#[derive(Debug, Deserialize)]
struct DmEvent {
    #[serde(rename = "type", default)]
    kind: String,
    id: Id,
    #[serde(default)]
    created_timestamp: Option<Value>,
    #[serde(default)]
    message_create: Option<MessageCreate>,
}

#[derive(Debug, Deserialize)]
struct MessageCreate {
    target: DmTarget,
    sender_id: Id,
    #[serde(default)]
    source_app_id: Option<Id>,
    #[serde(default)]
    message_data: MessageData,
}

#[derive(Debug, Deserialize)]
struct DmTarget {
    recipient_id: Id,
}

#[derive(Debug, Default, Deserialize)]
struct MessageData {
    #[serde(default)]
    text: String,
    #[serde(default)]
    attachment: Option<DmAttachment>,
}

#[derive(Debug, Deserialize)]
struct DmAttachment {
    #[serde(default)]
    media: Option<Value>,
}

fn dm_event(item: &Value, brand_id: &str, users: &Value, app_id: Option<&str>, now: Timestamp) -> InboundEvent {
    let event: DmEvent = match serde_json::from_value(item.clone()) {
        Ok(event) => event,
        Err(e) => return ignored("dm_unreadable", item, now, format!("an unreadable X direct message: {e}")),
    };
    let occurred_at = event.created_timestamp.as_ref().and_then(millis).unwrap_or(now);
    let dedup_key = format!("dm:{}", event.id.0);
    let kind = match (&event.message_create, event.kind.as_str()) {
        (Some(create), "message_create") => classify_dm(&event.id.0, create, brand_id, users, app_id),
        _ => InboundKind::Ignored { what: format!("an X direct message event of type `{}`", event.kind) },
    };
    InboundEvent { dedup_key, occurred_at, kind }
}

/// A message the brand sent is an echo: Hark's own unless an `app_id` is
/// configured and X names another app. Anything else is a private message,
/// threaded per customer.
fn classify_dm(id: &str, create: &MessageCreate, brand_id: &str, users: &Value, app_id: Option<&str>) -> InboundKind {
    let text = create.message_data.text.clone();
    let sender = create.sender_id.0.clone();
    if sender == brand_id {
        let recipient = create.target.recipient_id.0.clone();
        let by_hark = match (app_id, &create.source_app_id) {
            (Some(ours), Some(source)) => ours == source.0,
            _ => true,
        };
        return InboundKind::Echo(EchoMessage {
            platform_message_id: id.to_string(),
            thread_id: recipient.clone(),
            recipient_platform_user_id: Some(recipient),
            text,
            by_hark,
        });
    }
    let user = users.get(&sender);
    let field = |name: &str| user.and_then(|u| u.get(name)).and_then(Value::as_str).map(str::to_string);
    let handle = field("screen_name").or_else(|| field("username")).unwrap_or_else(|| sender.clone());
    let display_name = field("name").unwrap_or_else(|| handle.clone());
    let attachments = create.message_data.attachment.as_ref().and_then(|a| a.media.as_ref()).map(v1_media_attachment);
    InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Private,
        platform_message_id: id.to_string(),
        thread_id: sender.clone(),
        parent_id: None,
        author: Author { platform_user_id: sender, handle, display_name },
        text,
        attachments: attachments.into_iter().collect(),
        via_monitoring: false,
        language: None,
    })
}

fn tweet_delete_event(item: &Value, now: Timestamp) -> InboundEvent {
    let Some(id) =
        item.pointer("/status/id").and_then(id_of).or_else(|| item.pointer("/status/id_str").and_then(id_of))
    else {
        return ignored("tweet_delete_unreadable", item, now, "an X deletion without a post id".into());
    };
    InboundEvent {
        dedup_key: format!("tweet_delete:{id}"),
        occurred_at: item.get("timestamp_ms").and_then(millis).unwrap_or(now),
        kind: InboundKind::Deleted { platform_message_id: id },
    }
}

fn favorite_event(item: &Value, now: Timestamp) -> InboundEvent {
    let Some(id) = item.get("id").and_then(id_of) else {
        return ignored("favorite", item, now, "an X like".into());
    };
    InboundEvent {
        dedup_key: format!("favorite:{id}"),
        occurred_at: item.get("timestamp_ms").and_then(millis).unwrap_or(now),
        kind: InboundKind::Ignored { what: "an X like".into() },
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// How a request proves who it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// OAuth 1.0a as the brand's account: every write, and reads of private data.
    User,
    /// The app-only bearer token when there is one, else [`Auth::User`]: public reads.
    AppOrUser,
}

fn user_credentials(ctx: &ChannelContext) -> Result<Credentials<'_>, ConnectorError> {
    Ok(Credentials {
        consumer_key: ctx.credential("consumer_key")?,
        consumer_secret: ctx.credential("consumer_secret")?,
        token: ctx.credential("access_token")?,
        token_secret: ctx.credential("access_token_secret")?,
    })
}

/// The `Authorization` header for a request to `url` (query included, since
/// OAuth 1.0a signs query parameters; JSON bodies are not signed).
fn authorization(
    ctx: &ChannelContext,
    auth: Auth,
    method: &Method,
    url: &Url,
    now: Timestamp,
) -> Result<String, ConnectorError> {
    if auth == Auth::AppOrUser
        && let Some(bearer) = ctx.credentials.get("bearer_token").and_then(Value::as_str).filter(|s| !s.is_empty())
    {
        return Ok(format!("Bearer {bearer}"));
    }
    let credentials = user_credentials(ctx)?;
    oauth1::authorization_header(&credentials, method.as_str(), url.as_str(), &[], &Freshness::new(now)?)
}

/// Sends one request to X and reads the answer; `now` stamps the OAuth signature.
async fn call(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    auth: Auth,
    method: Method,
    url: Url,
    body: Option<&Value>,
    now: Timestamp,
) -> Result<JsonResponse, ConnectorError> {
    let authorization = authorization(ctx, auth, &method, &url, now)?;
    let mut request = http.request(method, url).header(AUTHORIZATION, authorization);
    if let Some(body) = body {
        request = request.json(body);
    }
    http::send(request).await
}

/// `{base}/2/…` with path segments percent-encoded.
fn endpoint(ctx: &ChannelContext, segments: &[&str]) -> Result<Url, ConnectorError> {
    let path: Vec<String> = segments.iter().map(|s| percent_encode(s)).collect();
    let text = format!("{}/2/{}", http::base_url(ctx, DEFAULT_API_BASE_URL), path.join("/"));
    Url::parse(&text).map_err(|e| ConnectorError::Misconfigured(format!("invalid X API URL: {e}")))
}

fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

fn brand_id(ctx: &ChannelContext) -> Result<&str, ConnectorError> {
    if ctx.external_id.is_empty() {
        return Err(ConnectorError::Misconfigured("the X channel has no account id".into()));
    }
    Ok(&ctx.external_id)
}

/// X's own words for a failure: v2 problem `detail` or `title`, or the first
/// `errors[].message` (v1.1 and some v2 answers).
fn x_reason(response: &JsonResponse) -> String {
    let body = &response.body;
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty());
    text("/detail")
        .or_else(|| text("/title"))
        .or_else(|| text("/errors/0/message"))
        .or_else(|| text("/errors/0/detail"))
        .map(http::shorten)
        .unwrap_or_else(|| http::status_reason(response.status, body))
}

/// Seconds until `x-rate-limit-reset` (epoch seconds); X sends no `Retry-After`.
fn rate_limit_wait(response: &JsonResponse, now: Timestamp) -> Option<u64> {
    let reset: i64 = response.headers.get("x-rate-limit-reset")?.to_str().ok()?.trim().parse().ok()?;
    Some(u64::try_from(reset - now.as_second()).unwrap_or(0).max(1))
}

fn x_error(response: &JsonResponse, now: Timestamp) -> ConnectorError {
    let reason = x_reason(response);
    if response.status.as_u16() == 403 && reason.to_ascii_lowercase().contains("duplicate") {
        return ConnectorError::Rejected("X refused a duplicate post".into());
    }
    http::status_error(response.status, &response.headers, reason, rate_limit_wait(response, now))
}

/// Like [`x_error`], for a post or message that may have gone out: X has no
/// idempotency key, so after a server error Hark must look before retrying.
fn x_publish_error(response: &JsonResponse, now: Timestamp) -> ConnectorError {
    match x_error(response, now) {
        ConnectorError::Retryable { reason, .. } if response.status.is_server_error() => {
            ConnectorError::Unknown(format!("X answered {}: {reason}", response.status.as_u16()))
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------
// The post a thread hangs from
// ---------------------------------------------------------------------------

/// Reads one post (`GET /2/tweets/{id}` with its author expanded); `None`
/// when X says it does not exist (deleted, or from a protected account).
pub async fn fetch_post(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    post_id: &str,
) -> Result<Option<ThreadPost>, ConnectorError> {
    let now = Timestamp::now();
    let url = with_query(
        endpoint(ctx, &["tweets", post_id])?,
        &[
            ("tweet.fields", "text,author_id,created_at,note_tweet"),
            ("expansions", "author_id"),
            ("user.fields", "username,name"),
        ],
    );
    let response = call(http, ctx, Auth::AppOrUser, Method::GET, url, None, now).await?;
    if response.status.as_u16() == 404 {
        return Ok(None);
    }
    if !response.is_success() {
        return Err(x_error(&response, now));
    }
    Ok(thread_post(&response.body))
}

/// A `GET /2/tweets/{id}` answer as a [`ThreadPost`]: the long text of a
/// note when there is one, the author's `@username` from `includes.users`.
fn thread_post(body: &Value) -> Option<ThreadPost> {
    let data = body.get("data")?;
    let id = data.get("id").and_then(id_of)?;
    let text = data
        .pointer("/note_tweet/text")
        .and_then(Value::as_str)
        .or_else(|| data.get("text").and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    let author_id = data.get("author_id").and_then(id_of);
    let user = body
        .pointer("/includes/users")
        .and_then(Value::as_array)
        .and_then(|users| users.iter().find(|u| author_id.is_some() && u.get("id").and_then(id_of) == author_id));
    let username = user.and_then(|u| u.get("username")).and_then(Value::as_str).filter(|u| !u.is_empty());
    let author = username.map(|u| format!("@{u}"));
    let posted_at = data.get("created_at").and_then(Value::as_str).and_then(|s| s.parse::<Timestamp>().ok());
    let url = match username {
        Some(u) => format!("https://x.com/{u}/status/{id}"),
        None => format!("https://x.com/i/web/status/{id}"),
    };
    Some(ThreadPost { id, text, author, posted_at, url: Some(url) })
}

// ---------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------

/// Publishes a reply: a public reply post or a direct message. Length is
/// checked first. A timeout or server error yields `Unknown`: call
/// [`find_published`] before retrying, since X would refuse the duplicate.
pub async fn publish(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    check_outbound(msg)?;
    match msg.visibility {
        OutboundVisibility::Public => publish_post(http, ctx, msg, now).await,
        OutboundVisibility::Private => publish_dm(http, ctx, msg, now).await,
    }
}

/// What X would refuse, decided before any call: length and where a reply can go.
pub fn check_outbound(msg: &OutboundMessage) -> Result<(), ConnectorError> {
    text::check_length(Network::X, msg.visibility, &msg.text)?;
    if msg.visibility == OutboundVisibility::Public && msg.conversation_kind == ConversationKind::Private {
        // The thread of a private conversation is a user id, not a post to answer.
        return Err(ConnectorError::NotAllowed(Refusal::new(
            "x-dm-private-only",
            "A direct-message conversation on X can only be answered privately.",
        )));
    }
    Ok(())
}

/// The post a public reply answers: the latest customer post, else the thread.
fn reply_target(msg: &OutboundMessage) -> Option<&str> {
    msg.reply_to_platform_message_id.as_deref().or(msg.thread_id.as_deref()).filter(|id| !id.is_empty())
}

async fn publish_post(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    let mut body = json!({ "text": msg.text });
    if let Some(target) = reply_target(msg) {
        body["reply"] = json!({ "in_reply_to_tweet_id": target });
    }
    let response = call(http, ctx, Auth::User, Method::POST, endpoint(ctx, &["tweets"])?, Some(&body), now).await?;
    if !response.is_success() {
        return Err(x_publish_error(&response, now));
    }
    let id = response
        .body
        .pointer("/data/id")
        .and_then(id_of)
        .ok_or_else(|| ConnectorError::Unknown("X accepted the post but its answer has no post id".into()))?;
    Ok(Published { platform_message_id: id, private_thread_id: None })
}

async fn publish_dm(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    let recipient = msg.recipient_platform_user_id.as_str();
    if recipient.is_empty() {
        return Err(ConnectorError::NotAllowed(Refusal::new(
            "no-recipient",
            "This X direct message has no recipient.",
        )));
    }
    let url = endpoint(ctx, &["dm_conversations", "with", recipient, "messages"])?;
    let body = json!({ "text": msg.text });
    let response = call(http, ctx, Auth::User, Method::POST, url, Some(&body), now).await?;
    if !response.is_success() {
        return Err(x_publish_error(&response, now));
    }
    let id = response.body.pointer("/data/dm_event_id").and_then(id_of).ok_or_else(|| {
        ConnectorError::Unknown("X accepted the direct message but its answer has no event id".into())
    })?;
    Ok(Published { platform_message_id: id, private_thread_id: private_thread_opened(msg) })
}

/// A direct message answering a public thread opens a private conversation,
/// whose thread id is the customer's id (as inbound DMs are threaded).
fn private_thread_opened(msg: &OutboundMessage) -> Option<String> {
    (msg.conversation_kind == ConversationKind::Public).then(|| msg.recipient_platform_user_id.clone())
}

/// After an `Unknown` outcome: looks for the message among the brand's
/// latest posts (or direct messages) sent since `since`, matching the text
/// (X rewrites links and adds reply @mentions, so those are compared loosely)
/// and the reply target.
pub async fn find_published(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    since: Timestamp,
) -> Result<Option<Published>, ConnectorError> {
    let now = Timestamp::now();
    let brand = brand_id(ctx)?;
    let (url, auth) = match msg.visibility {
        OutboundVisibility::Public => {
            let fields = [("max_results", "20"), ("tweet.fields", "created_at,referenced_tweets,in_reply_to_user_id")];
            (with_query(endpoint(ctx, &["users", brand, "tweets"])?, &fields), Auth::AppOrUser)
        }
        OutboundVisibility::Private => {
            let fields = [
                ("max_results", "20"),
                ("event_types", "MessageCreate"),
                ("dm_event.fields", "id,text,event_type,dm_conversation_id,created_at,sender_id,participant_ids"),
            ];
            (with_query(endpoint(ctx, &["dm_events"])?, &fields), Auth::User)
        }
    };
    let response = call(http, ctx, auth, Method::GET, url, None, now).await?;
    if !response.is_success() {
        return Err(x_error(&response, now));
    }
    let items = response.body.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let found = match msg.visibility {
        OutboundVisibility::Public => items.iter().find(|post| is_sent_post(post, msg, since)),
        OutboundVisibility::Private => items.iter().find(|event| is_sent_dm(event, msg, brand, since)),
    };
    let private_thread_id = match msg.visibility {
        OutboundVisibility::Public => None,
        OutboundVisibility::Private => private_thread_opened(msg),
    };
    Ok(found
        .and_then(|item| item.get("id"))
        .and_then(id_of)
        .map(|id| Published { platform_message_id: id, private_thread_id }))
}

/// Whether a v2 item was created at or after `since` (a minute of clock skew
/// allowed); items without a date are not excluded.
fn created_since(item: &Value, since: Timestamp) -> bool {
    let created = item.get("created_at").and_then(Value::as_str).and_then(|s| s.parse::<Timestamp>().ok());
    created.is_none_or(|at| at.as_second() >= since.as_second() - 60)
}

fn is_sent_post(post: &Value, msg: &OutboundMessage, since: Timestamp) -> bool {
    let text_matches = post.get("text").and_then(Value::as_str).is_some_and(|found| texts_match(&msg.text, found));
    // Without `referenced_tweets` there is nothing to compare; the text decides.
    let target_matches = match post.get("referenced_tweets") {
        None => true,
        Some(_) => replied_to(post).as_deref() == reply_target(msg),
    };
    text_matches && target_matches && created_since(post, since)
}

fn is_sent_dm(event: &Value, msg: &OutboundMessage, brand: &str, since: Timestamp) -> bool {
    let recipient = msg.recipient_platform_user_id.as_str();
    let from_brand = event.get("sender_id").and_then(id_of).as_deref() == Some(brand);
    let text_matches = event.get("text").and_then(Value::as_str).is_some_and(|found| texts_match(&msg.text, found));
    let in_conversation = match (event.get("dm_conversation_id").and_then(Value::as_str), event.get("participant_ids"))
    {
        (Some(conversation), _) => conversation.split('-').any(|id| id == recipient),
        (None, Some(Value::Array(ids))) => ids.iter().filter_map(id_of).any(|id| id == recipient),
        (None, _) => true,
    };
    from_brand && text_matches && in_conversation && created_since(event, since)
}

/// Compares a sent text with what X shows: leading @mentions dropped, links
/// (which X rewrites to t.co) reduced to a placeholder, HTML escapes undone.
fn texts_match(sent: &str, found: &str) -> bool {
    comparable(sent) == comparable(found)
}

fn comparable(text: &str) -> String {
    let text = unescape_html(text);
    let text = strip_leading_mentions(&text);
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for url in text::find_urls(text) {
        out.push_str(&text[from..url.start]);
        out.push_str("<link>");
        from = url.end;
    }
    out.push_str(&text[from..]);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drops `@handle ` prefixes (X adds them to replies), unless nothing would remain.
fn strip_leading_mentions(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(after_at) = rest.strip_prefix('@') {
        let handle_len = after_at.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after_at.len());
        let after_handle = &after_at[handle_len..];
        if handle_len == 0 || !after_handle.starts_with(char::is_whitespace) {
            break;
        }
        let next = after_handle.trim_start();
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    rest
}

// ---------------------------------------------------------------------------
// Engagement and credentials
// ---------------------------------------------------------------------------

/// Likes or reposts a post as the brand, or hides a reply in a conversation
/// the brand started.
pub async fn engage(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    action: &EngagementAction,
) -> Result<(), ConnectorError> {
    let now = Timestamp::now();
    let brand = brand_id(ctx)?;
    let (method, url, body) = match action {
        EngagementAction::Like { platform_message_id } => {
            (Method::POST, endpoint(ctx, &["users", brand, "likes"])?, json!({ "tweet_id": platform_message_id }))
        }
        EngagementAction::Repost { platform_message_id } => {
            (Method::POST, endpoint(ctx, &["users", brand, "retweets"])?, json!({ "tweet_id": platform_message_id }))
        }
        EngagementAction::Hide { platform_message_id } => {
            (Method::PUT, endpoint(ctx, &["tweets", platform_message_id, "hidden"])?, json!({ "hidden": true }))
        }
    };
    let response = call(http, ctx, Auth::User, method, url, Some(&body), now).await?;
    if response.is_success() { Ok(()) } else { Err(x_error(&response, now)) }
}

/// Checks that the credentials work and belong to the channel's account.
/// Registers `url` as the app's Account Activity webhook (or re-validates it
/// when it is already registered) and subscribes the channel's account to it.
pub async fn register_webhook(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: &str,
) -> Result<Registration, ConnectorError> {
    let now = Timestamp::now();
    let listed = call(http, ctx, Auth::AppOrUser, Method::GET, endpoint(ctx, &["webhooks"])?, None, now).await?;
    if !listed.is_success() {
        return Err(x_error(&listed, now));
    }
    let existing = listed
        .body
        .get("data")
        .and_then(Value::as_array)
        .and_then(|hooks| hooks.iter().find(|h| h.get("url").and_then(Value::as_str) == Some(url)).cloned());
    let webhook_id = match existing {
        Some(hook) => {
            let id = hook.get("id").and_then(id_of).unwrap_or_default();
            if hook.get("valid").and_then(Value::as_bool) == Some(false) {
                let recheck =
                    call(http, ctx, Auth::AppOrUser, Method::PUT, endpoint(ctx, &["webhooks", &id])?, None, now)
                        .await?;
                if !recheck.is_success() {
                    return Err(x_error(&recheck, now));
                }
            }
            id
        }
        None => {
            let body = serde_json::json!({ "url": url });
            let created =
                call(http, ctx, Auth::AppOrUser, Method::POST, endpoint(ctx, &["webhooks"])?, Some(&body), now).await?;
            if !created.is_success() {
                // X runs the CRC while registering: a failure here usually means it failed.
                return Err(x_error(&created, now));
            }
            created.body.pointer("/data/id").and_then(id_of).unwrap_or_default()
        }
    };
    let path = ["account_activity", "webhooks", webhook_id.as_str(), "subscriptions", "all"];
    let subscribed =
        call(http, ctx, Auth::User, Method::POST, endpoint(ctx, &path)?, Some(&serde_json::json!({})), now).await?;
    let duplicate = subscribed.body.to_string().contains("DuplicateSubscription");
    if !subscribed.is_success() && subscribed.status.as_u16() != 409 && !duplicate {
        return Err(x_error(&subscribed, now));
    }
    Ok(Registration {
        detail: format!("X delivers the account's activity to {url} (webhook {webhook_id})"),
        ..Default::default()
    })
}

/// X stops delivering, silently, to a webhook whose CRC check failed. This
/// lists the app's webhooks, asks X to re-run the check on any marked invalid,
/// and returns the problem in words if one stays invalid.
pub async fn check_webhooks(http: &reqwest::Client, ctx: &ChannelContext) -> Result<Option<String>, ConnectorError> {
    let now = Timestamp::now();
    let response = call(http, ctx, Auth::AppOrUser, Method::GET, endpoint(ctx, &["webhooks"])?, None, now).await?;
    if !response.is_success() {
        return Err(x_error(&response, now));
    }
    let hooks = response.body.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
    for hook in hooks {
        if hook.get("valid").and_then(Value::as_bool) != Some(false) {
            continue;
        }
        let id = hook.get("id").and_then(id_of).unwrap_or_default();
        let url = hook.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
        let recheck =
            call(http, ctx, Auth::AppOrUser, Method::PUT, endpoint(ctx, &["webhooks", &id])?, None, now).await?;
        let valid_now =
            recheck.is_success() && recheck.body.pointer("/data/valid").and_then(Value::as_bool) != Some(false);
        if !valid_now {
            return Ok(Some(hark_domain::ChannelNote::WebhookMarkedInvalid { url }.to_string()));
        }
    }
    Ok(None)
}

pub async fn check_credentials(http: &reqwest::Client, ctx: &ChannelContext) -> Result<(), ConnectorError> {
    let now = Timestamp::now();
    let response = call(http, ctx, Auth::User, Method::GET, endpoint(ctx, &["users", "me"])?, None, now).await?;
    if !response.is_success() {
        return Err(x_error(&response, now));
    }
    let id = response.body.pointer("/data/id").and_then(id_of);
    match id {
        Some(id) if ctx.external_id.is_empty() || id == ctx.external_id => Ok(()),
        Some(id) => Err(ConnectorError::Misconfigured(format!(
            "the X credentials belong to user {id}, not to this channel's account {}",
            ctx.external_id
        ))),
        None => Err(ConnectorError::Rejected("X answered /2/users/me without a user id".into())),
    }
}

// ---------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------

/// Where polling stopped: the newest mention and the newest search hit seen.
/// Stored as one JSON string, e.g. `{"mentions":"185…","search":"185…"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PollCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search: Option<String>,
}

impl PollCursor {
    /// A stored cursor; a bare id (an older format) is the mentions cursor,
    /// and an unreadable one starts afresh.
    fn parse(stored: Option<&str>) -> PollCursor {
        match stored.map(str::trim) {
            None | Some("") => PollCursor::default(),
            Some(text) if text.starts_with('{') => serde_json::from_str(text).unwrap_or_default(),
            Some(id) => PollCursor { mentions: Some(id.to_string()), search: None },
        }
    }
}

/// Polls the brand's mentions and, when `monitor_query` is set, recent search
/// since the cursor. If any page fails the error is returned, and the caller
/// keeps its old cursor so nothing is skipped.
pub async fn poll(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    cursor: Option<&str>,
) -> Result<PollResult, ConnectorError> {
    let brand = brand_id(ctx)?;
    let mut next = PollCursor::parse(cursor);
    let mentions_url = endpoint(ctx, &["users", brand, "mentions"])?;
    let (mut events, newest) =
        fetch_timeline(http, ctx, mentions_url, "pagination_token", next.mentions.as_deref(), false).await?;
    next.mentions = newest.or(next.mentions);
    if let Some(query) = ctx.setting_str("monitor_query") {
        let mut search_url = endpoint(ctx, &["tweets", "search", "recent"])?;
        search_url.query_pairs_mut().append_pair("query", query);
        let (found, newest) = fetch_timeline(http, ctx, search_url, "next_token", next.search.as_deref(), true).await?;
        let known: HashSet<String> = events.iter().map(|e| e.dedup_key.clone()).collect();
        events.extend(found.into_iter().filter(|e| !known.contains(&e.dedup_key)));
        next.search = newest.or(next.search);
    }
    events.sort_by_key(|e| e.occurred_at);
    let cursor = (next != PollCursor::default()).then(|| serde_json::to_string(&next).unwrap_or_default());
    Ok(PollResult { events, cursor })
}

/// Reads one since_id timeline page by page. Returns the events and the
/// newest id of the first page (the newest overall, as X pages newest first).
async fn fetch_timeline(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: Url,
    page_param: &str,
    since_id: Option<&str>,
    via_monitoring: bool,
) -> Result<(Vec<InboundEvent>, Option<String>), ConnectorError> {
    let brand = brand_id(ctx)?;
    let mut events = Vec::new();
    let mut newest = None;
    let mut page_token: Option<String> = None;
    for page in 0..MAX_PAGES {
        let now = Timestamp::now();
        let mut page_url = url.clone();
        {
            let mut query = page_url.query_pairs_mut();
            query
                .append_pair("max_results", "100")
                .append_pair("tweet.fields", TWEET_FIELDS)
                .append_pair("expansions", EXPANSIONS)
                .append_pair("user.fields", USER_FIELDS)
                .append_pair("media.fields", MEDIA_FIELDS);
            if let Some(since_id) = since_id {
                query.append_pair("since_id", since_id);
            }
            if let Some(token) = &page_token {
                query.append_pair(page_param, token);
            }
        }
        let response = call(http, ctx, Auth::AppOrUser, Method::GET, page_url, None, now).await?;
        if !response.is_success() {
            return Err(x_error(&response, now));
        }
        if page == 0 {
            newest = newest_id(&response.body);
        }
        events.extend(events_from_v2_page(&response.body, brand, via_monitoring, now));
        page_token = response.body.pointer("/meta/next_token").and_then(Value::as_str).map(str::to_string);
        if page_token.is_none() {
            break;
        }
    }
    Ok((events, newest))
}

/// The newest post id of a page: `meta.newest_id`, or the greatest id in
/// `data` when the meta is missing (ids are decimal snowflakes: a longer id is
/// a greater one).
fn newest_id(body: &Value) -> Option<String> {
    body.pointer("/meta/newest_id").and_then(id_of).or_else(|| {
        body.get("data")?
            .as_array()?
            .iter()
            .filter_map(|post| post.get("id").and_then(id_of))
            .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
    })
}

/// The customer posts of one v2 page. Posts by the brand and reposts are skipped.
fn events_from_v2_page(body: &Value, brand: &str, via_monitoring: bool, now: Timestamp) -> Vec<InboundEvent> {
    let includes = V2Includes::from(body);
    let posts = body.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    posts
        .iter()
        .filter_map(|post| {
            let post: V2Tweet = serde_json::from_value(post.clone()).ok()?;
            let is_repost = post.referenced("retweeted").is_some();
            (post.author_id.0 != brand && !is_repost).then(|| v2_event(&post, &includes, via_monitoring, now))
        })
        .collect()
}

/// A v2 tweet as polling returns it.
#[derive(Debug, Deserialize)]
struct V2Tweet {
    id: Id,
    #[serde(default)]
    text: String,
    author_id: Id,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<V2Reference>,
    #[serde(default)]
    attachments: Option<V2Attachments>,
    #[serde(default)]
    note_tweet: Option<NoteTweet>,
    #[serde(default)]
    lang: Option<String>,
    /// The first id is the post as first written; later ones are edits.
    #[serde(default)]
    edit_history_tweet_ids: Vec<Id>,
}

#[derive(Debug, Deserialize)]
struct V2Reference {
    #[serde(rename = "type")]
    kind: String,
    id: Id,
}

#[derive(Debug, Deserialize)]
struct V2Attachments {
    #[serde(default)]
    media_keys: Vec<String>,
}

/// The full text of a long post.
#[derive(Debug, Deserialize)]
struct NoteTweet {
    text: String,
}

impl V2Tweet {
    fn referenced(&self, kind: &str) -> Option<String> {
        self.referenced_tweets.iter().find(|r| r.kind == kind).map(|r| r.id.0.clone())
    }
}

/// The id of the post a v2 item replies to, from `referenced_tweets`.
fn replied_to(post: &Value) -> Option<String> {
    post.get("referenced_tweets")?
        .as_array()?
        .iter()
        .find(|r| r.get("type").and_then(Value::as_str) == Some("replied_to"))
        .and_then(|r| r.get("id"))
        .and_then(id_of)
}

/// The `includes` of a v2 page, indexed.
struct V2Includes {
    users: HashMap<String, Value>,
    media: HashMap<String, Value>,
}

impl V2Includes {
    fn from(body: &Value) -> V2Includes {
        let index = |pointer: &str, key: &str| -> HashMap<String, Value> {
            body.pointer(pointer)
                .and_then(Value::as_array)
                .map(|items| {
                    items.iter().filter_map(|item| Some((item.get(key).and_then(id_of)?, item.clone()))).collect()
                })
                .unwrap_or_default()
        };
        V2Includes { users: index("/includes/users", "id"), media: index("/includes/media", "media_key") }
    }
}

/// A v2 post as a public message (or an edit), threaded and cleaned like its webhook twin.
fn v2_event(post: &V2Tweet, includes: &V2Includes, via_monitoring: bool, now: Timestamp) -> InboundEvent {
    let id = post.id.0.clone();
    let parent_id = post.referenced("replied_to");
    let user = includes.users.get(&post.author_id.0);
    let field = |name: &str| user.and_then(|u| u.get(name)).and_then(Value::as_str).map(str::to_string);
    let handle = field("username").unwrap_or_else(|| post.author_id.0.clone());
    let full_text = post.note_tweet.as_ref().map_or(post.text.as_str(), |note| note.text.as_str());
    let attachments = post
        .attachments
        .as_ref()
        .map(|a| a.media_keys.iter().filter_map(|key| includes.media.get(key)).map(v2_media_attachment).collect())
        .unwrap_or_default();
    let occurred_at = post.created_at.as_deref().and_then(|s| s.parse().ok()).unwrap_or(now);
    let text = unescape_html(strip_leading_mentions(full_text).trim());
    if let Some(initial) = post.edit_history_tweet_ids.first().filter(|initial| initial.0 != id) {
        let kind = InboundKind::Edited { platform_message_id: initial.0.clone(), text };
        return InboundEvent { dedup_key: format!("tweet:{id}"), occurred_at, kind };
    }
    let message = InboundMessage {
        conversation_kind: ConversationKind::Public,
        platform_message_id: id.clone(),
        thread_id: parent_id.clone().unwrap_or_else(|| id.clone()),
        parent_id,
        author: Author {
            platform_user_id: post.author_id.0.clone(),
            display_name: field("name").unwrap_or_else(|| handle.clone()),
            handle,
        },
        text,
        attachments,
        via_monitoring,
        language: post.lang.clone().filter(|l| !l.is_empty() && l != "und"),
    };
    InboundEvent { dedup_key: format!("tweet:{id}"), occurred_at, kind: InboundKind::Message(message) }
}

/// A v2 media object as an attachment, shaped like [`v1_media_attachment`].
fn v2_media_attachment(media: &Value) -> Value {
    let mut attachment = json!({
        "type": media.get("type").and_then(Value::as_str).unwrap_or("photo"),
        "id": media.get("media_key").and_then(id_of),
        "url": media.get("url").or_else(|| media.get("preview_image_url")).and_then(Value::as_str),
    });
    if let Some(video) = best_mp4(media.get("variants")) {
        attachment["video_url"] = Value::String(video);
    }
    attachment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Canned, Received, TestServer};

    const BRAND: &str = "1580000000000000001";
    const CONSUMER_SECRET: &str = "sim_consumer_secret_0123456789";

    fn ctx(settings: Value) -> ChannelContext {
        let credentials = json!({
            "consumer_key": "simConsumerKey",
            "consumer_secret": CONSUMER_SECRET,
            "access_token": "1580000000000000001-simAccessToken",
            "access_token_secret": "simAccessTokenSecret",
        });
        ChannelContext {
            network: Network::X,
            external_id: BRAND.into(),
            credentials: credentials.as_object().cloned().unwrap_or_default(),
            settings,
        }
    }

    fn at_ms(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap_or_else(|e| panic!("{e}"))
    }

    fn now() -> Timestamp {
        at_ms(1_793_700_000_000)
    }

    fn post<'a>(body: &'a [u8], signature: Option<&str>) -> RawRequest<'a> {
        let headers = signature.map(|s| vec![(SIGNATURE_HEADER.to_string(), s.to_string())]).unwrap_or_default();
        RawRequest { method: "POST", query: "", headers, body }
    }

    fn sign(body: &[u8]) -> String {
        format!("sha256={}", hmac_sha256_base64(CONSUMER_SECRET.as_bytes(), body))
    }

    /// Delivers a correctly signed envelope and returns its events.
    fn deliver(ctx: &ChannelContext, envelope: &Value) -> Vec<InboundEvent> {
        let body = envelope.to_string();
        match handle_webhook(ctx, &post(body.as_bytes(), Some(&sign(body.as_bytes()))), now()) {
            Ok(Inbound::Events { reply, events }) => {
                assert_eq!(reply, HttpReply::empty_ok());
                events
            }
            other => panic!("expected events, got {other:?}"),
        }
    }

    fn only_event(ctx: &ChannelContext, envelope: &Value) -> InboundEvent {
        let mut events = deliver(ctx, envelope);
        assert_eq!(events.len(), 1, "{events:?}");
        events.remove(0)
    }

    fn message(event: &InboundEvent) -> &InboundMessage {
        match &event.kind {
            InboundKind::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn echo(event: &InboundEvent) -> &EchoMessage {
        match &event.kind {
            InboundKind::Echo(echo) => echo,
            other => panic!("expected an echo, got {other:?}"),
        }
    }

    /// The tweet_create_events example of platform-apis.md 1.4.
    fn documented_mention() -> Value {
        json!({
          "for_user_id": "1580000000000000001",
          "user_has_blocked": false,
          "tweet_create_events": [{
            "created_at": "Tue Nov 03 09:12:45 +0000 2026",
            "id": 1853012345678901234_u64,
            "id_str": "1853012345678901234",
            "text": "@acme_help my order #4471 never arrived, can you check?",
            "display_text_range": [11, 55],
            "truncated": false,
            "in_reply_to_status_id": null, "in_reply_to_status_id_str": null,
            "in_reply_to_user_id": 1580000000000000001_u64,
            "in_reply_to_user_id_str": "1580000000000000001",
            "in_reply_to_screen_name": "acme_help",
            "user": {"id": 912345678, "id_str": "912345678", "name": "Dana R",
                     "screen_name": "dana_r", "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"},
            "entities": {"hashtags": [], "urls": [], "symbols": [],
              "user_mentions": [{"screen_name": "acme_help", "name": "ACME Support",
                "id": 1580000000000000001_u64, "id_str": "1580000000000000001", "indices": [0, 10]}]},
            "is_quote_status": false,
            "lang": "en",
            "timestamp_ms": "1793697165000"
          }]
        })
    }

    /// The direct_message_events example of platform-apis.md 1.4.
    fn documented_dm() -> Value {
        json!({
          "for_user_id": "1580000000000000001",
          "direct_message_events": [{
            "type": "message_create",
            "id": "1853019999000000001",
            "created_timestamp": "1793697200123",
            "message_create": {
              "target": {"recipient_id": "1580000000000000001"},
              "sender_id": "912345678",
              "message_data": {"text": "Order number is 4471, shipped to Lyon.",
                "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": []}}
            }
          }],
          "users": {
            "912345678": {"id": "912345678", "name": "Dana R", "screen_name": "dana_r",
                          "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"},
            "1580000000000000001": {"id": "1580000000000000001", "name": "ACME Support", "screen_name": "acme_help"}
          }
        })
    }

    fn tweet_envelope(tweet: Value) -> Value {
        json!({"for_user_id": BRAND, "tweet_create_events": [tweet]})
    }

    // --- CRC and signatures -------------------------------------------------

    #[test]
    fn crc_answers_the_documented_vector() {
        let request = RawRequest {
            method: "GET",
            query: "crc_token=crc-7f1c2a9e-0b3d-4e55-9a10-5c2f8d6e4b21",
            headers: vec![],
            body: b"",
        };
        match handle_webhook(&ctx(json!({})), &request, now()) {
            Ok(Inbound::Handshake(reply)) => {
                assert_eq!(reply.status, 200);
                assert_eq!(reply.content_type, "application/json");
                let body: Value = serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(body, json!({"response_token": "sha256=lDpRBKwaqPtiSROfM3QhiWLfEMPrmnty0GpZUKoOySg="}));
            }
            other => panic!("expected a handshake, got {other:?}"),
        }
    }

    #[test]
    fn crc_refuses_missing_tokens_and_tokens_that_could_be_event_bodies() {
        for query in ["", "other=1", "crc_token=", "crc_token=%7B%22for_user_id%22%3A%221%22%7D"] {
            let request = RawRequest { method: "GET", query, headers: vec![], body: b"" };
            assert!(
                matches!(handle_webhook(&ctx(json!({})), &request, now()), Err(WebhookError::BadRequest(_))),
                "{query}"
            );
        }
    }

    #[test]
    fn a_delivery_with_the_documented_signature_is_accepted() {
        let body = br#"{"for_user_id":"1580000000000000001","tweet_create_events":[]}"#;
        let request = post(body, Some("sha256=GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEU="));
        match handle_webhook(&ctx(json!({})), &request, now()) {
            Ok(Inbound::Events { events, reply }) => {
                assert!(events.is_empty());
                assert_eq!(reply.status, 200);
            }
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[test]
    fn deliveries_with_a_missing_or_wrong_signature_are_refused() {
        let body = br#"{"for_user_id":"1580000000000000001","tweet_create_events":[]}"#;
        let good = "sha256=GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEU=";
        let cases: [(&[u8], Option<&str>); 5] = [
            (body, None),
            (body, Some("GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEU=")),
            (body, Some("sha256=GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEV=")),
            (body, Some("sha256=")),
            (br#"{"for_user_id":"1580000000000000001","tweet_create_events":[] }"#, Some(good)),
        ];
        for (body, signature) in cases {
            let result = handle_webhook(&ctx(json!({})), &post(body, signature), now());
            assert!(matches!(result, Err(WebhookError::Unauthorized(_))), "{signature:?}: {result:?}");
        }
    }

    #[test]
    fn a_channel_without_its_consumer_secret_refuses_everything() {
        let mut ctx = ctx(json!({}));
        ctx.credentials.remove("consumer_secret");
        let body = br#"{"for_user_id":"1580000000000000001","tweet_create_events":[]}"#;
        let request = post(body, Some("sha256=GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEU="));
        assert!(matches!(handle_webhook(&ctx, &request, now()), Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn signed_bodies_that_are_not_envelopes_are_bad_requests() {
        for body in [&b"not json"[..], b"[1,2]", br#"{"tweet_create_events":[]}"#] {
            let result = handle_webhook(&ctx(json!({})), &post(body, Some(&sign(body))), now());
            assert!(matches!(result, Err(WebhookError::BadRequest(_))), "{result:?}");
        }
        let put = RawRequest { method: "PUT", query: "", headers: vec![], body: b"" };
        assert!(matches!(handle_webhook(&ctx(json!({})), &put, now()), Err(WebhookError::BadRequest(_))));
    }

    // --- Tweets ---------------------------------------------------------------

    #[test]
    fn the_documented_mention_becomes_a_public_message() {
        let event = only_event(&ctx(json!({})), &documented_mention());
        assert_eq!(event.dedup_key, "tweet:1853012345678901234");
        assert_eq!(event.occurred_at, at_ms(1_793_697_165_000));
        let message = message(&event);
        assert_eq!(message.conversation_kind, ConversationKind::Public);
        assert_eq!(message.platform_message_id, "1853012345678901234");
        assert_eq!(message.thread_id, "1853012345678901234");
        assert_eq!(message.parent_id, None);
        assert_eq!(message.text, "my order #4471 never arrived, can you check?");
        assert_eq!(
            message.author,
            Author { platform_user_id: "912345678".into(), handle: "dana_r".into(), display_name: "Dana R".into() }
        );
        assert_eq!(message.language.as_deref(), Some("en"));
        assert!(!message.via_monitoring);
        assert!(message.attachments.is_empty());
    }

    #[test]
    fn a_reply_to_the_brands_reply_is_threaded_under_it() {
        let mut envelope = documented_mention();
        envelope["tweet_create_events"][0]["in_reply_to_status_id_str"] = json!("1853012345678909999");
        let event = only_event(&ctx(json!({})), &envelope);
        let message = message(&event);
        assert_eq!(message.thread_id, "1853012345678909999");
        assert_eq!(message.parent_id.as_deref(), Some("1853012345678909999"));
    }

    #[test]
    fn a_truncated_tweet_uses_its_full_text_and_media() {
        let long_text = format!("@acme_help {} the end", "word ".repeat(40));
        let shown = long_text.chars().count();
        let envelope = tweet_envelope(json!({
            "id_str": "1853000000000000010",
            "text": "@acme_help word word word… https://t.co/abc",
            "truncated": true,
            "display_text_range": [11, 140],
            "extended_tweet": {
                "full_text": format!("{long_text} https://t.co/media1"),
                "display_text_range": [11, shown],
                "extended_entities": {"media": [{
                    "id_str": "77", "type": "video", "media_url_https": "https://pbs.twimg.com/v.jpg",
                    "video_info": {"variants": [
                        {"content_type": "application/x-mpegURL", "url": "https://video.twimg.com/v.m3u8"},
                        {"content_type": "video/mp4", "bitrate": 256000, "url": "https://video.twimg.com/low.mp4"},
                        {"content_type": "video/mp4", "bitrate": 832000, "url": "https://video.twimg.com/high.mp4"}
                    ]}
                }]}
            },
            "user": {"id_str": "912345678", "screen_name": "dana_r", "name": "Dana R"},
            "lang": "und",
            "timestamp_ms": "1793697165000"
        }));
        let event = only_event(&ctx(json!({})), &envelope);
        let message = message(&event);
        assert_eq!(message.text, long_text["@acme_help ".len()..].trim());
        assert_eq!(message.language, None);
        assert_eq!(
            message.attachments,
            vec![json!({"type": "video", "id": "77", "url": "https://pbs.twimg.com/v.jpg",
                        "video_url": "https://video.twimg.com/high.mp4"})]
        );
    }

    #[test]
    fn display_text_ranges_count_code_points_and_escapes_are_undone() {
        let envelope = tweet_envelope(json!({
            "id_str": "1853000000000000011",
            "text": "@acme_help 📦 lost &amp; &lt;late&gt;",
            "display_text_range": [11, 26],
            "user": {"id_str": "912345678", "screen_name": "dana_r", "name": "Dana R"},
            "created_at": "Tue Nov 03 09:12:45 +0000 2026"
        }));
        let event = only_event(&ctx(json!({})), &envelope);
        assert_eq!(message(&event).text, "📦 lost & <late>");
        assert_eq!(event.occurred_at, at_ms(1_793_697_165_000), "created_at read when timestamp_ms is absent");
    }

    #[test]
    fn retweets_are_ignored_even_by_the_brand() {
        for author in ["912345678", BRAND] {
            let envelope = tweet_envelope(json!({
                "id_str": "1853000000000000012", "text": "RT @acme_help: news",
                "retweeted_status": {"id_str": "1"},
                "user": {"id_str": author, "screen_name": "x", "name": "X"}
            }));
            let event = only_event(&ctx(json!({})), &envelope);
            assert_eq!(event.dedup_key, "tweet:1853000000000000012");
            assert!(matches!(event.kind, InboundKind::Ignored { .. }), "{event:?}");
        }
    }

    #[test]
    fn the_brands_own_tweets_are_echoes() {
        let envelope = tweet_envelope(json!({
            "id_str": "1853000000000000013",
            "text": "@dana_r We are on it!",
            "display_text_range": [8, 21],
            "in_reply_to_status_id_str": "1853012345678901234",
            "in_reply_to_user_id_str": "912345678",
            "user": {"id_str": BRAND, "screen_name": "acme_help", "name": "ACME Support"}
        }));
        let event = only_event(&ctx(json!({})), &envelope);
        assert_eq!(event.dedup_key, "tweet:1853000000000000013");
        assert_eq!(
            echo(&event),
            &EchoMessage {
                platform_message_id: "1853000000000000013".into(),
                thread_id: "1853012345678901234".into(),
                recipient_platform_user_id: Some("912345678".into()),
                text: "We are on it!".into(),
                by_hark: false,
            }
        );
    }

    #[test]
    fn an_edited_tweet_edits_the_first_version() {
        let mut envelope = documented_mention();
        let tweet = &mut envelope["tweet_create_events"][0];
        tweet["id_str"] = json!("1853012345678901300");
        tweet["text"] = json!("@acme_help my order #4471 never arrived, please check");
        tweet["display_text_range"] = json!([11, 53]);
        tweet["edit_history"] = json!({"initial_tweet_id": "1853012345678901234", "edit_tweet_ids": ["1853012345678901234", "1853012345678901300"]});
        let event = only_event(&ctx(json!({})), &envelope);
        assert_eq!(event.dedup_key, "tweet:1853012345678901300");
        assert_eq!(
            event.kind,
            InboundKind::Edited {
                platform_message_id: "1853012345678901234".into(),
                text: "my order #4471 never arrived, please check".into()
            }
        );
        // The first version itself names itself as initial: still a message.
        let mut first = documented_mention();
        first["tweet_create_events"][0]["edit_history"] = json!({"initial_tweet_id": "1853012345678901234"});
        assert!(matches!(only_event(&ctx(json!({})), &first).kind, InboundKind::Message(_)));
    }

    #[test]
    fn mentions_from_blocked_accounts_are_ignored() {
        for blocked in [json!(true), json!("true")] {
            let mut envelope = documented_mention();
            envelope["user_has_blocked"] = blocked;
            let event = only_event(&ctx(json!({})), &envelope);
            assert!(matches!(event.kind, InboundKind::Ignored { .. }), "{event:?}");
        }
    }

    #[test]
    fn an_unreadable_tweet_is_ignored_without_failing_the_delivery() {
        let envelope = json!({"for_user_id": BRAND, "tweet_create_events": [{"text": "no id"}, documented_mention()["tweet_create_events"][0]]});
        let events = deliver(&ctx(json!({})), &envelope);
        assert_eq!(events.len(), 2);
        assert!(matches!(events[0].kind, InboundKind::Ignored { .. }));
        assert_eq!(events[1].dedup_key, "tweet:1853012345678901234");
    }

    #[test]
    fn events_for_another_account_are_not_taken() {
        let mut envelope = documented_mention();
        envelope["for_user_id"] = json!("999");
        let event = only_event(&ctx(json!({})), &envelope);
        assert!(matches!(event.kind, InboundKind::Ignored { .. }), "{event:?}");
    }

    // --- Direct messages and other events --------------------------------------

    #[test]
    fn the_documented_dm_becomes_a_private_message() {
        let event = only_event(&ctx(json!({})), &documented_dm());
        assert_eq!(event.dedup_key, "dm:1853019999000000001");
        assert_eq!(event.occurred_at, at_ms(1_793_697_200_123));
        assert_eq!(
            message(&event),
            &InboundMessage {
                conversation_kind: ConversationKind::Private,
                platform_message_id: "1853019999000000001".into(),
                thread_id: "912345678".into(),
                parent_id: None,
                author: Author {
                    platform_user_id: "912345678".into(),
                    handle: "dana_r".into(),
                    display_name: "Dana R".into()
                },
                text: "Order number is 4471, shipped to Lyon.".into(),
                attachments: vec![],
                via_monitoring: false,
                language: None,
            }
        );
    }

    fn brand_dm(source_app_id: Option<&str>) -> Value {
        let mut envelope = json!({
            "for_user_id": BRAND,
            "direct_message_events": [{
                "type": "message_create", "id": "1853019999000000002", "created_timestamp": "1793697300000",
                "message_create": {"target": {"recipient_id": "912345678"}, "sender_id": BRAND,
                                   "message_data": {"text": "Thanks, checking now."}}
            }]
        });
        if let Some(app) = source_app_id {
            envelope["direct_message_events"][0]["message_create"]["source_app_id"] = json!(app);
        }
        envelope
    }

    #[test]
    fn the_brands_own_dms_are_echoes_by_hark() {
        let event = only_event(&ctx(json!({})), &brand_dm(Some("268278")));
        assert_eq!(event.dedup_key, "dm:1853019999000000002");
        assert_eq!(
            echo(&event),
            &EchoMessage {
                platform_message_id: "1853019999000000002".into(),
                thread_id: "912345678".into(),
                recipient_platform_user_id: Some("912345678".into()),
                text: "Thanks, checking now.".into(),
                by_hark: true,
            }
        );
    }

    #[test]
    fn with_an_app_id_dms_sent_from_other_apps_are_not_by_hark() {
        let settings = json!({"app_id": "31337"});
        assert!(!echo(&only_event(&ctx(settings.clone()), &brand_dm(Some("268278")))).by_hark);
        assert!(echo(&only_event(&ctx(settings), &brand_dm(Some("31337")))).by_hark);
    }

    #[test]
    fn dm_media_and_unknown_authors_are_kept() {
        let envelope = json!({
            "for_user_id": BRAND,
            "direct_message_events": [{
                "type": "message_create", "id": "1853019999000000003", "created_timestamp": "1793697300000",
                "message_create": {"target": {"recipient_id": BRAND}, "sender_id": "42",
                    "message_data": {"text": "see photo https://t.co/x",
                        "attachment": {"type": "media", "media": {"id_str": "9", "type": "photo",
                            "media_url_https": "https://ton.twitter.com/i.jpg"}}}}
            }]
        });
        let event = only_event(&ctx(json!({})), &envelope);
        let message = message(&event);
        assert_eq!(message.author.handle, "42");
        assert_eq!(
            message.attachments,
            vec![json!({"type": "photo", "id": "9", "url": "https://ton.twitter.com/i.jpg"})]
        );
    }

    #[test]
    fn deletions_become_deleted_events() {
        let envelope = json!({
            "for_user_id": BRAND,
            "tweet_delete_events": [{"status": {"id": "1853012345678901234", "user_id": "912345678"}, "timestamp_ms": "1793697400000"}]
        });
        let event = only_event(&ctx(json!({})), &envelope);
        assert_eq!(event.dedup_key, "tweet_delete:1853012345678901234");
        assert_eq!(event.kind, InboundKind::Deleted { platform_message_id: "1853012345678901234".into() });
        assert_eq!(event.occurred_at, at_ms(1_793_697_400_000));
    }

    #[test]
    fn likes_follows_typing_and_reads_are_ignored_with_stable_keys() {
        let envelope = json!({
            "for_user_id": BRAND,
            "favorite_events": [{"id": "fav1", "timestamp_ms": "1793697400000", "favorited_status": {}, "user": {}}],
            "follow_events": [{"type": "follow", "created_timestamp": "1793697400000", "target": {"id": BRAND}, "source": {"id": "42"}}],
            "direct_message_indicate_typing_events": [{"created_timestamp": "1793697400000", "sender_id": "42", "target": {"recipient_id": BRAND}}],
            "direct_message_mark_read_events": [{"created_timestamp": "1793697400000", "sender_id": "42", "target": {"recipient_id": BRAND}, "last_read_event_id": "1"}]
        });
        let first = deliver(&ctx(json!({})), &envelope);
        assert_eq!(first.len(), 4);
        assert!(first.iter().all(|e| matches!(e.kind, InboundKind::Ignored { .. })), "{first:?}");
        assert!(first.iter().any(|e| e.dedup_key == "favorite:fav1"));
        let keys: HashSet<&str> = first.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(keys.len(), 4, "keys are distinct: {keys:?}");
        let again = deliver(&ctx(json!({})), &envelope);
        assert_eq!(first, again, "a redelivery gives the same keys");
    }

    // --- Publishing -------------------------------------------------------------

    fn outbound(visibility: OutboundVisibility, text: &str) -> OutboundMessage {
        OutboundMessage {
            message_id: "msg_1".into(),
            text: text.into(),
            visibility,
            conversation_kind: ConversationKind::Public,
            recipient_platform_user_id: "912345678".into(),
            thread_id: Some("1853012345678901234".into()),
            reply_to_platform_message_id: Some("1853012345678901299".into()),
            last_inbound_at: None,
            reply_to_created_at: None,
            private_reply_already_sent: false,
            by_person: true,
            template: None,
            attachments: vec![],
        }
    }

    fn server_ctx(server: &TestServer, extra: Value) -> ChannelContext {
        let mut settings = json!({"api_base_url": server.base_url});
        if let (Some(settings), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
            settings.extend(extra.clone());
        }
        ctx(settings)
    }

    /// The fields of an `OAuth k="v", …` header, percent-decoded.
    fn oauth_fields(header: &str) -> HashMap<String, String> {
        let fields = header.strip_prefix("OAuth ").unwrap_or_else(|| panic!("not OAuth: {header}"));
        fields
            .split(", ")
            .map(|field| {
                let (key, value) = field.split_once('=').unwrap_or_else(|| panic!("bad field {field}"));
                let value = value.trim_matches('"');
                (key.to_string(), percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
            })
            .collect()
    }

    /// Recomputes the OAuth 1.0a signature of a received request as X would.
    fn assert_signed_by_the_brand(request: &Received, server: &TestServer) {
        let header = request.header("authorization").unwrap_or_else(|| panic!("no Authorization header"));
        let fields = oauth_fields(header);
        assert_eq!(fields["oauth_consumer_key"], "simConsumerKey");
        assert_eq!(fields["oauth_token"], "1580000000000000001-simAccessToken");
        let freshness = Freshness {
            nonce: fields["oauth_nonce"].clone(),
            timestamp: fields["oauth_timestamp"].parse().unwrap_or_else(|e| panic!("{e}")),
        };
        let brand = ctx(json!({}));
        let credentials = user_credentials(&brand).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("{}{}", server.base_url, request.target);
        let expected = oauth1::authorization_header(&credentials, &request.method, &url, &[], &freshness)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header, expected);
    }

    async fn publish_to(server: &TestServer, msg: &OutboundMessage) -> Result<Published, ConnectorError> {
        publish(&http::client(), &server_ctx(server, json!({})), msg, now()).await
    }

    #[tokio::test]
    async fn a_public_reply_is_a_signed_post_answering_the_latest_customer_post() {
        let server = TestServer::start(vec![Canned::json(
            201,
            json!({"data": {"id": "1853099999000000001", "text": "We are on it!", "edit_history_tweet_ids": ["1853099999000000001"]}}),
        )]);
        let published = publish_to(&server, &outbound(OutboundVisibility::Public, "We are on it!")).await;
        assert_eq!(
            published,
            Ok(Published { platform_message_id: "1853099999000000001".into(), private_thread_id: None })
        );
        let received = server.received();
        assert_eq!(received[0].method, "POST");
        assert_eq!(received[0].target, "/2/tweets");
        assert_eq!(
            received[0].json(),
            json!({"text": "We are on it!", "reply": {"in_reply_to_tweet_id": "1853012345678901299"}})
        );
        assert_signed_by_the_brand(&received[0], &server);
        assert_eq!(received[0].header("content-type"), Some("application/json"));
    }

    #[tokio::test]
    async fn a_private_reply_to_a_public_thread_is_a_dm_that_opens_a_private_thread() {
        let server = TestServer::start(vec![Canned::json(
            201,
            json!({"data": {"dm_conversation_id": "912345678-1580000000000000001", "dm_event_id": "1853019999000000009"}}),
        )]);
        let published = publish_to(&server, &outbound(OutboundVisibility::Private, "Could you DM the address?")).await;
        assert_eq!(
            published,
            Ok(Published {
                platform_message_id: "1853019999000000009".into(),
                private_thread_id: Some("912345678".into())
            })
        );
        let received = server.received();
        assert_eq!(received[0].target, "/2/dm_conversations/with/912345678/messages");
        assert_eq!(received[0].json(), json!({"text": "Could you DM the address?"}));
        assert_signed_by_the_brand(&received[0], &server);
    }

    #[tokio::test]
    async fn a_reply_over_the_limit_is_refused_before_calling_x() {
        let server = TestServer::start(vec![]);
        let result = publish_to(&server, &outbound(OutboundVisibility::Public, &"字".repeat(141))).await;
        assert!(matches!(result, Err(ConnectorError::NotAllowed(_))), "{result:?}");
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn x_errors_are_translated() {
        let reset = now().as_second() + 120;
        let server = TestServer::start(vec![
            Canned::json(
                403,
                json!({"detail": "You are not allowed to create a Tweet with duplicate content.", "title": "Forbidden", "status": 403}),
            ),
            Canned::json(429, json!({"title": "Too Many Requests", "status": 429}))
                .with_header("x-rate-limit-reset", reset.to_string()),
            Canned::json(401, json!({"title": "Unauthorized", "detail": "Unauthorized", "status": 401})),
            Canned::json(
                403,
                json!({"detail": "You cannot send messages to this user.", "title": "Forbidden", "status": 403}),
            ),
            Canned::json(503, json!({"title": "Service Unavailable"})),
            Canned::json(400, json!({"errors": [{"code": 44, "message": "in_reply_to_tweet_id is invalid"}]})),
        ]);
        let public = outbound(OutboundVisibility::Public, "Hello");
        let private = outbound(OutboundVisibility::Private, "Hello");
        assert_eq!(
            publish_to(&server, &public).await,
            Err(ConnectorError::Rejected("X refused a duplicate post".into()))
        );
        assert_eq!(
            publish_to(&server, &public).await,
            Err(ConnectorError::Retryable { reason: "Too Many Requests".into(), retry_after_secs: Some(120) })
        );
        assert!(matches!(publish_to(&server, &public).await, Err(ConnectorError::Unauthorized(_))));
        assert_eq!(
            publish_to(&server, &private).await,
            Err(ConnectorError::Rejected("You cannot send messages to this user.".into()))
        );
        assert!(matches!(publish_to(&server, &public).await, Err(ConnectorError::Unknown(_))), "a 5xx may have posted");
        assert_eq!(
            publish_to(&server, &public).await,
            Err(ConnectorError::Rejected("in_reply_to_tweet_id is invalid".into()))
        );
    }

    // --- Reconciliation ---------------------------------------------------------

    #[tokio::test]
    async fn find_published_recognises_the_post_despite_the_mention_and_the_shortened_link() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({
                "data": [
                    {"id": "1853099999000000003", "text": "@dana_r Other reply", "created_at": "2026-11-03T10:00:00.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "1853012345678901299"}]},
                    {"id": "1853099999000000002", "text": "@dana_r Track it at https://t.co/AbC", "created_at": "2026-11-03T10:00:00.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "1853000000000000000"}]},
                    {"id": "1853099999000000001", "text": "@dana_r Track it at https://t.co/AbC", "created_at": "2026-11-03T10:00:00.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "1853012345678901299"}]}
                ],
                "meta": {"result_count": 3}
            }),
        )]);
        let msg = outbound(OutboundVisibility::Public, "Track it at https://acme.example.com/track/4471");
        let since: Timestamp = "2026-11-03T09:59:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let found = find_published(&http::client(), &server_ctx(&server, json!({})), &msg, since).await;
        assert_eq!(
            found,
            Ok(Some(Published { platform_message_id: "1853099999000000001".into(), private_thread_id: None }))
        );
        let request = &server.received()[0];
        assert_eq!(request.path(), "/2/users/1580000000000000001/tweets");
        assert_eq!(request.query_param("max_results").as_deref(), Some("20"));
        assert_signed_by_the_brand(request, &server);
    }

    #[tokio::test]
    async fn find_published_ignores_posts_older_than_the_attempt() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({
                "data": [{"id": "1", "text": "Hello", "created_at": "2026-11-01T10:00:00.000Z"}]
            }),
        )]);
        let mut msg = outbound(OutboundVisibility::Public, "Hello");
        msg.reply_to_platform_message_id = None;
        msg.thread_id = None;
        let since: Timestamp = "2026-11-03T09:59:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let found = find_published(&http::client(), &server_ctx(&server, json!({})), &msg, since).await;
        assert_eq!(found, Ok(None));
    }

    #[tokio::test]
    async fn find_published_finds_a_dm_in_the_customers_conversation() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({
                "data": [
                    {"id": "e3", "event_type": "MessageCreate", "text": "Hello", "sender_id": BRAND,
                     "dm_conversation_id": "1580000000000000001-777", "created_at": "2026-11-03T10:00:00.000Z"},
                    {"id": "e2", "event_type": "MessageCreate", "text": "Hello", "sender_id": "912345678",
                     "dm_conversation_id": "912345678-1580000000000000001", "created_at": "2026-11-03T10:00:00.000Z"},
                    {"id": "e1", "event_type": "MessageCreate", "text": "Hello", "sender_id": BRAND,
                     "dm_conversation_id": "912345678-1580000000000000001", "created_at": "2026-11-03T10:00:00.000Z"}
                ]
            }),
        )]);
        let msg = outbound(OutboundVisibility::Private, "Hello");
        let since: Timestamp = "2026-11-03T09:59:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let found = find_published(&http::client(), &server_ctx(&server, json!({})), &msg, since).await;
        assert_eq!(
            found,
            Ok(Some(Published { platform_message_id: "e1".into(), private_thread_id: Some("912345678".into()) }))
        );
        let request = &server.received()[0];
        assert_eq!(request.path(), "/2/dm_events");
        assert_eq!(request.query_param("max_results").as_deref(), Some("20"));
    }

    // --- Engagement and credentials ----------------------------------------------

    #[tokio::test]
    async fn likes_reposts_and_hides_hit_their_endpoints() {
        let server = TestServer::start(vec![
            Canned::json(200, json!({"data": {"liked": true}})),
            Canned::json(200, json!({"data": {"retweeted": true}})),
            Canned::json(200, json!({"data": {"hidden": true}})),
            Canned::json(403, json!({"detail": "You can only hide replies to your own conversations."})),
        ]);
        let ctx = server_ctx(&server, json!({}));
        let client = http::client();
        let post = "1853012345678901234".to_string();
        assert_eq!(engage(&client, &ctx, &EngagementAction::Like { platform_message_id: post.clone() }).await, Ok(()));
        assert_eq!(
            engage(&client, &ctx, &EngagementAction::Repost { platform_message_id: post.clone() }).await,
            Ok(())
        );
        assert_eq!(engage(&client, &ctx, &EngagementAction::Hide { platform_message_id: post.clone() }).await, Ok(()));
        assert_eq!(
            engage(&client, &ctx, &EngagementAction::Hide { platform_message_id: post.clone() }).await,
            Err(ConnectorError::Rejected("You can only hide replies to your own conversations.".into()))
        );
        let received = server.received();
        let shapes: Vec<(&str, &str, Value)> =
            received.iter().map(|r| (r.method.as_str(), r.target.as_str(), r.json())).collect();
        assert_eq!(shapes[0], ("POST", "/2/users/1580000000000000001/likes", json!({"tweet_id": post})));
        assert_eq!(shapes[1], ("POST", "/2/users/1580000000000000001/retweets", json!({"tweet_id": post})));
        assert_eq!(shapes[2], ("PUT", "/2/tweets/1853012345678901234/hidden", json!({"hidden": true})));
        for request in &received {
            assert_signed_by_the_brand(request, &server);
        }
    }

    #[tokio::test]
    async fn credentials_must_work_and_belong_to_the_channels_account() {
        let server = TestServer::start(vec![
            Canned::json(200, json!({"data": {"id": BRAND, "name": "ACME Support", "username": "acme_help"}})),
            Canned::json(200, json!({"data": {"id": "42", "name": "Someone", "username": "someone"}})),
            Canned::json(401, json!({"title": "Unauthorized", "status": 401})),
        ]);
        let ctx = server_ctx(&server, json!({}));
        let client = http::client();
        assert_eq!(check_credentials(&client, &ctx).await, Ok(()));
        assert!(matches!(check_credentials(&client, &ctx).await, Err(ConnectorError::Misconfigured(_))));
        assert!(matches!(check_credentials(&client, &ctx).await, Err(ConnectorError::Unauthorized(_))));
        let received = server.received();
        assert_eq!(received[0].target, "/2/users/me");
        assert_signed_by_the_brand(&received[0], &server);
    }

    #[tokio::test]
    async fn the_post_a_thread_hangs_from_is_read_with_its_author() {
        let server = TestServer::start(vec![
            Canned::json(
                200,
                json!({"data": {"id": "1853000000000000001", "text": "Our new <b>store</b> is open", "author_id": BRAND,
                                "created_at": "2026-11-03T09:12:45.000Z", "edit_history_tweet_ids": ["1853000000000000001"]},
                       "includes": {"users": [{"id": BRAND, "name": "ACME Support", "username": "acme_help"}]}}),
            ),
            Canned::json(
                200,
                json!({"errors": [{"value": "1853000000000000002", "detail": "Could not find tweet with id: [1853000000000000002].",
                                   "title": "Not Found Error", "resource_type": "tweet"}]}),
            ),
        ]);
        let ctx = server_ctx(&server, json!({}));
        let client = http::client();
        let post = fetch_post(&client, &ctx, "1853000000000000001").await.unwrap_or_else(|e| panic!("{e}"));
        let post = post.unwrap_or_else(|| panic!("no post"));
        assert_eq!(post.id, "1853000000000000001");
        assert_eq!(post.text, "Our new <b>store</b> is open");
        assert_eq!(post.author.as_deref(), Some("@acme_help"));
        assert_eq!(post.posted_at.map(|t| t.as_second()), Some(1_793_697_165));
        assert_eq!(post.url.as_deref(), Some("https://x.com/acme_help/status/1853000000000000001"));
        assert_eq!(fetch_post(&client, &ctx, "1853000000000000002").await, Ok(None), "a missing post is no post");
        let received = server.received();
        assert!(received[0].target.starts_with("/2/tweets/1853000000000000001?"), "{}", received[0].target);
        assert!(received[0].target.contains("expansions=author_id"), "{}", received[0].target);
    }

    #[test]
    fn a_long_post_reads_its_note_text() {
        let body = json!({"data": {"id": "7", "text": "Short…", "note_tweet": {"text": "The whole long text"}}});
        let post = thread_post(&body).unwrap_or_else(|| panic!("no post"));
        assert_eq!((post.text.as_str(), post.author, post.posted_at), ("The whole long text", None, None));
        assert_eq!(post.url.as_deref(), Some("https://x.com/i/web/status/7"));
        assert_eq!(thread_post(&json!({"errors": []})), None);
    }

    // --- Polling ------------------------------------------------------------------

    fn v2_page(posts: Value, users: Value, meta: Value) -> Canned {
        Canned::json(200, json!({"data": posts, "includes": {"users": users}, "meta": meta}))
    }

    fn dana() -> Value {
        json!({"id": "912345678", "name": "Dana R", "username": "dana_r"})
    }

    #[tokio::test]
    async fn polling_follows_pages_and_keeps_both_cursors() {
        let server = TestServer::start(vec![
            // Mentions, page 1 (newest first).
            v2_page(
                json!([
                    {"id": "1853000000000000030", "text": "@acme_help where is my parcel?", "author_id": "912345678",
                     "conversation_id": "1853000000000000030", "created_at": "2026-11-03T09:30:00.000Z", "lang": "en",
                     "attachments": {"media_keys": ["3_1"]}},
                    {"id": "1853000000000000029", "text": "@dana_r we replied", "author_id": BRAND,
                     "created_at": "2026-11-03T09:29:00.000Z"}
                ]),
                json!([dana(), {"id": BRAND, "name": "ACME Support", "username": "acme_help"}]),
                json!({"result_count": 2, "newest_id": "1853000000000000030", "oldest_id": "1853000000000000029", "next_token": "page2"}),
            )
            .with_media(json!([{"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/p.jpg"}])),
            // Mentions, page 2.
            v2_page(
                json!([
                    {"id": "1853000000000000020", "text": "@acme_help @dana_r thanks!", "author_id": "912345678",
                     "created_at": "2026-11-03T09:20:00.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "1853000000000000019"}]},
                    {"id": "1853000000000000018", "text": "RT @x: hi", "author_id": "912345678",
                     "created_at": "2026-11-03T09:18:00.000Z",
                     "referenced_tweets": [{"type": "retweeted", "id": "1"}]}
                ]),
                json!([dana()]),
                json!({"result_count": 2, "newest_id": "1853000000000000020", "oldest_id": "1853000000000000018"}),
            ),
            // Search: one new post and one already seen through mentions.
            v2_page(
                json!([
                    {"id": "1853000000000000040", "text": "acme lost my parcel again", "author_id": "55",
                     "created_at": "2026-11-03T09:40:00.000Z",
                     "note_tweet": {"text": "acme lost my parcel again, and this is the long version"}},
                    {"id": "1853000000000000030", "text": "@acme_help where is my parcel?", "author_id": "912345678",
                     "created_at": "2026-11-03T09:30:00.000Z"}
                ]),
                json!([{"id": "55", "name": "Sam", "username": "sam"}, dana()]),
                json!({"result_count": 2, "newest_id": "1853000000000000040"}),
            ),
        ]);
        let ctx = server_ctx(&server, json!({"monitor_query": "acme -is:retweet", "api_base_url": server.base_url}));
        let old_cursor = json!({"mentions": "1853000000000000010", "search": "1853000000000000011"}).to_string();
        let result = poll(&http::client(), &ctx, Some(&old_cursor)).await.unwrap_or_else(|e| panic!("{e}"));

        let keys: Vec<&str> = result.events.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(keys, ["tweet:1853000000000000020", "tweet:1853000000000000030", "tweet:1853000000000000040"]);
        let reply = message(&result.events[0]);
        assert_eq!(reply.text, "thanks!");
        assert_eq!(reply.thread_id, "1853000000000000019");
        assert_eq!(reply.parent_id.as_deref(), Some("1853000000000000019"));
        let mention = message(&result.events[1]);
        assert_eq!(mention.text, "where is my parcel?");
        assert_eq!(mention.thread_id, "1853000000000000030");
        assert_eq!(mention.author.handle, "dana_r");
        assert_eq!(mention.language.as_deref(), Some("en"));
        assert!(!mention.via_monitoring);
        assert_eq!(
            mention.attachments,
            vec![json!({"type": "photo", "id": "3_1", "url": "https://pbs.twimg.com/p.jpg"})]
        );
        let found = message(&result.events[2]);
        assert!(found.via_monitoring);
        assert_eq!(found.text, "acme lost my parcel again, and this is the long version");
        assert_eq!(found.author.display_name, "Sam");
        let occurred: Timestamp = "2026-11-03T09:40:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(result.events[2].occurred_at, occurred);

        let cursor: Value =
            serde_json::from_str(result.cursor.as_deref().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cursor, json!({"mentions": "1853000000000000030", "search": "1853000000000000040"}));

        let received = server.received();
        assert_eq!(received[0].path(), "/2/users/1580000000000000001/mentions");
        assert_eq!(received[0].query_param("since_id").as_deref(), Some("1853000000000000010"));
        assert_eq!(received[0].query_param("tweet.fields").as_deref(), Some(TWEET_FIELDS));
        assert_eq!(received[0].query_param("expansions").as_deref(), Some(EXPANSIONS));
        assert_eq!(received[0].query_param("user.fields").as_deref(), Some(USER_FIELDS));
        assert_eq!(received[0].query_param("pagination_token"), None);
        assert_eq!(received[1].query_param("pagination_token").as_deref(), Some("page2"));
        assert_eq!(received[1].query_param("since_id").as_deref(), Some("1853000000000000010"));
        assert_eq!(received[2].path(), "/2/tweets/search/recent");
        assert_eq!(received[2].query_param("query").as_deref(), Some("acme -is:retweet"));
        assert_eq!(received[2].query_param("since_id").as_deref(), Some("1853000000000000011"));
        for request in &received {
            assert_signed_by_the_brand(request, &server);
        }
    }

    #[tokio::test]
    async fn polling_with_a_bearer_token_and_no_news_keeps_the_cursor() {
        let server = TestServer::start(vec![Canned::json(200, json!({"meta": {"result_count": 0}}))]);
        let mut ctx = server_ctx(&server, json!({}));
        ctx.credentials.insert("bearer_token".into(), json!("app-only-token"));
        let result = poll(&http::client(), &ctx, Some("1853000000000000010")).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(result.events.is_empty());
        assert_eq!(result.cursor.as_deref(), Some(r#"{"mentions":"1853000000000000010"}"#));
        assert_eq!(server.received()[0].header("authorization"), Some("Bearer app-only-token"));
    }

    #[tokio::test]
    async fn polling_fails_whole_when_a_page_fails() {
        let server = TestServer::start(vec![
            v2_page(json!([]), json!([]), json!({"result_count": 0, "newest_id": "5", "next_token": "p2"})),
            Canned::json(429, json!({"title": "Too Many Requests"})),
        ]);
        let result = poll(&http::client(), &server_ctx(&server, json!({})), None).await;
        assert!(matches!(result, Err(ConnectorError::Retryable { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn a_page_without_meta_still_advances_the_cursor() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({"data": [
                {"id": "999", "text": "@acme_help a", "author_id": "912345678"},
                {"id": "1000", "text": "@acme_help b", "author_id": "912345678"}
            ]}),
        )]);
        let result =
            poll(&http::client(), &server_ctx(&server, json!({})), None).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(result.events.len(), 2);
        assert_eq!(result.cursor.as_deref(), Some(r#"{"mentions":"1000"}"#));
    }

    #[test]
    fn a_polled_edit_edits_the_first_version() {
        let page = json!({"data": [{"id": "20", "text": "@acme_help fixed typo", "author_id": "912345678",
                                    "edit_history_tweet_ids": ["10", "20"]},
                                   {"id": "30", "text": "@acme_help new", "author_id": "912345678",
                                    "edit_history_tweet_ids": ["30"]}]});
        let events = events_from_v2_page(&page, BRAND, false, now());
        assert_eq!(events[0].dedup_key, "tweet:20");
        assert_eq!(events[0].kind, InboundKind::Edited { platform_message_id: "10".into(), text: "fixed typo".into() });
        assert_eq!(message(&events[1]).text, "new");
    }

    #[tokio::test]
    async fn a_dm_conversation_cannot_be_answered_publicly() {
        let server = TestServer::start(vec![]);
        let mut msg = outbound(OutboundVisibility::Public, "Hello");
        msg.conversation_kind = ConversationKind::Private;
        let result = publish_to(&server, &msg).await;
        assert!(matches!(result, Err(ConnectorError::NotAllowed(_))), "{result:?}");
        assert!(server.received().is_empty());
    }

    #[test]
    fn cursors_are_read_in_every_stored_form() {
        assert_eq!(PollCursor::parse(None), PollCursor::default());
        assert_eq!(PollCursor::parse(Some("12")), PollCursor { mentions: Some("12".into()), search: None });
        assert_eq!(
            PollCursor::parse(Some(r#"{"search":"7"}"#)),
            PollCursor { mentions: None, search: Some("7".into()) }
        );
        assert_eq!(PollCursor::parse(Some("{broken")), PollCursor::default());
    }

    #[test]
    fn texts_match_loosely_on_mentions_links_and_spacing() {
        assert!(texts_match("Hello there", "@dana_r @sam Hello there"));
        assert!(texts_match("See https://acme.example.com/a", "See https://t.co/xyz"));
        assert!(texts_match("Tom & Jerry", "Tom &amp; Jerry"));
        assert!(!texts_match("Hello there", "Hello here"));
        assert_eq!(strip_leading_mentions("@dana_r"), "@dana_r");
    }
}
