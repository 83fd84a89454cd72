//! OAuth 1.0a request signing (RFC 5849, HMAC-SHA1), which X accepts for
//! user-context calls. Written here rather than taken from a crate because it
//! is short and the sandbox recomputes the very same signature, so every step
//! is tested against the vectors in platform-apis.md 1.8.
//!
//! Only query parameters and `application/x-www-form-urlencoded` body
//! parameters are signed; JSON bodies are not (X's v2 POSTs).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use url::Url;

use crate::model::ConnectorError;

type HmacSha1 = hmac::Hmac<Sha1>;

/// RFC 3986 section 2.3: everything but `A-Z a-z 0-9 - . _ ~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The four secrets of a user-context request.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: &'a str,
    pub token_secret: &'a str,
}

/// What makes each signature unique. Injectable so tests can reproduce a
/// known signature; use [`Freshness::new`] for real requests.
#[derive(Debug, Clone)]
pub struct Freshness {
    pub nonce: String,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

impl Freshness {
    /// A random nonce and the given time.
    pub fn new(now: jiff::Timestamp) -> Result<Freshness, ConnectorError> {
        Ok(Freshness { nonce: random_nonce()?, timestamp: now.as_second() })
    }
}

/// 32 random alphanumeric characters: X wants the nonce unique per request,
/// and the sandbox rejects one it has seen.
pub fn random_nonce() -> Result<String, ConnectorError> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConnectorError::Misconfigured(format!("no randomness for a nonce: {e}")))?;
    // 256 is not a multiple of 62, so this is very slightly biased; a nonce only needs to be unique.
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect())
}

/// Percent-encodes per RFC 3986 (space → `%20`, `*` → `%2A`, UTF-8 bytes as
/// uppercase `%XX`), the only encoding OAuth 1.0a allows.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The `Authorization` header value for a request.
///
/// `url` may carry a query string: its parameters are signed. `form_params`
/// are the decoded parameters of an `application/x-www-form-urlencoded` body
/// (empty for JSON bodies and body-less requests).
pub fn authorization_header(
    credentials: &Credentials<'_>,
    method: &str,
    url: &str,
    form_params: &[(&str, &str)],
    freshness: &Freshness,
) -> Result<String, ConnectorError> {
    let oauth_params = protocol_params(credentials, freshness);
    let signature = signature(credentials, method, url, form_params, &oauth_params)?;
    let mut fields: Vec<(String, String)> = oauth_params;
    fields.push(("oauth_signature".into(), signature));
    fields.sort();
    let rendered: Vec<String> =
        fields.iter().map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v))).collect();
    Ok(format!("OAuth {}", rendered.join(", ")))
}

/// The `oauth_*` parameters other than the signature itself.
fn protocol_params(credentials: &Credentials<'_>, freshness: &Freshness) -> Vec<(String, String)> {
    vec![
        ("oauth_consumer_key".into(), credentials.consumer_key.into()),
        ("oauth_nonce".into(), freshness.nonce.clone()),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        ("oauth_timestamp".into(), freshness.timestamp.to_string()),
        ("oauth_token".into(), credentials.token.into()),
        ("oauth_version".into(), "1.0".into()),
    ]
}

/// `oauth_signature`: base64 of HMAC-SHA1(signing key, base string).
fn signature(
    credentials: &Credentials<'_>,
    method: &str,
    url: &str,
    form_params: &[(&str, &str)],
    oauth_params: &[(String, String)],
) -> Result<String, ConnectorError> {
    let url = Url::parse(url).map_err(|e| ConnectorError::Misconfigured(format!("invalid URL to sign: {e}")))?;
    let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    params.extend(form_params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    params.extend(oauth_params.iter().cloned());
    let base = base_string(method, &url, &parameter_string(&params));
    let key = signing_key(credentials.consumer_secret, credentials.token_secret);
    Ok(BASE64.encode(hmac_sha1(key.as_bytes(), base.as_bytes())))
}

/// Encodes every key and value, sorts by encoded key then encoded value, and
/// joins them as `k=v&k=v` (RFC 5849 3.4.1.3.2).
pub fn parameter_string(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    encoded.sort();
    encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// `METHOD&pct(base URL)&pct(parameter string)`, where the base URL is scheme,
/// lowercase host, non-default port and path, without query or fragment.
pub fn base_string(method: &str, url: &Url, parameter_string: &str) -> String {
    format!("{}&{}&{}", method.to_ascii_uppercase(), percent_encode(&base_url(url)), percent_encode(parameter_string))
}

/// The URL as it enters the base string. `url::Url` already lowercases the
/// host and forgets a port that is the scheme's default.
fn base_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{}://{}:{}{}", url.scheme(), host, port, url.path()),
        None => format!("{}://{}{}", url.scheme(), host, url.path()),
    }
}

/// `pct(consumer_secret)&pct(token_secret)`; the `&` stays when the token secret is empty.
pub fn signing_key(consumer_secret: &str, token_secret: &str) -> String {
    format!("{}&{}", percent_encode(consumer_secret), percent_encode(token_secret))
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac =
        <HmacSha1 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The invented credentials of platform-apis.md 1.8.
    fn vector_credentials() -> Credentials<'static> {
        Credentials {
            consumer_key: "simConsumerKey",
            consumer_secret: "simConsumerSecret",
            token: "1580000000000000001-simAccessToken",
            token_secret: "simAccessTokenSecret",
        }
    }

    fn vector_freshness() -> Freshness {
        Freshness { nonce: "Sim0nce4Tests7f3a9c21d0e5b6a8".into(), timestamp: 1767225600 }
    }

    fn oauth_params() -> Vec<(String, String)> {
        protocol_params(&vector_credentials(), &vector_freshness())
    }

    #[test]
    fn percent_encoding_follows_rfc_3986() {
        assert_eq!(percent_encode("Hello, world! ☕"), "Hello%2C%20world%21%20%E2%98%95");
        assert_eq!(percent_encode("a-b.c_d~e*f+g/h=i&j"), "a-b.c_d~e%2Af%2Bg%2Fh%3Di%26j");
    }

    #[test]
    fn form_body_vector_gives_the_documented_parameter_string_and_signature() {
        let url = "https://api.x.com/1.1/statuses/update.json?include_entities=true";
        let mut params: Vec<(String, String)> =
            vec![("include_entities".into(), "true".into()), ("status".into(), "Hello, world! ☕".into())];
        params.extend(oauth_params());
        assert_eq!(
            parameter_string(&params),
            "include_entities=true&oauth_consumer_key=simConsumerKey&oauth_nonce=Sim0nce4Tests7f3a9c21d0e5b6a8\
             &oauth_signature_method=HMAC-SHA1&oauth_timestamp=1767225600\
             &oauth_token=1580000000000000001-simAccessToken&oauth_version=1.0\
             &status=Hello%2C%20world%21%20%E2%98%95"
        );
        assert_eq!(signing_key("simConsumerSecret", "simAccessTokenSecret"), "simConsumerSecret&simAccessTokenSecret");
        let creds = vector_credentials();
        let form = [("status", "Hello, world! ☕")];
        let sig = signature(&creds, "POST", url, &form, &oauth_params()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sig, "msi+6ampOnzvhCAwPzImIfGlff0=");
        let header =
            authorization_header(&creds, "POST", url, &form, &vector_freshness()).unwrap_or_else(|e| panic!("{e}"));
        assert!(header.contains("oauth_signature=\"msi%2B6ampOnzvhCAwPzImIfGlff0%3D\""), "{header}");
    }

    #[test]
    fn json_body_vector_signs_only_the_oauth_parameters() {
        let header =
            authorization_header(&vector_credentials(), "POST", "https://api.x.com/2/tweets", &[], &vector_freshness())
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"simConsumerKey\", oauth_nonce=\"Sim0nce4Tests7f3a9c21d0e5b6a8\", \
             oauth_signature=\"Zlzw4IpIoWEfAGyLlzQKpmdg%2BZ4%3D\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"1767225600\", oauth_token=\"1580000000000000001-simAccessToken\", \
             oauth_version=\"1.0\""
        );
    }

    #[test]
    fn every_signed_input_changes_the_signature() {
        let creds = vector_credentials();
        let sign = |method: &str, url: &str, form: &[(&str, &str)], freshness: &Freshness, creds: &Credentials<'_>| {
            authorization_header(creds, method, url, form, freshness).unwrap_or_else(|e| panic!("{e}"))
        };
        let url = "https://api.x.com/2/tweets";
        let reference = sign("POST", url, &[], &vector_freshness(), &creds);
        assert_ne!(reference, sign("GET", url, &[], &vector_freshness(), &creds));
        assert_ne!(reference, sign("POST", "https://api.x.com/2/tweets?x=1", &[], &vector_freshness(), &creds));
        assert_ne!(reference, sign("POST", url, &[("a", "b")], &vector_freshness(), &creds));
        let later = Freshness { timestamp: 1767225601, ..vector_freshness() };
        assert_ne!(reference, sign("POST", url, &[], &later, &creds));
        let other_secret = Credentials { token_secret: "other", ..creds };
        assert_ne!(reference, sign("POST", url, &[], &vector_freshness(), &other_secret));
    }

    #[test]
    fn base_url_lowercases_the_host_and_drops_default_ports_and_queries() {
        let parse = |s: &str| Url::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(base_url(&parse("HTTPS://API.X.com:443/2/Tweets?a=1#f")), "https://api.x.com/2/Tweets");
        assert_eq!(base_url(&parse("http://127.0.0.1:8080/2/tweets")), "http://127.0.0.1:8080/2/tweets");
    }

    #[test]
    fn nonces_are_alphanumeric_and_differ() {
        let a = random_nonce().unwrap_or_else(|e| panic!("{e}"));
        let b = random_nonce().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
