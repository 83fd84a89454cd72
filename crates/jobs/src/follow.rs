//! Followers of the durable events table: workers that react to what
//! happened (maintain SLA timers, pre-aggregate reports, run rules…) in the
//! order it happened, exactly once.
//!
//! A follower's position lives in the database with a lease, so one node
//! holds it at a time and another takes over when that node stops. A
//! handler returns the writes its events call for; they are committed in
//! the same transaction that moves the position past those events, so a
//! crash or a lost lease repeats nothing and loses nothing. A handler that
//! acts through use cases with commits of their own (sending a reply) must
//! make those idempotent itself, since such effects happen before the
//! position moves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hark_app::AppResult;
use hark_domain::Event;
use hark_store::Write;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};

/// Events read per round.
const BATCH: u32 = 500;

/// What a follower does with a batch of events (oldest first).
pub trait EventHandler: Send + Sync + 'static {
    /// Unique; the follower's position is stored under it.
    fn name(&self) -> &'static str;

    /// The writes these events call for, committed with the new position.
    fn handle<'a>(
        &'a self,
        workers: &'a Workers,
        events: &'a [Event],
    ) -> Pin<Box<dyn Future<Output = AppResult<Vec<Write>>> + Send + 'a>>;

    /// Where a follower that has never run starts: `None` for the beginning
    /// of the table, or the newest event for one that only cares from now on.
    fn starts_at_head(&self) -> bool {
        false
    }
}

/// Runs `handler` until `shutdown`.
pub async fn run(workers: Workers, handler: Arc<dyn EventHandler>, shutdown: CancellationToken) {
    let mut head = workers.app.store.event_head();
    loop {
        head.borrow_and_update();
        let busy = match follow_once(&workers, handler.as_ref()).await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(follower = handler.name(), %err, "follower round failed");
                false
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        if !busy {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = head.changed() => {}
                _ = pause(workers.config.idle, None, &shutdown) => {}
            }
        }
    }
}

/// Handles the next batch of events, if this node holds the follower;
/// returns how many events it handled.
pub async fn follow_once(workers: &Workers, handler: &dyn EventHandler) -> AppResult<usize> {
    let store = &workers.app.store;
    let lease = workers.config.lease.as_millis() as i64;
    let start = if handler.starts_at_head() { store.last_event_id().await? } else { 0 };
    let Some(position) = store.claim_follower(handler.name(), &workers.node_id, Timestamp::now(), lease, start).await?
    else {
        return Ok(0);
    };
    let events = store.events_since(position, BATCH).await?;
    let Some(last) = events.last().and_then(|e| e.id.parse::<i64>().ok()) else {
        return Ok(0);
    };
    let mut writes = handler.handle(workers, &events).await?;
    writes.push(Write::AdvanceFollower {
        name: handler.name().to_owned(),
        holder: workers.node_id.clone(),
        position: last,
        at: Timestamp::now(),
    });
    store.commit(writes).await?;
    Ok(events.len())
}
