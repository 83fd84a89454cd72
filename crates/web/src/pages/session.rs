//! Signing in and out with plain HTML forms. The sign-in form is protected
//! against cross-site posts by the Origin / Sec-Fetch-Site check every
//! write passes; signing out also needs the session's CSRF token.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hark_app::AppError;
use hark_ui::Strings;
use serde::Deserialize;

use super::{Viewer, html, safe_next};
use crate::WebState;
use crate::auth::{ClientAddr, constant_time_eq, session_set_cookie};

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The language to greet someone in before they sign in: the first of the
/// browser's languages Hark speaks.
fn browser_strings(headers: &HeaderMap) -> &'static Strings {
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    for part in accepted.split(',') {
        let code = part.split(';').next().unwrap_or("").trim().split('-').next().unwrap_or("").to_lowercase();
        if hark_ui::i18n::LOCALES.iter().any(|(c, _, _)| *c == code) {
            return Strings::get(&code);
        }
    }
    Strings::get("en")
}

pub async fn login_page(viewer: Option<Viewer>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or("/inbox")).to_owned();
    if viewer.is_some() {
        return Redirect::to(&next).into_response();
    }
    html(hark_ui::views::login::login(browser_strings(&headers), "", None, &next))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<WebState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let t = browser_strings(&headers);
    let next = safe_next(&form.next).to_owned();
    let refuse = |status: StatusCode, message: String| {
        let mut response = html(hark_ui::views::login::login(t, &form.email, Some(&message), &next));
        *response.status_mut() = status;
        response
    };
    if state.login_limiter.check(address, &form.email).is_err() {
        return refuse(StatusCode::TOO_MANY_REQUESTS, t.t("sign-in-rate-limited"));
    }
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    match state.app.login(&form.email, &form.password, agent).await {
        Ok(session) => {
            let max_age = hark_app::auth::SESSION_LIFETIME.as_secs();
            let cookie = session_set_cookie(&session.token, max_age, state.config.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(AppError::BadCredentials) => refuse(StatusCode::UNAUTHORIZED, t.t("sign-in-failed")),
        Err(err) => refuse(crate::error::status_of(&err), crate::ApiError::from(err).message),
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

pub async fn logout(State(state): State<WebState>, viewer: Viewer, Form(form): Form<LogoutForm>) -> Response {
    if !constant_time_eq(form.csrf_token.as_bytes(), viewer.csrf.as_bytes()) {
        return (StatusCode::FORBIDDEN, "missing or wrong CSRF token; reload the page").into_response();
    }
    let _ = state.app.logout(&viewer.actor, &viewer.session_token).await;
    let cookie = session_set_cookie("", 0, state.config.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}
