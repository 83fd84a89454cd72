//! The embedded default: SQLite files in WAL mode. Writes go through a
//! single connection (SQLite has one writer anyway) and start with
//! `BEGIN IMMEDIATE`, so they queue instead of failing with SQLITE_BUSY;
//! reads use a small read-only pool that WAL lets run beside the writer.
//!
//! Inbound events (`raw_events`) are kept in a second file beside the main
//! one (`hark.db` → `hark-intake.db`), with a writer of its own. A webhook
//! is acknowledged once its event is committed there, so acknowledging
//! never waits behind the commits that turn events into conversations, and
//! those never wait behind a burst of webhooks. Marking an event done
//! therefore commits just after what it became, not with it: a crash in
//! between leaves the event pending, and ingesting it again finds its
//! message already stored (platform-key dedup) and only marks it done.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::automation::impl_automation;
use crate::levels::impl_service_levels;
use crate::shared::impl_repositories;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static INTAKE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite-intake");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    intake_read: SqlitePool,
    intake_write: SqlitePool,
    event_head: tokio::sync::watch::Sender<i64>,
    channels: crate::channel_cache::ChannelCache,
    recent_events: crate::recent_events::RecentEvents,
    done_marks: crate::done_marks::DoneMarks,
    _checkpoints: Checkpoints,
}

/// How large (in pages) a write-ahead log may grow before its writer
/// checkpoints it itself: only when the background checkpoints fall behind.
const WRITER_CHECKPOINT_PAGES: u32 = 16_384;
/// How often the background checkpoints run.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Checkpoints both files' write-ahead logs on connections of their own.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its
/// threshold, on the one writer: copying pages into the database file and
/// syncing it, while every acknowledgement and ingestion behind it waits
/// (measured: 12 of an ingestion commit's 40 ms). A passive checkpoint on
/// another connection takes no write lock, so the writers go on meanwhile.
struct Checkpoints(tokio::task::JoinHandle<()>);

impl Checkpoints {
    fn start(pools: Vec<SqlitePool>) -> Self {
        Checkpoints(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for pool in &pools {
                    // A failed checkpoint is retried at the next tick; the
                    // writer's own threshold is the backstop.
                    if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await {
                        tracing::debug!(%err, "background checkpoint failed");
                    }
                }
            }
        }))
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`, and its
    /// intake file beside it, and applies any pending migrations.
    pub async fn open(path: &Path) -> crate::StoreResult<Self> {
        Self::open_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite:` URL (as given to `--database-url`).
    pub async fn open_url(url: &str) -> crate::StoreResult<Self> {
        Self::open_with(SqliteConnectOptions::from_str(url)?).await
    }

    /// The intake file of the database at `main`: `hark.db` → `hark-intake.db`.
    pub fn intake_path(main: &Path) -> PathBuf {
        let stem = main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "hark".into());
        let name = match main.extension() {
            Some(ext) => format!("{stem}-intake.{}", ext.to_string_lossy()),
            None => format!("{stem}-intake"),
        };
        main.with_file_name(name)
    }

    async fn open_with(options: SqliteConnectOptions) -> crate::StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Each commit reaches the disk before it returns: a webhook is
            // acknowledged only once it is durable, and an event is marked
            // done in the intake file only after what it became is durable
            // in the main one, even across a power cut. Group commit keeps
            // this to one sync per batch.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Statement journals (an upsert's or a multi-row insert's undo
            // within its transaction) stay in memory instead of temporary files.
            .pragma("temp_store", "memory")
            // The background checkpoints below copy the log into the file;
            // the writer does it itself only if the log grows far beyond them.
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string());
        let intake_file = Self::intake_path(options.get_filename());
        let intake_options = options.clone().filename(&intake_file);
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&write).await?;
        let intake_write = SqlitePoolOptions::new().max_connections(1).connect_with(intake_options.clone()).await?;
        INTAKE_MIGRATOR.run(&intake_write).await?;
        move_raw_events_to_intake(&write, &intake_file).await?;
        // One process owns an SQLite database, so claims left by a process
        // that died are released at once instead of waiting out their lease.
        sqlx::query("UPDATE raw_events SET locked_until = NULL WHERE state = 'pending' AND locked_until IS NOT NULL")
            .execute(&intake_write)
            .await?;
        sqlx::query("UPDATE outbox SET locked_until = NULL WHERE done_at IS NULL AND locked_until IS NOT NULL")
            .execute(&write)
            .await?;
        // Table statistics for the query planner, gathered where they are
        // missing or stale (SQLite's advice for long-lived connections).
        sqlx::query("PRAGMA optimize=0x10002").execute(&write).await?;
        let checkpoints = Checkpoints::start(vec![
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?,
            SqlitePoolOptions::new().max_connections(1).connect_with(intake_options.clone()).await?,
        ]);
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        let intake_read =
            SqlitePoolOptions::new().max_connections(2).connect_with(intake_options.read_only(true)).await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(&write).await?;
        let (event_head, _) = tokio::sync::watch::channel(head);
        Ok(SqliteStore {
            read,
            write,
            intake_read,
            intake_write,
            event_head,
            channels: Default::default(),
            recent_events: Default::default(),
            done_marks: Default::default(),
            _checkpoints: checkpoints,
        })
    }

    /// Refreshes the query planner's statistics of tables that grew or shrank
    /// a lot since they were last gathered; cheap when nothing changed.
    /// Every table is considered (0x10000), not only those this connection
    /// queried: the reads run on other connections.
    pub async fn optimize(&self) -> crate::StoreResult<()> {
        sqlx::query("PRAGMA optimize=0x10002").execute(&self.write).await?;
        Ok(())
    }

    /// The applied migrations' versions and descriptions (for `hark migrate`).
    pub fn migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    /// Every table's columns (of both files) as (table, column, declared
    /// type), for the schema-parity test.
    pub async fn columns(&self) -> crate::StoreResult<Vec<(String, String, String)>> {
        let sql = "SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             ORDER BY m.name, p.cid";
        let mut rows: Vec<(String, String, String)> = sqlx::query_as(sql).fetch_all(&self.read).await?;
        rows.extend(sqlx::query_as::<_, (String, String, String)>(sql).fetch_all(&self.intake_read).await?);
        Ok(rows)
    }

    /// Leases up to `$3` rows matching `condition` until `$1` (`$2` is now).
    /// The single SQLite writer makes the select-then-update atomic.
    fn claim_sql(table: &str, condition: &str, columns: &str) -> String {
        format!(
            "UPDATE {table} SET locked_until = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT $3) RETURNING {columns}"
        )
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    async fn begin_write(&self) -> crate::StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Inbound events are in the intake file (see the module's comment).
    const RAW_EVENTS_APART: bool = true;

    fn raw_reader(&self) -> &SqlitePool {
        &self.intake_read
    }

    async fn begin_raw_write(&self) -> crate::StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.intake_write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite has a single writer, so event ids are committed in order already.
    async fn before_events(_tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>) -> crate::StoreResult<()> {
        Ok(())
    }

    async fn before_commit(
        &self,
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _committed: &crate::Committed,
    ) -> crate::StoreResult<()> {
        Ok(())
    }

    /// One writer hands out event ids in commit order, without gaps.
    fn recent_events(&self) -> Option<&crate::recent_events::RecentEvents> {
        Some(&self.recent_events)
    }

    /// Done-marks wait for the intake file's next write (see `done_marks`).
    fn held_done_marks(&self) -> Option<&crate::done_marks::DoneMarks> {
        Some(&self.done_marks)
    }

    fn after_commit(&self, committed: &crate::Committed) {
        if let Some(&last) = committed.event_ids.last() {
            self.event_head.send_if_modified(|head| {
                let moved = last > *head;
                *head = (*head).max(last);
                moved
            });
        }
    }
}

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn maintain(&self) -> crate::StoreResult<()> {
        self.optimize().await
    }
}

/// Databases made before the intake file kept their inbound events in the
/// main file: they move over once, keeping their ids (and so their dedup
/// keys and pending work), and the old table goes.
async fn move_raw_events_to_intake(main: &SqlitePool, intake_file: &Path) -> crate::StoreResult<()> {
    let old: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'raw_events'")
            .fetch_optional(main)
            .await?;
    if old.is_none() {
        return Ok(());
    }
    let mut conn = main.acquire().await?;
    sqlx::query("ATTACH DATABASE $1 AS intake")
        .bind(intake_file.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await?;
    let moved = async {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(
            "INSERT OR IGNORE INTO intake.raw_events (id, channel_id, dedup_key, received_at, payload, state, \
             attempts, locked_until, processed_at, last_error) SELECT id, channel_id, dedup_key, received_at, \
             payload, state, attempts, locked_until, processed_at, last_error FROM main.raw_events",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DROP TABLE main.raw_events").execute(&mut *tx).await?;
        tx.commit().await
    }
    .await;
    sqlx::query("DETACH DATABASE intake").execute(&mut *conn).await?;
    Ok(moved?)
}

impl_repositories!(SqliteStore, sqlx::Sqlite);
impl_automation!(SqliteStore, sqlx::Sqlite);
impl_service_levels!(SqliteStore, sqlx::Sqlite);
