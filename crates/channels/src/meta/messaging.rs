//! Messenger and Instagram Direct items (`entry.messaging[]`, and
//! `entry.standby[]` for threads another app controls, which share the shape).
//!
//! Both products send the same item: a customer's message, an echo of what
//! the account sent, an edit, delivery/read receipts, reactions, postbacks
//! and referrals. Postbacks (a tap on a button Meta shows) become messages
//! whose text is the button's title: the customer said something by tapping,
//! and an agent should see it. Reactions, referrals and watermark-only read
//! receipts are `Ignored`.
//!
//! Messenger and Instagram webhooks carry no names, so authors have only
//! their page-scoped id (PSID/IGSID); handle and display name stay empty.

use hark_domain::ConversationKind;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{Entry, Party, epoch_number, id_text, ignored, timestamp_from_millis, unreadable};
use crate::model::{Author, ChannelContext, DeliveryUpdate, EchoMessage, InboundEvent, InboundKind, InboundMessage};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessagingItem {
    sender: Party,
    recipient: Party,
    /// Epoch milliseconds.
    #[serde(deserialize_with = "epoch_number")]
    timestamp: Option<i64>,
    message: Option<DirectMessage>,
    message_edit: Option<MessageEdit>,
    delivery: Option<Receipt>,
    read: Option<Receipt>,
    reaction: Option<Value>,
    postback: Option<Postback>,
    referral: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DirectMessage {
    mid: String,
    text: String,
    attachments: Vec<Value>,
    reply_to: Option<ReplyTo>,
    is_echo: bool,
    #[serde(deserialize_with = "id_text")]
    app_id: Option<String>,
    /// Instagram: the customer unsent the message.
    is_deleted: bool,
    /// Instagram: a message type the API cannot show.
    is_unsupported: bool,
}

/// A quoted message (`mid`) or, on Instagram, the story the customer answered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReplyTo {
    mid: Option<String>,
    story: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessageEdit {
    mid: String,
    text: String,
    num_edit: Option<i64>,
}

/// `delivery{mids[], watermark}` or `read{watermark}` (Messenger) / `read{mid}` (Instagram).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Receipt {
    mids: Vec<String>,
    mid: Option<String>,
    watermark: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Postback {
    title: String,
    payload: String,
    mid: Option<String>,
}

/// The events of every direct-message item of one entry.
pub(super) fn entry_events(ctx: &ChannelContext, entry: &Entry, now: Timestamp) -> Vec<InboundEvent> {
    let fallback = entry.occurred_at().unwrap_or(now);
    entry.messaging.iter().chain(&entry.standby).flat_map(|raw| item_events(ctx, raw, fallback)).collect()
}

fn item_events(ctx: &ChannelContext, raw: &Value, fallback: Timestamp) -> Vec<InboundEvent> {
    let item: MessagingItem = match serde_json::from_value(raw.clone()) {
        Ok(item) => item,
        Err(e) => return vec![unreadable(raw, "messaging item", &e, fallback)],
    };
    let at = item.timestamp.and_then(timestamp_from_millis).unwrap_or(fallback);
    let sender = item.sender.id.clone().unwrap_or_default();
    let moment = item.timestamp.unwrap_or_default();
    if let Some(message) = item.message.as_ref().filter(|m| !m.mid.is_empty()) {
        return vec![message_event(ctx, &item, message, at)];
    }
    if let Some(edit) = item.message_edit.as_ref().filter(|e| !e.mid.is_empty()) {
        return vec![edited_event(edit, moment, at)];
    }
    if let Some(delivery) = &item.delivery {
        return receipt_events(delivery, DeliveryUpdate::Delivered, &sender, at);
    }
    if let Some(read) = &item.read {
        return receipt_events(read, DeliveryUpdate::Read, &sender, at);
    }
    if let Some(postback) = &item.postback {
        return vec![postback_event(&sender, postback, moment, at)];
    }
    let what = if item.reaction.is_some() {
        "reaction"
    } else if item.referral.is_some() {
        "referral"
    } else {
        "messaging item"
    };
    vec![ignored(format!("{}:{sender}:{moment}", what.replace(' ', "_")), at, what)]
}

/// A customer's message, Hark's or an agent's echo, or (Instagram) an unsend.
fn message_event(ctx: &ChannelContext, item: &MessagingItem, message: &DirectMessage, at: Timestamp) -> InboundEvent {
    let mid = &message.mid;
    if message.is_deleted {
        let kind = InboundKind::Deleted { platform_message_id: mid.clone() };
        return InboundEvent { dedup_key: format!("delete:{mid}"), occurred_at: at, kind };
    }
    let kind = if message.is_echo { echo(ctx, item, message) } else { customer_message(item, message) };
    InboundEvent { dedup_key: format!("mid:{mid}"), occurred_at: at, kind }
}

/// Echoes come back for every message the account sends. The sending app's
/// id tells Hark's own sends from replies typed in Meta Business Suite or the
/// Instagram app, which Hark imports so the thread stays complete.
fn echo(ctx: &ChannelContext, item: &MessagingItem, message: &DirectMessage) -> InboundKind {
    let our_app_id = ctx.credential("app_id").ok();
    let customer = item.recipient.id.clone().unwrap_or_default();
    InboundKind::Echo(EchoMessage {
        platform_message_id: message.mid.clone(),
        thread_id: customer.clone(),
        recipient_platform_user_id: Some(customer).filter(|id| !id.is_empty()),
        text: message.text.clone(),
        by_hark: our_app_id.is_some() && message.app_id.as_deref() == our_app_id,
    })
}

fn customer_message(item: &MessagingItem, message: &DirectMessage) -> InboundKind {
    let sender = item.sender.id.clone().unwrap_or_default();
    let mut attachments = message.attachments.clone();
    if let Some(story) = message.reply_to.as_ref().and_then(|r| r.story.as_ref()) {
        attachments.push(json!({"type": "story_reply", "story": story}));
    }
    if message.is_unsupported {
        attachments.push(json!({"type": "unsupported"}));
    }
    InboundKind::Message(InboundMessage {
        conversation_kind: ConversationKind::Private,
        platform_message_id: message.mid.clone(),
        thread_id: sender.clone(),
        parent_id: message.reply_to.as_ref().and_then(|r| r.mid.clone()),
        author: Author { platform_user_id: sender, handle: String::new(), display_name: String::new() },
        text: message.text.clone(),
        attachments,
        via_monitoring: false,
        language: None,
    })
}

fn edited_event(edit: &MessageEdit, moment: i64, at: Timestamp) -> InboundEvent {
    let version = edit.num_edit.unwrap_or(moment);
    InboundEvent {
        dedup_key: format!("edit:{}:{version}", edit.mid),
        occurred_at: at,
        kind: InboundKind::Edited { platform_message_id: edit.mid.clone(), text: edit.text.clone() },
    }
}

/// One status per message id named; a Messenger read receipt names none
/// (only a watermark time), so it says nothing about a particular message.
fn receipt_events(receipt: &Receipt, update: DeliveryUpdate, sender: &str, at: Timestamp) -> Vec<InboundEvent> {
    let mids: Vec<&String> = receipt.mids.iter().chain(&receipt.mid).filter(|m| !m.is_empty()).collect();
    let word = match update {
        DeliveryUpdate::Read => "read",
        _ => "delivered",
    };
    if mids.is_empty() {
        let watermark = receipt.watermark.unwrap_or_default();
        return vec![ignored(
            format!("{word}:{sender}:{watermark}"),
            at,
            format!("{word} receipt without message ids"),
        )];
    }
    mids.into_iter()
        .map(|mid| InboundEvent {
            dedup_key: format!("status:{mid}:{word}"),
            occurred_at: at,
            kind: InboundKind::Status { platform_message_id: mid.clone(), status: update, error: None },
        })
        .collect()
}

/// A button tap, kept as a message with the button's title as its text.
fn postback_event(sender: &str, postback: &Postback, moment: i64, at: Timestamp) -> InboundEvent {
    let platform_message_id = postback.mid.clone().unwrap_or_else(|| format!("postback:{sender}:{moment}"));
    InboundEvent {
        dedup_key: format!("mid:{platform_message_id}"),
        occurred_at: at,
        kind: InboundKind::Message(InboundMessage {
            conversation_kind: ConversationKind::Private,
            platform_message_id,
            thread_id: sender.to_string(),
            parent_id: None,
            author: Author { platform_user_id: sender.to_string(), handle: String::new(), display_name: String::new() },
            text: postback.title.clone(),
            attachments: vec![json!({"type": "postback", "payload": postback.payload})],
            via_monitoring: false,
            language: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use hark_domain::Network;
    use serde_json::json;

    use super::super::test_support::context;
    use super::super::wire::Envelope;
    use super::*;

    const PAGE: &str = "104000000000001";
    const IG: &str = "17841400000000001";

    fn events(network: Network, account: &str, body: Value) -> Vec<InboundEvent> {
        let ctx = context(network, account);
        let envelope: Envelope = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        let now = Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
        envelope.entry.iter().flat_map(|entry| entry_events(&ctx, entry, now)).collect()
    }

    fn page_items(items: Value) -> Value {
        json!({"object": "page", "entry": [{"id": PAGE, "time": 1793697170456_i64, "messaging": items}]})
    }

    #[test]
    fn the_documented_messenger_message_is_a_private_message() {
        let body = json!({
          "object": "page",
          "entry": [{
            "id": "104000000000001",
            "time": 1793697170456_i64,
            "messaging": [{
              "sender": {"id": "7010000000000001"},
              "recipient": {"id": "104000000000001"},
              "timestamp": 1793697170123_i64,
              "message": {
                "mid": "m_AbCdEf0123456789simulated",
                "text": "Hi, the app keeps logging me out",
                "reply_to": {"mid": "m_PreviousPageMessage0001"},
                "attachments": [{"type": "image",
                  "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=sim"}}]
              }
            }]
          }]
        });
        let events = events(Network::Facebook, PAGE, body);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].dedup_key, "mid:m_AbCdEf0123456789simulated");
        assert_eq!(events[0].occurred_at.as_millisecond(), 1_793_697_170_123);
        let InboundKind::Message(message) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(message.conversation_kind, ConversationKind::Private);
        assert_eq!(message.thread_id, "7010000000000001");
        assert_eq!(message.author.platform_user_id, "7010000000000001");
        assert_eq!(message.parent_id.as_deref(), Some("m_PreviousPageMessage0001"));
        assert_eq!(message.text, "Hi, the app keeps logging me out");
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0]["type"], "image");
    }

    #[test]
    fn echoes_tell_hark_from_other_tools_by_app_id() {
        let echo = |app_id: Value| {
            json!({"sender": {"id": PAGE}, "recipient": {"id": "7010000000000001"}, "timestamp": 1793697170999_i64,
                   "message": {"mid": format!("m_echo_{app_id}"), "text": "On it!", "is_echo": true, "app_id": app_id}})
        };
        let body =
            page_items(json!([echo(json!(555000000000001_i64)), echo(json!("263902037430900")), echo(Value::Null)]));
        let by_hark: Vec<bool> = events(Network::Facebook, PAGE, body)
            .iter()
            .map(|event| match &event.kind {
                InboundKind::Echo(echo) => {
                    assert_eq!(echo.thread_id, "7010000000000001");
                    assert_eq!(echo.recipient_platform_user_id.as_deref(), Some("7010000000000001"));
                    assert_eq!(echo.text, "On it!");
                    echo.by_hark
                }
                other => panic!("expected an echo, got {other:?}"),
            })
            .collect();
        assert_eq!(by_hark, [true, false, false]);
    }

    #[test]
    fn edits_receipts_reactions_and_postbacks() {
        let customer = json!({"id": "7010000000000001"});
        let page = json!({"id": PAGE});
        let body = page_items(json!([
            {"sender": customer, "recipient": page, "timestamp": 1, "message_edit": {"mid": "m_1", "text": "fixed", "num_edit": 2}},
            {"sender": customer, "recipient": page, "timestamp": 2, "delivery": {"mids": ["m_a", "m_b"], "watermark": 2}},
            {"sender": customer, "recipient": page, "timestamp": 3, "read": {"watermark": 3}},
            {"sender": customer, "recipient": page, "timestamp": 4, "reaction": {"mid": "m_a", "action": "react", "emoji": "👍"}},
            {"sender": customer, "recipient": page, "timestamp": 5, "postback": {"title": "Talk to a person", "payload": "HUMAN", "mid": "m_pb"}},
            {"sender": customer, "recipient": page, "timestamp": 6, "referral": {"ref": "ad"}},
        ]));
        let events = events(Network::Facebook, PAGE, body);
        let keys: Vec<&str> = events.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "edit:m_1:2",
                "status:m_a:delivered",
                "status:m_b:delivered",
                "read:7010000000000001:3",
                "reaction:7010000000000001:4",
                "mid:m_pb",
                "referral:7010000000000001:6"
            ]
        );
        assert_eq!(events[0].kind, InboundKind::Edited { platform_message_id: "m_1".into(), text: "fixed".into() });
        assert_eq!(
            events[2].kind,
            InboundKind::Status { platform_message_id: "m_b".into(), status: DeliveryUpdate::Delivered, error: None }
        );
        assert!(matches!(events[3].kind, InboundKind::Ignored { .. }));
        assert!(matches!(events[4].kind, InboundKind::Ignored { .. }));
        let InboundKind::Message(postback) = &events[5].kind else { panic!("{:?}", events[5].kind) };
        assert_eq!(postback.text, "Talk to a person");
        assert_eq!(postback.attachments, [json!({"type": "postback", "payload": "HUMAN"})]);
        assert!(matches!(events[6].kind, InboundKind::Ignored { .. }));
    }

    #[test]
    fn instagram_dms_reads_unsends_and_story_replies() {
        let customer = json!({"id": "1790000000000000099"});
        let account = json!({"id": IG});
        let body = json!({"object": "instagram", "entry": [{"id": IG, "time": 1793697400123_i64, "messaging": [
            {"sender": customer, "recipient": account, "timestamp": 1793697400000_i64,
             "message": {"mid": "aWdfZAG1", "text": "love it", "reply_to": {"story": {"id": "179", "url": "https://cdn/story"}}}},
            {"sender": customer, "recipient": account, "timestamp": 1793697400500_i64,
             "message": {"mid": "aWdfZAG1", "is_deleted": true}},
            {"sender": customer, "recipient": account, "timestamp": 1793697400600_i64, "read": {"mid": "aWdfZAG0"}},
        ]}]});
        let events = events(Network::Instagram, IG, body);
        assert_eq!(events.len(), 3);
        let InboundKind::Message(message) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(message.parent_id, None);
        assert_eq!(message.attachments[0]["type"], "story_reply");
        assert_eq!(events[1].dedup_key, "delete:aWdfZAG1");
        assert_eq!(events[1].kind, InboundKind::Deleted { platform_message_id: "aWdfZAG1".into() });
        assert_eq!(events[2].dedup_key, "status:aWdfZAG0:read");
    }

    #[test]
    fn an_unreadable_item_does_not_hide_the_rest_of_the_batch() {
        let body = page_items(json!([
            {"sender": {"id": "1"}, "recipient": {"id": PAGE}, "timestamp": 1, "message": {"mid": 42, "text": "odd"}},
            {"sender": {"id": "2"}, "recipient": {"id": PAGE}, "timestamp": 2, "message": {"mid": "m_ok", "text": "fine"}},
        ]));
        let events = events(Network::Facebook, PAGE, body);
        assert_eq!(events.len(), 2);
        assert!(events[0].dedup_key.starts_with("unreadable:"));
        assert_eq!(events[1].dedup_key, "mid:m_ok");
    }
}
