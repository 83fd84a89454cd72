//! Layers every response passes through: CSRF origin checks, security
//! headers, and request metrics.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;

/// Adds CSRF origin checks (Sec-Fetch-Site / Origin, as browsers send them),
/// with rejections rewritten into the API's error shape, and security headers.
pub fn protect(router: Router) -> Router {
    router
        .layer(CsrfLayer::new())
        .layer(axum::middleware::from_fn(explain_csrf_rejection))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            // Scripts and styles only from Hark itself (no inline code); images
            // also from the networks' https media servers.
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                 connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
                 form-action 'self'",
            ),
        ))
}

async fn explain_csrf_rejection(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() == StatusCode::FORBIDDEN
        && response.extensions().get::<tower_http::csrf::ProtectionError>().is_some()
    {
        return ApiError::new(StatusCode::FORBIDDEN, "csrf", "cross-origin request refused").into_response();
    }
    response
}

/// Counts requests and their latency per route and status (served on the
/// separate metrics listener).
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("hark_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("hark_http_request_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
