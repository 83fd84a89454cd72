//! Why a reply is still on its way or failed, as shown under it.
//!
//! `Message.delivery_error` holds an English sentence, which API clients read
//! as is. Hark writes it from a [`DeliveryNote`], and the interface reads it
//! back with [`DeliveryNote::parse`] to show the same sentence in the agent's
//! language. What the network itself said (an error's own words, a
//! reviewer's comment) is kept verbatim inside it, never translated.

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
        words()
    }

    /// The interface's message for it (`delivery-note-{key}`) and its
    /// arguments; `None` for the network's words, which are shown as they are.
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
            DeliveryNote::Words(_) => return None,
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
            DeliveryNote::Words(words) => f.write_str(words),
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
}
