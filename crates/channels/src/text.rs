//! Length rules per network, checked before anything is sent so an agent
//! learns why a reply is too long in words they can act on, instead of
//! reading a network's error code.
//!
//! Networks count differently: X weighs characters (CJK and emoji count
//! double, any link counts 23), Instagram DMs count UTF-8 bytes, Bluesky
//! counts graphemes, Mastodon counts links as 23. Where an exact rule would
//! need large tables (X's list of top-level domains, Unicode's grapheme
//! rules), the approximations here err towards counting too much, so a reply
//! Hark lets through is not refused by the network.

use std::ops::Range;

use hark_domain::Network;

use crate::model::{ConnectorError, OutboundVisibility, Refusal};

/// What X and Mastodon count a link as, however long it is.
pub const URL_WEIGHT: usize = 23;

/// How a network measures a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Unicode scalar values.
    Chars,
    /// UTF-8 bytes.
    Utf8Bytes,
    /// twitter-text weights, see [`x_weighted_length`].
    XWeighted,
    /// Characters, with links counted as 23, see [`mastodon_length`].
    Mastodon,
    /// User-perceived characters, see [`approx_graphemes`].
    Graphemes,
}

/// One limit: what is limited, how it is measured and how far it goes.
#[derive(Debug, Clone, Copy)]
struct Limit {
    /// Plural noun phrase naming what the limit applies to, e.g. "X posts".
    applies_to: &'static str,
    /// The network's service, a proper name in every language ("X", "Messenger").
    service: &'static str,
    measure: Measure,
    max: usize,
}

const fn limit(applies_to: &'static str, service: &'static str, measure: Measure, max: usize) -> Limit {
    Limit { applies_to, service, measure, max }
}

/// The limits a reply must meet on a network (some have two, e.g. Bluesky
/// counts both graphemes and bytes).
fn limits(network: Network, visibility: OutboundVisibility) -> Vec<Limit> {
    use Measure::*;
    use OutboundVisibility::{Private, Public};
    match (network, visibility) {
        (Network::X, Public) => vec![limit("X posts", "X", XWeighted, 280)],
        (Network::X, Private) => vec![limit("X direct messages", "X", Chars, 10_000)],
        (Network::Facebook, Public) => vec![limit("Facebook comments", "Facebook", Chars, 8_000)],
        (Network::Facebook, Private) => vec![limit("Messenger messages", "Messenger", Chars, 2_000)],
        (Network::Instagram, Public) => vec![limit("Instagram comments", "Instagram", Chars, 2_200)],
        (Network::Instagram, Private) => vec![limit("Instagram direct messages", "Instagram", Utf8Bytes, 1_000)],
        (Network::Whatsapp, _) => vec![limit("WhatsApp messages", "WhatsApp", Chars, 4_096)],
        (Network::Telegram, _) => vec![limit("Telegram messages", "Telegram", Chars, 4_096)],
        (Network::Vk, Public) => vec![limit("VK comments", "VK", Chars, 4_096)],
        (Network::Vk, Private) => vec![limit("VK messages", "VK", Chars, 4_096)],
        (Network::Mastodon, _) => vec![limit("Mastodon posts", "Mastodon", Mastodon, 500)],
        (Network::Bluesky, Public) => {
            vec![limit("Bluesky posts", "Bluesky", Graphemes, 300), limit("Bluesky posts", "Bluesky", Utf8Bytes, 3_000)]
        }
        (Network::Bluesky, Private) => {
            vec![
                limit("Bluesky chat messages", "Bluesky", Graphemes, 1_000),
                limit("Bluesky chat messages", "Bluesky", Utf8Bytes, 10_000),
            ]
        }
        (Network::Email, _) => vec![limit("Emails", "Email", Chars, 100_000)],
        (Network::Chat, _) => vec![limit("Chat messages", "Chat", Chars, 10_000)],
        (Network::Api, _) => vec![limit("API channel messages", "API", Chars, 100_000)],
    }
}

/// Refuses a reply that is empty or longer than the network allows, with a
/// sentence naming the limit and the reply's current length.
pub fn check_length(network: Network, visibility: OutboundVisibility, text: &str) -> Result<(), ConnectorError> {
    if text.trim().is_empty() {
        return Err(ConnectorError::NotAllowed(Refusal::new(
            "empty",
            "The reply is empty; write something before sending.",
        )));
    }
    for limit in limits(network, visibility) {
        let length = measure(limit.measure, text);
        if length > limit.max {
            return Err(ConnectorError::NotAllowed(too_long(&limit, length)));
        }
    }
    Ok(())
}

/// The composer's counter for a reply: how the network measures it (`chars`,
/// `utf8_bytes`, `x_weighted`, `mastodon` or `graphemes`), the reply's length
/// that way, and the limit. Where a network has two limits, the first and
/// stricter-for-typing one is shown; the other is still checked on sending.
pub fn counter(network: Network, visibility: OutboundVisibility, text: &str) -> (&'static str, usize, usize) {
    let limits = limits(network, visibility);
    let Some(first) = limits.first() else {
        return ("chars", text.chars().count(), usize::MAX);
    };
    let name = match first.measure {
        Measure::Chars => "chars",
        Measure::Utf8Bytes => "utf8_bytes",
        Measure::XWeighted => "x_weighted",
        Measure::Mastodon => "mastodon",
        Measure::Graphemes => "graphemes",
    };
    (name, measure(first.measure, text), first.max)
}

fn measure(measure: Measure, text: &str) -> usize {
    match measure {
        Measure::Chars => text.chars().count(),
        Measure::Utf8Bytes => text.len(),
        Measure::XWeighted => x_weighted_length(text),
        Measure::Mastodon => mastodon_length(text),
        Measure::Graphemes => approx_graphemes(text),
    }
}

/// The refusal of a reply over `limit`: the English sentence names what
/// the limit applies to; the interface's message names the network's service.
fn too_long(limit: &Limit, length: usize) -> Refusal {
    let Limit { applies_to, service, max, .. } = *limit;
    let key = match limit.measure {
        Measure::Chars | Measure::Graphemes => "too-long",
        Measure::Utf8Bytes => "too-long-bytes",
        Measure::XWeighted => "too-long-x",
        Measure::Mastodon => "too-long-links",
    };
    let text = match limit.measure {
        Measure::Chars | Measure::Graphemes => {
            format!("{applies_to} are limited to {max} characters; this reply has {length}.")
        }
        Measure::Utf8Bytes => format!(
            "{applies_to} are limited to {max} bytes of text (accented letters take 2, most emoji 4); \
             this reply takes {length}."
        ),
        Measure::XWeighted => format!(
            "{applies_to} are limited to {max} characters as X counts them (any link counts as 23, \
             CJK characters and emoji as 2); this reply counts {length}."
        ),
        Measure::Mastodon => {
            format!("{applies_to} are limited to {max} characters (any link counts as 23); this reply counts {length}.")
        }
    };
    Refusal::new(key, text).with("service", service).with("max", max).with("length", length)
}

/// The length X gives a text (twitter-text v3 weighting): code points in
/// 0–4351 (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts…),
/// 8192–8205, 8208–8223 and 8242–8247 (spaces, dashes, quotes, primes) weigh
/// 1; everything else, CJK and emoji included, weighs 2; each link weighs 23
/// whatever its length.
///
/// Emoji sequences are weighed per code point, whereas X counts a whole
/// sequence as 2; this overcounts (never undercounts) such emoji.
pub fn x_weighted_length(text: &str) -> usize {
    weigh(text, x_weight)
}

fn x_weight(c: char) -> usize {
    match u32::from(c) {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

/// The length Mastodon gives a text: characters, with every link counted as
/// 23 and a remote mention (`@user@server`) counted as its `@user` part.
pub fn mastodon_length(text: &str) -> usize {
    let remote_servers = remote_mention_servers(text);
    let mut length = weigh(text, |_| 1);
    for server in remote_servers {
        length -= text[server].chars().count();
    }
    length
}

/// Sums `weight` over the characters outside links, plus 23 per link.
fn weigh(text: &str, weight: impl Fn(char) -> usize) -> usize {
    let urls = find_urls(text);
    let mut total = urls.len() * URL_WEIGHT;
    let mut from = 0;
    for url in &urls {
        total += text[from..url.start].chars().map(&weight).sum::<usize>();
        from = url.end;
    }
    total + text[from..].chars().map(&weight).sum::<usize>()
}

/// The `@server` parts of remote mentions such as `@dana@mastodon.social`.
fn remote_mention_servers(text: &str) -> Vec<Range<usize>> {
    words(text)
        .filter_map(|(start, word)| {
            let rest = word.strip_prefix('@')?;
            let at = rest.find('@')?;
            let user = &rest[..at];
            let valid_user = !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let server_len =
                rest[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').count();
            (valid_user && server_len > 0).then(|| {
                let server_start = start + 1 + at;
                server_start..server_start + 1 + server_len
            })
        })
        .collect()
}

/// An approximate count of user-perceived characters (Unicode grapheme
/// clusters): combining marks, variation selectors, emoji skin tones and tag
/// characters join the character before them, a zero-width joiner glues two
/// emoji into one, and two regional indicators make one flag. Rarer rules
/// (Hangul jamo, Indic conjuncts) are not applied, which overcounts.
pub fn approx_graphemes(text: &str) -> usize {
    let mut count = 0;
    let mut after_joiner = false;
    let mut pending_flag_half = false;
    let mut previous = None;
    for c in text.chars() {
        let code = u32::from(c);
        let is_flag_half = (0x1F1E6..=0x1F1FF).contains(&code);
        let starts_new = if after_joiner || extends_previous(code) || (previous == Some('\r') && c == '\n') {
            false
        } else if is_flag_half && pending_flag_half {
            pending_flag_half = false;
            false
        } else {
            pending_flag_half = is_flag_half;
            true
        };
        if starts_new {
            count += 1;
        }
        after_joiner = code == 0x200D;
        previous = Some(c);
    }
    count
}

/// Code points that never start a grapheme of their own.
fn extends_previous(code: u32) -> bool {
    matches!(
        code,
        0x0300..=0x036F          // combining diacritical marks
            | 0x1AB0..=0x1AFF    // combining marks, extended
            | 0x1DC0..=0x1DFF    // combining marks, supplement
            | 0x20D0..=0x20FF    // combining marks for symbols (keycaps)
            | 0xFE20..=0xFE2F    // combining half marks
            | 0xFE00..=0xFE0F    // variation selectors
            | 0x200D             // zero-width joiner
            | 0x1F3FB..=0x1F3FF  // emoji skin tones
            | 0xE0020..=0xE007F  // tag characters (subdivision flags)
            | 0xE0100..=0xE01EF // variation selectors, supplement
    )
}

/// Whitespace-separated words with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(char::is_whitespace)
        .filter(|word| !word.is_empty())
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// Byte ranges of the links in a text, found the way twitter-text finds
/// them, simplified: `http://` and `https://` links anywhere in a word, and
/// bare domains (`example.com/path`) whose top-level domain is a common
/// generic one, or a two-letter country code when followed by a path.
pub(crate) fn find_urls(text: &str) -> Vec<Range<usize>> {
    words(text)
        .filter_map(|(start, word)| {
            let found = link_with_scheme(word).or_else(|| bare_domain_link(word))?;
            Some(start + found.start..start + found.end)
        })
        .collect()
}

fn link_with_scheme(word: &str) -> Option<Range<usize>> {
    let lower = word.to_ascii_lowercase();
    let start = [lower.find("https://"), lower.find("http://")].into_iter().flatten().min()?;
    let after_scheme = start + lower[start..].find("://")? + 3;
    let end = link_end(word, start);
    let host_start = word[after_scheme..end].chars().next()?;
    host_start.is_ascii_alphanumeric().then_some(start..end)
}

/// Characters that may open a bare link in a word, like the `(` of "(see example.com)".
const OPENING_PUNCTUATION: &[char] = &['(', '[', '{', '"', '\'', '<', '«', '“', '‘', '¡', '¿'];

fn bare_domain_link(word: &str) -> Option<Range<usize>> {
    // Mentions, e-mail addresses and the like are not links.
    if word.contains('@') {
        return None;
    }
    let start = word.find(|c: char| !OPENING_PUNCTUATION.contains(&c))?;
    let domain_len = word[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(word.len() - start);
    let domain = word[start..start + domain_len].trim_end_matches(['.', '-']);
    let domain_end = start + domain.len();
    let has_path = word[domain_end..].starts_with('/');
    if !is_linkable_domain(domain, has_path) {
        return None;
    }
    let end = if has_path { link_end(word, domain_end) } else { domain_end };
    Some(start..end)
}

fn is_linkable_domain(domain: &str, has_path: bool) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let well_formed =
        labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    let Some(tld) = labels.last().map(|t| t.to_ascii_lowercase()) else { return false };
    if !well_formed || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    GENERIC_TLDS.contains(&tld.as_str()) || (tld.len() == 2 && has_path)
}

/// Generic top-level domains common enough that a bare `name.tld` is surely
/// meant as a link (twitter-text uses the full IANA list).
const GENERIC_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "name", "pro", "mobi", "app", "dev", "io", "co",
    "ai", "me", "tv", "ly", "gg", "fm", "xyz", "online", "site", "store", "shop", "tech", "blog", "news", "page",
    "cloud", "design", "link", "live", "club", "today", "world", "email", "media", "agency", "digital", "help",
    "support", "social", "games", "space", "website", "global", "art", "life", "eu", "us", "uk",
];

/// Where a link that starts at `start` ends: at the first character that
/// cannot be in a URL, then without trailing punctuation that belongs to the
/// sentence (a final `.`, or a `)` that closes a parenthesis opened before
/// the link).
fn link_end(word: &str, start: usize) -> usize {
    let run = word[start..]
        .find(|c: char| !c.is_ascii_graphic() || matches!(c, '"' | '<' | '>'))
        .unwrap_or(word.len() - start);
    let mut link = &word[start..start + run];
    while let Some(last) = link.chars().last() {
        let unbalanced_close = match last {
            ')' => link.matches('(').count() < link.matches(')').count(),
            ']' => link.matches('[').count() < link.matches(']').count(),
            _ => false,
        };
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'') || unbalanced_close {
            link = &link[..link.len() - 1];
        } else {
            break;
        }
    }
    start + link.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutboundVisibility::{Private, Public};

    fn refused(network: Network, visibility: OutboundVisibility, text: &str) -> String {
        match check_length(network, visibility, text) {
            Err(ConnectorError::NotAllowed(why)) => why.text,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn latin_text_weighs_one_per_character_on_x() {
        assert_eq!(x_weighted_length("Hello, world"), 12);
        assert_eq!(x_weighted_length("Grüße — “café” ‘ok’ ′"), 21);
        assert_eq!(x_weighted_length("Привет"), 6);
    }

    #[test]
    fn cjk_and_emoji_weigh_two_on_x() {
        assert_eq!(x_weighted_length("日本語"), 6);
        assert_eq!(x_weighted_length("ok 📦"), 5);
        assert_eq!(x_weighted_length("한국"), 4);
    }

    #[test]
    fn a_post_of_140_cjk_characters_fits_and_141_do_not() {
        let fits = "字".repeat(140);
        assert_eq!(x_weighted_length(&fits), 280);
        assert_eq!(check_length(Network::X, Public, &fits), Ok(()));
        let why = refused(Network::X, Public, &"字".repeat(141));
        assert!(why.contains("280") && why.contains("282"), "{why}");
    }

    #[test]
    fn any_link_weighs_23_on_x() {
        let long_link = format!("https://example.com/{}", "a".repeat(80));
        assert_eq!(long_link.len(), 100);
        assert_eq!(x_weighted_length(&long_link), 23);
        assert_eq!(x_weighted_length(&format!("see {long_link} now")), 4 + 23 + 4);
        assert_eq!(x_weighted_length("http://t.co"), 23);
        assert_eq!(x_weighted_length("go to example.com/help."), 6 + 23 + 1);
        // A 280-character post with a long link is well under the limit.
        let post = format!("{} {}", "a".repeat(250), "https://example.com/".to_owned() + &"p".repeat(200));
        assert_eq!(check_length(Network::X, Public, &post), Ok(()));
    }

    #[test]
    fn links_are_found_with_or_without_a_scheme() {
        assert_eq!(urls("see https://example.com/a?b=c."), ["https://example.com/a?b=c"]);
        assert_eq!(urls("(HTTP://Example.com/x)"), ["HTTP://Example.com/x"]);
        assert_eq!(
            urls("wiki https://en.wikipedia.org/wiki/Rust_(language)!"),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert_eq!(
            urls("visit acme.com or shop.acme.io/orders/4471, thanks"),
            ["acme.com", "shop.acme.io/orders/4471"]
        );
        assert_eq!(urls("商品はこちらhttps://example.jp/aです"), ["https://example.jp/a"]);
        assert_eq!(urls("example.de/path but not example.de"), ["example.de/path"]);
    }

    #[test]
    fn words_with_dots_are_not_links() {
        assert!(urls("file.txt, e.g. v1.2 and node.js").is_empty());
        assert!(urls("write to help@acme.com or @acme_help").is_empty());
        assert!(urls("http:// alone").is_empty());
        assert!(urls("-acme.com- a..com").len() <= 1);
    }

    #[test]
    fn x_direct_messages_allow_10000_characters() {
        assert_eq!(check_length(Network::X, Private, &"字".repeat(10_000)), Ok(()));
        let why = refused(Network::X, Private, &"a".repeat(10_001));
        assert!(why.contains("10000") && why.contains("10001"), "{why}");
    }

    #[test]
    fn instagram_direct_messages_count_bytes() {
        assert_eq!(check_length(Network::Instagram, Private, &"a".repeat(1000)), Ok(()));
        // 334 three-byte characters are 1002 bytes though only 334 characters.
        let why = refused(Network::Instagram, Private, &"€".repeat(334));
        assert!(why.contains("1000 bytes") && why.contains("1002"), "{why}");
        assert_eq!(check_length(Network::Instagram, Public, &"€".repeat(2200)), Ok(()));
        assert!(check_length(Network::Instagram, Public, &"€".repeat(2201)).is_err());
    }

    #[test]
    fn each_network_has_its_limit() {
        let cases = [
            (Network::Facebook, Private, 2_000),
            (Network::Facebook, Public, 8_000),
            (Network::Whatsapp, Private, 4_096),
            (Network::Telegram, Private, 4_096),
            (Network::Telegram, Public, 4_096),
            (Network::Vk, Private, 4_096),
            (Network::Vk, Public, 4_096),
            (Network::Mastodon, Public, 500),
            (Network::Bluesky, Public, 300),
            (Network::Bluesky, Private, 1_000),
            (Network::Chat, Private, 10_000),
        ];
        for (network, visibility, max) in cases {
            assert_eq!(check_length(network, visibility, &"é".repeat(max)), Ok(()), "{network} {visibility:?}");
            let why = refused(network, visibility, &"é".repeat(max + 1));
            assert!(why.contains(&max.to_string()) && why.contains(&(max + 1).to_string()), "{why}");
        }
    }

    #[test]
    fn empty_replies_are_refused() {
        assert!(refused(Network::Email, Private, " \n ").contains("empty"));
    }

    #[test]
    fn mastodon_counts_links_as_23_and_remote_mentions_by_user() {
        assert_eq!(mastodon_length("hi @dana@mastodon.social"), "hi @dana".len());
        assert_eq!(mastodon_length(&format!("see https://example.com/{}", "x".repeat(100))), 4 + 23);
        let fits = format!("{} https://example.com/{}", "a".repeat(476), "x".repeat(300));
        assert_eq!(check_length(Network::Mastodon, Public, &fits), Ok(()));
    }

    #[test]
    fn graphemes_join_marks_skin_tones_joiners_and_flags() {
        assert_eq!(approx_graphemes("abc"), 3);
        assert_eq!(approx_graphemes("e\u{301}"), 1);
        assert_eq!(approx_graphemes("👍🏽"), 1);
        assert_eq!(approx_graphemes("👨‍👩‍👧"), 1);
        assert_eq!(approx_graphemes("🇩🇪🇫🇷"), 2);
        assert_eq!(approx_graphemes("❤️"), 1);
        assert_eq!(approx_graphemes("a\r\nb"), 3);
        // 300 family emoji fit a Bluesky post by graphemes, but not by bytes (18 bytes each).
        let why = refused(Network::Bluesky, Public, &"👨‍👩‍👧".repeat(300));
        assert!(why.contains("3000 bytes"), "{why}");
    }
}
