//! Text normalisation and tokenisation shared by every model.
//!
//! Social text is noisy: handles, links, hashtags, emoji, repeated
//! punctuation, mixed case. Every model sees the same normalised token
//! stream so that one feature extraction can serve all of them.

/// How many characters of a message the models read. Social messages are
/// short; a long e-mail's first paragraphs say what it is about, and the cap
/// keeps the cost of one message bounded.
pub const MAX_CHARS: usize = 1000;

/// What a token is, which decides the features it yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters (and digits) of an alphabetic script: yields word and character n-grams.
    Word,
    /// One ideograph (Han, kana, Hangul): scripts without spaces are read character by character.
    Ideograph,
    /// A link, a handle, an e-mail or a number, replaced by a placeholder.
    Placeholder,
    /// One punctuation mark, symbol or emoji.
    Symbol,
}

/// One token of the normalised text, as a byte range of [`Normalized::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    pub end: u32,
    pub kind: TokenKind,
}

/// A message lower-cased and split into tokens. Reusable across messages to
/// avoid allocating.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    pub text: String,
    pub tokens: Vec<Token>,
}

impl Normalized {
    /// The text of one token.
    pub fn token_text(&self, token: &Token) -> &str {
        &self.text[token.start as usize..token.end as usize]
    }

    /// Normalises `input` into `self`, replacing what was there.
    pub fn fill(&mut self, input: &str) {
        self.fill_with(input, false);
    }

    /// Like [`Normalized::fill`]; with `squash`, a letter repeated more than
    /// twice is kept twice ("soooo" reads as "soo"), so that elongated words
    /// meet their ordinary spelling in fewer forms.
    pub fn fill_with(&mut self, input: &str, squash: bool) {
        self.text.clear();
        self.tokens.clear();
        let input = truncate_chars(input, MAX_CHARS);
        for piece in input.split_whitespace() {
            self.push_piece(piece, squash);
        }
    }

    /// Returns the normalised form of `input`.
    pub fn of(input: &str) -> Self {
        let mut normalized = Self::default();
        normalized.fill(input);
        normalized
    }

    /// Returns the normalised form of `input` with elongations squashed.
    pub fn squashed(input: &str) -> Self {
        let mut normalized = Self::default();
        normalized.fill_with(input, true);
        normalized
    }

    fn push_placeholder(&mut self, name: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(name);
        self.tokens.push(Token { start, end: self.text.len() as u32, kind: TokenKind::Placeholder });
    }

    /// One whitespace-separated piece: a link, handle or e-mail as a whole, or
    /// a run of words, ideographs and symbols.
    fn push_piece(&mut self, piece: &str, squash: bool) {
        if is_link(piece) {
            return self.push_placeholder("_url_");
        }
        if let Some(handle) = piece.strip_prefix('@')
            && handle.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            return self.push_placeholder("_user_");
        }
        if looks_like_email(piece) {
            return self.push_placeholder("_email_");
        }
        let mut word_start: Option<u32> = None;
        let mut digits = false;
        let mut previous_symbol: Option<char> = None;
        let mut repeats = 0;
        // The last letter of the current word and how often it came in a row.
        let mut previous_letter: (char, u32) = ('\0', 0);
        for c in piece.chars() {
            if c.is_alphanumeric() && !is_ideograph(c) {
                if word_start.is_none() {
                    word_start = Some(self.text.len() as u32);
                    digits = true;
                    previous_letter = ('\0', 0);
                }
                digits &= c.is_numeric();
                if squash && !c.is_numeric() {
                    let lower = c.to_lowercase().next().unwrap_or(c);
                    previous_letter =
                        if previous_letter.0 == lower { (lower, previous_letter.1 + 1) } else { (lower, 1) };
                    if previous_letter.1 > 2 {
                        continue;
                    }
                }
                // Digits are all the same digit: the value of a number tells nothing,
                // its presence and length might.
                if c.is_numeric() {
                    self.text.push('0');
                } else {
                    push_lowercase(&mut self.text, c);
                }
                previous_symbol = None;
                continue;
            }
            // An apostrophe inside a word belongs to it (don't, l'avion, c’est).
            if (c == '\'' || c == '’') && word_start.is_some() {
                self.text.push('\'');
                continue;
            }
            self.end_word(&mut word_start, digits);
            if c == '#' {
                // A hashtag is read as the word it tags.
                previous_symbol = None;
                continue;
            }
            if is_ideograph(c) {
                let start = self.text.len() as u32;
                self.text.push(c);
                self.tokens.push(Token { start, end: self.text.len() as u32, kind: TokenKind::Ideograph });
                previous_symbol = None;
                continue;
            }
            if is_ignorable(c) {
                continue;
            }
            // "!!!!!!" says as much as "!!!".
            if previous_symbol == Some(c) {
                repeats += 1;
                if repeats > 3 {
                    continue;
                }
            } else {
                repeats = 1;
            }
            previous_symbol = Some(c);
            let start = self.text.len() as u32;
            self.text.push(c);
            self.tokens.push(Token { start, end: self.text.len() as u32, kind: TokenKind::Symbol });
        }
        self.end_word(&mut word_start, digits);
        self.text.push(' ');
    }

    fn end_word(&mut self, word_start: &mut Option<u32>, digits: bool) {
        let Some(start) = word_start.take() else { return };
        // Trailing apostrophes are quotes, not part of the word.
        while self.text.ends_with('\'') {
            self.text.pop();
        }
        let end = self.text.len() as u32;
        if end == start {
            return;
        }
        let kind = if digits { TokenKind::Placeholder } else { TokenKind::Word };
        self.tokens.push(Token { start, end, kind });
    }
}

fn push_lowercase(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// The first `max` characters of `text`.
pub fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn is_link(piece: &str) -> bool {
    let lower = piece.get(..8).map(str::to_ascii_lowercase).unwrap_or_else(|| piece.to_ascii_lowercase());
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.")
}

fn looks_like_email(piece: &str) -> bool {
    match piece.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.starts_with('.'),
        None => false,
    }
}

/// Characters of scripts written without spaces between words.
pub fn is_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x20000..=0x2FA1F) // CJK extensions B-F
}

/// Marks that carry nothing for classification: joiners, variation
/// selectors, skin-tone modifiers, control characters.
fn is_ignorable(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200B..=0x200F | 0xFE00..=0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0x2060..=0x2064)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &str) -> Vec<(String, TokenKind)> {
        let n = Normalized::of(input);
        n.tokens.iter().map(|t| (n.token_text(t).to_owned(), t.kind)).collect()
    }

    #[test]
    fn links_handles_and_numbers_become_placeholders() {
        let got = tokens("@Airline my flight AB123 https://t.co/x #fail!!!!!");
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["_user_", "my", "flight", "ab000", "_url_", "fail", "!", "!", "!"]);
        assert_eq!(got[0].1, TokenKind::Placeholder);
        assert_eq!(tokens("12345")[0].1, TokenKind::Placeholder);
    }

    #[test]
    fn ideographs_are_single_tokens_and_words_keep_apostrophes() {
        let got = tokens("我的订单 don't");
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["我", "的", "订", "单", "don't"]);
        assert_eq!(got[0].1, TokenKind::Ideograph);
    }

    #[test]
    fn squashing_keeps_two_of_a_repeated_letter() {
        let n = Normalized::squashed("Soooo goooood!!!! 1000 ok");
        let texts: Vec<&str> = n.tokens.iter().map(|t| n.token_text(t)).collect();
        assert_eq!(texts, ["soo", "good", "!", "!", "!", "0000", "ok"]);
        assert_eq!(tokens("Soooo")[0].0, "soooo");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate_chars("αβγ", 2), "αβ");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }
}
