//! The audit log and the live event stream, as seen by one actor.

use hark_domain::*;
use hark_store::Page;

use crate::{Actor, App, AppResult};

impl App {
    pub async fn audit_log(&self, actor: &Actor, page: &Page) -> AppResult<Vec<AuditEntry>> {
        actor.require(Action::ReadAuditLog)?;
        Ok(self.store.audit_log(actor.workspace_id(), page).await?)
    }

    /// Events of the actor's workspace after `after`, oldest first.
    pub async fn events_after(&self, actor: &Actor, after: i64, limit: u32) -> AppResult<Vec<Event>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.events_after(actor.workspace_id(), after, limit).await?)
    }
}
