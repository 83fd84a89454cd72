//! The HTTP plumbing every connector shares: one client with sane timeouts,
//! and the translation of transport failures and HTTP statuses into
//! [`ConnectorError`]s, so that each connector only adds what is particular to
//! its network (error bodies, rate-limit hints).
//!
//! Whether a failure is worth retrying hinges on one question: could the
//! network have acted on the request? A refused connection means no; a
//! timeout after the request went out means maybe, which is
//! [`ConnectorError::Unknown`]: the publisher reconciles before retrying, so a
//! reply is never posted twice.

use std::sync::Once;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use crate::model::{ChannelContext, ConnectorError};

/// How long to wait for a TCP/TLS connection before trying again later.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request may take. Long polls set their own, longer, limit.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of an unreadable error body is kept as the reason shown to people.
const MAX_REASON_CHARS: usize = 300;

static INSTALL_CRYPTO_PROVIDER: Once = Once::new();

/// Makes `ring` the process-wide rustls provider. reqwest is built without a
/// provider of its own, so one must be installed before the first client. Another
/// part of the program may have installed one already; that one is kept.
pub fn install_crypto_provider() {
    INSTALL_CRYPTO_PROVIDER.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the HTTP client connectors share, or says why it could not.
pub fn try_client() -> Result<reqwest::Client, ConnectorError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("Hark/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConnectorError::Misconfigured(format!("cannot build the HTTP client: {}", e.without_url())))
}

/// The HTTP client connectors share. Build it once at start-up and clone it
/// (clones share one connection pool).
///
/// # Panics
/// When the TLS stack cannot be set up at all, which is a broken build rather
/// than a condition a running server could recover from.
pub fn client() -> reqwest::Client {
    try_client().unwrap_or_else(|e| panic!("{e}"))
}

/// The API base URL for a channel: its `api_base_url` setting (the sandbox,
/// in tests and demos) or the network's public host, without a trailing slash
/// so paths can be appended with `format!("{base}/…")`.
pub fn base_url(ctx: &ChannelContext, default: &str) -> String {
    ctx.setting_str("api_base_url").unwrap_or(default).trim_end_matches('/').to_string()
}

/// Translates a transport failure. The URL is dropped from the message
/// because some networks (Telegram) put the token in it.
pub fn transport_error(err: reqwest::Error) -> ConnectorError {
    let err = err.without_url();
    if err.is_builder() {
        return ConnectorError::Misconfigured(format!("the request could not be built: {err}"));
    }
    // A connect timeout is both `is_connect` and `is_timeout`: nothing was sent.
    if err.is_connect() {
        return ConnectorError::Retryable { reason: format!("could not connect: {err}"), retry_after_secs: None };
    }
    if err.is_timeout() {
        return ConnectorError::Unknown(format!("no answer in time after the request was sent: {err}"));
    }
    // The connection broke somewhere after the request started: it may have been acted upon.
    ConnectorError::Unknown(format!("the exchange was interrupted: {err}"))
}

/// Translates a non-success HTTP status. `reason` is the network's own words
/// (already extracted from its error body); `retry_after_hint` is a
/// network-specific wait (X's `x-rate-limit-reset`, Telegram's
/// `parameters.retry_after`), preferred over the generic `Retry-After` header.
pub fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    reason: String,
    retry_after_hint: Option<u64>,
) -> ConnectorError {
    let retry_after_secs = || retry_after_hint.or_else(|| retry_after_header(headers));
    match status.as_u16() {
        429 => ConnectorError::Retryable { reason, retry_after_secs: retry_after_secs() },
        // 408: the server gave up waiting for the request, so it did not act on it.
        408 => ConnectorError::Retryable { reason, retry_after_secs: retry_after_secs() },
        401 => ConnectorError::Unauthorized(reason),
        500..=599 => ConnectorError::Retryable { reason, retry_after_secs: retry_after_secs() },
        _ => ConnectorError::Rejected(reason),
    }
}

/// The `Retry-After` header in its delta-seconds form. The HTTP-date form is
/// not read: no network Hark talks to sends it, and the caller's backoff
/// covers the case.
pub fn retry_after_header(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct JsonResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Value::Null` when empty, a `Value::String` holding
    /// the (shortened) text when it is not JSON.
    pub body: Value,
}

impl JsonResponse {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// Sends a request and reads the whole answer, mapping transport failures.
pub async fn send(request: reqwest::RequestBuilder) -> Result<JsonResponse, ConnectorError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(transport_error)?;
    Ok(JsonResponse { status, headers, body: parse_body(&bytes) })
}

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(shorten(&String::from_utf8_lossy(bytes))))
}

/// Cuts text meant for an error message to a readable length.
pub fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A fallback reason when a network's error body says nothing useful.
pub fn status_reason(status: StatusCode, body: &Value) -> String {
    match body {
        Value::String(text) if !text.is_empty() => format!("HTTP {}: {}", status.as_u16(), text),
        _ => format!("HTTP {}", status.as_u16()),
    }
}

/// A minimal HTTP/1.1 server for connector tests: it answers each request with
/// the next canned response and records what it received, so tests can check
/// the exact request shape a connector sends. Blocking and thread-based, so it
/// needs nothing beyond `std`.
#[cfg(test)]
pub(crate) mod test_server {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// One request as the server saw it.
    #[derive(Debug, Clone)]
    pub struct Received {
        pub method: String,
        /// Path and query, as sent.
        pub target: String,
        /// Header names lowercase.
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Received {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }

        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("request body is not JSON: {e}"))
        }

        pub fn path(&self) -> &str {
            self.target.split('?').next().unwrap_or_default()
        }

        /// Decoded query parameters.
        pub fn query(&self) -> Vec<(String, String)> {
            let query = self.target.split_once('?').map(|(_, q)| q).unwrap_or_default();
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
        }

        pub fn query_param(&self, name: &str) -> Option<String> {
            self.query().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
        }
    }

    /// A canned answer.
    #[derive(Debug, Clone)]
    pub struct Canned {
        pub status: u16,
        pub headers: Vec<(&'static str, String)>,
        pub body: String,
    }

    impl Canned {
        pub fn json(status: u16, body: serde_json::Value) -> Self {
            Canned { status, headers: vec![], body: body.to_string() }
        }

        /// Adds `includes.media` to a JSON answer (X polling pages).
        pub fn with_media(mut self, media: serde_json::Value) -> Self {
            let mut body: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
            body["includes"]["media"] = media;
            self.body = body.to_string();
            self
        }

        pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
            self.headers.push((name, value.into()));
            self
        }
    }

    pub struct TestServer {
        pub base_url: String,
        received: Arc<Mutex<Vec<Received>>>,
    }

    impl TestServer {
        /// Serves `answers` in order, one per connection, then stops.
        pub fn start(answers: Vec<Canned>) -> TestServer {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
            let port = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port();
            let received = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&received);
            std::thread::spawn(move || {
                for answer in answers {
                    let Ok((stream, _)) = listener.accept() else { return };
                    let mut reader = BufReader::new(stream);
                    let Some(request) = read_request(&mut reader) else { return };
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                    let mut stream = reader.into_inner();
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        answer.status,
                        answer.body.len()
                    );
                    for (name, value) in &answer.headers {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(answer.body.as_bytes());
                }
            });
            TestServer { base_url: format!("http://127.0.0.1:{port}"), received }
        }

        pub fn received(&self) -> Vec<Received> {
            self.received.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }

    fn read_request(reader: &mut impl BufRead) -> Option<Received> {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let target = parts.next()?.to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let length =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some(Received { method, target, headers, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn ctx(settings: Value) -> ChannelContext {
        ChannelContext {
            network: hark_domain::Network::Api,
            external_id: "1".into(),
            credentials: serde_json::Map::new(),
            settings,
        }
    }

    #[test]
    fn base_url_prefers_the_setting_and_drops_trailing_slashes() {
        assert_eq!(base_url(&ctx(json!({})), "https://api.x.com"), "https://api.x.com");
        assert_eq!(
            base_url(&ctx(json!({"api_base_url": "http://127.0.0.1:9/x//"})), "https://d"),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(base_url(&ctx(json!({"api_base_url": ""})), "https://d/"), "https://d");
    }

    #[test]
    fn rate_limits_and_server_errors_are_retryable_with_the_best_wait_known() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        let too_many = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(
            status_error(too_many, &headers, "slow down".into(), None),
            ConnectorError::Retryable { reason: "slow down".into(), retry_after_secs: Some(30) }
        );
        assert_eq!(
            status_error(too_many, &headers, "slow down".into(), Some(7)),
            ConnectorError::Retryable { reason: "slow down".into(), retry_after_secs: Some(7) }
        );
        assert_eq!(
            status_error(StatusCode::BAD_GATEWAY, &HeaderMap::new(), "down".into(), None),
            ConnectorError::Retryable { reason: "down".into(), retry_after_secs: None }
        );
    }

    #[test]
    fn auth_failures_and_other_client_errors_are_final() {
        let none = HeaderMap::new();
        assert_eq!(
            status_error(StatusCode::UNAUTHORIZED, &none, "expired".into(), None),
            ConnectorError::Unauthorized("expired".into())
        );
        assert_eq!(
            status_error(StatusCode::FORBIDDEN, &none, "no".into(), None),
            ConnectorError::Rejected("no".into())
        );
        assert_eq!(
            status_error(StatusCode::BAD_REQUEST, &none, "bad".into(), None),
            ConnectorError::Rejected("bad".into())
        );
    }

    #[test]
    fn retry_after_reads_only_delta_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after_header(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(retry_after_header(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 12 "));
        assert_eq!(retry_after_header(&headers), Some(12));
    }

    #[test]
    fn bodies_are_read_as_json_or_kept_as_short_text() {
        assert_eq!(parse_body(b""), Value::Null);
        assert_eq!(parse_body(b" \n"), Value::Null);
        assert_eq!(parse_body(br#"{"ok":true}"#), json!({"ok": true}));
        assert_eq!(parse_body(b"<html>oops</html>"), json!("<html>oops</html>"));
        let long = "x".repeat(1000);
        let Value::String(kept) = parse_body(long.as_bytes()) else { panic!("expected text") };
        assert_eq!(kept.chars().count(), MAX_REASON_CHARS + 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("bind: {e}"))
            .port();
        let err = send(client().get(format!("http://127.0.0.1:{port}/secret-token/x")))
            .await
            .err()
            .unwrap_or_else(|| panic!("expected a connection error"));
        assert!(matches!(err, ConnectorError::Retryable { .. }), "{err:?}");
        assert!(!err.to_string().contains("secret-token"), "the URL leaked into {err}");
    }

    #[tokio::test]
    async fn a_timeout_after_sending_is_unknown() {
        // A listener that accepts but never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port();
        // Detached: it ends on its own, and joining would hang if no connection came.
        std::thread::spawn(move || {
            let accepted = listener.accept();
            std::thread::sleep(Duration::from_secs(1));
            drop(accepted);
        });
        let err = send(client().post(format!("http://127.0.0.1:{port}/")).timeout(Duration::from_millis(300)))
            .await
            .err()
            .unwrap_or_else(|| panic!("expected a timeout"));
        assert!(matches!(err, ConnectorError::Unknown(_)), "{err:?}");
    }
}
