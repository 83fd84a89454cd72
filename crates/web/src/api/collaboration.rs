//! Snippets, saved views, notifications, custom attribute definitions and
//! the caller's own settings.

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{AttributeInput, ProfileUpdate, SavedViewInput, SnippetInput};
use hark_domain::{AttributeDefinition, Notification, RenderedSnippet, SavedView, Snippet, User};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{List, page};
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{Json, Query};

#[utoipa::path(get, path = "/api/v1/snippets", tag = "snippets", responses((status = 200, body = List<Snippet>)))]
pub async fn list_snippets(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<Snippet>>> {
    Ok(JsonOut(List::all(state.app.snippets(&auth.actor).await?)))
}

#[utoipa::path(post, path = "/api/v1/snippets", tag = "snippets", request_body = SnippetInput,
    responses((status = 201, body = Snippet), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn create_snippet(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<SnippetInput>,
) -> ApiResult<(StatusCode, JsonOut<Snippet>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_snippet(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/snippets/{id}", tag = "snippets", params(("id" = String, Path)),
    request_body = SnippetInput, responses((status = 200, body = Snippet), (status = 403, body = crate::ErrorBody)))]
pub async fn update_snippet(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<SnippetInput>,
) -> ApiResult<JsonOut<Snippet>> {
    Ok(JsonOut(state.app.update_snippet(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/snippets/{id}", tag = "snippets", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_snippet(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_snippet(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RenderQuery {
    /// The conversation whose customer, channel and attributes fill the variables.
    pub conversation_id: String,
}

/// The snippet's text with its variables filled for a conversation; the
/// variables without a value are listed in `missing`.
#[utoipa::path(get, path = "/api/v1/snippets/{id}/render", tag = "snippets", params(("id" = String, Path), RenderQuery),
    responses((status = 200, body = RenderedSnippet), (status = 404, body = crate::ErrorBody)))]
pub async fn render_snippet(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<RenderQuery>,
) -> ApiResult<JsonOut<RenderedSnippet>> {
    Ok(JsonOut(state.app.render_snippet(&auth.actor, &id, &q.conversation_id).await?))
}

/// The caller's own views and those shared with the workspace.
#[utoipa::path(get, path = "/api/v1/views", tag = "views", responses((status = 200, body = List<SavedView>)))]
pub async fn list_views(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<SavedView>>> {
    Ok(JsonOut(List::all(state.app.saved_views(&auth.actor).await?)))
}

#[utoipa::path(post, path = "/api/v1/views", tag = "views", request_body = SavedViewInput,
    responses((status = 201, body = SavedView), (status = 403, body = crate::ErrorBody)))]
pub async fn create_view(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<SavedViewInput>,
) -> ApiResult<(StatusCode, JsonOut<SavedView>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_saved_view(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/views/{id}", tag = "views", params(("id" = String, Path)),
    request_body = SavedViewInput, responses((status = 200, body = SavedView), (status = 403, body = crate::ErrorBody)))]
pub async fn update_view(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<SavedViewInput>,
) -> ApiResult<JsonOut<SavedView>> {
    Ok(JsonOut(state.app.update_saved_view(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "views", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_view(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_saved_view(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The caller's notifications (being @mentioned in a note), newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationQuery),
    responses((status = 200, body = List<Notification>)))]
pub async fn list_notifications(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<JsonOut<List<Notification>>> {
    let page = page(q.cursor, q.limit)?;
    let rows = state.app.notifications(&auth.actor, q.unread.unwrap_or(false), &page).await?;
    Ok(JsonOut(List::page(rows, page.limit, |n| n.id.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// These notifications; all of the caller's when absent.
    pub ids: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = ReadRequest,
    responses((status = 204)))]
pub async fn read_notifications(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<ReadRequest>,
) -> ApiResult<StatusCode> {
    state.app.mark_notifications_read(&auth.actor, body.ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/attributes", tag = "attributes",
    responses((status = 200, body = List<AttributeDefinition>)))]
pub async fn list_attributes(
    State(state): State<WebState>,
    auth: Authenticated,
) -> ApiResult<JsonOut<List<AttributeDefinition>>> {
    Ok(JsonOut(List::all(state.app.attribute_definitions(&auth.actor).await?)))
}

#[utoipa::path(post, path = "/api/v1/attributes", tag = "attributes", request_body = AttributeInput,
    responses((status = 201, body = AttributeDefinition), (status = 403, body = crate::ErrorBody),
        (status = 409, body = crate::ErrorBody)))]
pub async fn create_attribute(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<AttributeInput>,
) -> ApiResult<(StatusCode, JsonOut<AttributeDefinition>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_attribute(&auth.actor, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/attributes/{id}", tag = "attributes", params(("id" = String, Path)),
    request_body = AttributeInput,
    responses((status = 200, body = AttributeDefinition), (status = 403, body = crate::ErrorBody)))]
pub async fn update_attribute(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<AttributeInput>,
) -> ApiResult<JsonOut<AttributeDefinition>> {
    Ok(JsonOut(state.app.update_attribute(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/attributes/{id}", tag = "attributes", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_attribute(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_attribute(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own interface language or availability.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", request_body = ProfileUpdate,
    responses((status = 200, body = User), (status = 400, body = crate::ErrorBody)))]
pub async fn update_me(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<ProfileUpdate>,
) -> ApiResult<JsonOut<User>> {
    Ok(JsonOut(state.app.update_profile(&auth.actor, body).await?))
}

#[utoipa::path(get, path = "/api/v1/business-hours", tag = "business hours",
    responses((status = 200, body = List<hark_app::BusinessHoursView>)))]
pub async fn list_business_hours(
    State(state): State<WebState>,
    auth: Authenticated,
) -> ApiResult<JsonOut<List<hark_app::BusinessHoursView>>> {
    Ok(JsonOut(List::all(state.app.business_hours(&auth.actor).await?)))
}

/// Business hours for the workspace or a team: a time zone, a weekly
/// schedule and holidays.
#[utoipa::path(post, path = "/api/v1/business-hours", tag = "business hours", request_body = hark_app::BusinessHoursInput,
    responses((status = 201, body = hark_app::BusinessHoursView), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn create_business_hours(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<hark_app::BusinessHoursInput>,
) -> ApiResult<(StatusCode, JsonOut<hark_app::BusinessHoursView>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.put_business_hours(&auth.actor, None, body).await?)))
}

#[utoipa::path(put, path = "/api/v1/business-hours/{id}", tag = "business hours", params(("id" = String, Path)),
    request_body = hark_app::BusinessHoursInput,
    responses((status = 200, body = hark_app::BusinessHoursView), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody)))]
pub async fn replace_business_hours(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<hark_app::BusinessHoursInput>,
) -> ApiResult<JsonOut<hark_app::BusinessHoursView>> {
    Ok(JsonOut(state.app.put_business_hours(&auth.actor, Some(&id), body).await?))
}

#[utoipa::path(delete, path = "/api/v1/business-hours/{id}", tag = "business hours", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody)))]
pub async fn delete_business_hours(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_business_hours(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
