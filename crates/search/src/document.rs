//! What the index knows about a message, and the errors it reports.

use serde::{Deserialize, Serialize};

/// Who can see a message: public threads, private messages, internal notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Private,
    Note,
}

/// Whether the customer wrote it or the team did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Visibility {
    /// The stored name, the same word the database and API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Note => "note",
        }
    }
}

impl Direction {
    /// The stored name, the same word the database and API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// One message as the index sees it. Ids are the database's ids, as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDoc {
    pub message_id: String,
    pub conversation_id: String,
    /// Every search is confined to one workspace.
    pub workspace_id: String,
    pub channel_id: String,
    /// The network's name (`x`, `facebook`, `telegram`, …).
    pub network: String,
    pub visibility: Visibility,
    pub direction: Direction,
    /// The contact id for customers' messages, the user id for the team's.
    pub author: String,
    /// Detected language (`en`, `ru`, `zh`, …), if known.
    pub language: Option<String>,
    /// When it was written, in milliseconds since the Unix epoch.
    pub created_at: i64,
    pub text: String,
}

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index on disk or in memory refused the operation.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A directory could not be opened, created or cleared.
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    /// The feed that keeps the index up to date failed.
    #[error("search feed: {0}")]
    Feed(String),
    /// A blocking task was cancelled or panicked.
    #[error("search task: {0}")]
    Task(String),
}
