use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hark_domain::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::WebState;
use crate::auth::{Authenticated, ClientAddr, session_set_cookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The signed-in user. `csrf_token` must be sent as `X-CSRF-Token` on every
/// write made with the session cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub csrf_token: Option<String>,
}

/// Signs in with email and password; sets the `hark_session` cookie (HttpOnly, SameSite=Lax).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = crate::ErrorBody), (status = 429, body = crate::ErrorBody)))]
pub async fn login(
    State(state): State<WebState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    if let Err(wait) = state.login_limiter.check(address, &body.email) {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many sign-in attempts; wait and try again",
        );
        err.retry_after_secs = Some(wait);
        return Err(err);
    }
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let session = state.app.login(&body.email, &body.password, agent).await?;
    let max_age = hark_app::auth::SESSION_LIFETIME.as_secs();
    let cookie = session_set_cookie(&session.token, max_age, state.config.secure_cookies);
    let me = Me { user: session.user, csrf_token: Some(session.csrf_token) };
    Ok(([(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_owned())], JsonOut(me)).into_response())
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = crate::ErrorBody)))]
pub async fn logout(State(state): State<WebState>, auth: Authenticated) -> ApiResult<Response> {
    if let Some(token) = &auth.session_token {
        state.app.logout(&auth.actor, token).await?;
    }
    let cookie = session_set_cookie("", 0, state.config.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = crate::ErrorBody)))]
pub async fn me(auth: Authenticated) -> JsonOut<Me> {
    JsonOut(Me { user: auth.actor.user, csrf_token: auth.csrf_token })
}
