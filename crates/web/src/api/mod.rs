//! The JSON API under `/api/v1`. One module per resource; each handler
//! parses, calls one use case, and shapes the answer.

pub mod auth;
pub mod automation;
pub mod channels;
pub mod collaboration;
pub mod contacts;
pub mod conversations;
pub mod directory;
pub mod events;
pub mod health;
pub mod journal;
pub mod reports;
pub mod tokens;
pub mod uploads;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use hark_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::WebState;
use crate::error::ApiError;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me).patch(collaboration::update_me))
        .route("/conversations", get(conversations::list))
        .route("/conversations/bulk", post(conversations::bulk))
        .route("/search", get(conversations::search))
        .route("/conversations/{id}", get(conversations::get).patch(conversations::update))
        .route("/conversations/{id}/merge", post(conversations::merge))
        .route("/conversations/{id}/move-to-private", post(conversations::move_to_private))
        .route("/conversations/{id}/presence", get(conversations::presence).post(conversations::set_presence))
        .route("/conversations/{id}/messages", get(conversations::messages).post(conversations::post_message))
        .route("/conversations/{id}/reply-options", get(conversations::reply_options))
        .route("/messages/{id}/approve", post(conversations::approve))
        .route("/messages/{id}/reject", post(conversations::reject))
        .route("/messages/{id}/retry", post(conversations::retry))
        .route("/messages/{id}/engage", post(conversations::engage))
        .route("/channels/{id}/messages", post(crate::webhooks::api_channel_inbound))
        .route("/contacts", get(contacts::list))
        .route("/contacts/{id}", get(contacts::get).patch(contacts::update))
        .route("/contacts/{id}/merge", post(contacts::merge))
        .route("/users", get(directory::list_users).post(directory::create_user))
        .route("/users/{id}", patch(directory::update_user))
        .route("/teams", get(directory::list_teams).post(directory::create_team))
        .route("/teams/{id}", patch(directory::update_team).delete(directory::delete_team))
        .route("/labels", get(directory::list_labels).post(directory::create_label))
        .route("/labels/{id}", patch(directory::update_label).delete(directory::delete_label))
        .route("/channels", get(channels::list).post(channels::create))
        .route("/channels/{id}", get(channels::get).patch(channels::update))
        .route("/channels/{id}/connect", post(channels::connect))
        .route("/snippets", get(collaboration::list_snippets).post(collaboration::create_snippet))
        .route("/snippets/{id}", patch(collaboration::update_snippet).delete(collaboration::delete_snippet))
        .route("/snippets/{id}/render", get(collaboration::render_snippet))
        .route("/views", get(collaboration::list_views).post(collaboration::create_view))
        .route("/views/{id}", patch(collaboration::update_view).delete(collaboration::delete_view))
        .route("/notifications", get(collaboration::list_notifications))
        .route("/notifications/read", post(collaboration::read_notifications))
        .route("/attributes", get(collaboration::list_attributes).post(collaboration::create_attribute))
        .route("/attributes/{id}", patch(collaboration::update_attribute).delete(collaboration::delete_attribute))
        .route("/business-hours", get(collaboration::list_business_hours).post(collaboration::create_business_hours))
        .route(
            "/business-hours/{id}",
            axum::routing::put(collaboration::replace_business_hours).delete(collaboration::delete_business_hours),
        )
        .route("/rules", get(automation::list_rules).post(automation::create_rule))
        .route("/rules/order", axum::routing::put(automation::order_rules))
        .route("/rules/{id}", get(automation::get_rule).patch(automation::update_rule).delete(automation::delete_rule))
        .route("/conversations/{id}/rule-runs", get(automation::rule_runs))
        .route("/conversations/{id}/similar-replies", get(automation::similar_replies))
        .route("/conversations/{id}/round-robin", post(automation::round_robin))
        .route("/approvals", get(automation::approvals))
        .route("/messages/{id}/review", post(automation::review))
        .route("/messages/{id}/correction", post(automation::correct))
        .route("/corrections", get(automation::corrections))
        .route("/agent-profiles", get(automation::agent_profiles))
        .route("/users/{id}/assignment", axum::routing::put(automation::put_agent_profile))
        .route("/channels/{id}/publish-policy", get(automation::publish_policy).put(automation::put_publish_policy))
        .route("/audit", get(journal::audit_log))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/events", get(events::stream))
        .route("/service-levels", get(reports::get_service_levels).put(reports::put_service_levels))
        .route("/conversations/{id}/sla", get(reports::conversation_sla))
        .route("/reports", get(reports::report))
        .route("/dashboard", get(reports::dashboard))
        .route("/csat", get(reports::csat))
        .route("/known-issues", get(reports::list_known_issues).post(reports::create_known_issue))
        .route(
            "/known-issues/{id}",
            axum::routing::put(reports::replace_known_issue).delete(reports::delete_known_issue),
        )
        .route("/known-issues/{id}/answer", post(reports::answer_known_issue))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/openapi.json")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not take this method")
}

/// One page of a list. Pass `next_cursor` back as `cursor` for the next page;
/// it is absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Builds a page from `limit + 1` fetched rows.
    pub fn page(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor_of)
        } else {
            None
        };
        List { items: rows, next_cursor }
    }

    pub fn all(items: Vec<T>) -> Self {
        List { items, next_cursor: None }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

pub fn page(cursor: Option<String>, limit: Option<u32>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=Page::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {}", Page::MAX_LIMIT)));
    }
    Ok(Page { after: cursor.filter(|c| !c.is_empty()), limit })
}
