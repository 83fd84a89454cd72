//! A real Hark HTTP server on a free port over a fresh database, with one
//! user and one API token per role, and a small SSE reader.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

use hark_app::{Actor, App, ChannelCreate, CredentialSealer, InboundAuthor, InboundItem, IngestOutcome, UserCreate};
use hark_domain::*;
use hark_store::testing::TestStore;
use hark_web::{WebConfig, WebState};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub workspace_id: String,
    pub users: HashMap<Role, User>,
    pub tokens: HashMap<Role, String>,
    pub channel_id: String,
    pub client: reqwest::Client,
    pub store: TestStore,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn(store: TestStore) -> TestApp {
    spawn_with(store, WebConfig::default()).await
}

pub async fn spawn_with(store: TestStore, config: WebConfig) -> TestApp {
    let app = App::new(store.store.clone(), CredentialSealer::new(&[42u8; 32]));
    let ws = app.create_workspace("Acme", "Europe/Athens").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let mut users = HashMap::new();
    let mut tokens = HashMap::new();
    for role in Role::ALL {
        let input = UserCreate {
            email: format!("{role}@acme.test"),
            name: format!("The {role}"),
            role: *role,
            password: PASSWORD.into(),
            locale: "en".into(),
        };
        let user = app.create_user(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
        let token = app.create_token_for_email(&user.email, "tests").await.unwrap_or_else(|e| panic!("{e}"));
        tokens.insert(*role, token.token);
        users.insert(*role, user);
    }
    let channel = app
        .create_channel(
            &system,
            ChannelCreate {
                network: Network::X,
                name: "Acme on X".into(),
                handle: "@acme".into(),
                external_id: "1850000000000000001".into(),
                credentials: json!({ "access_token": "SECRET-ACCESS-TOKEN-123" }).as_object().cloned(),
                settings: json!({}),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let shutdown = CancellationToken::new();
    let intake = hark_app::intake::Intake::start(app.store.clone());
    let router = hark_web::router(WebState::new(app.clone(), intake, config, shutdown.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    TestApp {
        base: format!("http://{address}"),
        app,
        workspace_id: ws.id,
        users,
        tokens,
        channel_id: channel.id,
        client: {
            hark_channels::http::install_crypto_provider();
            reqwest::Client::new()
        },
        store,
        shutdown,
    }
}

impl TestApp {
    pub fn system(&self) -> Actor {
        Actor::system(&self.workspace_id)
    }

    /// Stores an inbound public mention and returns its conversation id.
    pub async fn inbound(&self, platform_id: &str, author: &str, text: &str) -> String {
        self.inbound_in_thread(platform_id, author, &format!("thread-{author}"), text).await
    }

    /// Stores an inbound public mention in the given thread and returns its conversation id.
    pub async fn inbound_in_thread(&self, platform_id: &str, author: &str, thread: &str, text: &str) -> String {
        let item = InboundItem {
            channel_id: self.channel_id.clone(),
            kind: ConversationKind::Public,
            platform_message_id: platform_id.into(),
            platform_thread_id: Some(thread.to_owned()),
            platform_parent_id: None,
            author: InboundAuthor {
                platform_user_id: format!("uid-{author}"),
                handle: format!("@{author}"),
                display_name: author.into(),
            },
            text: text.into(),
            attachments: vec![],
            created_at: jiff::Timestamp::now(),
            language: Some("en".into()),
            sentiment: Some(Sentiment::Negative),
            intent: Some("complaint".into()),
            personal_data: vec![],
        };
        match self.app.ingest(item).await.unwrap_or_else(|e| panic!("{e}")) {
            IngestOutcome::Created { conversation_id, .. } => conversation_id,
            IngestOutcome::Duplicate { .. } => panic!("unexpected duplicate"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request as `role`, with its API token.
    pub async fn call(&self, role: Role, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(&self.tokens[&role]);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await
    }

    /// A call whose body is sent as it is, with its own content type.
    pub async fn call_raw(
        &self,
        role: Role,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.tokens[&role])
            .header("content-type", content_type)
            .body(body);
        read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await
    }

    pub async fn get(&self, role: Role, path: &str) -> (StatusCode, Value) {
        self.call(role, Method::GET, path, None).await
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// Asserts the error shape and returns the code.
pub fn error_code(body: &Value) -> String {
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("not the error shape: {body}"));
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error without message: {body}");
    code.to_owned()
}

/// Reads Server-Sent Events from a streaming response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: String,
    pub kind: String,
    pub data: Value,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        SseReader { response, buffer: String::new() }
    }

    /// The next event (comments and keep-alives skipped). Gives up after
    /// `timeout_secs` so a broken stream fails the test instead of hanging it.
    pub async fn next(&mut self, timeout_secs: u64) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent { id: String::new(), kind: String::new(), data: Value::Null };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
