//! Who is calling: an API token (`Authorization: Bearer hark_…`) or a browser
//! session cookie. Browser writes must also carry the session's CSRF token in
//! `X-CSRF-Token` (on top of the Origin / Sec-Fetch-Site check in `security`).

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hark_app::Actor;

use crate::WebState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "hark_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller, and the raw session token when it came from a cookie.
pub struct Authenticated {
    pub actor: Actor,
    pub session_token: Option<String>,
    pub csrf_token: Option<String>,
}

impl FromRequestParts<WebState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let text = value.to_str().map_err(|_| ApiError::unauthenticated())?;
            let token = text
                .strip_prefix("Bearer ")
                .or_else(|| text.strip_prefix("bearer "))
                .ok_or_else(ApiError::unauthenticated)?;
            let actor = state.app.token_actor(token.trim()).await?;
            return Ok(Authenticated { actor, session_token: None, csrf_token: None });
        }
        let token = session_cookie(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let (actor, session) = state.app.session_actor(&token).await?;
        if !is_safe(&parts.method) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "missing or wrong X-CSRF-Token header; reload the page",
                ));
            }
        }
        Ok(Authenticated { actor, session_token: Some(token), csrf_token: Some(session.csrf_token) })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The session token from the `Cookie` header, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that opens (or, with `max_age_secs = 0`, clears) a session.
pub fn session_set_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// Compares without leaking, through timing, how much of a secret matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Slows down password guessing: a budget of attempts per client address and
/// per email, refilled over a minute.
pub struct LoginLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LoginLimiter {
            by_address: RateLimiter::keyed(Quota::per_minute(n)),
            by_email: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// `Err(seconds to wait)` when the budget is spent.
    pub fn check(&self, address: Option<IpAddr>, email: &str) -> Result<(), u64> {
        let clock = governor::clock::DefaultClock::default();
        use governor::clock::Clock;
        let wait = |outcome: governor::NotUntil<_>| outcome.wait_time_from(clock.now()).as_secs().max(1);
        if let Some(ip) = address {
            self.by_address.check_key(&ip).map_err(wait)?;
        }
        self.by_email.check_key(&email.trim().to_lowercase()).map_err(wait)?;
        Ok(())
    }
}

/// The client's address, when the server was started with connection info.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; hark_session=abc; b=2".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        headers.insert(header::COOKIE, "hark_session=".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let c = session_set_cookie("t", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
    }

    #[test]
    fn login_budget_runs_out_and_is_per_email() {
        let limiter = LoginLimiter::new(3);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limiter.check(None, "a@x.io").is_ok());
        }
        assert!(limiter.check(None, "A@x.io ").is_err());
        assert!(limiter.check(ip, "b@x.io").is_ok());
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
