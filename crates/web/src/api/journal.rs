use axum::Json as JsonOut;
use axum::extract::State;
use hark_domain::AuditEntry;

use super::{List, PageQuery, page};
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::Query;

/// Every change and every publication, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(PageQuery),
    responses((status = 200, body = List<AuditEntry>), (status = 403, body = crate::ErrorBody)))]
pub async fn audit_log(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<PageQuery>,
) -> ApiResult<JsonOut<List<AuditEntry>>> {
    let page = page(q.cursor, q.limit)?;
    let rows = state.app.audit_log(&auth.actor, &page).await?;
    Ok(JsonOut(List::page(rows, page.limit, |a| a.id.clone())))
}
