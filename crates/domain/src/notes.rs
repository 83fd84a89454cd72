//! Sentences Hark stores in English and the interface reads in the agent's
//! language: why a reply is still on its way or failed, and what is wrong
//! with a channel.
//!
//! `Message.delivery_error` and `Channel.health_detail` hold English
//! sentences, which API clients read as is. Hark writes them from a
//! [`DeliveryNote`] or a [`ChannelNote`], and the interface reads them back
//! with `parse` to show the same sentence in the agent's language. What the
//! network itself said (an error's own words, a reviewer's comment) is kept
//! verbatim inside it, never translated.

use std::fmt;

/// One of the sentences Hark writes about a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryNote {
    /// The channel was switched off before the reply went out.
    ChannelDisabled,
    /// An earlier attempt may have reached the network, which cannot say.
    Unconfirmed { network: String },
    /// Every attempt failed with a passing error.
    GaveUp { attempts: i64, reason: String },
    /// A passing error; another attempt is scheduled.
    Retrying { reason: String },
    /// A reviewer sent a trainee's reply back.
    RejectedBy { reviewer: String, comment: String },
    /// The network refused the channel's token or keys.
    CredentialsRejected { words: String },
    /// The channel's settings are incomplete or wrong.
    Misconfigured { words: String },
    /// A rule of the network's that the reply breaks, found as it was about
    /// to go out: the refusal's message key and arguments (the same the
    /// composer shows before sending) and its English sentence.
    Refused { key: String, args: Vec<(String, String)>, text: String },
    /// Anything else: the network's own words, shown as they are.
    Words(String),
}

const CHANNEL_DISABLED: &str = "the channel is disabled";
const UNCONFIRMED_TAIL: &str =
    " did not confirm whether this reply was sent; check the conversation there before retrying";
const GAVE_UP: &str = "gave up after ";
const ATTEMPTS: &str = " attempts: ";
const RETRYING: &str = "retrying: ";
const REJECTED_BY: &str = "rejected by ";
/// The connector's own wording of its errors (crates/channels' `ConnectorError`).
const CREDENTIALS_REJECTED: &str = "channel credentials rejected: ";
const MISCONFIGURED: &str = "channel misconfigured: ";
/// `refused (key; name=value; …): sentence`, so that API clients read the
/// key too and the interface can word the refusal itself.
const REFUSED: &str = "refused (";
const REFUSED_END: &str = "): ";

impl DeliveryNote {
    /// Reads a stored sentence back; one Hark did not write is the network's words.
    pub fn parse(text: &str) -> DeliveryNote {
        let words = || DeliveryNote::Words(text.to_owned());
        if text == CHANNEL_DISABLED {
            return DeliveryNote::ChannelDisabled;
        }
        if let Some(network) = text.strip_suffix(UNCONFIRMED_TAIL)
            && !network.is_empty()
        {
            return DeliveryNote::Unconfirmed { network: network.to_owned() };
        }
        if let Some(rest) = text.strip_prefix(GAVE_UP)
            && let Some((count, reason)) = rest.split_once(ATTEMPTS)
        {
            return match count.parse() {
                Ok(attempts) => DeliveryNote::GaveUp { attempts, reason: reason.to_owned() },
                Err(_) => words(),
            };
        }
        if let Some(reason) = text.strip_prefix(RETRYING) {
            return DeliveryNote::Retrying { reason: reason.to_owned() };
        }
        // A reviewer's name has no ": " in practice; the comment may.
        if let Some(rest) = text.strip_prefix(REJECTED_BY)
            && let Some((reviewer, comment)) = rest.split_once(": ")
        {
            return DeliveryNote::RejectedBy { reviewer: reviewer.to_owned(), comment: comment.to_owned() };
        }
        if let Some(rest) = text.strip_prefix(CREDENTIALS_REJECTED) {
            return DeliveryNote::CredentialsRejected { words: rest.to_owned() };
        }
        if let Some(rest) = text.strip_prefix(MISCONFIGURED) {
            return DeliveryNote::Misconfigured { words: rest.to_owned() };
        }
        if let Some(rest) = text.strip_prefix(REFUSED)
            && let Some((fields, sentence)) = rest.split_once(REFUSED_END)
            && let Some((key, args)) = refusal_fields(fields)
        {
            return DeliveryNote::Refused { key, args, text: sentence.to_owned() };
        }
        words()
    }

    /// A refusal's message key and arguments: the interface words it with
    /// its refusal messages (`js-refusal-{key}`), not the delivery notes.
    pub fn refusal(&self) -> Option<(&str, &[(String, String)])> {
        match self {
            DeliveryNote::Refused { key, args, .. } => Some((key, args)),
            _ => None,
        }
    }

    /// The interface's message for it (`delivery-note-{key}`) and its
    /// arguments; `None` for the network's words, which are shown as they
    /// are, and for a refusal (see [`DeliveryNote::refusal`]).
    pub fn message(&self) -> Option<(&'static str, Vec<(&'static str, String)>)> {
        Some(match self {
            DeliveryNote::ChannelDisabled => ("channel-disabled", vec![]),
            DeliveryNote::Unconfirmed { network } => ("unconfirmed", vec![("network", network.clone())]),
            DeliveryNote::GaveUp { attempts, reason } => {
                ("gave-up", vec![("attempts", attempts.to_string()), ("reason", reason.clone())])
            }
            DeliveryNote::Retrying { reason } => ("retrying", vec![("reason", reason.clone())]),
            DeliveryNote::RejectedBy { reviewer, comment } => {
                ("rejected-by", vec![("reviewer", reviewer.clone()), ("comment", comment.clone())])
            }
            DeliveryNote::CredentialsRejected { words } => ("credentials-rejected", vec![("words", words.clone())]),
            DeliveryNote::Misconfigured { words } => ("misconfigured", vec![("words", words.clone())]),
            DeliveryNote::Refused { .. } | DeliveryNote::Words(_) => return None,
        })
    }
}

/// The English sentence stored in `Message.delivery_error`.
impl fmt::Display for DeliveryNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryNote::ChannelDisabled => f.write_str(CHANNEL_DISABLED),
            DeliveryNote::Unconfirmed { network } => write!(f, "{network}{UNCONFIRMED_TAIL}"),
            DeliveryNote::GaveUp { attempts, reason } => write!(f, "{GAVE_UP}{attempts}{ATTEMPTS}{reason}"),
            DeliveryNote::Retrying { reason } => write!(f, "{RETRYING}{reason}"),
            DeliveryNote::RejectedBy { reviewer, comment } => write!(f, "{REJECTED_BY}{reviewer}: {comment}"),
            DeliveryNote::CredentialsRejected { words } => write!(f, "{CREDENTIALS_REJECTED}{words}"),
            DeliveryNote::Misconfigured { words } => write!(f, "{MISCONFIGURED}{words}"),
            DeliveryNote::Refused { key, args, text } => {
                f.write_str(REFUSED)?;
                f.write_str(key)?;
                for (name, value) in args {
                    write!(f, "; {name}={}", escape_value(value))?;
                }
                write!(f, "{REFUSED_END}{text}")
            }
            DeliveryNote::Words(words) => f.write_str(words),
        }
    }
}

/// Reads `key; name=value; …`, refusing anything that is not a key and
/// names as Hark writes them (so a network's sentence that happens to start
/// like one stays the network's words).
fn refusal_fields(fields: &str) -> Option<(String, Vec<(String, String)>)> {
    let is_key =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let is_name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let mut parts = fields.split("; ");
    let key = parts.next().filter(|k| is_key(k))?;
    let mut args = vec![];
    for part in parts {
        let (name, value) = part.split_once('=').filter(|(name, _)| is_name(name))?;
        args.push((name.to_owned(), unescape_value(value)?));
    }
    Some((key.to_owned(), args))
}

/// An argument's value with the characters that end a field or the list
/// (`;`, `)`) and the escape itself written as `%XX`.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            ';' => out.push_str("%3B"),
            ')' => out.push_str("%29"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_value(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        out.push(match code {
            "25" => '%',
            "3B" => ';',
            "29" => ')',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// What is wrong with a channel, as shown beside its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelNote {
    /// The stored credentials cannot be decrypted (the secret key changed).
    CredentialsUnreadable,
    /// Webhook requests keep failing signature checks.
    WebhooksFailVerification,
    /// X marked Hark's webhook address invalid (its CRC check failed) and
    /// stopped delivering to it; asking X to check again did not help.
    WebhookMarkedInvalid { url: String },
    /// Replies keep failing with passing errors.
    DeliveryErrors { reason: String },
    /// Reading the network's API for new items failed.
    Polling { words: String },
    /// The network refused the channel's token or keys.
    CredentialsRejected { words: String },
    /// The channel's settings are incomplete or wrong.
    Misconfigured { words: String },
    /// Anything else: the network's or the connector's own words.
    Words(String),
}

const CREDENTIALS_UNREADABLE: &str = "stored credentials cannot be opened";
const WEBHOOKS_FAIL: &str = "webhook requests are failing verification: check the app secret or secret token";
const DELIVERY_ERRORS: &str = "delivery errors keep happening: ";
const POLLING: &str = "polling: ";
const MARKED_INVALID: &str = "webhook verification failing: X marked ";
const MARKED_INVALID_TAIL: &str = " invalid (its CRC check failed) and has stopped delivering; \
                                   check that the URL is reachable and the consumer secret is right";

impl ChannelNote {
    /// Reads a stored sentence back; one Hark did not write is the network's words.
    pub fn parse(text: &str) -> ChannelNote {
        if text == CREDENTIALS_UNREADABLE {
            return ChannelNote::CredentialsUnreadable;
        }
        if text == WEBHOOKS_FAIL {
            return ChannelNote::WebhooksFailVerification;
        }
        if let Some(url) = text.strip_prefix(MARKED_INVALID).and_then(|rest| rest.strip_suffix(MARKED_INVALID_TAIL)) {
            return ChannelNote::WebhookMarkedInvalid { url: url.to_owned() };
        }
        let with = |prefix: &str| text.strip_prefix(prefix).map(str::to_owned);
        if let Some(reason) = with(DELIVERY_ERRORS) {
            return ChannelNote::DeliveryErrors { reason };
        }
        if let Some(words) = with(POLLING) {
            return ChannelNote::Polling { words };
        }
        if let Some(words) = with(CREDENTIALS_REJECTED) {
            return ChannelNote::CredentialsRejected { words };
        }
        if let Some(words) = with(MISCONFIGURED) {
            return ChannelNote::Misconfigured { words };
        }
        ChannelNote::Words(text.to_owned())
    }

    /// The interface's message for it (`js-channel-note-{key}`, which the
    /// browser's scripts have too, for live alerts) and its
    /// arguments; `None` for the network's words, which are shown as they are.
    pub fn message(&self) -> Option<(&'static str, Vec<(&'static str, String)>)> {
        Some(match self {
            ChannelNote::CredentialsUnreadable => ("credentials-unreadable", vec![]),
            ChannelNote::WebhooksFailVerification => ("webhooks-fail-verification", vec![]),
            ChannelNote::WebhookMarkedInvalid { url } => ("webhook-marked-invalid", vec![("url", url.clone())]),
            ChannelNote::DeliveryErrors { reason } => ("delivery-errors", vec![("reason", reason.clone())]),
            ChannelNote::Polling { words } => ("polling", vec![("words", words.clone())]),
            ChannelNote::CredentialsRejected { words } => ("credentials-rejected", vec![("words", words.clone())]),
            ChannelNote::Misconfigured { words } => ("misconfigured", vec![("words", words.clone())]),
            ChannelNote::Words(_) => return None,
        })
    }
}

/// The English sentence stored in `Channel.health_detail`.
impl fmt::Display for ChannelNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelNote::CredentialsUnreadable => f.write_str(CREDENTIALS_UNREADABLE),
            ChannelNote::WebhooksFailVerification => f.write_str(WEBHOOKS_FAIL),
            ChannelNote::WebhookMarkedInvalid { url } => write!(f, "{MARKED_INVALID}{url}{MARKED_INVALID_TAIL}"),
            ChannelNote::DeliveryErrors { reason } => write!(f, "{DELIVERY_ERRORS}{reason}"),
            ChannelNote::Polling { words } => write!(f, "{POLLING}{words}"),
            ChannelNote::CredentialsRejected { words } => write!(f, "{CREDENTIALS_REJECTED}{words}"),
            ChannelNote::Misconfigured { words } => write!(f, "{MISCONFIGURED}{words}"),
            ChannelNote::Words(words) => f.write_str(words),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_note_reads_back_from_its_sentence() {
        let notes = [
            DeliveryNote::ChannelDisabled,
            DeliveryNote::Unconfirmed { network: "x".into() },
            DeliveryNote::GaveUp { attempts: 8, reason: "temporarily unavailable: HTTP 503".into() },
            DeliveryNote::Retrying { reason: "rate limited: retry after 60 s".into() },
            DeliveryNote::RejectedBy { reviewer: "Olga".into(), comment: "Tone: too curt. Apologise first.".into() },
            DeliveryNote::CredentialsRejected { words: "Error validating access token".into() },
            DeliveryNote::Misconfigured { words: "no page id".into() },
            DeliveryNote::Refused { key: "one-attachment".into(), args: vec![], text: "one file per message".into() },
            DeliveryNote::Refused {
                key: "window-7-days".into(),
                args: vec![
                    ("product".into(), "Messenger (human agent)".into()),
                    ("detail".into(), "a; b = 100% ): c".into()),
                ],
                text: "Messenger replies within 7 days: the customer wrote 8 days ago".into(),
            },
            DeliveryNote::Words("(#100) The parameter message is required".into()),
        ];
        for note in notes {
            assert_eq!(DeliveryNote::parse(&note.to_string()), note, "{note}");
        }
    }

    #[test]
    fn sentences_hark_did_not_write_are_the_networks_words() {
        for text in ["", "gave up after many attempts: x", "retrying", "rejected by nobody", "Rate limit exceeded"] {
            assert_eq!(DeliveryNote::parse(text), DeliveryNote::Words(text.into()), "{text}");
            assert_eq!(DeliveryNote::parse(text).message(), None);
        }
        let (key, args) = DeliveryNote::parse("retrying: HTTP 502").message().unwrap_or_default();
        assert_eq!((key, args), ("retrying", vec![("reason", "HTTP 502".to_owned())]));
    }

    #[test]
    fn only_a_refusal_as_hark_writes_it_reads_as_one() {
        let refused = DeliveryNote::parse("refused (empty): the reply is empty");
        assert_eq!(refused.refusal(), Some(("empty", &[][..])));
        assert_eq!(refused.message(), None);
        for text in [
            "refused (Not Allowed): by the page's settings",
            "refused (empty; Name=x): y",
            "refused (empty; limit=5%): y",
            "refused (empty)",
            "refused (): y",
        ] {
            assert_eq!(DeliveryNote::parse(text), DeliveryNote::Words(text.into()), "{text}");
        }
    }

    #[test]
    fn every_channel_note_reads_back_from_its_sentence() {
        let notes = [
            ChannelNote::CredentialsUnreadable,
            ChannelNote::WebhooksFailVerification,
            ChannelNote::WebhookMarkedInvalid { url: "https://hark.example/webhooks/ch_1".into() },
            ChannelNote::DeliveryErrors { reason: "HTTP 503".into() },
            ChannelNote::Polling { words: "temporarily unavailable: timeout".into() },
            ChannelNote::CredentialsRejected { words: "Invalid OAuth access token".into() },
            ChannelNote::Misconfigured { words: "no page id".into() },
            ChannelNote::Words("the webhook subscription is missing".into()),
        ];
        for note in notes {
            assert_eq!(ChannelNote::parse(&note.to_string()), note, "{note}");
        }
        assert_eq!(ChannelNote::parse("").message(), None);
    }
}
