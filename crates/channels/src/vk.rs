//! VK (VKontakte) communities: the Callback API for inbound events, and the
//! `/method/…` API for replies (private messages and wall comments).
//!
//! Credentials: `access_token` (the community token), `secret` (the Callback
//! API secret key, sent inside every event body), `confirmation_code` (the
//! string VK expects back when a callback server is added).
//! Settings: `api_base_url` (default `https://api.vk.com`).
//! `ctx.external_id` is the community (group) id, positive.
//!
//! Ids: a private message is `msg:<peer_id>:<conversation_message_id>`
//! (stable in group chats, where a community's view of `id` is 0), falling
//! back to its `id`. Messages the community sent are keyed by their `id`
//! instead, because that is what `messages.send` returns and what Hark
//! stored for its own sends. Wall comments are `<owner_id>_<comment_id>` and
//! wall threads `<owner_id>_<post_id>`, owner ids being negative for communities.

use hark_domain::{ConversationKind, Network};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http;
use crate::model::{
    Author, ChannelContext, ConnectorError, EchoMessage, EngagementAction, HttpReply, Inbound, InboundEvent,
    InboundKind, InboundMessage, OutboundMessage, OutboundVisibility, Published, RawRequest, Refusal, Registration,
    ThreadPost, WebhookError,
};
use crate::signing;
use crate::text;

/// VK's public API host, used when a channel does not name another.
pub const DEFAULT_API_BASE_URL: &str = "https://api.vk.com";
/// The API version Hark's requests and the expected callback payloads follow.
pub const API_VERSION: &str = "5.199";
/// What VK must read back, exactly, or it counts the delivery as failed and resends it.
const ACKNOWLEDGEMENT: &str = "ok";

// ---------------------------------------------------------------------------
// Inbound: the Callback API
// ---------------------------------------------------------------------------

/// Every Callback API body: `{type, event_id, v, object, group_id, secret}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Callback {
    #[serde(rename = "type")]
    kind: String,
    event_id: String,
    group_id: Option<i64>,
    secret: Option<String>,
    object: Value,
}

/// A private message as the Callback API describes it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VkMessage {
    id: i64,
    date: i64,
    peer_id: i64,
    from_id: i64,
    text: String,
    conversation_message_id: i64,
    attachments: Vec<Value>,
    fwd_messages: Vec<Value>,
    reply_message: Option<Box<VkMessage>>,
    /// 1 for messages the community sent.
    out: i64,
}

impl VkMessage {
    /// The key of a customer's message: `(peer_id, conversation_message_id)`.
    fn conversation_key(&self) -> String {
        if self.conversation_message_id > 0 {
            format!("msg:{}:{}", self.peer_id, self.conversation_message_id)
        } else {
            self.id.to_string()
        }
    }

    /// The key of a community's message: the id `messages.send` returned.
    fn sent_key(&self) -> String {
        if self.id > 0 { self.id.to_string() } else { self.conversation_key() }
    }

    fn key(&self) -> String {
        if self.out == 1 { self.sent_key() } else { self.conversation_key() }
    }
}

/// A wall comment (`wall_reply_new`, `wall_reply_edit`, `wall_reply_delete`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WallComment {
    id: i64,
    from_id: i64,
    date: i64,
    text: String,
    post_id: i64,
    owner_id: i64,
    reply_to_comment: Option<i64>,
    parents_stack: Vec<i64>,
    attachments: Vec<Value>,
}

impl WallComment {
    fn comment_id(&self) -> String {
        format!("{}_{}", self.owner_id, self.id)
    }

    fn thread_id(&self) -> String {
        format!("{}_{}", self.owner_id, self.post_id)
    }

    /// The comment answered: `reply_to_comment`, else the innermost of `parents_stack`.
    fn parent_id(&self) -> Option<String> {
        self.reply_to_comment
            .or_else(|| self.parents_stack.last().copied())
            .filter(|id| *id > 0 && *id != self.id)
            .map(|id| format!("{}_{id}", self.owner_id))
    }
}

/// `message_allow` / `message_deny`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Permission {
    user_id: i64,
}

/// Answers one Callback API request.
///
/// `confirmation` carries no secret: VK asks for the confirmation code to
/// prove the URL belongs to the community's owner. Every other event must
/// carry the configured secret (compared in constant time) and the
/// community's id. `now` dates events that carry no date.
pub fn handle_webhook(ctx: &ChannelContext, req: &RawRequest, now: Timestamp) -> Result<Inbound, WebhookError> {
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::BadRequest(format!("VK callbacks are POST requests, not {}", req.method)));
    }
    let callback: Callback = serde_json::from_slice(req.body)
        .map_err(|e| WebhookError::BadRequest(format!("the body is not a VK callback: {e}")))?;
    let group_id = group_id(ctx).map_err(|e| WebhookError::Unauthorized(e.to_string()))?;
    if callback.kind == "confirmation" {
        return confirm(ctx, group_id, &callback).map(Inbound::Handshake);
    }
    verify_secret(ctx, &callback)?;
    if callback.group_id != Some(group_id) {
        return Err(WebhookError::Unauthorized(format!(
            "the event is for community {:?}, not {group_id}",
            callback.group_id
        )));
    }
    let event = event(group_id, &callback, req.body, now);
    Ok(Inbound::Events { reply: HttpReply::ok_text(ACKNOWLEDGEMENT), events: vec![event] })
}

fn confirm(ctx: &ChannelContext, group_id: i64, callback: &Callback) -> Result<HttpReply, WebhookError> {
    if callback.group_id != Some(group_id) {
        return Err(WebhookError::Unauthorized(format!(
            "confirmation requested for community {:?}, not {group_id}",
            callback.group_id
        )));
    }
    let code = ctx
        .credential("confirmation_code")
        .map_err(|_| WebhookError::Unauthorized("the channel has no confirmation_code to answer with".into()))?;
    Ok(HttpReply::ok_text(code))
}

fn verify_secret(ctx: &ChannelContext, callback: &Callback) -> Result<(), WebhookError> {
    let ours = ctx
        .credential("secret")
        .map_err(|_| WebhookError::Unauthorized("the channel has no secret to compare with".into()))?;
    let received = callback.secret.as_deref().unwrap_or_default();
    if signing::constant_time_eq(received.as_bytes(), ours.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized("the callback's secret does not match".into()))
    }
}

/// The channel's community id as a positive number.
fn group_id(ctx: &ChannelContext) -> Result<i64, ConnectorError> {
    ctx.external_id
        .trim()
        .trim_start_matches('-')
        .parse::<i64>()
        .map_err(|_| ConnectorError::Misconfigured(format!("the VK group id {:?} is not a number", ctx.external_id)))
}

/// One callback becomes one event, deduplicated by VK's `event_id` (the
/// same id comes back on every resend, and through Bots Long Poll too).
fn event(group_id: i64, callback: &Callback, body: &[u8], now: Timestamp) -> InboundEvent {
    let dedup_key = if callback.event_id.is_empty() {
        format!("event:sha256:{}", hex::encode(Sha256::digest(body)))
    } else {
        format!("event:{}", callback.event_id)
    };
    let (kind, date) = match event_kind(group_id, callback) {
        Ok(parsed) => parsed,
        Err(e) => (InboundKind::Ignored { what: format!("unreadable {} event: {e}", callback.kind) }, None),
    };
    let occurred_at = date.filter(|d| *d > 0).and_then(|d| Timestamp::from_second(d).ok()).unwrap_or(now);
    InboundEvent { dedup_key, occurred_at, kind }
}

/// What the event means, with its date when it has one.
fn event_kind(group_id: i64, callback: &Callback) -> Result<(InboundKind, Option<i64>), serde_json::Error> {
    let object = &callback.object;
    Ok(match callback.kind.as_str() {
        "message_new" => {
            let message = message_of(object)?;
            (customer_message(&message), Some(message.date))
        }
        "message_reply" => {
            let message = message_of(object)?;
            (echo(&message), Some(message.date))
        }
        "message_edit" => {
            let message = message_of(object)?;
            (InboundKind::Edited { platform_message_id: message.key(), text: message.text }, Some(message.date))
        }
        "message_allow" | "message_deny" => {
            let permission: Permission = serde_json::from_value(object.clone())?;
            let allowed = callback.kind == "message_allow";
            (InboundKind::MessagingPermission { platform_user_id: permission.user_id.to_string(), allowed }, None)
        }
        "wall_reply_new" => {
            let comment: WallComment = serde_json::from_value(object.clone())?;
            (wall_comment(group_id, &comment), Some(comment.date))
        }
        "wall_reply_edit" => {
            let comment: WallComment = serde_json::from_value(object.clone())?;
            (
                InboundKind::Edited { platform_message_id: comment.comment_id(), text: comment.text.clone() },
                Some(comment.date),
            )
        }
        "wall_reply_delete" => {
            let comment: WallComment = serde_json::from_value(object.clone())?;
            (InboundKind::Deleted { platform_message_id: comment.comment_id() }, None)
        }
        other => (InboundKind::Ignored { what: format!("VK {other} event") }, None),
    })
}

/// `message_new` wraps the message (`{message, client_info}`); older API
/// versions and `message_reply`/`message_edit` send the message itself.
fn message_of(object: &Value) -> Result<VkMessage, serde_json::Error> {
    let message = object.get("message").filter(|m| m.is_object()).unwrap_or(object);
    serde_json::from_value(message.clone())
}

/// VK events carry no names; `id<user>` / `club<community>` is the address
/// VK itself uses for a profile, so it serves as the handle.
fn author(from_id: i64) -> Author {
    let handle = if from_id < 0 { format!("club{}", from_id.unsigned_abs()) } else { format!("id{from_id}") };
    Author { platform_user_id: from_id.to_string(), handle, display_name: String::new() }
}

fn customer_message(message: &VkMessage) -> InboundKind {
    let mut attachments = message.attachments.clone();
    if !message.fwd_messages.is_empty() {
        attachments.push(json!({"type": "forwarded_messages", "messages": message.fwd_messages}));
    }
    let parent_id = message.reply_message.as_ref().map(|quoted| {
        let peer_id = if quoted.peer_id != 0 { quoted.peer_id } else { message.peer_id };
        if quoted.conversation_message_id > 0 {
            format!("msg:{peer_id}:{}", quoted.conversation_message_id)
        } else {
            quoted.id.to_string()
        }
    });
    InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Private,
        platform_message_id: message.key(),
        thread_id: message.peer_id.to_string(),
        parent_id,
        author: author(message.from_id),
        text: message.text.clone(),
        attachments,
        via_monitoring: false,
        language: None,
    })
}

/// A message the community sent, by Hark or by an admin in VK's own
/// interface. VK does not say which; Hark recognises its own by id.
fn echo(message: &VkMessage) -> InboundKind {
    InboundKind::Echo(EchoMessage {
        platform_message_id: message.sent_key(),
        thread_id: message.peer_id.to_string(),
        recipient_platform_user_id: Some(message.peer_id.to_string()),
        text: message.text.clone(),
        by_hark: false,
    })
}

/// A new wall comment: the community's own (an echo) or a customer's.
/// Only the community itself counts as "us": another community commenting
/// is a customer like any other.
fn wall_comment(group_id: i64, comment: &WallComment) -> InboundKind {
    if comment.from_id == -group_id {
        return InboundKind::Echo(EchoMessage {
            platform_message_id: comment.comment_id(),
            thread_id: comment.thread_id(),
            recipient_platform_user_id: None,
            text: comment.text.clone(),
            by_hark: false,
        });
    }
    InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Public,
        platform_message_id: comment.comment_id(),
        thread_id: comment.thread_id(),
        parent_id: comment.parent_id(),
        author: author(comment.from_id),
        text: comment.text.clone(),
        attachments: comment.attachments.clone(),
        via_monitoring: false,
        language: None,
    })
}

// ---------------------------------------------------------------------------
// Outbound: the method API
// ---------------------------------------------------------------------------

/// What one reply turns into.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// `messages.send` to a user or chat; `opens_private_thread` when it
    /// moves a public (wall) conversation to private messages.
    Message { peer_id: String, opens_private_thread: bool },
    /// `wall.createComment` under a wall post, optionally answering a comment.
    WallComment { owner_id: String, post_id: String, reply_to_comment: Option<String> },
}

/// Publishes one reply. VK has no messaging window; whether a customer can
/// be messaged is VK's permission rule, reported as it answers (901/902).
pub async fn publish(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    _now: Timestamp,
) -> Result<Published, ConnectorError> {
    let delivery = plan(msg)?;
    let visibility = match delivery {
        Delivery::Message { .. } => OutboundVisibility::Private,
        Delivery::WallComment { .. } => OutboundVisibility::Public,
    };
    text::check_length(Network::Vk, visibility, &msg.text)?;
    match delivery {
        Delivery::Message { peer_id, opens_private_thread } => {
            let params = vec![
                ("peer_id", peer_id.clone()),
                ("random_id", random_id(&msg.message_id).to_string()),
                ("message", msg.text.clone()),
            ];
            let response = call(http, ctx, "messages.send", params).await?;
            let platform_message_id = sent_message_id(&response)?;
            Ok(Published { platform_message_id, private_thread_id: opens_private_thread.then_some(peer_id) })
        }
        Delivery::WallComment { owner_id, post_id, reply_to_comment } => {
            let mut params = vec![
                ("owner_id", owner_id.clone()),
                ("post_id", post_id),
                ("from_group", group_id(ctx)?.to_string()),
                ("message", msg.text.clone()),
                ("guid", msg.message_id.clone()),
            ];
            params.extend(reply_to_comment.map(|id| ("reply_to_comment", id)));
            let response = call(http, ctx, "wall.createComment", params).await?;
            let comment_id = number_text(response.get("comment_id")).ok_or_else(|| no_id(&response))?;
            Ok(Published { platform_message_id: format!("{owner_id}_{comment_id}"), private_thread_id: None })
        }
    }
}

/// Private conversations always get private messages; in a public (wall)
/// conversation the visibility decides between a comment and a private
/// message to the commenter.
fn plan(msg: &OutboundMessage) -> Result<Delivery, ConnectorError> {
    let is_public = msg.conversation_kind == ConversationKind::Public;
    if !is_public || msg.visibility == OutboundVisibility::Private {
        let peer_id = [Some(&msg.recipient_platform_user_id), msg.thread_id.as_ref().filter(|_| !is_public)]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .cloned()
            .ok_or_else(|| {
                ConnectorError::NotAllowed(Refusal::new(
                    "no-recipient",
                    "Hark does not know which VK user to send this to.",
                ))
            })?;
        return Ok(Delivery::Message { peer_id, opens_private_thread: is_public });
    }
    let (owner_id, post_id) = msg.thread_id.as_deref().and_then(split_owner_id).ok_or_else(|| {
        ConnectorError::NotAllowed(Refusal::new("no-post", "There is no VK wall post to comment on."))
    })?;
    let reply_to_comment = msg
        .reply_to_platform_message_id
        .as_deref()
        .filter(|target| Some(*target) != msg.thread_id.as_deref())
        .and_then(split_owner_id)
        .map(|(_, comment_id)| comment_id);
    Ok(Delivery::WallComment { owner_id, post_id, reply_to_comment })
}

/// `"-229000001_950"` → `("-229000001", "950")`.
fn split_owner_id(id: &str) -> Option<(String, String)> {
    let (owner, item) = id.split_once('_')?;
    let valid = owner.parse::<i64>().is_ok() && item.parse::<i64>().is_ok();
    valid.then(|| (owner.to_string(), item.to_string()))
}

/// VK's idempotency key for `messages.send`: a resend with the same
/// `random_id` creates no second message. It must fit a signed 32-bit int,
/// so it is the first 31 bits of SHA-256(Hark's message id), never 0.
pub fn random_id(message_id: &str) -> i32 {
    let digest = Sha256::digest(message_id.as_bytes());
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff;
    i32::try_from(bits).unwrap_or(i32::MAX).max(1)
}

/// `messages.send` with `peer_id` answers the new message's id.
fn sent_message_id(response: &Value) -> Result<String, ConnectorError> {
    let from_list = response.get(0).and_then(|first| first.get("message_id"));
    number_text(Some(response)).or_else(|| number_text(from_list)).ok_or_else(|| no_id(response))
}

fn number_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

fn no_id(response: &Value) -> ConnectorError {
    ConnectorError::Unknown(format!(
        "VK accepted the request but its answer has no id ({response}); check before retrying"
    ))
}

/// Likes a wall comment as the community. VK has no "hide" (only delete or
/// ban) and no API to share a customer's comment.
pub async fn engage(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    action: &EngagementAction,
) -> Result<(), ConnectorError> {
    match action {
        EngagementAction::Like { platform_message_id } => {
            let (owner_id, item_id) = split_owner_id(platform_message_id).ok_or_else(|| {
                ConnectorError::NotAllowed(Refusal::new("vk-like-comments-only", "Only VK wall comments can be liked."))
            })?;
            let params = vec![("type", "comment".to_string()), ("owner_id", owner_id), ("item_id", item_id)];
            call(http, ctx, "likes.add", params).await.map(|_| ())
        }
        EngagementAction::Hide { .. } => Err(ConnectorError::NotAllowed(Refusal::new(
            "vk-cannot-hide",
            "VK cannot hide a comment; a moderator can delete it or block the author in VK.",
        ))),
        EngagementAction::Repost { .. } => Err(ConnectorError::NotAllowed(Refusal::new(
            "cannot-share",
            "VK's API does not let a community share a customer's comment.",
        ))),
    }
}

/// Proves the community token works.
/// Adds Hark as a Callback API server of the community, subscribes it to the
/// events Hark reads, and fetches the new confirmation code (adding a server
/// changes it) so Hark can answer VK's confirmation request.
pub async fn register_webhook(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: &str,
) -> Result<Registration, ConnectorError> {
    let group = group_id(ctx)?.to_string();
    let secret = ctx.credential("secret")?.to_owned();
    let added = call(
        http,
        ctx,
        "groups.addCallbackServer",
        vec![("group_id", group.clone()), ("url", url.to_owned()), ("title", "Hark".into()), ("secret_key", secret)],
    )
    .await?;
    let server_id = number_text(added.get("server_id")).ok_or_else(|| no_id(&added))?;
    let mut settings =
        vec![("group_id", group.clone()), ("server_id", server_id), ("api_version", API_VERSION.to_string())];
    for event in [
        "message_new",
        "message_reply",
        "message_edit",
        "message_allow",
        "message_deny",
        "wall_reply_new",
        "wall_reply_edit",
        "wall_reply_delete",
    ] {
        settings.push((event, "1".into()));
    }
    call(http, ctx, "groups.setCallbackSettings", settings).await?;
    let answer = call(http, ctx, "groups.getCallbackConfirmationCode", vec![("group_id", group)]).await?;
    let code = answer.get("code").and_then(Value::as_str).ok_or_else(|| no_id(&answer))?.to_owned();
    let mut credentials_update = serde_json::Map::new();
    credentials_update.insert("confirmation_code".into(), Value::String(code));
    Ok(Registration {
        detail: format!("VK's Callback API delivers the community's events to {url}"),
        credentials_update,
    })
}

pub async fn check_credentials(http: &reqwest::Client, ctx: &ChannelContext) -> Result<(), ConnectorError> {
    call(http, ctx, "groups.getById", vec![("group_id", group_id(ctx)?.to_string())]).await.map(|_| ())
}

/// Reads a wall post (`wall.getById`, `posts={owner}_{id}`, the thread id
/// of wall comments); `None` when VK returns no such post (deleted).
pub async fn fetch_post(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    post_id: &str,
) -> Result<Option<ThreadPost>, ConnectorError> {
    let Some((owner, id)) = post_id.split_once('_') else { return Ok(None) };
    if owner.parse::<i64>().is_err() || id.parse::<i64>().is_err() {
        return Ok(None);
    }
    let response = call(http, ctx, "wall.getById", vec![("posts", post_id.to_owned())]).await?;
    Ok(wall_post(&response))
}

/// The first post of a `wall.getById` answer (`{items: […]}` since 5.184,
/// a bare array before).
fn wall_post(response: &Value) -> Option<ThreadPost> {
    let items = response.get("items").unwrap_or(response).as_array()?;
    let post = items.first()?;
    let owner = post.get("owner_id").and_then(Value::as_i64)?;
    let id = post.get("id").and_then(Value::as_i64)?;
    Some(ThreadPost {
        id: format!("{owner}_{id}"),
        text: post.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
        author: None,
        posted_at: post.get("date").and_then(Value::as_i64).and_then(|s| Timestamp::from_second(s).ok()),
        url: Some(format!("https://vk.com/wall{owner}_{id}")),
    })
}

/// Calls one API method (form-encoded, with `v` and the token) and returns
/// its `response`.
///
/// Every call Hark makes is safe to repeat (`random_id` and `guid` are VK's
/// idempotency keys; the rest only read or like), so a timeout is reported
/// as retryable rather than as an unknown outcome.
async fn call(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    method: &str,
    mut params: Vec<(&str, String)>,
) -> Result<Value, ConnectorError> {
    let token = ctx.credential("access_token")?;
    params.push(("v", API_VERSION.to_string()));
    params.push(("access_token", token.to_string()));
    let url = format!("{}/method/{method}", http::base_url(ctx, DEFAULT_API_BASE_URL));
    let response = http::send(http.post(url).form(&params)).await.map_err(repeatable)?;
    if !response.is_success() {
        let reason = http::status_reason(response.status, &response.body);
        return Err(http::status_error(response.status, &response.headers, reason, None));
    }
    if let Some(error) = response.body.get("error") {
        return Err(api_error(error));
    }
    response.body.get("response").cloned().ok_or_else(|| no_id(&response.body))
}

fn repeatable(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Unknown(reason) => ConnectorError::Retryable { reason, retry_after_secs: None },
        other => other,
    }
}

/// VK error codes (platform-apis.md 4) mapped to what Hark does next.
fn api_error(error: &Value) -> ConnectorError {
    let code = error.get("error_code").and_then(Value::as_i64).unwrap_or_default();
    let message = error.get("error_msg").and_then(Value::as_str).unwrap_or("VK refused the request");
    let reason = format!("{message} [VK error {code}]");
    match code {
        5 => ConnectorError::Unauthorized(reason),
        6 => ConnectorError::Retryable { reason, retry_after_secs: Some(1) },
        9 | 10 => ConnectorError::Retryable { reason, retry_after_secs: None },
        901 | 902 => ConnectorError::Rejected("the customer has not allowed messages from the community".into()),
        914 => ConnectorError::NotAllowed(Refusal::new(
            "vk-too-long",
            "The message is too long for VK; shorten it and send again.",
        )),
        15 | 212 | 213 => ConnectorError::Unauthorized(format!("access denied: {reason}")),
        _ => ConnectorError::Rejected(reason),
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use serde_json::Map;

    use super::*;
    use crate::http::client;
    use crate::http::test_server::{Canned, Received, TestServer};

    const GROUP: &str = "229000001";
    const SECRET: &str = "sim-vk-secret-9f8e7d";

    fn context(base_url: &str) -> ChannelContext {
        let credentials: Map<String, Value> = json!({
            "access_token": "vk1.a.simtoken",
            "secret": SECRET,
            "confirmation_code": "5a1b2c3d",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        ChannelContext {
            network: Network::Vk,
            external_id: GROUP.into(),
            credentials,
            settings: json!({"api_base_url": base_url}),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"))
    }

    fn post(body: &Value) -> Result<Inbound, WebhookError> {
        let bytes = body.to_string().into_bytes();
        let request = RawRequest { method: "POST", query: "", headers: vec![], body: &bytes };
        handle_webhook(&context("http://unused"), &request, now())
    }

    /// The single event of an accepted callback, checking the `ok` answer.
    fn single_event(body: &Value) -> InboundEvent {
        match post(body) {
            Ok(Inbound::Events { reply, mut events }) => {
                assert_eq!(reply, HttpReply::ok_text("ok"));
                assert_eq!(events.len(), 1);
                events.remove(0)
            }
            other => panic!("expected events, got {other:?}"),
        }
    }

    fn callback(kind: &str, event_id: &str, object: Value) -> Value {
        json!({"type": kind, "event_id": event_id, "v": "5.199", "object": object, "group_id": 229000001, "secret": SECRET})
    }

    #[test]
    fn confirmation_answers_the_code_as_plain_text() {
        match post(&json!({"type": "confirmation", "group_id": 229000001})) {
            Ok(Inbound::Handshake(reply)) => {
                assert_eq!(reply.body, "5a1b2c3d");
                assert!(reply.content_type.starts_with("text/plain"));
            }
            other => panic!("expected a handshake, got {other:?}"),
        }
        assert!(matches!(post(&json!({"type": "confirmation", "group_id": 1})), Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn the_documented_message_new_is_a_private_message() {
        let body = json!({
          "type": "message_new",
          "event_id": "3f2b8c1e9a0d4c7f5e6a1b2c3d4e5f60718293a4",
          "v": "5.199",
          "object": {
            "message": {
              "date": 1793697700, "from_id": 512345678, "id": 8841, "out": 0,
              "peer_id": 512345678, "text": "Здравствуйте, где мой заказ 4471?",
              "conversation_message_id": 312, "fwd_messages": [], "attachments": [],
              "important": false, "is_hidden": false, "random_id": 0
            },
            "client_info": {"button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
                            "keyboard": true, "inline_keyboard": true, "carousel": true, "lang_id": 0}
          },
          "group_id": 229000001,
          "secret": "sim-vk-secret-9f8e7d"
        });
        let event = single_event(&body);
        assert_eq!(event.dedup_key, "event:3f2b8c1e9a0d4c7f5e6a1b2c3d4e5f60718293a4");
        assert_eq!(event.occurred_at.as_second(), 1_793_697_700);
        let InboundKind::Message(message) = event.kind else { panic!("{:?}", event.kind) };
        assert_eq!(message.conversation_kind, ConversationKind::Private);
        assert_eq!(message.platform_message_id, "msg:512345678:312");
        assert_eq!(message.thread_id, "512345678");
        assert_eq!(message.author.platform_user_id, "512345678");
        assert_eq!(message.author.handle, "id512345678");
        assert_eq!(message.text, "Здравствуйте, где мой заказ 4471?");
        assert_eq!(message.parent_id, None);
    }

    #[test]
    fn the_documented_wall_reply_is_a_public_comment_on_its_post() {
        let body = json!({
          "type": "wall_reply_new", "event_id": "a9c0e1f2b3d4c5e6f708192a3b4c5d6e7f809123", "v": "5.199",
          "object": {"id": 1207, "from_id": 512345678, "post_id": 950, "owner_id": -229000001,
                     "parents_stack": [], "date": 1793697750, "text": "Доставка в Казань есть?",
                     "thread": {"count": 0}},
          "group_id": 229000001, "secret": "sim-vk-secret-9f8e7d"
        });
        let event = single_event(&body);
        assert_eq!(event.dedup_key, "event:a9c0e1f2b3d4c5e6f708192a3b4c5d6e7f809123");
        let InboundKind::Message(message) = event.kind else { panic!("{:?}", event.kind) };
        assert_eq!(message.conversation_kind, ConversationKind::Public);
        assert_eq!(message.platform_message_id, "-229000001_1207");
        assert_eq!(message.thread_id, "-229000001_950");
        assert_eq!(message.parent_id, None);
        assert_eq!(message.text, "Доставка в Казань есть?");
    }

    #[test]
    fn a_wrong_or_missing_secret_or_another_community_is_unauthorized() {
        let mut wrong = callback("message_new", "e1", json!({"message": {"id": 1}}));
        wrong["secret"] = json!("guess");
        let mut missing = wrong.clone();
        missing.as_object_mut().map(|o| o.remove("secret"));
        let mut other_group = callback("message_new", "e1", json!({"message": {"id": 1}}));
        other_group["group_id"] = json!(1);
        for body in [wrong, missing, other_group] {
            assert!(matches!(post(&body), Err(WebhookError::Unauthorized(_))), "{body}");
        }
        let garbage = RawRequest { method: "POST", query: "", headers: vec![], body: b"{" };
        assert!(matches!(handle_webhook(&context("x"), &garbage, now()), Err(WebhookError::BadRequest(_))));
    }

    #[test]
    fn replies_edits_permissions_and_quoted_messages() {
        let reply = single_event(&callback(
            "message_reply",
            "e2",
            json!({"id": 8842, "date": 1793697800, "peer_id": 512345678, "from_id": -229000001, "out": 1,
                   "conversation_message_id": 313, "text": "Ваш заказ в пути", "random_id": 123}),
        ));
        assert_eq!(
            reply.kind,
            InboundKind::Echo(EchoMessage {
                platform_message_id: "8842".into(),
                thread_id: "512345678".into(),
                recipient_platform_user_id: Some("512345678".into()),
                text: "Ваш заказ в пути".into(),
                by_hark: false,
            })
        );
        let edit = single_event(&callback(
            "message_edit",
            "e3",
            json!({"id": 8841, "peer_id": 512345678, "from_id": 512345678, "out": 0, "conversation_message_id": 312, "text": "заказ 4472"}),
        ));
        assert_eq!(
            edit.kind,
            InboundKind::Edited { platform_message_id: "msg:512345678:312".into(), text: "заказ 4472".into() }
        );
        let allow = single_event(&callback("message_allow", "e4", json!({"user_id": 512345678, "key": "k"})));
        assert_eq!(
            allow.kind,
            InboundKind::MessagingPermission { platform_user_id: "512345678".into(), allowed: true }
        );
        assert_eq!(allow.occurred_at, now());
        let deny = single_event(&callback("message_deny", "e5", json!({"user_id": 512345678})));
        assert_eq!(
            deny.kind,
            InboundKind::MessagingPermission { platform_user_id: "512345678".into(), allowed: false }
        );
        let quoting = single_event(&callback(
            "message_new",
            "e6",
            json!({"message": {"id": 8850, "peer_id": 2000000001, "from_id": 512345678, "conversation_message_id": 20,
                               "text": "и что?", "reply_message": {"id": 0, "conversation_message_id": 18, "text": "…"}}}),
        ));
        let InboundKind::Message(message) = quoting.kind else { panic!("{:?}", quoting.kind) };
        assert_eq!(message.parent_id.as_deref(), Some("msg:2000000001:18"));
        assert_eq!(message.thread_id, "2000000001");
    }

    #[test]
    fn wall_replies_edits_deletes_echoes_and_other_events() {
        let answer = single_event(&callback(
            "wall_reply_new",
            "w1",
            json!({"id": 1210, "from_id": 77, "post_id": 950, "owner_id": -229000001, "reply_to_comment": 1207,
                   "parents_stack": [1207], "date": 1793697760, "text": "+"}),
        ));
        let InboundKind::Message(message) = answer.kind else { panic!("{:?}", answer.kind) };
        assert_eq!(message.parent_id.as_deref(), Some("-229000001_1207"));
        let ours = single_event(&callback(
            "wall_reply_new",
            "w2",
            json!({"id": 1211, "from_id": -229000001, "post_id": 950, "owner_id": -229000001, "text": "Да, есть"}),
        ));
        assert!(
            matches!(ours.kind, InboundKind::Echo(ref e) if e.platform_message_id == "-229000001_1211" && e.thread_id == "-229000001_950")
        );
        let other_community = single_event(&callback(
            "wall_reply_new",
            "w3",
            json!({"id": 1212, "from_id": -1, "post_id": 950, "owner_id": -229000001, "text": "реклама"}),
        ));
        assert!(matches!(other_community.kind, InboundKind::Message(ref m) if m.author.handle == "club1"));
        let edited = single_event(&callback(
            "wall_reply_edit",
            "w4",
            json!({"id": 1207, "from_id": 512345678, "post_id": 950, "owner_id": -229000001, "text": "Доставка в Казань?"}),
        ));
        assert_eq!(
            edited.kind,
            InboundKind::Edited {
                platform_message_id: "-229000001_1207".into(), text: "Доставка в Казань?".into()
            }
        );
        let deleted = single_event(&callback(
            "wall_reply_delete",
            "w5",
            json!({"owner_id": -229000001, "id": 1207, "deleter_id": 512345678, "post_id": 950, "user_id": 512345678}),
        ));
        assert_eq!(deleted.kind, InboundKind::Deleted { platform_message_id: "-229000001_1207".into() });
        let typing = single_event(&callback("message_typing_state", "w6", json!({"state": "typing"})));
        assert!(matches!(typing.kind, InboundKind::Ignored { .. }));
        assert_eq!(typing.dedup_key, "event:w6");
    }

    #[test]
    fn random_ids_are_stable_31_bit_and_distinct() {
        let first = random_id("msg_01JABCDEF");
        assert_eq!(first, random_id("msg_01JABCDEF"));
        assert_ne!(first, random_id("msg_01JABCDEG"));
        for id in ["", "a", "msg_1", "msg_2", "ответ"] {
            assert!(random_id(id) > 0, "{id}");
        }
    }

    fn outbound(kind: ConversationKind, visibility: OutboundVisibility) -> OutboundMessage {
        OutboundMessage {
            message_id: "msg_01JVK".into(),
            text: "Да, доставляем в Казань.".into(),
            visibility,
            conversation_kind: kind,
            recipient_platform_user_id: "512345678".into(),
            thread_id: Some(match kind {
                ConversationKind::Public => "-229000001_950".into(),
                ConversationKind::Private => "512345678".into(),
            }),
            reply_to_platform_message_id: Some(match kind {
                ConversationKind::Public => "-229000001_1207".into(),
                ConversationKind::Private => "msg:512345678:312".into(),
            }),
            last_inbound_at: now().checked_sub(SignedDuration::from_hours(500)).ok(),
            reply_to_created_at: None,
            private_reply_already_sent: false,
            by_person: true,
            template: None,
            attachments: vec![],
        }
    }

    fn form(request: &Received) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&request.body).into_owned().collect()
    }

    fn field(request: &Received, name: &str) -> Option<String> {
        form(request).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    #[tokio::test]
    async fn a_private_message_goes_through_messages_send_with_a_stable_random_id() {
        let server = TestServer::start(vec![Canned::json(200, json!({"response": 8842}))]);
        let ctx = context(&server.base_url);
        let msg = outbound(ConversationKind::Private, OutboundVisibility::Private);
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(published, Ok(Published { platform_message_id: "8842".into(), private_thread_id: None }));
        let received = server.received();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!((request.method.as_str(), request.path()), ("POST", "/method/messages.send"));
        let mut fields = form(request);
        fields.sort();
        let mut expected: Vec<(String, String)> = [
            ("access_token", "vk1.a.simtoken".to_string()),
            ("message", msg.text.clone()),
            ("peer_id", "512345678".to_string()),
            ("random_id", random_id("msg_01JVK").to_string()),
            ("v", "5.199".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        expected.sort();
        assert_eq!(fields, expected);
    }

    #[tokio::test]
    async fn a_private_answer_to_a_wall_comment_opens_a_private_thread() {
        let server = TestServer::start(vec![Canned::json(200, json!({"response": 8843}))]);
        let msg = outbound(ConversationKind::Public, OutboundVisibility::Private);
        let published = publish(&client(), &context(&server.base_url), &msg, now()).await;
        assert_eq!(
            published,
            Ok(Published { platform_message_id: "8843".into(), private_thread_id: Some("512345678".into()) })
        );
        let received = server.received();
        assert_eq!(field(&received[0], "peer_id").as_deref(), Some("512345678"));
    }

    #[tokio::test]
    async fn a_public_reply_is_a_wall_comment_answering_the_comment() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({"response": {"comment_id": 1213, "parents_stack": [1207]}}),
        )]);
        let msg = outbound(ConversationKind::Public, OutboundVisibility::Public);
        let published = publish(&client(), &context(&server.base_url), &msg, now()).await;
        assert_eq!(published, Ok(Published { platform_message_id: "-229000001_1213".into(), private_thread_id: None }));
        let received = server.received();
        let request = &received[0];
        assert_eq!(request.path(), "/method/wall.createComment");
        assert_eq!(field(request, "owner_id").as_deref(), Some("-229000001"));
        assert_eq!(field(request, "post_id").as_deref(), Some("950"));
        assert_eq!(field(request, "from_group").as_deref(), Some("229000001"));
        assert_eq!(field(request, "reply_to_comment").as_deref(), Some("1207"));
        assert_eq!(field(request, "guid").as_deref(), Some("msg_01JVK"));
        assert_eq!(field(request, "message"), Some(msg.text.clone()));
        assert_eq!(field(request, "v").as_deref(), Some("5.199"));
        assert_eq!(field(request, "access_token").as_deref(), Some("vk1.a.simtoken"));
    }

    #[test]
    fn a_wall_post_is_read_from_either_answer_shape() {
        let item = json!({"id": 17, "owner_id": -229000001, "from_id": -229000001, "date": 1793697300, "text": "Мы открыли <магазин>"});
        for response in [json!({"items": [item.clone()]}), json!([item])] {
            let post = wall_post(&response).unwrap_or_else(|| panic!("no post in {response}"));
            assert_eq!(post.id, "-229000001_17");
            assert_eq!(post.text, "Мы открыли <магазин>");
            assert_eq!(post.posted_at.map(|t| t.as_second()), Some(1_793_697_300));
            assert_eq!(post.url.as_deref(), Some("https://vk.com/wall-229000001_17"));
        }
        assert_eq!(wall_post(&json!({"items": []})), None);
    }

    #[tokio::test]
    async fn vk_errors_map_to_what_hark_does_next() {
        let error = |code: i64, message: &str| {
            Canned::json(
                200,
                json!({"error": {"error_code": code, "error_msg": message,
                                               "request_params": [{"key": "method", "value": "messages.send"}]}}),
            )
        };
        let server = TestServer::start(vec![
            error(901, "Can't send messages for users without permission"),
            error(5, "User authorization failed"),
            error(6, "Too many requests per second"),
            error(914, "Message is too long"),
            error(15, "Access denied"),
            error(100, "One of the parameters specified was missing or invalid"),
            Canned::json(502, json!("bad gateway")),
        ]);
        let ctx = context(&server.base_url);
        let msg = outbound(ConversationKind::Private, OutboundVisibility::Private);
        let http = client();
        let mut results = Vec::new();
        for _ in 0..7 {
            results.push(publish(&http, &ctx, &msg, now()).await);
        }
        assert_eq!(
            results[0],
            Err(ConnectorError::Rejected("the customer has not allowed messages from the community".into()))
        );
        assert!(matches!(results[1], Err(ConnectorError::Unauthorized(_))));
        assert!(matches!(results[2], Err(ConnectorError::Retryable { .. })));
        assert!(matches!(results[3], Err(ConnectorError::NotAllowed(_))));
        assert!(matches!(&results[4], Err(ConnectorError::Unauthorized(r)) if r.starts_with("access denied")));
        assert!(matches!(&results[5], Err(ConnectorError::Rejected(r)) if r.contains("One of the parameters")));
        assert!(matches!(results[6], Err(ConnectorError::Retryable { .. })));
    }

    #[tokio::test]
    async fn refusals_before_sending_make_no_request() {
        let server = TestServer::start(vec![]);
        let ctx = context(&server.base_url);
        let mut too_long = outbound(ConversationKind::Private, OutboundVisibility::Private);
        too_long.text = "я".repeat(4097);
        let mut no_post = outbound(ConversationKind::Public, OutboundVisibility::Public);
        no_post.thread_id = None;
        for msg in [too_long, no_post] {
            assert!(matches!(publish(&client(), &ctx, &msg, now()).await, Err(ConnectorError::NotAllowed(_))));
        }
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn credentials_likes_and_unsupported_actions() {
        let server = TestServer::start(vec![
            Canned::json(200, json!({"response": {"groups": [{"id": 229000001}], "profiles": []}})),
            Canned::json(200, json!({"response": {"likes": 1}})),
        ]);
        let ctx = context(&server.base_url);
        let http = client();
        assert_eq!(check_credentials(&http, &ctx).await, Ok(()));
        let like = EngagementAction::Like { platform_message_id: "-229000001_1207".into() };
        assert_eq!(engage(&http, &ctx, &like).await, Ok(()));
        let hide = EngagementAction::Hide { platform_message_id: "-229000001_1207".into() };
        assert!(matches!(engage(&http, &ctx, &hide).await, Err(ConnectorError::NotAllowed(_))));
        let received = server.received();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].path(), "/method/groups.getById");
        assert_eq!(field(&received[0], "group_id").as_deref(), Some("229000001"));
        assert_eq!(received[1].path(), "/method/likes.add");
        assert_eq!(field(&received[1], "type").as_deref(), Some("comment"));
        assert_eq!(field(&received[1], "owner_id").as_deref(), Some("-229000001"));
        assert_eq!(field(&received[1], "item_id").as_deref(), Some("1207"));
    }
}
