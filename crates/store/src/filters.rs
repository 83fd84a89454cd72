//! Filters and pagination for list reads.

use hark_domain::*;

use crate::StoreError;

/// Keyset pagination: `after` is the cursor returned with the previous page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub after: Option<String>,
    pub limit: u32,
}

impl Page {
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        Page { after: None, limit }
    }

    /// The limit clamped to 1..=MAX_LIMIT, plus one so the caller can tell
    /// whether another page exists.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, Self::MAX_LIMIT)) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    User(String),
}

/// Which conversations an inbox view shows. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationFilter {
    pub workspace_id: String,
    pub statuses: Vec<ConversationStatus>,
    pub kind: Option<ConversationKind>,
    pub channel_id: Option<String>,
    pub network: Option<Network>,
    pub assignee: Option<AssigneeFilter>,
    pub team_id: Option<String>,
    /// A label name.
    pub label: Option<String>,
    pub contact_id: Option<String>,
    /// The platform id of the thread root.
    pub platform_thread_id: Option<String>,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    pub priority: Option<Priority>,
    /// Only conversations whose last customer message is unanswered.
    pub needs_reply: bool,
    /// Only these conversations (e.g. the hits of a full-text search).
    pub ids: Option<Vec<String>>,
    /// Only conversations last active at or after this instant.
    pub active_since: Option<jiff::Timestamp>,
    /// Only conversations last active before this instant.
    pub active_until: Option<jiff::Timestamp>,
    /// Conversations merged into another are hidden unless asked for.
    pub include_merged: bool,
    /// Only conversations at risk of, or past, an SLA target.
    pub sla: Option<SlaFilter>,
    pub sort: ConversationSort,
}

/// Conversations by where they stand against their SLA policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// A running target is past its warning at `now`, none breached yet.
    AtRisk { now: jiff::Timestamp },
    /// A target of the current cycle is breached.
    Breached,
}

/// The order of a conversation list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConversationSort {
    /// Most recently active first.
    #[default]
    Activity,
    /// Longest-waiting customer first; conversations not waiting come last.
    Waiting,
}

/// A position in a list ordered by (instant, id): conversations by last
/// activity, messages by creation. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub ms: i64,
    pub id: String,
}

impl Cursor {
    pub fn of_conversation(conversation: &Conversation) -> Self {
        Cursor { ms: conversation.timeline.last_activity_at.as_millisecond(), id: conversation.id.clone() }
    }

    /// The cursor of a conversation in a list in `sort` order.
    pub fn of_conversation_in(conversation: &Conversation, sort: ConversationSort) -> Self {
        match sort {
            ConversationSort::Activity => Self::of_conversation(conversation),
            ConversationSort::Waiting => Cursor {
                ms: conversation.timeline.awaiting_reply_since.map_or(i64::MAX, |t| t.as_millisecond()),
                id: conversation.id.clone(),
            },
        }
    }

    pub fn of_message(message: &Message) -> Self {
        Cursor { ms: message.created_at.as_millisecond(), id: message.id.clone() }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.ms, self.id)
    }

    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let (ms, id) = text.split_once('.').ok_or_else(|| StoreError::BadCursor(text.to_owned()))?;
        let ms = ms.parse().map_err(|_| StoreError::BadCursor(text.to_owned()))?;
        if id.is_empty() {
            return Err(StoreError::BadCursor(text.to_owned()));
        }
        Ok(Cursor { ms, id: id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor { ms: 1_700_000_000_123, id: "conv_abc".into() };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        assert!(Cursor::decode("nonsense").is_err());
        assert!(Cursor::decode("12.").is_err());
        assert!(Cursor::decode("x.conv").is_err());
    }
}
