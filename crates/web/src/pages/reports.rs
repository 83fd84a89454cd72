//! The reports page, the live dashboard and its live fragment.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hark_app::reports::{Dashboard, Report, ReportFigures, ReportGroup};
use hark_ui::views::reports::{AgentLine, DashboardModel, Figures, ReportModel};
use hark_ui::{Ctx, Strings};

use super::{DirectoryData, ForViewer, PageResult, Viewer, html};
use crate::WebState;
use crate::api::reports::ReportParams;
use crate::auth::Authenticated;

fn ctx<'a>(viewer: &'a Viewer, dir: &'a DirectoryData, directory: &'a hark_ui::Directory<'a>) -> Ctx<'a> {
    Ctx {
        t: Strings::get(&viewer.actor.user.locale),
        me: &viewer.actor.user,
        csrf: &viewer.csrf,
        workspace_name: &dir.workspace_name,
        now: jiff::Timestamp::now(),
        unread_notifications: dir.unread,
        dir: directory,
    }
}

/// The report figures as the views show them.
pub fn figures(f: &ReportFigures) -> Figures {
    Figures {
        inbound: f.inbound,
        outbound: f.outbound,
        handled: f.handled,
        unhandled: f.unhandled,
        resolved: f.resolved,
        first_response_median: f.first_response.median_seconds,
        first_response_p90: f.first_response.p90_seconds,
        next_response_median: f.next_response.median_seconds,
        resolution_median: f.resolution.median_seconds,
        resolution_p90: f.resolution.p90_seconds,
        first_response_buckets: f.first_response.buckets,
        resolution_buckets: f.resolution.buckets,
        fcr: f.fcr.ratio,
        csat: f.csat.ratio,
        csat_answers: f.csat.whole,
        sla: f.sla.ratio,
        sla_targets: f.sla.whole,
        negative: f.negative,
        neutral: f.neutral,
        positive: f.positive,
    }
}

/// Form fields arrive as strings; an empty one means "not chosen".
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReportForm {
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
    group: Option<String>,
    dimension: Option<String>,
}

pub async fn reports(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(form): Query<ReportForm>,
) -> PageResult<Response> {
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    let params = ReportParams {
        from: form.from.clone(),
        to: form.to.clone(),
        tz: form.tz.clone(),
        group: form.group.clone().filter(|g| !g.is_empty()),
        dimension: form.dimension.clone(),
        format: None,
    };
    let auth = Authenticated { actor: viewer.actor.clone(), session_token: None, csrf_token: None };
    let report: Report = match crate::api::reports::load_report(&state, &auth, &params).await {
        Ok(r) => r,
        Err(e) => return Ok(e.into_response()),
    };
    let from = report.from.to_string();
    let to = report.to.to_string();
    let group = match report.group {
        ReportGroup::Day => "day",
        ReportGroup::Hour => "hour",
        ReportGroup::None => "none",
    };
    let dimension = report.dimension.clone().unwrap_or_default();
    let mut csv = format!("/api/v1/reports?format=csv&from={from}&to={to}&group={group}");
    for (key, value) in [("tz", &report.time_zone), ("dimension", &dimension)] {
        if !value.is_empty() {
            csv.push_str(&format!("&{key}={}", hark_ui::views::inbox::encode(value)));
        }
    }
    let model = ReportModel {
        from: &from,
        to: &to,
        time_zone: &report.time_zone,
        group,
        dimension: &dimension,
        totals: figures(&report.totals),
        series: report.series.iter().map(|p| (p.key.clone(), figures(&p.figures))).collect(),
        breakdown: report.breakdown.iter().map(|b| (b.value.clone(), figures(&b.figures))).collect(),
        csv_href: csv,
        rows_merged: report.rows_merged,
    };
    Ok(html(hark_ui::views::reports::reports_page(&ctx, &model)))
}

fn dashboard_model(d: &Dashboard) -> DashboardModel<'_> {
    DashboardModel {
        open: d.open,
        unassigned: d.unassigned,
        at_risk: d.at_risk,
        breached: d.breached,
        waiting: d.waiting_longest.iter().map(|w| (w.conversation_id.as_str(), w.subject.as_str(), w.since)).collect(),
        agents: d
            .agents
            .iter()
            .map(|a| AgentLine { name: &a.name, availability: a.availability, open: a.open })
            .collect(),
        today: figures(&d.today),
    }
}

pub async fn dashboard(State(state): State<WebState>, viewer: Viewer) -> PageResult<Response> {
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    let data = state.app.dashboard(&viewer.actor).await.page(&viewer)?;
    Ok(html(hark_ui::views::reports::dashboard_page(&ctx, &dashboard_model(&data))))
}

/// The live part of the dashboard, fetched by levels.js when events arrive.
pub async fn dashboard_fragment(State(state): State<WebState>, viewer: Viewer) -> PageResult<Response> {
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    let data = state.app.dashboard(&viewer.actor).await.page(&viewer)?;
    Ok(html(hark_ui::views::reports::dashboard_body(&ctx, &dashboard_model(&data))))
}
