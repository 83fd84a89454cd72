//! Test helpers: a scriptable webhook receiver standing in for Hark, a
//! sandbox factory and an OAuth 1.0a request signer.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hark_sandbox::{Account, Sandbox, SandboxConfig, SimNetwork};
use serde_json::{Map, Value, json};

#[derive(Clone, Debug)]
#[allow(dead_code)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("webhook body is not JSON: {e}"))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Vec<Received>,
    script: VecDeque<(u16, String)>,
    x_crc_secret: Option<String>,
    vk_confirmation: Option<String>,
}

/// A tiny Hark stand-in: records every request and answers from a script
/// (default 200 "ok"); answers X CRC and Meta hub.challenge when configured.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = Router::new().fallback(receive).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url: format!("http://{address}/hook"), state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReceiverState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn respond_next(&self, status: u16, body: &str) {
        self.lock().script.push_back((status, body.to_string()));
    }

    pub fn answer_x_crc_with(&self, consumer_secret: &str) {
        self.lock().x_crc_secret = Some(consumer_secret.to_string());
    }

    pub fn answer_vk_confirmation(&self, code: &str) {
        self.lock().vk_confirmation = Some(code.to_string());
    }

    pub fn requests(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    pub fn posts(&self) -> Vec<Received> {
        self.requests().into_iter().filter(|r| r.method == "POST").collect()
    }
}

async fn receive(State(state): State<Arc<Mutex<ReceiverState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body: body.to_vec(),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(received.query.as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.requests.push(received.clone());
    if received.method == "GET" {
        if let (Some(token), Some(secret)) = (get("crc_token"), state.x_crc_secret.clone()) {
            let answer = json!({"response_token": hark_sandbox::x_crc_response_token(&secret, &token)});
            return (StatusCode::OK, axum::Json(answer)).into_response();
        }
        if let Some(challenge) = get("hub.challenge") {
            return (StatusCode::OK, challenge).into_response();
        }
    }
    if received.text().contains("\"type\":\"confirmation\"")
        && let Some(code) = state.vk_confirmation.clone()
    {
        return (StatusCode::OK, code).into_response();
    }
    let (status, body) = state.script.pop_front().unwrap_or((200, "ok".to_string()));
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response()
}

pub async fn sandbox() -> Sandbox {
    let config = SandboxConfig { auto_redeliver: false, ..SandboxConfig::default() };
    Sandbox::start(config).await.unwrap_or_else(|e| panic!("sandbox start: {e}"))
}

pub fn creds(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect()
}

pub fn account(
    network: SimNetwork,
    id: &str,
    handle: &str,
    webhook: Option<&Receiver>,
    credentials: &[(&str, &str)],
) -> Account {
    Account {
        network,
        external_id: id.to_string(),
        handle: handle.to_string(),
        webhook_url: webhook.map(|r| r.url.clone()),
        credentials: creds(credentials),
    }
}

pub const X_BRAND: &str = "1580000000000000001";
pub const X_SECRET: &str = "sim_consumer_secret_0123456789";

pub fn x_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("consumer_key", "simConsumerKey"),
        ("consumer_secret", X_SECRET),
        ("access_token", "1580000000000000001-simAccessToken"),
        ("access_token_secret", "simAccessTokenSecret"),
        ("bearer_token", "AAAAsimBearer"),
    ]
}

pub const META_SECRET: &str = "sim_app_secret_abcdef";
pub const PAGE: &str = "104000000000001";

pub fn meta_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("app_id", "1234567890"),
        ("app_secret", META_SECRET),
        ("verify_token", "verify-me"),
        ("access_token", "EAAsimtoken"),
    ]
}

static NONCE: AtomicU64 = AtomicU64::new(1);

pub struct OAuth1 {
    pub timestamp: i64,
    pub nonce: String,
}

impl OAuth1 {
    pub fn fresh() -> Self {
        OAuth1 {
            timestamp: jiff::Timestamp::now().as_second(),
            nonce: format!("testnonce{}", NONCE.fetch_add(1, Ordering::SeqCst)),
        }
    }

    /// `Authorization` header for a JSON-body request (only query + oauth params signed).
    pub fn header(&self, method: &str, url: &str, query: &[(&str, &str)], consumer_secret: &str) -> String {
        let mut params: Vec<(String, String)> = vec![
            ("oauth_consumer_key".into(), "simConsumerKey".into()),
            ("oauth_nonce".into(), self.nonce.clone()),
            ("oauth_signature_method".into(), "HMAC-SHA1".into()),
            ("oauth_timestamp".into(), self.timestamp.to_string()),
            ("oauth_token".into(), "1580000000000000001-simAccessToken".into()),
            ("oauth_version".into(), "1.0".into()),
        ];
        let oauth = params.clone();
        params.extend(query.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())));
        let signature = hark_sandbox::oauth1_signature(method, url, &params, consumer_secret, "simAccessTokenSecret");
        let mut parts: Vec<String> =
            oauth.iter().map(|(k, v)| format!("{k}=\"{}\"", hark_sandbox::oauth_percent_encode(v))).collect();
        parts.push(format!("oauth_signature=\"{}\"", hark_sandbox::oauth_percent_encode(&signature)));
        format!("OAuth {}", parts.join(", "))
    }
}

pub fn http() -> reqwest::Client {
    hark_sandbox::ensure_crypto_provider();
    reqwest::Client::builder().no_proxy().build().unwrap_or_else(|e| panic!("client: {e}"))
}

pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
