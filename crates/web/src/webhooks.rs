//! Where the networks deliver: `/webhooks/{channel_id}`.
//!
//! The connector checks the signature (or secret) on the raw bytes before
//! anything is parsed; a request that fails gets 401 and nothing is stored.
//! Verified events are committed through the intake and only then is the
//! network answered 2xx, so an acknowledged event is never lost; if the
//! commit fails the answer is 503 and the network delivers again.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hark_channels::{ChannelContext, Inbound, RawRequest, WebhookError, connector};
use hark_domain::{ChannelHealth, ChannelNote, Network};
use hark_store::NewRawEvent;
use jiff::Timestamp;

use crate::WebState;
use crate::error::ApiError;

/// Consecutive refused webhook requests after which the channel is marked degraded.
const REFUSALS_BEFORE_DEGRADED: u32 = 3;

/// Counts consecutive refused requests per channel (per node; a hint, not a record).
#[derive(Default)]
pub struct RefusalCounter(Mutex<HashMap<String, u32>>);

impl RefusalCounter {
    fn refused(&self, channel_id: &str) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(channel_id.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    fn accepted(&self, channel_id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(channel_id);
    }
}

type Credentials = serde_json::Map<String, serde_json::Value>;

/// Opened channel credentials, reused by webhook requests while the channel
/// is unchanged (per node). Decrypting them for every request would cost
/// more than the rest of the request; any change to the channel (which
/// bumps its `updated_at`) makes the next request open them again.
#[derive(Default)]
pub struct CredentialCache(Mutex<HashMap<String, (jiff::Timestamp, Credentials)>>);

impl CredentialCache {
    async fn open(
        &self,
        app: &hark_app::App,
        channel: &hark_domain::Channel,
    ) -> Result<Credentials, hark_app::AppError> {
        if let Some((stamp, credentials)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&channel.id)
            && *stamp == channel.updated_at
        {
            return Ok(credentials.clone());
        }
        let credentials = app.channel_credentials(&channel.id).await?.unwrap_or_default();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(channel.id.clone(), (channel.updated_at, credentials.clone()));
        Ok(credentials)
    }
}

pub async fn receive(
    State(state): State<WebState>,
    Path(channel_id): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &channel_id, &method, query.as_deref().unwrap_or(""), &headers, &body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn handle(
    state: &WebState,
    channel_id: &str,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let app = &state.app;
    let channel = app
        .store
        .channel(channel_id)
        .await
        .map_err(hark_app::AppError::from)?
        .filter(|c| c.enabled)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no enabled channel here"))?;
    let credentials = state.credentials.open(app, &channel).await?;
    let ctx = ChannelContext {
        network: channel.network,
        external_id: channel.external_id.clone(),
        credentials,
        settings: channel.settings.clone(),
    };
    let request = RawRequest {
        method: method.as_str(),
        query,
        headers: headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned())))
            .collect(),
        body,
    };
    let now = Timestamp::now();
    match connector::handle_webhook(&ctx, &request, now) {
        Ok(Inbound::Handshake(reply)) => Ok(reply_response(&reply)),
        Ok(Inbound::Events { reply, events }) => {
            let count = events.len();
            let raw: Vec<NewRawEvent> = events
                .into_iter()
                .map(|e| NewRawEvent {
                    channel_id: channel.id.clone(),
                    dedup_key: e.dedup_key.clone(),
                    received_at: now,
                    payload: serde_json::to_value(&e).unwrap_or_default(),
                })
                .collect();
            state.intake.store(raw).await?;
            metrics::counter!("hark_webhook_events_total", "network" => channel.network.as_str())
                .increment(count as u64);
            state.refusals.accepted(&channel.id);
            if channel.health != ChannelHealth::Ok
                && ChannelNote::parse(&channel.health_detail) == ChannelNote::WebhooksFailVerification
            {
                let _ = app.channel_ok(&channel.id).await;
            }
            Ok(reply_response(&reply))
        }
        Err(WebhookError::Unauthorized(reason)) => {
            tracing::warn!(channel = channel_id, reason, "webhook refused");
            metrics::counter!("hark_webhook_refused_total", "network" => channel.network.as_str()).increment(1);
            if state.refusals.refused(&channel.id) >= REFUSALS_BEFORE_DEGRADED {
                let _ = app
                    .channel_failed(
                        &channel.id,
                        ChannelHealth::Degraded,
                        &ChannelNote::WebhooksFailVerification.to_string(),
                    )
                    .await;
            }
            let status = if method == Method::GET { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
            Err(ApiError::new(status, "bad_signature", "the request's signature or secret does not verify"))
        }
        Err(WebhookError::BadRequest(reason)) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", reason)),
    }
}

fn reply_response(reply: &hark_channels::HttpReply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body.clone()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    response
}

/// The API channel's inbound endpoint: `POST /api/v1/channels/{id}/messages`
/// with the channel's own token. Idempotent on the sender's message id.
#[utoipa::path(post, path = "/api/v1/channels/{id}/messages", tag = "channels", params(("id" = String, Path)),
    request_body = ApiChannelMessage,
    responses((status = 202, description = "stored; a repeat of an already stored id answers 200"),
        (status = 401, body = crate::ErrorBody)))]
pub async fn api_channel_inbound(
    State(state): State<WebState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let refuse = || {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "send the channel's inbound token as a Bearer token")
    };
    // An unknown channel gets the same answer as a wrong token: ids are not probed.
    let channel = app
        .store
        .channel(&channel_id)
        .await
        .map_err(hark_app::AppError::from)?
        .filter(|c| c.enabled && c.network == Network::Api)
        .ok_or_else(refuse)?;
    let credentials = app.channel_credentials(&channel.id).await?.unwrap_or_default();
    let expected = credentials.get("inbound_token").and_then(|v| v.as_str()).unwrap_or("");
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if expected.is_empty() || !crate::auth::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(refuse());
    }
    // Read the body only once the caller is known.
    let body: ApiChannelMessage = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", e.to_string()))?;
    let event = body.into_event()?;
    let key = event.dedup_key.clone();
    let stored = state
        .intake
        .store(vec![NewRawEvent {
            channel_id: channel.id.clone(),
            dedup_key: key.clone(),
            received_at: Timestamp::now(),
            payload: serde_json::to_value(&event).unwrap_or_default(),
        }])
        .await?;
    let status = if stored > 0 { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, axum::Json(serde_json::json!({ "id": key, "status": "accepted" }))).into_response())
}

/// A message posted into an API channel by another system.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiChannelMessage {
    /// The sender's id for this message; posting the same id again changes nothing.
    pub id: String,
    /// Groups messages into one conversation.
    pub thread_id: String,
    pub in_reply_to: Option<String>,
    /// `public` or `private`.
    pub visibility: String,
    pub author: ApiChannelAuthor,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
    /// RFC 3339; defaults to now.
    pub created_at: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiChannelAuthor {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub handle: Option<String>,
}

impl ApiChannelMessage {
    fn into_event(self) -> Result<hark_channels::InboundEvent, ApiError> {
        use hark_channels::*;
        let kind = match self.visibility.as_str() {
            "public" => hark_domain::ConversationKind::Public,
            "private" => hark_domain::ConversationKind::Private,
            _ => return Err(ApiError::invalid("visibility", "must be public or private")),
        };
        if self.id.trim().is_empty() || self.thread_id.trim().is_empty() || self.author.id.trim().is_empty() {
            return Err(ApiError::invalid("id", "id, thread_id and author.id must not be empty"));
        }
        // Agents read plain text; an HTML-only message is kept as its text content.
        let text = if self.text.trim().is_empty() {
            self.html.clone().map(|h| strip_tags(&h)).unwrap_or_default()
        } else {
            self.text
        };
        let mut attachments = self.attachments;
        if !self.metadata.is_null() && self.metadata != serde_json::json!({}) {
            attachments.push(serde_json::json!({ "type": "metadata", "data": self.metadata }));
        }
        let occurred_at = match &self.created_at {
            Some(text) => {
                text.parse::<Timestamp>().map_err(|_| ApiError::invalid("created_at", "must be an RFC 3339 instant"))?
            }
            None => Timestamp::now(),
        };
        Ok(InboundEvent {
            dedup_key: format!("ext:{}", self.id),
            occurred_at,
            kind: InboundKind::Message(InboundMessage {
                conversation_kind: kind,
                platform_message_id: self.id,
                thread_id: self.thread_id,
                parent_id: self.in_reply_to,
                author: Author {
                    handle: self.author.handle.clone().unwrap_or_else(|| self.author.name.clone()),
                    platform_user_id: self.author.id,
                    display_name: self.author.name,
                },
                text,
                attachments,
                via_monitoring: false,
                language: None,
            }),
        })
    }
}

/// The text of an HTML fragment: tags dropped, entities left as written.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}
