//! A thin Graph API client: versioned URLs, the bearer token plus
//! `appsecret_proof` on every call, and the mapping of Graph error codes to
//! what Hark should do next (retry, fix the channel, tell the agent).

use hark_domain::Network;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{DEFAULT_API_BASE_URL, DEFAULT_GRAPH_VERSION};
use crate::http;
use crate::model::{ChannelContext, ConnectorError, Refusal};
use crate::signing;

/// Characters left as they are in a path segment: ids are digits, `_` and
/// letters, and everything else is escaped so an id can never add a path or query.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// How long to wait after throttling when Meta does not say.
const DEFAULT_THROTTLE_WAIT_SECS: u64 = 60;

/// Lowercase hex HMAC-SHA256 of the access token under the app secret. With
/// "Require app secret" switched on Meta refuses calls without it, which
/// makes a leaked token useless without the secret.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    signing::hmac_sha256_hex(app_secret.as_bytes(), access_token.as_bytes())
}

/// One channel's view of the Graph API.
pub(super) struct Graph<'a> {
    http: &'a reqwest::Client,
    network: Network,
    /// `{api_base_url}/{graph_version}`, without a trailing slash.
    root: String,
    access_token: String,
    proof: String,
}

impl<'a> Graph<'a> {
    pub(super) fn new(http: &'a reqwest::Client, ctx: &ChannelContext) -> Result<Self, ConnectorError> {
        Self::with_token(http, ctx, ctx.credential("access_token")?.to_string())
    }

    /// The Graph API as the app itself (`{app_id}|{app_secret}`), for app-level settings.
    pub(super) fn as_app(http: &'a reqwest::Client, ctx: &ChannelContext) -> Result<Self, ConnectorError> {
        let token = format!("{}|{}", ctx.credential("app_id")?, ctx.credential("app_secret")?);
        Self::with_token(http, ctx, token)
    }

    fn with_token(
        http: &'a reqwest::Client,
        ctx: &ChannelContext,
        access_token: String,
    ) -> Result<Self, ConnectorError> {
        let proof = appsecret_proof(ctx.credential("app_secret")?, &access_token);
        let base = http::base_url(ctx, DEFAULT_API_BASE_URL);
        let version = ctx.setting_str("graph_version").unwrap_or(DEFAULT_GRAPH_VERSION).trim_matches('/');
        let version = if version.starts_with('v') { version.to_string() } else { format!("v{version}") };
        Ok(Graph { http, network: ctx.network, root: format!("{base}/{version}"), access_token, proof })
    }

    /// `{root}/{segment}/{segment}…`, each segment escaped.
    pub(super) fn url(&self, path: &[&str]) -> String {
        path.iter().fold(self.root.clone(), |mut url, segment| {
            url.push('/');
            url.extend(utf8_percent_encode(segment, SEGMENT));
            url
        })
    }

    fn request(&self, method: Method, path: &[&str]) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.access_token)
            .query(&[("appsecret_proof", self.proof.as_str())])
    }

    pub(super) async fn get(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Value, ConnectorError> {
        self.send(self.request(Method::GET, path).query(query)).await
    }

    /// A POST whose parameters travel in the query string (Instagram replies, hide, likes).
    pub(super) async fn post_query(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Value, ConnectorError> {
        self.send(self.request(Method::POST, path).query(query)).await
    }

    /// A form-encoded POST (Facebook comments).
    pub(super) async fn post_form(&self, path: &[&str], form: &[(&str, &str)]) -> Result<Value, ConnectorError> {
        self.send(self.request(Method::POST, path).form(form)).await
    }

    /// A JSON POST (the Send API and WhatsApp messages).
    pub(super) async fn post_json(&self, path: &[&str], body: &Value) -> Result<Value, ConnectorError> {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// Sends and reads the answer; a failure status becomes the matching [`ConnectorError`].
    async fn send(&self, request: RequestBuilder) -> Result<Value, ConnectorError> {
        let response = http::send(request).await?;
        if response.is_success() {
            return Ok(response.body);
        }
        let wait = throttle_wait_secs(&response.headers);
        Err(graph_error(self.network, response.status, &response.headers, &response.body, wait))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    error: Option<GraphError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GraphError {
    message: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    /// WhatsApp adds `error_data.details` with the readable explanation.
    error_data: Option<Value>,
}

/// Graph error codes (platform-apis.md 2.0 and 2.4) mapped to what Hark does next.
pub(super) fn graph_error(
    network: Network,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
    wait_secs: Option<u64>,
) -> ConnectorError {
    let Some(error) = serde_json::from_value::<ErrorBody>(body.clone()).ok().and_then(|b| b.error) else {
        return http::status_error(status, headers, http::status_reason(status, body), wait_secs);
    };
    let message = describe(&error);
    let throttled = |message: String| ConnectorError::Retryable {
        reason: message,
        retry_after_secs: Some(wait_secs.unwrap_or(DEFAULT_THROTTLE_WAIT_SECS)),
    };
    match (error.code.unwrap_or_default(), error.error_subcode) {
        (190 | 102, _) => ConnectorError::Unauthorized(message),
        (4 | 17 | 32 | 613 | 80001..=80009 | 130429 | 131056, _) => throttled(message),
        (10, Some(2018278)) => ConnectorError::NotAllowed(window_closed(network)),
        (131047, _) => ConnectorError::NotAllowed(Refusal::new(
            "whatsapp-window-closed",
            "More than 24 hours have passed since the customer last wrote; outside the 24-hour window WhatsApp \
             only allows approved templates.",
        )),
        (10 | 200..=299, _) => ConnectorError::Unauthorized(format!("permission missing: {message}")),
        _ if status.is_server_error() => ConnectorError::Retryable { reason: message, retry_after_secs: None },
        _ => ConnectorError::Rejected(message),
    }
}

fn window_closed(network: Network) -> Refusal {
    let product = if network == Network::Instagram { "Instagram" } else { "Messenger" };
    Refusal::new(
        "window-closed",
        format!("{product} refused the message because the customer's messaging window has closed."),
    )
    .with("product", product)
}

fn describe(error: &GraphError) -> String {
    let details = error.error_data.as_ref().and_then(|d| d.get("details")).and_then(Value::as_str);
    let mut text = match details {
        Some(details) if !details.is_empty() && details != error.message => format!("{} ({details})", error.message),
        _ => error.message.clone(),
    };
    if text.is_empty() {
        text = "Meta refused the request".into();
    }
    if let Some(code) = error.code {
        text.push_str(&format!(" [code {code}"));
        if let Some(subcode) = error.error_subcode {
            text.push_str(&format!("/{subcode}"));
        }
        text.push(']');
    }
    text
}

/// Seconds until Meta lifts throttling, from `estimated_time_to_regain_access`
/// (minutes) anywhere in the usage headers; the longest wait wins.
pub(super) fn throttle_wait_secs(headers: &HeaderMap) -> Option<u64> {
    ["x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter_map(|usage| longest_regain_minutes(&usage))
        .max()
        .filter(|minutes| *minutes > 0)
        .map(|minutes| minutes.saturating_mul(60))
}

fn longest_regain_minutes(value: &Value) -> Option<u64> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, inner)| {
                if key == "estimated_time_to_regain_access" { inner.as_u64() } else { longest_regain_minutes(inner) }
            })
            .max(),
        Value::Array(items) => items.iter().filter_map(longest_regain_minutes).max(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::super::test_support::context;
    use super::*;

    #[test]
    fn appsecret_proof_matches_the_documented_vector() {
        assert_eq!(
            appsecret_proof("sim_app_secret_abcdef", "EAAsimtoken"),
            "4a2effc42a81c398a25c9145c026ee7695a8aa917c493548ebc4c95c93c2a0bf"
        );
    }

    #[test]
    fn urls_use_the_configured_base_and_version_and_escape_ids() {
        let http = crate::http::client();
        let mut ctx = context(Network::Facebook, "104");
        ctx.settings = json!({"api_base_url": "http://127.0.0.1:9/meta/", "graph_version": "26.0"});
        let graph = Graph::new(&http, &ctx).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(graph.url(&["122_900", "comments"]), "http://127.0.0.1:9/meta/v26.0/122_900/comments");
        assert_eq!(graph.url(&["a/b?c"]), "http://127.0.0.1:9/meta/v26.0/a%2Fb%3Fc");
        let defaults = Graph::new(&http, &context(Network::Facebook, "104")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.url(&["me"]), "https://graph.facebook.com/v25.0/me");
    }

    fn error(code: i64, subcode: Option<i64>) -> Value {
        json!({"error": {"message": "m", "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "A1b2C3"}})
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn graph_codes_map_to_what_hark_does_next() {
        let none = HeaderMap::new();
        let map = |code, subcode| graph_error(Network::Facebook, status(400), &none, &error(code, subcode), None);
        assert!(matches!(map(190, Some(460)), ConnectorError::Unauthorized(_)));
        assert!(matches!(map(102, None), ConnectorError::Unauthorized(_)));
        for code in [4, 17, 32, 613, 80001, 80009, 130429, 131056] {
            assert_eq!(
                map(code, None),
                ConnectorError::Retryable { reason: format!("m [code {code}]"), retry_after_secs: Some(60) }
            );
        }
        assert!(matches!(map(10, Some(2018278)), ConnectorError::NotAllowed(r) if r.contains("window")));
        assert!(matches!(map(131047, None), ConnectorError::NotAllowed(r) if r.contains("templates")));
        assert!(matches!(map(10, None), ConnectorError::Unauthorized(r) if r.starts_with("permission missing")));
        assert!(matches!(map(200, None), ConnectorError::Unauthorized(r) if r.starts_with("permission missing")));
        assert_eq!(map(100, Some(33)), ConnectorError::Rejected("m [code 100/33]".into()));
        assert!(matches!(
            graph_error(Network::Facebook, status(500), &none, &error(2, None), None),
            ConnectorError::Retryable { retry_after_secs: None, .. }
        ));
        assert!(matches!(
            graph_error(Network::Facebook, status(502), &none, &json!("<html>"), None),
            ConnectorError::Retryable { .. }
        ));
        assert!(matches!(
            graph_error(Network::Facebook, status(404), &none, &Value::Null, None),
            ConnectorError::Rejected(_)
        ));
    }

    #[test]
    fn throttling_waits_as_long_as_the_usage_headers_say() {
        let mut headers = HeaderMap::new();
        assert_eq!(throttle_wait_secs(&headers), None);
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":100,"total_time":20,"total_cputime":10}"#),
        );
        assert_eq!(throttle_wait_secs(&headers), None);
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"104":[{"type":"pages","call_count":100,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":7}]}"#,
            ),
        );
        assert_eq!(throttle_wait_secs(&headers), Some(420));
        let mapped =
            graph_error(Network::Facebook, status(400), &headers, &error(80001, None), throttle_wait_secs(&headers));
        assert!(matches!(mapped, ConnectorError::Retryable { retry_after_secs: Some(420), .. }));
    }
}
