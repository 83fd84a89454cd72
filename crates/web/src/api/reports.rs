//! Service levels, reports, the live dashboard, survey answers and known issues.

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hark_app::reports::{Dashboard, Report, ReportGroup, ReportQuery};
use hark_app::service_levels::{KnownIssueView, ServiceLevelConfig, SlaView};
use hark_domain::known_issues::{KnownIssue, KnownIssueKind};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::List;
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};

#[utoipa::path(get, path = "/api/v1/service-levels", tag = "service levels",
    responses((status = 200, body = ServiceLevelConfig)))]
pub async fn get_service_levels(
    State(state): State<WebState>,
    auth: Authenticated,
) -> ApiResult<JsonOut<ServiceLevelConfig>> {
    Ok(JsonOut(state.app.service_levels(&auth.actor).await?))
}

/// Replaces the SLA policies (rules tried in order, then the default) and
/// the follow-up, survey and alert settings.
#[utoipa::path(put, path = "/api/v1/service-levels", tag = "service levels", request_body = ServiceLevelConfig,
    responses((status = 200, body = ServiceLevelConfig), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody)))]
pub async fn put_service_levels(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<ServiceLevelConfig>,
) -> ApiResult<JsonOut<ServiceLevelConfig>> {
    Ok(JsonOut(state.app.put_service_levels(&auth.actor, body).await?))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/sla", tag = "service levels", params(("id" = String, Path)),
    responses((status = 200, body = SlaView), (status = 404, body = crate::ErrorBody)))]
pub async fn conversation_sla(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<SlaView>> {
    Ok(JsonOut(state.app.conversation_sla(&auth.actor, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First local day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last local day, inclusive (default: today).
    pub to: Option<String>,
    /// IANA time zone (default: the workspace's).
    pub tz: Option<String>,
    /// `day` (default), `hour` (hour of the day) or `none`.
    pub group: Option<String>,
    /// channel, network, team, agent, label, intent or language.
    pub dimension: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

impl ReportParams {
    pub fn query(&self, today: Date) -> Result<ReportQuery, ApiError> {
        let date = |field: &'static str, v: &Option<String>| -> Result<Option<Date>, ApiError> {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<Date>().map_err(|_| ApiError::invalid(field, "must be a date YYYY-MM-DD")))
                .transpose()
        };
        let to = date("to", &self.to)?.unwrap_or(today);
        let from = date("from", &self.from)?.unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(29)));
        let group = match self.group.as_deref().unwrap_or("day") {
            "day" => ReportGroup::Day,
            "hour" => ReportGroup::Hour,
            "none" => ReportGroup::None,
            _ => return Err(ApiError::invalid("group", "must be day, hour or none")),
        };
        Ok(ReportQuery {
            from,
            to,
            time_zone: self.tz.clone().filter(|t| !t.is_empty()),
            group,
            dimension: self.dimension.clone().filter(|d| !d.is_empty()),
        })
    }
}

/// Volumes, response and resolution times (median, p90, buckets), FCR, CSAT,
/// SLA attainment and sentiment over any range, merged from the stored
/// summaries. `format=csv` gives the series (or the breakdown) as CSV.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportParams),
    responses((status = 200, body = Report), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn report(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(params): Query<ReportParams>,
) -> ApiResult<Response> {
    let report = load_report(&state, &auth, &params).await?;
    Ok(match params.format.as_deref() {
        Some("csv") => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"hark-report.csv\""),
            ],
            hark_app::reports::report_csv(&report),
        )
            .into_response(),
        None | Some("json") => JsonOut(report).into_response(),
        Some(_) => return Err(ApiError::invalid("format", "must be json or csv")),
    })
}

/// The report `params` ask for (shared with the reports page).
pub async fn load_report(state: &WebState, auth: &Authenticated, params: &ReportParams) -> ApiResult<Report> {
    let workspace = state
        .app
        .store
        .workspace(auth.actor.workspace_id())
        .await
        .map_err(hark_app::AppError::from)?
        .ok_or(hark_app::AppError::NotFound("workspace"))?;
    let tz_name = params.tz.clone().filter(|t| !t.is_empty()).unwrap_or(workspace.time_zone.clone());
    let tz = hark_domain::business_hours::time_zone(&tz_name).map_err(hark_app::AppError::from)?;
    let today = Timestamp::now().to_zoned(tz).date();
    let query = params.query(today)?;
    Ok(state.app.report(&auth.actor, &query).await?)
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "reports",
    responses((status = 200, body = Dashboard), (status = 403, body = crate::ErrorBody)))]
pub async fn dashboard(State(state): State<WebState>, auth: Authenticated) -> ApiResult<JsonOut<Dashboard>> {
    Ok(JsonOut(state.app.dashboard(&auth.actor).await?))
}

/// A survey answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsatAnswerView {
    pub conversation_id: String,
    pub message_id: String,
    pub channel_id: String,
    pub agent_id: Option<String>,
    pub rating: u8,
    pub comment: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CsatParams {
    /// Answers rated at most this (1–5; default 5).
    pub max_rating: Option<u8>,
    /// Answers of the last this many days (default 30).
    pub days: Option<u32>,
}

/// Survey answers, newest first; `max_rating=2` lists the low ones a supervisor follows up.
#[utoipa::path(get, path = "/api/v1/csat", tag = "reports", params(CsatParams),
    responses((status = 200, body = List<CsatAnswerView>), (status = 403, body = crate::ErrorBody)))]
pub async fn csat(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(params): Query<CsatParams>,
) -> ApiResult<JsonOut<List<CsatAnswerView>>> {
    let max = params.max_rating.unwrap_or(5);
    if !(1..=5).contains(&max) {
        return Err(ApiError::invalid("max_rating", "must be between 1 and 5"));
    }
    let days = params.days.unwrap_or(30).clamp(1, 3 * 366);
    let since = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let answers = state.app.csat_answers(&auth.actor, max, since, 500).await?;
    Ok(JsonOut(List::all(
        answers
            .into_iter()
            .map(|a| CsatAnswerView {
                conversation_id: a.conversation_id,
                message_id: a.message_id,
                channel_id: a.channel_id,
                agent_id: a.agent_id,
                rating: a.rating,
                comment: a.comment,
                at: a.at,
            })
            .collect(),
    )))
}

/// A known issue as a supervisor writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnownIssueInput {
    pub kind: KnownIssueKind,
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub channel_ids: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    pub prepared_reply: Option<String>,
}

impl From<KnownIssueInput> for KnownIssue {
    fn from(i: KnownIssueInput) -> Self {
        KnownIssue {
            id: String::new(),
            workspace_id: String::new(),
            kind: i.kind,
            title: i.title,
            body: i.body,
            keywords: i.keywords,
            channel_ids: i.channel_ids,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            prepared_reply: i.prepared_reply.filter(|r| !r.trim().is_empty()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/known-issues", tag = "known issues",
    responses((status = 200, body = List<KnownIssueView>)))]
pub async fn list_known_issues(
    State(state): State<WebState>,
    auth: Authenticated,
) -> ApiResult<JsonOut<List<KnownIssueView>>> {
    Ok(JsonOut(List::all(state.app.known_issues(&auth.actor).await?)))
}

/// Posts an announcement (outage, price change, launch, campaign): agents
/// see it as a banner while it is active, and new conversations matching its
/// keywords are linked to it.
#[utoipa::path(post, path = "/api/v1/known-issues", tag = "known issues", request_body = KnownIssueInput,
    responses((status = 201, body = KnownIssueView), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn create_known_issue(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<KnownIssueInput>,
) -> ApiResult<(StatusCode, JsonOut<KnownIssueView>)> {
    Ok((StatusCode::CREATED, JsonOut(state.app.put_known_issue(&auth.actor, None, body.into()).await?)))
}

#[utoipa::path(put, path = "/api/v1/known-issues/{id}", tag = "known issues", params(("id" = String, Path)),
    request_body = KnownIssueInput,
    responses((status = 200, body = KnownIssueView), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn replace_known_issue(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<KnownIssueInput>,
) -> ApiResult<JsonOut<KnownIssueView>> {
    Ok(JsonOut(state.app.put_known_issue(&auth.actor, Some(&id), body.into()).await?))
}

#[utoipa::path(delete, path = "/api/v1/known-issues/{id}", tag = "known issues", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
pub async fn delete_known_issue(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_known_issue(&auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many conversations a bulk answer reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAnswer {
    pub sent: u64,
}

/// Sends the issue's prepared reply to every linked conversation that is
/// neither answered with it yet nor resolved.
#[utoipa::path(post, path = "/api/v1/known-issues/{id}/answer", tag = "known issues", params(("id" = String, Path)),
    responses((status = 200, body = BulkAnswer), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
pub async fn answer_known_issue(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<BulkAnswer>> {
    Ok(JsonOut(BulkAnswer { sent: state.app.answer_known_issue(&auth.actor, &id).await? }))
}
