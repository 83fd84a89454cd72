//! An open conversation: who and where, the thread, the composer, and the
//! customer's context beside it.

use hark_domain::*;
use maud::{Markup, html};

use super::Ctx;
use super::components::*;
use super::contact;
use super::inbox::encode;
use crate::Strings;
use crate::text;

/// Whether a reply of one visibility may go out now, and how the network
/// measures it (for the composer's counter).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplyChoice {
    pub visibility: Visibility,
    pub allowed: bool,
    /// Why not, in English; shown when the reason has no message of its own.
    pub reason: Option<String>,
    /// The reason's message (`js-refusal-{key}`) and arguments, in the agent's language.
    pub reason_key: Option<String>,
    pub reason_args: Vec<(String, String)>,
    /// `chars`, `utf8_bytes`, `x_weighted`, `mastodon` or `graphemes`.
    pub measure: String,
    pub max: usize,
}

/// Everything the conversation pane shows.
pub struct ConversationPane<'a> {
    pub conversation: &'a Conversation,
    pub contact: &'a Contact,
    pub channel: Option<&'a Channel>,
    /// The newest messages, oldest first.
    pub messages: &'a [Message],
    /// Whether older messages exist than those shown.
    pub older: bool,
    pub reply_options: &'a [ReplyChoice],
    pub presence: &'a [Presence],
    /// The customer's other conversations, newest first.
    pub history: &'a [Conversation],
    pub linked: Option<&'a Conversation>,
    pub snippets: &'a [Snippet],
    pub attributes: &'a [AttributeDefinition],
    /// The inbox list's query, kept in links.
    pub list_query: &'a str,
    /// The rules that ran on this conversation ("why did this happen?").
    pub rule_runs: &'a [hark_domain::rules::RuleRun],
    /// The post a public thread hangs from, when Hark has read it.
    pub post: Option<&'a RootPost>,
    /// Why the reader's replies here would wait for a supervisor, if they would.
    pub approval: Option<permissions::ApprovalReason>,
}

/// The pane: conversation and customer context. Also sent alone when a
/// script opens a conversation without reloading the page.
pub fn pane(ctx: &Ctx<'_>, p: &ConversationPane<'_>) -> Markup {
    let c = p.conversation;
    html! {
        div.conversation-wrap data-id=(c.id) {
            article.conversation data-id=(c.id) data-kind=(c.kind.as_str()) data-status=(c.status.as_str())
                data-version=(c.version) data-network=[p.channel.map(|ch| ch.network.as_str())] {
                (header(ctx, p))
                (linked_banner(ctx, p))
                (super::automation::rule_log(ctx, p.rule_runs))
                @if let Some(thread) = c.platform_thread_id.as_deref().filter(|_| c.kind == ConversationKind::Public) {
                    (thread_context(ctx, p, thread))
                }
                ol.thread aria-label=(ctx.t.t("thread-label")) aria-live="polite" {
                    @if p.older {
                        li.older { a href={ "/api/v1/conversations/" (c.id) "/messages" } { (ctx.t.t("thread-older")) } }
                    }
                    @for m in p.messages {
                        (message(ctx, p.contact, m))
                    }
                }
                (composer(ctx, p))
            }
            (contact::sidebar(ctx, p))
        }
    }
}

fn header(ctx: &Ctx<'_>, p: &ConversationPane<'_>) -> Markup {
    let t = ctx.t;
    let c = p.conversation;
    let network = p.channel.map(|ch| ch.network).unwrap_or(Network::Api);
    let handle = p.contact.identities.iter().find(|i| i.network == network).map(|i| i.handle.as_str());
    html! {
        header.conv-head {
            div.conv-who {
                (avatar(&contact_name(ctx, Some(p.contact)), "md"))
                div {
                    h2 dir="auto" { (contact_name(ctx, Some(p.contact))) }
                    p.conv-where {
                        (network_mark(network))
                        @if let Some(h) = handle.filter(|h| !h.is_empty()) { span.handle dir="auto" { (h) } " · " }
                        span { (p.channel.map(|ch| ch.name.as_str()).unwrap_or("")) }
                        " · " (kind_badge(ctx, c.kind)) " " (status_badge(ctx, c.status))
                        @if let Some(until) = c.snoozed_until { " " span.snoozed { (t.t("snoozed-until")) " " (time(until, "datetime")) } }
                    }
                }
            }
            div.presence aria-live="polite" data-conversation=(c.id) {
                @for who in p.presence.iter().filter(|who| who.user_id != ctx.me.id) {
                    (presence_chip(ctx, who))
                }
            }
            div.conv-actions {
                @if ctx.may(Action::AssignConversation) {
                    select name="assignee_id" data-patch="assignee_id" aria-label=(t.t("assign-label")) {
                        option value="" selected[c.assignee_id.is_none()] { (t.t("row-unassigned")) }
                        @for u in ctx.dir.assignable() {
                            option value=(u.id) selected[c.assignee_id.as_deref() == Some(u.id.as_str())] {
                                (u.name) @if u.id == ctx.me.id { " (" (t.t("filter-me")) ")" }
                            }
                        }
                    }
                    select name="team_id" data-patch="team_id" aria-label=(t.t("team-label")) {
                        option value="" selected[c.team_id.is_none()] { (t.t("no-team")) }
                        @for team in ctx.dir.teams {
                            option value=(team.id) selected[c.team_id.as_deref() == Some(team.id.as_str())] { (team.name) }
                        }
                    }
                }
                @if ctx.may(Action::UpdateConversation) {
                    select name="priority" data-patch="priority" aria-label=(t.t("priority-label")) {
                        @for pr in Priority::ALL {
                            option value=(pr.as_str()) selected[*pr == c.priority] { (t.t(&format!("priority-{}", pr.as_str()))) }
                        }
                    }
                    select name="snooze" data-action="snooze" aria-label=(t.t("snooze-label")) {
                        option value="" { (t.t("snooze-label")) "…" }
                        option value="1h" { (t.t("snooze-1h")) }
                        option value="4h" { (t.t("snooze-4h")) }
                        option value="tomorrow" { (t.t("snooze-tomorrow")) }
                        option value="week" { (t.t("snooze-week")) }
                    }
                    @if c.status == ConversationStatus::Resolved {
                        button type="button" data-action="reopen" { (t.t("action-reopen")) }
                    } @else {
                        button.primary type="button" data-action="resolve" title="e" { (t.t("action-resolve")) }
                    }
                }
                details.more {
                    summary aria-label=(t.t("more-actions")) { "⋯" }
                    div.menu {
                        @if ctx.may(Action::LabelConversation) {
                            fieldset.labels-edit {
                                legend { (t.t("labels-label")) }
                                @for l in ctx.dir.labels {
                                    label.check {
                                        input type="checkbox" name="labels" value=(l.name) checked[c.labels.contains(&l.name)];
                                        (label_chip(ctx, &l.name))
                                    }
                                }
                            }
                        }
                        @if c.kind == ConversationKind::Public && ctx.may(Action::Reply) {
                            button type="button" data-action="move-to-private" { (t.t("action-move-private")) }
                        }
                        @let mergeable: Vec<&Conversation> = p.history.iter().filter(|h| h.id != c.id && h.merged_into_id.is_none()).collect();
                        @if ctx.may(Action::UpdateConversation) && !mergeable.is_empty() {
                            label {
                                (t.t("action-merge"))
                                select name="merge" data-action="merge" {
                                    option value="" { (t.t("merge-choose")) }
                                    @for h in mergeable {
                                        option value=(h.id) { (text::clip(&h.last_message_preview, 50)) }
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

/// Someone else viewing or typing in the conversation.
pub fn presence_chip(ctx: &Ctx<'_>, who: &Presence) -> Markup {
    let key = match who.state {
        PresenceState::Viewing => "presence-viewing",
        PresenceState::Typing => "presence-typing",
    };
    html! {
        span class={ "who-here " (who.state.as_str()) } data-user=(who.user_id) data-expires=(who.expires_at.to_string()) {
            (avatar(&who.user_name, "xs"))
            (ctx.t.t_args(key, &[("name", who.user_name.clone().into())]))
        }
    }
}

fn linked_banner(ctx: &Ctx<'_>, p: &ConversationPane<'_>) -> Markup {
    html! {
        @if let Some(linked) = p.linked {
            div.linked {
                @if p.conversation.kind == ConversationKind::Public {
                    (ctx.t.t("linked-to-private")) " "
                } @else {
                    (ctx.t.t("linked-from-public")) " "
                }
                a href={ "/inbox/c/" (linked.id) "?" (p.list_query) } data-open=(linked.id) { (text::clip(&linked.last_message_preview, 60)) }
            }
        }
    }
}

/// Where a public thread lives on its network, and the post itself when
/// Hark has read it: what the customers are commenting on.
fn thread_context(ctx: &Ctx<'_>, p: &ConversationPane<'_>, thread: &str) -> Markup {
    let t = ctx.t;
    let url = p
        .post
        .and_then(|post| post.url.clone())
        .filter(|u| u.starts_with("https://"))
        .or_else(|| p.channel.and_then(|ch| post_url(ch, thread)));
    let link = html! {
        @if let Some(url) = &url {
            a href=(url) target="_blank" rel="noopener noreferrer" { (t.t("thread-open-network")) " ↗" }
        }
    };
    match p.post {
        Some(post) => html! {
            figure.thread-context.thread-post aria-label=(t.t("thread-post-label")) {
                figcaption.thread-post-head {
                    span.thread-post-title { (t.t("thread-post-title")) }
                    @if let Some(author) = post.author.as_deref().filter(|a| !a.is_empty()) {
                        " " span.author dir="auto" { (author) }
                    }
                    @if let Some(at) = post.posted_at { " " (time(at, "datetime")) }
                    " " (link)
                }
                @if post.text.trim().is_empty() {
                    p.thread-post-text.empty { (t.t("thread-post-no-text")) }
                } @else {
                    blockquote.thread-post-text dir="auto" { (post.text) }
                }
            }
        },
        None => html! {
            div.thread-context {
                span { (t.t("thread-on-post")) " " code { (text::clip(thread, 40)) } }
                @if url.is_some() { " " (link) }
            }
        },
    }
}

/// A link to the post a public thread hangs from, where the network has one by id.
fn post_url(channel: &Channel, thread: &str) -> Option<String> {
    let safe = thread.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !safe {
        return None;
    }
    match channel.network {
        Network::X => Some(format!("https://x.com/i/web/status/{thread}")),
        Network::Facebook => Some(format!("https://www.facebook.com/{thread}")),
        Network::Vk => Some(format!("https://vk.com/wall{thread}")),
        _ => None,
    }
}

/// One message of the thread. Also sent alone when it arrives or changes.
pub fn message(ctx: &Ctx<'_>, contact: &Contact, m: &Message) -> Markup {
    let t = ctx.t;
    let (side, author) = match (m.direction, m.visibility, m.author_kind) {
        (_, Visibility::Note, _) => ("note", author_name(ctx, m)),
        (Direction::Inbound, _, _) => ("in", contact_name(ctx, Some(contact))),
        (Direction::Outbound, _, AuthorKind::Bot | AuthorKind::System) => ("out auto", t.t("author-automatic")),
        (Direction::Outbound, _, _) => ("out", author_name(ctx, m)),
    };
    html! {
        li class={ "msg " (side) " vis-" (m.visibility.as_str()) } id={ "m-" (m.id) } data-id=(m.id)
            data-status=(m.delivery_status.as_str()) {
            div.msg-head {
                span.author dir="auto" { (author) }
                span.vis { (t.t(&format!("visibility-{}", m.visibility.as_str()))) }
                (time(m.created_at, "datetime"))
                @if m.edited_at.is_some() { span.edited { (t.t("message-edited")) } }
                @if !m.personal_data.is_empty() && m.direction == Direction::Inbound {
                    @let kinds: Vec<String> = m.personal_data.iter().map(|p| t.t(&format!("pii-{}", p.kind.replace('_', "-")))).collect();
                    span class={ "pii" @if m.visibility == Visibility::Public { " public" } } title=(kinds.join(", ")) {
                        @if m.visibility == Visibility::Public { (t.t("pii-public")) } @else { (t.t("pii-private")) }
                    }
                }
                (delivery(ctx, m))
                (super::automation::reading(ctx, m))
            }
            div.msg-body dir="auto" {
                @if m.deleted_at.is_some() {
                    em.deleted { (t.t("message-deleted")) }
                } @else if m.visibility == Visibility::Note {
                    (text::note(&m.text))
                } @else {
                    (text::linked(&m.text))
                }
            }
            @if !m.attachments.is_empty() {
                ul.attachments { @for a in &m.attachments { (attachment(ctx, a)) } }
            }
            @if m.direction == Direction::Inbound && m.platform_message_id.is_some() && m.deleted_at.is_none() {
                div.msg-actions {
                    @if ctx.may(Action::Reply) { button.link type="button" data-engage="like" data-message=(m.id) { (t.t("engage-like")) } }
                    @if m.visibility == Visibility::Public && ctx.may(Action::UpdateConversation) {
                        button.link type="button" data-engage="hide" data-message=(m.id) { (t.t("engage-hide")) }
                    }
                }
            }
        }
    }
}

fn author_name(ctx: &Ctx<'_>, m: &Message) -> String {
    m.author_user_id
        .as_deref()
        .and_then(|id| ctx.dir.user(id))
        .map(|u| u.name.clone())
        .unwrap_or_else(|| ctx.t.t("author-team"))
}

/// Hark's own sentence about a delivery in the agent's language, with the
/// network's or reviewer's words inside it as they were; anything else as is.
fn delivery_note(t: &Strings, stored: &str) -> String {
    let note = DeliveryNote::parse(stored);
    if let Some((key, args)) = note.refusal() {
        return refusal_message(t, key, args);
    }
    let Some((key, mut args)) = note.message() else { return stored.to_owned() };
    for (name, value) in &mut args {
        if *name == "network"
            && let Ok(network) = value.parse::<Network>()
        {
            *value = network_names(network).1.to_owned();
        }
    }
    t.t_text_args(&format!("delivery-note-{key}"), args.iter().map(|(n, v)| (*n, v.as_str())))
}

fn delivery(ctx: &Ctx<'_>, m: &Message) -> Markup {
    let t = ctx.t;
    html! {
        @match m.delivery_status {
            DeliveryStatus::Received | DeliveryStatus::Internal => {},
            DeliveryStatus::AwaitingApproval => {
                span.delivery.awaiting { (t.t("delivery-awaiting")) }
                @if ctx.may(Action::ApproveReply) {
                    button.small type="button" data-review="approve" data-message=(m.id) { (t.t("review-approve")) }
                    button.small type="button" data-review="reject" data-message=(m.id) { (t.t("review-reject")) }
                }
            },
            DeliveryStatus::Queued | DeliveryStatus::Sending => {
                span.delivery.sending { (t.t("delivery-sending")) }
                @if let Some(e) = &m.delivery_error { span.delivery-detail { (delivery_note(ctx.t, e)) } }
            },
            DeliveryStatus::Published => span.delivery.published { (t.t("delivery-published")) },
            DeliveryStatus::Delivered => span.delivery.published { (t.t("delivery-delivered")) },
            DeliveryStatus::Read => span.delivery.published { (t.t("delivery-read")) },
            DeliveryStatus::Failed => {
                span.delivery.failed { (t.t("delivery-failed")) }
                @if let Some(e) = &m.delivery_error { span.delivery-detail { (delivery_note(ctx.t, e)) } }
                @if ctx.may(Action::Reply) {
                    button.small type="button" data-retry=(m.id) { (t.t("delivery-retry")) }
                }
            },
        }
    }
}

/// An attachment: its name and kind, a link only to an http(s) address (or
/// to a file an agent uploaded, which Hark serves itself), and a thumbnail
/// only for an image served over https or by Hark.
fn attachment(ctx: &Ctx<'_>, a: &serde_json::Value) -> Markup {
    let field = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let kind = field("type");
    let url = [field("url"), field("link"), field("permalink")].into_iter().find(|u| !u.is_empty()).unwrap_or("");
    let uploaded = a.get("upload_id").is_some() && url.starts_with("/files/");
    let safe_url = (uploaded || url.starts_with("https://") || url.starts_with("http://")).then_some(url);
    let name = [field("name"), field("filename"), field("title")].into_iter().find(|n| !n.is_empty());
    let shown = name
        .map(str::to_owned)
        .unwrap_or_else(|| if kind.is_empty() { ctx.t.t("attachment") } else { kind.replace('_', " ") });
    let size = a.get("size").and_then(|v| v.as_u64());
    html! {
        li.attachment {
            @if kind == "image" && (uploaded || url.starts_with("https://")) {
                img src=(url) alt=(shown) loading="lazy" referrerpolicy="no-referrer" width="160";
            }
            @match safe_url {
                Some(u) => a href=(u) target="_blank" rel="noopener noreferrer nofollow" dir="auto" { (text::clip(&shown, 60)) },
                None => span dir="auto" { (text::clip(&shown, 60)) },
            }
            @if let Some(bytes) = size { span.size { (format_size(bytes)) } }
        }
    }
}

fn format_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_048_576 => format!("{:.1} MB", b as f64 / 1_048_576.0),
        b if b >= 1024 => format!("{} kB", b / 1024),
        b => format!("{b} B"),
    }
}

fn composer(ctx: &Ctx<'_>, p: &ConversationPane<'_>) -> Markup {
    let t = ctx.t;
    let c = p.conversation;
    let can_reply = ctx.may(Action::Reply);
    let options = serde_json::to_string(p.reply_options).unwrap_or_else(|_| "[]".into());
    let first_allowed = p
        .reply_options
        .iter()
        .find(|o| o.allowed && (c.kind == ConversationKind::Public || o.visibility == Visibility::Private))
        .map(|o| o.visibility);
    let initial = match (can_reply, first_allowed) {
        (true, Some(v)) => v,
        _ => Visibility::Note,
    };
    // What is written to the customer is in their language when Hark knows it.
    let customer_t = c.language.as_deref().and_then(Strings::speaking).unwrap_or(t);
    let snippets: Vec<serde_json::Value> =
        p.snippets.iter().map(|s| serde_json::json!({ "id": s.id, "name": s.name, "text": s.text })).collect();
    html! {
        form.composer data-conversation=(c.id) data-options=(options) data-mode=(initial.as_str())
            data-snippets=(serde_json::Value::Array(snippets).to_string()) {
            div.modes role="tablist" aria-label=(t.t("composer-mode")) {
                @if c.kind == ConversationKind::Public {
                    (mode_tab(ctx, p, Visibility::Public, initial, can_reply))
                }
                (mode_tab(ctx, p, Visibility::Private, initial, can_reply))
                (mode_tab(ctx, p, Visibility::Note, initial, ctx.may(Action::WriteNote)))
            }
            p.mode-hint aria-live="polite" {}
            @match p.approval {
                Some(permissions::ApprovalReason::Channel) => p.approval-note { (t.t("composer-needs-approval")) },
                Some(permissions::ApprovalReason::Rule) => p.approval-note { (t.t("composer-needs-approval-rule")) },
                None => {},
            }
            textarea name="text" dir="auto" rows="3" placeholder=(t.t("composer-placeholder"))
                aria-label=(t.t("composer-label")) {}
            div.similar hidden {}
            ul.attachments.pending aria-live="polite" {}
            div.composer-foot {
                button.link type="button" data-action="snippets" aria-haspopup="true" { (t.t("composer-snippets")) }
                button.link type="button" data-action="mention" title=(t.t("composer-mention-title")) { "@" }
                button.link type="button" data-action="attach" title=(t.t("composer-attach-title")) { (t.t("composer-attach")) }
                input.attach-input type="file" hidden aria-label=(t.t("composer-attach"))
                    accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,text/csv";
                details.guidelines {
                    summary { (t.t("guidelines-title")) }
                    ul {
                        li { (t.t("guideline-human")) }
                        li { (t.t("guideline-never-argue")) }
                        li { (t.t("guideline-private-data")) }
                        li { (t.t("guideline-always-answer")) }
                    }
                }
                span.counter aria-live="polite" {}
                button.primary.send type="submit" title="Ctrl+Enter" { (t.t("composer-send")) }
            }
            div.picker.snippet-picker hidden {
                input type="search" placeholder=(t.t("snippets-search")) aria-label=(t.t("snippets-search"));
                ul {}
                p.empty hidden { (t.t("snippets-none")) }
            }
            div.picker.mention-picker hidden { ul {} }
            div.move-private hidden {
                label {
                    span { (t.t("move-private-public-reply")) }
                    input type="text" name="public_reply" value=(customer_t.t("move-private-default-public")) dir="auto";
                }
            }
        }
    }
}

fn mode_tab(ctx: &Ctx<'_>, p: &ConversationPane<'_>, visibility: Visibility, initial: Visibility, may: bool) -> Markup {
    let t = ctx.t;
    let option = p.reply_options.iter().find(|o| o.visibility == visibility);
    let allowed = may && (visibility == Visibility::Note || option.is_some_and(|o| o.allowed));
    let reason = if !may {
        Some(t.t("composer-role-cannot"))
    } else {
        option.filter(|o| !o.allowed).and_then(|o| refusal_text(ctx, o))
    };
    let label = match visibility {
        Visibility::Public => t.t("mode-public"),
        Visibility::Private => t.t("mode-private"),
        Visibility::Note => t.t("mode-note"),
    };
    html! {
        button type="button" role="tab" data-mode=(visibility.as_str()) aria-selected=(if visibility == initial { "true" } else { "false" })
            aria-disabled=(if allowed { "false" } else { "true" }) data-reason=[reason.as_deref()] title=[reason.as_deref()] {
            (label)
        }
    }
}

/// Why a reply may not go out, in the agent's language when the reason has a message.
fn refusal_text(ctx: &Ctx<'_>, choice: &ReplyChoice) -> Option<String> {
    match &choice.reason_key {
        Some(key) => Some(refusal_message(ctx.t, key, &choice.reason_args)),
        None => choice.reason.clone(),
    }
}

/// A network's rule, worded by its refusal message (`js-refusal-{key}`).
fn refusal_message(t: &Strings, key: &str, args: &[(String, String)]) -> String {
    t.t_text_args(&format!("js-refusal-{key}"), args.iter().map(|(name, value)| (name.as_str(), value.as_str())))
}

/// The list-preserving link to a conversation.
pub fn href(conversation_id: &str, list_query: &str) -> String {
    if list_query.is_empty() {
        format!("/inbox/c/{}", encode(conversation_id))
    } else {
        format!("/inbox/c/{}?{list_query}", encode(conversation_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hark's sentences about a delivery read in the agent's language, with
    /// the network's and the reviewer's words kept as they were.
    #[test]
    fn a_delivery_note_is_read_in_the_agents_language() {
        let russian = Strings::get("ru");
        let gave_up = DeliveryNote::GaveUp { attempts: 8, reason: "HTTP 503 Service Unavailable".into() }.to_string();
        let read = delivery_note(russian, &gave_up);
        assert!(
            read.contains("попыток") && read.contains('8') && read.contains("HTTP 503 Service Unavailable"),
            "{read}"
        );

        let unconfirmed = DeliveryNote::Unconfirmed { network: Network::Whatsapp.to_string() }.to_string();
        let read = delivery_note(Strings::get("el"), &unconfirmed);
        assert!(read.contains("WhatsApp") && !read.contains("whatsapp") && !read.contains("did not"), "{read}");

        let rejected = DeliveryNote::RejectedBy { reviewer: "Olga".into(), comment: "Apologise first.".into() };
        let read = delivery_note(Strings::get("zh"), &rejected.to_string());
        assert!(read.contains("Olga") && read.contains("Apologise first.") && read.contains("退回"), "{read}");

        // The network's own words, and anything Hark did not write, as they are.
        for words in ["(#100) The parameter message is required", "gave up after many attempts: x"] {
            assert_eq!(delivery_note(russian, words), words);
        }
        // A network's rule that stopped the reply on its way out, worded as
        // the composer words it.
        let refused = DeliveryNote::Refused {
            key: "window-7-days".into(),
            args: vec![("product".into(), "Messenger".into())],
            text: "Messenger replies within 7 days".into(),
        };
        let read = delivery_note(russian, &refused.to_string());
        let expected = russian.t_text_args("js-refusal-window-7-days", [("product", "Messenger")]);
        assert_eq!(read, expected);
        assert!(!read.contains("within"), "{read}");

        // English reads as the stored sentence's meaning, not its raw text.
        let english = delivery_note(Strings::get("en"), &DeliveryNote::ChannelDisabled.to_string());
        assert_eq!(english, Strings::get("en").t("delivery-note-channel-disabled"));
    }
}
