//! Customers' text on the page. Everything a customer wrote is untrusted:
//! it is escaped (maud escapes every value), shown in its own direction
//! (`dir="auto"`, so Arabic reads right to left inside an English page),
//! and only plain `http(s)://` addresses become links, which open in a new
//! tab without giving that page a handle on Hark's (`rel="noopener"`) or the
//! address it came from (`noreferrer`).

use maud::{Markup, html};

/// Text with its web addresses turned into safe links.
pub fn linked(text: &str) -> Markup {
    let pieces = split_links(text);
    html! {
        @for piece in &pieces {
            @match piece {
                Piece::Text(t) => (t),
                Piece::Link(url) => a href=(url) target="_blank" rel="noopener noreferrer nofollow ugc" { (url) },
            }
        }
    }
}

/// A teammate's note: links as in customer text, and @mentions set apart.
pub fn note(text: &str) -> Markup {
    let pieces = split_links(text);
    html! {
        @for piece in &pieces {
            @match piece {
                Piece::Link(url) => a href=(url) target="_blank" rel="noopener noreferrer nofollow ugc" { (url) },
                Piece::Text(t) => {
                    @for (i, part) in t.split('@').enumerate() {
                        @if i == 0 {
                            (part)
                        } @else {
                            @let word_len = part.find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(part.len());
                            @if word_len == 0 {
                                "@" (part)
                            } @else {
                                span.mention { "@" (&part[..word_len]) }
                                (&part[word_len..])
                            }
                        }
                    }
                }
            }
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits text at `http://` and `https://` addresses. An address ends at
/// whitespace or at characters that cannot be part of one (quotes, angle
/// brackets), and trailing punctuation such as a full stop is left out.
fn split_links(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = vec![];
    let mut rest = text;
    while let Some(start) = next_scheme(rest) {
        let candidate = &rest[start..];
        let mut end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(candidate.len());
        while end > 0 && candidate[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']', '}']) {
            // Keep a closing bracket that matches one inside the address (Wikipedia-style links).
            let url = &candidate[..end];
            let balanced = |open: char, close: char| url.matches(open).count() >= url.matches(close).count();
            let keep = match url.chars().last() {
                Some(')') => balanced('(', ')'),
                Some(']') => balanced('[', ']'),
                _ => false,
            };
            if keep {
                break;
            }
            end -= 1;
        }
        let url = &candidate[..end];
        let host = url.split_once("://").map(|(_, h)| h).unwrap_or("");
        if host.starts_with(|c: char| c.is_alphanumeric()) {
            if start > 0 {
                pieces.push(Piece::Text(&rest[..start]));
            }
            pieces.push(Piece::Link(url));
        } else {
            pieces.push(Piece::Text(&rest[..start + end.max(1)]));
        }
        rest = &rest[start + end.max(1)..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

fn next_scheme(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")].into_iter().flatten().min()
}

/// A short, single-line version of a text (names, previews).
pub fn clip(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Up to two initials for an avatar, from a name or handle in any script.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> =
        name.split_whitespace().map(|w| w.trim_start_matches('@')).filter(|w| !w.is_empty()).collect();
    let first = |w: &str| w.chars().next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    match words.as_slice() {
        [] => "?".into(),
        [one] => first(one),
        [a, .., b] => format!("{}{}", first(a), first(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_only_web_addresses_become_links() {
        let html = linked("<script>alert(1)</script> see https://example.com/a?b=1&c=2. javascript:alert(2) \"https://x.io\"onmouseover=\"x\"").into_string();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains(
            r#"<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow ugc">"#
        ));
        assert!(!html.contains("href=\"javascript"));
        assert!(html.contains(r#"href="https://x.io""#), "{html}");
        assert!(!html.contains(r#"onmouseover="x""#), "{html}");
        assert!(!linked("https://").into_string().contains("<a"));
        assert!(!linked("http://\"><img src=x onerror=alert(1)>").into_string().contains("<img"));
    }

    #[test]
    fn trailing_punctuation_stays_out_of_links_but_balanced_brackets_stay_in() {
        let html = linked("(see https://en.wikipedia.org/wiki/Rust_(programming_language)).").into_string();
        assert!(html.contains(r#"href="https://en.wikipedia.org/wiki/Rust_(programming_language)""#), "{html}");
        let html = linked("Done: https://example.com.").into_string();
        assert!(html.contains(r#"href="https://example.com""#));
    }

    #[test]
    fn mentions_in_notes_are_marked_without_trusting_the_text() {
        let html = note("@Sofia please check <b>this</b>, mail a@b.c").into_string();
        assert!(html.contains(r#"<span class="mention">@Sofia</span>"#));
        assert!(html.contains("&lt;b&gt;"));
    }

    #[test]
    fn initials_and_clips_work_in_every_script() {
        assert_eq!(initials("María José Pérez"), "MP");
        assert_eq!(initials("@dana_k"), "D");
        assert_eq!(initials("李雷"), "李");
        assert_eq!(initials(""), "?");
        assert_eq!(clip("Καλησπέρα σας,\n  θέλω", 9), "Καλησπέρα…");
    }
}
