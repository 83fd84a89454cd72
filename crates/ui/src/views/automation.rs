//! Automation in the interface: the rules settings (a readable
//! when / if / then editor, order, on/off), assignment settings (languages,
//! capacity, who publishes from each channel), the approval queue, the rule
//! log on a conversation and the correction of what Hark read in a message.

use hark_domain::assignment::AgentProfile;
use hark_domain::permissions::PublishPolicy;
use hark_domain::rules::*;
use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use crate::i18n::Strings;
use crate::text;

/// A waiting reply as the approval queue shows it.
pub struct PendingLine<'a> {
    pub message: &'a Message,
    pub conversation: &'a Conversation,
    pub answering: Option<&'a Message>,
    pub contact: Option<Contact>,
    pub may_approve: bool,
}

const TRIGGERS: &[&str] =
    &["message_received", "conversation_created", "status_changed", "assigned", "sla_warning", "sla_breached", "idle"];

/// The intents of the shipped taxonomy, for corrections.
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

fn trigger_text(ctx: &Ctx<'_>, trigger: &Trigger) -> String {
    match trigger {
        Trigger::Idle { minutes } => ctx.t.t_args("rule-trigger-idle-for", &[("minutes", (*minutes).into())]),
        other => ctx.t.t(&format!("rule-trigger-{}", other.name().replace('_', "-"))),
    }
}

fn condition_text(ctx: &Ctx<'_>, c: &Condition) -> String {
    let field = ctx.t.t(&format!("rule-field-{}", c.field.as_str().replace('_', "-")));
    let field = if c.key.is_empty() { field } else { format!("{field} {}", c.key) };
    let op = ctx.t.t(&format!("rule-op-{}", c.op.as_str().replace('_', "-")));
    format!("{field} {op} {}", c.value)
}

/// What an action does, in words (names looked up in the directory).
pub fn action_text(ctx: &Ctx<'_>, a: &RuleAction, snippets: &[Snippet]) -> String {
    let name = ctx.t.t(&format!("rule-action-{}", a.name().replace('_', "-")));
    let team = |id: &str| ctx.dir.team(id).map(|t| t.name.clone()).unwrap_or_else(|| id.to_owned());
    let detail = match a {
        RuleAction::AssignTeam { team_id, round_robin } => {
            let mut t = team(team_id);
            if *round_robin {
                t.push_str(&format!(" ({})", ctx.t.t("rule-round-robin")));
            }
            t
        }
        RuleAction::AssignAgent { user_id } => ctx.dir.user(user_id).map(|u| u.name.clone()).unwrap_or_default(),
        RuleAction::AddLabel { label } | RuleAction::RemoveLabel { label } => label.clone(),
        RuleAction::SetPriority { priority } => ctx.t.t(&format!("priority-{}", priority.as_str())),
        RuleAction::ReplyPublic { text } | RuleAction::ReplyPrivate { text } => format!("“{}”", text::clip(text, 60)),
        RuleAction::MoveToPrivate { public_text, .. } => format!("“{}”", text::clip(public_text, 60)),
        RuleAction::SendSnippet { snippet_id, .. } => snippet_name(snippets, snippet_id),
        RuleAction::Snooze { minutes } => format!("{minutes} min"),
        RuleAction::NotifySlack { url, .. } | RuleAction::Webhook { url, .. } => text::clip(url, 50),
        RuleAction::Email { to, .. } => to.clone(),
        RuleAction::AutoAnswer { answers, .. } => format!("{} ×", answers.len()),
        _ => String::new(),
    };
    if detail.is_empty() { name } else { format!("{name}: {detail}") }
}

/// A snippet's name for the rule's summary, or its id if it is gone.
fn snippet_name(snippets: &[Snippet], id: &str) -> String {
    snippets.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| id.to_owned())
}

/// The rules settings: every rule as a card, in order.
pub fn rules_tab(ctx: &Ctx<'_>, rules: &[Rule], snippets: &[Snippet]) -> Markup {
    let t = ctx.t;
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    html! {
        p.muted { (t.t("rules-hint")) }
        ol.rules data-rule-ids=(serde_json::to_string(&ids).unwrap_or_default()) {
            @for (i, rule) in rules.iter().enumerate() {
                li.card.rule data-id=(rule.id) data-enabled=(rule.enabled) {
                    div.rule-head {
                        strong.rule-name dir="auto" { (rule.name) }
                        @if !rule.enabled { " " span.badge { (t.t("rule-disabled")) } }
                        div.row-actions {
                            button.small type="button" data-rule-move="up" disabled[i == 0] aria-label=(t.t("rule-move-up")) { "↑" }
                            button.small type="button" data-rule-move="down" disabled[i + 1 == rules.len()] aria-label=(t.t("rule-move-down")) { "↓" }
                            button.small type="button" data-api="PATCH /api/v1/rules/{id}" data-id=(rule.id)
                                data-body=(serde_json::json!({ "enabled": !rule.enabled }).to_string()) {
                                @if rule.enabled { (t.t("rule-disable")) } @else { (t.t("rule-enable")) }
                            }
                            button.small.danger type="button" data-api="DELETE /api/v1/rules/{id}" data-id=(rule.id) data-confirm=(t.t("confirm-delete")) { (t.t("delete")) }
                        }
                    }
                    (summary(ctx, &rule.definition, snippets))
                    details.rule-edit {
                        summary { (t.t("rule-edit")) }
                        (editor(ctx, Some(rule), snippets))
                    }
                }
            }
        }
        details.create open[rules.is_empty()] {
            summary.button { (t.t("rule-add")) }
            (editor(ctx, None, snippets))
        }
    }
}

/// "When … if all of … then …", as a person reads it.
fn summary(ctx: &Ctx<'_>, d: &RuleDefinition, snippets: &[Snippet]) -> Markup {
    let t = ctx.t;
    html! {
        dl.rule-summary {
            dt { (t.t("rule-when")) } dd { (trigger_text(ctx, &d.trigger)) }
            dt { @if d.conditions.mode == MatchMode::Any { (t.t("rule-if-any")) } @else { (t.t("rule-if-all")) } }
            dd {
                @if d.conditions.items.is_empty() { (t.t("rule-always")) }
                @else { ul { @for c in &d.conditions.items { li dir="auto" { (condition_text(ctx, c)) } } } }
            }
            dt { (t.t("rule-then")) }
            dd {
                ol { @for a in &d.actions { li dir="auto" { (action_text(ctx, a, snippets)) } } }
                @if d.stop { p.muted { (t.t("rule-stops")) } }
                @if d.reply_to_negative { p.muted { (t.t("rule-replies-to-negative")) } }
            }
        }
    }
}

/// The editor: trigger, conditions and actions as fields. Each action row
/// has a type and the parameters that type takes; the others stay hidden.
fn editor(ctx: &Ctx<'_>, rule: Option<&Rule>, snippets: &[Snippet]) -> Markup {
    let t = ctx.t;
    let d = rule.map(|r| &r.definition);
    let (method, id) = match rule {
        Some(r) => ("PATCH /api/v1/rules/{id}", Some(r.id.as_str())),
        None => ("POST /api/v1/rules", None),
    };
    let trigger = d.map(|d| d.trigger.name()).unwrap_or("message_received");
    let minutes = match d.map(|d| &d.trigger) {
        Some(Trigger::Idle { minutes }) => minutes.to_string(),
        _ => "60".to_owned(),
    };
    let items: Vec<Option<&Condition>> = d
        .map(|d| d.conditions.items.iter().map(Some).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(std::iter::repeat_n(None, 2))
        .collect();
    let actions: Vec<serde_json::Value> = match d {
        Some(d) => d.actions.iter().map(|a| serde_json::to_value(a).unwrap_or_default()).collect(),
        None => vec![serde_json::json!({ "type": "set_priority", "priority": "high" })],
    };
    html! {
        form.rule-form data-rule-form=(method) data-id=[id] data-patch=[rule.map(|_| "true")] {
            label { span { (t.t("rule-name")) } input name="name" value=[rule.map(|r| r.name.as_str())] required maxlength="200"; }
            fieldset.when {
                legend { (t.t("rule-when")) }
                select name="trigger" aria-label=(t.t("rule-when")) {
                    @for name in TRIGGERS {
                        option value=(name) selected[*name == trigger] { (t.t(&format!("rule-trigger-{}", name.replace('_', "-")))) }
                    }
                }
                label.inline { span { (t.t("rule-idle-minutes")) } input name="minutes" type="number" min="1" value=(minutes); }
            }
            fieldset.if {
                legend {
                    select name="mode" aria-label=(t.t("rule-if-all")) {
                        option value="all" selected[d.is_none_or(|d| d.conditions.mode == MatchMode::All)] { (t.t("rule-if-all")) }
                        option value="any" selected[d.is_some_and(|d| d.conditions.mode == MatchMode::Any)] { (t.t("rule-if-any")) }
                    }
                }
                @for c in &items {
                    div.condition data-condition {
                        select name="field" aria-label=(t.t("rule-field")) {
                            option value="" { "—" }
                            @for f in Field::ALL {
                                option value=(f.as_str()) selected[c.is_some_and(|c| c.field == *f)] { (t.t(&format!("rule-field-{}", f.as_str().replace('_', "-")))) }
                            }
                        }
                        select name="op" aria-label=(t.t("rule-op")) {
                            @for o in Op::ALL {
                                option value=(o.as_str()) selected[c.is_some_and(|c| c.op == *o)] { (t.t(&format!("rule-op-{}", o.as_str().replace('_', "-")))) }
                            }
                        }
                        input name="key" placeholder=(t.t("rule-key")) value=[c.map(|c| c.key.as_str())] aria-label=(t.t("rule-key"));
                        input name="value" placeholder=(t.t("rule-value")) value=[c.map(|c| c.value.as_str())] aria-label=(t.t("rule-value")) dir="auto";
                    }
                }
            }
            fieldset.then {
                legend { (t.t("rule-then")) }
                div.actions data-actions {
                    @for a in &actions { (action_row(ctx, a, snippets)) }
                }
                template data-action-template { (action_row(ctx, &serde_json::json!({ "type": "add_label" }), snippets)) }
                button.small type="button" data-action-add { "+ " (t.t("rule-action-add")) }
            }
            label.check { input type="checkbox" name="stop" checked[d.is_some_and(|d| d.stop)]; (t.t("rule-stop")) }
            label.check { input type="checkbox" name="reply_to_negative" checked[d.is_some_and(|d| d.reply_to_negative)]; (t.t("rule-reply-to-negative")) }
            button.primary type="submit" { @if rule.is_some() { (t.t("save")) } @else { (t.t("create")) } }
        }
    }
}

/// The shape of the bot's answers (JSON is the same in every language).
const ANSWERS_EXAMPLE: &str = r#"[{"snippet_id": "…", "intents": ["order_delivery"], "keywords": ["delivery"]}]"#;

/// How an action parameter is entered.
enum ParamInput {
    Text,
    LongText,
    Number,
    Check,
    Json,
    Team {
        optional: bool,
    },
    Agent,
    Label,
    Priority,
    Visibility,
    /// One of the workspace's snippets, by name (optional where the type allows none).
    Snippet,
}

/// Every action parameter: its key in the action's JSON, how it is
/// entered, and the action types that take it.
const PARAMS: &[(&str, ParamInput, &[&str])] = &[
    ("team_id", ParamInput::Team { optional: false }, &["assign_team"]),
    ("round_robin", ParamInput::Check, &["assign_team"]),
    ("user_id", ParamInput::Agent, &["assign_agent"]),
    ("label", ParamInput::Label, &["add_label", "remove_label"]),
    ("priority", ParamInput::Priority, &["set_priority"]),
    ("text", ParamInput::LongText, &["reply_public", "reply_private", "notify_slack"]),
    ("public_text", ParamInput::LongText, &["move_to_private"]),
    ("private_text", ParamInput::LongText, &["move_to_private"]),
    ("snippet_id", ParamInput::Snippet, &["send_snippet", "move_to_private"]),
    ("visibility", ParamInput::Visibility, &["send_snippet"]),
    ("answers", ParamInput::Json, &["auto_answer"]),
    ("handoff_team_id", ParamInput::Team { optional: true }, &["auto_answer"]),
    ("minutes", ParamInput::Number, &["snooze"]),
    ("url", ParamInput::Text, &["notify_slack", "webhook"]),
    ("secret", ParamInput::Text, &["webhook"]),
    ("to", ParamInput::Text, &["email"]),
    ("subject", ParamInput::Text, &["email"]),
];

/// One action of the editor: its type, then every parameter, those of
/// other types hidden (the script shows the right ones as the type changes
/// and sends only those).
fn action_row(ctx: &Ctx<'_>, action: &serde_json::Value, snippets: &[Snippet]) -> Markup {
    let t = ctx.t;
    let kind = action["type"].as_str().unwrap_or_default();
    let text_of = |key: &str| match &action[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(a) if a.is_empty() => String::new(),
        other if key == "answers" => serde_json::to_string_pretty(other).unwrap_or_default(),
        other => other.to_string(),
    };
    html! {
        div.action data-action {
            select data-action-type aria-label=(t.t("rule-action-type")) {
                @for name in RuleAction::NAMES {
                    option value=(name) selected[*name == kind] { (t.t(&format!("rule-action-{}", name.replace('_', "-")))) }
                }
            }
            @for (key, how, types) in PARAMS {
                @let value = text_of(key);
                @let label = t.t(&format!("rule-param-{}", key.replace('_', "-")));
                label.param data-param=(key) data-for=(types.join(" ")) hidden[!types.contains(&kind)] {
                    span { (label) }
                    @match how {
                        ParamInput::Text => input data-key=(key) value=(value) dir="auto" aria-label=(label);
                        ParamInput::LongText => textarea data-key=(key) rows="2" dir="auto" aria-label=(label) { (value) },
                        ParamInput::Number => input data-key=(key) data-type="number" type="number" min="1" value=(value) aria-label=(label);
                        ParamInput::Check => input data-key=(key) type="checkbox" checked[action[key] == true] aria-label=(label);
                        ParamInput::Json => {
                            textarea data-key=(key) data-type="json" rows="4" spellcheck="false" aria-label=(label)
                                placeholder=(ANSWERS_EXAMPLE) { (value) }
                            @if !snippets.is_empty() {
                                details.snippet-ids {
                                    summary { (t.t("rule-snippet-ids")) }
                                    ul { @for s in snippets { li { span dir="auto" { (s.name) } ": " code { (s.id) } } } }
                                }
                            }
                        },
                        ParamInput::Team { optional } => select data-key=(key) aria-label=(label) {
                            @if *optional { option value="" { "—" } }
                            @for team in ctx.dir.teams {
                                option value=(team.id) selected[team.id == value] { (team.name) }
                            }
                        },
                        ParamInput::Agent => select data-key=(key) aria-label=(label) {
                            @for user in ctx.dir.users.iter().filter(|u| u.active) {
                                option value=(user.id) selected[user.id == value] { (user.name) }
                            }
                        },
                        ParamInput::Label => select data-key=(key) aria-label=(label) {
                            @for l in ctx.dir.labels {
                                option value=(l.name) selected[l.name == value] { (l.name) }
                            }
                        },
                        ParamInput::Priority => select data-key=(key) aria-label=(label) {
                            @for p in Priority::ALL {
                                option value=(p.as_str()) selected[p.as_str() == value] { (t.t(&format!("priority-{}", p.as_str()))) }
                            }
                        },
                        ParamInput::Snippet => select data-key=(key) aria-label=(label) {
                            option value="" { "—" }
                            @for s in snippets {
                                option value=(s.id) selected[s.id == value] dir="auto" { (s.name) }
                            }
                            // A rule may name a snippet deleted since: keep it, marked.
                            @if !value.is_empty() && !snippets.iter().any(|s| s.id == value) {
                                option value=(value) selected { (t.t("rule-snippet-missing")) " (" (value) ")" }
                            }
                        },
                        ParamInput::Visibility => select data-key=(key) aria-label=(label) {
                            @for v in ["private", "public"] {
                                option value=(v) selected[v == value] { (t.t(&format!("visibility-{v}"))) }
                            }
                        },
                    }
                }
            }
            button.small type="button" data-action-remove aria-label=(t.t("rule-action-remove")) { "×" }
        }
    }
}

/// Assignment settings: each person's languages and capacity, and who
/// publishes from each channel without approval.
pub fn assignment_tab(ctx: &Ctx<'_>, profiles: &[AgentProfile], policies: &[(String, PublishPolicy)]) -> Markup {
    let t = ctx.t;
    html! {
        table.grid.assignment {
            thead { tr { th { (t.t("user-name")) } th { (t.t("user-availability")) } th { (t.t("assignment-languages")) } th { (t.t("assignment-capacity")) } th {} } }
            tbody {
                @for u in ctx.dir.users.iter().filter(|u| u.active) {
                    @let p = profiles.iter().find(|p| p.user_id == u.id);
                    tr {
                        td { (avatar(&u.name, "xs")) " " (u.name) }
                        td { span class={ "availability-dot " (u.availability.as_str()) } {} (t.t(&format!("availability-{}", u.availability.as_str()))) }
                        td colspan="3" {
                            form.inline data-api="PUT /api/v1/users/{id}/assignment" data-id=(u.id) {
                                input name="languages" data-type="csv" placeholder="en, ru" aria-label=(t.t("assignment-languages"))
                                    value=(p.map(|p| p.languages.join(", ")).unwrap_or_default());
                                input name="capacity" type="number" min="0" data-type="number" aria-label=(t.t("assignment-capacity"))
                                    placeholder="∞" value=[p.and_then(|p| p.capacity)];
                                button.small type="submit" { (t.t("save")) }
                            }
                        }
                    }
                }
            }
        }
        p.muted { (t.t("assignment-hint")) }
        h2 { (t.t("policy-title")) }
        p.muted { (t.t("policy-hint")) }
        div.cards {
            @for c in ctx.dir.channels {
                @let policy = policies.iter().find(|(id, _)| *id == c.id).map(|(_, p)| p.clone()).unwrap_or_default();
                form.card.policy data-api="PUT /api/v1/channels/{id}/publish-policy" data-id=(c.id) {
                    strong { (network_mark(c.network)) " " (c.name) }
                    fieldset { legend { (t.t("policy-publish-roles")) }
                        @for r in Role::ALL {
                            label.check {
                                input type="checkbox" name="publish_roles" value=(r.as_str()) data-type="list" checked[policy.publish_roles.contains(r)];
                                (t.t(&format!("role-{}", r.as_str())))
                            }
                        }
                    }
                    button.small type="submit" { (t.t("save")) }
                }
            }
        }
    }
}

/// The approval queue: each waiting reply beside what it answers, to
/// approve as written, edit and approve, or reject with a comment.
pub fn approvals_tab(ctx: &Ctx<'_>, pending: &[PendingLine<'_>]) -> Markup {
    let t = ctx.t;
    html! {
        @if pending.is_empty() { p.empty { (t.t("approvals-empty")) } }
        ol.approvals {
            @for p in pending {
                li.card.approval data-id=(p.message.id) {
                    div.approval-head {
                        a href={ "/inbox/c/" (p.conversation.id) } dir="auto" { (contact_name(ctx, p.contact.as_ref())) }
                        " · " (kind_badge(ctx, p.conversation.kind))
                        // A public conversation may be answered privately (a private
                        // reply to a comment); otherwise the kind says it all.
                        @if p.conversation.kind == ConversationKind::Public && p.message.visibility != Visibility::Public {
                            " · " span { (t.t(&format!("visibility-{}", p.message.visibility.as_str()))) }
                        }
                        " · " (t.t("approvals-by")) " " strong { (p.message.author_user_id.as_deref().and_then(|id| ctx.dir.user(id)).map(|u| u.name.as_str()).unwrap_or("")) }
                        " · " (time(p.message.created_at, "relative"))
                    }
                    @if let Some(a) = p.answering {
                        blockquote.answering dir="auto" { (text::clip(&a.text, 400)) }
                    }
                    @if p.may_approve {
                        form.review data-api="POST /api/v1/messages/{id}/review" data-id=(p.message.id) {
                            input type="hidden" name="approve" value="true" data-type="bool";
                            label { span { (t.t("approvals-reply")) } textarea name="text" rows="3" dir="auto" { (p.message.text) } }
                            button.primary type="submit" { (t.t("approvals-approve")) }
                        }
                        form.review.reject data-api="POST /api/v1/messages/{id}/review" data-id=(p.message.id) {
                            input type="hidden" name="approve" value="false" data-type="bool";
                            label { span { (t.t("approvals-comment")) } textarea name="comment" rows="2" required {} }
                            button.danger type="submit" { (t.t("approvals-reject")) }
                        }
                    } @else {
                        p.msg-body dir="auto" { (p.message.text) }
                        p.muted { (t.t("approvals-not-yours")) }
                    }
                }
            }
        }
    }
}

/// What an action did, in the agent's language when the detail has a message.
fn outcome_detail(t: &Strings, outcome: &ActionOutcome) -> String {
    let Some(key) = &outcome.key else { return outcome.detail.clone() };
    let mut sentences = vec![detail_sentence(t, key, &outcome.args)];
    sentences.extend(outcome.more.iter().map(|part| detail_sentence(t, &part.key, &part.args)));
    sentences.join("; ")
}

/// One sentence of a detail in the agent's language. A `kinds` argument
/// lists personal-data kinds, each named in that language too.
fn detail_sentence(t: &Strings, key: &str, args: &std::collections::BTreeMap<String, String>) -> String {
    let kinds = args.get("kinds").map(|kinds| {
        kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| t.t(&format!("pii-{}", k.replace('_', "-"))))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let args = args.iter().map(|(k, v)| match (k.as_str(), &kinds) {
        ("kinds", Some(named)) => (k.as_str(), named.as_str()),
        _ => (k.as_str(), v.as_str()),
    });
    t.t_text_args(&format!("rule-detail-{key}"), args)
}

/// The rule log of a conversation: every rule that ran and what each action did.
pub fn rule_log(ctx: &Ctx<'_>, runs: &[RuleRun]) -> Markup {
    let t = ctx.t;
    html! {
        @if !runs.is_empty() {
            details.rule-log {
                summary { (t.t_args("rule-log-title", &[("count", runs.len().into())])) }
                ol {
                    @for run in runs.iter().rev() {
                        li.rule-run data-rule=(run.rule_id) {
                            div { strong dir="auto" { (run.rule_name) } " · " (t.t(&format!("rule-trigger-{}", run.trigger.replace('_', "-")))) " · " (time(run.at, "relative")) }
                            ul {
                                @for a in &run.actions {
                                    li class={ "outcome " (a.result) } {
                                        span.result { (t.t(&format!("rule-result-{}", a.result))) } " "
                                        (t.t(&format!("rule-action-{}", a.action.replace('_', "-")))) ": "
                                        span dir="auto" { (outcome_detail(t, a)) }
                                    }
                                }
                                @if run.status == "running" { li.outcome { (t.t("rule-running")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What Hark read in a customer's message, and a way to correct it.
pub fn reading(ctx: &Ctx<'_>, m: &Message) -> Markup {
    let t = ctx.t;
    html! {
        @if m.direction == Direction::Inbound && (m.sentiment.is_some() || m.intent.is_some()) {
            details.reading {
                summary title=(t.t("reading-title")) {
                    @if let Some(s) = m.sentiment { span class={ "read sentiment-" (s.as_str()) } { (t.t(&format!("sentiment-{}", s.as_str()))) } }
                    @if let Some(i) = &m.intent { " " span.read.intent { (intent_name(ctx, i)) } }
                }
                @if ctx.may(Action::UpdateConversation) {
                    form.correct data-api="POST /api/v1/messages/{id}/correction" data-id=(m.id) {
                        label { span { (t.t("reading-sentiment")) }
                            select name="sentiment" {
                                @for s in Sentiment::ALL { option value=(s.as_str()) selected[m.sentiment == Some(*s)] { (t.t(&format!("sentiment-{}", s.as_str()))) } }
                            }
                        }
                        label { span { (t.t("reading-intent")) }
                            select name="intent" {
                                @for i in INTENTS { option value=(i) selected[m.intent.as_deref() == Some(*i)] { (intent_name(ctx, i)) } }
                            }
                        }
                        button.small type="submit" { (t.t("reading-correct")) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bot's hand-over reads as one line of several sentences, each in the
    /// agent's language; personal-data kinds are named in it too.
    #[test]
    fn a_detail_of_several_sentences_is_read_in_the_agents_language() {
        let said = ActionOutcome::done("auto_answer", "public reply: Passing you to a colleague.")
            .said_as("replied-public", &[("text", "Passing you to a colleague.")]);
        let handed = ActionOutcome::done("auto_answer", "handed over to a person (asked for a person)")
            .said_as("handed-over-asked", &[])
            .and_said("assigned to Dmitri", "assigned-to", &[("agent", "Dmitri")])
            .and_then(&said);
        let russian = Strings::get("ru");
        let expected = [
            russian.t_text_args("rule-detail-handed-over-asked", []),
            russian.t_text_args("rule-detail-assigned-to", [("agent", "Dmitri")]),
            russian.t_text_args("rule-detail-replied-public", [("text", "Passing you to a colleague.")]),
        ]
        .join("; ");
        let read = outcome_detail(russian, &handed);
        assert_eq!(read, expected);
        assert!(read.starts_with("передано сотруднику") && read.contains("Dmitri"), "{read}");
        let posted = ActionOutcome::done("add_label", "personal-data: card_number, iban posted publicly")
            .said_as("personal-data-posted", &[("label", "personal-data"), ("kinds", "card_number,iban")]);
        let greek = outcome_detail(Strings::get("el"), &posted);
        assert!(greek.contains(&Strings::get("el").t("pii-card-number")), "{greek}");
        assert!(!greek.contains("card_number"), "{greek}");
        // Words without a message (an error's own) are shown as they are.
        let failed = ActionOutcome::failed("assign_team", "team not found");
        assert_eq!(outcome_detail(russian, &handed.clone().and_then(&failed)), handed.and_then(&failed).detail);
    }
}
