//! PostgreSQL, for several `hark serve` nodes sharing one database.
//!
//! Event ids come from an identity column, and PostgreSQL hands out sequence
//! values before commit, so two transactions could commit ids out of order and
//! a subscriber reading "ids above N" could skip one forever. Every
//! transaction that writes events therefore takes one transaction-scoped
//! advisory lock first: event-writing commits are serialised and ids become
//! visible in order. Events are written last in a transaction to keep that
//! window short.
//!
//! Each node learns of other nodes' events through LISTEN/NOTIFY, used as a
//! wake-up only: notifications are lost while a listener reconnects, so the
//! node also re-reads the newest event id every second. The events table,
//! read by id, is the source of truth.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::automation::impl_automation;
use crate::levels::impl_service_levels;
use crate::shared::impl_repositories;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The NOTIFY channel on which committed event ids are announced.
const EVENTS_CHANNEL: &str = "hark_events";
/// Arbitrary key of the advisory lock that orders event-writing commits.
const EVENT_ORDER_LOCK: i64 = 0x4841_524b_4556; // "HARKEV"
/// How often a node re-reads the newest event id in case a notification was lost.
const HEAD_POLL: Duration = Duration::from_secs(1);

pub struct PgStore {
    pool: PgPool,
    event_head: Arc<watch::Sender<i64>>,
    stop_listener: CancellationToken,
    channels: crate::channel_cache::ChannelCache,
}

impl PgStore {
    /// Connects, applies pending migrations and starts listening for other nodes' events.
    pub async fn connect(url: &str, max_connections: u32) -> crate::StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(&pool).await?;
        let event_head = Arc::new(watch::channel(head).0);
        let stop_listener = CancellationToken::new();
        tokio::spawn(follow_other_nodes(pool.clone(), event_head.clone(), stop_listener.clone()));
        Ok(PgStore { pool, event_head, stop_listener, channels: Default::default() })
    }

    pub fn migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    /// Every table's columns as (table, column, data type), for the schema-parity test.
    pub async fn columns(&self) -> crate::StoreResult<Vec<(String, String, String)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Leases up to `$3` rows matching `condition` until `$1` (`$2` is now).
    /// SKIP LOCKED lets several nodes claim at once without waiting on, or
    /// taking, each other's rows.
    fn claim_sql(table: &str, condition: &str, columns: &str) -> String {
        format!(
            "UPDATE {table} SET locked_until = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING {columns}"
        )
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> crate::StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Inbound events live with everything else: PostgreSQL takes many
    /// writers at once, and marking an event done commits atomically with
    /// what it became.
    const RAW_EVENTS_APART: bool = false;

    fn raw_reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_raw_write(&self) -> crate::StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin_write().await
    }

    async fn before_events(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> crate::StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_ORDER_LOCK).execute(&mut **tx).await?;
        Ok(())
    }

    /// NOTIFY is transactional: it is delivered to every node only if the commit succeeds.
    async fn before_commit(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        committed: &crate::Committed,
    ) -> crate::StoreResult<()> {
        if let Some(last) = committed.event_ids.last() {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(last.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Sequences leave gaps, and other nodes write events too: every read
    /// goes to the database.
    fn recent_events(&self) -> Option<&crate::recent_events::RecentEvents> {
        None
    }

    /// Done-marks commit with what the events became (see `RAW_EVENTS_APART`).
    fn held_done_marks(&self) -> Option<&crate::done_marks::DoneMarks> {
        None
    }

    fn after_commit(&self, committed: &crate::Committed) {
        if let Some(&last) = committed.event_ids.last() {
            advance(&self.event_head, last);
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop_listener.cancel();
    }
}

#[async_trait::async_trait]
impl crate::Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    /// Autovacuum keeps statistics too, but only after its thresholds; an
    /// hourly ANALYZE (a sample per table) also covers bulk loads.
    async fn maintain(&self) -> crate::StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }
}

fn advance(head: &watch::Sender<i64>, to: i64) {
    head.send_if_modified(|h| {
        let moved = to > *h;
        *h = (*h).max(to);
        moved
    });
}

/// Keeps `head` at the newest committed event id, whichever node wrote it.
async fn follow_other_nodes(pool: PgPool, head: Arc<watch::Sender<i64>>, stop: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(%err, "event listener could not connect; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(HEAD_POLL) => continue,
                }
            }
        };
        if let Err(err) = listener.listen(EVENTS_CHANNEL).await {
            tracing::warn!(%err, "LISTEN failed; retrying");
            continue;
        }
        let mut poll = tokio::time::interval(HEAD_POLL);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                notification = listener.try_recv() => match notification {
                    Ok(Some(n)) => {
                        if let Ok(id) = n.payload().parse::<i64>() {
                            advance(&head, id);
                        }
                    }
                    // The connection dropped and was re-established; anything
                    // missed meanwhile is caught by the next poll.
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, "event listener failed; reconnecting");
                        break;
                    }
                },
                _ = poll.tick() => {
                    match sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(&pool).await {
                        Ok(id) => advance(&head, id),
                        Err(err) => tracing::warn!(%err, "could not read the newest event id"),
                    }
                }
            }
        }
    }
}

impl_repositories!(PgStore, sqlx::Postgres);
impl_automation!(PgStore, sqlx::Postgres);
impl_service_levels!(PgStore, sqlx::Postgres);
