//! Rules run from here: a follower of the events table hands every event to
//! the rules engine once, in order, on one node at a time; a periodic scan
//! fires the rules that wait for a conversation to go quiet.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hark_app::AppResult;
use hark_domain::Event;
use hark_store::Write;
use tokio_util::sync::CancellationToken;

use crate::follow::EventHandler;
use crate::{Workers, pause};

/// How often idle rules look for quiet conversations.
pub const IDLE_SCAN: Duration = Duration::from_secs(30);

/// Runs the workspace's rules for every event (see `hark_app::automation`).
pub struct RulesFollower;

impl EventHandler for RulesFollower {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn handle<'a>(
        &'a self,
        workers: &'a Workers,
        events: &'a [Event],
    ) -> Pin<Box<dyn Future<Output = AppResult<Vec<Write>>> + Send + 'a>> {
        Box::pin(async move { workers.app.automate(events).await })
    }

    /// Rules act on what happens from now on, never on history.
    fn starts_at_head(&self) -> bool {
        true
    }
}

/// Follows the events table with the rules until `shutdown`.
pub async fn run(workers: Workers, shutdown: CancellationToken) {
    crate::follow::run(workers, Arc::new(RulesFollower), shutdown).await
}

/// Fires idle rules once; returns how many conversations it looked at.
pub async fn idle_once(workers: &Workers) -> AppResult<usize> {
    workers.app.automate_idle(jiff::Timestamp::now()).await
}

/// Scans for quiet conversations every [`IDLE_SCAN`] until `shutdown`, each
/// scan taking up where the last one stopped.
pub async fn run_idle(workers: Workers, shutdown: CancellationToken) {
    let mut progress = hark_app::automation::IdleProgress::default();
    loop {
        if let Err(err) = workers.app.automate_idle_since(jiff::Timestamp::now(), &mut progress).await {
            tracing::warn!(%err, "idle rules scan failed");
        }
        if !pause(IDLE_SCAN, None, &shutdown).await {
            return;
        }
    }
}
