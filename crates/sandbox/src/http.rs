//! The HTTP server: one router for the admin API and the four network APIs.
//! Network requests go through [`serve_network`], which hands the raw request
//! to the network module and records the call (tokens redacted) with the
//! status it was answered.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value};

use crate::model::{RecordedCall, SimNetwork};
use crate::state::Inner;
use crate::{admin, meta, telegram, vk, x};

/// A network API request, fully read, as the network modules see it.
pub(crate) struct ApiRequest {
    pub method: String,
    /// Full path including the network prefix (`/x/2/tweets`).
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
    }

    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    pub(crate) fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
    }

    pub(crate) fn form_pairs(&self) -> Vec<(String, String)> {
        if self.is_form() { form_urlencoded::parse(&self.body).into_owned().collect() } else { Vec::new() }
    }

    pub(crate) fn json_body(&self) -> Option<Value> {
        if self.body.is_empty() || self.is_form() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// Query, form and JSON-object parameters merged (later sources win), the
    /// way Graph, Telegram and VK accept parameters from any of them. Form and
    /// query values stay strings; JSON values keep their type.
    pub(crate) fn params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        for (key, value) in self.query_pairs().into_iter().chain(self.form_pairs()) {
            params.insert(key, Value::String(value));
        }
        if let Some(Value::Object(object)) = self.json_body() {
            params.extend(object);
        }
        params
    }

    /// Path below the network prefix, split into segments.
    pub(crate) fn segments(&self, prefix: &str) -> Vec<String> {
        let rest = self.path.strip_prefix(prefix).unwrap_or(&self.path);
        rest.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect()
    }
}

/// A parameter as a string whether it came as a JSON string or number.
pub(crate) fn param_str(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A parameter that may be a JSON object or a JSON-encoded string (form posts).
pub(crate) fn param_json(params: &Map<String, Value>, key: &str) -> Option<Value> {
    match params.get(key)? {
        Value::String(s) => serde_json::from_str(s).ok().or_else(|| Some(Value::String(s.clone()))),
        other => Some(other.clone()),
    }
}

/// What a network answers.
pub(crate) struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        ApiResponse {
            status,
            headers: Vec::new(),
            content_type: "application/json; charset=utf-8",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub(crate) fn text(status: u16, text: &str) -> Self {
        ApiResponse {
            status,
            headers: Vec::new(),
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
        }
    }

    pub(crate) fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        ApiResponse { status, headers: Vec::new(), content_type, body }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn into_axum(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Body::from(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(self.content_type));
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// What a network module returns: the answer, the network the call was
/// attributed to (Meta resolves it from the object), and the fault applied.
pub(crate) struct Handled {
    pub network: SimNetwork,
    pub response: ApiResponse,
    pub fault: Option<String>,
}

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .merge(admin::routes())
        .route("/x/{*rest}", any(serve_network))
        .route("/meta/{*rest}", any(serve_network))
        .route("/telegram/{*rest}", any(serve_network))
        .route("/vk/{*rest}", any(serve_network))
        .with_state(inner)
}

async fn serve_network(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 32 * 1024 * 1024).await else {
        return ApiResponse::text(413, "request too large").into_axum();
    };
    let request = ApiRequest {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
    };
    let handled = if request.path.starts_with("/x/") {
        x::handle(&inner, &request).await
    } else if request.path.starts_with("/meta/") {
        meta::handle(&inner, &request).await
    } else if request.path.starts_with("/telegram/") {
        telegram::handle(&inner, &request).await
    } else {
        vk::handle(&inner, &request).await
    };
    record_call(&inner, &request, &handled);
    deliver_side_effects(&inner);
    handled.response.into_axum()
}

/// API calls may queue webhooks (Messenger echoes, WhatsApp statuses, X
/// echoes, VK `message_reply`); the network sends them shortly after.
fn deliver_side_effects(inner: &Arc<Inner>) {
    let now = inner.now();
    let due = inner.with(|world| world.pending.iter().any(|p| p.due <= now));
    if due {
        let background = inner.clone();
        inner.spawn(async move { crate::delivery::flush(&background, false).await });
    }
}

fn record_call(inner: &Inner, request: &ApiRequest, handled: &Handled) {
    let call = RecordedCall {
        network: handled.network,
        method: request.method.clone(),
        path: redact_path(&request.path),
        query: redact_params(&request.query),
        body: if request.is_form() {
            redact_params(&String::from_utf8_lossy(&request.body))
        } else {
            String::from_utf8_lossy(&request.body).into_owned()
        },
        status: handled.response.status,
        at: inner.now(),
        fault: handled.fault.clone(),
    };
    inner.with(|world| world.calls.push(call));
}

/// Telegram puts the bot token in the path (`/telegram/bot<token>/method`).
pub(crate) fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with("bot") && segment.contains(':') { "bot<redacted>" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Replaces secret values in a `k=v&…` string.
pub(crate) fn redact_params(raw: &str) -> String {
    const SECRET_KEYS: [&str; 4] = ["access_token", "appsecret_proof", "client_secret", "key"];
    raw.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_KEYS.contains(&key) => format!("{key}=<redacted>"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_from_paths_and_parameters() {
        assert_eq!(redact_path("/telegram/bot123:AAsecret/sendMessage"), "/telegram/bot<redacted>/sendMessage");
        assert_eq!(
            redact_params("v=5.199&access_token=vk1.a.secret&peer_id=1"),
            "v=5.199&access_token=<redacted>&peer_id=1"
        );
    }
}
