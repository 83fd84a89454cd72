//! The records Hark keeps. Ids are strings everywhere: Hark's own ids are
//! prefixed UUIDv7 (`conv_…`), and platform ids (which exceed 2^53 on X) are
//! kept exactly as the platform sent them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::*;

/// Free-form key/value data an admin defines (order number, plan, VIP flag…).
pub type CustomAttributes = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    /// IANA time zone used for business hours and reports unless a team overrides it.
    pub time_zone: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// UI language: en, ru, zh, el.
    pub locale: String,
    pub active: bool,
    /// Online, away or offline: whether assignment may give them work.
    pub availability: Availability,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: String,
    pub member_ids: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Label {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub description: String,
}

/// A connected account on a network. Credentials are never part of this
/// record: they are stored encrypted and only the connector decrypts them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: String,
    pub workspace_id: String,
    pub network: Network,
    pub name: String,
    /// The account's handle or page name as shown to agents (`@acme_help`).
    pub handle: String,
    /// The account's id on the platform (page id, bot id, user id).
    pub external_id: String,
    pub health: ChannelHealth,
    /// Why the channel is not healthy, in words an admin can act on.
    pub health_detail: String,
    /// Consecutive failures behind the current health (reset when it works again).
    pub failure_count: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub health_changed_at: Option<Timestamp>,
    pub enabled: bool,
    pub has_credentials: bool,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub workspace_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: String,
    #[schema(value_type = Object)]
    pub custom_attributes: CustomAttributes,
    /// Set when this contact was merged into another; the other one is the live record.
    pub merged_into_id: Option<String>,
    pub identities: Vec<Identity>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// One account of a contact on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    pub id: String,
    pub contact_id: String,
    pub network: Network,
    /// The platform's user id, kept as a string (X ids exceed 2^53).
    pub platform_user_id: String,
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub workspace_id: String,
    pub channel_id: String,
    pub contact_id: String,
    pub kind: ConversationKind,
    pub status: ConversationStatus,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    /// Label names, sorted.
    pub labels: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_attributes: CustomAttributes,
    /// The platform id of the thread root (the post commented on, the DM thread).
    pub platform_thread_id: Option<String>,
    pub subject: String,
    pub last_message_preview: String,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    pub timeline: ConversationTimeline,
    /// The other half of a public thread moved to private (or of the private
    /// conversation it was moved from).
    pub linked_conversation_id: Option<String>,
    /// Set when this conversation was merged into another one of the same
    /// customer; its messages now live there.
    pub merged_into_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Optimistic-concurrency counter: every change increments it.
    pub version: i64,
}

/// The instants the metric definitions in PRODUCT.md are computed from.
/// `conversation::Conversation` methods keep them consistent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversationTimeline {
    /// First inbound message of the current cycle (creation or latest reopening).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_inbound_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_inbound_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_outbound_at: Option<Timestamp>,
    /// First reply by a person in the current cycle.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_reply_at: Option<Timestamp>,
    /// Set while the last customer message is unanswered by a person: the start of the wait.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub awaiting_reply_since: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reopened_at: Option<Timestamp>,
    /// Start of the current pending/snoozed stretch, which resolution time excludes.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paused_since: Option<Timestamp>,
    /// Total milliseconds spent pending or snoozed in the current cycle.
    pub paused_ms: i64,
    /// Replies by a person in the current cycle.
    pub human_replies: i64,
    #[schema(value_type = String, format = DateTime)]
    pub last_activity_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub workspace_id: String,
    pub channel_id: String,
    pub direction: Direction,
    pub visibility: Visibility,
    pub author_kind: AuthorKind,
    pub author_user_id: Option<String>,
    pub author_contact_id: Option<String>,
    pub text: String,
    /// Attachment metadata (kind, url, name, size); the bytes stay on the platform.
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
    /// The platform's id for this message; unique per channel, so redeliveries are dropped.
    pub platform_message_id: Option<String>,
    /// The platform id this message replies to (threading).
    pub platform_parent_id: Option<String>,
    pub delivery_status: DeliveryStatus,
    /// Why the reply is not out yet or failed, as an English sentence (see
    /// `notes::DeliveryNote`). A network's rule that stopped it reads
    /// `refused (key; name=value; …): sentence`, with the key the composer's
    /// `not_allowed` answers carry.
    pub delivery_error: Option<String>,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    /// Personal data found in the text (card numbers, IBANs, phones, emails, order numbers).
    pub personal_data: Vec<PersonalDataSpan>,
    /// When the platform says it was written; for outbound, when Hark queued
    /// it to send (a trainee's reply: when it was approved). `recorded_at`
    /// keeps when it was first stored.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When Hark stored it.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// When the author last edited it on the network.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
    /// When the author deleted it on the network; the text is then redacted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

/// A piece of personal data in a message's text, as byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataSpan {
    /// `card_number`, `iban`, `phone`, `email` or `order_number`.
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Monotonic, as a string like every id.
    pub id: String,
    pub workspace_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `user`, `token` (an API token acting for its user) or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// What happened, as `subject.verb` (`conversation.assign`, `message.publish`).
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A state change other nodes and browsers learn about. Stored durably and
/// numbered so that subscribers resume from where they stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Monotonic, as a string like every id.
    pub id: String,
    pub workspace_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `conversation.updated`, `message.created`, …
    pub kind: String,
    pub subject_id: String,
    /// Shared: every follower and live subscriber reads each event, and the
    /// newest are handed to them from memory without copying the document.
    #[schema(value_type = Object)]
    pub payload: std::sync::Arc<serde_json::Value>,
}

/// The post a public thread hangs from, as read from its network once and
/// kept so agents see what the customers are commenting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootPost {
    pub channel_id: String,
    /// The conversation's `platform_thread_id`.
    pub post_id: String,
    pub text: String,
    /// `@handle`, or a Page's or person's name, when the network says.
    pub author: Option<String>,
    pub posted_at: Option<Timestamp>,
    /// Where the post is seen on the network.
    pub url: Option<String>,
    pub fetched_at: Timestamp,
}
