//! Public data types of the sandbox: networks, accounts, customer actions and
//! the records tests assert on. All are serde (snake_case) for the admin API.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimNetwork {
    X,
    Facebook,
    Instagram,
    Whatsapp,
    Telegram,
    Vk,
}

impl SimNetwork {
    pub const ALL: [SimNetwork; 6] = [
        SimNetwork::X,
        SimNetwork::Facebook,
        SimNetwork::Instagram,
        SimNetwork::Whatsapp,
        SimNetwork::Telegram,
        SimNetwork::Vk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimNetwork::X => "x",
            SimNetwork::Facebook => "facebook",
            SimNetwork::Instagram => "instagram",
            SimNetwork::Whatsapp => "whatsapp",
            SimNetwork::Telegram => "telegram",
            SimNetwork::Vk => "vk",
        }
    }

    /// Path prefix of the server that reproduces this network's API.
    pub fn api_prefix(self) -> &'static str {
        match self {
            SimNetwork::X => "/x",
            SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => "/meta",
            SimNetwork::Telegram => "/telegram",
            SimNetwork::Vk => "/vk",
        }
    }

    pub(crate) fn is_meta(self) -> bool {
        matches!(self, SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp)
    }
}

impl fmt::Display for SimNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimNetwork {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimNetwork::ALL
            .into_iter()
            .find(|n| n.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| SandboxError::InvalidAction(format!("unknown network {s:?}")))
    }
}

/// The brand's account on a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub network: SimNetwork,
    /// X user id, Page id, IG account id, WhatsApp phone_number_id, Telegram bot
    /// id, VK group id.
    pub external_id: String,
    pub handle: String,
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub credentials: serde_json::Map<String, serde_json::Value>,
}

impl Account {
    pub(crate) fn credential(&self, key: &str) -> Option<&str> {
        self.credentials.get(key).and_then(serde_json::Value::as_str).filter(|v| !v.is_empty())
    }
    pub(crate) fn credential_or_empty(&self, key: &str) -> String {
        self.credential(key).unwrap_or_default().to_string()
    }
}

/// A simulated person on a network. `id` is the network's id for them: X user
/// id, PSID, IGSID, WhatsApp phone number (wa_id), Telegram user id, VK user id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub handle: String,
    pub name: String,
}

impl Customer {
    pub fn new(id: impl Into<String>, handle: impl Into<String>, name: impl Into<String>) -> Self {
        Customer { id: id.into(), handle: handle.into(), name: name.into() }
    }
}

/// Something a simulated customer does. `account` is the brand account's
/// `external_id`; when absent, the first account of that network is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerAction {
    /// A new tweet that starts with `@brand`.
    XMention {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
    },
    /// A reply to tweet `in_reply_to` (by the brand or anyone).
    XReply {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        in_reply_to: String,
        text: String,
    },
    XDirectMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
    },
    /// A comment on a Page post (the page's latest post when `post_id` is
    /// absent), or a reply to `parent_comment_id`.
    FacebookComment {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        #[serde(default)]
        post_id: Option<String>,
        #[serde(default)]
        parent_comment_id: Option<String>,
        text: String,
    },
    FacebookVisitorPost {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
    },
    MessengerMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
        #[serde(default)]
        reply_to_mid: Option<String>,
    },
    InstagramComment {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        #[serde(default)]
        media_id: Option<String>,
        #[serde(default)]
        parent_comment_id: Option<String>,
        text: String,
    },
    InstagramMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
    },
    /// The customer @mentions the brand's IG account in the caption of their
    /// own media (`in_comment` false) or in a comment on some media (true).
    /// Meta sends a `mentions` change; Hark fetches the content through the
    /// `mentioned_media` / `mentioned_comment` fields of the IG user node.
    InstagramMention {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
        #[serde(default)]
        in_comment: bool,
    },
    /// `customer.id` is the phone number (wa_id). With `hide_phone` the user
    /// has adopted a username: `wa_id`/`from` are empty and only the BSUID is sent.
    WhatsappMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
        #[serde(default)]
        bsuid: Option<String>,
        #[serde(default)]
        hide_phone: bool,
        #[serde(default)]
        context_message_id: Option<String>,
        /// Send an image (with `text` as caption) instead of a text message.
        #[serde(default)]
        with_image: bool,
    },
    TelegramPrivateMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
        #[serde(default)]
        reply_to_message_id: Option<i64>,
    },
    TelegramGroupMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        #[serde(default)]
        chat_id: Option<i64>,
        #[serde(default)]
        chat_title: Option<String>,
        text: String,
        #[serde(default)]
        reply_to_message_id: Option<i64>,
    },
    /// The user blocks the bot (a `my_chat_member` update with status `kicked`).
    TelegramBlockBot {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
    },
    VkMessage {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        text: String,
    },
    /// `message_allow` (allowed = true) or `message_deny`.
    VkMessagePermission {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        allowed: bool,
    },
    VkWallComment {
        #[serde(default)]
        account: Option<String>,
        customer: Customer,
        #[serde(default)]
        post_id: Option<i64>,
        #[serde(default)]
        reply_to_comment: Option<i64>,
        text: String,
    },
    /// Edit an item created earlier by a customer action (`item_id` as in its
    /// ActionReport).
    Edit {
        network: SimNetwork,
        item_id: String,
        text: String,
    },
    Delete {
        network: SimNetwork,
        item_id: String,
    },
}

/// What an action created and which webhook events it produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionReport {
    pub network: Option<SimNetwork>,
    pub account_id: String,
    /// Main platform id of the created/changed item (tweet id, comment id, mid,
    /// wamid, `chat_id:message_id` for Telegram, VK message or comment id).
    pub item_id: String,
    /// Further ids worth knowing (post id, conversation id, media id, …).
    pub related_ids: Vec<String>,
    /// Platform dedup keys of the events queued for delivery.
    pub event_keys: Vec<String>,
    /// Why nothing was delivered, when the network sends nothing.
    pub note: Option<String>,
}

/// One API call Hark made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    pub network: SimNetwork,
    pub method: String,
    /// Path with tokens redacted.
    pub path: String,
    pub query: String,
    pub body: String,
    pub status: u16,
    pub at: Timestamp,
    /// Injected fault applied to this call, if any.
    pub fault: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishedKind {
    Post,
    Reply,
    Comment,
    DirectMessage,
    PrivateReply,
    Template,
    Reaction,
    Like,
    Repost,
    Hide,
    Unhide,
    Delete,
}

/// Something Hark created or changed on a network, after the network's own
/// de-duplication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedItem {
    pub network: SimNetwork,
    pub account_id: String,
    pub kind: PublishedKind,
    /// Platform id of the created item (or of the target for likes/hides/deletes).
    pub id: String,
    pub in_reply_to: Option<String>,
    pub recipient: Option<String>,
    pub text: String,
    pub at: Timestamp,
}

/// One webhook attempt (a batched Meta POST yields one record per event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub network: SimNetwork,
    pub account_id: String,
    pub event_key: String,
    /// 1 for the first attempt; retries and injected duplicates count up.
    pub attempt: u32,
    pub url: String,
    /// HTTP status Hark answered (None: timeout, connection error, or not sent).
    pub status: Option<u16>,
    pub acknowledged: bool,
    pub duplicate: bool,
    pub batch_size: usize,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// A verification exchange with Hark's endpoint (X CRC, Meta hub.challenge,
/// VK confirmation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRecord {
    pub network: SimNetwork,
    pub account_id: String,
    pub kind: String,
    pub url: String,
    pub ok: bool,
    pub detail: String,
    pub at: Timestamp,
}

/// A webhook subscription or registration Hark made through a network's API:
/// Meta app subscriptions (`object` page, instagram or
/// whatsapp_business_account, `account_id` = app id) and `subscribed_apps`
/// (`account_id` = page, IG user or WABA id, no `callback_url`), X webhook
/// registrations (`x_webhook`, `account_id` = webhook id) and subscriptions
/// (`x_subscription`, `account_id` = user id, `callback_url` = the webhook's
/// URL), Telegram `setWebhook` (`telegram_webhook`, `fields` =
/// allowed_updates) and VK `groups.addCallbackServer` (`vk_callback_server`).
/// Only what the network accepted is recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub network: SimNetwork,
    pub account_id: String,
    pub object: String,
    pub callback_url: Option<String>,
    pub fields: Vec<String>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxError {
    #[error("no {network} account {id:?}")]
    UnknownAccount { network: SimNetwork, id: String },
    #[error("no {0} account registered")]
    NoAccount(SimNetwork),
    #[error("no accounts registered")]
    NoAccounts,
    #[error("unknown item {0:?}")]
    UnknownItem(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    InvalidAction(String),
}
