//! The normalised shapes every connector speaks.

use hark_domain::{ConversationKind, Network};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a connector knows about the channel it acts for.
#[derive(Debug, Clone)]
pub struct ChannelContext {
    pub network: Network,
    /// The account's id on the platform: X user id, Facebook Page id, Instagram
    /// account id, WhatsApp phone_number_id, Telegram bot id, VK group id.
    pub external_id: String,
    /// Decrypted credentials; the keys each network uses are listed in its module.
    pub credentials: Map<String, Value>,
    /// Channel settings: `api_base_url` (points a connector at the sandbox),
    /// monitoring keywords, and network-specific switches.
    pub settings: Value,
}

impl ChannelContext {
    /// A credential as text, or an error naming what is missing.
    pub fn credential(&self, key: &str) -> Result<&str, ConnectorError> {
        self.credentials
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConnectorError::Misconfigured(format!("the channel has no `{key}` credential")))
    }

    pub fn setting_str(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

/// One inbound HTTP request exactly as received: the signature is checked on `body`.
#[derive(Debug, Clone)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl RawRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An HTTP answer a connector wants sent back to the network.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl HttpReply {
    pub fn ok_text(body: impl Into<String>) -> Self {
        HttpReply { status: 200, content_type: "text/plain; charset=utf-8", body: body.into() }
    }

    pub fn ok_json(body: &Value) -> Self {
        HttpReply { status: 200, content_type: "application/json", body: body.to_string() }
    }

    pub fn empty_ok() -> Self {
        HttpReply { status: 200, content_type: "text/plain; charset=utf-8", body: String::new() }
    }
}

/// What a verified webhook request means.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// A handshake (X CRC, Meta hub.challenge, VK confirmation): answer, store nothing.
    Handshake(HttpReply),
    /// Events to store durably before answering with `reply`.
    Events { reply: HttpReply, events: Vec<InboundEvent> },
}

/// Why a webhook request was refused. Nothing is stored for it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature, secret or verify token: answer 401 (403 for handshakes).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Signed correctly but unreadable: answer 400.
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// One fact from a network, normalised. `dedup_key` is unique per channel:
/// the same fact delivered twice (redelivery, webhook and polling, echo) has
/// the same key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    pub dedup_key: String,
    pub occurred_at: Timestamp,
    pub kind: InboundKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundKind {
    /// A customer wrote (mention, reply, comment, DM, chat message).
    Message(InboundMessage),
    /// A message sent from the brand's account came back: by Hark (`by_hark`,
    /// matched through `platform_message_id`) or by someone using the network's
    /// own tools, which Hark imports so the thread stays complete.
    Echo(EchoMessage),
    /// Delivery news about a message Hark sent.
    Status { platform_message_id: String, status: DeliveryUpdate, error: Option<String> },
    /// The customer edited a message.
    Edited { platform_message_id: String, text: String },
    /// The customer (or a moderator) deleted a message.
    Deleted { platform_message_id: String },
    /// The customer allowed or refused private messages from the brand (VK, Telegram blocks).
    MessagingPermission { platform_user_id: String, allowed: bool },
    /// Understood and deliberately not turned into anything (likes, typing, reads).
    Ignored { what: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryUpdate {
    Sent,
    Delivered,
    Read,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub platform_user_id: String,
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Public (mention, comment) or private (DM).
    pub conversation_kind: ConversationKind,
    /// Unique per channel (Telegram: `chat_id:message_id`).
    pub platform_message_id: String,
    /// Groups the conversation: the root post for public threads (tweet
    /// conversation, Facebook/Instagram post or media, VK `owner_post`), the
    /// chat for private ones.
    pub thread_id: String,
    /// The message this one answers, when the network says.
    pub parent_id: Option<String>,
    pub author: Author,
    pub text: String,
    pub attachments: Vec<Value>,
    /// Whether it reached Hark through keyword/hashtag monitoring rather than
    /// being addressed to the brand.
    pub via_monitoring: bool,
    /// The language the network reports, if any.
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EchoMessage {
    pub platform_message_id: String,
    pub thread_id: String,
    pub recipient_platform_user_id: Option<String>,
    pub text: String,
    /// True when the network says Hark's own app sent it.
    pub by_hark: bool,
}

/// A reply to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Hark's message id: the idempotency key where the network has one.
    pub message_id: String,
    pub text: String,
    /// Where it goes: a public reply in the thread, or a private message.
    pub visibility: OutboundVisibility,
    pub conversation_kind: ConversationKind,
    /// The customer's id on the network.
    pub recipient_platform_user_id: String,
    /// The conversation's thread id (see [`InboundMessage::thread_id`]).
    pub thread_id: Option<String>,
    /// The latest customer message, which a public reply answers and a Meta
    /// private reply targets.
    pub reply_to_platform_message_id: Option<String>,
    /// When the customer last wrote (messaging windows).
    pub last_inbound_at: Option<Timestamp>,
    /// When the comment a private reply targets was written (Meta: 7 days).
    pub reply_to_created_at: Option<Timestamp>,
    /// Whether this thread already got its one Meta private reply.
    pub private_reply_already_sent: bool,
    /// A human agent wrote it (Meta HUMAN_AGENT tag, 7 days).
    pub by_person: bool,
    /// A pre-approved WhatsApp message template to send instead of free text
    /// (the only thing WhatsApp allows outside its 24-hour window).
    #[serde(default)]
    pub template: Option<MessageTemplate>,
    /// Files to send with the reply, at public addresses the network fetches
    /// them from (see [`crate::connector::check_attachments`] for where).
    #[serde(default)]
    pub attachments: Vec<OutboundAttachment>,
}

/// A file sent with a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundAttachment {
    /// Pictures are shown inline; anything else is sent as a document.
    pub image: bool,
    /// A public `https://` (or, in tests, `http://`) address of the bytes.
    pub url: String,
    pub name: String,
    pub content_type: String,
}

/// A WhatsApp message template and the values of its body parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub name: String,
    /// Like `en_GB`.
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundVisibility {
    Public,
    Private,
}

/// What registering Hark's webhook with a network did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration {
    /// What happened, for the admin and the audit log.
    pub detail: String,
    /// Credentials the network handed out that Hark must keep (VK's
    /// confirmation code changes when a callback server is added).
    pub credentials_update: Map<String, Value>,
}

/// A published message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub platform_message_id: String,
    /// The private conversation it opened, when it moved a public thread to private.
    pub private_thread_id: Option<String>,
}

/// What one poll of a network brought: the events, and the cursor to pass to
/// the next poll (`None` when the network gives none). The caller stores the
/// cursor only after the events are stored, so a crash re-polls rather than
/// loses events.
#[derive(Debug, Clone, PartialEq)]
pub struct PollResult {
    pub events: Vec<InboundEvent>,
    pub cursor: Option<String>,
}

/// Other things an agent can do on a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EngagementAction {
    Like { platform_message_id: String },
    Repost { platform_message_id: String },
    Hide { platform_message_id: String },
}

/// Why a send did not happen. The connector decides what is worth retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// Try again later (429, 5xx, timeout); `retry_after_secs` when the network says.
    #[error("temporarily unavailable: {reason}")]
    Retryable { reason: String, retry_after_secs: Option<u64> },
    /// The network refused for good; `reason` is its words, for the agent.
    #[error("{0}")]
    Rejected(String),
    /// The token expired or a permission was revoked: the channel is unhealthy until fixed.
    #[error("channel credentials rejected: {0}")]
    Unauthorized(String),
    /// Refused before calling the network: a messaging window or a length limit.
    #[error("{0}")]
    NotAllowed(Refusal),
    /// The channel lacks a setting or credential.
    #[error("channel misconfigured: {0}")]
    Misconfigured(String),
    /// The outcome is unknown (timeout after sending): reconcile before retrying.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

/// Why a network does not allow a reply or an action, said so that every
/// agent reads it in their own language: `key` names the interface's message
/// (`js-refusal-{key}` in its locales), `args` fill it, and `text` is the
/// English sentence, for logs, the API and any locale without the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub text: String,
}

/// Every refusal's key: the interface has a message for each (a test there
/// checks), and a refusal with any other key is a mistake caught in debug builds.
pub const REFUSAL_KEYS: &[&str] = &[
    "action-not-offered",
    "attachment-no-address",
    "cannot-act",
    "cannot-share",
    "empty",
    "facebook-comment-picture-only",
    "file-without-text",
    "instagram-cannot-like",
    "instagram-comment-text-only",
    "no-comment",
    "no-files-here",
    "no-post",
    "no-recipient",
    "no-webhook",
    "not-written-yet",
    "one-attachment",
    "private-conversation",
    "private-reply-text-only",
    "private-reply-too-old",
    "private-reply-used",
    "telegram-caption-too-long",
    "too-long",
    "too-long-bytes",
    "too-long-links",
    "too-long-x",
    "vk-cannot-hide",
    "vk-like-comments-only",
    "vk-too-long",
    "whatsapp-no-engagement",
    "whatsapp-not-written-yet",
    "whatsapp-window-closed",
    "window-24-hours-person",
    "window-7-days",
    "window-closed",
    "x-dm-private-only",
];

impl Refusal {
    pub fn new(key: &'static str, text: impl Into<String>) -> Refusal {
        debug_assert!(REFUSAL_KEYS.contains(&key), "refusal key {key} is not in REFUSAL_KEYS");
        Refusal { key, args: vec![], text: text.into() }
    }

    /// Adds an argument of the message (a network's name, a limit…).
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Refusal {
        self.args.push((name, value.to_string()));
        self
    }
}

/// A refusal met as a reply was going out, as the message's delivery note.
impl From<Refusal> for hark_domain::DeliveryNote {
    fn from(refusal: Refusal) -> Self {
        hark_domain::DeliveryNote::Refused {
            key: refusal.key.to_owned(),
            args: refusal.args.into_iter().map(|(name, value)| (name.to_owned(), value)).collect(),
            text: refusal.text,
        }
    }
}

/// The English sentence, so a refusal reads (and matches) as text.
impl std::ops::Deref for Refusal {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<Refusal> for String {
    fn from(refusal: Refusal) -> String {
        refusal.text
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The post a public thread hangs from (a tweet, a Page post, an Instagram
/// media, a VK wall post), as the network describes it: what the customers
/// are commenting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadPost {
    pub id: String,
    pub text: String,
    /// Who posted it, when the network says: `@handle`, a Page's or a person's name.
    pub author: Option<String>,
    pub posted_at: Option<Timestamp>,
    /// Where the post is seen on the network.
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hark_domain::DeliveryNote;

    /// A reply that failed on the channel's credentials or settings shows
    /// that, in the agent's language, only if these sentences stay the ones
    /// `DeliveryNote` reads.
    #[test]
    fn credential_and_settings_errors_read_as_delivery_notes() {
        let words = "Error validating access token".to_owned();
        assert_eq!(
            DeliveryNote::parse(&ConnectorError::Unauthorized(words.clone()).to_string()),
            DeliveryNote::CredentialsRejected { words: words.clone() }
        );
        assert_eq!(
            DeliveryNote::parse(&ConnectorError::Misconfigured(words.clone()).to_string()),
            DeliveryNote::Misconfigured { words: words.clone() }
        );
        assert_eq!(
            DeliveryNote::parse(&ConnectorError::Rejected(words.clone()).to_string()),
            DeliveryNote::Words(words)
        );
    }
}
