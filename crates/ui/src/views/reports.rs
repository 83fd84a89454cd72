//! Reports, the live dashboard, and the service-level and known-issue
//! settings. Charts are SVG drawn here on the server: bars and lines from
//! the figures, every label escaped text, colours from classes (no inline
//! styles, per the content security policy).

use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use super::layout::{Section, page};

/// The figures of one report cell, as the views show them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub inbound: u64,
    pub outbound: u64,
    pub handled: u64,
    pub unhandled: u64,
    pub resolved: u64,
    pub first_response_median: Option<u64>,
    pub first_response_p90: Option<u64>,
    pub next_response_median: Option<u64>,
    pub resolution_median: Option<u64>,
    pub resolution_p90: Option<u64>,
    pub first_response_buckets: [u64; 6],
    pub resolution_buckets: [u64; 6],
    pub fcr: Option<f64>,
    pub csat: Option<f64>,
    pub csat_answers: u64,
    pub sla: Option<f64>,
    pub sla_targets: u64,
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
}

/// What the reports page shows.
pub struct ReportModel<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub time_zone: &'a str,
    pub group: &'a str,
    pub dimension: &'a str,
    pub totals: Figures,
    pub series: Vec<(String, Figures)>,
    pub breakdown: Vec<(String, Figures)>,
    pub csv_href: String,
    pub rows_merged: u64,
}

const DIMENSIONS: [&str; 7] = ["channel", "network", "team", "agent", "label", "intent", "language"];

/// "4 min", "2 h 5 min", "3 d" from seconds.
pub fn seconds_text(s: Option<u64>) -> String {
    let Some(s) = s else { return "—".into() };
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..172_800 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn percent(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "—".into())
}

pub fn reports_page(ctx: &Ctx<'_>, m: &ReportModel<'_>) -> Markup {
    let t = ctx.t;
    let title = t.t("reports-title");
    page(
        ctx,
        Section::Reports,
        &title,
        "",
        html! {
            div.reports {
                h1 { (title) }
                form.report-filters method="get" action="/reports" {
                    label { span { (t.t("reports-from")) } input type="date" name="from" value=(m.from); }
                    label { span { (t.t("reports-to")) } input type="date" name="to" value=(m.to); }
                    label { span { (t.t("reports-time-zone")) } input name="tz" value=(m.time_zone) size="16"; }
                    label { span { (t.t("reports-group")) }
                        select name="group" {
                            @for g in ["day", "hour", "none"] { (option(g, &t.t(&format!("reports-group-{g}")), Some(m.group))) }
                        }
                    }
                    label { span { (t.t("reports-dimension")) }
                        select name="dimension" {
                            option value="" { "—" }
                            @for d in DIMENSIONS { (option(d, &t.t(&format!("reports-dimension-{d}")), Some(m.dimension))) }
                        }
                    }
                    button type="submit" { (t.t("reports-show")) }
                    a.button href=(m.csv_href) download="hark-report.csv" { (t.t("reports-csv")) }
                }
                (tiles(ctx, &m.totals))
                div.charts {
                    @if !m.series.is_empty() {
                        figure.chart {
                            figcaption { (t.t("reports-chart-volume")) }
                            (grouped_bars(&m.series.iter().map(|(k, f)| (k.clone(), [f.inbound, f.outbound])).collect::<Vec<_>>(),
                                [t.t("reports-inbound"), t.t("reports-outbound")]))
                        }
                        figure.chart {
                            figcaption { (t.t("reports-chart-first-response")) }
                            (bars(&m.series.iter().map(|(k, f)| (k.clone(), f.first_response_median.unwrap_or(0))).collect::<Vec<_>>(), |v| seconds_text(Some(v))))
                        }
                        figure.chart {
                            figcaption { (t.t("reports-chart-sentiment")) }
                            (grouped_bars(&m.series.iter().map(|(k, f)| (k.clone(), [f.negative, f.positive])).collect::<Vec<_>>(),
                                [t.t("reports-negative"), t.t("reports-positive")]))
                        }
                    }
                    figure.chart {
                        figcaption { (t.t("reports-chart-first-response-buckets")) }
                        (bars(&bucket_points(&m.totals.first_response_buckets), |v| v.to_string()))
                    }
                    figure.chart {
                        figcaption { (t.t("reports-chart-resolution-buckets")) }
                        (bars(&bucket_points(&m.totals.resolution_buckets), |v| v.to_string()))
                    }
                }
                @if !m.breakdown.is_empty() {
                    h2 { (t.t(&format!("reports-dimension-{}", m.dimension))) }
                    (table(ctx, &m.breakdown, |v| dimension_value(ctx, m.dimension, v)))
                }
                @if !m.series.is_empty() {
                    h2 { (t.t("reports-series")) }
                    (table(ctx, &m.series, str::to_owned))
                }
                p.muted { (t.t_args("reports-source", &[("rows", (m.rows_merged as i64).into())])) }
            }
        },
    )
}

fn dimension_value(ctx: &Ctx<'_>, dimension: &str, value: &str) -> String {
    match dimension {
        "agent" => ctx.dir.user(value).map(|u| u.name.clone()).unwrap_or_else(|| value.to_owned()),
        "team" => ctx.dir.team(value).map(|u| u.name.clone()).unwrap_or_else(|| value.to_owned()),
        "channel" => ctx.dir.channel(value).map(|c| c.name.clone()).unwrap_or_else(|| value.to_owned()),
        "intent" => intent_name(ctx, value),
        _ => value.to_owned(),
    }
}

fn tiles(ctx: &Ctx<'_>, f: &Figures) -> Markup {
    let t = ctx.t;
    let tile = |label: String, value: String, detail: String| {
        html! { div.tile { span.tile-label { (label) } strong.tile-value { (value) } span.tile-detail { (detail) } } }
    };
    html! {
        div.tiles {
            (tile(t.t("reports-inbound"), f.inbound.to_string(), format!("{} {}", f.outbound, t.t("reports-outbound"))))
            (tile(t.t("reports-handled"), f.handled.to_string(), format!("{} {}", f.unhandled, t.t("reports-unhandled"))))
            (tile(t.t("reports-first-response"), seconds_text(f.first_response_median), format!("p90 {}", seconds_text(f.first_response_p90))))
            (tile(t.t("reports-next-response"), seconds_text(f.next_response_median), String::new()))
            (tile(t.t("reports-resolution"), seconds_text(f.resolution_median), format!("p90 {}", seconds_text(f.resolution_p90))))
            (tile(t.t("reports-fcr"), percent(f.fcr), format!("{} {}", f.resolved, t.t("reports-resolved"))))
            (tile(t.t("reports-csat"), percent(f.csat), format!("{} {}", f.csat_answers, t.t("reports-answers"))))
            (tile(t.t("reports-sla"), percent(f.sla), format!("{} {}", f.sla_targets, t.t("reports-targets"))))
        }
    }
}

fn table(ctx: &Ctx<'_>, rows: &[(String, Figures)], name: impl Fn(&str) -> String) -> Markup {
    let t = ctx.t;
    html! {
        div.table-scroll { table.grid.report-table {
            thead { tr {
                th {} th { (t.t("reports-inbound")) } th { (t.t("reports-outbound")) } th { (t.t("reports-handled")) }
                th { (t.t("reports-first-response")) } th { (t.t("reports-resolution")) } th { (t.t("reports-fcr")) }
                th { (t.t("reports-csat")) } th { (t.t("reports-sla")) } th { (t.t("reports-negative")) }
            } }
            tbody {
                @for (key, f) in rows {
                    tr {
                        th scope="row" dir="auto" { (name(key)) }
                        td { (f.inbound) } td { (f.outbound) } td { (f.handled) }
                        td { (seconds_text(f.first_response_median)) } td { (seconds_text(f.resolution_median)) }
                        td { (percent(f.fcr)) } td { (percent(f.csat)) } td { (percent(f.sla)) } td { (f.negative) }
                    }
                }
            }
        } }
    }
}

fn bucket_points(buckets: &[u64; 6]) -> Vec<(String, u64)> {
    let names = ["<5m", "5–15m", "15–60m", "1–4h", "4–24h", ">24h"];
    names.iter().zip(buckets).map(|(n, v)| ((*n).to_owned(), *v)).collect()
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const PAD_LEFT: f64 = 44.0;
const PAD_BOTTOM: f64 = 28.0;

/// A bar chart of one value per point; `fmt` writes the axis maximum.
fn bars(points: &[(String, u64)], fmt: impl Fn(u64) -> String) -> Markup {
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let n = points.len().max(1) as f64;
    let slot = (W - PAD_LEFT) / n;
    let every = label_step(points.len());
    html! {
        svg.chart-svg viewBox={ "0 0 " (W) " " (H) } role="img" preserveAspectRatio="none" {
            line.axis x1=(PAD_LEFT) y1=(H - PAD_BOTTOM) x2=(W) y2=(H - PAD_BOTTOM) {}
            text.axis-label x="2" y="12" { (fmt(max)) }
            text.axis-label x="2" y=(H - PAD_BOTTOM) { "0" }
            @for (i, (label, value)) in points.iter().enumerate() {
                @let h = (*value as f64 / max as f64) * (H - PAD_BOTTOM - 16.0);
                @let x = PAD_LEFT + i as f64 * slot + slot * 0.15;
                rect.bar x=(fmt2(x)) y=(fmt2(H - PAD_BOTTOM - h)) width=(fmt2(slot * 0.7)) height=(fmt2(h)) {
                    title { (label) ": " (fmt(*value)) }
                }
                @if i % every == 0 {
                    text.tick x=(fmt2(x)) y=(H - 10.0) { (short_label(label)) }
                }
            }
        }
    }
}

/// Two values per point, side by side, with a legend.
fn grouped_bars(points: &[(String, [u64; 2])], names: [String; 2]) -> Markup {
    let max = points.iter().flat_map(|p| p.1).max().unwrap_or(0).max(1);
    let n = points.len().max(1) as f64;
    let slot = (W - PAD_LEFT) / n;
    let every = label_step(points.len());
    html! {
        svg.chart-svg viewBox={ "0 0 " (W) " " (H) } role="img" preserveAspectRatio="none" {
            line.axis x1=(PAD_LEFT) y1=(H - PAD_BOTTOM) x2=(W) y2=(H - PAD_BOTTOM) {}
            text.axis-label x="2" y="12" { (max) }
            text.axis-label x="2" y=(H - PAD_BOTTOM) { "0" }
            rect.bar.series-0 x=(W - 190.0) y="2" width="10" height="10" {}
            text.legend x=(W - 176.0) y="11" { (names[0]) }
            rect.bar.series-1 x=(W - 95.0) y="2" width="10" height="10" {}
            text.legend x=(W - 81.0) y="11" { (names[1]) }
            @for (i, (label, values)) in points.iter().enumerate() {
                @for (j, value) in values.iter().enumerate() {
                    @let h = (*value as f64 / max as f64) * (H - PAD_BOTTOM - 18.0);
                    @let x = PAD_LEFT + i as f64 * slot + slot * (0.1 + 0.4 * j as f64);
                    rect class={ "bar series-" (j) } x=(fmt2(x)) y=(fmt2(H - PAD_BOTTOM - h)) width=(fmt2(slot * 0.38)) height=(fmt2(h)) {
                        title { (label) " · " (names[j]) ": " (value) }
                    }
                }
                @if i % every == 0 {
                    text.tick x=(fmt2(PAD_LEFT + i as f64 * slot)) y=(H - 10.0) { (short_label(label)) }
                }
            }
        }
    }
}

fn fmt2(v: f64) -> String {
    format!("{v:.1}")
}

fn label_step(n: usize) -> usize {
    (n / 10).max(1)
}

/// `2026-03-05` → `03-05`; hours stay as they are.
fn short_label(label: &str) -> &str {
    if label.len() == 10 { &label[5..] } else { label }
}

// --- the live dashboard ------------------------------------------------------

/// One agent's line on the dashboard.
pub struct AgentLine<'a> {
    pub name: &'a str,
    pub availability: Availability,
    pub open: i64,
}

/// What the dashboard shows.
pub struct DashboardModel<'a> {
    pub open: i64,
    pub unassigned: i64,
    pub at_risk: i64,
    pub breached: i64,
    pub waiting: Vec<(&'a str, &'a str, jiff::Timestamp)>,
    pub agents: Vec<AgentLine<'a>>,
    pub today: Figures,
}

pub fn dashboard_page(ctx: &Ctx<'_>, m: &DashboardModel<'_>) -> Markup {
    let t = ctx.t;
    let title = t.t("dashboard-title");
    page(
        ctx,
        Section::Dashboard,
        &title,
        "",
        html! {
            div.dashboard {
                h1 { (title) }
                p.lede { (t.t("dashboard-lede")) }
                div #dashboard-live { (dashboard_body(ctx, m)) }
            }
        },
    )
}

/// The part of the dashboard that refreshes live (/ui/dashboard).
pub fn dashboard_body(ctx: &Ctx<'_>, m: &DashboardModel<'_>) -> Markup {
    let t = ctx.t;
    let count = |label: String, n: i64, href: &str, class: &str| {
        html! { a class={ "tile " (class) } href=(href) { span.tile-label { (label) } strong.tile-value { (n) } } }
    };
    html! {
        div.tiles {
            (count(t.t("view-open"), m.open, "/inbox?view=open", ""))
            (count(t.t("view-unassigned"), m.unassigned, "/inbox?view=unassigned", ""))
            (count(t.t("view-sla-at-risk"), m.at_risk, "/inbox?view=sla_at_risk", if m.at_risk > 0 { "warn" } else { "" }))
            (count(t.t("view-sla-breached"), m.breached, "/inbox?view=sla_breached", if m.breached > 0 { "late" } else { "" }))
        }
        h2 { (t.t("dashboard-today")) }
        (tiles(ctx, &m.today))
        div.dashboard-columns {
            section {
                h2 { (t.t("dashboard-waiting")) }
                @if m.waiting.is_empty() { p.muted { (t.t("dashboard-nobody-waiting")) } }
                ol.waiting-list {
                    @for (id, subject, since) in &m.waiting {
                        li { a href={ "/inbox/c/" (id) } dir="auto" { (subject) } " " (waiting(ctx, *since)) }
                    }
                }
            }
            section {
                h2 { (t.t("dashboard-agents")) }
                table.grid {
                    thead { tr { th { (t.t("dashboard-agent")) } th { (t.t("availability-label")) } th { (t.t("dashboard-load")) } } }
                    tbody {
                        @for a in &m.agents {
                            tr {
                                td { (avatar(a.name, "xs")) " " (a.name) }
                                td { span class={ "availability-" (a.availability.as_str()) } { (t.t(&format!("availability-{}", a.availability.as_str()))) } }
                                td { (a.open) }
                            }
                        }
                    }
                }
            }
        }
    }
}

// --- settings: service levels and known issues ---------------------------------

/// The service-level settings form: policies as JSON (rules in order, then
/// the default), the follow-up, the survey and where alerts go.
pub fn service_levels_form(ctx: &Ctx<'_>, config: &serde_json::Value) -> Markup {
    let t = ctx.t;
    let policies = serde_json::to_string_pretty(&config["policies"]).unwrap_or_default();
    let get = |path: &[&str]| -> serde_json::Value {
        let mut v = config;
        for p in path {
            v = &v[*p];
        }
        v.clone()
    };
    let text = |path: &[&str]| get(path).as_str().map(str::to_owned).unwrap_or_else(|| get(path).to_string());
    let on = |path: &[&str]| get(path).as_bool().unwrap_or(false);
    let emails: Vec<String> = get(&["alerts", "email_to"])
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    html! {
        form.card.service-levels data-api="PUT /api/v1/service-levels" {
            fieldset { legend { (t.t("sla-policies")) }
                p.muted { (t.t("sla-policies-hint")) }
                textarea name="policies" data-type="json" rows="14" spellcheck="false" { (policies) }
            }
            fieldset { legend { (t.t("sla-follow-up")) }
                label.check { input type="checkbox" name="follow_up.enabled" checked[on(&["follow_up", "enabled"])]; span { (t.t("sla-enabled")) } }
                label { span { (t.t("sla-follow-up-after")) } input type="number" min="1" max="720" name="follow_up.after_hours" data-type="number" value=(text(&["follow_up", "after_hours"])); }
                label { span { (t.t("sla-follow-up-window")) } input type="number" min="1" max="720" name="follow_up.window_hours" data-type="number" value=(text(&["follow_up", "window_hours"])); }
                label { span { (t.t("sla-follow-up-text")) } textarea name="follow_up.text" rows="2" { (text(&["follow_up", "text"])) } }
            }
            fieldset { legend { (t.t("sla-csat")) }
                label.check { input type="checkbox" name="csat.enabled" checked[on(&["csat", "enabled"])]; span { (t.t("sla-enabled")) } }
                label { span { (t.t("sla-csat-delay")) } input type="number" min="0" name="csat.delay_seconds" data-type="number" value=(text(&["csat", "delay_seconds"])); }
                label { span { (t.t("sla-csat-window")) } input type="number" min="1" max="720" name="csat.answer_hours" data-type="number" value=(text(&["csat", "answer_hours"])); }
            }
            fieldset { legend { (t.t("sla-alerts")) }
                label.check { input type="checkbox" name="alerts.surges" checked[on(&["alerts", "surges"])]; span { (t.t("sla-alerts-surges")) } }
                label { span { (t.t("sla-alerts-slack")) } input type="url" name="alerts.slack_webhook_url" value=(text(&["alerts", "slack_webhook_url"])) placeholder="https://hooks.slack.com/services/…"; }
                label { span { (t.t("sla-alerts-email")) } input name="alerts.email_to" data-type="csv" value=(emails.join(", ")); }
            }
            div.row-actions { button type="submit" { (t.t("save")) } }
        }
    }
}

/// A known issue as the settings list shows it.
pub struct KnownIssueLine<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub keywords: String,
    pub starts_at: jiff::Timestamp,
    pub ends_at: Option<jiff::Timestamp>,
    pub has_reply: bool,
    pub conversations: u64,
    pub answered: u64,
}

pub fn known_issues_list(ctx: &Ctx<'_>, issues: &[KnownIssueLine<'_>]) -> Markup {
    let t = ctx.t;
    html! {
        table.grid.known-issues {
            thead { tr {
                th { (t.t("known-issue-title")) } th { (t.t("known-issue-keywords")) } th { (t.t("known-issue-window")) }
                th { (t.t("known-issue-volume")) } th {}
            } }
            tbody {
                @for k in issues {
                    tr data-id=(k.id) {
                        td { strong dir="auto" { (k.title) } " " span.badge { (t.t(&format!("known-issue-kind-{}", k.kind.replace('_', "-")))) } p.muted dir="auto" { (k.body) } }
                        td dir="auto" { (k.keywords) }
                        td { (time(k.starts_at, "absolute")) " – " @if let Some(end) = k.ends_at { (time(end, "absolute")) } }
                        td { (t.t_args("known-issue-linked", &[("count", (k.conversations as i64).into()), ("answered", (k.answered as i64).into())])) }
                        td.row-actions {
                            @if k.has_reply {
                                button.small type="button" data-api="POST /api/v1/known-issues/{id}/answer" data-id=(k.id) { (t.t("known-issue-answer")) }
                            }
                            button.small.danger type="button" data-api="DELETE /api/v1/known-issues/{id}" data-id=(k.id) data-confirm=(t.t("known-issue-delete-confirm")) { (t.t("delete")) }
                        }
                    }
                }
            }
        }
        details.create open[issues.is_empty()] {
            summary.button { (t.t("known-issue-add")) }
            form.card data-api="POST /api/v1/known-issues" {
                label { span { (t.t("known-issue-kind")) }
                    select name="kind" { @for k in ["outage", "price_change", "launch", "campaign", "other"] { option value=(k) { (t.t(&format!("known-issue-kind-{}", k.replace('_', "-")))) } } }
                }
                label { span { (t.t("known-issue-title")) } input name="title" required maxlength="200"; }
                label { span { (t.t("known-issue-body")) } textarea name="body" rows="2" {} }
                label { span { (t.t("known-issue-keywords")) } input name="keywords" data-type="csv" required placeholder="login, outage, сбо*"; }
                label { span { (t.t("known-issue-starts")) } input name="starts_at" required value=(ctx.now.to_string()); }
                label { span { (t.t("known-issue-ends")) } input name="ends_at" data-null-if-empty placeholder="2026-12-31T18:00:00Z"; }
                label { span { (t.t("known-issue-reply")) } textarea name="prepared_reply" rows="2" data-null-if-empty {} }
                div.row-actions { button type="submit" { (t.t("known-issue-add")) } }
            }
        }
    }
}
