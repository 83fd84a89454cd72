//! Signing in: a plain form that works without scripts.

use maud::{Markup, html};

use super::layout::bare;
use crate::assets;
use crate::i18n::Strings;

/// The sign-in page, with an error sentence after a failed attempt.
pub fn login(t: &Strings, email: &str, error: Option<&str>, next: &str) -> Markup {
    bare(
        t.html_lang(),
        &t.t("sign-in-title"),
        html! {
            div.login {
                div.login-card {
                    div.login-brand { img src=(assets::url("icon.svg")) alt="" width="36" height="36"; span { "Hark" } }
                    h1 { (t.t("sign-in-title")) }
                    p.lede { (t.t("sign-in-lede")) }
                    @if let Some(error) = error {
                        p.error role="alert" { (error) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label {
                            span { (t.t("email-label")) }
                            input type="email" name="email" value=(email) required autocomplete="username" autofocus;
                        }
                        label {
                            span { (t.t("password-label")) }
                            input type="password" name="password" required autocomplete="current-password";
                        }
                        button.primary type="submit" { (t.t("sign-in")) }
                    }
                }
            }
        },
    )
}

/// A page saying what went wrong, with a way back.
pub fn error_page(t: &Strings, title: &str, detail: &str) -> Markup {
    bare(
        t.html_lang(),
        title,
        html! {
            div.login { div.login-card {
                h1 { (title) }
                p { (detail) }
                a.button href="/inbox" { (t.t("back-to-inbox")) }
            } }
        },
    )
}
