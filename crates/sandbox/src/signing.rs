//! The sandbox's own implementation of every signature the networks use,
//! written from platform-apis.md so it checks Hark's connectors independently.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
type HmacSha1 = hmac::Hmac<sha1::Sha1>;

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC is defined for keys of every length; this branch cannot be taken.
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else { return Vec::new() };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = <HmacSha1 as KeyInit>::new_from_slice(key) else { return Vec::new() };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// X CRC answer: `sha256=` + base64(HMAC-SHA256(consumer_secret, crc_token)).
pub fn x_crc_response_token(consumer_secret: &str, crc_token: &str) -> String {
    format!("sha256={}", BASE64.encode(hmac_sha256(consumer_secret.as_bytes(), crc_token.as_bytes())))
}

/// Value of `x-twitter-webhooks-signature` for a webhook body (base64, not hex).
pub fn x_webhook_signature(consumer_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", BASE64.encode(hmac_sha256(consumer_secret.as_bytes(), body)))
}

/// Value of Meta's `X-Hub-Signature-256` (lowercase hex).
pub fn meta_signature_256(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret.as_bytes(), body)))
}

/// Legacy `X-Hub-Signature` (SHA-1), still sent alongside.
pub fn meta_signature_sha1(app_secret: &str, body: &[u8]) -> String {
    format!("sha1={}", hex::encode(hmac_sha1(app_secret.as_bytes(), body)))
}

/// Graph `appsecret_proof`: lowercase hex HMAC-SHA256(app_secret, access_token).
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    hex::encode(hmac_sha256(app_secret.as_bytes(), access_token.as_bytes()))
}

/// Rewrites compact JSON the way Meta serialises webhook bodies: every
/// non-ASCII character becomes `\uXXXX` (lowercase hex, UTF-16 surrogate
/// pairs above the BMP). Non-ASCII can only occur inside JSON strings, so a
/// character-level pass is safe.
pub fn escape_json_non_ascii(json: &str, escape_slashes: bool) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    for ch in json.chars() {
        if ch.is_ascii() {
            if escape_slashes && ch == '/' {
                out.push_str("\\/");
            } else {
                out.push(ch);
            }
            continue;
        }
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` (uppercase).
const OAUTH_RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub fn oauth_percent_encode(value: &str) -> String {
    utf8_percent_encode(value, OAUTH_RESERVED).to_string()
}

/// RFC 5849 signature base string from decoded parameters.
pub fn oauth1_base_string(method: &str, base_url: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (oauth_percent_encode(k), oauth_percent_encode(v))).collect();
    encoded.sort();
    let parameter_string = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        oauth_percent_encode(base_url),
        oauth_percent_encode(&parameter_string)
    )
}

/// `oauth_signature` (base64 HMAC-SHA1) for decoded parameters without the signature itself.
pub fn oauth1_signature(
    method: &str,
    base_url: &str,
    params: &[(String, String)],
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!("{}&{}", oauth_percent_encode(consumer_secret), oauth_percent_encode(token_secret));
    BASE64.encode(hmac_sha1(key.as_bytes(), oauth1_base_string(method, base_url, params).as_bytes()))
}

/// Parses `Authorization: OAuth k="v", …` into decoded pairs.
pub fn parse_oauth_header(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("OAuth ")?;
    let mut pairs = Vec::new();
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        let value = value.trim().trim_matches('"');
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
        pairs.push((key.trim().to_string(), decoded.into_owned()));
    }
    Some(pairs)
}

/// Signature base URL as RFC 5849 §3.4.1.2 wants it: scheme, lowercase host,
/// no default port, path, no query.
pub(crate) fn oauth_base_url(scheme: &str, host: &str, path: &str) -> String {
    let host = host.to_ascii_lowercase();
    let host = match (scheme, host.rsplit_once(':')) {
        ("http", Some((name, "80"))) | ("https", Some((name, "443"))) => name.to_string(),
        _ => host,
    };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const X_SECRET: &str = "sim_consumer_secret_0123456789";
    const META_SECRET: &str = "sim_app_secret_abcdef";

    #[test]
    fn x_crc_matches_the_contract_vector() {
        let token = "crc-7f1c2a9e-0b3d-4e55-9a10-5c2f8d6e4b21";
        assert_eq!(x_crc_response_token(X_SECRET, token), "sha256=lDpRBKwaqPtiSROfM3QhiWLfEMPrmnty0GpZUKoOySg=");
    }

    #[test]
    fn x_webhook_signature_matches_the_contract_vector() {
        let body = br#"{"for_user_id":"1580000000000000001","tweet_create_events":[]}"#;
        assert_eq!(x_webhook_signature(X_SECRET, body), "sha256=GYFkHeIbsbCYKz8cm/lTyVaMPrnYf8rTXd1g74ylJEU=");
    }

    #[test]
    fn meta_body_is_escaped_and_signed_like_the_contract_vector() {
        let raw = r#"{"object":"page","entry":[{"id":"104000000000001","time":1767225600123,"messaging":[{"sender":{"id":"7010000000000001"},"recipient":{"id":"104000000000001"},"timestamp":1767225600000,"message":{"mid":"m_sim1","text":"Grüße"}}]}]}"#;
        let escaped = escape_json_non_ascii(raw, false);
        assert!(escaped.contains(r#""text":"Gr\u00fc\u00dfe""#), "{escaped}");
        assert_eq!(
            meta_signature_256(META_SECRET, escaped.as_bytes()),
            "sha256=6ac4d4448dccb143bdc0b5ff34e1af5d8ca63df5065a64acac80c4fd8fa55367"
        );
        // Raw UTF-8 signs differently: a receiver that re-serialises would fail.
        let unescaped = meta_signature_256(META_SECRET, raw.as_bytes());
        assert!(unescaped.contains("1351cb58d801"), "{unescaped}");
    }

    #[test]
    fn escaping_uses_surrogate_pairs_above_the_bmp() {
        assert_eq!(escape_json_non_ascii(r#"{"t":"📦/"}"#, true), r#"{"t":"\ud83d\udce6\/"}"#);
    }

    #[test]
    fn appsecret_proof_matches_the_contract_vector() {
        assert_eq!(
            appsecret_proof(META_SECRET, "EAAsimtoken"),
            "4a2effc42a81c398a25c9145c026ee7695a8aa917c493548ebc4c95c93c2a0bf"
        );
    }

    fn vector_oauth_params() -> Vec<(String, String)> {
        [
            ("oauth_consumer_key", "simConsumerKey"),
            ("oauth_nonce", "Sim0nce4Tests7f3a9c21d0e5b6a8"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1767225600"),
            ("oauth_token", "1580000000000000001-simAccessToken"),
            ("oauth_version", "1.0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
    }

    #[test]
    fn oauth1_form_vector_matches() {
        let mut params = vector_oauth_params();
        params.push(("include_entities".into(), "true".into()));
        params.push(("status".into(), "Hello, world! ☕".into()));
        let base = oauth1_base_string("post", "https://api.x.com/1.1/statuses/update.json", &params);
        let expected_params = "include_entities=true&oauth_consumer_key=simConsumerKey&oauth_nonce=Sim0nce4Tests7f3a9c21d0e5b6a8&oauth_signature_method=HMAC-SHA1&oauth_timestamp=1767225600&oauth_token=1580000000000000001-simAccessToken&oauth_version=1.0&status=Hello%2C%20world%21%20%E2%98%95";
        assert!(base.ends_with(&oauth_percent_encode(expected_params)), "{base}");
        let signature = oauth1_signature(
            "POST",
            "https://api.x.com/1.1/statuses/update.json",
            &params,
            "simConsumerSecret",
            "simAccessTokenSecret",
        );
        assert_eq!(signature, "msi+6ampOnzvhCAwPzImIfGlff0=");
        assert_eq!(oauth_percent_encode(&signature), "msi%2B6ampOnzvhCAwPzImIfGlff0%3D");
    }

    #[test]
    fn oauth1_json_body_vector_signs_only_oauth_params() {
        let signature = oauth1_signature(
            "POST",
            "https://api.x.com/2/tweets",
            &vector_oauth_params(),
            "simConsumerSecret",
            "simAccessTokenSecret",
        );
        assert_eq!(signature, "Zlzw4IpIoWEfAGyLlzQKpmdg+Z4=");
    }

    #[test]
    fn oauth_header_round_trips_encoded_values() {
        let parsed = parse_oauth_header(r#"OAuth oauth_consumer_key="k", oauth_signature="msi%2B6amp%3D""#)
            .unwrap_or_else(|| panic!("header should parse"));
        assert_eq!(parsed[1], ("oauth_signature".to_string(), "msi+6amp=".to_string()));
        assert!(parse_oauth_header("Bearer abc").is_none());
    }

    #[test]
    fn base_url_drops_default_ports_only() {
        assert_eq!(oauth_base_url("http", "LOCALHOST:80", "/x/2/tweets"), "http://localhost/x/2/tweets");
        assert_eq!(oauth_base_url("http", "127.0.0.1:4100", "/x/2/tweets"), "http://127.0.0.1:4100/x/2/tweets");
    }
}
