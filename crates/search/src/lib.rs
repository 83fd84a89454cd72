//! Full-text search over messages, in every script Hark's customers write in.
//!
//! A [`SearchIndex`] (tantivy, on disk or in memory) holds one document per message. The
//! rest of Hark feeds it through the [`Feed`] trait, implemented over the database's
//! durable events table: [`run_indexer`] follows the feed and commits with the feed
//! cursor as a durable checkpoint, and [`rebuild`] re-indexes everything in bulk. Searches
//! are always confined to one workspace: [`SearchIndex::search`] returns messages,
//! [`SearchIndex::search_conversations`] one hit per conversation for the inbox.
//!
//! Text is cut by one analyzer for indexing and querying ([`analysis`]): Latin with accents
//! folded, Cyrillic with `ё` folded and Russian stemming, Greek without tonos, Arabic
//! normalised, Han and Kana as overlapping bigrams. Queries are built directly, never
//! through a query parser, so no input can make a search fail. See docs/search.md.

pub mod analysis;
pub mod bench;
mod document;
mod index;
mod indexer;
mod query;
mod search;
mod snippet;

pub use document::{Direction, MessageDoc, SearchError, Visibility};
pub use index::{Checkpoint, IndexOptions, SearchIndex};
pub use indexer::{
    Change, ChangeBatch, ChangeOp, Feed, FeedError, IndexerOptions, RebuildReport, rebuild, rebuild_with, run_indexer,
    run_indexer_with,
};
pub use search::{
    ConversationHit, ConversationResults, Filters, Hit, MAX_LIMIT, MAX_OFFSET, Page, SearchResults, SortOrder,
};
pub use snippet::Snippet;
