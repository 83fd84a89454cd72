//! One error shape for every failure:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`, with a
//! stable `code` that clients and the UI can rely on.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hark_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `unauthenticated`, `forbidden`, `csrf`,
    /// `not_found`, `invalid_input`, `invalid_json`, `payload_too_large`,
    /// `unsupported_media_type`, `conflict`, `duplicate`, `bad_credentials`,
    /// `rate_limited`, `method_not_allowed`, `not_allowed` (the network's rules forbid it),
    /// `network_refused`, `bad_signature`, `unavailable`, `internal`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `not_allowed`: the network's rule as a message id of the
    /// interface's locales (`js-refusal-{key}`) and its arguments, the same
    /// as a reply option's `reason_key` and `reason_args`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<&'static str, String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    /// A refusal's message id and arguments (see `ErrorDetail::key`); boxed,
    /// as most errors have none and every handler's result carries the type.
    pub refusal: Option<Box<(&'static str, BTreeMap<&'static str, String>)>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after_secs: None, refusal: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError { field: Some(field.to_owned()), ..Self::new(StatusCode::BAD_REQUEST, "invalid_input", message) }
    }

    /// What the network's rules forbid (`not_allowed`), readable in each language.
    pub fn refused(
        status: StatusCode,
        key: &'static str,
        args: impl IntoIterator<Item = (&'static str, String)>,
        text: impl Into<String>,
    ) -> Self {
        ApiError {
            refusal: Some(Box::new((key, args.into_iter().collect()))),
            ..Self::new(status, "not_allowed", text)
        }
    }

    /// A connector's refusal, as [`refused`](Self::refused) answers it.
    pub fn of_refusal(status: StatusCode, refusal: hark_channels::Refusal) -> Self {
        Self::refused(status, refusal.key, refusal.args, refusal.text)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in or send an API token")
    }
}

/// The HTTP status an application error is answered with.
pub fn status_of(err: &AppError) -> StatusCode {
    match err {
        AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Invalid(_) => StatusCode::BAD_REQUEST,
        AppError::Conflict(_) | AppError::Duplicate(_) => StatusCode::CONFLICT,
        AppError::Internal(_) | AppError::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let status = status_of(&err);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The details stay in the log; the client learns only that it failed.
            tracing::error!(error = ?err, "request failed");
        }
        let field = match &err {
            AppError::Invalid(v) => Some(v.field.to_owned()),
            _ => None,
        };
        let message = match &err {
            AppError::Invalid(v) => v.message.clone(),
            other => other.to_string(),
        };
        ApiError { status, code: err.code(), message, field, retry_after_secs: None, refusal: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (key, args) = self.refusal.map_or((None, BTreeMap::new()), |refusal| (Some(refusal.0), refusal.1));
        let body =
            ErrorBody { error: ErrorDetail { code: self.code, message: self.message, field: self.field, key, args } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `code` an answer to people's requests can carry (the list above);
    /// the interface has a sentence in each language for each.
    const ERROR_CODES: &[&str] = &[
        "unauthenticated",
        "forbidden",
        "csrf",
        "not_found",
        "invalid_input",
        "invalid_json",
        "payload_too_large",
        "unsupported_media_type",
        "conflict",
        "duplicate",
        "bad_credentials",
        "rate_limited",
        "method_not_allowed",
        "not_allowed",
        "network_refused",
        "unavailable",
        "internal",
    ];

    /// The interface shows an error by its code in the agent's language, so
    /// every code has a sentence in every language, and every application
    /// error answers with one of them.
    #[test]
    fn every_error_code_reads_in_each_language() {
        let english = hark_ui::Strings::get("en").client_messages();
        for code in ["ru", "el", "zh"] {
            let translated = hark_ui::Strings::get(code).client_messages();
            for error in ERROR_CODES {
                let key = format!("api-error-{error}");
                let en = english.get(&key).and_then(|v| v.as_str());
                assert!(en.is_some_and(|s| !s.is_empty()), "en lacks {key}");
                assert_ne!(translated.get(&key).and_then(|v| v.as_str()), en, "{code} lacks {key}");
            }
        }
        let errors = [
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::NotFound("conversation"),
            AppError::invalid("text", "empty"),
            AppError::Conflict("changed".into()),
            AppError::Duplicate("label".into()),
            AppError::BadCredentials,
            AppError::Unavailable("shutting down".into()),
        ];
        for err in errors {
            let code = ApiError::from(err).code;
            assert!(ERROR_CODES.contains(&code), "{code}");
        }
    }
}
