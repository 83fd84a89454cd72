//! What the store reads and writes besides the domain records themselves.

use hark_domain::*;
use jiff::Timestamp;

/// A user with the password hash, for login only.
#[derive(Debug, Clone)]
pub struct UserLogin {
    pub user: User,
    pub password_hash: String,
}

/// A browser session. `id` is the SHA-256 of the cookie's token, so a leaked
/// database does not leak live sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    /// Sent by the browser in `X-CSRF-Token` on every write.
    pub csrf_token: String,
    pub user_agent: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An API token. Only its SHA-256 is stored; the token is shown once.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A new line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub workspace_id: String,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub detail: serde_json::Value,
}

/// A new event for live subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub workspace_id: String,
    pub at: Timestamp,
    pub kind: String,
    pub subject_id: String,
    pub payload: serde_json::Value,
}

/// A side effect to perform after commit (publish a reply, call a webhook…).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxItem {
    pub workspace_id: String,
    pub kind: String,
    pub subject_id: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
}

/// A verified, normalised inbound event to store before acknowledging it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRawEvent {
    pub channel_id: String,
    /// The platform's key for this fact; a second event with the same key on
    /// the same channel is dropped.
    pub dedup_key: String,
    pub received_at: Timestamp,
    pub payload: serde_json::Value,
}

/// A stored inbound event claimed for ingestion.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub id: i64,
    pub channel_id: String,
    pub dedup_key: String,
    pub received_at: Timestamp,
    pub payload: serde_json::Value,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// An outbox item claimed for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub workspace_id: String,
    pub kind: String,
    pub subject_id: String,
    pub payload: serde_json::Value,
    /// Claims so far, this one included.
    pub attempts: i64,
    pub created_at: Timestamp,
}

/// One attempt to deliver an outbox item, kept for the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub outbox_id: i64,
    pub subject_id: String,
    pub at: Timestamp,
    /// `published`, `retry`, `failed`, `unknown`, `reconciled`.
    pub outcome: String,
    pub detail: String,
}

/// How many inbound events are waiting, done or given up on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawEventCounts {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
}

/// Business hours of the workspace (`team_id` None) or of a team. The
/// schedule itself is the domain's business-hours configuration, kept as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHoursRecord {
    pub id: String,
    pub workspace_id: String,
    pub team_id: Option<String>,
    pub name: String,
    pub config: serde_json::Value,
    pub updated_at: Timestamp,
}

/// A file an agent attached to a reply, with its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub id: String,
    pub workspace_id: String,
    /// Unguessable; part of the address the networks fetch the file from.
    pub token: String,
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

/// One change, applied inside [`crate::UnitOfWork::commit`]'s transaction.
#[derive(Debug, Clone)]
pub enum Write {
    InsertWorkspace(Workspace),
    InsertUser {
        user: User,
        password_hash: String,
    },
    /// Updates profile, role, locale and active flag.
    UpdateUser(User),
    SetPassword {
        user_id: String,
        password_hash: String,
    },
    InsertTeam(Team),
    /// Updates name, description and the member list.
    UpdateTeam(Team),
    DeleteTeam {
        id: String,
    },
    InsertLabel(Label),
    UpdateLabel(Label),
    DeleteLabel {
        id: String,
    },
    /// `credentials` are already sealed by the caller.
    InsertChannel {
        channel: Channel,
        credentials: Option<Vec<u8>>,
    },
    /// Leaves the credentials as they are unless `credentials` is `Some`.
    UpdateChannel {
        channel: Channel,
        credentials: Option<Vec<u8>>,
    },
    /// Inserts the contact and its identities.
    InsertContact(Contact),
    /// Updates the profile fields (not identities).
    UpdateContact(Contact),
    InsertIdentity(Identity),
    /// Moves identities and conversations of `from_id` to `into_id` and marks
    /// `from_id` as merged.
    MergeContacts {
        into_id: String,
        from_id: String,
        at: Timestamp,
    },
    /// Inserts the conversation and its labels (by name).
    InsertConversation(Conversation),
    /// Writes every field of the conversation, if its stored version is
    /// `expected_version`; the stored version becomes `conversation.version`.
    UpdateConversation {
        conversation: Conversation,
        expected_version: i64,
    },
    SetConversationLabels {
        conversation_id: String,
        label_ids: Vec<String>,
    },
    /// Fails with `Duplicate` if the channel already has this platform message id.
    InsertMessage(Message),
    UpdateMessageDelivery {
        message_id: String,
        status: DeliveryStatus,
        error: Option<String>,
    },
    /// An approved reply is queued for sending: its `created_at` becomes the
    /// approval instant, since the customer gets it from then on and the
    /// metrics count it from then. Fails with `NotFound` unless it was
    /// awaiting approval.
    QueueApprovedMessage {
        message_id: String,
        at: Timestamp,
    },
    InsertSession(SessionRecord),
    DeleteSession {
        id: String,
    },
    DeleteExpiredSessions {
        now: Timestamp,
    },
    InsertApiToken(ApiTokenRecord),
    RevokeApiToken {
        id: String,
        user_id: String,
        at: Timestamp,
    },
    TouchApiToken {
        id: String,
        at: Timestamp,
    },
    /// The author edited the message on the network.
    EditMessage {
        message_id: String,
        text: String,
        at: Timestamp,
    },
    /// The author deleted the message: its text and attachments are redacted.
    RedactMessage {
        message_id: String,
        at: Timestamp,
    },
    /// Records where a published message lives on the network.
    SetMessagePlatformId {
        message_id: String,
        platform_message_id: String,
    },
    UpdateChannelHealth {
        channel_id: String,
        health: ChannelHealth,
        detail: String,
        failure_count: i64,
        at: Timestamp,
    },
    /// The raw event was ingested (or deliberately ignored).
    FinishRawEvent {
        id: i64,
        at: Timestamp,
    },
    /// Ingestion failed: try again after `retry_at`, or give up when `None`.
    FailRawEvent {
        id: i64,
        error: String,
        retry_at: Option<Timestamp>,
    },
    /// Forgets inbound events ingested before `done_before`. Their dedup keys
    /// must outlive every network's redelivery (WhatsApp: 7 days), so callers
    /// keep them for longer than that.
    PurgeRawEvents {
        done_before: Timestamp,
    },
    FinishOutbox {
        id: i64,
        at: Timestamp,
    },
    RescheduleOutbox {
        id: i64,
        due_at: Timestamp,
        error: String,
    },
    RecordDeliveryAttempt(DeliveryAttempt),
    SetPollCursor {
        channel_id: String,
        source: String,
        cursor: String,
        at: Timestamp,
    },
    SetUserAvailability {
        user_id: String,
        availability: Availability,
        at: Timestamp,
    },
    /// Moves every message of `from_id` into `into_id` (merging two conversations).
    MoveMessages {
        from_id: String,
        into_id: String,
    },
    InsertSnippet(Snippet),
    UpdateSnippet(Snippet),
    DeleteSnippet {
        id: String,
    },
    InsertSavedView(SavedView),
    UpdateSavedView(SavedView),
    DeleteSavedView {
        id: String,
    },
    InsertNotification(Notification),
    /// Marks the user's notifications read: the listed ones, or all when `ids` is `None`.
    MarkNotificationsRead {
        user_id: String,
        ids: Option<Vec<String>>,
        at: Timestamp,
    },
    /// Records that a person is viewing or typing in a conversation until `expires_at`.
    PutPresence {
        conversation_id: String,
        user_id: String,
        state: PresenceState,
        at: Timestamp,
        expires_at: Timestamp,
    },
    DeletePresence {
        conversation_id: String,
        user_id: String,
    },
    DeleteExpiredPresence {
        now: Timestamp,
    },
    InsertAttributeDefinition(AttributeDefinition),
    UpdateAttributeDefinition(AttributeDefinition),
    DeleteAttributeDefinition {
        id: String,
    },
    /// Inserts or replaces by id.
    PutBusinessHours(BusinessHoursRecord),
    DeleteBusinessHours {
        id: String,
    },
    /// Moves a follower of the events table forward. Fails with `Conflict`
    /// (so nothing of the transaction is kept) unless `holder` still holds it
    /// and it is behind `position`.
    AdvanceFollower {
        name: String,
        holder: String,
        position: i64,
        at: Timestamp,
    },
    InsertUpload(UploadRecord),
    /// Inserts or replaces the post a public thread hangs from.
    PutThreadPost(RootPost),
    Audit(NewAuditEntry),
    Event(NewEvent),
    Outbox(NewOutboxItem),
    /// Service levels and reports (levels.rs).
    Levels(crate::LevelsWrite),
    /// Rules, assignment, publish policies and corrections (automation.rs).
    Automation(crate::AutomationWrite),
}

/// What a commit produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// Ids given to the events written, in order.
    pub event_ids: Vec<i64>,
    /// The events written, with their ids, until the commit hands them to
    /// the backend's memory of the newest (see `recent_events`); empty after.
    pub(crate) events: Vec<(i64, hark_domain::Event)>,
}
