//! The frame of every signed-in page: the top bar (search, availability,
//! notifications, the person's menu) and what the scripts need to start.

use hark_domain::*;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Ctx;
use super::components::avatar;
use crate::assets;
use crate::i18n::LOCALES;

/// Which part of the workspace a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Inbox,
    Settings,
    Reports,
    Dashboard,
}

/// A whole page around `body`.
pub fn page(ctx: &Ctx<'_>, section: Section, title: &str, search: &str, body: Markup) -> Markup {
    let t = ctx.t;
    html! {
        (DOCTYPE)
        html lang=(t.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Hark" }
                link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url("app.css"));
                script type="application/json" id="hark-boot" { (boot_json(ctx)) }
                script type="module" src=(assets::url("app.js")) {}
            }
            body data-section=(match section { Section::Inbox => "inbox", Section::Settings => "settings", Section::Reports => "reports", Section::Dashboard => "dashboard" }) {
                a.skip href="#main" { (t.t("skip-to-content")) }
                header.topbar {
                    a.brand href="/inbox" { img src=(assets::url("icon.svg")) alt="" width="22" height="22"; span { "Hark" } }
                    span.workspace-name { (ctx.workspace_name) }
                    form.search role="search" action="/inbox" method="get" {
                        input type="search" name="q" value=(search) placeholder=(t.t("search-placeholder"))
                            aria-label=(t.t("search-label")) autocomplete="off";
                        input type="hidden" name="view" value="all";
                        kbd { "/" }
                    }
                    nav.top-links {
                        a href="/inbox" aria-current=[(section == Section::Inbox).then_some("page")] { (t.t("nav-inbox")) }
                        @if ctx.may(Action::ViewReports) {
                            a href="/dashboard" aria-current=[(section == Section::Dashboard).then_some("page")] { (t.t("nav-dashboard")) }
                            a href="/reports" aria-current=[(section == Section::Reports).then_some("page")] { (t.t("nav-reports")) }
                        }
                        @if ctx.may(Action::ManageLabels) || ctx.may(Action::ManageSnippets) || ctx.may(Action::ManageChannels) {
                            a href="/settings" aria-current=[(section == Section::Settings).then_some("page")] { (t.t("nav-settings")) }
                        }
                    }
                    div.top-right {
                        select.availability name="availability" aria-label=(t.t("availability-label")) data-current=(ctx.me.availability.as_str()) {
                            @for a in Availability::ALL {
                                option value=(a.as_str()) selected[*a == ctx.me.availability] { (t.t(&format!("availability-{}", a.as_str()))) }
                            }
                        }
                        button.bell type="button" aria-label=(t.t("notifications-label")) aria-haspopup="true" {
                            svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" {
                                path d="M12 3a6 6 0 0 0-6 6v3.5L4.5 15v1h15v-1L18 12.5V9a6 6 0 0 0-6-6Zm-2 15a2 2 0 0 0 4 0" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linejoin="round" {}
                            }
                            span.count hidden[ctx.unread_notifications == 0] { (ctx.unread_notifications) }
                        }
                        div.notifications-panel hidden {
                            div.panel-head {
                                strong { (t.t("notifications-title")) }
                                button.link type="button" data-action="read-all" { (t.t("notifications-read-all")) }
                            }
                            ol.notifications {}
                            p.empty { (t.t("notifications-empty")) }
                        }
                        details.me {
                            summary aria-label=(t.t("menu-label")) { (avatar(&ctx.me.name, "sm")) span.me-name { (ctx.me.name) } }
                            div.menu {
                                p.me-role { (t.t(&format!("role-{}", ctx.me.role.as_str()))) " · " (ctx.me.email) }
                                label {
                                    (t.t("language-label"))
                                    select.locale name="locale" {
                                        @for (code, name, _) in LOCALES {
                                            option value=(code) selected[*code == ctx.me.locale] lang=(code) { (name) }
                                        }
                                    }
                                }
                                button.link type="button" data-action="shortcuts" { (t.t("shortcuts-open")) }
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf_token" value=(ctx.csrf);
                                    button.link type="submit" { (t.t("sign-out")) }
                                }
                            }
                        }
                    }
                }
                div.alerts aria-live="polite" {}
                main #main { (body) }
                div #toasts aria-live="polite" {}
                (shortcuts(ctx))
            }
        }
    }
}

/// What the scripts start with, as JSON inside a non-executable script
/// element. `<`, `>` and `&` are escaped so no text can close the element.
fn boot_json(ctx: &Ctx<'_>) -> PreEscaped<String> {
    let boot = serde_json::json!({
        "csrf": ctx.csrf,
        "me": { "id": ctx.me.id, "name": ctx.me.name, "role": ctx.me.role, "locale": ctx.me.locale },
        "locale": ctx.t.html_lang(),
        "strings": ctx.t.client_messages(),
        "users": ctx.dir.users.iter().filter(|u| u.active).map(|u| serde_json::json!({ "id": u.id, "name": u.name, "email": u.email })).collect::<Vec<_>>(),
    });
    PreEscaped(script_safe_json(&boot))
}

/// JSON that can sit inside an HTML `<script>` element.
pub fn script_safe_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

fn shortcuts(ctx: &Ctx<'_>) -> Markup {
    let t = ctx.t;
    let keys = [
        ("j / k", "shortcut-next-previous"),
        ("Enter", "shortcut-open"),
        ("x", "shortcut-select"),
        ("e", "shortcut-resolve"),
        ("a", "shortcut-assign"),
        ("r", "shortcut-reply"),
        ("n", "shortcut-note"),
        ("/", "shortcut-search"),
        ("Ctrl + Enter", "shortcut-send"),
        ("?", "shortcut-help"),
    ];
    html! {
        dialog #shortcuts {
            h2 { (t.t("shortcuts-title")) }
            dl {
                @for (key, id) in keys {
                    dt { kbd { (key) } }
                    dd { (t.t(id)) }
                }
            }
            form method="dialog" { button type="submit" { (t.t("close")) } }
        }
    }
}

/// A page for someone not signed in (the sign-in page) or an error.
pub fn bare(lang: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Hark" }
                link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url("app.css"));
            }
            body.bare { main #main { (body) } }
        }
    }
}
