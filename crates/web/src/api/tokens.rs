use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{CreatedToken, TokenInfo};
use serde::Deserialize;
use utoipa::ToSchema;

use super::List;
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, e.g. "CRM sync".
    pub name: String,
}

/// The caller's API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = List<TokenInfo>)))]
pub async fn list(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<TokenInfo>>> {
    Ok(JsonOut(List::all(state.app.tokens(&auth.actor).await?)))
}

/// Creates an API token acting as the caller. The token is shown only in this response.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::ErrorBody)))]
pub async fn create(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<TokenRequest>,
) -> ApiResult<(StatusCode, JsonOut<CreatedToken>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_token(&auth.actor, &body.name).await?)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::ErrorBody)))]
pub async fn revoke(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.revoke_token(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
