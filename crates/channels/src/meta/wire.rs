//! Serde shapes of Meta webhook bodies, shared by the Facebook, Instagram and
//! WhatsApp parsers. Every field has a default: Meta adds and omits fields
//! without bumping the API version (the 2026 WhatsApp BSUID rollout did both),
//! so a missing field must never make a whole delivery unreadable.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use sha2::{Digest, Sha256};

use crate::model::{InboundEvent, InboundKind};

/// The body of every Meta webhook delivery.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Envelope {
    pub object: String,
    pub entry: Vec<Entry>,
}

/// One account's share of a delivery. Items stay raw [`Value`]s so that one
/// unreadable item cannot hide the others in the same batch.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Entry {
    #[serde(deserialize_with = "id_text")]
    pub id: Option<String>,
    /// Epoch milliseconds for Messenger/Instagram DMs, seconds for changes.
    #[serde(deserialize_with = "epoch_number")]
    pub time: Option<i64>,
    pub messaging: Vec<Value>,
    /// Messages for threads another app controls (handover protocol); same shape as `messaging`.
    pub standby: Vec<Value>,
    pub changes: Vec<Change>,
}

impl Entry {
    /// When Meta says this entry happened, whichever unit it used.
    pub fn occurred_at(&self) -> Option<Timestamp> {
        self.time.and_then(timestamp_from_epoch_guess)
    }
}

/// One `changes[]` item: `field` names the subscription, `value` its payload.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Change {
    pub field: String,
    pub value: Value,
}

/// A user or account reference such as `sender`, `recipient` or `from`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Party {
    #[serde(deserialize_with = "id_text")]
    pub id: Option<String>,
    pub name: String,
    pub username: String,
}

/// Ids are text; some (an echo's `app_id`, old `created_time`s) arrive as JSON
/// numbers. Numbers are turned into their exact decimal text, never through f64.
pub(super) fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(text)) if !text.is_empty() => Some(text),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    })
}

/// An epoch value given either as a number or (WhatsApp) as a string of digits.
pub(super) fn epoch_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

pub(super) fn timestamp_from_seconds(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_second(seconds).ok()
}

pub(super) fn timestamp_from_millis(millis: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(millis).ok()
}

/// `entry.time` is milliseconds in some deliveries and seconds in others;
/// anything above 10^11 (year 5138 in seconds) must be milliseconds.
pub(super) fn timestamp_from_epoch_guess(value: i64) -> Option<Timestamp> {
    if value.abs() >= 100_000_000_000 { timestamp_from_millis(value) } else { timestamp_from_seconds(value) }
}

/// An item the connector understood and deliberately turns into nothing.
pub(super) fn ignored(dedup_key: String, occurred_at: Timestamp, what: impl Into<String>) -> InboundEvent {
    InboundEvent { dedup_key, occurred_at, kind: InboundKind::Ignored { what: what.into() } }
}

/// An item whose shape did not match what Meta documents. It is kept as an
/// `Ignored` event (keyed by its content, so redeliveries collapse) instead of
/// failing the whole batch, which Meta would then redeliver for 36 hours.
pub(super) fn unreadable(item: &Value, what: &str, error: &serde_json::Error, occurred_at: Timestamp) -> InboundEvent {
    let digest = hex::encode(Sha256::digest(item.to_string().as_bytes()));
    ignored(format!("unreadable:{digest}"), occurred_at, format!("unreadable {what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_given_as_numbers_keep_every_digit() {
        let party: Party = serde_json::from_str(r#"{"id": 17841400000000001234}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(party.id.as_deref(), Some("17841400000000001234"));
        let party: Party = serde_json::from_str(r#"{"id": ""}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(party.id, None);
    }

    #[test]
    fn entry_time_is_read_as_millis_or_seconds() {
        let millis = timestamp_from_epoch_guess(1_793_697_170_456).map(|t| t.as_second());
        let seconds = timestamp_from_epoch_guess(1_793_697_300).map(|t| t.as_second());
        assert_eq!(millis, Some(1_793_697_170));
        assert_eq!(seconds, Some(1_793_697_300));
    }
}
