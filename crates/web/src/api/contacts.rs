use axum::Json as JsonOut;
use axum::extract::{Path, State};
use hark_app::ContactUpdate;
use hark_domain::Contact;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{List, page};
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{Json, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Matches name, email, phone or any network handle.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactQuery),
    responses((status = 200, body = List<Contact>)))]
pub async fn list(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<ContactQuery>,
) -> ApiResult<JsonOut<List<Contact>>> {
    let page = page(q.cursor, q.limit)?;
    let rows = state.app.contacts(&auth.actor, q.q.as_deref(), &page).await?;
    Ok(JsonOut(List::page(rows, page.limit, |c| c.id.clone())))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = Contact), (status = 404, body = crate::ErrorBody)))]
pub async fn get(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Contact>> {
    Ok(JsonOut(state.app.contact(&auth.actor, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)), request_body = ContactUpdate,
    responses((status = 200, body = Contact), (status = 403, body = crate::ErrorBody)))]
pub async fn update(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ContactUpdate>,
) -> ApiResult<JsonOut<Contact>> {
    Ok(JsonOut(state.app.update_contact(&auth.actor, &id, body).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The contact to fold into this one.
    pub from_contact_id: String,
}

/// Merges another contact into this one: its identities and conversations move here.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/merge", tag = "contacts", params(("id" = String, Path)), request_body = MergeRequest,
    responses((status = 200, body = Contact), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn merge(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<MergeRequest>,
) -> ApiResult<JsonOut<Contact>> {
    Ok(JsonOut(state.app.merge_contacts(&auth.actor, &id, &body.from_contact_id).await?))
}
