//! Telegram Bot API: webhook updates or `getUpdates` long polling in,
//! `sendMessage` out.
//!
//! Credentials (`ctx.credentials`): `bot_token` (the `123456:AA…` token from
//! BotFather) and `secret_token` (the `secret_token` given to `setWebhook`,
//! which Telegram echoes in a header on every webhook request).
//!
//! Settings: `api_base_url` (default `https://api.telegram.org`) and
//! `long_poll_secs` (how long `getUpdates` may wait for news, default 25).
//!
//! `ctx.external_id` is the bot's user id.
//!
//! The bot token is part of every API URL, so URLs are never logged and
//! transport errors are stripped of them.
//!
//! Message ids are only unique within a chat, so a message's platform id is
//! `<chat_id>:<message_id>`.

use std::time::Duration;

use hark_domain::{ConversationKind, Network};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{self, JsonResponse};
use crate::model::*;
use crate::signing::constant_time_eq;
use crate::text;

/// The API host used when a channel does not name another (the sandbox does).
pub const DEFAULT_API_BASE_URL: &str = "https://api.telegram.org";
/// The header carrying the webhook's shared secret.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// How long `getUpdates` waits for news when the channel does not say.
pub const DEFAULT_LONG_POLL_SECS: u64 = 25;
/// Extra time a long poll's HTTP request gets beyond the wait it asks for.
const LONG_POLL_MARGIN: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Webhooks and updates
// ---------------------------------------------------------------------------

/// Checks the secret header and reads the one `Update` a webhook request carries.
pub fn handle_webhook(ctx: &ChannelContext, req: &RawRequest, now: Timestamp) -> Result<Inbound, WebhookError> {
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::BadRequest(format!("Telegram webhooks are POST, not {}", req.method)));
    }
    let secret = ctx.credential("secret_token").map_err(|e| WebhookError::Unauthorized(e.to_string()))?;
    let received = req
        .header(SECRET_HEADER)
        .ok_or_else(|| WebhookError::Unauthorized(format!("the {SECRET_HEADER} header is missing")))?;
    if !constant_time_eq(received.as_bytes(), secret.as_bytes()) {
        return Err(WebhookError::Unauthorized(format!("the {SECRET_HEADER} header is wrong")));
    }
    let update: Value =
        serde_json::from_slice(req.body).map_err(|e| WebhookError::BadRequest(format!("the body is not JSON: {e}")))?;
    let event = update_event(&ctx.external_id, &update, now)
        .ok_or_else(|| WebhookError::BadRequest("the body is not a Telegram update (no update_id)".into()))?;
    Ok(Inbound::Events { reply: HttpReply::empty_ok(), events: vec![event] })
}

/// One update as an event keyed `update:<update_id>`; `None` without an `update_id`.
fn update_event(bot_id: &str, update: &Value, now: Timestamp) -> Option<InboundEvent> {
    let update_id = update.get("update_id")?.as_i64()?;
    let (occurred_at, kind) = update_kind(bot_id, update, now);
    Some(InboundEvent { dedup_key: format!("update:{update_id}"), occurred_at, kind })
}

fn update_kind(bot_id: &str, update: &Value, now: Timestamp) -> (Timestamp, InboundKind) {
    if let Some(message) = update.get("message") {
        return read(message, now, |m: TgMessage| (seconds(m.date, now), message_kind(bot_id, &m)));
    }
    if let Some(message) = update.get("edited_message") {
        return read(message, now, |m: TgMessage| (seconds(m.edit_date.unwrap_or(m.date), now), edit_kind(&m)));
    }
    if let Some(change) = update.get("my_chat_member") {
        return read(change, now, |c: MemberChange| (seconds(c.date, now), membership_kind(&c)));
    }
    let what = update
        .as_object()
        .and_then(|fields| fields.keys().find(|k| *k != "update_id"))
        .map_or_else(|| "an empty Telegram update".to_string(), |key| format!("a Telegram `{key}` update"));
    (now, InboundKind::Ignored { what })
}

/// Deserialises `value` and interprets it, or says it could not be read.
fn read<T: for<'de> Deserialize<'de>>(
    value: &Value,
    now: Timestamp,
    interpret: impl FnOnce(T) -> (Timestamp, InboundKind),
) -> (Timestamp, InboundKind) {
    match T::deserialize(value) {
        Ok(parsed) => interpret(parsed),
        Err(e) => (now, InboundKind::Ignored { what: format!("an unreadable Telegram update: {e}") }),
    }
}

fn seconds(epoch: i64, fallback: Timestamp) -> Timestamp {
    Timestamp::from_second(epoch).unwrap_or(fallback)
}

#[derive(Debug, Deserialize)]
struct TgMessage {
    message_id: i64,
    #[serde(default)]
    from: Option<TgUser>,
    chat: TgChat,
    #[serde(default)]
    date: i64,
    #[serde(default)]
    edit_date: Option<i64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<Value>,
    #[serde(default)]
    document: Option<Value>,
    #[serde(default)]
    video: Option<Value>,
    #[serde(default)]
    voice: Option<Value>,
    #[serde(default)]
    audio: Option<Value>,
    #[serde(default)]
    sticker: Option<Value>,
    #[serde(default)]
    reply_to_message: Option<RepliedTo>,
}

/// Of the message replied to, only its id matters here.
#[derive(Debug, Deserialize)]
struct RepliedTo {
    message_id: i64,
}

#[derive(Debug, Deserialize)]
struct TgUser {
    id: i64,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    language_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TgChat {
    id: i64,
    #[serde(rename = "type", default)]
    kind: String,
}

impl TgChat {
    fn is_private(&self) -> bool {
        self.kind == "private"
    }

    fn is_group(&self) -> bool {
        self.kind == "group" || self.kind == "supergroup"
    }
}

impl TgMessage {
    fn platform_id(&self) -> String {
        message_ref(self.chat.id, self.message_id)
    }

    fn text(&self) -> String {
        self.text.clone().or_else(|| self.caption.clone()).unwrap_or_default()
    }

    /// Files as references (`file_id`), not bytes: fetching them needs
    /// `getFile` and the token, which is for whoever displays them.
    fn attachments(&self) -> Vec<Value> {
        let mut attachments = Vec::new();
        // Telegram lists a photo in several sizes, smallest first.
        if let Some(largest) = self.photo.last() {
            attachments.push(file_attachment("photo", largest));
        }
        let others = [
            ("document", &self.document),
            ("video", &self.video),
            ("voice", &self.voice),
            ("audio", &self.audio),
            ("sticker", &self.sticker),
        ];
        for (kind, file) in others {
            if let Some(file) = file {
                attachments.push(file_attachment(kind, file));
            }
        }
        attachments
    }
}

/// `<chat_id>:<message_id>`, the only unique name of a Telegram message.
fn message_ref(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// Splits `<chat_id>:<message_id>` (chat ids may be negative; neither has a colon).
fn parse_message_ref(text: &str) -> Option<(&str, i64)> {
    let (chat, message) = text.split_once(':')?;
    Some((chat, message.parse().ok()?))
}

fn file_attachment(kind: &str, file: &Value) -> Value {
    let mut attachment = json!({ "type": kind });
    for field in ["file_id", "file_unique_id", "file_name", "mime_type", "file_size", "width", "height", "duration"] {
        if let Some(value) = file.get(field) {
            attachment[field] = value.clone();
        }
    }
    attachment
}

fn author_of(user: &TgUser) -> Author {
    let display_name = match &user.last_name {
        Some(last) if !last.is_empty() => format!("{} {}", user.first_name, last),
        _ => user.first_name.clone(),
    };
    Author { platform_user_id: user.id.to_string(), handle: user.username.clone().unwrap_or_default(), display_name }
}

/// Private chats are private conversations, one per chat. Group messages
/// are public: threaded under the message they reply to, or the group itself.
/// Channel posts and service messages (joins, pins) are not conversations.
fn message_kind(bot_id: &str, message: &TgMessage) -> InboundKind {
    if !message.chat.is_private() && !message.chat.is_group() {
        return InboundKind::Ignored { what: format!("a message in a Telegram {}", message.chat.kind) };
    }
    let Some(from) = &message.from else {
        return InboundKind::Ignored { what: "a Telegram message without a sender".into() };
    };
    let text = message.text();
    let attachments = message.attachments();
    let chat_id = message.chat.id.to_string();
    if from.id.to_string() == bot_id {
        // Bots are not sent their own messages, but a business connection can
        // relay them; only this bot's token can send as the bot.
        return InboundKind::Echo(EchoMessage {
            platform_message_id: message.platform_id(),
            thread_id: chat_id.clone(),
            recipient_platform_user_id: message.chat.is_private().then_some(chat_id),
            text,
            by_hark: true,
        });
    }
    if text.is_empty() && attachments.is_empty() {
        return InboundKind::Ignored { what: "a Telegram service message".into() };
    }
    let parent_id = message.reply_to_message.as_ref().map(|r| message_ref(message.chat.id, r.message_id));
    // A group is one public thread per customer (Hark groups by thread and
    // author), so a customer answering the bot stays in their conversation;
    // `parent_id` keeps which message they answered.
    let conversation_kind =
        if message.chat.is_private() { ConversationKind::Private } else { ConversationKind::Public };
    let thread_id = chat_id;
    InboundKind::Message(InboundMessage {
        conversation_kind,
        platform_message_id: message.platform_id(),
        thread_id,
        parent_id,
        author: author_of(from),
        text,
        attachments,
        via_monitoring: false,
        // The language of the sender's Telegram app, the best hint Telegram gives.
        language: from.language_code.clone().filter(|l| !l.is_empty()),
    })
}

fn edit_kind(message: &TgMessage) -> InboundKind {
    if !message.chat.is_private() && !message.chat.is_group() {
        return InboundKind::Ignored { what: format!("an edit in a Telegram {}", message.chat.kind) };
    }
    InboundKind::Edited { platform_message_id: message.platform_id(), text: message.text() }
}

/// A change of the bot's membership in a chat.
#[derive(Debug, Deserialize)]
struct MemberChange {
    chat: TgChat,
    #[serde(default)]
    date: i64,
    new_chat_member: ChatMember,
}

#[derive(Debug, Deserialize)]
struct ChatMember {
    status: String,
}

/// In a private chat, `kicked` means the user blocked the bot and `member`
/// that they started (or unblocked) it. In groups it is about the bot's
/// place in the group, not about a person's consent.
fn membership_kind(change: &MemberChange) -> InboundKind {
    let user = change.chat.id.to_string();
    match (change.chat.is_private(), change.new_chat_member.status.as_str()) {
        (true, "kicked") => InboundKind::MessagingPermission { platform_user_id: user, allowed: false },
        (true, "member") => InboundKind::MessagingPermission { platform_user_id: user, allowed: true },
        (_, status) => InboundKind::Ignored {
            what: format!("the bot's status in a Telegram {} became `{status}`", change.chat.kind),
        },
    }
}

// ---------------------------------------------------------------------------
// Bot API calls
// ---------------------------------------------------------------------------

/// Calls a Bot API method with a JSON body and returns its `result`.
async fn call(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    method: &str,
    params: &Value,
    timeout: Option<Duration>,
) -> Result<Value, ConnectorError> {
    result_of(&send(http, ctx, method, params, timeout).await?)
}

/// Calls a Bot API method with a JSON body and returns the whole answer.
async fn send(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    method: &str,
    params: &Value,
    timeout: Option<Duration>,
) -> Result<JsonResponse, ConnectorError> {
    let token = ctx.credential("bot_token")?;
    // Holds the token: never log it.
    let url = format!("{}/bot{token}/{method}", http::base_url(ctx, DEFAULT_API_BASE_URL));
    let mut request = http.post(url).json(params);
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    http::send(request).await
}

/// The `result` of `{"ok":true,"result":…}`, or the error Telegram describes.
fn result_of(response: &JsonResponse) -> Result<Value, ConnectorError> {
    let ok = response.body.get("ok").and_then(Value::as_bool) == Some(true);
    match response.body.get("result") {
        Some(result) if ok && response.is_success() => Ok(result.clone()),
        _ => Err(telegram_error(response)),
    }
}

/// The error code of a failed call: the body's `error_code`, else the HTTP status.
fn error_code(response: &JsonResponse) -> reqwest::StatusCode {
    response
        .body
        .get("error_code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .and_then(|c| reqwest::StatusCode::from_u16(c).ok())
        .filter(|c| !c.is_success())
        .unwrap_or(response.status)
}

/// The `description` of a failed call, or a fallback naming the status.
fn description(response: &JsonResponse) -> String {
    response
        .body
        .get("description")
        .and_then(Value::as_str)
        .map(http::shorten)
        .unwrap_or_else(|| http::status_reason(response.status, &response.body))
}

/// Maps `{"ok":false,"error_code":…,"description":…,"parameters":{…}}`.
fn telegram_error(response: &JsonResponse) -> ConnectorError {
    let body = &response.body;
    let description = description(response);
    let retry_after = body.pointer("/parameters/retry_after").and_then(Value::as_u64);
    if let Some(new_chat) = body.pointer("/parameters/migrate_to_chat_id").and_then(Value::as_i64) {
        return ConnectorError::Rejected(format!(
            "The Telegram group became a supergroup with id {new_chat}; messages must go there ({description})."
        ));
    }
    let code = error_code(response);
    match code.as_u16() {
        // A malformed or unknown token answers 404 on every method.
        404 => ConnectorError::Unauthorized(format!("Telegram does not recognise the bot token ({description})")),
        // "bot was blocked by the user", "bot can't initiate conversation with a user", kicked from a group.
        403 => ConnectorError::Rejected(description),
        _ => http::status_error(code, &response.headers, description, retry_after),
    }
}

/// Where a reply goes: the customer's private chat, or the chat of a public
/// thread; and which message to quote, when it is in that same chat.
fn destination(msg: &OutboundMessage) -> Result<(String, Option<i64>), ConnectorError> {
    let chat = match msg.visibility {
        OutboundVisibility::Private => msg.recipient_platform_user_id.clone(),
        OutboundVisibility::Public => msg
            .thread_id
            .as_deref()
            .or(msg.reply_to_platform_message_id.as_deref())
            .map(|thread| thread.split_once(':').map_or(thread, |(chat, _)| chat).to_string())
            .unwrap_or_default(),
    };
    if chat.is_empty() {
        return Err(ConnectorError::NotAllowed(Refusal::new(
            "no-recipient",
            "This Telegram reply has no chat to go to.",
        )));
    }
    let quoted = msg
        .reply_to_platform_message_id
        .as_deref()
        .and_then(parse_message_ref)
        .filter(|(reply_chat, _)| *reply_chat == chat)
        .map(|(_, message_id)| message_id);
    Ok((chat, quoted))
}

/// A chat id as Telegram wants it: a number, or an `@username` string.
fn chat_id_value(chat: &str) -> Value {
    chat.parse::<i64>().map_or_else(|_| Value::String(chat.to_string()), Value::from)
}

/// Sends a reply with `sendMessage`, quoting the customer's message when it
/// is in the same chat. Telegram has no idempotency key; a timeout yields
/// `Unknown`.
pub async fn publish(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    _now: Timestamp,
) -> Result<Published, ConnectorError> {
    crate::connector::check_attachments(Network::Telegram, msg)?;
    if msg.attachments.is_empty() || !msg.text.trim().is_empty() {
        text::check_length(Network::Telegram, msg.visibility, &msg.text)?;
    }
    let (chat, quoted) = destination(msg)?;
    // A file goes by its address with the text as its caption.
    let (method, mut params) = match msg.attachments.first() {
        Some(file) if file.image => {
            ("sendPhoto", json!({ "chat_id": chat_id_value(&chat), "photo": file.url, "caption": msg.text }))
        }
        Some(file) => {
            ("sendDocument", json!({ "chat_id": chat_id_value(&chat), "document": file.url, "caption": msg.text }))
        }
        None => ("sendMessage", json!({ "chat_id": chat_id_value(&chat), "text": msg.text })),
    };
    if let Some(message_id) = quoted {
        // Without `allow_sending_without_reply` a reply to a since-deleted message fails.
        params["reply_parameters"] = json!({ "message_id": message_id, "allow_sending_without_reply": true });
    }
    let sent = call(http, ctx, method, &params, None).await?;
    let message_id = sent.get("message_id").and_then(Value::as_i64);
    let chat_id = sent.pointer("/chat/id").and_then(Value::as_i64);
    let (Some(message_id), Some(chat_id)) = (message_id, chat_id) else {
        return Err(ConnectorError::Unknown("Telegram sent the message but its answer has no message id".into()));
    };
    let opened_private =
        msg.visibility == OutboundVisibility::Private && msg.conversation_kind == ConversationKind::Public;
    Ok(Published {
        platform_message_id: message_ref(chat_id, message_id),
        private_thread_id: opened_private.then(|| chat_id.to_string()),
    })
}

/// The `long_poll_secs` setting, as a number or a numeric string.
fn long_poll_secs(ctx: &ChannelContext) -> u64 {
    let setting = ctx.settings.get("long_poll_secs");
    setting
        .and_then(Value::as_u64)
        .or_else(|| setting.and_then(Value::as_str).and_then(|s| s.trim().parse().ok()))
        .unwrap_or(DEFAULT_LONG_POLL_SECS)
}

/// Fetches updates after the cursor (the last `update_id` seen) with
/// `getUpdates`, which also confirms the earlier ones to Telegram. The new
/// cursor is the highest `update_id` received, or the old one if none came.
pub async fn poll(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    cursor: Option<&str>,
) -> Result<PollResult, ConnectorError> {
    let last_seen: Option<i64> = cursor.and_then(|c| c.trim().parse().ok());
    let wait = long_poll_secs(ctx);
    let mut params = json!({ "timeout": wait, "limit": 100 });
    if let Some(last) = last_seen {
        params["offset"] = json!(last + 1);
    }
    let timeout = Duration::from_secs(wait) + LONG_POLL_MARGIN;
    let response = send(http, ctx, "getUpdates", &params, Some(timeout)).await?;
    if error_code(&response) == reqwest::StatusCode::CONFLICT {
        return Err(webhook_mode_error(&description(&response)));
    }
    let result = result_of(&response)?;
    let now = Timestamp::now();
    let updates = result.as_array().map(Vec::as_slice).unwrap_or_default();
    let events = updates.iter().filter_map(|update| update_event(&ctx.external_id, update, now)).collect();
    let newest = updates.iter().filter_map(|u| u.get("update_id").and_then(Value::as_i64)).max();
    let cursor = newest.or(last_seen).map(|id| id.to_string());
    Ok(PollResult { events, cursor })
}

/// Telegram answers 409 Conflict to `getUpdates` while a webhook is set (or
/// another poller is running).
fn webhook_mode_error(reason: &str) -> ConnectorError {
    ConnectorError::Rejected(format!(
        "Telegram refuses polling for this bot because it is in webhook mode (or another program is polling it): \
         remove the webhook or switch the channel to webhooks ({reason})"
    ))
}

/// Checks the token with `getMe`, and that it is this channel's bot.
/// Points the bot's webhook at `url` with the channel's secret token.
pub async fn register_webhook(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: &str,
) -> Result<Registration, ConnectorError> {
    if ctx.setting_str("mode") == Some("polling") {
        return Err(ConnectorError::Misconfigured(
            "the bot is in polling mode; switch `mode` to `webhook` first".into(),
        ));
    }
    let secret = ctx.credential("secret_token")?;
    let params = serde_json::json!({
        "url": url,
        "secret_token": secret,
        "allowed_updates": ["message", "edited_message", "my_chat_member", "business_message", "edited_business_message"],
    });
    call(http, ctx, "setWebhook", &params, None).await?;
    Ok(Registration { detail: format!("Telegram delivers the bot's updates to {url}"), ..Default::default() })
}

pub async fn check_credentials(http: &reqwest::Client, ctx: &ChannelContext) -> Result<(), ConnectorError> {
    let me = call(http, ctx, "getMe", &json!({}), None).await?;
    let id = me.get("id").and_then(Value::as_i64).map(|id| id.to_string());
    match id {
        Some(id) if ctx.external_id.is_empty() || id == ctx.external_id => Ok(()),
        Some(id) => Err(ConnectorError::Misconfigured(format!(
            "the Telegram token belongs to bot {id}, not to this channel's bot {}",
            ctx.external_id
        ))),
        None => Err(ConnectorError::Rejected("Telegram answered getMe without a bot id".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Canned, TestServer};

    const BOT: &str = "7000000001";
    const TOKEN: &str = "7000000001:AAsimTokenForTests";
    const SECRET: &str = "sim-telegram-secret_token";

    fn ctx(settings: Value) -> ChannelContext {
        let credentials = json!({"bot_token": TOKEN, "secret_token": SECRET});
        ChannelContext {
            network: Network::Telegram,
            external_id: BOT.into(),
            credentials: credentials.as_object().cloned().unwrap_or_default(),
            settings,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_793_700_000).unwrap_or_else(|e| panic!("{e}"))
    }

    fn request<'a>(method: &'a str, body: &'a [u8], secret: Option<&str>) -> RawRequest<'a> {
        let headers = secret.map(|s| vec![(SECRET_HEADER.to_string(), s.to_string())]).unwrap_or_default();
        RawRequest { method, query: "", headers, body }
    }

    fn receive(update: &Value) -> InboundEvent {
        let body = update.to_string();
        match handle_webhook(&ctx(json!({})), &request("POST", body.as_bytes(), Some(SECRET)), now()) {
            Ok(Inbound::Events { reply, mut events }) => {
                assert_eq!(reply, HttpReply::empty_ok());
                assert_eq!(events.len(), 1);
                events.remove(0)
            }
            other => panic!("expected one event, got {other:?}"),
        }
    }

    fn message(event: &InboundEvent) -> &InboundMessage {
        match &event.kind {
            InboundKind::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The Update example of platform-apis.md 3.3.
    fn documented_update() -> Value {
        json!({
          "update_id": 804112233,
          "message": {
            "message_id": 5521,
            "from": {"id": 99887766, "is_bot": false, "first_name": "Lena", "username": "lena_k", "language_code": "de"},
            "chat": {"id": 99887766, "first_name": "Lena", "username": "lena_k", "type": "private"},
            "date": 1793697600,
            "text": "Hallo! Meine Bestellung 4471 fehlt noch 📦",
            "reply_to_message": {
              "message_id": 5519,
              "from": {"id": 7000000001_u64, "is_bot": true, "first_name": "ACME Support", "username": "acme_support_bot"},
              "chat": {"id": 99887766, "first_name": "Lena", "username": "lena_k", "type": "private"},
              "date": 1793690000,
              "text": "Thanks for contacting ACME. How can we help?"
            }
          }
        })
    }

    fn group_update(update_id: i64, message: Value) -> Value {
        let mut message = message;
        message["chat"] = json!({"id": -1001234567890_i64, "title": "ACME fans", "type": "supergroup"});
        message["from"] = json!({"id": 555, "is_bot": false, "first_name": "Max", "last_name": "Mustermann"});
        message["date"] = json!(1793697700);
        json!({"update_id": update_id, "message": message})
    }

    // --- Webhook --------------------------------------------------------------

    #[test]
    fn the_documented_update_is_a_private_message() {
        let event = receive(&documented_update());
        assert_eq!(event.dedup_key, "update:804112233");
        assert_eq!(event.occurred_at, Timestamp::from_second(1_793_697_600).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            message(&event),
            &InboundMessage {
                conversation_kind: ConversationKind::Private,
                platform_message_id: "99887766:5521".into(),
                thread_id: "99887766".into(),
                parent_id: Some("99887766:5519".into()),
                author: Author {
                    platform_user_id: "99887766".into(),
                    handle: "lena_k".into(),
                    display_name: "Lena".into()
                },
                text: "Hallo! Meine Bestellung 4471 fehlt noch 📦".into(),
                attachments: vec![],
                via_monitoring: false,
                language: Some("de".into()),
            }
        );
    }

    #[test]
    fn the_secret_header_must_be_present_and_exact() {
        let body = documented_update().to_string();
        for secret in [None, Some("wrong"), Some(""), Some("sim-telegram-secret_token ")] {
            let result = handle_webhook(&ctx(json!({})), &request("POST", body.as_bytes(), secret), now());
            assert!(matches!(result, Err(WebhookError::Unauthorized(_))), "{secret:?}: {result:?}");
        }
        let mut without_secret = ctx(json!({}));
        without_secret.credentials.remove("secret_token");
        let result = handle_webhook(&without_secret, &request("POST", body.as_bytes(), Some(SECRET)), now());
        assert!(matches!(result, Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn only_posted_updates_are_read() {
        let cases: [(&str, &[u8]); 4] =
            [("GET", b""), ("POST", b"not json"), ("POST", br#"{"message":{}}"#), ("POST", b"[]")];
        for (method, body) in cases {
            let result = handle_webhook(&ctx(json!({})), &request(method, body, Some(SECRET)), now());
            assert!(matches!(result, Err(WebhookError::BadRequest(_))), "{method} {body:?}: {result:?}");
        }
    }

    #[test]
    fn a_group_message_is_public_and_threaded_by_chat_with_its_parent_kept() {
        let plain = receive(&group_update(1, json!({"message_id": 77, "text": "@acme_support_bot is the shop open?"})));
        let plain = message(&plain);
        assert_eq!(plain.conversation_kind, ConversationKind::Public);
        assert_eq!(plain.platform_message_id, "-1001234567890:77");
        assert_eq!(plain.thread_id, "-1001234567890");
        assert_eq!(plain.parent_id, None);
        assert_eq!(plain.author.display_name, "Max Mustermann");
        assert_eq!(plain.author.handle, "");
        assert_eq!(plain.language, None);

        let reply = group_update(
            2,
            json!({"message_id": 79, "text": "thanks", "reply_to_message": {"message_id": 78,
            "chat": {"id": -1001234567890_i64, "type": "supergroup"}, "date": 1793697650}}),
        );
        let reply = receive(&reply);
        let reply = message(&reply);
        assert_eq!(reply.thread_id, "-1001234567890");
        assert_eq!(reply.parent_id.as_deref(), Some("-1001234567890:78"));
    }

    #[test]
    fn photos_and_documents_are_kept_as_file_references_with_their_caption() {
        let update = group_update(
            3,
            json!({
                "message_id": 80,
                "caption": "the box arrived like this",
                "photo": [
                    {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 60},
                    {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 853, "file_size": 120000}
                ],
                "document": {"file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"}
            }),
        );
        let event = receive(&update);
        let message = message(&event);
        assert_eq!(message.text, "the box arrived like this");
        assert_eq!(
            message.attachments,
            vec![
                json!({"type": "photo", "file_id": "large", "file_unique_id": "l", "width": 1280, "height": 853, "file_size": 120000}),
                json!({"type": "document", "file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"}),
            ]
        );
    }

    #[test]
    fn edits_become_edited_events() {
        let mut update = documented_update();
        let edited = update["message"].take();
        let update = json!({"update_id": 804112234, "edited_message": {
            "message_id": edited["message_id"], "from": edited["from"], "chat": edited["chat"],
            "date": 1793697600, "edit_date": 1793697660, "text": "Hallo! Bestellung 4471 fehlt"}});
        let event = receive(&update);
        assert_eq!(event.dedup_key, "update:804112234");
        assert_eq!(event.occurred_at, Timestamp::from_second(1_793_697_660).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            event.kind,
            InboundKind::Edited {
                platform_message_id: "99887766:5521".into(),
                text: "Hallo! Bestellung 4471 fehlt".into()
            }
        );
    }

    fn membership(update_id: i64, chat: Value, status: &str) -> Value {
        json!({"update_id": update_id, "my_chat_member": {
            "chat": chat, "from": {"id": 99887766, "is_bot": false, "first_name": "Lena"}, "date": 1793697800,
            "old_chat_member": {"status": "member", "user": {"id": 7000000001_u64, "is_bot": true, "first_name": "ACME"}},
            "new_chat_member": {"status": status, "user": {"id": 7000000001_u64, "is_bot": true, "first_name": "ACME"}}
        }})
    }

    #[test]
    fn blocking_and_unblocking_the_bot_change_messaging_permission() {
        let private = json!({"id": 99887766, "first_name": "Lena", "type": "private"});
        let blocked = receive(&membership(10, private.clone(), "kicked"));
        assert_eq!(
            blocked.kind,
            InboundKind::MessagingPermission { platform_user_id: "99887766".into(), allowed: false }
        );
        let restarted = receive(&membership(11, private, "member"));
        assert_eq!(
            restarted.kind,
            InboundKind::MessagingPermission { platform_user_id: "99887766".into(), allowed: true }
        );
        let group = json!({"id": -1001234567890_i64, "title": "ACME fans", "type": "supergroup"});
        let removed = receive(&membership(12, group, "kicked"));
        assert!(matches!(removed.kind, InboundKind::Ignored { .. }), "{removed:?}");
    }

    #[test]
    fn other_updates_are_ignored() {
        let updates = [
            json!({"update_id": 20, "callback_query": {"id": "1", "data": "x"}}),
            json!({"update_id": 21, "channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"}, "date": 1, "text": "news"}}),
            json!({"update_id": 22, "message": {"message_id": 1, "chat": {"id": -100, "type": "channel"}, "date": 1, "text": "news"}}),
            json!({"update_id": 23, "message": {"message_id": 2, "from": {"id": 5, "first_name": "A"},
                   "chat": {"id": -5, "type": "group"}, "date": 1, "new_chat_members": [{"id": 6}]}}),
            json!({"update_id": 24, "message": "not a message"}),
        ];
        for update in updates {
            let event = receive(&update);
            assert!(matches!(event.kind, InboundKind::Ignored { .. }), "{update}: {event:?}");
            assert_eq!(event.dedup_key, format!("update:{}", update["update_id"]));
        }
    }

    // --- Publishing -------------------------------------------------------------

    fn outbound(
        visibility: OutboundVisibility,
        kind: ConversationKind,
        thread: &str,
        reply_to: &str,
    ) -> OutboundMessage {
        OutboundMessage {
            message_id: "msg_1".into(),
            text: "We are checking order 4471.".into(),
            visibility,
            conversation_kind: kind,
            recipient_platform_user_id: "99887766".into(),
            thread_id: Some(thread.into()),
            reply_to_platform_message_id: Some(reply_to.into()),
            last_inbound_at: None,
            reply_to_created_at: None,
            private_reply_already_sent: false,
            by_person: true,
            template: None,
            attachments: vec![],
        }
    }

    fn sent(chat_id: i64, message_id: i64) -> Canned {
        Canned::json(
            200,
            json!({"ok": true, "result": {"message_id": message_id, "chat": {"id": chat_id, "type": "private"},
            "date": 1793697900, "text": "We are checking order 4471."}}),
        )
    }

    fn server_ctx(server: &TestServer) -> ChannelContext {
        ctx(json!({"api_base_url": server.base_url, "long_poll_secs": 0}))
    }

    #[tokio::test]
    async fn a_private_reply_quotes_the_customers_message() {
        let server = TestServer::start(vec![sent(99887766, 5522)]);
        let msg = outbound(OutboundVisibility::Private, ConversationKind::Private, "99887766", "99887766:5521");
        let published = publish(&http::client(), &server_ctx(&server), &msg, now()).await;
        assert_eq!(published, Ok(Published { platform_message_id: "99887766:5522".into(), private_thread_id: None }));
        let request = &server.received()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(
            request.json(),
            json!({"chat_id": 99887766, "text": "We are checking order 4471.",
                   "reply_parameters": {"message_id": 5521, "allow_sending_without_reply": true}})
        );
    }

    #[tokio::test]
    async fn a_public_reply_goes_to_the_group_of_the_thread() {
        let server = TestServer::start(vec![sent(-1001234567890, 90)]);
        let msg =
            outbound(OutboundVisibility::Public, ConversationKind::Public, "-1001234567890:78", "-1001234567890:79");
        let published = publish(&http::client(), &server_ctx(&server), &msg, now()).await;
        assert_eq!(
            published,
            Ok(Published { platform_message_id: "-1001234567890:90".into(), private_thread_id: None })
        );
        assert_eq!(
            server.received()[0].json(),
            json!({"chat_id": -1001234567890_i64, "text": "We are checking order 4471.",
                   "reply_parameters": {"message_id": 79, "allow_sending_without_reply": true}})
        );
    }

    #[tokio::test]
    async fn a_private_reply_to_a_group_message_goes_to_the_user_without_quoting() {
        let server = TestServer::start(vec![sent(99887766, 5600)]);
        let msg =
            outbound(OutboundVisibility::Private, ConversationKind::Public, "-1001234567890", "-1001234567890:79");
        let published = publish(&http::client(), &server_ctx(&server), &msg, now()).await;
        assert_eq!(
            published,
            Ok(Published { platform_message_id: "99887766:5600".into(), private_thread_id: Some("99887766".into()) })
        );
        assert_eq!(server.received()[0].json(), json!({"chat_id": 99887766, "text": "We are checking order 4471."}));
    }

    #[tokio::test]
    async fn a_reply_over_4096_characters_is_refused_before_sending() {
        let server = TestServer::start(vec![]);
        let mut msg = outbound(OutboundVisibility::Private, ConversationKind::Private, "99887766", "99887766:5521");
        msg.text = "a".repeat(4097);
        let result = publish(&http::client(), &server_ctx(&server), &msg, now()).await;
        assert!(matches!(result, Err(ConnectorError::NotAllowed(_))), "{result:?}");
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn telegram_errors_are_translated_without_leaking_the_token() {
        let server = TestServer::start(vec![
            Canned::json(
                429,
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
            ),
            Canned::json(
                403,
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
            ),
            Canned::json(
                403,
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot can't initiate conversation with a user"}),
            ),
            Canned::json(401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
            Canned::json(
                400,
                json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
                                     "parameters": {"migrate_to_chat_id": -1009876543210_i64}}),
            ),
            Canned::json(502, json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})),
        ]);
        let client = http::client();
        let ctx = server_ctx(&server);
        let msg = outbound(OutboundVisibility::Private, ConversationKind::Private, "99887766", "99887766:5521");
        let mut results = Vec::new();
        for _ in 0..6 {
            results.push(publish(&client, &ctx, &msg, now()).await);
        }
        assert_eq!(
            results[0],
            Err(ConnectorError::Retryable {
                reason: "Too Many Requests: retry after 7".into(),
                retry_after_secs: Some(7)
            })
        );
        assert_eq!(results[1], Err(ConnectorError::Rejected("Forbidden: bot was blocked by the user".into())));
        assert_eq!(
            results[2],
            Err(ConnectorError::Rejected("Forbidden: bot can't initiate conversation with a user".into()))
        );
        assert_eq!(results[3], Err(ConnectorError::Unauthorized("Unauthorized".into())));
        assert!(
            matches!(&results[4], Err(ConnectorError::Rejected(r)) if r.contains("-1009876543210")),
            "{:?}",
            results[4]
        );
        assert!(matches!(results[5], Err(ConnectorError::Retryable { .. })));
        for result in &results {
            let text = format!("{result:?}");
            assert!(!text.contains("AAsimTokenForTests"), "the token leaked: {text}");
        }
    }

    // --- Polling and credentials -----------------------------------------------

    #[tokio::test]
    async fn polling_confirms_the_last_update_and_advances_the_cursor() {
        let mut second = documented_update();
        second["update_id"] = json!(804112240);
        second["message"]["message_id"] = json!(5530);
        let server = TestServer::start(vec![
            Canned::json(200, json!({"ok": true, "result": [documented_update(), second]})),
            Canned::json(200, json!({"ok": true, "result": []})),
        ]);
        let client = http::client();
        let ctx = server_ctx(&server);
        let first = poll(&client, &ctx, Some("804112232")).await.unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<&str> = first.events.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(keys, ["update:804112233", "update:804112240"]);
        assert_eq!(message(&first.events[1]).platform_message_id, "99887766:5530");
        assert_eq!(first.cursor.as_deref(), Some("804112240"));
        let quiet = poll(&client, &ctx, first.cursor.as_deref()).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(quiet.events.is_empty());
        assert_eq!(quiet.cursor.as_deref(), Some("804112240"));

        let received = server.received();
        assert_eq!(received[0].target, format!("/bot{TOKEN}/getUpdates"));
        assert_eq!(received[0].json(), json!({"offset": 804112233, "timeout": 0, "limit": 100}));
        assert_eq!(received[1].json()["offset"], json!(804112241));
    }

    #[tokio::test]
    async fn a_first_poll_sends_no_offset_and_waits_as_configured() {
        let server = TestServer::start(vec![Canned::json(200, json!({"ok": true, "result": []}))]);
        let ctx = ctx(json!({"api_base_url": server.base_url, "long_poll_secs": "1"}));
        let result = poll(&http::client(), &ctx, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(result, PollResult { events: vec![], cursor: None });
        assert_eq!(server.received()[0].json(), json!({"timeout": 1, "limit": 100}));
        assert_eq!(long_poll_secs(&super::tests::ctx(json!({}))), DEFAULT_LONG_POLL_SECS);
    }

    #[tokio::test]
    async fn polling_a_bot_in_webhook_mode_explains_the_conflict() {
        let server = TestServer::start(vec![Canned::json(
            409,
            json!({"ok": false, "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}),
        )]);
        match poll(&http::client(), &server_ctx(&server), Some("1")).await {
            Err(ConnectorError::Rejected(reason)) => assert!(reason.contains("webhook mode"), "{reason}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn credentials_are_checked_with_get_me() {
        let server = TestServer::start(vec![
            Canned::json(
                200,
                json!({"ok": true, "result": {"id": 7000000001_u64, "is_bot": true, "first_name": "ACME", "username": "acme_support_bot"}}),
            ),
            Canned::json(200, json!({"ok": true, "result": {"id": 42, "is_bot": true, "first_name": "Other"}})),
            Canned::json(404, json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        ]);
        let client = http::client();
        let ctx = server_ctx(&server);
        assert_eq!(check_credentials(&client, &ctx).await, Ok(()));
        assert!(matches!(check_credentials(&client, &ctx).await, Err(ConnectorError::Misconfigured(_))));
        assert!(matches!(check_credentials(&client, &ctx).await, Err(ConnectorError::Unauthorized(_))));
        assert_eq!(server.received()[0].target, format!("/bot{TOKEN}/getMe"));
    }
}
