//! Where Hark keeps its state. One set of repository traits, implemented
//! twice: [`sqlite::SqliteStore`] (the embedded default) and
//! [`postgres::PgStore`] (several app nodes on one database).
//!
//! Reads go through the repository traits. Every change goes through
//! [`UnitOfWork::commit`] as a list of [`Write`]s applied in one transaction,
//! so a state change, its audit entry, its event and its outbox rows are
//! durable together or not at all. Deciding *what* to write is the `app`
//! crate's job; this crate only persists it.

pub mod automation;
mod channel_cache;
mod done_marks;
mod error;
mod filters;
mod levels;
mod recent_events;
mod records;
mod rows;
mod shared;
mod time;

pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use automation::{Automation, AutomationWrite, NewRuleWatch, RuleWatch};
pub use error::{StoreError, StoreResult};
pub use filters::{AssigneeFilter, ConversationFilter, ConversationSort, Cursor, Page, SlaFilter};
pub use levels::*;
pub use records::*;

use async_trait::async_trait;
use hark_domain::*;
use tokio::sync::watch;

/// Users, teams, labels and workspaces.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn workspace(&self, id: &str) -> StoreResult<Option<Workspace>>;
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    /// Looks a user up by email (case-insensitive), with the password hash for login.
    async fn user_login(&self, email: &str) -> StoreResult<Option<UserLogin>>;
    async fn users(&self, workspace_id: &str) -> StoreResult<Vec<User>>;
    async fn team(&self, id: &str) -> StoreResult<Option<Team>>;
    async fn teams(&self, workspace_id: &str) -> StoreResult<Vec<Team>>;
    async fn label(&self, id: &str) -> StoreResult<Option<Label>>;
    async fn labels(&self, workspace_id: &str) -> StoreResult<Vec<Label>>;
}

/// Sessions and API tokens.
#[async_trait]
pub trait Access: Send + Sync {
    async fn session(&self, id: &str) -> StoreResult<Option<SessionRecord>>;
    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiTokenRecord>>;
    async fn api_tokens(&self, user_id: &str) -> StoreResult<Vec<ApiTokenRecord>>;
}

/// Connected accounts on the networks.
#[async_trait]
pub trait Channels: Send + Sync {
    async fn channel(&self, id: &str) -> StoreResult<Option<Channel>>;
    async fn channels(&self, workspace_id: &str) -> StoreResult<Vec<Channel>>;
    /// The sealed (encrypted) credentials of a channel, if it has any.
    async fn channel_credentials(&self, id: &str) -> StoreResult<Option<Vec<u8>>>;
}

/// Customers and their accounts on the networks.
#[async_trait]
pub trait Contacts: Send + Sync {
    async fn contact(&self, id: &str) -> StoreResult<Option<Contact>>;
    /// Contacts not merged into another, newest first; `query` matches name, email,
    /// phone or any identity's handle.
    async fn contacts(&self, workspace_id: &str, query: Option<&str>, page: &Page) -> StoreResult<Vec<Contact>>;
    async fn identity(
        &self,
        workspace_id: &str,
        network: Network,
        platform_user_id: &str,
    ) -> StoreResult<Option<Identity>>;
    /// The contacts with these ids (in no particular order; missing ones are left out).
    async fn contacts_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Contact>>;
    /// The identities of these accounts on one network, each with the
    /// contact its contact was merged into, if it was (ingestion reads a
    /// batch's authors at once).
    async fn identities_of_accounts(
        &self,
        workspace_id: &str,
        network: Network,
        platform_user_ids: &[String],
    ) -> StoreResult<Vec<(Identity, Option<String>)>>;
}

/// Conversations and their messages.
#[async_trait]
pub trait Conversations: Send + Sync {
    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>>;
    /// Those of these conversations that exist, in no particular order.
    async fn conversations_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Conversation>>;
    /// Every message of these conversations, each conversation's oldest first.
    async fn messages_of_conversations(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>>;
    /// Snoozed conversations whose snooze ended at or before `now`, in any
    /// workspace, the longest overdue first.
    async fn snoozes_ended(&self, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<Conversation>>;
    /// Most recently active first; the page cursor is a [`Cursor`].
    async fn conversations(&self, filter: &ConversationFilter, page: &Page) -> StoreResult<Vec<Conversation>>;
    /// How many conversations match, counting no further than `cap` (so a
    /// badge costs the same on a small inbox and a huge one).
    async fn count_conversations(&self, filter: &ConversationFilter, cap: u32) -> StoreResult<i64>;
    /// Every workspace's messages with an id above `after`, by id (for
    /// rebuilding the search index in bulk).
    async fn messages_after_id(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<Message>>;
    /// The conversations new inbound items of these customers on this channel
    /// may join: every conversation of that kind of these contacts (and, for
    /// public ones, in these threads), merged ones included, most recently
    /// active first, so the first of each customer (and thread) is the one
    /// its next item joins.
    async fn conversations_for_many(
        &self,
        channel_id: &str,
        kind: ConversationKind,
        contact_ids: &[String],
        platform_thread_ids: Option<&[String]>,
    ) -> StoreResult<Vec<Conversation>>;
    /// The newest `limit` messages of a conversation, oldest first.
    async fn recent_messages(&self, conversation_id: &str, limit: u32) -> StoreResult<Vec<Message>>;
    /// Oldest first; the page cursor is a [`Cursor`].
    async fn messages(&self, conversation_id: &str, page: &Page) -> StoreResult<Vec<Message>>;
    async fn message(&self, id: &str) -> StoreResult<Option<Message>>;
    async fn message_by_platform_id(&self, channel_id: &str, platform_message_id: &str)
    -> StoreResult<Option<Message>>;
    /// Which of these platform ids the channel already has: (platform id, message id).
    async fn known_platform_ids(
        &self,
        channel_id: &str,
        platform_message_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>>;
    /// Inbound messages stored, and how many distinct (channel, platform id)
    /// they carry (equal unless something was stored twice).
    async fn inbound_message_counts(&self) -> StoreResult<(i64, i64)>;
    /// The newest message the customer wrote in a conversation.
    async fn latest_inbound_message(&self, conversation_id: &str) -> StoreResult<Option<Message>>;
    /// Outbound replies on a channel that do not yet know their platform id,
    /// newest first (to recognise echoes of Hark's own sends).
    async fn unmatched_outbound(&self, channel_id: &str, limit: u32) -> StoreResult<Vec<Message>>;
}

/// What the team shares while working: snippets, saved views,
/// notifications, presence, custom attribute definitions and business hours.
#[async_trait]
pub trait Collaboration: Send + Sync {
    async fn snippets(&self, workspace_id: &str) -> StoreResult<Vec<Snippet>>;
    async fn snippet(&self, id: &str) -> StoreResult<Option<Snippet>>;
    /// The user's own views and those shared with the workspace.
    async fn saved_views(&self, workspace_id: &str, user_id: &str) -> StoreResult<Vec<SavedView>>;
    async fn saved_view(&self, id: &str) -> StoreResult<Option<SavedView>>;
    /// Newest first; the page cursor is a notification id.
    async fn notifications(&self, user_id: &str, unread_only: bool, page: &Page) -> StoreResult<Vec<Notification>>;
    async fn unread_notification_count(&self, user_id: &str) -> StoreResult<i64>;
    /// Who is viewing or typing in the conversation, as of `now`.
    async fn presence(&self, conversation_id: &str, now: jiff::Timestamp) -> StoreResult<Vec<Presence>>;
    async fn attribute_definitions(&self, workspace_id: &str) -> StoreResult<Vec<AttributeDefinition>>;
    async fn business_hours(&self, workspace_id: &str) -> StoreResult<Vec<BusinessHoursRecord>>;
    /// A file attached to a reply, with its bytes.
    async fn upload(&self, id: &str) -> StoreResult<Option<UploadRecord>>;
    /// The post a public thread hangs from, when it was read from the network.
    async fn thread_post(&self, channel_id: &str, post_id: &str) -> StoreResult<Option<RootPost>>;
}

/// The audit log and the event stream.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Newest first; the page cursor is an audit id.
    async fn audit_log(&self, workspace_id: &str, page: &Page) -> StoreResult<Vec<AuditEntry>>;
    /// Events with an id above `after`, oldest first.
    async fn events_after(&self, workspace_id: &str, after: i64, limit: u32) -> StoreResult<Vec<Event>>;
    /// Events of every workspace with an id above `after`, oldest first (for
    /// followers such as the search index).
    async fn events_since(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>>;
    async fn last_event_id(&self) -> StoreResult<i64>;
    /// The highest event id this node knows is committed. It moves when this node
    /// commits events and, on PostgreSQL, when any node does (LISTEN/NOTIFY wakes it,
    /// and a periodic read catches anything a lost notification missed).
    fn event_head(&self) -> watch::Receiver<i64>;
}

/// Durable queues: inbound events waiting for ingestion, outbox items
/// waiting for delivery, and pollers' cursors. Claims take a lease so that a
/// node that dies mid-work hands its items on when the lease runs out.
#[async_trait]
pub trait Queues: Send + Sync {
    /// Stores events in one transaction, skipping any whose (channel, dedup
    /// key) is already stored. Returns, per event, whether it was new.
    async fn append_raw_events(&self, events: Vec<NewRawEvent>) -> StoreResult<Vec<bool>>;
    /// Pending events, oldest first, leased until `now + lease_ms`.
    async fn claim_raw_events(&self, now: jiff::Timestamp, lease_ms: i64, limit: u32) -> StoreResult<Vec<RawEvent>>;
    async fn raw_event_counts(&self) -> StoreResult<RawEventCounts>;
    /// Due outbox items of `kind`, oldest first, leased until `now + lease_ms`.
    async fn claim_outbox(
        &self,
        kind: &str,
        now: jiff::Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<OutboxItem>>;
    /// Outbox items of `kind` not yet done (for tests and health pages).
    async fn open_outbox_count(&self, kind: &str) -> StoreResult<i64>;
    async fn delivery_attempts(&self, subject_id: &str) -> StoreResult<Vec<DeliveryAttempt>>;
    async fn poll_cursor(&self, channel_id: &str, source: &str) -> StoreResult<Option<String>>;
    /// Takes (or renews) the lease on the follower `name` for `holder` until
    /// `now + lease_ms`, creating it at position `start` if new. Returns its
    /// position, or `None` while another holder's lease runs.
    async fn claim_follower(
        &self,
        name: &str,
        holder: &str,
        now: jiff::Timestamp,
        lease_ms: i64,
        start: i64,
    ) -> StoreResult<Option<i64>>;
}

/// Atomic writes.
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Applies every write in one transaction. On any error nothing is written.
    async fn commit(&self, writes: Vec<Write>) -> StoreResult<Committed>;
    /// Whether the database answers (for `/healthz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// Everything Hark needs from its database.
#[async_trait]
pub trait Store:
    Directory
    + Access
    + Channels
    + Contacts
    + Conversations
    + Collaboration
    + Journal
    + Queues
    + UnitOfWork
    + ServiceLevels
    + Automation
{
    /// `sqlite` or `postgres`, for logs and `/healthz`.
    fn backend(&self) -> &'static str;

    /// Periodic upkeep of the database itself: fresh query planner statistics.
    async fn maintain(&self) -> StoreResult<()> {
        Ok(())
    }
}
