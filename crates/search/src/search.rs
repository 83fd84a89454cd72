//! Searching: always inside one workspace, with filters, newest first or by relevance,
//! message by message or one hit per conversation.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use crate::document::{Direction, SearchError, Visibility};
use crate::index::{CONVERSATION_COLUMN, CREATED_AT_COLUMN, Fields, SearchIndex};
use crate::query::{Highlighter, UserQuery};
use crate::snippet::{Snippet, snippet};

/// A page holds at most this many hits.
pub const MAX_LIMIT: usize = 100;
/// Pages start at most this deep; past it, narrow the search with filters.
pub const MAX_OFFSET: usize = 10_000;
/// Grouping by conversation looks at most at this many of the best-ranked messages.
const MAX_GROUP_WINDOW: usize = 20_000;

/// Narrows a search. Empty lists mean "any"; several values in one list mean "any of these".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub channel_ids: Vec<String>,
    pub networks: Vec<String>,
    pub visibilities: Vec<Visibility>,
    pub directions: Vec<Direction>,
    /// Contact or user ids.
    pub authors: Vec<String>,
    pub languages: Vec<String>,
    /// Only this conversation (search within a thread).
    pub conversation_id: Option<String>,
    /// Created at or after this instant (ms since the epoch).
    pub created_from: Option<i64>,
    /// Created before this instant (ms since the epoch).
    pub created_before: Option<i64>,
}

/// The order of hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Most recent first: what an inbox search shows.
    #[default]
    Newest,
    /// Best match first (BM25).
    Relevance,
}

/// Which slice of the hits to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub order: SortOrder,
    /// Hits per page, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip, at most [`MAX_OFFSET`].
    pub offset: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page { order: SortOrder::Newest, limit: 20, offset: 0 }
    }
}

/// One matching message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub message_id: String,
    pub conversation_id: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// BM25 relevance when ordered by relevance; 0 when ordered by time.
    pub score: f32,
    pub snippet: Snippet,
}

/// A page of matching messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// How many messages match in all.
    pub total: usize,
}

/// The best matching message of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationHit {
    pub conversation_id: String,
    /// Its newest (or most relevant) matching message.
    pub best: Hit,
    /// Its matching messages among those looked at (see [`ConversationResults::complete`]).
    pub matches: usize,
}

/// A page of conversations with matches, one hit each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationResults {
    pub conversations: Vec<ConversationHit>,
    /// How many messages match in all.
    pub total_messages: usize,
    /// False when more messages matched than grouping looks at (the best 20,000): later
    /// pages may then miss conversations whose matches all rank below that.
    pub complete: bool,
}

impl SearchIndex {
    /// Searches one workspace's messages. `query` is what the person typed: words that must
    /// all match, `"quoted phrases"`, the last word completed as a prefix. Any input is
    /// accepted; a query with nothing searchable in it finds nothing.
    pub fn search(
        &self,
        workspace_id: &str,
        query: &str,
        filters: &Filters,
        page: Page,
    ) -> Result<SearchResults, SearchError> {
        let user_query = UserQuery::parse(query);
        let Some(full) = self.full_query(workspace_id, &user_query, filters) else {
            return Ok(SearchResults { hits: Vec::new(), total: 0 });
        };
        let searcher = self.inner.reader.searcher();
        let limit = page.limit.clamp(1, MAX_LIMIT);
        let offset = page.offset.min(MAX_OFFSET);
        let (ranked, total) = ranked(&searcher, full.as_ref(), page.order, limit, offset)?;
        let highlighter = user_query.highlighter();
        let hits = ranked
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, address, score, &highlighter))
            .collect::<Result<_, _>>()?;
        Ok(SearchResults { hits, total })
    }

    /// Like [`search`](Self::search), but one hit per conversation (its best match in the
    /// page's order), for the inbox; `page` counts conversations.
    pub fn search_conversations(
        &self,
        workspace_id: &str,
        query: &str,
        filters: &Filters,
        page: Page,
    ) -> Result<ConversationResults, SearchError> {
        let user_query = UserQuery::parse(query);
        let Some(full) = self.full_query(workspace_id, &user_query, filters) else {
            return Ok(ConversationResults { conversations: Vec::new(), total_messages: 0, complete: true });
        };
        let searcher = self.inner.reader.searcher();
        let limit = page.limit.clamp(1, MAX_LIMIT);
        let offset = page.offset.min(MAX_OFFSET);
        let wanted = offset + limit;
        let mut window = (wanted * 4).clamp(64, MAX_GROUP_WINDOW);
        loop {
            let (ranked, total) = ranked(&searcher, full.as_ref(), page.order, window, 0)?;
            let exhausted = ranked.len() < window;
            let groups = group_by_conversation(&searcher, &ranked)?;
            if groups.len() >= wanted || exhausted || window >= MAX_GROUP_WINDOW {
                let complete = exhausted || total <= window;
                let highlighter = user_query.highlighter();
                let conversations = groups
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|g| {
                        let best = self.hit(&searcher, g.best.1, g.best.0, &highlighter)?;
                        Ok(ConversationHit { conversation_id: g.conversation_id, best, matches: g.matches })
                    })
                    .collect::<Result<_, SearchError>>()?;
                return Ok(ConversationResults { conversations, total_messages: total, complete });
            }
            window = (window * 4).min(MAX_GROUP_WINDOW);
        }
    }

    /// The text query within the workspace and filters; `None` when nothing was typed.
    fn full_query(&self, workspace_id: &str, user_query: &UserQuery, filters: &Filters) -> Option<Box<dyn Query>> {
        let f = &self.inner.fields;
        let text = user_query.to_query(f.text)?;
        let mut constraints: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term(f.workspace_id, workspace_id))];
        let mut any_of = |field: Field, values: Vec<&str>| {
            if !values.is_empty() {
                constraints.push((Occur::Must, terms(field, values)));
            }
        };
        any_of(f.channel_id, filters.channel_ids.iter().map(String::as_str).collect());
        any_of(f.network, filters.networks.iter().map(String::as_str).collect());
        any_of(f.visibility, filters.visibilities.iter().map(|v| v.as_str()).collect());
        any_of(f.direction, filters.directions.iter().map(|d| d.as_str()).collect());
        any_of(f.author, filters.authors.iter().map(String::as_str).collect());
        any_of(f.language, filters.languages.iter().map(String::as_str).collect());
        any_of(f.conversation_id, filters.conversation_id.iter().map(String::as_str).collect());
        if filters.created_from.is_some() || filters.created_before.is_some() {
            constraints.push((Occur::Must, created_between(f, filters.created_from, filters.created_before)));
        }
        // The constraints only select; relevance comes from the text alone.
        let constraints = ConstScoreQuery::new(Box::new(BooleanQuery::new(constraints)), 0.0);
        Some(Box::new(BooleanQuery::new(vec![(Occur::Must, text), (Occur::Must, Box::new(constraints))])))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        score: f32,
        highlighter: &Highlighter,
    ) -> Result<Hit, SearchError> {
        let f: &Fields = &self.inner.fields;
        let doc: TantivyDocument = searcher.doc(address)?;
        let text_of = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let text = text_of(f.text);
        Ok(Hit {
            message_id: text_of(f.message_id),
            conversation_id: text_of(f.conversation_id),
            created_at: doc.get_first(f.created_at).and_then(|v| v.as_i64()).unwrap_or_default(),
            score,
            snippet: snippet(&text, highlighter),
        })
    }
}

fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

fn terms(field: Field, values: Vec<&str>) -> Box<dyn Query> {
    match values.as_slice() {
        [one] => term(field, one),
        _ => Box::new(TermSetQuery::new(values.into_iter().map(|v| Term::from_field_text(field, v)))),
    }
}

fn created_between(f: &Fields, from: Option<i64>, before: Option<i64>) -> Box<dyn Query> {
    let lower = from.map_or(Bound::Unbounded, |ms| Bound::Included(Term::from_field_i64(f.created_at, ms)));
    let upper = before.map_or(Bound::Unbounded, |ms| Bound::Excluded(Term::from_field_i64(f.created_at, ms)));
    Box::new(RangeQuery::new(lower, upper))
}

/// The `limit` best hits after `offset` in `order`, with their scores, and the total count.
fn ranked(
    searcher: &Searcher,
    query: &dyn Query,
    order: SortOrder,
    limit: usize,
    offset: usize,
) -> Result<(Vec<(f32, DocAddress)>, usize), SearchError> {
    let top = TopDocs::with_limit(limit).and_offset(offset);
    Ok(match order {
        SortOrder::Newest => {
            let (docs, total) =
                searcher.search(query, &(top.order_by_fast_field::<i64>(CREATED_AT_COLUMN, Order::Desc), Count))?;
            (docs.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
        }
        SortOrder::Relevance => searcher.search(query, &(top.order_by_score(), Count))?,
    })
}

/// One conversation's best hit among the ranked ones.
struct Group {
    conversation_id: String,
    best: (f32, DocAddress),
    matches: usize,
}

/// Groups ranked hits by conversation, keeping the rank order of each group's best hit.
fn group_by_conversation(searcher: &Searcher, ranked: &[(f32, DocAddress)]) -> Result<Vec<Group>, SearchError> {
    let mut columns: HashMap<u32, Option<StrColumn>> = HashMap::new();
    // Term ordinals are per segment; the id string joins segments.
    let mut names: HashMap<(u32, u64), String> = HashMap::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut buffer = String::new();
    for &(score, address) in ranked {
        let column = match columns.entry(address.segment_ord) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                e.insert(searcher.segment_reader(address.segment_ord).fast_fields().str(CONVERSATION_COLUMN)?)
            }
        };
        let Some(column) = column else { continue };
        let Some(ord) = column.term_ords(address.doc_id).next() else { continue };
        let name = match names.entry((address.segment_ord, ord)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                buffer.clear();
                column.ord_to_str(ord, &mut buffer)?;
                e.insert(buffer.clone())
            }
        };
        match index_of.get(name.as_str()) {
            Some(&i) => {
                if let Some(g) = groups.get_mut(i) {
                    g.matches += 1;
                }
            }
            None => {
                index_of.insert(name.clone(), groups.len());
                groups.push(Group { conversation_id: name.clone(), best: (score, address), matches: 1 });
            }
        }
    }
    Ok(groups)
}
