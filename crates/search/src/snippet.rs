//! A short piece of a message around what matched, as plain text with the matches marked
//! by byte ranges. Never HTML: whoever renders it escapes the text and wraps the ranges.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::analysis::{Mode, analyze};
use crate::query::Highlighter;

/// About how long a snippet is, in characters.
const SNIPPET_CHARS: usize = 160;
/// How much of the text before the first match a snippet keeps, in characters.
const LEAD_CHARS: usize = 40;
const ELLIPSIS: &str = "…";

/// A piece of a message with its matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// Plain text (line breaks and tabs as spaces), with `…` where the message was cut.
    pub text: String,
    /// Byte ranges of `text` that matched the query, in order and not overlapping.
    pub highlights: Vec<Range<usize>>,
}

/// Cuts the snippet of `text` for a query.
pub(crate) fn snippet(text: &str, highlighter: &Highlighter) -> Snippet {
    let mut ranges: Vec<Range<usize>> =
        analyze(text, Mode::Index).into_iter().filter(|t| highlighter.matches(&t.text)).map(|t| t.from..t.to).collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let ranges = merge(ranges);

    let total_chars = text.chars().count();
    let (start, end) = if total_chars <= SNIPPET_CHARS {
        (0, text.len())
    } else {
        let first = ranges.first().map_or(0, |r| r.start);
        let start = back_chars(text, first, LEAD_CHARS);
        let start = word_start(text, start, first);
        (start, forward_chars(text, start, SNIPPET_CHARS))
    };

    let mut out = String::with_capacity(end - start + 2 * ELLIPSIS.len());
    if start > 0 {
        out.push_str(ELLIPSIS);
    }
    let shift = out.len();
    // Control characters become as many spaces as they have bytes, so offsets still hold.
    for c in text[start..end].chars() {
        if c.is_control() {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    if end < text.len() {
        out.push_str(ELLIPSIS);
    }
    let highlights = ranges
        .into_iter()
        .filter(|r| r.start >= start && r.end <= end)
        .map(|r| r.start - start + shift..r.end - start + shift)
        .collect();
    Snippet { text: out, highlights }
}

fn merge(ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The byte offset `n` characters before `at`.
fn back_chars(text: &str, at: usize, n: usize) -> usize {
    text[..at].char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i)
}

/// The byte offset `n` characters after `at`.
fn forward_chars(text: &str, at: usize, n: usize) -> usize {
    text[at..].char_indices().nth(n).map_or(text.len(), |(i, _)| at + i)
}

/// Moves `start` forward to just after a space, when one lies before `limit`, so the
/// snippet does not open mid-word.
fn word_start(text: &str, start: usize, limit: usize) -> usize {
    if start == 0 {
        return 0;
    }
    text[start..limit].find(char::is_whitespace).map_or(start, |i| {
        let space = start + i;
        space + text[space..].chars().next().map_or(1, char::len_utf8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::UserQuery;

    fn marked(s: &Snippet) -> String {
        let mut out = String::new();
        let mut at = 0;
        for r in &s.highlights {
            out.push_str(&s.text[at..r.start]);
            out.push('[');
            out.push_str(&s.text[r.clone()]);
            out.push(']');
            at = r.end;
        }
        out.push_str(&s.text[at..]);
        out
    }

    #[test]
    fn short_messages_are_whole_with_matches_marked() {
        let s = snippet("My CAFÉ order\nwas lost", &UserQuery::parse("cafe lost ").highlighter());
        assert_eq!(marked(&s), "My [CAFÉ] order was [lost]");
    }

    #[test]
    fn long_messages_are_cut_around_the_first_match() {
        let text = format!("{} the refund never arrived {}", "filler ".repeat(40), "tail ".repeat(40));
        let s = snippet(&text, &UserQuery::parse("refund ").highlighter());
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
        assert_eq!(s.highlights.len(), 1);
        assert_eq!(s.highlights.first().map(|r| &s.text[r.clone()]), Some("refund"));
        assert!(s.text.chars().count() <= SNIPPET_CHARS + 2);
    }

    #[test]
    fn han_bigrams_merge_into_one_highlight() {
        let s = snippet("我的行李丢了", &UserQuery::parse("\"我的行李\"").highlighter());
        assert_eq!(marked(&s), "[我的行李]丢了");
    }

    #[test]
    fn prefixes_highlight_the_completed_word() {
        let s = snippet("Luggage lost in Madrid", &UserQuery::parse("lugg").highlighter());
        assert_eq!(marked(&s), "[Luggage] lost in Madrid");
    }
}
