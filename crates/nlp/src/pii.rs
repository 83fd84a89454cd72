//! Personal data in text: card numbers (Luhn-checked), IBANs (mod-97
//! checked), phone numbers, e-mail addresses and order numbers in the
//! workspace's own format. Spans are byte offsets into the UTF-8 text.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What kind of personal data a span holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Iban,
    CardNumber,
    OrderNumber,
    Phone,
}

impl PiiKind {
    /// The name used in JSON and rules ("card_number", …).
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Iban => "iban",
            PiiKind::CardNumber => "card_number",
            PiiKind::OrderNumber => "order_number",
            PiiKind::Phone => "phone",
        }
    }
}

/// One piece of personal data: its kind and its byte range `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// What to look for beyond the built-in kinds.
#[derive(Clone, Debug, Default)]
pub struct PiiOptions {
    order_pattern: Option<Regex>,
}

impl PiiOptions {
    /// Order numbers are whatever `pattern` (a regular expression, as the
    /// workspace configures it, e.g. `\b[A-Z]{2}\d{6}\b`) matches.
    pub fn with_order_pattern(pattern: &str) -> Result<Self, regex::Error> {
        let regex = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build()?;
        Ok(Self { order_pattern: Some(regex) })
    }

    /// The order-number pattern, if any.
    pub fn order_pattern(&self) -> Option<&Regex> {
        self.order_pattern.as_ref()
    }
}

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").ok());
static IBAN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b").ok());
static CARD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b[0-9](?:[ \-]?[0-9]){12,18}\b").ok());
static PHONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:\+|\()?\b[0-9](?:[ \-.]?\(?[0-9]\)?){6,16}").ok());

/// Finds personal data in `text`, in order of position, without overlaps.
/// Where kinds overlap, the more specific wins: e-mail, IBAN, card number,
/// order number, phone.
pub fn find_pii(text: &str, options: &PiiOptions) -> Vec<PiiSpan> {
    let mut found: Vec<PiiSpan> = Vec::new();
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    if text.contains('@')
        && let Some(email) = EMAIL.as_ref()
    {
        for m in email.find_iter(text) {
            push_if_free(&mut found, PiiKind::Email, m.start(), m.end());
        }
    }
    if has_digit {
        if let Some(iban) = IBAN.as_ref() {
            for m in iban.find_iter(text) {
                if is_valid_iban(m.as_str()) {
                    push_if_free(&mut found, PiiKind::Iban, m.start(), m.end());
                }
            }
        }
        if let Some(card) = CARD.as_ref() {
            for m in card.find_iter(text) {
                if luhn_valid(m.as_str()) {
                    push_if_free(&mut found, PiiKind::CardNumber, m.start(), m.end());
                }
            }
        }
    }
    if let Some(order) = &options.order_pattern {
        for m in order.find_iter(text) {
            if !m.is_empty() {
                push_if_free(&mut found, PiiKind::OrderNumber, m.start(), m.end());
            }
        }
    }
    if has_digit && let Some(phone) = PHONE.as_ref() {
        for m in phone.find_iter(text) {
            let (start, end) = trim_phone(text, m.start(), m.end());
            if is_plausible_phone(&text[start..end]) {
                push_if_free(&mut found, PiiKind::Phone, start, end);
            }
        }
    }
    found.sort_by_key(|span| span.start);
    found
}

/// `text` with every span replaced by `[kind]`.
pub fn redact(text: &str, spans: &[PiiSpan]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at || span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..span.start]);
        out.push('[');
        out.push_str(span.kind.name());
        out.push(']');
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

fn push_if_free(found: &mut Vec<PiiSpan>, kind: PiiKind, start: usize, end: usize) {
    if found.iter().all(|s| end <= s.start || start >= s.end) {
        found.push(PiiSpan { kind, start, end });
    }
}

/// The Luhn checksum over the digits of `candidate` (separators ignored);
/// true for 13 to 19 digits that pass it.
pub fn luhn_valid(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ISO 13616 check: 15 to 34 characters, the country code and check digits
/// moved to the end, letters as numbers, the whole mod 97 equal to 1.
pub fn is_valid_iban(candidate: &str) -> bool {
    let compact: Vec<char> = candidate.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    if !(15..=34).contains(&compact.len())
        || !compact[..2].iter().all(|c| c.is_ascii_uppercase())
        || !compact[2..4].iter().all(|c| c.is_ascii_digit())
        || !compact.iter().all(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for c in compact[4..].iter().chain(&compact[..4]) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        remainder = if value < 10 { (remainder * 10 + value) % 97 } else { (remainder * 100 + value) % 97 };
    }
    remainder == 1
}

/// Drops trailing separators and unbalanced brackets the pattern may have taken.
fn trim_phone(text: &str, start: usize, mut end: usize) -> (usize, usize) {
    while end > start && matches!(text.as_bytes()[end - 1], b' ' | b'-' | b'.' | b'(') {
        end -= 1;
    }
    (start, end)
}

/// A phone number has 9 to 15 digits, or 8 to 15 written with a leading
/// "+"; fewer is more likely a price, a count or a flight number.
fn is_plausible_phone(candidate: &str) -> bool {
    let digits = candidate.bytes().filter(u8::is_ascii_digit).count();
    let international = candidate.starts_with('+');
    if candidate.starts_with('(') && !candidate.contains(')') {
        return false;
    }
    let min = if international { 8 } else { 9 };
    if !(min..=15).contains(&digits) {
        return false;
    }
    // Dates and times ("2026-11-23", "12.05.2026 14:30") are not phone numbers.
    let groups: Vec<&str> = candidate.split(['-', '.', ' ']).filter(|g| !g.is_empty()).collect();
    let date_like = groups.len() == 3 && groups.iter().any(|g| g.len() == 4) && groups.iter().all(|g| g.len() <= 4);
    !date_like
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::OrPanic;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        find_pii(text, &PiiOptions::default()).into_iter().map(|s| (s.kind, &text[s.start..s.end])).collect()
    }

    #[test]
    fn luhn_vectors() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5500-0000-0000-0004"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("0000 0000 0000 0000"));
        assert!(!luhn_valid("4111"));
    }

    #[test]
    fn iban_vectors() {
        assert!(is_valid_iban("GB82 WEST 1234 5698 7654 32"));
        assert!(is_valid_iban("DE89370400440532013000"));
        assert!(is_valid_iban("fr1420041010050500013m02606"));
        assert!(!is_valid_iban("GB82 WEST 1234 5698 7654 33"));
        assert!(!is_valid_iban("GB82"));
    }

    #[test]
    fn cards_and_ibans_are_found_with_byte_offsets() {
        let text = "Карта 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.";
        let spans = find_pii(text, &PiiOptions::default());
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].kind, PiiKind::CardNumber);
        assert_eq!(&text[spans[0].start..spans[0].end], "4111 1111 1111 1111");
        assert_eq!(spans[0].start, "Карта ".len());
        assert_eq!(spans[1].kind, PiiKind::Iban);
        assert_eq!(&text[spans[1].start..spans[1].end], "DE89 3704 0044 0532 0130 00");
    }

    #[test]
    fn a_number_failing_luhn_is_not_a_card() {
        assert!(kinds("ref 4111 1111 1111 1112 thanks").iter().all(|(k, _)| *k != PiiKind::CardNumber));
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(
            kinds("call me at +44 20 7946 0958 or jane.doe@example.co.uk"),
            [(PiiKind::Phone, "+44 20 7946 0958"), (PiiKind::Email, "jane.doe@example.co.uk")]
        );
        assert_eq!(kinds("мой номер 8 (912) 345-67-89"), [(PiiKind::Phone, "8 (912) 345-67-89")]);
        assert_eq!(kinds("(555) 123-4567"), [(PiiKind::Phone, "(555) 123-4567")]);
    }

    #[test]
    fn prices_dates_and_flight_numbers_are_not_phones() {
        assert!(kinds("paid 1250 euros on 2026-11-23 for flight BA 2490").is_empty());
        assert!(kinds("order 12345 arrived").is_empty());
    }

    #[test]
    fn order_numbers_follow_the_workspace_pattern() {
        let options = PiiOptions::with_order_pattern(r"\b[A-Z]{2}[0-9]{6}\b").or_panic("valid pattern");
        let text = "where is order AB123456? phone +7 912 345 67 89";
        let spans = find_pii(text, &options);
        assert_eq!(spans[0].kind, PiiKind::OrderNumber);
        assert_eq!(&text[spans[0].start..spans[0].end], "AB123456");
        assert_eq!(spans[1].kind, PiiKind::Phone);
        assert!(PiiOptions::with_order_pattern("([unclosed").is_err());
    }

    #[test]
    fn redaction_replaces_spans() {
        let text = "mail me: a@b.io";
        assert_eq!(redact(text, &find_pii(text, &PiiOptions::default())), "mail me: [email]");
    }
}
