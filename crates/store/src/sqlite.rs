//! The embedded default: one SQLite file in WAL mode. Writes go through a
//! single connection (SQLite has one writer anyway) and start with
//! `BEGIN IMMEDIATE`, so they queue instead of failing with SQLITE_BUSY;
//! reads use a small read-only pool that WAL lets run beside the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::automation::impl_automation;
use crate::levels::impl_service_levels;
use crate::shared::impl_repositories;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    event_head: tokio::sync::watch::Sender<i64>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and applies
    /// any pending migrations.
    pub async fn open(path: &Path) -> crate::StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        Self::open_with(options).await
    }

    /// Opens a `sqlite:` URL (as given to `--database-url`).
    pub async fn open_url(url: &str) -> crate::StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> crate::StoreResult<Self> {
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&write).await?;
        // One process owns an SQLite database, so claims left by a process
        // that died are released at once instead of waiting out their lease.
        sqlx::query("UPDATE raw_events SET locked_until = NULL WHERE state = 'pending' AND locked_until IS NOT NULL")
            .execute(&write)
            .await?;
        sqlx::query("UPDATE outbox SET locked_until = NULL WHERE done_at IS NULL AND locked_until IS NOT NULL")
            .execute(&write)
            .await?;
        // Table statistics for the query planner, gathered where they are
        // missing or stale (SQLite's advice for long-lived connections).
        sqlx::query("PRAGMA optimize=0x10002").execute(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(&write).await?;
        let (event_head, _) = tokio::sync::watch::channel(head);
        Ok(SqliteStore { read, write, event_head })
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

    /// Every table's columns as (table, column, declared type), for the schema-parity test.
    pub async fn columns(&self) -> crate::StoreResult<Vec<(String, String, String)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             ORDER BY m.name, p.cid",
        )
        .fetch_all(&self.read)
        .await?;
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

impl_repositories!(SqliteStore, sqlx::Sqlite);
impl_automation!(SqliteStore, sqlx::Sqlite);
impl_service_levels!(SqliteStore, sqlx::Sqlite);
