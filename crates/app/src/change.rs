//! A change being prepared: the writes, the audit entries and the events that
//! must be committed together.

use hark_store::{Committed, NewAuditEntry, NewEvent, NewOutboxItem, Write};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::{Actor, ActorVia, App, AppResult};

pub(crate) struct Change<'a> {
    actor: &'a Actor,
    pub(crate) at: Timestamp,
    writes: Vec<Write>,
    audits: Vec<Write>,
    events: Vec<Write>,
}

impl<'a> Change<'a> {
    pub(crate) fn new(actor: &'a Actor, at: Timestamp) -> Self {
        Change { actor, at, writes: vec![], audits: vec![], events: vec![] }
    }

    pub(crate) fn write(mut self, write: Write) -> Self {
        self.writes.push(write);
        self
    }

    pub(crate) fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// Records `action` (`subject.verb`) on the subject in the audit log.
    pub(crate) fn audit(mut self, action: &str, subject_type: &str, subject_id: &str, detail: Value) -> Self {
        let actor_id = match &self.actor.via {
            ActorVia::System | ActorVia::Rule { .. } => None,
            _ => Some(self.actor.user.id.clone()),
        };
        let detail = match (&self.actor.via, detail) {
            (ActorVia::ApiToken { token_id }, Value::Object(mut map)) => {
                map.insert("via_token".into(), Value::String(token_id.clone()));
                Value::Object(map)
            }
            (ActorVia::Rule { rule_id }, Value::Object(mut map)) => {
                map.insert("rule_id".into(), Value::String(rule_id.clone()));
                Value::Object(map)
            }
            (_, d) => d,
        };
        self.audits.push(Write::Audit(NewAuditEntry {
            workspace_id: self.actor.workspace_id().to_owned(),
            at: self.at,
            actor_kind: self.actor.audit_kind().to_owned(),
            actor_id,
            action: action.to_owned(),
            subject_type: subject_type.to_owned(),
            subject_id: subject_id.to_owned(),
            detail,
        }));
        self
    }

    /// Tells live subscribers (`conversation.updated`…); the payload is the new state.
    pub(crate) fn event(mut self, kind: &str, subject_id: &str, payload: &impl Serialize) -> Self {
        self.events.push(Write::Event(NewEvent {
            workspace_id: self.actor.workspace_id().to_owned(),
            at: self.at,
            kind: kind.to_owned(),
            subject_id: subject_id.to_owned(),
            payload: serde_json::to_value(payload).unwrap_or(Value::Null),
        }));
        self
    }

    pub(crate) fn outbox(mut self, kind: &str, subject_id: &str, payload: Value) -> Self {
        self.writes.push(Write::Outbox(NewOutboxItem {
            workspace_id: self.actor.workspace_id().to_owned(),
            kind: kind.to_owned(),
            subject_id: subject_id.to_owned(),
            payload,
            due_at: self.at,
        }));
        self
    }

    /// Commits everything at once. Events go last: on PostgreSQL they take the
    /// lock that orders event ids, and it is held until commit.
    pub(crate) async fn commit(self, app: &App) -> AppResult<Committed> {
        let mut all = self.writes;
        all.extend(self.audits);
        all.extend(self.events);
        Ok(app.store.commit(all).await?)
    }
}
