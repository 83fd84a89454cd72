//! Full-text search wired to the database: the index follows the durable
//! events table (every node keeps its own index in its data directory and
//! follows the same table), and the inbox asks it for conversations.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use hark_domain::{Direction, Event, Message, Visibility};
use hark_search::{Change, ChangeBatch, ChangeOp, Feed, FeedError, IndexOptions, MessageDoc, SearchIndex};
use hark_store::{Page, Store};
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The index, its feed and the task that keeps it current.
#[derive(Clone)]
pub struct Search {
    pub index: SearchIndex,
    store: Arc<dyn Store>,
}

impl Search {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path, store: Arc<dyn Store>) -> anyhow::Result<Search> {
        let index = SearchIndex::open(dir, &IndexOptions::default())
            .map_err(|e| anyhow::anyhow!("cannot open the search index in {}: {e}", dir.display()))?;
        Ok(Search { index, store })
    }

    /// Re-indexes every message from the database in bulk; returns how many.
    pub async fn rebuild(&self) -> anyhow::Result<u64> {
        let feed = EventFeed { store: self.store.clone() };
        let report = hark_search::rebuild(&self.index, &feed).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(report.documents)
    }

    /// Follows the events table until `shutdown`, woken by every commit.
    pub fn spawn(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let wake = Arc::new(Notify::new());
        let mut head = self.store.event_head();
        let waker = wake.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    changed = head.changed() => {
                        if changed.is_err() { return; }
                        waker.notify_one();
                    }
                }
            }
        });
        let search = self.clone();
        tokio::spawn(async move {
            let feed = EventFeed { store: search.store.clone() };
            if let Err(err) = hark_search::run_indexer(&search.index, &feed, &shutdown, &wake).await {
                tracing::error!(%err, "the search indexer stopped");
            }
        })
    }
}

/// The events table as the search index's feed.
struct EventFeed {
    store: Arc<dyn Store>,
}

fn document(m: &Message) -> MessageDoc {
    MessageDoc {
        message_id: m.id.clone(),
        conversation_id: m.conversation_id.clone(),
        workspace_id: m.workspace_id.clone(),
        channel_id: m.channel_id.clone(),
        network: String::new(),
        visibility: match m.visibility {
            Visibility::Public => hark_search::Visibility::Public,
            Visibility::Private => hark_search::Visibility::Private,
            Visibility::Note => hark_search::Visibility::Note,
        },
        direction: match m.direction {
            Direction::Inbound => hark_search::Direction::Inbound,
            Direction::Outbound => hark_search::Direction::Outbound,
        },
        author: m.author_user_id.clone().or_else(|| m.author_contact_id.clone()).unwrap_or_default(),
        language: m.language.clone(),
        created_at: m.created_at.as_millisecond(),
        text: m.text.clone(),
    }
}

fn op(m: &Message) -> ChangeOp {
    if m.deleted_at.is_some() || m.text.is_empty() {
        ChangeOp::Delete { message_id: m.id.clone() }
    } else {
        ChangeOp::Upsert(document(m))
    }
}

impl EventFeed {
    async fn changes_of(&self, event: &Event, cursor: i64) -> Result<Vec<Change>, FeedError> {
        match event.kind.as_str() {
            "message.created" | "message.updated" => {
                let message = Message::deserialize(&*event.payload)?;
                Ok(vec![Change { cursor, op: op(&message) }])
            }
            // The merged conversation's messages now belong to the other one.
            "conversation.merged" => {
                let mut changes = vec![];
                let mut page = Page::first(Page::MAX_LIMIT);
                loop {
                    let mut rows = self.store.messages(&event.subject_id, &page).await?;
                    let more = rows.len() > Page::MAX_LIMIT as usize;
                    rows.truncate(Page::MAX_LIMIT as usize);
                    changes.extend(rows.iter().map(|m| Change { cursor, op: op(m) }));
                    match rows.last().filter(|_| more) {
                        Some(last) => page.after = Some(hark_store::Cursor::of_message(last).encode()),
                        None => return Ok(changes),
                    }
                }
            }
            _ => Ok(vec![]),
        }
    }
}

#[async_trait]
impl Feed for EventFeed {
    async fn changes_after(&self, cursor: i64, limit: usize) -> Result<ChangeBatch, FeedError> {
        let events = self.store.events_since(cursor, limit.clamp(1, 5000) as u32).await?;
        let mut changes = vec![];
        let mut read_to = cursor;
        for event in &events {
            let id: i64 = event.id.parse().unwrap_or(read_to);
            changes.extend(self.changes_of(event, id).await?);
            read_to = id;
        }
        Ok(ChangeBatch { changes, read_to })
    }

    async fn head(&self) -> Result<i64, FeedError> {
        Ok(self.store.last_event_id().await?)
    }

    async fn documents_after(&self, key: Option<&str>, limit: usize) -> Result<Vec<MessageDoc>, FeedError> {
        let messages = self.store.messages_after_id(key, limit.clamp(1, 10_000) as u32).await?;
        Ok(messages.iter().filter(|m| m.deleted_at.is_none() && !m.text.is_empty()).map(document).collect())
    }
}

impl hark_web::search::ConversationSearch for Search {
    fn conversation_ids<'a>(
        &'a self,
        workspace_id: &'a str,
        query: &'a str,
        limit: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + Send + 'a>> {
        let index = self.index.clone();
        let (workspace, text) = (workspace_id.to_owned(), query.to_owned());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut ids = vec![];
                let mut offset = 0;
                while ids.len() < limit {
                    let page = hark_search::Page {
                        order: hark_search::SortOrder::Newest,
                        limit: hark_search::MAX_LIMIT,
                        offset,
                    };
                    let found = index
                        .search_conversations(&workspace, &text, &hark_search::Filters::default(), page)
                        .map_err(|e| e.to_string())?;
                    let n = found.conversations.len();
                    ids.extend(found.conversations.into_iter().map(|c| c.conversation_id));
                    if n < hark_search::MAX_LIMIT || offset + n >= hark_search::MAX_OFFSET {
                        break;
                    }
                    offset += n;
                }
                ids.truncate(limit);
                Ok(ids)
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }
}
