//! The index end to end: each script, query syntax, tenancy, edits and deletes,
//! checkpoints across reopening, grouping, filters, and the feed-driven indexer.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use hark_search::{
    Change, ChangeBatch, ChangeOp, Direction, Feed, FeedError, Filters, IndexOptions, IndexerOptions, MessageDoc, Page,
    SearchIndex, SortOrder, Visibility, rebuild_with, run_indexer_with,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WS: &str = "ws-a";

fn options() -> IndexOptions {
    IndexOptions { writer_memory_bytes: 20 << 20, writer_threads: 1 }
}

fn msg(id: &str, conversation: &str, created_at: i64, text: &str) -> MessageDoc {
    MessageDoc {
        message_id: id.into(),
        conversation_id: conversation.into(),
        workspace_id: WS.into(),
        channel_id: "ch-x".into(),
        network: "x".into(),
        visibility: Visibility::Public,
        direction: Direction::Inbound,
        author: "contact-1".into(),
        language: None,
        created_at,
        text: text.into(),
    }
}

/// An index in memory holding `docs`, committed.
fn index_of(docs: &[MessageDoc]) -> Result<SearchIndex, Box<dyn std::error::Error>> {
    let index = SearchIndex::in_ram(&options())?;
    for d in docs {
        index.upsert(d)?;
    }
    index.commit(1)?;
    Ok(index)
}

/// Ids of the messages `query` finds in workspace A, newest first.
fn ids(index: &SearchIndex, query: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    ids_with(index, query, &Filters::default())
}

fn ids_with(index: &SearchIndex, query: &str, filters: &Filters) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let page = Page { order: SortOrder::Newest, limit: 100, offset: 0 };
    Ok(index.search(WS, query, filters, page)?.hits.into_iter().map(|h| h.message_id).collect())
}

#[test]
fn each_script_is_found_by_its_folded_form() -> TestResult {
    let index = index_of(&[
        msg("latin", "c1", 1, "Le Café était fermé"),
        msg("greek", "c2", 2, "ΚΑΘΥΣΤΈΡΗΣΗ στην πτήση"),
        msg("russian", "c3", 3, "Ёлка и посылку не привезли"),
        msg("chinese", "c4", 4, "我的行李丢了"),
        msg("arabic", "c5", 5, "مَرْحَبًا، أين طلبي؟"),
        msg("turkish", "c6", 6, "İSTANBUL uçuşu iptal"),
        msg("german", "c7", 7, "Die Straße ist gesperrt"),
    ])?;
    assert_eq!(ids(&index, "cafe ")?, ["latin"]);
    assert_eq!(ids(&index, "CAFÉ ")?, ["latin"]);
    assert_eq!(ids(&index, "καθυστερηση ")?, ["greek"]);
    assert_eq!(ids(&index, "Καθυστέρηση ")?, ["greek"]);
    assert_eq!(ids(&index, "елка ")?, ["russian"]);
    // Russian case forms meet through stemming: the message says посылку.
    assert_eq!(ids(&index, "посылка ")?, ["russian"]);
    assert_eq!(ids(&index, "行李")?, ["chinese"]);
    assert_eq!(ids(&index, "丢")?, ["chinese"]);
    assert_eq!(ids(&index, "我的行李")?, ["chinese"]);
    assert!(ids(&index, "行丢")?.is_empty());
    assert_eq!(ids(&index, "مرحبا ")?, ["arabic"]);
    assert_eq!(ids(&index, "اين ")?, ["arabic"]);
    assert_eq!(ids(&index, "istanbul ucusu ")?, ["turkish"]);
    assert_eq!(ids(&index, "strasse ")?, ["german"]);
    Ok(())
}

#[test]
fn phrases_prefixes_numbers_and_tags() -> TestResult {
    let index = index_of(&[
        msg("m1", "c1", 1, "My luggage was lost, order AB123456 #LostLuggage @AirSupport"),
        msg("m2", "c2", 2, "Lost my phone, the luggage is fine. Order AB999999"),
        msg("m3", "c3", 3, "Refund for order AB-777 please 👍"),
    ])?;
    assert_eq!(ids(&index, "\"luggage was lost\"")?, ["m1"]);
    assert_eq!(ids(&index, "luggage lost ")?, ["m2", "m1"]);
    assert_eq!(ids(&index, "lugg")?, ["m2", "m1"]);
    assert!(ids(&index, "lugg ")?.is_empty(), "a finished word is not a prefix");
    assert_eq!(ids(&index, "AB123456")?, ["m1"]);
    assert_eq!(ids(&index, "ab123456")?, ["m1"]);
    assert_eq!(ids(&index, "123456")?, ["m1"]);
    assert_eq!(ids(&index, "AB-777")?, ["m3"]);
    assert_eq!(ids(&index, "#lostluggage")?, ["m1"]);
    assert_eq!(ids(&index, "lostluggage ")?, ["m1"]);
    assert_eq!(ids(&index, "@airsupport")?, ["m1"]);
    assert_eq!(ids(&index, "#lost")?, ["m1"], "tags complete too");
    assert_eq!(ids(&index, "👍")?, ["m3"]);
    Ok(())
}

#[test]
fn hostile_queries_never_fail() -> TestResult {
    let index = index_of(&[msg("m1", "c1", 1, "and or not: text field value")])?;
    let long = "refund ".repeat(5000);
    let hostile = [
        "\"unbalanced",
        "\"\"\"",
        "AND OR NOT",
        "field:value",
        "text:\"x\" ~2 ^3",
        "*",
        "**?~^",
        "(((",
        "-",
        "",
        "   ",
        "\u{0}\u{1}\u{7f}\u{202e}",
        "\u{feff}\u{200d}",
        long.as_str(),
        "🇬",
        "#",
        "@",
        "a\u{0301}\u{0301}\u{0301}",
    ];
    for q in hostile {
        for order in [SortOrder::Newest, SortOrder::Relevance] {
            let page = Page { order, limit: usize::MAX, offset: usize::MAX };
            index.search(WS, q, &Filters::default(), page)?;
            index.search_conversations(WS, q, &Filters::default(), page)?;
        }
    }
    assert_eq!(ids(&index, "AND OR NOT")?, ["m1"], "operators are words");
    assert_eq!(ids(&index, "text:value")?, [] as [&str; 0], "field syntax is a phrase, not a field");
    assert_eq!(ids(&index, "field:value")?, ["m1"]);
    Ok(())
}

#[test]
fn a_workspace_never_sees_another() -> TestResult {
    let mut other = msg("b1", "cb", 2, "refund please");
    other.workspace_id = "ws-b".into();
    let index = index_of(&[msg("a1", "ca", 1, "refund please"), other])?;
    assert_eq!(ids(&index, "refund")?, ["a1"]);
    let b = index.search("ws-b", "refund", &Filters::default(), Page::default())?;
    assert_eq!(b.hits.iter().map(|h| h.message_id.as_str()).collect::<Vec<_>>(), ["b1"]);
    assert!(index.search("ws-c", "refund", &Filters::default(), Page::default())?.hits.is_empty());
    Ok(())
}

#[test]
fn edits_replace_and_deletes_remove() -> TestResult {
    let index = index_of(&[msg("m1", "c1", 1, "first version"), msg("m2", "c1", 2, "keep me")])?;
    index.upsert(&msg("m1", "c1", 1, "edited text"))?;
    index.delete("m2")?;
    index.delete("never-indexed")?;
    index.commit(2)?;
    assert!(ids(&index, "first")?.is_empty());
    assert_eq!(ids(&index, "edited")?, ["m1"]);
    assert!(ids(&index, "keep")?.is_empty());
    assert_eq!(index.num_docs(), 1);
    Ok(())
}

#[test]
fn the_checkpoint_survives_reopening() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let index = SearchIndex::open(dir.path(), &options())?;
        assert_eq!(index.checkpoint().cursor, 0);
        assert!(index.needs_rebuild());
        index.upsert(&msg("m1", "c1", 1, "durable words"))?;
        index.commit(42)?;
        index.upsert(&msg("m2", "c1", 2, "never committed"))?;
    }
    let index = SearchIndex::open(dir.path(), &options())?;
    assert_eq!(index.checkpoint().cursor, 42);
    assert_eq!(ids(&index, "durable")?, ["m1"]);
    assert!(ids(&index, "committed")?.is_empty());
    Ok(())
}

#[test]
fn orders_snippets_and_pages() -> TestResult {
    let index = index_of(&[
        msg("old", "c1", 100, "refund refund refund refund"),
        msg("new", "c2", 300, "I would like a refund for my ticket to Athens"),
        msg("mid", "c3", 200, "refund"),
    ])?;
    assert_eq!(ids(&index, "refund")?, ["new", "mid", "old"]);
    let relevance = Page { order: SortOrder::Relevance, limit: 10, offset: 0 };
    let ranked = index.search(WS, "refund", &Filters::default(), relevance)?;
    assert_eq!(ranked.total, 3);
    assert_eq!(ranked.hits.last().map(|h| h.message_id.as_str()), Some("new"), "the longest text ranks last");
    assert!(ranked.hits.windows(2).all(|w| w[0].score >= w[1].score));

    let page = Page { order: SortOrder::Newest, limit: 1, offset: 1 };
    let second = index.search(WS, "refund", &Filters::default(), page)?;
    assert_eq!(second.total, 3);
    let hit = second.hits.first().ok_or("no hit")?;
    assert_eq!((hit.message_id.as_str(), hit.conversation_id.as_str(), hit.created_at), ("mid", "c3", 200));

    let newest = index.search(WS, "athens refund", &Filters::default(), Page::default())?;
    let snippet = &newest.hits.first().ok_or("no hit")?.snippet;
    let marked: Vec<&str> = snippet.highlights.iter().map(|r| &snippet.text[r.clone()]).collect();
    assert_eq!(marked, ["refund", "Athens"]);
    Ok(())
}

#[test]
fn newest_first_and_relevance_hold_across_months_and_years() -> TestResult {
    const DAY: i64 = 24 * 3600 * 1000;
    let now = 1_780_000_000_000;
    let ages = [0, 1, 10, 40, 100, 400, 1000, 0];
    let docs: Vec<MessageDoc> = ages
        .iter()
        .enumerate()
        .map(|(n, age)| msg(&format!("m{n}"), &format!("c{n}"), now - age * DAY - n as i64, "refund please"))
        .collect();
    let index = index_of(&docs)?;
    assert_eq!(ids(&index, "refund")?, ["m0", "m7", "m1", "m2", "m3", "m4", "m5", "m6"]);
    let all = index.search(WS, "refund", &Filters::default(), Page { limit: 100, ..Page::default() })?;
    assert_eq!((all.total, all.total_exact), (8, true));

    let page = Page { order: SortOrder::Newest, limit: 2, offset: 3 };
    let middle = index.search(WS, "refund", &Filters::default(), page)?;
    assert_eq!(middle.hits.iter().map(|h| h.message_id.as_str()).collect::<Vec<_>>(), ["m2", "m3"]);
    assert!(middle.total >= 5 && middle.total <= 8);

    let relevance = Page { order: SortOrder::Relevance, limit: 100, offset: 0 };
    let ranked = index.search(WS, "refund", &Filters::default(), relevance)?;
    assert_eq!((ranked.hits.len(), ranked.total, ranked.total_exact), (8, 8, true));
    let old = Filters { created_before: Some(now - 300 * DAY), ..Filters::default() };
    assert_eq!(ids_with(&index, "refund", &old)?, ["m5", "m6"]);
    let grouped =
        index.search_conversations(WS, "refund", &Filters::default(), Page { limit: 3, ..Page::default() })?;
    let got: Vec<&str> = grouped.conversations.iter().map(|c| c.conversation_id.as_str()).collect();
    assert_eq!(got, ["c0", "c7", "c1"]);
    Ok(())
}

#[test]
fn conversations_group_their_hits() -> TestResult {
    let index = index_of(&[
        msg("a1", "conv-a", 1, "bag lost"),
        msg("a2", "conv-a", 5, "still no bag"),
        msg("b1", "conv-b", 3, "bag damaged"),
        msg("c1", "conv-c", 4, "all good"),
        msg("d1", "conv-d", 2, "where is my bag"),
    ])?;
    let grouped = index.search_conversations(WS, "bag", &Filters::default(), Page::default())?;
    let got: Vec<(&str, &str, usize)> = grouped
        .conversations
        .iter()
        .map(|c| (c.conversation_id.as_str(), c.best.message_id.as_str(), c.matches))
        .collect();
    assert_eq!(got, [("conv-a", "a2", 2), ("conv-b", "b1", 1), ("conv-d", "d1", 1)]);
    assert_eq!(grouped.total_messages, 4);
    assert!(grouped.complete);
    let second = Page { order: SortOrder::Newest, limit: 2, offset: 2 };
    let page = index.search_conversations(WS, "bag", &Filters::default(), second)?;
    assert_eq!(page.conversations.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), ["conv-d"]);
    Ok(())
}

#[test]
fn filters_narrow_by_channel_network_visibility_and_date() -> TestResult {
    let mut dm = msg("dm", "c2", 2_000, "refund please");
    dm.visibility = Visibility::Private;
    dm.channel_id = "ch-fb".into();
    dm.network = "facebook".into();
    let mut note = msg("note", "c2", 3_000, "refund approved by finance");
    note.visibility = Visibility::Note;
    note.direction = Direction::Outbound;
    note.author = "user-7".into();
    note.language = Some("en".into());
    let index = index_of(&[msg("public", "c1", 1_000, "refund please"), dm, note])?;
    let only = |f: Filters| ids_with(&index, "refund", &f);
    assert_eq!(only(Filters { channel_ids: vec!["ch-fb".into()], ..Filters::default() })?, ["dm"]);
    assert_eq!(only(Filters { networks: vec!["x".into()], ..Filters::default() })?, ["note", "public"]);
    let private_or_public = vec![Visibility::Private, Visibility::Public];
    assert_eq!(only(Filters { visibilities: private_or_public, ..Filters::default() })?, ["dm", "public"]);
    assert_eq!(only(Filters { directions: vec![Direction::Outbound], ..Filters::default() })?, ["note"]);
    assert_eq!(only(Filters { authors: vec!["user-7".into()], ..Filters::default() })?, ["note"]);
    assert_eq!(only(Filters { languages: vec!["en".into()], ..Filters::default() })?, ["note"]);
    assert_eq!(only(Filters { conversation_id: Some("c2".into()), ..Filters::default() })?, ["note", "dm"]);
    let range = Filters { created_from: Some(2_000), created_before: Some(3_000), ..Filters::default() };
    assert_eq!(only(range)?, ["dm"]);
    assert_eq!(only(Filters { created_from: Some(2_500), ..Filters::default() })?, ["note"]);
    Ok(())
}

/// A feed over a list held in memory, as the database would serve it.
#[derive(Default)]
struct MemoryFeed {
    changes: Mutex<Vec<Change>>,
    documents: Mutex<Vec<MessageDoc>>,
    /// When set, every read fails (the database is down).
    failing: Mutex<bool>,
    /// When set, pages of documents fail after this many more.
    pages_left: Mutex<Option<usize>>,
}

impl MemoryFeed {
    fn push(&self, op: ChangeOp) {
        if let Ok(mut changes) = self.changes.lock() {
            let cursor = changes.len() as i64 + 1;
            changes.push(Change { cursor, op });
        }
    }

    fn check(&self) -> Result<(), FeedError> {
        if self.failing.lock().map(|f| *f).unwrap_or(false) { Err("database unavailable".into()) } else { Ok(()) }
    }
}

#[async_trait]
impl Feed for MemoryFeed {
    async fn changes_after(&self, cursor: i64, limit: usize) -> Result<ChangeBatch, FeedError> {
        self.check()?;
        let changes = self.changes.lock().map_err(|_| "poisoned")?;
        let batch: Vec<Change> = changes.iter().filter(|c| c.cursor > cursor).take(limit).cloned().collect();
        let read_to = batch.last().map_or(cursor, |c| c.cursor);
        Ok(ChangeBatch { changes: batch, read_to })
    }

    async fn head(&self) -> Result<i64, FeedError> {
        self.check()?;
        Ok(self.changes.lock().map_err(|_| "poisoned")?.len() as i64)
    }

    async fn documents_after(&self, key: Option<&str>, limit: usize) -> Result<Vec<MessageDoc>, FeedError> {
        self.check()?;
        if let Ok(mut left) = self.pages_left.lock()
            && let Some(n) = left.as_mut()
        {
            if *n == 0 {
                return Err("connection reset".into());
            }
            *n -= 1;
        }
        let mut docs = self.documents.lock().map_err(|_| "poisoned")?.clone();
        docs.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        Ok(docs.into_iter().filter(|d| key.is_none_or(|k| d.message_id.as_str() > k)).take(limit).collect())
    }
}

fn quick() -> IndexerOptions {
    IndexerOptions {
        batch: 3,
        commit_interval: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        rebuild_page: 2,
        rebuild_commit_every: 3,
    }
}

/// Waits (bounded) until `check` holds on the index, waking the indexer meanwhile.
async fn eventually(index: &SearchIndex, wake: &Notify, check: impl Fn(&SearchIndex) -> bool) -> bool {
    for _ in 0..500 {
        if check(index) {
            return true;
        }
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn the_indexer_rebuilds_then_follows_the_feed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let feed = MemoryFeed::default();
    // What the database holds before the index exists: five messages, two changes already in the feed.
    if let Ok(mut docs) = feed.documents.lock() {
        for i in 0..5 {
            docs.push(msg(&format!("old-{i}"), "c-old", i, "archived complaint"));
        }
    }
    feed.push(ChangeOp::Upsert(msg("old-0", "c-old", 0, "archived complaint")));
    feed.push(ChangeOp::Upsert(msg("old-1", "c-old", 1, "archived complaint")));

    let index = SearchIndex::open(dir.path(), &options())?;
    let wake = Notify::new();
    let shutdown = CancellationToken::new();
    let pacing = quick();
    let run = run_indexer_with(&index, &feed, &shutdown, &wake, &pacing);
    let drive = async {
        let all_old = |i: &SearchIndex| {
            i.search(WS, "archived", &Filters::default(), Page::default()).map(|r| r.total == 5).unwrap_or(false)
        };
        assert!(eventually(&index, &wake, all_old).await, "rebuild indexes every stored message");
        assert_eq!(index.checkpoint().cursor, 2, "the rebuild starts following at the feed's head");

        for i in 0..7 {
            feed.push(ChangeOp::Upsert(msg(&format!("new-{i}"), "c-new", 100 + i, "fresh message")));
        }
        feed.push(ChangeOp::Upsert(msg("new-0", "c-new", 100, "edited message")));
        feed.push(ChangeOp::Delete { message_id: "old-4".into() });
        let followed = |i: &SearchIndex| i.checkpoint().cursor == 11;
        assert!(eventually(&index, &wake, followed).await, "the indexer reaches the feed's end");
        let found = |q: &str| index.search(WS, q, &Filters::default(), Page::default()).map(|r| r.total);
        assert_eq!(found("fresh")?, 6);
        assert_eq!(found("edited")?, 1);
        assert_eq!(found("archived")?, 4);

        // The database goes away for a while; the indexer waits and carries on.
        if let Ok(mut failing) = feed.failing.lock() {
            *failing = true;
        }
        feed.push(ChangeOp::Delete { message_id: "new-1".into() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(mut failing) = feed.failing.lock() {
            *failing = false;
        }
        assert!(eventually(&index, &wake, |i| i.checkpoint().cursor == 12).await);
        assert_eq!(found("fresh")?, 5);
        shutdown.cancel();
        Ok::<(), Box<dyn std::error::Error>>(())
    };
    let (ran, drove) = tokio::join!(run, drive);
    ran?;
    drove?;
    drop(index);

    // A restart resumes from the checkpoint without rebuilding.
    let reopened = SearchIndex::open(dir.path(), &options())?;
    assert!(!reopened.needs_rebuild());
    assert_eq!(reopened.checkpoint().cursor, 12);
    Ok(())
}

#[tokio::test]
async fn an_interrupted_rebuild_resumes_after_its_last_commit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let feed = MemoryFeed::default();
    if let Ok(mut docs) = feed.documents.lock() {
        for i in 0..10 {
            docs.push(msg(&format!("m{i:02}"), "c", i, "bulk text"));
        }
    }
    // The database fails on the fourth page: two pages of two are committed by then.
    if let Ok(mut left) = feed.pages_left.lock() {
        *left = Some(3);
    }
    let index = SearchIndex::open(dir.path(), &options())?;
    assert!(rebuild_with(&index, &feed, &quick()).await.is_err());
    drop(index);

    let index = SearchIndex::open(dir.path(), &options())?;
    assert!(index.needs_rebuild());
    assert_eq!(index.checkpoint().rebuild_after.as_deref(), Some("m03"));
    assert_eq!(index.num_docs(), 4);
    if let Ok(mut left) = feed.pages_left.lock() {
        *left = None;
    }
    let report = rebuild_with(&index, &feed, &quick()).await?;
    assert_eq!(report.documents, 6, "only what was not committed is read again");
    assert!(!index.needs_rebuild());
    assert_eq!(index.num_docs(), 10);

    // A rebuild of a complete index starts over rather than adding twice.
    let again = rebuild_with(&index, &feed, &quick()).await?;
    assert_eq!(again.documents, 10);
    assert_eq!(index.num_docs(), 10);
    Ok(())
}
