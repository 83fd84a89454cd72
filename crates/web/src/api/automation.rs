//! Automation: rules and their log on each conversation, assignment
//! profiles and round-robin, publish policies, the approval queue,
//! corrections of what Hark read, and the reply-similarity nudge.

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{
    AgentProfileInput, CorrectionInput, PendingReply, ReplySimilarityReport, ReviewInput, RuleInput, RulePatch,
};
use hark_domain::assignment::AgentProfile;
use hark_domain::permissions::PublishPolicy;
use hark_domain::rules::{Correction, Rule, RuleRun};
use hark_domain::{Message, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::List;
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{Json, Query};

/// The workspace's rules in the order they run.
#[utoipa::path(get, path = "/api/v1/rules", tag = "automation", responses((status = 200, body = List<Rule>)))]
pub async fn list_rules(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<Rule>>> {
    Ok(JsonOut(List::all(state.app.rules(&auth.actor).await?)))
}

/// Creates a rule: `trigger`, `conditions` (`mode` all/any, `items` of
/// `field`/`op`/`value`), `actions`, `stop`, `reply_to_negative`.
#[utoipa::path(post, path = "/api/v1/rules", tag = "automation", request_body = RuleInput,
    responses((status = 201, body = Rule), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn create_rule(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<RuleInput>,
) -> ApiResult<(StatusCode, JsonOut<Rule>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.create_rule(&auth.actor, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Rule), (status = 404, body = crate::ErrorBody)))]
pub async fn get_rule(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Rule>> {
    Ok(JsonOut(state.app.rule(&auth.actor, &id).await?))
}

/// Renames, enables or disables, moves or redefines a rule.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    request_body = RulePatch,
    responses((status = 200, body = Rule), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn update_rule(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<RulePatch>,
) -> ApiResult<JsonOut<Rule>> {
    Ok(JsonOut(state.app.update_rule(&auth.actor, &id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
pub async fn delete_rule(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_rule(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOrder {
    /// Every rule of the workspace, once, in the order they should run.
    pub rule_ids: Vec<String>,
}

/// Puts the rules in a new order.
#[utoipa::path(put, path = "/api/v1/rules/order", tag = "automation", request_body = RuleOrder,
    responses((status = 200, body = List<Rule>), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn order_rules(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<RuleOrder>,
) -> ApiResult<JsonOut<List<Rule>>> {
    Ok(JsonOut(List::all(state.app.order_rules(&auth.actor, &body.rule_ids).await?)))
}

/// Every rule that ran on the conversation and what each action did ("why did this happen?").
#[utoipa::path(get, path = "/api/v1/conversations/{id}/rule-runs", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = List<RuleRun>), (status = 404, body = crate::ErrorBody)))]
pub async fn rule_runs(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<List<RuleRun>>> {
    Ok(JsonOut(List::all(state.app.rule_log(&auth.actor, &id).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    /// The draft public reply.
    pub text: String,
}

/// How close a draft public reply is to the brand's recent public replies.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/similar-replies", tag = "automation",
    params(("id" = String, Path), SimilarQuery),
    responses((status = 200, body = ReplySimilarityReport), (status = 404, body = crate::ErrorBody)))]
pub async fn similar_replies(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<SimilarQuery>,
) -> ApiResult<JsonOut<ReplySimilarityReport>> {
    Ok(JsonOut(state.app.reply_similarity(&auth.actor, &id, &q.text).await?))
}

/// Replies waiting for approval, oldest first.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "automation",
    responses((status = 200, body = List<PendingReply>), (status = 403, body = crate::ErrorBody)))]
pub async fn approvals(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<List<PendingReply>>> {
    Ok(JsonOut(List::all(state.app.approval_queue(&auth.actor).await?)))
}

/// Approves a waiting reply (with `text` when the reviewer edited it) or
/// rejects it with a `comment` the writer is told.
#[utoipa::path(post, path = "/api/v1/messages/{id}/review", tag = "automation", params(("id" = String, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = Message), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 409, body = crate::ErrorBody)))]
pub async fn review(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ReviewInput>,
) -> ApiResult<JsonOut<Message>> {
    Ok(JsonOut(state.app.review_reply(&auth.actor, &id, body).await?))
}

/// Corrects the sentiment and/or intent Hark read in a customer's message.
#[utoipa::path(post, path = "/api/v1/messages/{id}/correction", tag = "automation", params(("id" = String, Path)),
    request_body = CorrectionInput,
    responses((status = 200, body = Message), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn correct(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<CorrectionInput>,
) -> ApiResult<JsonOut<Message>> {
    Ok(JsonOut(state.app.correct_reading(&auth.actor, &id, body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CorrectionsQuery {
    /// `sentiment` or `intent`.
    pub field: String,
}

/// The workspace's corrections, for retraining (`hark nlp corrections export` prints them as CSV).
#[utoipa::path(get, path = "/api/v1/corrections", tag = "automation", params(CorrectionsQuery),
    responses((status = 200, body = List<Correction>), (status = 403, body = crate::ErrorBody)))]
pub async fn corrections(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<CorrectionsQuery>,
) -> ApiResult<JsonOut<List<Correction>>> {
    Ok(JsonOut(List::all(state.app.corrections(&auth.actor, &q.field).await?)))
}

/// What assignment knows of each person (languages, capacity).
#[utoipa::path(get, path = "/api/v1/agent-profiles", tag = "automation", responses((status = 200, body = List<AgentProfile>)))]
pub async fn agent_profiles(
    State(state): State<WebState>,
    auth: Authenticated,
) -> ApiResult<JsonOut<List<AgentProfile>>> {
    Ok(JsonOut(List::all(state.app.agent_profiles(&auth.actor).await?)))
}

/// Sets the languages a person reads and how many open conversations they take.
#[utoipa::path(put, path = "/api/v1/users/{id}/assignment", tag = "automation", params(("id" = String, Path)),
    request_body = AgentProfileInput,
    responses((status = 200, body = AgentProfile), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn put_agent_profile(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<AgentProfileInput>,
) -> ApiResult<JsonOut<AgentProfile>> {
    Ok(JsonOut(state.app.put_agent_profile(&auth.actor, &id, body).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundRobinRequest {
    pub team_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundRobinAnswer {
    /// Who got it; absent when nobody in the team is online with room.
    pub assignee: Option<User>,
}

/// Gives the conversation to the team's next available agent.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/round-robin", tag = "automation", params(("id" = String, Path)),
    request_body = RoundRobinRequest,
    responses((status = 200, body = RoundRobinAnswer), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
pub async fn round_robin(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<RoundRobinRequest>,
) -> ApiResult<JsonOut<RoundRobinAnswer>> {
    let assignee = state.app.assign_round_robin(&auth.actor, &id, &body.team_id).await?;
    Ok(JsonOut(RoundRobinAnswer { assignee }))
}

/// Which roles publish from a channel without approval.
#[utoipa::path(get, path = "/api/v1/channels/{id}/publish-policy", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = PublishPolicy), (status = 404, body = crate::ErrorBody)))]
pub async fn publish_policy(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<PublishPolicy>> {
    Ok(JsonOut(state.app.publish_policy(&auth.actor, &id).await?))
}

/// Sets which roles publish from a channel; replies by other roles wait for approval.
#[utoipa::path(put, path = "/api/v1/channels/{id}/publish-policy", tag = "automation", params(("id" = String, Path)),
    request_body = PublishPolicy,
    responses((status = 200, body = PublishPolicy), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn put_publish_policy(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<PublishPolicy>,
) -> ApiResult<JsonOut<PublishPolicy>> {
    Ok(JsonOut(state.app.put_publish_policy(&auth.actor, &id, body).await?))
}
