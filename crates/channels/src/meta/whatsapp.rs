//! WhatsApp Cloud API webhooks (`changes[]` with field `messages`).
//!
//! Entries are keyed by the business account, which may own several numbers,
//! so each change is routed by `metadata.phone_number_id`: a channel only
//! takes its own number's traffic.
//!
//! Identity (2026 BSUID rollout): a customer who adopted a username may come
//! with an empty `wa_id`/`from` and only a business-scoped user id
//! (`from_user_id` / `contacts[].user_id`). The author and thread are keyed on
//! the BSUID when present, the phone number otherwise; the phone, when known,
//! is kept as the handle so both survive.
//!
//! Statuses of Hark's sends may arrive out of order (`read` before
//! `delivered`); each (wamid, status) is its own event and the ingest keeps
//! the furthest one.

use hark_domain::ConversationKind;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{Entry, epoch_number, id_text, ignored, timestamp_from_seconds, unreadable};
use crate::model::{Author, ChannelContext, DeliveryUpdate, InboundEvent, InboundKind, InboundMessage};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessagesValue {
    metadata: Metadata,
    contacts: Vec<Contact>,
    messages: Vec<Value>,
    statuses: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Metadata {
    display_phone_number: String,
    #[serde(deserialize_with = "id_text")]
    phone_number_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Contact {
    profile: Profile,
    wa_id: String,
    user_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Profile {
    name: String,
    username: String,
}

/// The fields every message type shares; the type-named object (`image`,
/// `location`, …) is read from the raw item.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WaMessage {
    from: String,
    from_user_id: String,
    id: String,
    /// Epoch seconds, sent as a string.
    #[serde(deserialize_with = "epoch_number")]
    timestamp: Option<i64>,
    #[serde(rename = "type")]
    kind: String,
    context: Option<Quoted>,
    referral: Option<Value>,
    errors: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Quoted {
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WaStatus {
    id: String,
    status: String,
    #[serde(deserialize_with = "epoch_number")]
    timestamp: Option<i64>,
    errors: Vec<StatusError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusError {
    code: Option<i64>,
    title: String,
    message: String,
}

/// Message types whose object is a file: the caption is the text.
const MEDIA_TYPES: &[&str] = &["image", "video", "audio", "document", "sticker"];
/// Types that are not something the customer said to the business.
const IGNORED_TYPES: &[&str] = &["reaction", "system", "request_welcome", "ephemeral"];

/// The events of every `messages` change of one business-account entry
/// that belongs to this channel's phone number.
pub(super) fn entry_events(ctx: &ChannelContext, entry: &Entry, now: Timestamp) -> Vec<InboundEvent> {
    let fallback = entry.occurred_at().unwrap_or(now);
    let mut events = Vec::new();
    for change in entry.changes.iter().filter(|change| change.field == "messages") {
        let value: MessagesValue = match serde_json::from_value(change.value.clone()) {
            Ok(value) => value,
            Err(e) => {
                events.push(unreadable(&change.value, "WhatsApp change", &e, fallback));
                continue;
            }
        };
        if value.metadata.phone_number_id.as_deref() != Some(ctx.external_id.as_str()) {
            tracing::debug!(phone = ?value.metadata.phone_number_id, display = %value.metadata.display_phone_number,
                "WhatsApp change for another number skipped");
            continue;
        }
        events.extend(value.messages.iter().map(|raw| message_event(raw, &value.contacts, fallback)));
        events.extend(value.statuses.iter().map(|raw| status_event(raw, fallback)));
    }
    events
}

fn message_event(raw: &Value, contacts: &[Contact], fallback: Timestamp) -> InboundEvent {
    let message = match serde_json::from_value::<WaMessage>(raw.clone()) {
        Ok(message) if !message.id.is_empty() => message,
        Ok(_) => return unreadable(raw, "WhatsApp message", &serde::de::Error::missing_field("id"), fallback),
        Err(e) => return unreadable(raw, "WhatsApp message", &e, fallback),
    };
    let at = message.timestamp.and_then(timestamp_from_seconds).unwrap_or(fallback);
    let dedup_key = format!("wamid:{}", message.id);
    if IGNORED_TYPES.contains(&message.kind.as_str()) {
        return ignored(dedup_key, at, format!("WhatsApp {} message", message.kind));
    }
    let typed = raw.get(&message.kind).cloned().unwrap_or(Value::Null);
    let author = author(&message, contacts);
    let kind = InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Private,
        platform_message_id: message.id.clone(),
        thread_id: author.platform_user_id.clone(),
        parent_id: message.context.as_ref().and_then(|c| c.id.clone()).filter(|id| !id.is_empty()),
        author,
        text: text_of(&message.kind, &typed),
        attachments: attachments_of(&message, typed),
        via_monitoring: false,
        language: None,
    });
    InboundEvent { dedup_key, occurred_at: at, kind }
}

/// BSUID first, phone otherwise; the phone (or the username) is the handle.
fn author(message: &WaMessage, contacts: &[Contact]) -> Author {
    let contact = contacts.iter().find(|c| {
        (!message.from_user_id.is_empty() && c.user_id == message.from_user_id)
            || (!message.from.is_empty() && c.wa_id == message.from)
    });
    let contact = contact.or(if contacts.len() == 1 { contacts.first() } else { None });
    let bsuid = non_empty(&message.from_user_id).or_else(|| contact.and_then(|c| non_empty(&c.user_id)));
    let phone = non_empty(&message.from).or_else(|| contact.and_then(|c| non_empty(&c.wa_id)));
    let username = contact.and_then(|c| non_empty(&c.profile.username));
    let platform_user_id = bsuid.or(phone).unwrap_or("unknown").to_string();
    let handle = phone.or(username).unwrap_or(&platform_user_id).to_string();
    let display_name = contact.map(|c| c.profile.name.clone()).unwrap_or_default();
    Author { platform_user_id, handle, display_name }
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

/// What the customer wrote: the text body, a media caption, the title of
/// the interactive reply or quick-reply button they tapped.
fn text_of(kind: &str, typed: &Value) -> String {
    let pick = |pointer: &str| typed.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    match kind {
        "text" => pick("/body"),
        "button" => pick("/text"),
        "interactive" => {
            pick("/button_reply/title").or_else(|| pick("/list_reply/title")).or_else(|| pick("/nfm_reply/body"))
        }
        _ if MEDIA_TYPES.contains(&kind) => pick("/caption"),
        _ => None,
    }
    .unwrap_or_default()
}

/// Everything that is not plain text, as `{"type": <WhatsApp type>, …fields}`
/// (media ids to download, locations, shared contacts, orders), plus the ad
/// referral and the errors of unsupported messages.
fn attachments_of(message: &WaMessage, typed: Value) -> Vec<Value> {
    let mut attachments = Vec::new();
    let carries_only_text = matches!(message.kind.as_str(), "text" | "button" | "interactive");
    if !carries_only_text {
        let mut fields = match typed {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_string(), other)]),
        };
        fields.insert("type".into(), Value::String(message.kind.clone()));
        if message.kind == "unsupported" && !message.errors.is_empty() {
            fields.insert("errors".into(), Value::Array(message.errors.clone()));
        }
        attachments.push(Value::Object(fields));
    }
    if let Some(referral) = &message.referral {
        attachments.push(json!({"type": "referral", "referral": referral}));
    }
    attachments
}

/// Delivery news for a message Hark sent; unknown states are ignored.
fn status_event(raw: &Value, fallback: Timestamp) -> InboundEvent {
    let status: WaStatus = match serde_json::from_value(raw.clone()) {
        Ok(status) => status,
        Err(e) => return unreadable(raw, "WhatsApp status", &e, fallback),
    };
    let at = status.timestamp.and_then(timestamp_from_seconds).unwrap_or(fallback);
    let dedup_key = format!("status:{}:{}", status.id, status.status);
    let update = match status.status.as_str() {
        "sent" => DeliveryUpdate::Sent,
        "delivered" => DeliveryUpdate::Delivered,
        "read" => DeliveryUpdate::Read,
        "failed" => DeliveryUpdate::Failed,
        other => return ignored(dedup_key, at, format!("WhatsApp status {other}")),
    };
    let error = status.errors.first().map(describe_error);
    InboundEvent {
        dedup_key,
        occurred_at: at,
        kind: InboundKind::Status { platform_message_id: status.id, status: update, error },
    }
}

/// "title: message (code n)", leaving out whatever is missing.
fn describe_error(error: &StatusError) -> String {
    let mut text = match (error.title.is_empty(), error.message.is_empty()) {
        (false, false) if error.title != error.message => format!("{}: {}", error.title, error.message),
        (false, _) => error.title.clone(),
        (true, false) => error.message.clone(),
        (true, true) => "WhatsApp reported a failure".to_string(),
    };
    if let Some(code) = error.code {
        text.push_str(&format!(" (code {code})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use hark_domain::Network;
    use serde_json::json;

    use super::super::test_support::context;
    use super::super::wire::Envelope;
    use super::*;

    const PHONE_ID: &str = "106000000000001";

    fn events(body: Value) -> Vec<InboundEvent> {
        let ctx = context(Network::Whatsapp, PHONE_ID);
        let envelope: Envelope = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        let now = Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
        envelope.entry.iter().flat_map(|entry| entry_events(&ctx, entry, now)).collect()
    }

    fn change(phone_number_id: &str, value: Value) -> Value {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] = json!({"display_phone_number": "15550100200", "phone_number_id": phone_number_id});
        json!({"object": "whatsapp_business_account",
               "entry": [{"id": "210000000000001", "changes": [{"field": "messages", "value": value}]}]})
    }

    fn message(events: &[InboundEvent], index: usize) -> &InboundMessage {
        match &events[index].kind {
            InboundKind::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_message_is_keyed_on_the_bsuid_and_keeps_the_phone() {
        let body = json!({
          "object": "whatsapp_business_account",
          "entry": [{
            "id": "210000000000001",
            "changes": [{
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100200", "phone_number_id": "106000000000001"},
                "contacts": [{"profile": {"name": "Aisha K"}, "wa_id": "447700900123",
                              "user_id": "user.5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b"}],
                "messages": [{
                  "from": "447700900123",
                  "from_user_id": "user.5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b",
                  "id": "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0VCMFNJTVVMQVRFRDAwMDAwMQA=",
                  "timestamp": "1793697500",
                  "type": "text",
                  "text": {"body": "Is the store on Baker St open on Sunday?"},
                  "context": {"from": "15550100200", "id": "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQUJDU0lNMDAwMDAwMDAA"}
                }]
              }
            }]
          }]
        });
        let events = events(body);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].dedup_key, "wamid:wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0VCMFNJTVVMQVRFRDAwMDAwMQA=");
        assert_eq!(events[0].occurred_at.as_second(), 1_793_697_500);
        let message = message(&events, 0);
        assert_eq!(message.conversation_kind, ConversationKind::Private);
        assert_eq!(message.thread_id, "user.5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b");
        assert_eq!(message.author.platform_user_id, "user.5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b");
        assert_eq!(message.author.handle, "447700900123");
        assert_eq!(message.author.display_name, "Aisha K");
        assert_eq!(message.parent_id.as_deref(), Some("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQUJDU0lNMDAwMDAwMDAA"));
        assert_eq!(message.text, "Is the store on Baker St open on Sunday?");
        assert!(message.attachments.is_empty());
    }

    #[test]
    fn a_username_user_with_an_empty_wa_id_is_keyed_on_the_bsuid() {
        let events = events(change(
            PHONE_ID,
            json!({"contacts": [{"profile": {"name": "Kai", "username": "kai.k"}, "wa_id": "", "user_id": "user.abc"}],
                   "messages": [{"from": "", "id": "wamid.1", "timestamp": "1793697501", "type": "text", "text": {"body": "hi"}}]}),
        ));
        let message = message(&events, 0);
        assert_eq!(message.author.platform_user_id, "user.abc");
        assert_eq!(message.thread_id, "user.abc");
        assert_eq!(message.author.handle, "kai.k");
    }

    #[test]
    fn a_phone_only_sender_is_keyed_on_the_phone() {
        let events = events(change(
            PHONE_ID,
            json!({"contacts": [{"profile": {"name": "Old"}, "wa_id": "491701234567"}],
                   "messages": [{"from": "491701234567", "id": "wamid.2", "timestamp": "1793697502", "type": "text", "text": {"body": "hallo"}}]}),
        ));
        assert_eq!(message(&events, 0).author.platform_user_id, "491701234567");
        assert_eq!(message(&events, 0).author.handle, "491701234567");
    }

    #[test]
    fn captions_buttons_interactive_replies_and_other_types() {
        let from = json!({"from": "447700900123"});
        let item = |id: &str, extra: Value| {
            let mut item = from.clone();
            item["id"] = json!(id);
            item["timestamp"] = json!("1793697503");
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                item[k] = v;
            }
            item
        };
        let events = events(change(
            PHONE_ID,
            json!({"messages": [
                item("w1", json!({"type": "image", "image": {"id": "media1", "mime_type": "image/jpeg", "caption": "broken box"}})),
                item("w2", json!({"type": "button", "button": {"text": "Yes please", "payload": "YES"}})),
                item("w3", json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "r2", "title": "Returns"}}})),
                item("w4", json!({"type": "location", "location": {"latitude": 51.5, "longitude": -0.1}})),
                item("w5", json!({"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}})),
                item("w6", json!({"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]})),
            ]}),
        ));
        assert_eq!(events.len(), 6);
        assert_eq!(message(&events, 0).text, "broken box");
        assert_eq!(message(&events, 0).attachments[0]["type"], "image");
        assert_eq!(message(&events, 0).attachments[0]["id"], "media1");
        assert_eq!(message(&events, 1).text, "Yes please");
        assert!(message(&events, 1).attachments.is_empty());
        assert_eq!(message(&events, 2).text, "Returns");
        assert_eq!(message(&events, 3).text, "");
        assert_eq!(message(&events, 3).attachments[0]["latitude"], 51.5);
        assert!(matches!(events[4].kind, InboundKind::Ignored { .. }));
        assert_eq!(events[4].dedup_key, "wamid:w5");
        assert_eq!(message(&events, 5).attachments[0]["errors"][0]["code"], 131051);
    }

    #[test]
    fn statuses_out_of_order_each_get_their_own_key() {
        let events = events(change(
            PHONE_ID,
            json!({"statuses": [
                {"id": "wamid.S", "status": "read", "timestamp": "1793697570", "recipient_id": "447700900123"},
                {"id": "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSREVGU0lNMDAwMDAwMDIA",
                 "status": "delivered", "timestamp": "1793697560",
                 "recipient_id": "447700900123",
                 "pricing": {"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}},
                {"id": "wamid.S", "status": "delivered", "timestamp": "1793697560", "recipient_id": "", "recipient_user_id": "user.abc"},
                {"id": "wamid.F", "status": "failed", "timestamp": "1793697580",
                 "errors": [{"code": 131047, "title": "Re-engagement message", "message": "More than 24 hours have passed"}]},
                {"id": "wamid.S", "status": "deleted", "timestamp": "1793697590"},
            ]}),
        ));
        let keys: Vec<&str> = events.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "status:wamid.S:read",
                "status:wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSREVGU0lNMDAwMDAwMDIA:delivered",
                "status:wamid.S:delivered",
                "status:wamid.F:failed",
                "status:wamid.S:deleted"
            ]
        );
        assert_eq!(
            events[0].kind,
            InboundKind::Status { platform_message_id: "wamid.S".into(), status: DeliveryUpdate::Read, error: None }
        );
        assert_eq!(events[1].occurred_at.as_second(), 1_793_697_560);
        assert_eq!(
            events[3].kind,
            InboundKind::Status {
                platform_message_id: "wamid.F".into(),
                status: DeliveryUpdate::Failed,
                error: Some("Re-engagement message: More than 24 hours have passed (code 131047)".into()),
            }
        );
        assert!(matches!(events[4].kind, InboundKind::Ignored { .. }));
    }

    #[test]
    fn changes_for_other_numbers_are_skipped() {
        let events = events(change(
            "106000000000999",
            json!({"messages": [{"from": "1", "id": "wamid.other", "timestamp": "1", "type": "text", "text": {"body": "x"}}]}),
        ));
        assert!(events.is_empty());
    }
}
