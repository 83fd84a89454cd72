//! Fresh databases for tests: a SQLite file in a temporary directory always,
//! and a brand-new PostgreSQL database per test when `HARK_TEST_DATABASE_URL`
//! names a server (CI sets it). Databases are named `hark_test_<uuid>`;
//! `scripts/test` drops leftovers from earlier runs.

use std::sync::Arc;

use sqlx::Connection;

use crate::Store;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;

pub const DATABASE_URL_ENV: &str = "HARK_TEST_DATABASE_URL";

/// A store under test, with whatever keeps its database alive.
pub struct TestStore {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    /// The `--database-url` that reaches the same database (for spawning `hark serve`).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join("hark.db");
    let store = SqliteStore::open(&path).await.unwrap_or_else(|e| panic!("open sqlite: {e}"));
    TestStore { name: "sqlite", store: Arc::new(store), url: format!("sqlite://{}", path.display()), _dir: Some(dir) }
}

/// The server URL from the environment, if tests should use PostgreSQL.
pub fn postgres_server_url() -> Option<String> {
    std::env::var(DATABASE_URL_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    let name = format!("hark_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin =
        sqlx::PgConnection::connect(server_url).await.unwrap_or_else(|e| panic!("connect to {DATABASE_URL_ENV}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create test database: {e}"));
    with_database(server_url, &name)
}

pub async fn postgres() -> Option<TestStore> {
    let server = postgres_server_url()?;
    let url = fresh_postgres_database(&server).await;
    let store = PgStore::connect(&url, 8).await.unwrap_or_else(|e| panic!("open postgres: {e}"));
    Some(TestStore { name: "postgres", store: Arc::new(store), url, _dir: None })
}

/// SQLite always, PostgreSQL too when configured.
pub async fn all() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres().await);
    stores
}

/// Replaces the database name in a `postgres://…/name?params` URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

impl TestStore {
    /// Runs a statement on a separate connection, bypassing the store (to prove
    /// what the database itself refuses).
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        if self.name == "sqlite" {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced_in_urls() {
        assert_eq!(super::with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
