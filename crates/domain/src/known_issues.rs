//! Known issues: announcements (an outage, a price change, a launch, a
//! campaign) that supervisors post with keywords and a time window, and the
//! matching of new messages against them.
//!
//! Matching ignores case and accents in every script ("Ελλάδα" = "ελλαδα",
//! "Café" = "cafe", "İade" = "iade"). A keyword of letters and digits matches
//! whole words in order ("black friday" matches "Black-Friday deals" and the
//! hashtag "#blackfriday"); a trailing `*` matches any ending ("refund*"
//! matches "refunded", "сбо*" matches "сбой" and "сбоя"). Keywords in
//! scripts written without spaces (Chinese, Japanese, Thai) match anywhere in
//! the text.
//!
//! This module also holds the text folding the CSAT parser and surge terms use.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use utoipa::ToSchema;

use crate::InvalidValue;

/// What kind of event an announcement is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnownIssueKind {
    Outage,
    PriceChange,
    Launch,
    Campaign,
    Other,
}

/// An announcement agents see as a banner while it is active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnownIssue {
    pub id: String,
    pub workspace_id: String,
    pub kind: KnownIssueKind,
    pub title: String,
    /// What agents should know (shown in the banner).
    pub body: String,
    /// Words or phrases that link a new message to this issue (see the module docs).
    pub keywords: Vec<String>,
    /// Channels it concerns; empty means every channel of the workspace.
    #[serde(default)]
    pub channel_ids: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    /// Open-ended when `None`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    /// The reply agents can send in bulk to the matching conversations.
    pub prepared_reply: Option<String>,
}

/// At most this many keywords per announcement, each at most this many characters.
pub const MAX_KEYWORDS: usize = 50;
pub const MAX_KEYWORD_CHARS: usize = 100;

impl KnownIssue {
    /// Checks what an admin typed: a title, 1–50 keywords that keep a letter
    /// or digit once folded, and a window that ends after it starts.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.title.trim().is_empty() {
            return Err(InvalidValue::new("title", "must not be empty"));
        }
        if self.keywords.is_empty() || self.keywords.len() > MAX_KEYWORDS {
            return Err(InvalidValue::new("keywords", format!("give between 1 and {MAX_KEYWORDS} keywords")));
        }
        for keyword in &self.keywords {
            if keyword.chars().count() > MAX_KEYWORD_CHARS {
                return Err(InvalidValue::new(
                    "keywords",
                    format!("{keyword:?} is longer than {MAX_KEYWORD_CHARS} characters"),
                ));
            }
            if Keyword::new(keyword).is_none() {
                return Err(InvalidValue::new("keywords", format!("{keyword:?} has no letters or digits to match")));
            }
        }
        if let Some(ends_at) = self.ends_at
            && ends_at <= self.starts_at
        {
            return Err(InvalidValue::new("ends_at", "must be after starts_at"));
        }
        Ok(())
    }

    /// Whether the announcement is in force at `at` (start included, end excluded).
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.starts_at <= at && self.ends_at.is_none_or(|end| at < end)
    }

    /// The keywords a message on `channel_id` written at `at` matches; empty
    /// when the issue is not active then, concerns other channels, or nothing matches.
    pub fn matching_keywords(&self, text: &str, channel_id: &str, at: Timestamp) -> Vec<&str> {
        if !self.is_active(at) || !(self.channel_ids.is_empty() || self.channel_ids.iter().any(|c| c == channel_id)) {
            return vec![];
        }
        let message = MessageWords::new(text);
        self.keywords
            .iter()
            .filter(|k| Keyword::new(k).is_some_and(|keyword| keyword.matches(&message)))
            .map(String::as_str)
            .collect()
    }

    pub fn matches(&self, text: &str, channel_id: &str, at: Timestamp) -> bool {
        !self.matching_keywords(text, channel_id, at).is_empty()
    }
}

/// The ids of the issues a new message matches, in the given order.
pub fn matching_issues<'a>(issues: &'a [KnownIssue], text: &str, channel_id: &str, at: Timestamp) -> Vec<&'a str> {
    issues.iter().filter(|issue| issue.matches(text, channel_id, at)).map(|issue| issue.id.as_str()).collect()
}

/// A folded keyword, ready to match.
struct Keyword {
    /// Folded words in order; for unspaced scripts a single piece matched anywhere.
    words: Vec<String>,
    prefix: bool,
    anywhere: bool,
}

impl Keyword {
    fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        let (body, prefix) = match trimmed.strip_suffix('*') {
            Some(body) => (body, true),
            None => (trimmed, false),
        };
        let folded = fold(body);
        if folded.chars().any(is_unspaced) {
            let piece: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
            return (!piece.is_empty()).then(|| Self { words: vec![piece], prefix: false, anywhere: true });
        }
        let words: Vec<String> = word_runs(&folded).map(str::to_owned).collect();
        (!words.is_empty()).then_some(Self { words, prefix, anywhere: false })
    }

    fn matches(&self, message: &MessageWords) -> bool {
        if self.anywhere {
            return message.letters.contains(&self.words[0]);
        }
        let n = self.words.len();
        let word_matches = |have: &str, want: &str, last: bool| {
            if last && self.prefix { have.starts_with(want) } else { have == want }
        };
        let in_order = message.words.windows(n).any(|window| {
            window.iter().zip(&self.words).enumerate().all(|(i, (have, want))| word_matches(have, want, i == n - 1))
        });
        // "black friday" also matches the hashtag "#BlackFriday".
        in_order || (n > 1 && message.words.iter().any(|w| word_matches(w, &self.words.concat(), true)))
    }
}

/// A message folded and cut into words, once, for matching many keywords.
struct MessageWords {
    words: Vec<String>,
    /// The folded letters and digits with everything else removed (for unspaced scripts).
    letters: String,
}

impl MessageWords {
    fn new(text: &str) -> Self {
        let folded = fold(text);
        Self {
            words: word_runs(&folded).map(str::to_owned).collect(),
            letters: folded.chars().filter(|c| c.is_alphanumeric()).collect(),
        }
    }
}

/// Runs of letters and digits; a change between an unspaced script and
/// another one also ends a run ("wifi断了" is "wifi", "断了").
pub(crate) fn word_runs(folded: &str) -> impl Iterator<Item = &str> {
    let mut runs = vec![];
    let mut start: Option<(usize, bool)> = None;
    for (i, c) in folded.char_indices() {
        let alnum = c.is_alphanumeric();
        match start {
            Some((s, unspaced)) if !alnum || is_unspaced(c) != unspaced => {
                runs.push(&folded[s..i]);
                start = alnum.then_some((i, is_unspaced(c)));
            }
            None if alnum => start = Some((i, is_unspaced(c))),
            _ => {}
        }
    }
    if let Some((s, _)) = start {
        runs.push(&folded[s..]);
    }
    runs.into_iter()
}

/// Scripts written without spaces between words: Han, kana, Thai, Lao, Khmer, Myanmar.
pub(crate) fn is_unspaced(c: char) -> bool {
    crate::spikes::is_han(c)
        || matches!(c, '\u{3040}'..='\u{30FF}' | '\u{0E00}'..='\u{0EFF}' | '\u{1780}'..='\u{17FF}' | '\u{1000}'..='\u{109F}')
}

/// Lower case without accents: NFD, combining marks dropped, final sigma
/// as sigma, Turkish dotless ı as i. Used wherever Hark compares words.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, |f| out.push(f));
    }
    out
}

fn fold_char(c: char, mut emit: impl FnMut(char)) {
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| {
            if !is_combining_mark(d) {
                emit(match d {
                    'ς' => 'σ',
                    'ı' => 'i',
                    other => other,
                });
            }
        });
    }
}

/// Folded text that remembers where each folded byte came from, so a match
/// found in the folded text can be cut out of the original.
pub struct FoldedText {
    folded: String,
    /// For each folded byte, the end (in the original) of the character that produced it.
    original_ends: Vec<usize>,
}

impl FoldedText {
    pub fn new(text: &str) -> Self {
        let mut folded = String::with_capacity(text.len());
        let mut original_ends = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            let before = folded.len();
            fold_char(c, |f| folded.push(f));
            if folded.len() == before {
                // A lone combining mark belongs to the character before it.
                if let Some(last) = original_ends.last_mut() {
                    *last = end;
                }
            }
            original_ends.resize(folded.len(), end);
        }
        Self { folded, original_ends }
    }

    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// The byte offset in the original text where the first `folded_len` folded bytes end.
    pub fn original_end(&self, folded_len: usize) -> usize {
        folded_len.checked_sub(1).and_then(|i| self.original_ends.get(i)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap_or_default()
    }

    fn issue(keywords: &[&str]) -> KnownIssue {
        KnownIssue {
            id: "ki_1".into(),
            workspace_id: "ws_1".into(),
            kind: KnownIssueKind::Outage,
            title: "Mobile data outage in Athens".into(),
            body: "Engineers are on it; expected fix by 18:00.".into(),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            channel_ids: vec![],
            starts_at: ts("2025-06-01T10:00:00Z"),
            ends_at: Some(ts("2025-06-01T20:00:00Z")),
            prepared_reply: Some("We know, and we are fixing it.".into()),
        }
    }

    const DURING: &str = "2025-06-01T12:00:00Z";

    fn hits(keywords: &[&str], text: &str) -> bool {
        issue(keywords).matches(text, "ch_1", ts(DURING))
    }

    #[test]
    fn folding_removes_case_and_accents_in_every_script() {
        assert_eq!(fold("Ελλάδα ΣΟΦΟΣ"), "ελλαδα σοφοσ");
        assert_eq!(fold("Café CRÈME"), "cafe creme");
        assert_eq!(fold("İADE ılık"), "iade ilik");
        assert_eq!(fold("Ёлка"), "елка");
        assert_eq!(fold("网络断了"), "网络断了");
        let folded = FoldedText::new("Très bien, merci");
        assert_eq!(folded.folded(), "tres bien, merci");
        assert_eq!(&"Très bien, merci"[..folded.original_end("tres bien".len())], "Très bien");
        let decomposed = "Cafe\u{301} ok";
        assert_eq!(&decomposed[..FoldedText::new(decomposed).original_end(4)], "Cafe\u{301}");
    }

    #[test]
    fn keywords_match_whole_words_ignoring_case_and_accents() {
        assert!(hits(&["outage"], "Is there an OUTAGE right now?"));
        assert!(!hits(&["outage"], "outages"), "whole words unless the keyword ends with *");
        assert!(hits(&["outage*"], "outages everywhere"));
        assert!(hits(&["δίκτυο"], "Δεν έχω ΔΙΚΤΥΟ από το πρωί"));
        assert!(hits(&["сбо*"], "У вас сбой?"));
        assert!(hits(&["cafe"], "Le café est fermé"));
        assert!(!hits(&["net"], "network down"));
    }

    #[test]
    fn phrases_match_in_order_and_as_hashtags() {
        assert!(hits(&["black friday"], "Black-Friday deals not applied"));
        assert!(hits(&["black friday"], "#BlackFriday price is wrong"));
        assert!(!hits(&["black friday"], "friday black"));
    }

    #[test]
    fn unspaced_scripts_match_anywhere() {
        assert!(hits(&["断网"], "我家又断网了，怎么回事？"));
        assert!(hits(&["网络"], "wifi网络不行"));
        assert!(!hits(&["断网"], "网络很好"));
    }

    #[test]
    fn only_while_active_and_on_the_channels_it_concerns() {
        let mut i = issue(&["outage"]);
        assert!(!i.matches("outage", "ch_1", ts("2025-06-01T09:59:59Z")));
        assert!(i.matches("outage", "ch_1", ts("2025-06-01T10:00:00Z")));
        assert!(!i.matches("outage", "ch_1", ts("2025-06-01T20:00:00Z")), "the end is excluded");
        i.channel_ids = vec!["ch_2".into()];
        assert!(!i.matches("outage", "ch_1", ts(DURING)));
        assert!(i.matches("outage", "ch_2", ts(DURING)));
        i.ends_at = None;
        assert!(i.matches("outage", "ch_2", ts("2030-01-01T00:00:00Z")));
        let issues = vec![issue(&["refund"]), KnownIssue { id: "ki_2".into(), ..issue(&["outage", "no signal"]) }];
        assert_eq!(matching_issues(&issues, "No signal since noon", "ch_9", ts(DURING)), vec!["ki_2"]);
        assert_eq!(issues[1].matching_keywords("outage, no signal", "ch_9", ts(DURING)), vec!["outage", "no signal"]);
    }

    #[test]
    fn bad_announcements_are_refused() {
        assert!(issue(&["outage"]).validate().is_ok());
        assert_eq!(issue(&[]).validate().err().map(|e| e.field), Some("keywords"));
        assert!(issue(&["  *** "]).validate().err().is_some_and(|e| e.message.contains("no letters or digits")));
        let mut i = issue(&["outage"]);
        i.ends_at = Some(i.starts_at);
        assert_eq!(i.validate().err().map(|e| e.field), Some("ends_at"));
        i = issue(&["outage"]);
        i.title = " ".into();
        assert_eq!(i.validate().err().map(|e| e.field), Some("title"));
    }
}
