//! Settings for admins and supervisors: channels, people, teams, labels,
//! snippets, business hours and custom attributes. Every form posts JSON to
//! the same API everything else uses (see `forms.js`), so the role checks
//! are the API's.

use hark_domain::business_hours::{BusinessHoursConfig, OpenInterval};
use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use super::layout::{Section, page};

/// Business hours as the settings page shows them (`config` is `None` when
/// the stored schedule could not be read).
pub struct HoursRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub team_id: Option<&'a str>,
    pub config: Option<BusinessHoursConfig>,
}

/// The parts of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Channels,
    Users,
    Teams,
    Labels,
    Snippets,
    Hours,
    Attributes,
    ServiceLevels,
    KnownIssues,
    Rules,
    Assignment,
    Approvals,
}

impl Tab {
    pub const ALL: &'static [Tab] = &[
        Tab::Channels,
        Tab::Users,
        Tab::Teams,
        Tab::Labels,
        Tab::Snippets,
        Tab::Hours,
        Tab::Attributes,
        Tab::ServiceLevels,
        Tab::KnownIssues,
        Tab::Rules,
        Tab::Assignment,
        Tab::Approvals,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Tab::Channels => "channels",
            Tab::Users => "users",
            Tab::Teams => "teams",
            Tab::Labels => "labels",
            Tab::Snippets => "snippets",
            Tab::Hours => "hours",
            Tab::Attributes => "attributes",
            Tab::ServiceLevels => "service-levels",
            Tab::KnownIssues => "known-issues",
            Tab::Rules => "rules",
            Tab::Assignment => "assignment",
            Tab::Approvals => "approvals",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Tab> {
        Tab::ALL.iter().copied().find(|t| t.slug() == slug)
    }

    /// Whether a role sees this part (and may change what is in it).
    pub fn visible_to(self, ctx: &Ctx<'_>) -> bool {
        match self {
            Tab::Channels => ctx.may(Action::ManageChannels),
            Tab::Users => ctx.may(Action::ManageUsers),
            Tab::Teams => ctx.may(Action::ManageTeams),
            Tab::Labels => ctx.may(Action::ManageLabels),
            Tab::Snippets => ctx.may(Action::ManageSnippets),
            Tab::Hours | Tab::Attributes => ctx.may(Action::ManageWorkspace),
            Tab::ServiceLevels => ctx.may(Action::ManageServiceLevels),
            Tab::KnownIssues => ctx.may(Action::ManageKnownIssues),
            Tab::Rules => ctx.may(Action::ManageWorkspace),
            Tab::Assignment => ctx.may(Action::ManageUsers),
            Tab::Approvals => ctx.may(Action::ApproveReply),
        }
    }
}

/// What the chosen part shows.
pub enum Content<'a> {
    Channels,
    Users,
    Teams,
    Labels,
    Snippets(&'a [Snippet]),
    Hours(&'a [HoursRow<'a>]),
    Attributes(&'a [AttributeDefinition]),
    /// The service-level configuration as the API returns it.
    ServiceLevels(&'a serde_json::Value),
    KnownIssues(&'a [super::reports::KnownIssueLine<'a>]),
    /// The rules, and the snippets their actions may send.
    Rules(&'a [hark_domain::rules::Rule], &'a [Snippet]),
    Assignment(&'a [hark_domain::assignment::AgentProfile], &'a [(String, hark_domain::permissions::PublishPolicy)]),
    Approvals(&'a [super::automation::PendingLine<'a>]),
}

pub fn settings_page(ctx: &Ctx<'_>, tab: Tab, content: &Content<'_>) -> Markup {
    let t = ctx.t;
    let title = t.t(&format!("settings-{}", tab.slug()));
    page(
        ctx,
        Section::Settings,
        &title,
        "",
        html! {
            div.settings {
                nav.settings-tabs aria-label=(t.t("nav-settings")) {
                    h2 { (t.t("nav-settings")) }
                    ul {
                        @for tb in Tab::ALL.iter().filter(|tb| tb.visible_to(ctx)) {
                            li { a href={ "/settings/" (tb.slug()) } aria-current=[(*tb == tab).then_some("page")] {
                                (t.t(&format!("settings-{}", tb.slug())))
                            } }
                        }
                    }
                }
                section.settings-body {
                    h1 { (title) }
                    p.lede { (t.t(&format!("settings-{}-lede", tab.slug()))) }
                    @match content {
                        Content::Channels => (channels(ctx)),
                        Content::Users => (users(ctx)),
                        Content::Teams => (teams(ctx)),
                        Content::Labels => (labels(ctx)),
                        Content::Snippets(list) => (snippets(ctx, list)),
                        Content::Hours(rows) => (hours(ctx, rows)),
                        Content::Attributes(list) => (attributes(ctx, list)),
                        Content::ServiceLevels(config) => (super::reports::service_levels_form(ctx, config)),
                        Content::KnownIssues(list) => (super::reports::known_issues_list(ctx, list)),
                        Content::Rules(rules, snippets) => (super::automation::rules_tab(ctx, rules, snippets)),
                        Content::Assignment(profiles, policies) => (super::automation::assignment_tab(ctx, profiles, policies)),
                        Content::Approvals(pending) => (super::automation::approvals_tab(ctx, pending)),
                    }
                }
            }
        },
    )
}

fn channels(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    html! {
        table.grid {
            thead { tr {
                th { (t.t("channel-network")) } th { (t.t("channel-name")) } th { (t.t("channel-handle")) }
                th { (t.t("channel-health")) } th { (t.t("channel-actions")) }
            } }
            tbody {
                @for c in ctx.dir.channels {
                    tr data-id=(c.id) {
                        td { (network_mark(c.network)) " " (network_names(c.network).1) }
                        td {
                            form.inline data-api="PATCH /api/v1/channels/{id}" data-id=(c.id) {
                                input name="name" value=(c.name) required aria-label=(t.t("channel-name"));
                                button.small type="submit" { (t.t("save")) }
                            }
                        }
                        td dir="auto" { (c.handle) }
                        td {
                            span class={ "health health-" (c.health.as_str()) } { (t.t(&format!("health-{}", c.health.as_str()))) }
                            @if !c.health_detail.is_empty() { p.health-detail { (channel_note(t, &c.health_detail)) } }
                            @if let Some(at) = c.health_changed_at { p.muted { (time(at, "relative")) } }
                        }
                        td.actions {
                            button.small type="button" data-api="POST /api/v1/channels/{id}/connect" data-id=(c.id) { (t.t("channel-connect")) }
                            button.small type="button" data-api="PATCH /api/v1/channels/{id}" data-id=(c.id)
                                data-body=(serde_json::json!({ "enabled": !c.enabled }).to_string()) {
                                @if c.enabled { (t.t("channel-disable")) } @else { (t.t("channel-enable")) }
                            }
                        }
                    }
                }
            }
        }
        details.create {
            summary.button { (t.t("channel-add")) }
            form data-api="POST /api/v1/channels" {
                label { span { (t.t("channel-network")) }
                    select name="network" data-toggles="credentials" {
                        @for n in [Network::X, Network::Facebook, Network::Instagram, Network::Whatsapp, Network::Telegram, Network::Vk, Network::Api] {
                            option value=(n.as_str()) { (network_names(n).1) }
                        }
                    }
                }
                label { span { (t.t("channel-name")) } input name="name" required; }
                label { span { (t.t("channel-handle")) } input name="handle" required; }
                label { span { (t.t("channel-external-id")) } input name="external_id" required; }
                @for (network, fields) in CREDENTIALS {
                    fieldset data-for=(network) hidden[*network != "x"] {
                        legend { (t.t("channel-credentials")) }
                        @for field in *fields {
                            label { span { code { (field) } } input name={ "credentials." (field) } type="password" autocomplete="off" disabled[*network != "x"]; }
                        }
                    }
                }
                label { span { (t.t("channel-api-base")) } input name="settings.api_base_url" type="url" placeholder="https://…"; }
                p.muted { (t.t("channel-credentials-sealed")) }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

/// The credentials each network's connector needs.
const CREDENTIALS: &[(&str, &[&str])] = &[
    ("x", &["consumer_key", "consumer_secret", "access_token", "access_token_secret", "bearer_token"]),
    ("facebook", &["app_id", "app_secret", "verify_token", "access_token"]),
    ("instagram", &["app_id", "app_secret", "verify_token", "access_token"]),
    ("whatsapp", &["app_id", "app_secret", "verify_token", "access_token"]),
    ("telegram", &["bot_token", "secret_token"]),
    ("vk", &["access_token", "secret", "confirmation_code"]),
    ("api", &["inbound_token", "webhook_secret"]),
];

fn users(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    html! {
        table.grid {
            thead { tr { th { (t.t("user-name")) } th { (t.t("user-email")) } th { (t.t("user-role")) } th { (t.t("user-availability")) } th { (t.t("user-active")) } } }
            tbody {
                @for u in ctx.dir.users {
                    tr data-id=(u.id) {
                        td { (avatar(&u.name, "xs")) " " (u.name) }
                        td { (u.email) }
                        td {
                            select data-api="PATCH /api/v1/users/{id}" data-id=(u.id) data-field="role" aria-label=(t.t("user-role")) {
                                @for r in Role::ALL {
                                    option value=(r.as_str()) selected[*r == u.role] { (t.t(&format!("role-{}", r.as_str()))) }
                                }
                            }
                        }
                        td { span class={ "availability-dot " (u.availability.as_str()) } {} (t.t(&format!("availability-{}", u.availability.as_str()))) }
                        td {
                            button.small type="button" data-api="PATCH /api/v1/users/{id}" data-id=(u.id)
                                data-body=(serde_json::json!({ "active": !u.active }).to_string()) {
                                @if u.active { (t.t("user-deactivate")) } @else { (t.t("user-activate")) }
                            }
                        }
                    }
                }
            }
        }
        details.create {
            summary.button { (t.t("user-add")) }
            form data-api="POST /api/v1/users" {
                label { span { (t.t("user-name")) } input name="name" required; }
                label { span { (t.t("user-email")) } input name="email" type="email" required; }
                label { span { (t.t("user-role")) }
                    select name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[*r == Role::Agent] { (t.t(&format!("role-{}", r.as_str()))) } } }
                }
                label { span { (t.t("language-label")) }
                    select name="locale" { @for (code, name, _) in crate::i18n::LOCALES { option value=(code) { (name) } } }
                }
                label { span { (t.t("password-label")) } input name="password" type="password" minlength="10" required autocomplete="new-password"; }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

fn teams(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    html! {
        div.cards {
            @for team in ctx.dir.teams {
                form.card data-api="PATCH /api/v1/teams/{id}" data-id=(team.id) {
                    label { span { (t.t("team-name")) } input name="name" value=(team.name) required; }
                    label { span { (t.t("team-description")) } input name="description" value=(team.description); }
                    fieldset { legend { (t.t("team-members")) }
                        @for u in ctx.dir.users.iter().filter(|u| u.active) {
                            label.check { input type="checkbox" name="member_ids" value=(u.id) data-type="list" checked[team.member_ids.contains(&u.id)]; (u.name) }
                        }
                    }
                    div.row-actions {
                        button.small type="submit" { (t.t("save")) }
                        button.small.danger type="button" data-api="DELETE /api/v1/teams/{id}" data-id=(team.id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) }
                    }
                }
            }
        }
        details.create {
            summary.button { (t.t("team-add")) }
            form data-api="POST /api/v1/teams" {
                label { span { (t.t("team-name")) } input name="name" required; }
                label { span { (t.t("team-description")) } input name="description"; }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

fn labels(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    html! {
        table.grid {
            thead { tr { th { (t.t("label-name")) } th { (t.t("label-color")) } th { (t.t("label-description")) } th {} } }
            tbody {
                @for l in ctx.dir.labels {
                    tr {
                        td colspan="3" {
                            form.inline data-api="PATCH /api/v1/labels/{id}" data-id=(l.id) {
                                input name="name" value=(l.name) required aria-label=(t.t("label-name"));
                                input type="color" name="color" value=(l.color) aria-label=(t.t("label-color"));
                                input name="description" value=(l.description) aria-label=(t.t("label-description"));
                                (label_chip(ctx, &l.name))
                                button.small type="submit" { (t.t("save")) }
                            }
                        }
                        td { button.small.danger type="button" data-api="DELETE /api/v1/labels/{id}" data-id=(l.id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) } }
                    }
                }
            }
        }
        details.create {
            summary.button { (t.t("label-add")) }
            form data-api="POST /api/v1/labels" {
                label { span { (t.t("label-name")) } input name="name" required; }
                label { span { (t.t("label-color")) } input type="color" name="color" value="#2563eb"; }
                label { span { (t.t("label-description")) } input name="description"; }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

fn snippets(ctx: &Ctx<'_>, list: &[Snippet]) -> Markup {
    let t = ctx.t;
    html! {
        p.muted { (t.t("snippet-variables")) " " code { "{{contact.first_name}} {{contact.name}} {{agent.first_name}} {{channel.handle}} {{conversation.order_number}}" } }
        div.cards {
            @for s in list {
                form.card data-api="PATCH /api/v1/snippets/{id}" data-id=(s.id) {
                    label { span { (t.t("snippet-name")) } input name="name" value=(s.name) required; }
                    label { span { (t.t("snippet-text")) } textarea name="text" rows="3" required dir="auto" { (s.text) } }
                    div.row-actions {
                        button.small type="submit" { (t.t("save")) }
                        button.small.danger type="button" data-api="DELETE /api/v1/snippets/{id}" data-id=(s.id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) }
                    }
                }
            }
        }
        details.create open[list.is_empty()] {
            summary.button { (t.t("snippet-add")) }
            form data-api="POST /api/v1/snippets" {
                label { span { (t.t("snippet-name")) } input name="name" required; }
                label { span { (t.t("snippet-text")) } textarea name="text" rows="3" required dir="auto" {} }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

const DAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn intervals_text(list: &[OpenInterval]) -> String {
    list.iter().map(|i| format!("{}-{}", i.start, i.end)).collect::<Vec<_>>().join(", ")
}

fn day_intervals<'c>(config: &'c BusinessHoursConfig, day: &str) -> &'c [OpenInterval] {
    let w = &config.week;
    match day {
        "monday" => &w.monday,
        "tuesday" => &w.tuesday,
        "wednesday" => &w.wednesday,
        "thursday" => &w.thursday,
        "friday" => &w.friday,
        "saturday" => &w.saturday,
        _ => &w.sunday,
    }
}

fn hours_form(ctx: &Ctx<'_>, row: Option<&HoursRow<'_>>) -> Markup {
    let t = ctx.t;
    let config = row.and_then(|r| r.config.clone());
    let (method, id) = match row {
        Some(r) => ("PUT /api/v1/business-hours/{id}", Some(r.id)),
        None => ("POST /api/v1/business-hours", None),
    };
    let holidays: String = config
        .as_ref()
        .map(|c| {
            c.holidays
                .iter()
                .map(|h| {
                    let open = intervals_text(&h.open);
                    format!("{} {}{}", h.date, h.name, if open.is_empty() { String::new() } else { format!(" {open}") })
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    html! {
        form.card.hours data-api=(method) data-id=[id] {
            label { span { (t.t("hours-name")) } input name="name" value=[row.map(|r| r.name)] required; }
            label { span { (t.t("hours-team")) }
                select name="team_id" data-null-if-empty {
                    option value="" { (t.t("hours-workspace")) }
                    @for team in ctx.dir.teams { option value=(team.id) selected[row.and_then(|r| r.team_id) == Some(team.id.as_str())] { (team.name) } }
                }
            }
            label { span { (t.t("hours-time-zone")) } input name="config.time_zone" value=(config.as_ref().map(|c| c.time_zone.as_str()).unwrap_or("Europe/Athens")) required; }
            fieldset.week { legend { (t.t("hours-week")) }
                @for day in DAYS {
                    label { span { (t.t(&format!("day-{day}"))) }
                        input name={ "config.week." (day) } data-type="intervals" placeholder="09:00-18:00"
                            value=(config.as_ref().map(|c| intervals_text(day_intervals(c, day))).unwrap_or_else(|| if *day == "saturday" || *day == "sunday" { String::new() } else { "09:00-18:00".into() }));
                    }
                }
            }
            label { span { (t.t("hours-holidays")) } textarea name="config.holidays" data-type="holidays" rows="3" placeholder="2026-12-25 Christmas" { (holidays) } }
            p.muted { (t.t("hours-hint")) }
            div.row-actions {
                button.small.primary type="submit" { @if row.is_some() { (t.t("save")) } @else { (t.t("create")) } }
                @if let Some(id) = id {
                    button.small.danger type="button" data-api="DELETE /api/v1/business-hours/{id}" data-id=(id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) }
                }
            }
        }
    }
}

fn hours(ctx: &Ctx<'_>, rows: &[HoursRow<'_>]) -> Markup {
    let t = ctx.t;
    html! {
        div.cards { @for row in rows { (hours_form(ctx, Some(row))) } }
        details.create open[rows.is_empty()] {
            summary.button { (t.t("hours-add")) }
            (hours_form(ctx, None))
        }
    }
}

fn attributes(ctx: &Ctx<'_>, list: &[AttributeDefinition]) -> Markup {
    let t = ctx.t;
    html! {
        table.grid {
            thead { tr { th { (t.t("attribute-scope")) } th { (t.t("attribute-key")) } th { (t.t("attribute-label")) } th { (t.t("attribute-kind")) } th {} } }
            tbody {
                @for d in list {
                    tr {
                        td { (t.t(&format!("attribute-scope-{}", d.scope.as_str()))) }
                        td { code { (d.key) } }
                        td { (d.label) }
                        td { (t.t(&format!("attribute-kind-{}", d.kind.as_str()))) @if !d.options.is_empty() { " (" (d.options.join(", ")) ")" } }
                        td { button.small.danger type="button" data-api="DELETE /api/v1/attributes/{id}" data-id=(d.id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) } }
                    }
                }
            }
        }
        details.create open[list.is_empty()] {
            summary.button { (t.t("attribute-add")) }
            form data-api="POST /api/v1/attributes" {
                label { span { (t.t("attribute-scope")) }
                    select name="scope" { @for s in AttributeScope::ALL { option value=(s.as_str()) { (t.t(&format!("attribute-scope-{}", s.as_str()))) } } }
                }
                label { span { (t.t("attribute-key")) } input name="key" required pattern="[a-z][a-z0-9_]{0,39}" placeholder="order_number"; }
                label { span { (t.t("attribute-label")) } input name="label" required; }
                label { span { (t.t("attribute-kind")) }
                    select name="kind" { @for k in AttributeKind::ALL { option value=(k.as_str()) { (t.t(&format!("attribute-kind-{}", k.as_str()))) } } }
                }
                label { span { (t.t("attribute-options")) } input name="options" data-type="csv" placeholder="Gold, Silver"; }
                button.primary type="submit" { (t.t("create")) }
            }
        }
    }
}

/// Hark's own sentence about a channel in the admin's language, with the
/// network's words inside it as they were; anything else as is.
fn channel_note(t: &crate::Strings, stored: &str) -> String {
    let note = ChannelNote::parse(stored);
    // A polling failure wraps the connector's sentence, which may be Hark's too.
    if let ChannelNote::Polling { words } = &note {
        return t.t_text_args("js-channel-note-polling", [("words", channel_note(t, words).as_str())]);
    }
    match note.message() {
        Some((key, args)) => {
            t.t_text_args(&format!("js-channel-note-{key}"), args.iter().map(|(n, v)| (*n, v.as_str())))
        }
        None => stored.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Strings;

    /// What is wrong with a channel reads in the admin's language, the
    /// network's words inside it as they were, also inside a polling failure.
    #[test]
    fn a_channel_note_is_read_in_the_admins_language() {
        let russian = Strings::get("ru");
        let polling = ChannelNote::Polling {
            words: ChannelNote::CredentialsRejected { words: "Invalid OAuth access token".into() }.to_string(),
        };
        let read = channel_note(russian, &polling.to_string());
        assert!(read.contains("Invalid OAuth access token") && !read.contains("rejected"), "{read}");
        let inner =
            russian.t_text_args("js-channel-note-credentials-rejected", [("words", "Invalid OAuth access token")]);
        assert_eq!(read, russian.t_text_args("js-channel-note-polling", [("words", inner.as_str())]));
        let webhooks = channel_note(Strings::get("el"), &ChannelNote::WebhooksFailVerification.to_string());
        assert_eq!(webhooks, Strings::get("el").t("js-channel-note-webhooks-fail-verification"));
        assert_eq!(channel_note(russian, "the CRC check failed"), "the CRC check failed");
        let url = "https://hark.example/webhooks/ch_1";
        let invalid = channel_note(russian, &ChannelNote::WebhookMarkedInvalid { url: url.into() }.to_string());
        assert!(invalid.contains(url) && invalid.contains("CRC") && !invalid.contains("stopped"), "{invalid}");
    }
}
