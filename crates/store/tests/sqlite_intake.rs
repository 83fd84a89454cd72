//! SQLite keeps inbound events in a file of their own (`hark-intake.db`
//! beside `hark.db`), so acknowledging a webhook never waits behind the
//! commits of ingestion. These tests look at the files themselves.

use hark_store::sqlite::SqliteStore;
use hark_store::*;
use jiff::Timestamp;
use serde_json::json;
use sqlx::Connection;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn raw(key: &str) -> NewRawEvent {
    NewRawEvent { channel_id: "ch_1".into(), dedup_key: key.into(), received_at: at(1), payload: json!({ "key": key }) }
}

async fn connect(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

async fn has_raw_events_table(path: &std::path::Path) -> bool {
    let mut conn = connect(path).await;
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'raw_events'")
            .fetch_optional(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    found.is_some()
}

#[test]
fn the_intake_file_sits_beside_the_main_one() {
    let dir = std::path::Path::new("/var/lib/hark");
    assert_eq!(SqliteStore::intake_path(&dir.join("hark.db")), dir.join("hark-intake.db"));
    assert_eq!(SqliteStore::intake_path(&dir.join("bench")), dir.join("bench-intake"));
}

#[tokio::test]
async fn inbound_events_are_kept_in_the_intake_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("hark.db");
    let store = SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}"));
    let stored = store.append_raw_events(vec![raw("a"), raw("b")]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, vec![true, true]);
    drop(store);

    let intake = SqliteStore::intake_path(&main);
    let mut conn = connect(&intake).await;
    let keys: Vec<String> = sqlx::query_scalar("SELECT dedup_key FROM raw_events ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keys, vec!["a", "b"]);
    assert!(!has_raw_events_table(&main).await, "the main file keeps no inbound events");
}

#[tokio::test]
async fn a_database_from_before_the_intake_file_keeps_its_inbound_events() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("hark.db");
    drop(SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}")));
    // Put the file back as an older Hark left it: the events in the main
    // file (one handled, one still waiting, under the old table's ids), and
    // no intake file.
    std::fs::remove_file(SqliteStore::intake_path(&main)).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = connect(&main).await;
    for sql in [
        "CREATE TABLE raw_events (id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id TEXT NOT NULL, \
         dedup_key TEXT NOT NULL, received_at BIGINT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, \
         attempts BIGINT NOT NULL, locked_until BIGINT, processed_at BIGINT, last_error TEXT, \
         CONSTRAINT raw_events_dedup_unique UNIQUE (channel_id, dedup_key))",
        "INSERT INTO raw_events (id, channel_id, dedup_key, received_at, payload, state, attempts, processed_at) \
         VALUES (41, 'ch_1', 'handled', 1, '{}', 'done', 1, 2)",
        "INSERT INTO raw_events (id, channel_id, dedup_key, received_at, payload, state, attempts, locked_until) \
         VALUES (42, 'ch_1', 'waiting', 1, '{\"key\":\"waiting\"}', 'pending', 1, 99999999999999)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    conn.close().await.unwrap_or_else(|e| panic!("{e}"));

    let store = SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.raw_event_counts().await.ok(), Some(RawEventCounts { pending: 1, done: 1, failed: 0 }));
    // The waiting one is handed out again (its old claim died with the old process), under its old id.
    let claimed = store.claim_raw_events(at(10), 60_000, 10).await.unwrap_or_default();
    assert_eq!(claimed.iter().map(|e| (e.id, e.dedup_key.as_str())).collect::<Vec<_>>(), vec![(42, "waiting")]);
    assert_eq!(claimed[0].payload, json!({ "key": "waiting" }));
    // Both keys still deduplicate; new events get ids after the old ones.
    let again = store.append_raw_events(vec![raw("handled"), raw("waiting"), raw("new")]).await;
    assert_eq!(again.ok(), Some(vec![false, false, true]));
    let new = store.claim_raw_events(at(20), 1_000, 10).await.unwrap_or_default();
    assert!(new.iter().all(|e| e.id > 42), "{new:?}");
    drop(store);
    assert!(!has_raw_events_table(&main).await, "the old table is gone from the main file");
}

/// The writers leave checkpointing to connections of their own: what is
/// committed reaches the database file from the write-ahead log without
/// the writer's own threshold (64 MiB of log) being crossed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_are_checkpointed_beside_the_writers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("hark.db");
    let store = SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}"));
    let intake = SqliteStore::intake_path(&main);
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let before = size(&intake);
    let body = "x".repeat(1_000);
    let events: Vec<NewRawEvent> =
        (0..2_000).map(|n| NewRawEvent { payload: json!({ "n": n, "body": body }), ..raw(&format!("e{n}")) }).collect();
    store.append_raw_events(events).await.unwrap_or_else(|e| panic!("{e}"));
    // Polled, with a bound far beyond the quarter second between checkpoints.
    let mut grown = false;
    for _ in 0..400 {
        if size(&intake) > before + 1_000_000 {
            grown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(grown, "the intake file stayed at {} bytes: its log was never checkpointed", size(&intake));
}

/// The state of an event in the intake file, read from the file itself.
async fn state_in_file(path: &std::path::Path, key: &str) -> String {
    let mut conn = connect(path).await;
    sqlx::query_scalar("SELECT state FROM raw_events WHERE dedup_key = $1")
        .bind(key)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Marking an event done waits for the next claim's transaction rather
/// than taking the intake file's writer on its own; counts and claims still
/// see it done, and a process that stops first leaves it to be claimed again.
#[tokio::test]
async fn done_marks_are_written_with_the_next_claim() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("hark.db");
    let intake = SqliteStore::intake_path(&main);
    let store = SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}"));
    store.append_raw_events(vec![raw("a"), raw("b"), raw("c")]).await.unwrap_or_else(|e| panic!("{e}"));
    let claimed = store.claim_raw_events(at(2), 60_000, 2).await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<i64> = claimed.iter().map(|e| e.id).collect();
    let done: Vec<Write> = ids.iter().map(|&id| Write::FinishRawEvent { id, at: at(3) }).collect();
    store.commit(done).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state_in_file(&intake, "a").await, "pending", "held until the next claim");

    let next = store.claim_raw_events(at(4), 60_000, 10).await.unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = next.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys, ["c"], "the handled events are not claimed again");
    assert_eq!(state_in_file(&intake, "a").await, "done");
    assert_eq!(state_in_file(&intake, "b").await, "done");

    // Held marks are counted as done.
    store.commit(vec![Write::FinishRawEvent { id: next[0].id, at: at(5) }]).await.unwrap_or_else(|e| panic!("{e}"));
    let counts = store.raw_event_counts().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((counts.pending, counts.done), (0, 3));

    // A mark still held when the process stops is lost with it: the event
    // is claimed again after a restart (and ingesting it finds it stored).
    store.append_raw_events(vec![raw("d")]).await.unwrap_or_else(|e| panic!("{e}"));
    let d = store.claim_raw_events(at(6), 60_000, 10).await.unwrap_or_else(|e| panic!("{e}"));
    store.commit(vec![Write::FinishRawEvent { id: d[0].id, at: at(7) }]).await.unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let reopened = SqliteStore::open(&main).await.unwrap_or_else(|e| panic!("{e}"));
    let again = reopened.claim_raw_events(at(8), 60_000, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.iter().map(|e| e.dedup_key.as_str()).collect::<Vec<_>>(), ["d"]);
}
