use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{LabelInput, TeamInput, UserCreate, UserUpdate};
use hark_domain::{Label, Team, User};

use super::List;
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::Json;

#[utoipa::path(get, path = "/api/v1/users", tag = "people", responses((status = 200, body = List<User>)))]
pub async fn list_users(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<User>>> {
    Ok(JsonOut(List::all(state.app.users(&auth.actor).await?)))
}

/// Adds a person to the workspace. Nobody grants a role above their own.
#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = UserCreate,
    responses((status = 201, body = User), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn create_user(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<UserCreate>,
) -> ApiResult<(StatusCode, JsonOut<User>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_user(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "people", params(("id" = String, Path)), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 403, body = crate::ErrorBody)))]
pub async fn update_user(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<UserUpdate>,
) -> ApiResult<JsonOut<User>> {
    Ok(JsonOut(state.app.update_user(&auth.actor, &id, body).await?))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "people", responses((status = 200, body = List<Team>)))]
pub async fn list_teams(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<Team>>> {
    Ok(JsonOut(List::all(state.app.teams(&auth.actor).await?)))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "people", request_body = TeamInput,
    responses((status = 201, body = Team), (status = 403, body = crate::ErrorBody)))]
pub async fn create_team(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<TeamInput>,
) -> ApiResult<(StatusCode, JsonOut<Team>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_team(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "people", params(("id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = Team), (status = 403, body = crate::ErrorBody)))]
pub async fn update_team(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<TeamInput>,
) -> ApiResult<JsonOut<Team>> {
    Ok(JsonOut(state.app.update_team(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "people", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_team(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_team(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/labels", tag = "labels", responses((status = 200, body = List<Label>)))]
pub async fn list_labels(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<Label>>> {
    Ok(JsonOut(List::all(state.app.labels(&auth.actor).await?)))
}

#[utoipa::path(post, path = "/api/v1/labels", tag = "labels", request_body = LabelInput,
    responses((status = 201, body = Label), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn create_label(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<LabelInput>,
) -> ApiResult<(StatusCode, JsonOut<Label>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_label(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/labels/{id}", tag = "labels", params(("id" = String, Path)), request_body = LabelInput,
    responses((status = 200, body = Label), (status = 403, body = crate::ErrorBody)))]
pub async fn update_label(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<LabelInput>,
) -> ApiResult<JsonOut<Label>> {
    Ok(JsonOut(state.app.update_label(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/labels/{id}", tag = "labels", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_label(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_label(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
