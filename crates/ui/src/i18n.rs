//! The interface's words in each language Hark speaks, from Fluent files
//! compiled into the binary (`locales/*.ftl`). A message missing from a
//! translation falls back to English; one missing from English shows as
//! `⟦key⟧`, which the tests look for on every page.
//!
//! Customers' own text is never translated or passed through here.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The interface languages: code, the name of the language in itself, and its Fluent source.
pub const LOCALES: &[(&str, &str, &str)] = &[
    ("en", "English", include_str!("../locales/en.ftl")),
    ("ru", "Русский", include_str!("../locales/ru.ftl")),
    ("zh", "简体中文", include_str!("../locales/zh.ftl")),
    ("el", "Ελληνικά", include_str!("../locales/el.ftl")),
];

/// Messages whose id starts with this are also sent to the browser's scripts.
const CLIENT_PREFIX: &str = "js-";

/// One language's messages.
pub struct Strings {
    code: &'static str,
    bundle: FluentBundle<FluentResource>,
    fallback: Option<&'static Strings>,
    source: &'static str,
}

/// Every language, English first. Loaded once and kept for the life of the
/// process (each language falls back to English, so they refer to it).
fn all() -> &'static [&'static Strings] {
    static ALL: OnceLock<Vec<&'static Strings>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut list: Vec<&'static Strings> = vec![];
        for (code, _, source) in LOCALES {
            let fallback = list.first().copied();
            list.push(Box::leak(Box::new(Strings::load(code, source, fallback))));
        }
        list
    })
}

impl Strings {
    fn load(code: &'static str, source: &'static str, fallback: Option<&'static Strings>) -> Strings {
        let language = code.parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![language]);
        // Customer names are wrapped in elements with dir="auto" instead of
        // Unicode isolation marks, which would end up in copied text.
        bundle.set_use_isolating(false);
        // A syntax error in a shipped file is caught by the tests; the entries
        // that did parse are still used.
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, _)| partial);
        let _ = bundle.add_resource(resource);
        Strings { code, bundle, fallback, source }
    }

    /// The strings of `code` (en, ru, zh, el), or English for anything else.
    pub fn get(code: &str) -> &'static Strings {
        let list = all();
        list.iter().find(|s| s.code == code).copied().unwrap_or(list[0])
    }

    /// The strings of a language Hark's interface speaks, if it does (for
    /// text written to a customer in their own language).
    pub fn speaking(code: &str) -> Option<&'static Strings> {
        all().iter().find(|s| s.code == code).copied()
    }

    /// The language code (`en`, `ru`, `zh`, `el`).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The value for HTML's `lang` attribute.
    pub fn html_lang(&self) -> &'static str {
        match self.code {
            "zh" => "zh-Hans",
            other => other,
        }
    }

    /// A message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with arguments, e.g. `t_args("waiting", &[("count", 3.into())])`.
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(id, Some(&fluent_args))
    }

    /// A message whose arguments are all text, as stored beside a keyed
    /// English sentence (a channel's refusal, a rule action's outcome).
    pub fn t_text_args<'a>(&self, id: &str, args: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(name, value);
        }
        self.format(id, Some(&fluent_args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        if let Some(message) = self.bundle.get_message(id)
            && let Some(pattern) = message.value()
        {
            let mut errors = vec![];
            return self.bundle.format_pattern(pattern, args, &mut errors).into_owned();
        }
        match self.fallback {
            Some(english) => english.format(id, args),
            None => format!("⟦{id}⟧"),
        }
    }

    /// The messages the browser's scripts use (ids starting `js-`), without
    /// the prefix, as a JSON object. Placeables are left for the script to
    /// fill: `{ $count }` stays in the text.
    pub fn client_messages(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for id in message_ids(all()[0].source).into_iter().filter(|id| id.starts_with(CLIENT_PREFIX)) {
            let raw = self.raw(&id).or_else(|| all()[0].raw(&id)).unwrap_or_default();
            out.insert(id[CLIENT_PREFIX.len()..].to_owned(), serde_json::Value::String(raw));
        }
        serde_json::Value::Object(out)
    }

    /// A message's source text, with placeables as written (`{ $name }`).
    fn raw(&self, id: &str) -> Option<String> {
        let mut lines = self.source.lines().skip_while(|l| !l.starts_with(&format!("{id} =")));
        let first = lines.next()?;
        let mut text = first.split_once('=').map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        for line in lines.take_while(|l| l.starts_with(' ')) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(line.trim());
        }
        Some(text)
    }
}

/// The ids of the messages defined in a Fluent source.
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_defines_exactly_the_english_messages() {
        let english = message_ids(LOCALES[0].2);
        assert!(english.len() > 100, "only {} messages", english.len());
        for (code, _, source) in LOCALES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("{code}.ftl does not parse: {errors:?}");
            }
            let ids = message_ids(source);
            let missing: Vec<&String> = english.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<&String> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(missing.is_empty(), "{code}.ftl lacks {missing:?}");
            assert!(extra.is_empty(), "{code}.ftl has messages English lacks: {extra:?}");
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), ids.len(), "{code}.ftl defines a message twice");
        }
    }

    #[test]
    fn translations_keep_every_placeable() {
        let english = Strings::get("en");
        for (code, _, _) in &LOCALES[1..] {
            let strings = Strings::get(code);
            for id in message_ids(LOCALES[0].2) {
                let placeables = |text: &str| {
                    let mut names: Vec<String> = text
                        .split('$')
                        .skip(1)
                        .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                        .collect();
                    names.sort();
                    names.dedup();
                    names
                };
                let en = english.raw(&id).unwrap_or_default();
                let other = strings.raw(&id).unwrap_or_default();
                assert_eq!(placeables(&en), placeables(&other), "{code}: {id} = {other}");
            }
        }
    }

    #[test]
    fn messages_format_with_arguments_and_fall_back_to_english() {
        let ru = Strings::get("ru");
        assert_eq!(ru.code(), "ru");
        assert_ne!(ru.t("nav-mine"), Strings::get("en").t("nav-mine"));
        assert!(Strings::get("en").t_args("list-count", &[("count", 3.into())]).contains('3'));
        // A keyed sentence's text arguments fill the message in each language.
        let refusal =
            |code: &str| Strings::get(code).t_text_args("js-refusal-window-7-days", [("product", "Messenger")]);
        assert!(refusal("ru").contains("Messenger") && refusal("ru").contains("7 дней"), "{}", refusal("ru"));
        assert_ne!(refusal("ru"), refusal("en"));
        assert_eq!(Strings::get("en").t("no-such-message"), "⟦no-such-message⟧");
        assert_eq!(Strings::get("xx").code(), "en");
        assert_eq!(Strings::get("zh").html_lang(), "zh-Hans");
        let client = Strings::get("el").client_messages();
        assert!(client.get("sending").and_then(|v| v.as_str()).is_some_and(|s| !s.is_empty()));
    }
}
