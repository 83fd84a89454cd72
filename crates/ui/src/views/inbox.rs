//! The inbox: views down the side, the conversations of the chosen view in
//! the middle, and the open conversation beside them.

use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use super::conversation::{self, ConversationPane};
use super::layout::{Section, page};
use crate::text::clip;

/// One entry of the views navigation.
pub struct NavItem {
    /// The `view` parameter (`mine`, `team:…`, `saved:…`).
    pub key: String,
    pub label: String,
    /// Matching conversations, counted up to a cap.
    pub count: Option<i64>,
    pub capped: bool,
}

pub struct NavGroup {
    pub title: String,
    pub items: Vec<NavItem>,
}

/// The list being shown.
pub struct ListState<'a> {
    pub view_key: &'a str,
    pub title: &'a str,
    /// Filters on top of the view's own, as chosen in the filter bar.
    pub filters: &'a ViewFilters,
    /// `activity` or `waiting`.
    pub sort: &'a str,
    pub search: &'a str,
    pub next_cursor: Option<String>,
    /// Whether the view is a saved one the viewer may change.
    pub saved_view_id: Option<&'a str>,
}

impl ListState<'_> {
    /// The query string that reproduces this list (without a cursor).
    pub fn query(&self) -> String {
        let mut q = vec![("view", self.view_key.to_owned())];
        if !self.search.is_empty() {
            q.push(("q", self.search.to_owned()));
        }
        if self.sort != "activity" {
            q.push(("sort", self.sort.to_owned()));
        }
        let f = self.filters;
        if !f.statuses.is_empty() {
            q.push(("status", f.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")));
        }
        let mut push = |k: &'static str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push((k, v));
            }
        };
        push("kind", f.kind.map(|k| k.as_str().to_owned()));
        push("network", f.network.map(|n| n.as_str().to_owned()));
        push("channel", f.channel_id.clone());
        push("assignee", f.assignee.clone());
        push("team", f.team_id.clone());
        push("label", f.label.clone());
        push("language", f.language.clone());
        push("sentiment", f.sentiment.map(|s| s.as_str().to_owned()));
        push("intent", f.intent.clone());
        push("priority", f.priority.map(|p| p.as_str().to_owned()));
        push("since", f.since.map(|s| s.to_string()));
        push("until", f.until.map(|s| s.to_string()));
        if f.needs_reply {
            q.push(("needs_reply", "true".into()));
        }
        q.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
    }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A conversation in the list, with its customer.
pub struct Row<'a> {
    pub conversation: &'a Conversation,
    pub contact: Option<&'a Contact>,
    /// The next SLA deadline (the row's countdown) and whether a target is breached.
    pub sla: Option<(Option<jiff::Timestamp>, bool)>,
}

/// The whole inbox page.
pub fn inbox_page(
    ctx: &Ctx<'_>,
    nav: &[NavGroup],
    list: &ListState<'_>,
    rows: &[Row<'_>],
    open: Option<&ConversationPane<'_>>,
) -> Markup {
    let title = match open {
        Some(pane) => pane.contact.display_name.clone(),
        None => list.title.to_owned(),
    };
    page(
        ctx,
        Section::Inbox,
        &title,
        list.search,
        html! {
            div.inbox data-view=(list.view_key) {
                (navigation(ctx, nav, list.view_key))
                (list_section(ctx, list, rows, open.map(|p| p.conversation.id.as_str())))
                section.pane aria-label=(ctx.t.t("pane-label")) {
                    @match open {
                        Some(pane) => (conversation::pane(ctx, pane)),
                        None => (empty_pane(ctx)),
                    }
                }
            }
        },
    )
}

fn navigation(ctx: &Ctx<'_>, groups: &[NavGroup], current: &str) -> Markup {
    html! {
        nav.views aria-label=(ctx.t.t("views-label")) {
            @for group in groups {
                @if !group.items.is_empty() {
                    h3 { (group.title) }
                    ul {
                        @for item in &group.items {
                            li {
                                a href={ "/inbox?view=" (encode(&item.key)) } data-view=(item.key)
                                    aria-current=[(item.key == current).then_some("page")] {
                                    span.view-name { (item.label) }
                                    @if let Some(n) = item.count {
                                        span.view-count { (n) @if item.capped { "+" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The list column: its header, filters, bulk actions and rows. Also sent
/// alone when a script switches views.
pub fn list_section(ctx: &Ctx<'_>, list: &ListState<'_>, rows: &[Row<'_>], open_id: Option<&str>) -> Markup {
    let t = ctx.t;
    let query = list.query();
    html! {
        section.list aria-label=(list.title) data-view=(list.view_key) data-query=(query) data-sort=(list.sort) {
            div.list-head {
                label.select-all { input type="checkbox" aria-label=(t.t("select-all")); }
                h2 { (list.title) }
                @if !list.search.is_empty() {
                    span.search-term { "“" (list.search) "”" }
                }
                form.sort method="get" action="/inbox" {
                    input type="hidden" name="view" value=(list.view_key);
                    @if !list.search.is_empty() { input type="hidden" name="q" value=(list.search); }
                    select name="sort" aria-label=(t.t("sort-label")) {
                        (option("activity", &t.t("sort-activity"), Some(list.sort)))
                        (option("waiting", &t.t("sort-waiting"), Some(list.sort)))
                    }
                }
                button.icon.filters-toggle type="button" aria-expanded="false" aria-controls="filters" title=(t.t("filters-label")) { "⚲" }
            }
            (filter_bar(ctx, list))
            (bulk_bar(ctx))
            @if rows.is_empty() {
                div.empty-list {
                    p { (t.t("list-empty")) }
                }
            }
            ol.rows data-next=[list.next_cursor.as_deref()] {
                @for row in rows {
                    (row_item(ctx, row, &query, open_id == Some(row.conversation.id.as_str())))
                }
            }
            @if let Some(cursor) = &list.next_cursor {
                a.more href={ "/inbox?" (query) "&cursor=" (encode(cursor)) } data-cursor=(cursor) { (t.t("list-more")) }
            }
        }
    }
}

fn filter_bar(ctx: &Ctx<'_>, list: &ListState<'_>) -> Markup {
    let t = ctx.t;
    let f = list.filters;
    let status = f.statuses.first().map(|s| s.as_str());
    html! {
        form #filters .filters method="get" action="/inbox" hidden {
            input type="hidden" name="view" value=(list.view_key);
            @if !list.search.is_empty() { input type="hidden" name="q" value=(list.search); }
            input type="hidden" name="sort" value=(list.sort);
            label { (t.t("filter-status"))
                select name="status" {
                    option value="" { (t.t("filter-any")) }
                    @for s in ConversationStatus::ALL { (option(s.as_str(), &t.t(&format!("status-{}", s.as_str())), status)) }
                }
            }
            label { (t.t("filter-kind"))
                select name="kind" {
                    option value="" { (t.t("filter-any")) }
                    @for k in ConversationKind::ALL { (option(k.as_str(), &t.t(&format!("kind-{}", k.as_str())), f.kind.map(|k| k.as_str()))) }
                }
            }
            label { (t.t("filter-network"))
                select name="network" {
                    option value="" { (t.t("filter-any")) }
                    @for n in Network::ALL { (option(n.as_str(), network_names(*n).1, f.network.map(|n| n.as_str()))) }
                }
            }
            label { (t.t("filter-channel"))
                select name="channel" {
                    option value="" { (t.t("filter-any")) }
                    @for c in ctx.dir.channels { (option(&c.id, &c.name, f.channel_id.as_deref())) }
                }
            }
            label { (t.t("filter-assignee"))
                select name="assignee" {
                    option value="" { (t.t("filter-any")) }
                    (option("me", &t.t("filter-me"), f.assignee.as_deref()))
                    (option("none", &t.t("filter-nobody"), f.assignee.as_deref()))
                    @for u in ctx.dir.assignable() { (option(&u.id, &u.name, f.assignee.as_deref())) }
                }
            }
            label { (t.t("filter-team"))
                select name="team" {
                    option value="" { (t.t("filter-any")) }
                    @for team in ctx.dir.teams { (option(&team.id, &team.name, f.team_id.as_deref())) }
                }
            }
            label { (t.t("filter-label"))
                select name="label" {
                    option value="" { (t.t("filter-any")) }
                    @for l in ctx.dir.labels { (option(&l.name, &l.name, f.label.as_deref())) }
                }
            }
            label { (t.t("filter-language"))
                select name="language" {
                    option value="" { (t.t("filter-any")) }
                    @for code in ["en", "ru", "uk", "zh", "el", "es", "pt", "fr", "de", "it", "ar", "tr"] {
                        (option(code, &language_name(ctx, code), f.language.as_deref()))
                    }
                }
            }
            label { (t.t("filter-sentiment"))
                select name="sentiment" {
                    option value="" { (t.t("filter-any")) }
                    @for s in Sentiment::ALL { (option(s.as_str(), &t.t(&format!("sentiment-{}", s.as_str())), f.sentiment.map(|s| s.as_str()))) }
                }
            }
            label { (t.t("filter-intent"))
                select name="intent" {
                    option value="" { (t.t("filter-any")) }
                    @for i in INTENTS { (option(i, &intent_name(ctx, i), f.intent.as_deref())) }
                }
            }
            label { (t.t("filter-priority"))
                select name="priority" {
                    option value="" { (t.t("filter-any")) }
                    @for p in Priority::ALL { (option(p.as_str(), &t.t(&format!("priority-{}", p.as_str())), f.priority.map(|p| p.as_str()))) }
                }
            }
            label { (t.t("filter-since"))
                input type="date" name="since" value=[f.since.map(|s| s.strftime("%Y-%m-%d").to_string())];
            }
            label { (t.t("filter-until"))
                input type="date" name="until" value=[f.until.map(|s| s.strftime("%Y-%m-%d").to_string())];
            }
            label.check { input type="checkbox" name="needs_reply" value="true" checked[f.needs_reply]; (t.t("filter-needs-reply")) }
            div.filter-actions {
                button.primary type="submit" { (t.t("filter-apply")) }
                a.button href={ "/inbox?view=" (encode(list.view_key)) } { (t.t("filter-clear")) }
                button type="button" data-action="save-view" data-view-id=[list.saved_view_id] { (t.t("view-save")) }
                @if ctx.may(Action::ManageSharedViews) {
                    label.check { input type="checkbox" name="shared" value="true" form="none"; (t.t("view-shared")) }
                }
            }
        }
    }
}

/// The intents Hark recognises, in the order they are offered.
pub const INTENTS: &[&str] = &[
    "question",
    "complaint",
    "order_delivery",
    "billing_refund",
    "account_access",
    "technical_issue",
    "praise",
    "feedback",
    "sales_lead",
    "spam",
    "other",
];

fn bulk_bar(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    html! {
        div.bulk hidden role="toolbar" aria-label=(t.t("bulk-label")) {
            span.bulk-count {}
            @if ctx.may(Action::AssignConversation) {
                select name="assignee" data-bulk="assign" aria-label=(t.t("bulk-assign")) {
                    option value="" { (t.t("bulk-assign")) "…" }
                    option value="none" { (t.t("filter-nobody")) }
                    @for u in ctx.dir.assignable() { option value=(u.id) { (u.name) } }
                }
            }
            @if ctx.may(Action::LabelConversation) {
                select name="label" data-bulk="label" aria-label=(t.t("bulk-label-add")) {
                    option value="" { (t.t("bulk-label-add")) "…" }
                    @for l in ctx.dir.labels { option value=(l.name) { (l.name) } }
                }
            }
            @if ctx.may(Action::UpdateConversation) {
                button type="button" data-bulk="resolve" { (t.t("bulk-resolve")) }
                button type="button" data-bulk="no-reply" title=(t.t("bulk-no-reply-title")) { (t.t("bulk-no-reply")) }
            }
            button.link type="button" data-bulk="clear" { (t.t("bulk-clear")) }
        }
    }
}

/// One conversation in the list. Also sent alone when it changes live.
pub fn row_item(ctx: &Ctx<'_>, row: &Row<'_>, query: &str, active: bool) -> Markup {
    let c = row.conversation;
    let t = ctx.t;
    let channel = ctx.dir.channel(&c.channel_id);
    let network = channel.map(|ch| ch.network).unwrap_or(Network::Api);
    let name_owned = contact_name(ctx, row.contact);
    let name = name_owned.as_str();
    let handle = row
        .contact
        .and_then(|ct| ct.identities.iter().find(|i| i.network == network).or(ct.identities.first()))
        .map(|i| i.handle.as_str())
        .filter(|h| !h.is_empty() && *h != name);
    let assignee = c.assignee_id.as_deref().and_then(|id| ctx.dir.user(id));
    let href = format!("/inbox/c/{}?{}", c.id, query);
    let waiting_class = if c.timeline.awaiting_reply_since.is_some() { "needs-reply" } else { "" };
    html! {
        li class={ "row " (waiting_class) @if active { " active" } } data-id=(c.id)
            data-activity=(c.timeline.last_activity_at.as_millisecond()) data-status=(c.status.as_str()) {
            input.pick type="checkbox" aria-label=(t.t_args("row-select", &[("name", name.into())]));
            a.row-link href=(href) {
                (network_mark(network))
                div.row-main {
                    div.row-top {
                        span.who dir="auto" { (clip(name, 40)) }
                        @if let Some(h) = handle { span.handle dir="auto" { (clip(h, 30)) } }
                        span.when { (time(c.timeline.last_activity_at, "relative")) }
                    }
                    div.snippet dir="auto" { (c.last_message_preview) }
                    div.row-meta {
                        (kind_badge(ctx, c.kind))
                        @if c.status != ConversationStatus::Open { (status_badge(ctx, c.status)) }
                        (priority_badge(ctx, c.priority))
                        (sentiment_badge(ctx, c.sentiment))
                        (intent_badge(ctx, c.intent.as_deref()))
                        @for l in &c.labels { (label_chip(ctx, l)) }
                        @if let Some(since) = c.timeline.awaiting_reply_since { (waiting(ctx, since)) }
                        @match row.sla {
                            Some((_, true)) => span.sla-badge.late { (t.t("sla-breached-badge")) },
                            Some((Some(due), false)) => span.sla-badge data-sla-due=(due.to_string()) { (time(due, "relative")) },
                            _ => {},
                        }
                        span.assignee {
                            @match assignee {
                                Some(u) => { (avatar(&u.name, "xs")) span.assignee-name { (u.name) } },
                                None => span.unassigned { (t.t("row-unassigned")) },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn empty_pane(ctx: &Ctx<'_>) -> Markup {
    html! {
        div.empty-pane {
            p.big { (ctx.t.t("pane-empty")) }
            p { (ctx.t.t("pane-empty-hint")) }
        }
    }
}
