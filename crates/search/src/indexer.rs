//! Keeping the index up to date from the database: the feed contract the database side
//! implements, the loop that follows it, and the bulk rebuild.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::document::{MessageDoc, SearchError};
use crate::index::{Checkpoint, SearchIndex};

/// What a feed failure carries: any error, as text for the log.
pub type FeedError = Box<dyn std::error::Error + Send + Sync>;

/// One change to the searchable messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOp {
    /// A message was created or edited (or moved, relabelled, …: any change to an indexed
    /// field): index this version, replacing any earlier one.
    Upsert(MessageDoc),
    /// A message was deleted (or redacted): remove it.
    Delete { message_id: String },
}

/// A change and its place in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed (the durable events table's id): increasing, without gaps.
    pub cursor: i64,
    pub op: ChangeOp,
}

/// A run of changes read from the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The changes, in cursor order.
    pub changes: Vec<Change>,
    /// How far the feed read: at least the last change's cursor, and further when the events
    /// after it concern no message. The next read starts after it.
    pub read_to: i64,
}

/// The source of truth the index follows; the database implements it over its events table.
///
/// Contract:
/// - `changes_after(c, n)` returns the message changes with cursor greater than `c`, in
///   cursor order, reading at most `n` events, and how far it read. Nothing is ever
///   inserted behind a cursor already returned (the events table's ids are gap-free).
/// - `head()` is the cursor of the newest event now.
/// - `documents_after(k, n)` returns up to `n` current (not deleted) messages whose
///   `message_id` is greater than `k` (from the first when `None`), ordered by `message_id`.
///
/// Replaying a change is harmless (upserts replace, deletes of missing ids do nothing),
/// which is what lets a rebuild run while messages keep changing.
#[async_trait]
pub trait Feed: Send + Sync {
    async fn changes_after(&self, cursor: i64, limit: usize) -> Result<ChangeBatch, FeedError>;
    async fn head(&self) -> Result<i64, FeedError>;
    async fn documents_after(&self, key: Option<&str>, limit: usize) -> Result<Vec<MessageDoc>, FeedError>;
}

/// How the indexer paces itself.
#[derive(Debug, Clone)]
pub struct IndexerOptions {
    /// Events read per batch.
    pub batch: usize,
    /// Commits come at most this often while changes keep arriving: each commit syncs to
    /// disk and starts a segment, so under load they are spaced out; a change waits at
    /// most this long (plus one batch) before searches see it.
    pub commit_interval: Duration,
    /// With no wake-up, the feed is polled this often (a wake-up can be lost).
    pub poll_interval: Duration,
    /// Messages per page in a rebuild.
    pub rebuild_page: usize,
    /// A rebuild commits (and so can resume from) every this many messages.
    pub rebuild_commit_every: usize,
}

impl Default for IndexerOptions {
    fn default() -> Self {
        IndexerOptions {
            batch: 1000,
            commit_interval: Duration::from_millis(500),
            poll_interval: Duration::from_secs(1),
            rebuild_page: 5000,
            rebuild_commit_every: 500_000,
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuildReport {
    pub documents: u64,
    pub seconds: f64,
    pub documents_per_second: f64,
    /// The feed cursor the index was built at; following resumes after it.
    pub cursor: i64,
}

/// Follows `feed` into `index` until `shutdown`, with the default pacing. Rebuilds first
/// if the index needs it. Wake it (`wake.notify_one()`) when new events are written, so
/// searches see them within about a second.
pub async fn run_indexer<F: Feed + ?Sized>(
    index: &SearchIndex,
    feed: &F,
    shutdown: &CancellationToken,
    wake: &Notify,
) -> Result<(), SearchError> {
    run_indexer_with(index, feed, shutdown, wake, &IndexerOptions::default()).await
}

/// [`run_indexer`] with explicit pacing. Feed and index errors are logged and retried
/// with backoff; it returns only at shutdown, after committing what it applied.
pub async fn run_indexer_with<F: Feed + ?Sized>(
    index: &SearchIndex,
    feed: &F,
    shutdown: &CancellationToken,
    wake: &Notify,
    options: &IndexerOptions,
) -> Result<(), SearchError> {
    let mut backoff = Backoff::default();
    while index.needs_rebuild() {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        match rebuild_with(index, feed, options).await {
            Ok(report) => tracing::info!(
                documents = report.documents,
                per_second = report.documents_per_second as u64,
                "search index rebuilt"
            ),
            Err(err) => {
                tracing::warn!(%err, "search index rebuild failed; retrying");
                if !backoff.wait(shutdown).await {
                    return Ok(());
                }
            }
        }
    }

    let mut committed = index.checkpoint().cursor;
    let mut applied = committed;
    let mut last_commit = Instant::now();
    loop {
        if shutdown.is_cancelled() {
            if applied > committed {
                commit(index, applied).await?;
            }
            return Ok(());
        }
        let batch = match feed.changes_after(applied, options.batch).await {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(%err, "search feed failed; retrying");
                if !backoff.wait(shutdown).await {
                    return Ok(());
                }
                continue;
            }
        };
        // Event ids have no gaps, so reading fewer than a batch means we are caught up.
        let caught_up = batch.read_to.saturating_sub(applied) < options.batch as i64;
        let read_to = batch.read_to.max(applied);
        if let Err(err) = apply(index, batch.changes, applied).await {
            // Drop the half-applied batch and read it again from the last commit.
            tracing::warn!(%err, "search index update failed; retrying");
            let _ = index.rollback();
            applied = committed;
            if !backoff.wait(shutdown).await {
                return Ok(());
            }
            continue;
        }
        applied = read_to;
        backoff.reset();

        if applied > committed {
            let since = last_commit.elapsed();
            if since >= options.commit_interval {
                match commit(index, applied).await {
                    Ok(()) => {
                        committed = applied;
                        last_commit = Instant::now();
                    }
                    Err(err) => {
                        tracing::warn!(%err, "search index commit failed; retrying");
                        let _ = index.rollback();
                        applied = committed;
                        if !backoff.wait(shutdown).await {
                            return Ok(());
                        }
                    }
                }
            } else if caught_up {
                // Committed recently: wait out the interval, then read once more so that
                // whatever arrived meanwhile goes into the same commit.
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(options.commit_interval - since) => {}
                }
            }
        } else if caught_up {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = wake.notified() => {}
                _ = tokio::time::sleep(options.poll_interval) => {}
            }
        }
    }
}

/// Applies changes after `after` (skipping any the feed repeats).
async fn apply(index: &SearchIndex, changes: Vec<Change>, after: i64) -> Result<(), SearchError> {
    let index = index.clone();
    blocking(move || {
        for change in changes.into_iter().filter(|c| c.cursor > after) {
            match &change.op {
                ChangeOp::Upsert(doc) => index.upsert(doc)?,
                ChangeOp::Delete { message_id } => index.delete(message_id)?,
            }
        }
        Ok(())
    })
    .await
}

async fn commit(index: &SearchIndex, cursor: i64) -> Result<(), SearchError> {
    let index = index.clone();
    blocking(move || index.commit(cursor)).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SearchError::Task(e.to_string()))?
}

/// Re-indexes every message from `feed` in bulk, with the default pacing.
pub async fn rebuild<F: Feed + ?Sized>(index: &SearchIndex, feed: &F) -> Result<RebuildReport, SearchError> {
    rebuild_with(index, feed, &IndexerOptions::default()).await
}

/// Re-indexes every message from `feed` in bulk. The feed's head is taken first, and the
/// index's cursor set to it, so following the feed afterwards replays whatever changed
/// during the rebuild. An interrupted rebuild resumes after the last document it committed.
/// Searches see a partial index until it completes.
pub async fn rebuild_with<F: Feed + ?Sized>(
    index: &SearchIndex,
    feed: &F,
    options: &IndexerOptions,
) -> Result<RebuildReport, SearchError> {
    let result = rebuild_pages(index, feed, options).await;
    if result.is_err() {
        // Forget what was added since the last commit, so resuming does not add it twice.
        let _ = index.rollback();
    }
    result
}

async fn rebuild_pages<F: Feed + ?Sized>(
    index: &SearchIndex,
    feed: &F,
    options: &IndexerOptions,
) -> Result<RebuildReport, SearchError> {
    let started = Instant::now();
    let previous = index.checkpoint();
    let (cursor, mut after) = match previous.rebuild_after {
        Some(after) if !previous.built => (previous.cursor, Some(after)),
        _ => {
            let head = feed.head().await.map_err(feed_error)?;
            let start = Checkpoint { cursor: head, built: false, rebuild_after: None };
            let index = index.clone();
            blocking(move || {
                index.clear()?;
                index.commit_checkpoint(start)
            })
            .await?;
            (head, None)
        }
    };

    let page = options.rebuild_page.max(1);
    let mut documents: u64 = 0;
    let mut since_commit = 0;
    let mut docs = feed.documents_after(after.as_deref(), page).await.map_err(feed_error)?;
    while !docs.is_empty() {
        let last = docs.last().map(|d| d.message_id.clone());
        let count = docs.len();
        // Read the next page while this one is indexed.
        let writer = index.clone();
        let indexing = blocking(move || docs.iter().try_for_each(|d| writer.add_new(d)));
        let (indexed, next) = tokio::join!(indexing, feed.documents_after(last.as_deref(), page));
        indexed?;
        documents += count as u64;
        since_commit += count;
        after = last;
        if since_commit >= options.rebuild_commit_every {
            since_commit = 0;
            let checkpoint = Checkpoint { cursor, built: false, rebuild_after: after.clone() };
            let index = index.clone();
            blocking(move || index.commit_checkpoint(checkpoint)).await?;
        }
        docs = next.map_err(feed_error)?;
    }
    let done = Checkpoint { cursor, built: true, rebuild_after: None };
    let writer = index.clone();
    blocking(move || writer.commit_checkpoint(done)).await?;

    let seconds = started.elapsed().as_secs_f64();
    Ok(RebuildReport {
        documents,
        seconds,
        documents_per_second: if seconds > 0.0 { documents as f64 / seconds } else { 0.0 },
        cursor,
    })
}

fn feed_error(err: FeedError) -> SearchError {
    SearchError::Feed(err.to_string())
}

/// Waits between retries: 100 ms, doubling up to 5 s.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Sleeps the next delay; `false` means shutdown came first.
    async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = Duration::from_millis(100u64.saturating_mul(1 << self.failures.min(6))).min(Duration::from_secs(5));
        self.failures += 1;
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
