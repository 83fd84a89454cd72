//! Hark's HTTP surface: the JSON API under `/api/v1`, authentication,
//! CSRF protection, live events over SSE, the OpenAPI document and `/healthz`.
//!
//! Handlers are thin: they parse the request, call one use case on
//! [`hark_app::App`] with the authenticated [`hark_app::Actor`], and shape the
//! answer. Role checks happen inside the use cases.

mod api;
mod auth;
mod error;
mod extract;
mod openapi;
mod pages;
pub mod search;
mod security;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use hark_app::App;
use hark_app::intake::Intake;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

pub use auth::SESSION_COOKIE;
pub use error::{ApiError, ErrorBody};
pub use openapi::openapi_json;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when Hark is served over HTTPS).
    pub secure_cookies: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_minute: u32,
    /// The address the networks reach Hark at (`https://care.example.com`);
    /// webhook URLs are built from it.
    pub public_url: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            max_body_bytes: 1024 * 1024,
            login_attempts_per_minute: 10,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub config: Arc<WebConfig>,
    login_limiter: Arc<auth::LoginLimiter>,
    /// Durable storage for inbound events, committed in groups.
    pub intake: Intake,
    refusals: Arc<webhooks::RefusalCounter>,
    /// Opened channel credentials, reused by webhooks while a channel is unchanged.
    credentials: Arc<webhooks::CredentialCache>,
    /// For calls to the networks made on an agent's behalf (likes, hides).
    pub http: reqwest::Client,
    /// Cancelled at shutdown so that long-lived event streams end and the
    /// server can drain.
    shutdown: CancellationToken,
    /// The full-text index, when the binary has one.
    pub search: Option<Arc<dyn search::ConversationSearch>>,
}

impl WebState {
    pub fn new(app: App, intake: Intake, config: WebConfig, shutdown: CancellationToken) -> Self {
        let login_limiter = Arc::new(auth::LoginLimiter::new(config.login_attempts_per_minute));
        WebState {
            app,
            config: Arc::new(config),
            login_limiter,
            intake,
            refusals: Arc::default(),
            credentials: Arc::default(),
            http: hark_channels::http::client(),
            shutdown,
            search: None,
        }
    }

    /// Uses `search` for the inbox's full-text search.
    pub fn with_search(mut self, search: Arc<dyn search::ConversationSearch>) -> Self {
        self.search = Some(search);
        self
    }
}

const WEBHOOK_MAX_BODY: usize = 16 * 1024 * 1024;

/// The whole HTTP application.
pub fn router(state: WebState) -> Router {
    let max_body = state.config.max_body_bytes;
    // Networks batch many events into one request (Meta: up to 1000).
    let webhooks = Router::new()
        .route("/webhooks/{channel_id}", get(webhooks::receive).post(webhooks::receive))
        .layer(DefaultBodyLimit::max(WEBHOOK_MAX_BODY.max(max_body)));
    // A file is sent whole in one request, up to the largest accepted.
    let uploads = Router::new()
        .route("/api/v1/uploads", axum::routing::post(api::uploads::create))
        .route("/files/{id}/{token}", get(api::uploads::serve))
        .layer(DefaultBodyLimit::max(hark_app::MAX_UPLOAD_BYTES + 1024));
    let routes = Router::new()
        .route("/healthz", get(api::health::healthz))
        .route("/api/openapi.json", get(openapi::serve))
        .nest("/api/v1", api::routes())
        .merge(pages::routes())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .merge(webhooks)
        .merge(uploads)
        .with_state(state);
    security::protect(routes)
        .layer(axum::middleware::from_fn(security::record_metrics))
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
}
