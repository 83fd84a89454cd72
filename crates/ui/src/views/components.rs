//! Small pieces used across pages: network marks, avatars, badges, times.

use hark_domain::*;
use jiff::Timestamp;
use maud::{Markup, html};

use super::Ctx;
use crate::text::initials;

/// A network's mark: a short label in the network's colour (not its logo).
pub fn network_mark(network: Network) -> Markup {
    let (short, name) = network_names(network);
    html! { span class={ "net net-" (network.as_str()) } title=(name) aria-label=(name) { (short) } }
}

pub fn network_names(network: Network) -> (&'static str, &'static str) {
    match network {
        Network::X => ("X", "X"),
        Network::Facebook => ("f", "Facebook"),
        Network::Instagram => ("IG", "Instagram"),
        Network::Whatsapp => ("WA", "WhatsApp"),
        Network::Telegram => ("TG", "Telegram"),
        Network::Vk => ("VK", "VK"),
        Network::Mastodon => ("M", "Mastodon"),
        Network::Bluesky => ("B", "Bluesky"),
        Network::Email => ("@", "Email"),
        Network::Chat => ("C", "Website chat"),
        Network::Api => ("API", "API"),
    }
}

/// Initials in a circle whose colour is derived from the name.
pub fn avatar(name: &str, size: &str) -> Markup {
    let hue = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 12;
    html! { span class={ "avatar avatar-" (size) " hue-" (hue) } aria-hidden="true" { (initials(name)) } }
}

/// An instant the browser shows in the viewer's language, relative ("5 min
/// ago") or absolute; the text inside is the fallback without scripts.
pub fn time(at: Timestamp, style: &str) -> Markup {
    let iso = at.to_string();
    html! { time datetime=(iso) data-format=(style) { (at.strftime("%Y-%m-%d %H:%M UTC").to_string()) } }
}

/// How long a customer has been waiting, ticking in the browser.
pub fn waiting(ctx: &Ctx<'_>, since: Timestamp) -> Markup {
    let minutes = (ctx.now.as_second() - since.as_second()).max(0) / 60;
    let class = match minutes {
        m if m >= 240 => "waiting late",
        m if m >= 60 => "waiting warn",
        _ => "waiting",
    };
    html! {
        span class=(class) data-waiting-since=(since.to_string()) title=(ctx.t.t("row-waiting-title")) {
            (ctx.t.t_args("row-waiting", &[("minutes", minutes.into())]))
        }
    }
}

pub fn status_badge(ctx: &Ctx<'_>, status: ConversationStatus) -> Markup {
    html! { span class={ "badge status-" (status.as_str()) } { (ctx.t.t(&format!("status-{}", status.as_str()))) } }
}

pub fn kind_badge(ctx: &Ctx<'_>, kind: ConversationKind) -> Markup {
    html! { span class={ "badge kind-" (kind.as_str()) } { (ctx.t.t(&format!("kind-{}", kind.as_str()))) } }
}

pub fn priority_badge(ctx: &Ctx<'_>, priority: Priority) -> Markup {
    html! {
        @if matches!(priority, Priority::High | Priority::Urgent) {
            span class={ "badge priority-" (priority.as_str()) } { (ctx.t.t(&format!("priority-{}", priority.as_str()))) }
        }
    }
}

pub fn sentiment_badge(ctx: &Ctx<'_>, sentiment: Option<Sentiment>) -> Markup {
    html! {
        @if let Some(s) = sentiment.filter(|s| *s != Sentiment::Neutral) {
            span class={ "badge sentiment-" (s.as_str()) } { (ctx.t.t(&format!("sentiment-{}", s.as_str()))) }
        }
    }
}

pub fn intent_badge(ctx: &Ctx<'_>, intent: Option<&str>) -> Markup {
    html! {
        @if let Some(i) = intent.filter(|i| !i.is_empty() && *i != "other") {
            span.badge.intent { (intent_name(ctx, i)) }
        }
    }
}

/// An intent's name in the viewer's language (unknown intents as written).
pub fn intent_name(ctx: &Ctx<'_>, intent: &str) -> String {
    let id = format!("intent-{}", intent.replace('_', "-"));
    let name = ctx.t.t(&id);
    if name.starts_with('⟦') { intent.replace('_', " ") } else { name }
}

/// A label chip in its colour (set by the script from `data-color`, so no
/// inline style is needed under the Content-Security-Policy).
pub fn label_chip(ctx: &Ctx<'_>, name: &str) -> Markup {
    let color = ctx.dir.label(name).map(|l| l.color.as_str()).unwrap_or("#6b7280");
    html! { span.label data-color=(color) { (name) } }
}

/// The name of a language code, in the viewer's language where known.
pub fn language_name(ctx: &Ctx<'_>, code: &str) -> String {
    let name = ctx.t.t(&format!("lang-{code}"));
    if name.starts_with('⟦') { code.to_owned() } else { name }
}

/// A `<select>` option, selected when it is the current value.
pub fn option(value: &str, label: &str, current: Option<&str>) -> Markup {
    html! { option value=(value) selected[current == Some(value)] { (label) } }
}

/// What to call a customer: their name, else a handle, else "customer".
pub fn contact_name(ctx: &Ctx<'_>, contact: Option<&Contact>) -> String {
    let Some(c) = contact else { return ctx.t.t("unknown-customer") };
    if !c.display_name.trim().is_empty() {
        return c.display_name.clone();
    }
    c.identities
        .iter()
        .map(|i| if i.display_name.trim().is_empty() { i.handle.as_str() } else { i.display_name.as_str() })
        .find(|n| !n.trim().is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.t.t("unknown-customer"))
}
