//! The agent workspace in the browser: pages rendered on the server (see
//! the `hark-ui` crate for the views) and the fragments its scripts fetch to
//! keep them live. Handlers gather what a page shows through the same use
//! cases the API calls, with the signed-in person as the actor, so role
//! checks stay in one place.

mod inbox;
mod reports;
mod session;
mod settings;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hark_app::{Actor, AppError};
use hark_domain::*;
use hark_ui::Strings;
use hark_ui::maud::Markup;

use crate::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/c/{id}", get(inbox::conversation_page))
        .route("/ui/rows", get(inbox::rows))
        .route("/ui/pane/{id}", get(inbox::pane))
        .route("/ui/messages/{id}", get(inbox::message))
        .route("/ui/counts", get(inbox::counts))
        .route("/reports", get(reports::reports))
        .route("/dashboard", get(reports::dashboard))
        .route("/ui/dashboard", get(reports::dashboard_fragment))
        .route("/settings", get(settings::first_tab))
        .route("/settings/{tab}", get(settings::tab))
        .route("/approvals", get(|| async { Redirect::to("/settings/approvals") }))
        .route("/assets/{name}", get(asset))
}

async fn home(viewer: Option<Viewer>) -> Redirect {
    match viewer {
        Some(_) => Redirect::to("/inbox"),
        None => Redirect::to("/login"),
    }
}

/// The signed-in person looking at a page. Pages redirect to the sign-in
/// page instead of answering 401.
pub struct Viewer {
    pub actor: Actor,
    pub csrf: String,
    pub session_token: String,
}

pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", hark_ui::views::inbox::encode(&self.0))).into_response()
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/inbox".into());
        let token = crate::auth::session_cookie(&parts.headers).ok_or_else(|| SignInFirst(next.clone()))?;
        let (actor, session) = state.app.session_actor(&token).await.map_err(|_| SignInFirst(next))?;
        Ok(Viewer { actor, csrf: session.csrf_token, session_token: token })
    }
}

impl axum::extract::OptionalFromRequestParts<WebState> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Option<Self>, Self::Rejection> {
        Ok(<Viewer as FromRequestParts<WebState>>::from_request_parts(parts, state).await.ok())
    }
}

/// What a page failed with, shown as a page in the viewer's language.
pub struct PageError {
    status: StatusCode,
    locale: String,
    error: AppError,
}

impl PageError {
    fn new(viewer: &Viewer, error: AppError) -> Self {
        PageError { status: crate::error::status_of(&error), locale: viewer.actor.user.locale.clone(), error }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = Strings::get(&self.locale);
        let (title, detail) = match self.status {
            StatusCode::NOT_FOUND => (t.t("error-not-found-title"), t.t("error-not-found")),
            StatusCode::FORBIDDEN => (t.t("error-forbidden-title"), t.t("error-forbidden")),
            _ => (t.t("error-title"), crate::ApiError::from(self.error).message),
        };
        let mut response = html(hark_ui::views::login::error_page(t, &title, &detail));
        *response.status_mut() = self.status;
        response
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// Adds the viewer to an app result's error, for a page.
trait ForViewer<T> {
    fn page(self, viewer: &Viewer) -> PageResult<T>;
}

impl<T> ForViewer<T> for Result<T, AppError> {
    fn page(self, viewer: &Viewer) -> PageResult<T> {
        self.map_err(|e| PageError::new(viewer, e))
    }
}

/// An HTML response that is never cached (it shows live, per-person data).
pub fn html(markup: Markup) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// The workspace's people, teams, labels and channels, read once per page.
pub struct DirectoryData {
    pub users: Vec<User>,
    pub teams: Vec<Team>,
    pub labels: Vec<Label>,
    pub channels: Vec<Channel>,
    pub workspace_name: String,
    /// The workspace's IANA time zone, for dates picked in filters.
    pub time_zone: String,
    pub unread: i64,
}

impl DirectoryData {
    pub async fn load(state: &WebState, actor: &Actor) -> Result<Self, AppError> {
        let workspace = state.app.store.workspace(actor.workspace_id()).await?;
        Ok(DirectoryData {
            users: state.app.users(actor).await?,
            teams: state.app.teams(actor).await?,
            labels: state.app.labels(actor).await?,
            channels: state.app.channels(actor).await?,
            time_zone: workspace.as_ref().map(|w| w.time_zone.clone()).unwrap_or_else(|| "UTC".into()),
            workspace_name: workspace.map(|w| w.name).unwrap_or_default(),
            unread: state.app.unread_notification_count(actor).await?,
        })
    }

    pub fn directory(&self) -> hark_ui::Directory<'_> {
        hark_ui::Directory { users: &self.users, teams: &self.teams, labels: &self.labels, channels: &self.channels }
    }
}

/// Serves an embedded style, script or icon. A request naming the current
/// version may be cached for good; any other must be revalidated.
async fn asset(Path(name): Path<String>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let Some(asset) = hark_ui::assets::get(&name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{}\"", asset.version);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let versioned = uri.query().is_some_and(|q| q == format!("v={}", asset.version));
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""))),
        ],
        asset.body,
    )
        .into_response()
}

/// A redirect target from a form: only a path on this site.
pub fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") { next } else { "/inbox" }
}
