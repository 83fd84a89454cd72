//! How text becomes terms, for every script customers write in.
//!
//! One analyzer serves both sides: documents are cut in [`Mode::Index`], queries in
//! [`Mode::Query`], and the two agree term for term. The differences are deliberate:
//! at index time a message also gets the extra terms a searcher may type (the bare word
//! inside a `#hashtag`, the parts of `AB123456`, single Han characters), while a query
//! asks only for what its words mean.
//!
//! Runs of text are classified as words (letters, digits and combining marks, in any
//! alphabetic script), Han/Kana runs (cut into overlapping bigrams, since Chinese and
//! Japanese put no spaces between words), emoji, and `@handles` / `#hashtags`. Everything
//! else (spaces, punctuation, symbols, control characters) only separates.

use std::sync::LazyLock;

use frostem::{Algorithm, Stemmer};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Bumped whenever the terms produced for some text change; an index built by another
/// version is rebuilt from the database instead of silently missing matches.
pub const ANALYZER_VERSION: u32 = 1;

/// Terms longer than this (in bytes) are dropped: they are base64 blobs, tracking tokens
/// and the like, which nobody types, and tantivy refuses terms past 64 KiB anyway.
const MAX_TERM_BYTES: usize = 96;

static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::new(Algorithm::Russian));

/// Which side of the search the text is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A message being indexed: every term anyone may search it by.
    Index,
    /// A user's query: exactly the terms its words stand for.
    Query,
}

/// What kind of run a term came from; queries treat them differently (only words take a prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// A word in an alphabetic script, or a number.
    Word,
    /// A Han/Kana unigram or bigram.
    Han,
    /// One emoji.
    Emoji,
    /// `@handle` or `#hashtag`, sigil included.
    Tag,
}

/// One term with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTerm {
    /// The indexed form: lowercased, folded, and stemmed for Cyrillic words.
    pub text: String,
    /// The folded form before stemming; a prefix search matches against this.
    pub unstemmed: String,
    /// Position in the token stream; terms at one position are alternatives.
    pub position: usize,
    /// Byte range of the original text the term stands for.
    pub from: usize,
    pub to: usize,
    pub kind: TermKind,
}

/// Cuts `text` into terms.
pub fn analyze(text: &str, mode: Mode) -> Vec<TextTerm> {
    let mut out = Vec::new();
    let mut position = 0;
    analyze_into(text, 0, mode, &mut position, &mut out);
    out
}

/// The class of one character, for cutting runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Han,
    Emoji,
    /// Joins or modifies what surrounds it and is dropped: ZWJ, variation selectors, skin tones.
    Invisible,
    Separator,
}

fn class(c: char) -> Class {
    let u = c as u32;
    if is_han(u) {
        Class::Han
    } else if c.is_alphanumeric() || c == '_' || is_combining_mark(c) {
        Class::Word
    } else if matches!(u, 0x200B..=0x200D | 0x2060 | 0xFE00..=0xFE0F | 0xFEFF | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F) {
        Class::Invisible
    } else if is_emoji(u) {
        Class::Emoji
    } else {
        Class::Separator
    }
}

fn is_han(u: u32) -> bool {
    matches!(u,
        0x3005 | 0x3007 // iteration mark, ideographic zero
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x31F0..=0x31FF // Katakana phonetic extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3134F // extensions B to G
    )
}

fn is_emoji(u: u32) -> bool {
    matches!(u,
        0x1F000..=0x1FAFF // pictographs, emoticons, transport, symbols, flags
        | 0x2600..=0x27BF // miscellaneous symbols, dingbats
        | 0x2300..=0x23FF // technical (⌚, ⏰)
        | 0x2B00..=0x2BFF // arrows and stars (⭐)
        | 0x2190..=0x21FF // arrows
        | 0x2700..=0x27FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
    )
}

fn is_regional_indicator(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

/// Cuts `text` (which starts at byte `base` of the original) into `out`, advancing `position`.
fn analyze_into(text: &str, base: usize, mode: Mode, position: &mut usize, out: &mut Vec<TextTerm>) {
    let mut chars = text.char_indices().peekable();
    // Whether the previous character was a separator (or the start): a sigil only opens a
    // tag there, so `john@example.com` stays an address and not a handle.
    let mut after_separator = true;
    while let Some((start, c)) = chars.next() {
        if (c == '@' || c == '#' || c == '＃') && after_separator {
            let body_start = start + c.len_utf8();
            let body_end = run_end(text, body_start, |k| matches!(k, Class::Word | Class::Han | Class::Invisible));
            if body_end > body_start {
                let sigil = if c == '@' { '@' } else { '#' };
                tag(&text[body_start..body_end], sigil, base + start, base + body_start, mode, position, out);
                while chars.peek().is_some_and(|&(i, _)| i < body_end) {
                    chars.next();
                }
                after_separator = false;
                continue;
            }
        }
        match class(c) {
            Class::Word => {
                let end = run_end(text, start, |k| matches!(k, Class::Word | Class::Invisible));
                word(&text[start..end], base + start, mode, position, out);
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
                after_separator = false;
            }
            Class::Han => {
                let end = run_end(text, start, |k| matches!(k, Class::Han | Class::Invisible));
                han(&text[start..end], base + start, mode, position, out);
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
                after_separator = false;
            }
            Class::Emoji => {
                let mut to = start + c.len_utf8();
                let mut symbol = String::from(c);
                // A flag is two regional indicators; keep the pair as one term.
                if is_regional_indicator(c)
                    && let Some(&(i, next)) = chars.peek()
                    && is_regional_indicator(next)
                {
                    symbol.push(next);
                    to = i + next.len_utf8();
                    chars.next();
                }
                push(out, symbol.clone(), symbol, *position, base + start, base + to, TermKind::Emoji);
                *position += 1;
                after_separator = true;
            }
            Class::Invisible => {}
            Class::Separator => after_separator = true,
        }
    }
}

/// The byte offset where the run starting at `start` ends.
fn run_end(text: &str, start: usize, belongs: impl Fn(Class) -> bool) -> usize {
    text[start..].char_indices().find(|&(_, c)| !belongs(class(c))).map_or(text.len(), |(i, _)| start + i)
}

fn push(
    out: &mut Vec<TextTerm>,
    text: String,
    unstemmed: String,
    position: usize,
    from: usize,
    to: usize,
    kind: TermKind,
) {
    if text.is_empty() || text.len() > MAX_TERM_BYTES {
        return;
    }
    out.push(TextTerm { text, unstemmed, position, from, to, kind });
}

/// A `#hashtag` or `@handle`: the tag itself, and at index time also its body, so that
/// `refund` finds `#refund` while `#refund` finds only the tag.
fn tag(
    body: &str,
    sigil: char,
    from: usize,
    body_from: usize,
    mode: Mode,
    position: &mut usize,
    out: &mut Vec<TextTerm>,
) {
    let mut folded = String::with_capacity(body.len() + 1);
    folded.push(sigil);
    fold_word(body, &mut folded);
    let folded = folded.trim_end_matches('_').to_owned();
    let to = body_from + body.len();
    if folded.len() <= sigil.len_utf8() {
        return;
    }
    match mode {
        Mode::Query => {
            push(out, folded.clone(), folded, *position, from, to, TermKind::Tag);
            *position += 1;
        }
        Mode::Index => {
            let at = *position;
            push(out, folded.clone(), folded, at, from, to, TermKind::Tag);
            analyze_into(body, body_from, mode, position, out);
            // The body's own terms start at the tag's position, so phrases across it line up.
            *position = (*position).max(at + 1);
        }
    }
}

/// A run of letters and digits: one term (plus, at index time, its letter and digit parts,
/// so `123456` finds `AB123456`).
fn word(raw: &str, from: usize, mode: Mode, position: &mut usize, out: &mut Vec<TextTerm>) {
    let raw_trimmed = raw.trim_matches('_');
    if raw_trimmed.is_empty() {
        return;
    }
    let from = from + (raw.len() - raw.trim_start_matches('_').len());
    let to = from + raw_trimmed.len();
    let mut folded = String::with_capacity(raw_trimmed.len());
    fold_word(raw_trimmed, &mut folded);
    if folded.is_empty() {
        return;
    }
    let stemmed = stem(&folded);
    let at = *position;
    if mode == Mode::Index {
        for part in alnum_parts(&folded) {
            if part != folded {
                push(out, part.to_owned(), part.to_owned(), at, from, to, TermKind::Word);
            }
        }
    }
    push(out, stemmed, folded, at, from, to, TermKind::Word);
    *position += 1;
}

/// The maximal letter runs and digit runs of a folded word, when it has both (`ab123456`).
fn alnum_parts(folded: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut digits: Option<bool> = None;
    for (i, c) in folded.char_indices() {
        if c == '_' {
            continue;
        }
        let is_digit = c.is_numeric();
        match digits {
            Some(d) if d != is_digit => {
                parts.push(&folded[start..i]);
                start = i;
            }
            _ => {}
        }
        digits = Some(is_digit);
    }
    if parts.is_empty() {
        return parts;
    }
    parts.push(&folded[start..]);
    parts.retain(|p| !p.trim_matches('_').is_empty());
    parts
}

/// Han/Kana: overlapping bigrams, each at the position of its first character, and at index
/// time the single characters too. A query of one character asks for the unigram, a longer
/// one for its bigrams as a phrase, so 行李 matches inside 我的行李丢了 and 我的行李 matches
/// only those four characters in a row.
fn han(run: &str, from: usize, mode: Mode, position: &mut usize, out: &mut Vec<TextTerm>) {
    let chars: Vec<(usize, char)> = run.char_indices().filter(|&(_, c)| class(c) == Class::Han).collect();
    let at = *position;
    for (n, &(i, c)) in chars.iter().enumerate() {
        let start = from + i;
        let end = start + c.len_utf8();
        let next = chars.get(n + 1);
        if mode == Mode::Index || chars.len() == 1 {
            push(out, c.to_string(), c.to_string(), at + n, start, end, TermKind::Han);
        }
        if let Some(&(j, d)) = next {
            let bigram: String = [c, d].iter().collect();
            push(out, bigram.clone(), bigram, at + n, start, from + j + d.len_utf8(), TermKind::Han);
        }
    }
    *position = at + chars.len();
}

/// Russian Snowball stemming for Cyrillic words; other scripts are left whole (see docs/search.md).
fn stem(folded: &str) -> String {
    let cyrillic = folded.chars().any(|c| matches!(c as u32, 0x0400..=0x04FF));
    if cyrillic && folded.chars().count() >= 3 && folded.chars().all(|c| c.is_alphabetic()) {
        RUSSIAN.stem(folded).into_owned()
    } else {
        folded.to_owned()
    }
}

/// Lowercases and folds one word into `out`.
fn fold_word(word: &str, out: &mut String) {
    // Decomposed input (a base letter followed by combining accents) is composed first,
    // so that `й` typed as и + breve folds like the precomposed letter.
    if word.chars().any(|c| matches!(c as u32, 0x0300..=0x036F)) {
        let composed: String = word.nfc().collect();
        for c in composed.chars() {
            fold_char(c, out);
        }
    } else {
        for c in word.chars() {
            fold_char(c, out);
        }
    }
}

/// Folds one character: lowercase, then per script.
///
/// - Latin and Greek: accents removed (`café` → `cafe`, `ΚΑΘΥΣΤΈΡΗΣΗ` → `καθυστερηση`),
///   final sigma as sigma, the ligatures and stroked letters NFD leaves alone spelled out
///   (`ß` → `ss`, `ø` → `o`), and Turkish `İ`, `I`, `ı` all as `i`.
/// - Cyrillic: `ё` → `е`; `й`, `ї`, `ў` are letters of their own and stay.
/// - Arabic: hamza-carrying alefs as bare alef, teh marbuta as heh, alef maksura as yeh,
///   tatweel and harakat removed.
/// - Full-width Latin letters and digits (common in Chinese text) as ASCII.
fn fold_char(c: char, out: &mut String) {
    let u = c as u32;
    let c = if (0xFF01..=0xFF5E).contains(&u) { char::from_u32(u - 0xFEE0).unwrap_or(c) } else { c };
    for l in c.to_lowercase() {
        let v = l as u32;
        match l {
            'ı' => out.push('i'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ς' => out.push('σ'),
            'ё' => out.push('е'),
            '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => out.push('\u{0627}'),
            '\u{0629}' => out.push('\u{0647}'),
            '\u{0649}' => out.push('\u{064A}'),
            '\u{0640}' | '\u{064B}'..='\u{065F}' | '\u{0670}' => {}
            '\u{0300}'..='\u{036F}' | '\u{200B}'..='\u{200D}' | '\u{FE0F}' => {}
            _ if v < 0x0250 || (0x0370..=0x03FF).contains(&v) || (0x1E00..=0x1FFF).contains(&v) => {
                decompose_canonical(l, |d| match d {
                    '\u{0300}'..='\u{036F}' => {}
                    'ς' => out.push('σ'),
                    d => out.push(d),
                });
            }
            _ if class(l) == Class::Invisible => {}
            _ => out.push(l),
        }
    }
}

/// The analyzer as a tantivy tokenizer (index mode), registered on the message text field.
#[derive(Clone, Default)]
pub struct MessageTokenizer {
    tokens: Vec<Token>,
}

/// Name the tokenizer is registered under in the index.
pub const TOKENIZER_NAME: &str = "hark_message";

impl Tokenizer for MessageTokenizer {
    type TokenStream<'a> = MessageTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MessageTokenStream<'a> {
        self.tokens.clear();
        self.tokens.extend(analyze(text, Mode::Index).into_iter().map(|t| Token {
            offset_from: t.from,
            offset_to: t.to,
            position: t.position,
            text: t.text,
            position_length: 1,
        }));
        MessageTokenStream { tokens: &mut self.tokens, next: 0 }
    }
}

/// The tokens of one text, handed to tantivy one by one.
pub struct MessageTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for MessageTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1).min(self.tokens.len().saturating_sub(1))]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.next.saturating_sub(1).min(self.tokens.len().saturating_sub(1));
        &mut self.tokens[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, mode: Mode) -> Vec<String> {
        analyze(text, mode).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn latin_is_lowercased_and_accents_folded() {
        assert_eq!(texts("Café Crème", Mode::Query), ["cafe", "creme"]);
        assert_eq!(texts("Straße Ærø", Mode::Query), ["strasse", "aero"]);
        assert_eq!(texts("Niño ÇA Ünlü", Mode::Query), ["nino", "ca", "unlu"]);
    }

    #[test]
    fn turkish_dotted_and_dotless_i_meet_at_i() {
        assert_eq!(texts("İstanbul ISPARTA ılık", Mode::Query), ["istanbul", "isparta", "ilik"]);
    }

    #[test]
    fn greek_tonos_and_final_sigma_fold() {
        assert_eq!(texts("ΚΑΘΥΣΤΈΡΗΣΗ", Mode::Query), texts("καθυστερηση", Mode::Query));
        assert_eq!(texts("λόγος", Mode::Query), ["λογοσ"]);
        assert_eq!(texts("ΛΟΓΟΣ", Mode::Query), ["λογοσ"]);
    }

    #[test]
    fn cyrillic_yo_folds_and_short_i_stays() {
        assert_eq!(texts("Ёлка", Mode::Query), texts("елка", Mode::Query));
        // Precomposed and decomposed й are the same letter, and not и.
        let folded = |t: &str| analyze(t, Mode::Query).into_iter().map(|t| t.unstemmed).collect::<Vec<_>>();
        assert_eq!(folded("мой"), folded("мои\u{0306}"));
        assert_eq!(folded("мой"), ["мой"]);
    }

    #[test]
    fn russian_words_are_stemmed_so_case_forms_meet() {
        assert_eq!(texts("посылка", Mode::Query), texts("посылку", Mode::Query));
        assert_eq!(texts("багажа", Mode::Query), texts("багаж", Mode::Query));
        let t = &analyze("посылку", Mode::Query)[0];
        assert_eq!(t.unstemmed, "посылку");
    }

    #[test]
    fn arabic_diacritics_tatweel_and_alef_forms_fold() {
        assert_eq!(texts("مَرْحَبًا", Mode::Query), texts("مرحبا", Mode::Query));
        assert_eq!(texts("أحمد إلى", Mode::Query), texts("احمد الي", Mode::Query));
        assert_eq!(texts("شكــرا", Mode::Query), texts("شكرا", Mode::Query));
    }

    #[test]
    fn han_is_indexed_as_unigrams_and_bigrams_and_queried_as_bigrams() {
        let index = analyze("我的行李", Mode::Index);
        let got: Vec<(&str, usize)> = index.iter().map(|t| (t.text.as_str(), t.position)).collect();
        assert_eq!(got, [("我", 0), ("我的", 0), ("的", 1), ("的行", 1), ("行", 2), ("行李", 2), ("李", 3)]);
        assert_eq!(texts("行李", Mode::Query), ["行李"]);
        assert_eq!(texts("票", Mode::Query), ["票"]);
        assert_eq!(texts("我的行李", Mode::Query), ["我的", "的行", "行李"]);
    }

    #[test]
    fn mixed_scripts_cut_at_script_changes() {
        assert_eq!(texts("订单AB123已发货", Mode::Query), ["订单", "ab123", "已发", "发货"]);
    }

    #[test]
    fn order_numbers_are_one_term_with_their_parts_beside_it() {
        assert_eq!(texts("AB123456", Mode::Query), ["ab123456"]);
        let index = analyze("AB123456 lost", Mode::Index);
        let got: Vec<(&str, usize)> = index.iter().map(|t| (t.text.as_str(), t.position)).collect();
        assert_eq!(got, [("ab", 0), ("123456", 0), ("ab123456", 0), ("lost", 1)]);
    }

    #[test]
    fn hashtags_and_handles_are_terms_with_their_body_beside_them() {
        assert_eq!(texts("#LostLuggage @Air_Support", Mode::Query), ["#lostluggage", "@air_support"]);
        let index = texts("#LostLuggage @Air_Support", Mode::Index);
        assert_eq!(index, ["#lostluggage", "lostluggage", "@air_support", "air_support"]);
        assert_eq!(texts("#退款", Mode::Query), ["#退款"]);
        // An address is not a handle.
        assert_eq!(texts("john@example.com", Mode::Query), ["john", "example", "com"]);
    }

    #[test]
    fn emoji_are_terms_without_their_modifiers() {
        assert_eq!(texts("thanks 👍🏽!", Mode::Query), ["thanks", "👍"]);
        assert_eq!(texts("🇬🇷🙂", Mode::Query), ["🇬🇷", "🙂"]);
    }

    #[test]
    fn urls_become_their_words() {
        assert_eq!(texts("https://track.example.com/AB12", Mode::Query), ["https", "track", "example", "com", "ab12"]);
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Ça va, ΚΑΦΈ?";
        for t in analyze(text, Mode::Index) {
            assert!(text.is_char_boundary(t.from) && text.is_char_boundary(t.to), "{t:?}");
        }
        let last = analyze(text, Mode::Index).pop().map(|t| &text[t.from..t.to]);
        assert_eq!(last, Some("ΚΑΦΈ"));
    }

    #[test]
    fn control_characters_and_symbols_only_separate() {
        assert_eq!(texts("a\u{0}b\u{7}c\td", Mode::Query), ["a", "b", "c", "d"]);
        assert!(texts("*** ??? ---", Mode::Query).is_empty());
    }

    #[test]
    fn the_tantivy_tokenizer_yields_the_index_terms() {
        let mut tokenizer = MessageTokenizer::default();
        let mut stream = tokenizer.token_stream("Café #Refund");
        let mut got = vec![];
        while stream.advance() {
            got.push(stream.token().text.clone());
        }
        assert_eq!(got, ["cafe", "#refund", "refund"]);
    }
}
