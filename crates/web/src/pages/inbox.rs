//! The inbox page, an open conversation, and the fragments the inbox's
//! scripts fetch when events say something changed.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use hark_app::{Actor, AppError};
use hark_domain::*;
use hark_store::{AssigneeFilter, ConversationFilter, ConversationSort, Cursor, Page};
use hark_ui::views::conversation::{ConversationPane, ReplyChoice};
use hark_ui::views::inbox::{ListState, NavGroup, NavItem, Row};
use hark_ui::{Ctx, Strings};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::{DirectoryData, ForViewer, PageResult, Viewer, html};
use crate::WebState;

/// Conversations shown per page of the list.
const PAGE_SIZE: u32 = 50;
/// Counts in the navigation stop here ("999+").
const COUNT_CAP: u32 = 999;
/// Messages shown when a conversation opens (older ones on request).
const THREAD_SIZE: u32 = 100;
/// Search hits considered for one list.
const SEARCH_LIMIT: usize = 500;

/// The inbox's query string. Unknown parameters are ignored and a value
/// that does not parse is left out, so a hand-edited address still opens.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct InboxQuery {
    pub view: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub network: Option<String>,
    pub channel: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub label: Option<String>,
    pub language: Option<String>,
    pub sentiment: Option<String>,
    pub intent: Option<String>,
    pub priority: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub needs_reply: Option<String>,
    /// Only for /ui/rows: the conversations to render.
    pub ids: Option<String>,
    /// Only for /ui/counts: the views to count.
    pub keys: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A view's title and its own filters.
struct ViewDef {
    title: String,
    filters: ViewFilters,
    saved_id: Option<String>,
}

const OPENISH: [ConversationStatus; 2] = [ConversationStatus::Open, ConversationStatus::Pending];

async fn view_def(state: &WebState, viewer: &Viewer, t: &Strings, dir: &DirectoryData, key: &str) -> ViewDef {
    let base = |title: String, filters: ViewFilters| ViewDef { title, filters, saved_id: None };
    let statuses = |s: &[ConversationStatus]| s.to_vec();
    match key.split_once(':') {
        Some(("team", id)) => base(
            dir.teams.iter().find(|tm| tm.id == id).map(|tm| tm.name.clone()).unwrap_or_else(|| id.to_owned()),
            ViewFilters { team_id: Some(id.to_owned()), statuses: statuses(&OPENISH), ..Default::default() },
        ),
        Some(("channel", id)) => base(
            dir.channels.iter().find(|c| c.id == id).map(|c| c.name.clone()).unwrap_or_else(|| id.to_owned()),
            ViewFilters { channel_id: Some(id.to_owned()), statuses: statuses(&OPENISH), ..Default::default() },
        ),
        Some(("label", name)) => base(
            name.to_owned(),
            ViewFilters { label: Some(name.to_owned()), statuses: statuses(&OPENISH), ..Default::default() },
        ),
        Some(("intent", intent)) => base(
            intent_title(t, intent),
            ViewFilters { intent: Some(intent.to_owned()), statuses: statuses(&OPENISH), ..Default::default() },
        ),
        Some(("saved", id)) => match state.app.saved_view(&viewer.actor, id).await {
            Ok(v) => ViewDef { title: v.name, filters: v.filters, saved_id: Some(v.id) },
            Err(_) => base(t.t("view-all"), ViewFilters::default()),
        },
        _ => {
            let (title, filters) = builtin(t, key);
            base(title, filters)
        }
    }
}

fn intent_title(t: &Strings, intent: &str) -> String {
    let name = t.t(&format!("intent-{}", intent.replace('_', "-")));
    if name.starts_with('⟦') { intent.to_owned() } else { name }
}

/// The views every inbox has, in navigation order.
const BUILTIN: &[&str] = &[
    "mine",
    "unassigned",
    "open",
    "needs_reply",
    "sla_at_risk",
    "sla_breached",
    "negative",
    "pending",
    "snoozed",
    "resolved",
    "all",
];

/// The SLA condition of a built-in view (kept out of saved-view filters).
fn sla_filter(key: &str) -> Option<hark_store::SlaFilter> {
    match key {
        "sla_at_risk" => Some(hark_store::SlaFilter::AtRisk { now: Timestamp::now() }),
        "sla_breached" => Some(hark_store::SlaFilter::Breached),
        _ => None,
    }
}

fn builtin(t: &Strings, key: &str) -> (String, ViewFilters) {
    use ConversationStatus::*;
    let f = ViewFilters::default;
    match key {
        "mine" => (t.t("view-mine"), ViewFilters { assignee: Some("me".into()), statuses: OPENISH.to_vec(), ..f() }),
        "unassigned" => {
            (t.t("view-unassigned"), ViewFilters { assignee: Some("none".into()), statuses: vec![Open], ..f() })
        }
        "open" => (t.t("view-open"), ViewFilters { statuses: vec![Open], ..f() }),
        "needs_reply" => (t.t("view-needs-reply"), ViewFilters { statuses: vec![Open], needs_reply: true, ..f() }),
        "sla_at_risk" => (t.t("view-sla-at-risk"), ViewFilters { statuses: OPENISH.to_vec(), ..f() }),
        "sla_breached" => (t.t("view-sla-breached"), ViewFilters { statuses: OPENISH.to_vec(), ..f() }),
        "negative" => (
            t.t("view-negative"),
            ViewFilters { sentiment: Some(Sentiment::Negative), statuses: OPENISH.to_vec(), ..f() },
        ),
        "pending" => (t.t("view-pending"), ViewFilters { statuses: vec![Pending], ..f() }),
        "snoozed" => (t.t("view-snoozed"), ViewFilters { statuses: vec![Snoozed], ..f() }),
        "resolved" => (t.t("view-resolved"), ViewFilters { statuses: vec![Resolved], ..f() }),
        _ => (t.t("view-all"), f()),
    }
}

/// The view's filters with the filter bar's choices on top.
fn overlay(mut f: ViewFilters, q: &InboxQuery, time_zone: &str) -> ViewFilters {
    if let Some(s) = given(&q.status) {
        let statuses: Vec<ConversationStatus> = s.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        if !statuses.is_empty() {
            f.statuses = statuses;
        }
    }
    if let Some(k) = given(&q.kind).and_then(|k| k.parse().ok()) {
        f.kind = Some(k);
    }
    if let Some(n) = given(&q.network).and_then(|n| n.parse().ok()) {
        f.network = Some(n);
    }
    let text = |v: &Option<String>| given(v).map(str::to_owned);
    f.channel_id = text(&q.channel).or(f.channel_id);
    f.assignee = text(&q.assignee).or(f.assignee);
    f.team_id = text(&q.team).or(f.team_id);
    f.label = text(&q.label).or(f.label);
    f.language = text(&q.language).or(f.language);
    f.intent = text(&q.intent).or(f.intent);
    if let Some(s) = given(&q.sentiment).and_then(|s| s.parse().ok()) {
        f.sentiment = Some(s);
    }
    if let Some(p) = given(&q.priority).and_then(|p| p.parse().ok()) {
        f.priority = Some(p);
    }
    if let Some(since) = given(&q.since).and_then(|s| instant(s, time_zone, false)) {
        f.since = Some(since);
    }
    if let Some(until) = given(&q.until).and_then(|s| instant(s, time_zone, true)) {
        f.until = Some(until);
    }
    if given(&q.needs_reply).is_some_and(|v| v == "true" || v == "1" || v == "on") {
        f.needs_reply = true;
    }
    f
}

/// An instant, or a date in the workspace's time zone (its start, or with
/// `end_of_day` the start of the next day).
fn instant(text: &str, time_zone: &str, end_of_day: bool) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    let date = if end_of_day { date.tomorrow().ok()? } else { date };
    date.in_tz(time_zone).ok().map(|z| z.timestamp())
}

/// The store's filter for a view's filters, as seen by `me`.
pub fn store_filter(f: &ViewFilters, me: &str, sort: ConversationSort) -> ConversationFilter {
    ConversationFilter {
        workspace_id: String::new(),
        statuses: f.statuses.clone(),
        kind: f.kind,
        channel_id: f.channel_id.clone(),
        network: f.network,
        assignee: f.assignee.as_deref().map(|a| match a {
            "none" => AssigneeFilter::Nobody,
            "me" => AssigneeFilter::User(me.to_owned()),
            other => AssigneeFilter::User(other.to_owned()),
        }),
        team_id: f.team_id.clone(),
        label: f.label.clone(),
        contact_id: None,
        platform_thread_id: None,
        language: f.language.clone(),
        sentiment: f.sentiment,
        intent: f.intent.clone(),
        priority: f.priority,
        needs_reply: f.needs_reply,
        ids: None,
        active_since: f.since,
        active_until: f.until,
        include_merged: false,
        sla: None,
        sort,
    }
}

fn sort_of(q: &InboxQuery) -> (ConversationSort, &'static str) {
    match given(&q.sort) {
        Some("waiting") => (ConversationSort::Waiting, "waiting"),
        _ => (ConversationSort::Activity, "activity"),
    }
}

/// Everything about the list a request asks for.
struct Listing {
    key: String,
    def: ViewDef,
    filters: ViewFilters,
    sort: (ConversationSort, &'static str),
    search: String,
    conversations: Vec<Conversation>,
    contacts: Vec<Contact>,
    next_cursor: Option<String>,
    /// Each listed conversation's SLA countdown and breach.
    sla: HashMap<String, (Option<Timestamp>, bool)>,
}

async fn listing(
    state: &WebState,
    viewer: &Viewer,
    t: &Strings,
    dir: &DirectoryData,
    q: &InboxQuery,
    ids: Option<Vec<String>>,
) -> Result<Listing, AppError> {
    let search = given(&q.q).unwrap_or("").to_owned();
    let default_key =
        if viewer.actor.role() == Role::Trainee || viewer.actor.role() == Role::Agent { "mine" } else { "open" };
    let key = given(&q.view).unwrap_or(if search.is_empty() { default_key } else { "all" }).to_owned();
    let def = view_def(state, viewer, t, dir, &key).await;
    let filters = overlay(def.filters.clone(), q, &dir.time_zone);
    let sort = sort_of(q);
    let mut filter = store_filter(&filters, &viewer.actor.user.id, sort.0);
    filter.sla = sla_filter(&key);
    filter.ids = ids;
    if !search.is_empty() {
        let hits = match &state.search {
            Some(index) => index
                .conversation_ids(viewer.actor.workspace_id(), &search, SEARCH_LIMIT)
                .await
                .map_err(AppError::Unavailable)?,
            None => return Err(AppError::Unavailable("full-text search is not available on this server".into())),
        };
        filter.ids = Some(match filter.ids.take() {
            Some(wanted) => wanted.into_iter().filter(|id| hits.contains(id)).collect(),
            None => hits,
        });
    }
    let page = Page { after: given(&q.cursor).map(str::to_owned), limit: PAGE_SIZE };
    let mut conversations = state.app.conversations(&viewer.actor, filter, &page).await?;
    let next_cursor = if conversations.len() > PAGE_SIZE as usize {
        conversations.truncate(PAGE_SIZE as usize);
        conversations.last().map(|c| Cursor::of_conversation_in(c, sort.0).encode())
    } else {
        None
    };
    let contact_ids: Vec<String> = conversations.iter().map(|c| c.contact_id.clone()).collect();
    let contacts = state.app.store.contacts_by_ids(&contact_ids).await?;
    let ids: Vec<String> = conversations.iter().map(|c| c.id.clone()).collect();
    let sla = state
        .app
        .store
        .sla_states(&ids)
        .await?
        .into_iter()
        .map(|s| (s.conversation_id, (s.next_due_at, s.breached > 0)))
        .collect();
    Ok(Listing { key, def, filters, sort, search, conversations, contacts, next_cursor, sla })
}

fn row_models<'a>(listing: &'a Listing) -> Vec<Row<'a>> {
    let by_id: HashMap<&str, &Contact> = listing.contacts.iter().map(|c| (c.id.as_str(), c)).collect();
    listing
        .conversations
        .iter()
        .map(|c| Row {
            conversation: c,
            contact: by_id.get(c.contact_id.as_str()).copied(),
            sla: listing.sla.get(&c.id).copied(),
        })
        .collect()
}

fn list_state<'a>(listing: &'a Listing) -> ListState<'a> {
    ListState {
        view_key: &listing.key,
        title: &listing.def.title,
        filters: &listing.filters,
        sort: listing.sort.1,
        search: &listing.search,
        next_cursor: listing.next_cursor.clone(),
        saved_view_id: listing.def.saved_id.as_deref(),
    }
}

/// The navigation: built-in views, saved views, teams, channels, labels
/// and intents. Counts come later from /ui/counts, so the page is not held
/// up by them.
async fn navigation(state: &WebState, viewer: &Viewer, t: &Strings, dir: &DirectoryData) -> Vec<NavGroup> {
    let item = |key: String, label: String| NavItem { key, label, count: None, capped: false };
    let saved = state.app.saved_views(&viewer.actor).await.unwrap_or_default();
    vec![
        NavGroup {
            title: t.t("nav-group-inbox"),
            items: BUILTIN.iter().map(|k| item((*k).to_owned(), builtin(t, k).0)).collect(),
        },
        NavGroup {
            title: t.t("nav-group-saved"),
            items: saved.into_iter().map(|v| item(format!("saved:{}", v.id), v.name)).collect(),
        },
        NavGroup {
            title: t.t("nav-group-teams"),
            items: dir.teams.iter().map(|tm| item(format!("team:{}", tm.id), tm.name.clone())).collect(),
        },
        NavGroup {
            title: t.t("nav-group-channels"),
            items: dir.channels.iter().map(|c| item(format!("channel:{}", c.id), c.name.clone())).collect(),
        },
        NavGroup {
            title: t.t("nav-group-labels"),
            items: dir.labels.iter().map(|l| item(format!("label:{}", l.name), l.name.clone())).collect(),
        },
        NavGroup {
            title: t.t("nav-group-intents"),
            items: hark_ui::views::inbox::INTENTS
                .iter()
                .filter(|i| **i != "other")
                .map(|i| item(format!("intent:{i}"), intent_title(t, i)))
                .collect(),
        },
    ]
}

fn ctx<'a>(viewer: &'a Viewer, dir: &'a DirectoryData, directory: &'a hark_ui::Directory<'a>) -> Ctx<'a> {
    Ctx {
        t: Strings::get(&viewer.actor.user.locale),
        me: &viewer.actor.user,
        csrf: &viewer.csrf,
        workspace_name: &dir.workspace_name,
        now: Timestamp::now(),
        unread_notifications: dir.unread,
        dir: directory,
    }
}

pub async fn inbox(State(state): State<WebState>, viewer: Viewer, Query(q): Query<InboxQuery>) -> PageResult<Response> {
    render_inbox(&state, &viewer, &q, None).await
}

pub async fn conversation_page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<InboxQuery>,
) -> PageResult<Response> {
    render_inbox(&state, &viewer, &q, Some(&id)).await
}

async fn render_inbox(state: &WebState, viewer: &Viewer, q: &InboxQuery, open: Option<&str>) -> PageResult<Response> {
    let t = Strings::get(&viewer.actor.user.locale);
    let dir = DirectoryData::load(state, &viewer.actor).await.page(viewer)?;
    let directory = dir.directory();
    let listing = listing(state, viewer, t, &dir, q, None).await.page(viewer)?;
    let nav = navigation(state, viewer, t, &dir).await;
    let list = list_state(&listing);
    let rows = row_models(&listing);
    let ctx = ctx(viewer, &dir, &directory);
    let pane_data = match open {
        Some(id) => Some(PaneData::load(state, &viewer.actor, id, &list.query()).await.page(viewer)?),
        None => None,
    };
    let pane = pane_data.as_ref().map(PaneData::pane);
    Ok(html(hark_ui::views::inbox::inbox_page(&ctx, &nav, &list, &rows, pane.as_ref())))
}

/// What an open conversation shows, read in one go.
struct PaneData {
    conversation: Conversation,
    contact: Contact,
    channel: Option<Channel>,
    messages: Vec<Message>,
    older: bool,
    reply_options: Vec<ReplyChoice>,
    presence: Vec<Presence>,
    history: Vec<Conversation>,
    linked: Option<Conversation>,
    snippets: Vec<Snippet>,
    attributes: Vec<AttributeDefinition>,
    list_query: String,
    rule_runs: Vec<hark_domain::rules::RuleRun>,
    /// The post a public thread hangs from, when it was read from the network.
    post: Option<hark_domain::RootPost>,
    approval: Option<hark_domain::permissions::ApprovalReason>,
}

impl PaneData {
    async fn load(state: &WebState, actor: &Actor, id: &str, list_query: &str) -> Result<PaneData, AppError> {
        let conversation = state.app.conversation(actor, id).await?;
        let contact = state.app.contact(actor, &conversation.contact_id).await?;
        let channel = state.app.store.channel(&conversation.channel_id).await?;
        let mut messages = state.app.store.recent_messages(&conversation.id, THREAD_SIZE + 1).await?;
        let older = messages.len() > THREAD_SIZE as usize;
        if older {
            messages.remove(0);
        }
        let reply_options = match crate::api::conversations::reply_choices(state, actor, id, ".", None, &[]).await {
            Ok(options) => options
                .into_iter()
                .map(|o| ReplyChoice {
                    visibility: o.visibility,
                    allowed: o.allowed,
                    reason: o.reason,
                    reason_key: o.reason_key.map(str::to_owned),
                    reason_args: o.reason_args.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    measure: o.measure.to_owned(),
                    max: o.max,
                })
                .collect(),
            Err(_) => vec![],
        };
        let presence = state.app.presence(actor, id).await?;
        let history_filter = ConversationFilter {
            contact_id: Some(conversation.contact_id.clone()),
            include_merged: true,
            ..Default::default()
        };
        let history = state.app.conversations(actor, history_filter, &Page::first(20)).await?;
        let linked = match &conversation.linked_conversation_id {
            Some(l) => state.app.conversation(actor, l).await.ok(),
            None => None,
        };
        // Threads that start with the customer's own post have none stored
        // (the posts follower skips them), so nothing repeats the first message.
        let post = match conversation.platform_thread_id.as_deref() {
            Some(thread) if conversation.kind == hark_domain::ConversationKind::Public => {
                state.app.store.thread_post(&conversation.channel_id, thread).await.ok().flatten()
            }
            _ => None,
        };
        let approval = state.app.why_replies_wait(actor, &conversation).await?;
        Ok(PaneData {
            post,
            snippets: state.app.snippets(actor).await?,
            attributes: state.app.attribute_definitions(actor).await?,
            conversation,
            contact,
            channel,
            messages,
            older,
            reply_options,
            presence,
            history,
            linked,
            list_query: list_query.to_owned(),
            rule_runs: state.app.rule_log(actor, id).await?,
            approval,
        })
    }

    fn pane(&self) -> ConversationPane<'_> {
        ConversationPane {
            conversation: &self.conversation,
            contact: &self.contact,
            channel: self.channel.as_ref(),
            messages: &self.messages,
            older: self.older,
            reply_options: &self.reply_options,
            presence: &self.presence,
            history: &self.history,
            linked: self.linked.as_ref(),
            snippets: &self.snippets,
            attributes: &self.attributes,
            list_query: &self.list_query,
            rule_runs: &self.rule_runs,
            post: self.post.as_ref(),
            approval: self.approval,
        }
    }
}

/// The conversation pane alone, for a script opening a conversation.
pub async fn pane(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<InboxQuery>,
) -> PageResult<Response> {
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    let list_query = list_query_of(&q);
    let data = PaneData::load(&state, &viewer.actor, &id, &list_query).await.page(&viewer)?;
    Ok(html(hark_ui::views::conversation::pane(&ctx, &data.pane())))
}

/// The list's query string as the list itself would build it.
fn list_query_of(q: &InboxQuery) -> String {
    let mut copy = q.clone();
    copy.ids = None;
    copy.keys = None;
    copy.cursor = None;
    let pairs = [
        ("view", &copy.view),
        ("q", &copy.q),
        ("sort", &copy.sort),
        ("status", &copy.status),
        ("kind", &copy.kind),
        ("network", &copy.network),
        ("channel", &copy.channel),
        ("assignee", &copy.assignee),
        ("team", &copy.team),
        ("label", &copy.label),
        ("language", &copy.language),
        ("sentiment", &copy.sentiment),
        ("intent", &copy.intent),
        ("priority", &copy.priority),
        ("since", &copy.since),
        ("until", &copy.until),
        ("needs_reply", &copy.needs_reply),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", hark_ui::views::inbox::encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Rows for the given conversations as the current list shows them, and
/// those that no longer belong in it: `{"rows": {id: html}, "gone": [id]}`.
pub async fn rows_fragment(state: &WebState, viewer: &Viewer, q: &InboxQuery) -> Result<serde_json::Value, AppError> {
    let t = Strings::get(&viewer.actor.user.locale);
    let wanted: Vec<String> = given(&q.ids)
        .map(|ids| ids.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).take(100).collect())
        .unwrap_or_default();
    let dir = DirectoryData::load(state, &viewer.actor).await?;
    let directory = dir.directory();
    let mut unpaged = q.clone();
    unpaged.cursor = None;
    let listing = listing(state, viewer, t, &dir, &unpaged, Some(wanted.clone())).await?;
    let ctx = ctx(viewer, &dir, &directory);
    let query = list_state(&listing).query();
    let mut out = serde_json::Map::new();
    for row in row_models(&listing) {
        let html = hark_ui::views::inbox::row_item(&ctx, &row, &query, false).into_string();
        out.insert(row.conversation.id.clone(), serde_json::Value::String(html));
    }
    let gone: Vec<&String> = wanted.iter().filter(|id| !out.contains_key(*id)).collect();
    Ok(json!({ "rows": out, "gone": gone }))
}

pub async fn rows(State(state): State<WebState>, viewer: Viewer, Query(q): Query<InboxQuery>) -> Response {
    match rows_fragment(&state, &viewer, &q).await {
        Ok(body) => Json(body).into_response(),
        Err(err) => crate::ApiError::from(err).into_response(),
    }
}

/// One message as the thread shows it.
pub async fn message(State(state): State<WebState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let result = async {
        let message = state
            .app
            .store
            .message(&id)
            .await?
            .filter(|m| m.workspace_id == viewer.actor.workspace_id())
            .ok_or(AppError::NotFound("message"))?;
        let conversation = state.app.conversation(&viewer.actor, &message.conversation_id).await?;
        let contact = state.app.contact(&viewer.actor, &conversation.contact_id).await?;
        let dir = DirectoryData::load(&state, &viewer.actor).await?;
        let directory = dir.directory();
        let ctx = ctx(&viewer, &dir, &directory);
        Ok::<_, AppError>(hark_ui::views::conversation::message(&ctx, &contact, &message).into_string())
    }
    .await;
    match result {
        Ok(body) => html(hark_ui::maud::PreEscaped(body)),
        Err(err) => crate::ApiError::from(err).into_response(),
    }
}

/// Capped counts of conversations in the given views: `{key: count}`.
pub async fn counts(State(state): State<WebState>, viewer: Viewer, Query(q): Query<InboxQuery>) -> Response {
    let t = Strings::get(&viewer.actor.user.locale);
    let result = async {
        let dir = DirectoryData::load(&state, &viewer.actor).await?;
        let mut out = serde_json::Map::new();
        let keys: Vec<String> =
            given(&q.keys).map(|k| k.split(',').map(str::to_owned).take(60).collect()).unwrap_or_default();
        for key in keys {
            let def = view_def(&state, &viewer, t, &dir, &key).await;
            let mut filter = store_filter(&def.filters, &viewer.actor.user.id, ConversationSort::Activity);
            filter.workspace_id = viewer.actor.workspace_id().to_owned();
            filter.sla = sla_filter(&key);
            let n = state.app.count_conversations(&viewer.actor, filter, COUNT_CAP).await?;
            out.insert(key, json!(n));
        }
        Ok::<_, AppError>(json!({ "counts": out, "cap": COUNT_CAP }))
    }
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(err) => crate::ApiError::from(err).into_response(),
    }
}
