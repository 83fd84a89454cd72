use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{ChannelCreate, ChannelUpdate};
use hark_domain::Channel;

use super::List;
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::Json;

/// Connected accounts with their health. Credentials are never returned.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", responses((status = 200, body = List<Channel>)))]
pub async fn list(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<Channel>>> {
    Ok(JsonOut(List::all(state.app.channels(&auth.actor).await?)))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", params(("id" = String, Path)),
    responses((status = 200, body = Channel), (status = 404, body = crate::ErrorBody)))]
pub async fn get(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Channel>> {
    Ok(JsonOut(state.app.channel(&auth.actor, &id).await?))
}

/// Connects an account. Credentials are encrypted before they are stored.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = ChannelCreate,
    responses((status = 201, body = Channel), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn create(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<ChannelCreate>,
) -> ApiResult<(StatusCode, JsonOut<Channel>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_channel(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", params(("id" = String, Path)), request_body = ChannelUpdate,
    responses((status = 200, body = Channel), (status = 403, body = crate::ErrorBody)))]
pub async fn update(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ChannelUpdate>,
) -> ApiResult<JsonOut<Channel>> {
    Ok(JsonOut(state.app.update_channel(&auth.actor, &id, body).await?))
}

/// What connecting a channel did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Connection {
    pub channel: Channel,
    /// Where the network now delivers this channel's events.
    pub webhook_url: String,
    pub detail: String,
}

/// Registers Hark's webhook for this channel with its network (X webhook and
/// subscription, Meta app subscription, Telegram setWebhook, VK callback server).
#[utoipa::path(post, path = "/api/v1/channels/{id}/connect", tag = "channels", params(("id" = String, Path)),
    responses((status = 200, body = Connection), (status = 403, body = crate::ErrorBody), (status = 502, body = crate::ErrorBody)))]
pub async fn connect(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Connection>> {
    use axum::http::StatusCode;
    use hark_channels::ConnectorError;

    use crate::error::ApiError;

    let (channel, credentials) = state.app.connection_target(&auth.actor, &id).await?;
    let webhook_url = format!("{}/webhooks/{}", state.config.public_url.trim_end_matches('/'), channel.id);
    let ctx = hark_channels::ChannelContext {
        network: channel.network,
        external_id: channel.external_id.clone(),
        credentials,
        settings: channel.settings.clone(),
    };
    match hark_channels::connector::register_webhook(&state.http, &ctx, &webhook_url).await {
        Ok(registration) => {
            let channel = state
                .app
                .record_connection(
                    &auth.actor,
                    &channel,
                    &webhook_url,
                    &registration.detail,
                    registration.credentials_update,
                )
                .await?;
            Ok(JsonOut(Connection { channel, webhook_url, detail: registration.detail }))
        }
        Err(ConnectorError::NotAllowed(refusal)) => Err(ApiError::of_refusal(StatusCode::BAD_REQUEST, refusal)),
        Err(ConnectorError::Misconfigured(reason)) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "not_allowed", reason))
        }
        Err(err) => Err(ApiError::new(StatusCode::BAD_GATEWAY, "network_refused", err.to_string())),
    }
}
