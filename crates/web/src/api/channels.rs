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
