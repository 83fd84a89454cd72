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
use crate::index::{
    CONVERSATION_COLUMN, CREATED_AT_COLUMN, DAY_MS, Fields, SPAN_DAYS, SearchIndex, day_term, span_term,
};
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
    /// How many messages match: all of them when `total_exact`, otherwise at least this
    /// many (the search stopped once it had the page; see [`SearchIndex::search`]).
    pub total: usize,
    pub total_exact: bool,
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
    /// How many messages match: exactly when `total_exact`, otherwise at least this many.
    pub total_messages: usize,
    pub total_exact: bool,
    /// False when more messages matched than grouping looked at (at most the best 20,000):
    /// later pages may then miss conversations whose matches all rank below those.
    pub complete: bool,
}

impl SearchIndex {
    /// Searches one workspace's messages. `query` is what the person typed: words that must
    /// all match, `"quoted phrases"`, the last word completed as a prefix. Any input is
    /// accepted; a query with nothing searchable in it finds nothing.
    ///
    /// Recent messages are searched first: newest-first order stops as soon as the page is
    /// full (so `total` may be a lower bound), and relevance ranks the best of the most
    /// recent 2,000 or more matches (exact when fewer match).
    pub fn search(
        &self,
        workspace_id: &str,
        query: &str,
        filters: &Filters,
        page: Page,
    ) -> Result<SearchResults, SearchError> {
        let user_query = UserQuery::parse(query);
        let Some(full) = self.full_query(workspace_id, &user_query, filters) else {
            return Ok(SearchResults { hits: Vec::new(), total: 0, total_exact: true });
        };
        let searcher = self.inner.reader.searcher();
        let limit = page.limit.clamp(1, MAX_LIMIT);
        let offset = page.offset.min(MAX_OFFSET);
        let (ranked, counted) = ranked(&searcher, &self.inner.fields, full.as_ref(), page.order, limit, offset)?;
        let highlighter = user_query.highlighter();
        let hits = ranked
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, address, score, &highlighter))
            .collect::<Result<_, _>>()?;
        Ok(SearchResults { hits, total: counted.total, total_exact: counted.exact })
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
            return Ok(ConversationResults {
                conversations: Vec::new(),
                total_messages: 0,
                total_exact: true,
                complete: true,
            });
        };
        let searcher = self.inner.reader.searcher();
        let limit = page.limit.clamp(1, MAX_LIMIT);
        let offset = page.offset.min(MAX_OFFSET);
        let wanted = offset + limit;
        let mut window = (wanted * 4).clamp(64, MAX_GROUP_WINDOW);
        loop {
            let (ranked, counted) = ranked(&searcher, &self.inner.fields, full.as_ref(), page.order, window, 0)?;
            let exhausted = ranked.len() < window && counted.exact;
            let groups = group_by_conversation(&searcher, &ranked)?;
            if groups.len() >= wanted || exhausted || window >= MAX_GROUP_WINDOW {
                let complete = exhausted || (counted.exact && counted.total <= window);
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
                return Ok(ConversationResults {
                    conversations,
                    total_messages: counted.total,
                    total_exact: counted.exact,
                    complete,
                });
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

/// Relevance ranks at least this many matches (the most recent ones) before choosing the best.
const RELEVANCE_POOL: usize = 2_000;

/// How many messages matched: exact, or at least this many (when the search stopped early).
#[derive(Debug, Clone, Copy)]
struct Counted {
    total: usize,
    exact: bool,
}

/// The `limit` best hits after `offset` in `order`, with their scores, and how many matched.
///
/// Messages are visited in time windows, newest first (today, the rest of the current
/// 32-day span, the two spans before, the ten before those, then everything older), each
/// window one search. Newest first stops as soon as the page is full: the windows do not
/// overlap, so the hits so far are exactly the newest. Relevance stops once the windows
/// searched hold [`RELEVANCE_POOL`] matches and ranks those by BM25, so it prefers recent
/// messages among equally good ones and is exact whenever fewer messages match. Either
/// way a common word over millions of messages costs about as much as a rare one.
fn ranked(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    order: SortOrder,
    limit: usize,
    offset: usize,
) -> Result<(Vec<(f32, DocAddress)>, Counted), SearchError> {
    let wanted = offset + limit;
    let windows = windows(searcher, f)?;
    let mut found: Vec<(f32, DocAddress)> = Vec::new();
    let mut total = 0;
    for (n, window) in windows.iter().enumerate() {
        let windowed = BooleanQuery::new(vec![
            (Occur::Must, query.box_clone()),
            (Occur::Must, Box::new(ConstScoreQuery::new(window.box_clone(), 0.0))),
        ]);
        let last = n + 1 == windows.len();
        match order {
            SortOrder::Newest => {
                let top = TopDocs::with_limit(wanted - found.len())
                    .order_by_fast_field::<i64>(CREATED_AT_COLUMN, Order::Desc);
                let (docs, count) = searcher.search(&windowed, &(top, Count))?;
                total += count;
                found.extend(docs.into_iter().map(|(_, a)| (0.0, a)));
                if found.len() >= wanted {
                    return Ok((found.split_off(offset.min(found.len())), Counted { total, exact: last }));
                }
            }
            SortOrder::Relevance => {
                let (docs, count) =
                    searcher.search(&windowed, &(TopDocs::with_limit(wanted).order_by_score(), Count))?;
                total += count;
                found.extend(docs);
                if total >= RELEVANCE_POOL.max(wanted) && !last {
                    return Ok((best(found, offset, limit), Counted { total, exact: false }));
                }
            }
        }
    }
    let page = match order {
        SortOrder::Newest => found.into_iter().skip(offset).take(limit).collect(),
        SortOrder::Relevance => best(found, offset, limit),
    };
    Ok((page, Counted { total, exact: true }))
}

/// The page of `found` by descending score (ties: newer segment and document first).
fn best(mut found: Vec<(f32, DocAddress)>, offset: usize, limit: usize) -> Vec<(f32, DocAddress)> {
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    found.into_iter().skip(offset).take(limit).collect()
}

/// The time windows to search, newest first, covering all time between them.
fn windows(searcher: &Searcher, f: &Fields) -> Result<Vec<Box<dyn Query>>, SearchError> {
    let mut newest: Option<i64> = None;
    for segment in searcher.segment_readers() {
        if segment.num_docs() > 0 {
            let max = segment.fast_fields().i64(CREATED_AT_COLUMN)?.max_value();
            newest = Some(newest.map_or(max, |n: i64| n.max(max)));
        }
    }
    let Some(newest) = newest else { return Ok(Vec::new()) };
    let today = newest.div_euclid(DAY_MS);
    let span = today.div_euclid(SPAN_DAYS);
    let any_of = |terms: Vec<String>| -> Box<dyn Query> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms.iter().map(|t| (Occur::Should, term(f.period, t))).collect();
        Box::new(BooleanQuery::new(clauses))
    };
    let mut windows = vec![term(f.period, &day_term(today))];
    let earlier_days: Vec<String> = (span * SPAN_DAYS..today).map(day_term).collect();
    if !earlier_days.is_empty() {
        windows.push(any_of(earlier_days));
    }
    windows.push(any_of((span - 2..span).map(span_term).collect()));
    windows.push(any_of((span - 12..span - 2).map(span_term).collect()));
    let before = (span - 12) * SPAN_DAYS * DAY_MS;
    windows
        .push(Box::new(RangeQuery::new(Bound::Unbounded, Bound::Excluded(Term::from_field_i64(f.created_at, before)))));
    Ok(windows)
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
