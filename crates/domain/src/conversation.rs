//! How a conversation's status and timeline move as messages arrive and
//! people act. The metric definitions in PRODUCT.md are computed from the
//! timeline these methods maintain, so SLA and reports read the same instants.

use jiff::Timestamp;

use crate::InvalidValue;
use crate::enums::ConversationStatus;
use crate::model::Conversation;

impl Conversation {
    /// A customer wrote. Reopens a resolved conversation (starting a new cycle
    /// for first-response and resolution time) and wakes a pending or snoozed one.
    pub fn record_inbound(&mut self, at: Timestamp) {
        match self.status {
            ConversationStatus::Resolved => self.start_new_cycle(at),
            ConversationStatus::Pending | ConversationStatus::Snoozed => {
                self.end_pause(at);
                self.status = ConversationStatus::Open;
                self.snoozed_until = None;
            }
            ConversationStatus::Open => {}
        }
        let t = &mut self.timeline;
        t.first_inbound_at.get_or_insert(at);
        t.last_inbound_at = Some(max(t.last_inbound_at, at));
        t.awaiting_reply_since.get_or_insert(at);
        t.last_activity_at = t.last_activity_at.max(at);
    }

    /// The team sent something out. Only replies by a person count as responses;
    /// automatic replies and bots do not stop the first-response clock. A
    /// message sent before the customer's first message, or after resolution,
    /// belongs to no cycle and counts towards no metric (it does not reopen).
    pub fn record_outbound(&mut self, at: Timestamp, by_person: bool) {
        let in_cycle = self.timeline.first_inbound_at.is_some() && self.status != ConversationStatus::Resolved;
        let t = &mut self.timeline;
        t.last_outbound_at = Some(max(t.last_outbound_at, at));
        t.last_activity_at = t.last_activity_at.max(at);
        if by_person && in_cycle {
            if t.first_reply_at.is_none() {
                t.first_reply_at = Some(at);
            }
            t.human_replies += 1;
            t.awaiting_reply_since = None;
        }
    }

    /// An agent or rule changes the status. `snooze_until` is required for, and
    /// only allowed with, `snoozed`.
    pub fn change_status(
        &mut self,
        to: ConversationStatus,
        at: Timestamp,
        snooze_until: Option<Timestamp>,
    ) -> Result<(), InvalidValue> {
        match (to, snooze_until) {
            (ConversationStatus::Snoozed, None) => {
                return Err(InvalidValue::new("snoozed_until", "snoozing needs a time to wake up"));
            }
            (ConversationStatus::Snoozed, Some(until)) if until <= at => {
                return Err(InvalidValue::new("snoozed_until", "must be in the future"));
            }
            (ConversationStatus::Snoozed, Some(_)) => {}
            (_, Some(_)) => {
                return Err(InvalidValue::new("snoozed_until", "only allowed when status is snoozed"));
            }
            (_, None) => {}
        }
        let from = self.status;
        if from == to && to != ConversationStatus::Snoozed {
            return Ok(());
        }
        if from == ConversationStatus::Resolved {
            self.start_new_cycle(at);
        }
        if is_paused(from) && !is_paused(to) {
            self.end_pause(at);
        }
        if is_paused(to) && self.timeline.paused_since.is_none() {
            self.timeline.paused_since = Some(at);
        }
        if to == ConversationStatus::Resolved {
            self.timeline.resolved_at = Some(at);
            self.timeline.awaiting_reply_since = None;
        }
        self.status = to;
        self.snoozed_until = snooze_until;
        self.timeline.last_activity_at = self.timeline.last_activity_at.max(at);
        Ok(())
    }

    /// Resolution time as PRODUCT.md defines it: from the first inbound message
    /// of the cycle to resolution, less the time spent pending or snoozed.
    pub fn resolution_ms(&self) -> Option<i64> {
        let t = &self.timeline;
        let (start, end) = (t.first_inbound_at?, t.resolved_at?);
        let total = end.as_millisecond() - start.as_millisecond();
        Some((total - t.paused_ms).max(0))
    }

    /// First response time: first inbound (or reopening) to the first reply by a person.
    pub fn first_response_ms(&self) -> Option<i64> {
        let t = &self.timeline;
        Some(t.first_reply_at?.as_millisecond() - t.first_inbound_at?.as_millisecond())
    }

    fn start_new_cycle(&mut self, at: Timestamp) {
        let t = &mut self.timeline;
        t.first_inbound_at = Some(at);
        t.first_reply_at = None;
        t.awaiting_reply_since = None;
        t.resolved_at = None;
        t.reopened_at = Some(at);
        t.paused_since = None;
        t.paused_ms = 0;
        t.human_replies = 0;
        self.status = ConversationStatus::Open;
        self.snoozed_until = None;
    }

    /// Only pausing within the cycle counts: a conversation set pending before
    /// the customer's first message has no clock to pause yet.
    fn end_pause(&mut self, at: Timestamp) {
        let t = &mut self.timeline;
        if let (Some(since), Some(start)) = (t.paused_since.take(), t.first_inbound_at) {
            t.paused_ms += (at.as_millisecond() - since.max(start).as_millisecond()).max(0);
        }
    }
}

impl crate::model::Message {
    /// A reply or note written in Hark by the user `author_user_id`.
    pub fn written_by_user(
        id: String,
        conversation: &Conversation,
        author_user_id: &str,
        visibility: crate::enums::Visibility,
        text: &str,
        delivery_status: crate::enums::DeliveryStatus,
        at: Timestamp,
    ) -> Self {
        crate::model::Message {
            id,
            conversation_id: conversation.id.clone(),
            workspace_id: conversation.workspace_id.clone(),
            channel_id: conversation.channel_id.clone(),
            direction: crate::enums::Direction::Outbound,
            visibility,
            author_kind: crate::enums::AuthorKind::User,
            author_user_id: Some(author_user_id.to_owned()),
            author_contact_id: None,
            text: text.to_owned(),
            attachments: vec![],
            platform_message_id: None,
            platform_parent_id: None,
            delivery_status,
            delivery_error: None,
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
            created_at: at,
            recorded_at: at,
            edited_at: None,
            deleted_at: None,
        }
    }
}

fn is_paused(status: ConversationStatus) -> bool {
    matches!(status, ConversationStatus::Pending | ConversationStatus::Snoozed)
}

fn max(current: Option<Timestamp>, at: Timestamp) -> Timestamp {
    current.map_or(at, |c| c.max(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::*;
    use crate::model::ConversationTimeline;

    fn ts(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn fresh() -> Conversation {
        Conversation {
            id: "conv_1".into(),
            workspace_id: "ws_1".into(),
            channel_id: "ch_1".into(),
            contact_id: "ct_1".into(),
            kind: ConversationKind::Public,
            status: ConversationStatus::Open,
            priority: Priority::Normal,
            assignee_id: None,
            team_id: None,
            labels: vec![],
            custom_attributes: Default::default(),
            platform_thread_id: None,
            subject: String::new(),
            last_message_preview: String::new(),
            language: None,
            sentiment: None,
            intent: None,
            snoozed_until: None,
            timeline: ConversationTimeline { last_activity_at: ts(0), ..Default::default() },
            linked_conversation_id: None,
            merged_into_id: None,
            created_at: ts(0),
            updated_at: ts(0),
            version: 1,
        }
    }

    #[test]
    fn first_response_counts_only_replies_by_a_person() {
        let mut c = fresh();
        c.record_inbound(ts(0));
        c.record_outbound(ts(5), false);
        assert_eq!(c.first_response_ms(), None);
        assert_eq!(c.timeline.awaiting_reply_since, Some(ts(0)));
        c.record_outbound(ts(60), true);
        assert_eq!(c.first_response_ms(), Some(60_000));
        assert_eq!(c.timeline.awaiting_reply_since, None);
    }

    #[test]
    fn resolution_time_excludes_pending_and_snoozed_stretches() {
        let mut c = fresh();
        c.record_inbound(ts(0));
        c.record_outbound(ts(10), true);
        c.change_status(ConversationStatus::Pending, ts(100), None).ok();
        c.record_inbound(ts(400)); // the customer answers: 300 s paused
        c.change_status(ConversationStatus::Snoozed, ts(500), Some(ts(900))).ok();
        c.change_status(ConversationStatus::Open, ts(700), None).ok(); // 200 s snoozed
        c.change_status(ConversationStatus::Resolved, ts(1000), None).ok();
        assert_eq!(c.timeline.paused_ms, 500_000);
        assert_eq!(c.resolution_ms(), Some(500_000));
    }

    #[test]
    fn a_message_after_resolution_reopens_with_a_new_cycle() {
        let mut c = fresh();
        c.record_inbound(ts(0));
        c.record_outbound(ts(30), true);
        c.change_status(ConversationStatus::Resolved, ts(60), None).ok();
        c.record_inbound(ts(1000));
        assert_eq!(c.status, ConversationStatus::Open);
        assert_eq!(c.timeline.reopened_at, Some(ts(1000)));
        assert_eq!(c.timeline.first_inbound_at, Some(ts(1000)));
        assert_eq!(c.timeline.first_reply_at, None);
        assert_eq!(c.timeline.human_replies, 0);
        assert_eq!(c.timeline.awaiting_reply_since, Some(ts(1000)));
    }

    #[test]
    fn snoozing_needs_a_future_wake_up_time() {
        let mut c = fresh();
        assert!(c.change_status(ConversationStatus::Snoozed, ts(10), None).is_err());
        assert!(c.change_status(ConversationStatus::Snoozed, ts(10), Some(ts(5))).is_err());
        assert!(c.change_status(ConversationStatus::Open, ts(10), Some(ts(50))).is_err());
        assert!(c.change_status(ConversationStatus::Snoozed, ts(10), Some(ts(50))).is_ok());
        assert_eq!(c.snoozed_until, Some(ts(50)));
    }

    #[test]
    fn messages_outside_a_cycle_are_no_responses() {
        let mut c = fresh();
        c.record_outbound(ts(0), true); // the brand writes first
        c.change_status(ConversationStatus::Pending, ts(5), None).ok();
        c.record_inbound(ts(100));
        assert_eq!(c.timeline.human_replies, 0);
        assert_eq!(c.timeline.paused_ms, 0, "nothing was paused before the customer wrote");
        c.record_outbound(ts(160), true);
        c.change_status(ConversationStatus::Resolved, ts(200), None).ok();
        c.record_outbound(ts(300), true); // a word after resolution does not reopen or count
        assert_eq!(c.first_response_ms(), Some(60_000));
        assert_eq!(c.timeline.human_replies, 1);
        assert_eq!(c.timeline.last_outbound_at, Some(ts(300)));
        assert_eq!(c.status, ConversationStatus::Resolved);
    }

    #[test]
    fn out_of_order_inbound_does_not_move_last_inbound_backwards() {
        let mut c = fresh();
        c.record_inbound(ts(100));
        c.record_inbound(ts(50));
        assert_eq!(c.timeline.last_inbound_at, Some(ts(100)));
    }
}
