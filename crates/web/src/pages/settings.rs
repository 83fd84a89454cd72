//! The settings pages. What each shows is read through the use cases, and
//! every change goes through the JSON API, so roles are checked there.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hark_app::AppError;
use hark_ui::views::settings::{Content, HoursRow, Tab};
use hark_ui::{Ctx, Strings};

use super::{DirectoryData, ForViewer, PageResult, Viewer, html};
use crate::WebState;

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

/// The first part of the settings this person may see.
pub async fn first_tab(State(state): State<WebState>, viewer: Viewer) -> PageResult<Response> {
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    match Tab::ALL.iter().find(|t| t.visible_to(&ctx)) {
        Some(tab) => Ok(Redirect::to(&format!("/settings/{}", tab.slug())).into_response()),
        None => Err(AppError::Forbidden).page(&viewer),
    }
}

pub async fn tab(State(state): State<WebState>, viewer: Viewer, Path(slug): Path<String>) -> PageResult<Response> {
    let tab = Tab::from_slug(&slug).ok_or(AppError::NotFound("page")).page(&viewer)?;
    let dir = DirectoryData::load(&state, &viewer.actor).await.page(&viewer)?;
    let directory = dir.directory();
    let ctx = ctx(&viewer, &dir, &directory);
    if !tab.visible_to(&ctx) {
        return Err(AppError::Forbidden).page(&viewer);
    }
    let actor = &viewer.actor;
    let snippets = match tab {
        // The rules' editor picks the snippets its actions send.
        Tab::Snippets | Tab::Rules => state.app.snippets(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let attributes = match tab {
        Tab::Attributes => state.app.attribute_definitions(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let hours = match tab {
        Tab::Hours => state.app.business_hours(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let hour_rows: Vec<HoursRow<'_>> = hours
        .iter()
        .map(|h| HoursRow {
            id: &h.id,
            name: &h.name,
            team_id: h.team_id.as_deref(),
            config: serde_json::from_value(h.config.clone()).ok(),
        })
        .collect();
    let service_levels = match tab {
        Tab::ServiceLevels => {
            serde_json::to_value(state.app.service_levels(actor).await.page(&viewer)?).unwrap_or_default()
        }
        _ => serde_json::Value::Null,
    };
    let known = match tab {
        Tab::KnownIssues => state.app.known_issues(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let known_lines: Vec<hark_ui::views::reports::KnownIssueLine<'_>> = known
        .iter()
        .map(|k| hark_ui::views::reports::KnownIssueLine {
            id: &k.issue.id,
            kind: match k.issue.kind {
                hark_domain::known_issues::KnownIssueKind::Outage => "outage",
                hark_domain::known_issues::KnownIssueKind::PriceChange => "price_change",
                hark_domain::known_issues::KnownIssueKind::Launch => "launch",
                hark_domain::known_issues::KnownIssueKind::Campaign => "campaign",
                hark_domain::known_issues::KnownIssueKind::Other => "other",
            },
            title: &k.issue.title,
            body: &k.issue.body,
            keywords: k.issue.keywords.join(", "),
            starts_at: k.issue.starts_at,
            ends_at: k.issue.ends_at,
            has_reply: k.issue.prepared_reply.is_some(),
            conversations: k.conversations,
            answered: k.answered,
        })
        .collect();
    let rules = match tab {
        Tab::Rules => state.app.rules(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let (profiles, policies) = match tab {
        Tab::Assignment => (
            state.app.agent_profiles(actor).await.page(&viewer)?,
            state.app.store.publish_policies(actor.workspace_id()).await.map_err(AppError::from).page(&viewer)?,
        ),
        _ => (vec![], vec![]),
    };
    let pending = match tab {
        Tab::Approvals => state.app.approval_queue(actor).await.page(&viewer)?,
        _ => vec![],
    };
    let mut pending_lines = Vec::with_capacity(pending.len());
    for p in &pending {
        let contact =
            state.app.store.contact(&p.conversation.contact_id).await.map_err(AppError::from).page(&viewer)?;
        pending_lines.push(hark_ui::views::automation::PendingLine {
            message: &p.message,
            conversation: &p.conversation,
            answering: p.answering.as_ref(),
            contact,
            may_approve: p.may_approve,
        });
    }
    let content = match tab {
        Tab::Channels => Content::Channels,
        Tab::Users => Content::Users,
        Tab::Teams => Content::Teams,
        Tab::Labels => Content::Labels,
        Tab::Snippets => Content::Snippets(&snippets),
        Tab::Hours => Content::Hours(&hour_rows),
        Tab::Attributes => Content::Attributes(&attributes),
        Tab::ServiceLevels => Content::ServiceLevels(&service_levels),
        Tab::KnownIssues => Content::KnownIssues(&known_lines),
        Tab::Rules => Content::Rules(&rules, &snippets),
        Tab::Assignment => Content::Assignment(&profiles, &policies),
        Tab::Approvals => Content::Approvals(&pending_lines),
    };
    Ok(html(hark_ui::views::settings::settings_page(&ctx, tab, &content)))
}
