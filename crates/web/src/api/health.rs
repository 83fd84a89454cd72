use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::WebState;

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "the database is reachable"), (status = 503, description = "it is not")))]
pub async fn healthz(State(state): State<WebState>) -> (StatusCode, Json<Value>) {
    let backend = state.app.store.backend();
    match state.app.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok", "database": backend }))),
        Err(err) => {
            tracing::warn!(%err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": backend })))
        }
    }
}
