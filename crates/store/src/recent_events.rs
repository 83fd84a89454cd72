//! The newest events, kept parsed as this process committed them.
//!
//! Every follower (service levels, rules, publishing, outgoing webhooks, the
//! search indexer) and every live subscriber reads every event, most of
//! them within moments of its commit. Reading them back from the database
//! means as many reads and JSON parses of each payload as there are
//! readers; this keeps the last few thousand in memory instead.
//!
//! Only a backend whose event ids have no gaps and follow commit order (one
//! writer: SQLite) keeps it. A read is served from memory only when the
//! event right after the reader's position is here, and then only as far
//! as the ids run on without a gap; anything else (an event written by
//! another process, one older than the window, one whose commit has not
//! been recorded yet) is read from the database as before. So an answer
//! from memory is always a prefix of what the database would answer.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hark_domain::Event;

/// Events kept. A follower that falls further behind (a burst, a restart)
/// reads the database until it catches up.
const KEPT: usize = 4_096;

#[derive(Default)]
pub(crate) struct RecentEvents {
    by_id: Mutex<BTreeMap<i64, Event>>,
}

impl RecentEvents {
    /// Keeps events whose commit has succeeded. Commits may record out of
    /// order; ids place them.
    pub(crate) fn record(&self, events: Vec<(i64, Event)>) {
        if events.is_empty() {
            return;
        }
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        by_id.extend(events);
        while by_id.len() > KEPT {
            by_id.pop_first();
        }
    }

    /// The events after `after` (of one workspace, if given), oldest first,
    /// at most `limit`; `None` when memory cannot answer and the database must.
    pub(crate) fn after(&self, after: i64, workspace_id: Option<&str>, limit: usize) -> Option<Vec<Event>> {
        let by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let next = after.checked_add(1)?;
        if !by_id.contains_key(&next) {
            return None;
        }
        let mut out = vec![];
        // Held ids paired with the ids a gapless run would have.
        for (expected, (&id, event)) in (next..).zip(by_id.range(next..)) {
            if id != expected || out.len() >= limit {
                break;
            }
            if workspace_id.is_none_or(|ws| ws == event.workspace_id) {
                out.push(event.clone());
            }
        }
        // Nothing of this workspace in the run held here: the database may
        // hold more beyond it, so let it answer.
        if out.is_empty() { None } else { Some(out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, ws: &str) -> (i64, Event) {
        (
            id,
            Event {
                id: id.to_string(),
                workspace_id: ws.into(),
                at: jiff::Timestamp::UNIX_EPOCH,
                kind: "message.created".into(),
                subject_id: format!("m{id}"),
                payload: serde_json::json!({ "n": id }).into(),
            },
        )
    }

    fn ids(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn answers_only_from_the_next_event_on_and_stops_at_a_gap() {
        let recent = RecentEvents::default();
        recent.record(vec![event(5, "a"), event(6, "a"), event(8, "a")]);
        assert_eq!(recent.after(3, None, 10), None, "event 4 is not held");
        assert_eq!(ids(&recent.after(4, None, 10).unwrap_or_default()), ["5", "6"]);
        assert_eq!(ids(&recent.after(4, None, 1).unwrap_or_default()), ["5"]);
        assert_eq!(recent.after(6, None, 10), None, "event 7 is not held");
        // The commit of 7 is recorded late: the run goes on through it.
        recent.record(vec![event(7, "a")]);
        assert_eq!(ids(&recent.after(4, None, 10).unwrap_or_default()), ["5", "6", "7", "8"]);
    }

    #[test]
    fn filters_a_workspace_within_the_run_and_defers_when_it_has_none() {
        let recent = RecentEvents::default();
        recent.record(vec![event(1, "a"), event(2, "b"), event(3, "a")]);
        assert_eq!(ids(&recent.after(0, Some("a"), 10).unwrap_or_default()), ["1", "3"]);
        assert_eq!(ids(&recent.after(1, Some("b"), 10).unwrap_or_default()), ["2"]);
        assert_eq!(recent.after(2, Some("b"), 10), None);
    }

    #[test]
    fn keeps_only_the_newest() {
        let recent = RecentEvents::default();
        recent.record((1..=(KEPT as i64 + 10)).map(|id| event(id, "a")).collect());
        assert_eq!(recent.after(0, None, 10), None);
        assert_eq!(ids(&recent.after(10, None, 1).unwrap_or_default()), ["11"]);
    }
}
