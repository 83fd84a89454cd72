//! The index itself: its schema, opening it, writing to it, and its durable checkpoint.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::schema::{FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{ANALYZER_VERSION, MessageTokenizer, TOKENIZER_NAME};
use crate::document::{MessageDoc, SearchError};

/// How much the index may use while writing.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The writer's memory budget, shared by its threads: documents are buffered up to this
    /// before a segment is written. 64 MiB keeps a server lean while a bulk rebuild still
    /// writes segments of a few hundred thousand messages.
    pub writer_memory_bytes: usize,
    /// Indexing threads (each needs at least 15 MiB of the budget).
    pub writer_threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        IndexOptions { writer_memory_bytes: 64 << 20, writer_threads: cores.clamp(1, 2) }
    }
}

/// What the committed index contains, stored with each commit (tantivy's commit payload),
/// so a restart resumes where the last commit stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The feed cursor of the last change the committed index includes.
    pub cursor: i64,
    /// Whether a full build from the database has completed; until then the index needs a rebuild.
    pub built: bool,
    /// While a bulk rebuild is under way: the key of the last document it committed.
    pub rebuild_after: Option<String>,
}

/// The commit payload: the checkpoint and the analyzer it was built with.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    analyzer: u32,
    #[serde(flatten)]
    checkpoint: Checkpoint,
}

/// The fields of a message in the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub message_id: Field,
    pub conversation_id: Field,
    pub workspace_id: Field,
    pub channel_id: Field,
    pub network: Field,
    pub visibility: Field,
    pub direction: Field,
    pub author: Field,
    pub language: Field,
    pub created_at: Field,
    /// Coarse time buckets (`d<day>`, `s<span of 32 days>`) that let newest-first searches
    /// look at recent messages first.
    pub period: Field,
    pub text: Field,
}

/// Name of the conversation id's fast column, read when grouping hits by conversation.
pub(crate) const CONVERSATION_COLUMN: &str = "conversation_id";
/// Name of the creation time's fast column, used for newest-first order and date ranges.
pub(crate) const CREATED_AT_COLUMN: &str = "created_at";

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER_NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let fields = Fields {
        message_id: b.add_text_field("message_id", STRING | STORED),
        conversation_id: b.add_text_field(CONVERSATION_COLUMN, STRING | STORED | FAST),
        workspace_id: b.add_text_field("workspace_id", STRING),
        channel_id: b.add_text_field("channel_id", STRING),
        network: b.add_text_field("network", STRING),
        visibility: b.add_text_field("visibility", STRING),
        direction: b.add_text_field("direction", STRING),
        author: b.add_text_field("author", STRING),
        language: b.add_text_field("language", STRING),
        created_at: b.add_i64_field(CREATED_AT_COLUMN, FAST | STORED),
        period: b.add_text_field("period", STRING),
        text: b.add_text_field("text", TextOptions::default().set_indexing_options(text_indexing).set_stored()),
    };
    (b.build(), fields)
}

/// A full-text index of messages. Cheap to clone; clones share one index.
///
/// Writes (`upsert`, `delete`) are buffered and become visible to searches at the next
/// [`commit`](SearchIndex::commit). Every method blocks for at most a few milliseconds
/// (a commit for longer, as it syncs to disk); from async code, call it in
/// `tokio::task::spawn_blocking`. Only one `SearchIndex` may be open on a directory at a
/// time (tantivy holds a writer lock), so on several nodes each keeps its own index.
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    index: Index,
    pub reader: IndexReader,
    /// Adds and deletes share the writer; a commit takes it alone.
    writer: RwLock<IndexWriter>,
    pub fields: Fields,
    checkpoint: Mutex<Checkpoint>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (and the directory) if missing. The directory
    /// must belong to the index alone: an index built with another schema or analyzer
    /// version is deleted and recreated empty, and then [`needs_rebuild`](Self::needs_rebuild).
    pub fn open(dir: &Path, options: &IndexOptions) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let existing = Index::exists(&MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?)
            .map_err(tantivy::TantivyError::from)?;
        let mut index = None;
        if existing {
            match Index::open_in_dir(dir) {
                Ok(found)
                    if found.schema() == schema
                        && payload_of(&found)?.is_none_or(|p| p.analyzer == ANALYZER_VERSION) =>
                {
                    index = Some(found)
                }
                Ok(_) => tracing::warn!(dir = %dir.display(), "search index was built differently; recreating it"),
                Err(err) => tracing::warn!(dir = %dir.display(), %err, "search index unreadable; recreating it"),
            }
        }
        let index = match index {
            Some(index) => index,
            None => {
                if existing {
                    std::fs::remove_dir_all(dir)?;
                    std::fs::create_dir_all(dir)?;
                }
                Index::builder().schema(schema).create_in_dir(dir)?
            }
        };
        Self::from_index(index, fields, options)
    }

    /// An index in memory, for tests and benchmarks.
    pub fn in_ram(options: &IndexOptions) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let index = Index::builder().schema(schema).create_in_ram()?;
        Self::from_index(index, fields, options)
    }

    fn from_index(index: Index, fields: Fields, options: &IndexOptions) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(TOKENIZER_NAME, TextAnalyzer::from(MessageTokenizer::default()));
        let checkpoint = payload_of(&index)?.map(|p| p.checkpoint).unwrap_or_default();
        let threads = options.writer_threads.max(1);
        let budget = options.writer_memory_bytes.max(threads * 15_000_000 + 1_000_000);
        let writer = index.writer_with_num_threads(threads, budget)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: RwLock::new(writer),
                fields,
                checkpoint: Mutex::new(checkpoint),
            }),
        })
    }

    /// The checkpoint of the last commit.
    pub fn checkpoint(&self) -> Checkpoint {
        self.inner.checkpoint.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Whether the index has never been fully built from the database (it is new, was
    /// recreated, or a rebuild was interrupted): run [`crate::rebuild`] before following the feed.
    pub fn needs_rebuild(&self) -> bool {
        !self.checkpoint().built
    }

    /// Adds a message, replacing any earlier version with the same `message_id` (an edit).
    pub fn upsert(&self, doc: &MessageDoc) -> Result<(), SearchError> {
        let writer = self.inner.writer.read().map_err(|_| poisoned())?;
        writer.delete_term(Term::from_field_text(self.inner.fields.message_id, &doc.message_id));
        writer.add_document(self.to_document(doc))?;
        Ok(())
    }

    /// Adds a message known not to be in the index yet (a bulk rebuild after clearing it).
    pub(crate) fn add_new(&self, doc: &MessageDoc) -> Result<(), SearchError> {
        let writer = self.inner.writer.read().map_err(|_| poisoned())?;
        writer.add_document(self.to_document(doc))?;
        Ok(())
    }

    /// Removes a message (the customer deleted it). Deleting an unknown id does nothing.
    pub fn delete(&self, message_id: &str) -> Result<(), SearchError> {
        let writer = self.inner.writer.read().map_err(|_| poisoned())?;
        writer.delete_term(Term::from_field_text(self.inner.fields.message_id, message_id));
        Ok(())
    }

    /// Makes every write so far durable and visible, recording `cursor` as the feed
    /// position they include.
    pub fn commit(&self, cursor: i64) -> Result<(), SearchError> {
        let mut checkpoint = self.checkpoint();
        checkpoint.cursor = cursor;
        self.commit_checkpoint(checkpoint)
    }

    pub(crate) fn commit_checkpoint(&self, checkpoint: Checkpoint) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload { analyzer: ANALYZER_VERSION, checkpoint: checkpoint.clone() })
            .map_err(|e| SearchError::Task(e.to_string()))?;
        {
            let mut writer = self.inner.writer.write().map_err(|_| poisoned())?;
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
        }
        // Searches see the commit before its checkpoint is reported, so a caller that waits
        // for a cursor then finds what it covers.
        self.inner.reader.reload()?;
        *self.inner.checkpoint.lock().map_err(|_| poisoned())? = checkpoint;
        Ok(())
    }

    /// Drops every write since the last commit (after a failed batch, before retrying it).
    pub fn rollback(&self) -> Result<(), SearchError> {
        let mut writer = self.inner.writer.write().map_err(|_| poisoned())?;
        writer.rollback()?;
        Ok(())
    }

    /// Removes every message (a rebuild starts from nothing); takes effect at the next commit.
    pub(crate) fn clear(&self) -> Result<(), SearchError> {
        let writer = self.inner.writer.read().map_err(|_| poisoned())?;
        writer.delete_all_documents()?;
        Ok(())
    }

    /// Messages visible to searches now.
    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Segments in the committed index (background merges lower it).
    pub fn segment_count(&self) -> Result<usize, SearchError> {
        Ok(self.inner.index.searchable_segment_ids()?.len())
    }

    /// Deletes the files that merges and commits left unused.
    pub fn collect_garbage(&self) -> Result<(), SearchError> {
        let writer = self.inner.writer.read().map_err(|_| poisoned())?;
        writer.garbage_collect_files().wait()?;
        Ok(())
    }

    fn to_document(&self, doc: &MessageDoc) -> TantivyDocument {
        let f = &self.inner.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.message_id, &doc.message_id);
        d.add_text(f.conversation_id, &doc.conversation_id);
        d.add_text(f.workspace_id, &doc.workspace_id);
        d.add_text(f.channel_id, &doc.channel_id);
        d.add_text(f.network, &doc.network);
        d.add_text(f.visibility, doc.visibility.as_str());
        d.add_text(f.direction, doc.direction.as_str());
        d.add_text(f.author, &doc.author);
        if let Some(language) = &doc.language {
            d.add_text(f.language, language);
        }
        d.add_i64(f.created_at, doc.created_at);
        let day = doc.created_at.div_euclid(DAY_MS);
        d.add_text(f.period, day_term(day));
        d.add_text(f.period, span_term(day.div_euclid(SPAN_DAYS)));
        d.add_text(f.text, &doc.text);
        d
    }
}

/// A day in milliseconds, and the days in one span: the two sizes of time bucket.
pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;
pub(crate) const SPAN_DAYS: i64 = 32;

pub(crate) fn day_term(day: i64) -> String {
    format!("d{day}")
}

pub(crate) fn span_term(span: i64) -> String {
    format!("s{span}")
}

fn payload_of(index: &Index) -> Result<Option<Payload>, SearchError> {
    let metas = index.load_metas()?;
    Ok(metas.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()))
}

fn poisoned() -> SearchError {
    SearchError::Task("the index writer lock was poisoned by a panic".into())
}
