//! What a person types in the search box, turned into a query without a parser that can fail.
//!
//! The syntax is small on purpose: words (all must match), `"quoted phrases"`, and the last
//! word read as a prefix while it is still being typed. Anything else (operators, field
//! names, wildcards, unbalanced quotes, control characters) is just text: it is cut by the
//! same analyzer as the messages, so it matches what it says or matches nothing.

use std::collections::HashSet;

use tantivy::query::{BooleanQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::analysis::{Mode, TermKind, analyze};

/// A query longer than this (in characters) is cut; nobody types more into a search box.
const MAX_QUERY_CHARS: usize = 512;
/// At most this many words or phrases are matched; the rest of a pasted paragraph is ignored.
const MAX_CLAUSES: usize = 16;
/// At most this many terms of one phrase are matched.
const MAX_PHRASE_TERMS: usize = 32;
/// A prefix expands to at most this many indexed terms.
const MAX_PREFIX_EXPANSIONS: u32 = 64;
/// A prefix shorter than this (in characters) is matched as a whole word only.
const MIN_PREFIX_CHARS: usize = 2;

/// One thing that must match: a word or a phrase, as terms with their relative positions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Clause {
    terms: Vec<(usize, String)>,
    /// The last term may also be completed: any indexed term starting with this.
    prefix: Option<String>,
}

/// A parsed query.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserQuery {
    clauses: Vec<Clause>,
}

/// Which terms of a message to highlight for a query.
#[derive(Debug, Clone, Default)]
pub(crate) struct Highlighter {
    pub exact: HashSet<String>,
    pub prefixes: Vec<String>,
}

impl Highlighter {
    pub fn matches(&self, term: &str) -> bool {
        self.exact.contains(term) || self.prefixes.iter().any(|p| term.starts_with(p.as_str()))
    }
}

impl UserQuery {
    /// Parses whatever was typed. Never fails; a query of nothing searchable has no clauses.
    pub fn parse(input: &str) -> UserQuery {
        let input: String = input.chars().take(MAX_QUERY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
        let still_typing = input.chars().last().is_some_and(|c| !c.is_whitespace() && !is_quote(c));
        let mut clauses: Vec<Clause> = Vec::new();
        let mut last_is_word = false;
        for (segment, quoted) in segments(&input) {
            if quoted {
                if let Some(clause) = clause(segment) {
                    clauses.push(clause);
                }
                last_is_word = false;
            } else {
                for word in segment.split_whitespace() {
                    if let Some(clause) = clause(word) {
                        clauses.push(clause);
                        last_is_word = true;
                    }
                }
            }
        }
        if still_typing
            && last_is_word
            && let Some(last) = clauses.last_mut()
        {
            last.prefix = prefix_of(last_word(&input));
        }
        let mut seen = HashSet::new();
        clauses.retain(|c| seen.insert(c.clone()));
        clauses.truncate(MAX_CLAUSES);
        UserQuery { clauses }
    }

    /// The tantivy query on `field`: every clause must match.
    pub fn to_query(&self, field: Field) -> Option<Box<dyn Query>> {
        let parts: Vec<(Occur, Box<dyn Query>)> =
            self.clauses.iter().map(|c| (Occur::Must, clause_query(c, field))).collect();
        match parts.len() {
            0 => None,
            1 => parts.into_iter().next().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(parts))),
        }
    }

    pub fn highlighter(&self) -> Highlighter {
        let mut h = Highlighter::default();
        for c in &self.clauses {
            h.exact.extend(c.terms.iter().map(|(_, t)| t.clone()));
            h.prefixes.extend(c.prefix.iter().cloned());
        }
        h
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '«' | '»' | '„')
}

/// Splits the input at quotes into (text, quoted) pieces; an unclosed quote runs to the end.
fn segments(input: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if is_quote(c) {
            out.push((&input[start..i], quoted));
            quoted = !quoted;
            start = i + c.len_utf8();
        }
    }
    out.push((&input[start..], quoted));
    out.retain(|(s, _)| !s.trim().is_empty());
    out
}

fn clause(text: &str) -> Option<Clause> {
    let terms = analyze(text, Mode::Query);
    let first = terms.first()?.position;
    let terms = terms.into_iter().take(MAX_PHRASE_TERMS).map(|t| (t.position - first, t.text)).collect();
    Some(Clause { terms, prefix: None })
}

fn last_word(input: &str) -> &str {
    input.split_whitespace().last().unwrap_or("")
}

/// The prefix to complete for the word being typed: its last term's unstemmed form, when
/// that term is a word or tag long enough to be worth completing.
fn prefix_of(word: &str) -> Option<String> {
    let last = analyze(word, Mode::Query).pop()?;
    let long_enough = last.unstemmed.chars().filter(|c| *c != '#' && *c != '@').count() >= MIN_PREFIX_CHARS;
    (matches!(last.kind, TermKind::Word | TermKind::Tag) && long_enough).then_some(last.unstemmed)
}

fn clause_query(clause: &Clause, field: Field) -> Box<dyn Query> {
    let tantivy_term = |t: &str| tantivy::Term::from_field_text(field, t);
    let whole: Box<dyn Query> = match clause.terms.as_slice() {
        [(_, only)] => Box::new(TermQuery::new(tantivy_term(only), IndexRecordOption::WithFreqs)),
        terms => Box::new(PhraseQuery::new_with_offset(terms.iter().map(|(p, t)| (*p, tantivy_term(t))).collect())),
    };
    let Some(prefix) = &clause.prefix else { return whole };
    let mut with_prefix: Vec<(usize, tantivy::Term)> =
        clause.terms.iter().map(|(p, t)| (*p, tantivy_term(t))).collect();
    if let Some(last) = with_prefix.last_mut() {
        last.1 = tantivy_term(prefix);
    }
    let mut completed = PhrasePrefixQuery::new_with_offset(with_prefix);
    completed.set_max_expansions(MAX_PREFIX_EXPANSIONS);
    Box::new(BooleanQuery::new(vec![(Occur::Should, whole), (Occur::Should, Box::new(completed))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts the clauses `q` parses into, as (terms, prefix) pairs.
    fn check(q: &str, expected: &[(Vec<&str>, Option<&str>)]) {
        let parsed = UserQuery::parse(q);
        let got: Vec<(Vec<&str>, Option<&str>)> = parsed
            .clauses
            .iter()
            .map(|c| (c.terms.iter().map(|(_, t)| t.as_str()).collect(), c.prefix.as_deref()))
            .collect();
        assert_eq!(got, expected, "query {q:?}");
    }

    #[test]
    fn words_and_phrases_become_clauses() {
        check("refund \"lost bag\" ", &[(vec!["refund"], None), (vec!["lost", "bag"], None)]);
    }

    #[test]
    fn the_word_being_typed_is_a_prefix() {
        check("lost lugg", &[(vec!["lost"], None), (vec!["lugg"], Some("lugg"))]);
        check("lost lugg ", &[(vec!["lost"], None), (vec!["lugg"], None)]);
        // One letter is not worth completing; Han text and closed phrases are never completed.
        check("a", &[(vec!["a"], None)]);
        check("行李", &[(vec!["行李"], None)]);
        check("\"lost bag\"", &[(vec!["lost", "bag"], None)]);
    }

    #[test]
    fn operators_and_syntax_are_plain_text() {
        check("AND OR NOT ", &[(vec!["and"], None), (vec!["or"], None), (vec!["not"], None)]);
        check("text:refund* ", &[(vec!["text", "refund"], None)]);
        assert!(UserQuery::parse("*** ((( ]]] \"").clauses.is_empty());
    }

    #[test]
    fn unclosed_quotes_run_to_the_end() {
        check("refund \"lost bag", &[(vec!["refund"], None), (vec!["lost", "bag"], None)]);
    }

    #[test]
    fn long_queries_are_capped() {
        let long = "word ".repeat(10_000) + &"x".repeat(100_000);
        let parsed = UserQuery::parse(&long);
        assert!(parsed.clauses.len() <= MAX_CLAUSES);
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(UserQuery::parse(&many).clauses.len(), MAX_CLAUSES);
    }
}
