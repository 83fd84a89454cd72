//! Files attached to replies: uploaded by agents through the API, served to
//! the networks (which fetch them by address) under an unguessable token.

use axum::Json as JsonOut;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hark_app::UploadView;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as the customer will see it.
    pub name: String,
}

/// Stores a file to send with a reply. The body is the file itself, with its
/// `Content-Type`; JPEG, PNG, GIF, WebP, PDF, plain text and CSV up to 10 MB
/// are accepted, and the bytes must match the type.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "conversations", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = UploadView), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 413, body = crate::ErrorBody)))]
pub async fn create(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, JsonOut<UploadView>)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let view = state.app.upload(&auth.actor, &q.name, content_type, body.to_vec()).await?;
    Ok((StatusCode::CREATED, JsonOut(view)))
}

/// An uploaded file, for whoever holds its address (the network delivering
/// it). Pictures are shown inline, anything else is offered as a download,
/// and nothing is ever interpreted as a page.
pub async fn serve(State(state): State<WebState>, Path((id, token)): Path<(String, String)>) -> ApiResult<Response> {
    let file = state.app.download(&id, &token).await?;
    let disposition = if file.content_type.starts_with("image/") { "inline" } else { "attachment" };
    // The name was cleaned of quotes and control characters when stored; the
    // RFC 5987 form carries any non-ASCII letters.
    let ascii: String = file.name.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let encoded: String = file
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let disposition = format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    Ok(response)
}
