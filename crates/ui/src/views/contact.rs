//! The customer beside the conversation: who they are on every network,
//! what the team knows about them, and everything they wrote before.

use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use super::conversation::{ConversationPane, href};
use crate::text;

pub fn sidebar(ctx: &Ctx<'_>, p: &ConversationPane<'_>) -> Markup {
    let t = ctx.t;
    let ct = p.contact;
    let c = p.conversation;
    let editable = ctx.may(Action::EditContact);
    html! {
        aside.context data-contact=(ct.id) aria-label=(t.t("context-label")) {
            section.card.profile {
                div.profile-head {
                    (avatar(&contact_name(ctx, Some(ct)), "lg"))
                    div {
                        h3 dir="auto" { (contact_name(ctx, Some(ct))) }
                        @if ct.merged_into_id.is_some() { p.muted { (t.t("contact-merged")) } }
                    }
                }
                ul.identities {
                    @for i in &ct.identities {
                        li {
                            (network_mark(i.network))
                            span dir="auto" { (if i.handle.is_empty() { &i.display_name } else { &i.handle }) }
                            @if !i.display_name.is_empty() && i.display_name != ct.display_name && !i.handle.is_empty() {
                                span.muted dir="auto" { (i.display_name) }
                            }
                        }
                    }
                }
                @if editable {
                    form.contact-edit data-api="PATCH /api/v1/contacts/{id}" data-id=(ct.id) {
                        label { span { (t.t("contact-name")) } input name="display_name" value=(ct.display_name) dir="auto" required maxlength="200"; }
                        label { span { (t.t("contact-email")) } input type="email" name="email" value=[ct.email.as_deref()] data-null-if-empty; }
                        label { span { (t.t("contact-phone")) } input type="tel" name="phone" value=[ct.phone.as_deref()] data-null-if-empty; }
                        button.small type="submit" { (t.t("save")) }
                    }
                } @else {
                    dl.facts {
                        @if let Some(e) = &ct.email { dt { (t.t("contact-email")) } dd { (e) } }
                        @if let Some(ph) = &ct.phone { dt { (t.t("contact-phone")) } dd { (ph) } }
                    }
                }
            }
            (attributes(ctx, AttributeScope::Contact, &ct.custom_attributes, p.attributes, editable, &ct.id))
            section.card.this-conversation {
                h4 { (t.t("context-this-conversation")) }
                dl.facts {
                    dt { (t.t("context-status")) } dd { (status_badge(ctx, c.status)) }
                    dt { (t.t("context-assignee")) } dd { (c.assignee_id.as_deref().and_then(|id| ctx.dir.user(id)).map(|u| u.name.as_str()).unwrap_or("—")) }
                    dt { (t.t("context-team")) } dd { (c.team_id.as_deref().and_then(|id| ctx.dir.team(id)).map(|tm| tm.name.as_str()).unwrap_or("—")) }
                    dt { (t.t("context-labels")) } dd { @if c.labels.is_empty() { "—" } @for l in &c.labels { (label_chip(ctx, l)) " " } }
                    @if let Some(lang) = &c.language { dt { (t.t("context-language")) } dd { (language_name(ctx, lang)) } }
                    @if let Some(s) = c.sentiment { dt { (t.t("context-sentiment")) } dd { (t.t(&format!("sentiment-{}", s.as_str()))) } }
                    @if let Some(i) = &c.intent { dt { (t.t("context-intent")) } dd { (intent_name(ctx, i)) } }
                    dt { (t.t("context-started")) } dd { (time(c.created_at, "datetime")) }
                }
            }
            (attributes(ctx, AttributeScope::Conversation, &c.custom_attributes, p.attributes, ctx.may(Action::UpdateConversation), &c.id))
            section.card.history {
                h4 { (t.t("context-history")) }
                @let others: Vec<&Conversation> = p.history.iter().filter(|h| h.id != c.id).collect();
                @if others.is_empty() {
                    p.muted { (t.t("context-history-none")) }
                } @else {
                    ol {
                        @for h in others {
                            li {
                                a href=(href(&h.id, p.list_query)) data-open=(h.id) {
                                    @if let Some(ch) = ctx.dir.channel(&h.channel_id) { (network_mark(ch.network)) }
                                    span.snippet dir="auto" { (text::clip(&h.last_message_preview, 70)) }
                                }
                                span.history-meta {
                                    (status_badge(ctx, h.status)) " " (time(h.timeline.last_activity_at, "relative"))
                                    @if h.merged_into_id.is_some() { " " span.muted { (t.t("conversation-merged")) } }
                                }
                            }
                        }
                    }
                }
            }
            section.card.notes {
                h4 { (t.t("contact-notes")) }
                @if editable {
                    form data-api="PATCH /api/v1/contacts/{id}" data-id=(ct.id) {
                        textarea name="notes" rows="3" dir="auto" aria-label=(t.t("contact-notes")) { (ct.notes) }
                        button.small type="submit" { (t.t("save")) }
                    }
                } @else if ct.notes.is_empty() {
                    p.muted { "—" }
                } @else {
                    p.prewrap dir="auto" { (ct.notes) }
                }
            }
            @if ctx.may(Action::MergeContacts) {
                section.card.merge-contact {
                    h4 { (t.t("contact-merge")) }
                    p.muted { (t.t("contact-merge-hint")) }
                    div.contact-search data-into=(ct.id) {
                        input type="search" placeholder=(t.t("contact-merge-search")) aria-label=(t.t("contact-merge-search"));
                        ul.results {}
                    }
                }
            }
        }
    }
}

/// A card with the custom attributes of one scope, editable when allowed.
fn attributes(
    ctx: &Ctx<'_>,
    scope: AttributeScope,
    values: &CustomAttributes,
    definitions: &[AttributeDefinition],
    editable: bool,
    subject_id: &str,
) -> Markup {
    let t = ctx.t;
    let defs: Vec<&AttributeDefinition> = definitions.iter().filter(|d| d.scope == scope).collect();
    let free: Vec<(&String, &serde_json::Value)> =
        values.iter().filter(|(k, _)| !defs.iter().any(|d| &d.key == *k)).collect();
    let api = match scope {
        AttributeScope::Contact => "PATCH /api/v1/contacts/{id}",
        AttributeScope::Conversation => "PATCH /api/v1/conversations/{id}",
    };
    let title = match scope {
        AttributeScope::Contact => t.t("attributes-contact"),
        AttributeScope::Conversation => t.t("attributes-conversation"),
    };
    html! {
        @if !defs.is_empty() || !free.is_empty() {
            section.card.attributes {
                h4 { (title) }
                @if editable && !defs.is_empty() {
                    form.attributes-edit data-api=(api) data-id=(subject_id) data-wrap="custom_attributes"
                        data-keep=(serde_json::Value::Object(values.clone()).to_string()) {
                        @for d in &defs {
                            (attribute_input(ctx, d, values.get(&d.key)))
                        }
                        button.small type="submit" { (t.t("save")) }
                    }
                } @else {
                    dl.facts {
                        @for d in &defs {
                            dt { (d.label) } dd dir="auto" { (values.get(&d.key).map(show_value).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
                @if !free.is_empty() {
                    dl.facts {
                        @for (k, v) in &free { dt { (k) } dd dir="auto" { (show_value(v)) } }
                    }
                }
            }
        }
    }
}

fn attribute_input(ctx: &Ctx<'_>, d: &AttributeDefinition, value: Option<&serde_json::Value>) -> Markup {
    let text = value.map(show_value).filter(|v| v != "—");
    html! {
        label {
            span { (d.label) }
            @match d.kind {
                AttributeKind::Boolean => {
                    select name=(d.key) data-type="bool" {
                        option value="" { "—" }
                        option value="true" selected[value == Some(&serde_json::Value::Bool(true))] { (ctx.t.t("yes")) }
                        option value="false" selected[value == Some(&serde_json::Value::Bool(false))] { (ctx.t.t("no")) }
                    }
                },
                AttributeKind::List => {
                    select name=(d.key) data-type="text" {
                        option value="" { "—" }
                        @for o in &d.options { option value=(o) selected[text.as_deref() == Some(o.as_str())] { (o) } }
                    }
                },
                AttributeKind::Number => input type="number" step="any" name=(d.key) value=[text] data-type="number";,
                AttributeKind::Date => input type="date" name=(d.key) value=[text] data-type="text";,
                AttributeKind::Link => input type="url" name=(d.key) value=[text] data-type="text";,
                AttributeKind::Text => input type="text" name=(d.key) value=[text] data-type="text" dir="auto";,
            }
        }
    }
}

fn show_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}
