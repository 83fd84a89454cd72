//! WhatsApp Cloud API: inbound message webhooks (with BSUIDs), `POST
//! /{phone-number-id}/messages` with the 24-hour customer-service window,
//! throughput and pair-rate throttles, and the sent → delivered → read status
//! webhooks that follow every accepted send.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Call, Media, WaContact, graph_error, invalid_param, unknown_object};
use crate::delivery::{Payload, enqueue};
use crate::http::{ApiResponse, param_json};
use crate::model::{Account, PublishedKind, SimNetwork};
use crate::state::World;

const WINDOW_DETAILS: &str =
    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.";

/// WABA id that owns the number (credential `waba_id`, else derived).
pub(crate) fn waba_id(account: &Account) -> String {
    account.credential("waba_id").map(str::to_string).unwrap_or_else(|| format!("2100{}", account.external_id))
}

/// A BSUID for a phone, stable per number and business.
pub(crate) fn derived_bsuid(account: &Account, phone: &str) -> String {
    let digest = Sha256::digest(format!("{}:{phone}", waba_id(account)).as_bytes());
    format!("user.{}", hex::encode(&digest[..16]))
}

pub(crate) fn new_wamid(world: &mut World, phone: &str) -> String {
    let mut raw = format!("\u{18}\u{c}{phone}\u{15}\u{2}\u{0}").into_bytes();
    raw.extend(world.rng.alphanumeric(20).into_bytes());
    format!("wamid.{}", BASE64.encode(raw))
}

fn value_envelope(account: &Account) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": account.handle.trim_start_matches('+'), "phone_number_id": account.external_id},
    })
}

pub(crate) fn queue_value(world: &mut World, account: &Account, key: &str, value: Value, now: Timestamp) {
    let entry = json!({"id": waba_id(account), "changes": [{"field": "messages", "value": value}]});
    enqueue(
        world,
        now,
        SimNetwork::Whatsapp,
        &account.external_id,
        key,
        Payload::MetaEntry { object: "whatsapp_business_account", entry },
    );
}

/// Records the contact's message (opening the window) and queues its webhook.
#[allow(clippy::too_many_arguments)]
pub(crate) fn inbound(
    world: &mut World,
    account: &Account,
    contact: WaContact,
    text: &str,
    context: Option<&str>,
    with_image: bool,
    now: Timestamp,
) -> (String, Option<String>) {
    let phone_key = (account.external_id.clone(), contact.wa_id.clone());
    let bsuid_key = (account.external_id.clone(), contact.bsuid.clone());
    let mut stored = contact.clone();
    stored.last_inbound = Some(now);
    world.meta.wa_contacts.insert(phone_key, stored.clone());
    world.meta.wa_contacts.insert(bsuid_key, stored);
    let shown_phone = if contact.phone_hidden { String::new() } else { contact.wa_id.clone() };
    let wamid = new_wamid(world, &contact.wa_id);
    let mut message = json!({
        "from": shown_phone, "from_user_id": contact.bsuid, "id": wamid,
        "timestamp": now.as_second().to_string(),
    });
    let mut media_id = None;
    if with_image {
        let id = new_media(world, &account.external_id);
        let sha = world.meta.media.get(&id).map(|m| hex::encode(Sha256::digest(&m.bytes))).unwrap_or_default();
        message["type"] = json!("image");
        message["image"] = json!({"id": id, "mime_type": "image/jpeg", "sha256": sha, "caption": text});
        media_id = Some(id);
    } else {
        message["type"] = json!("text");
        message["text"] = json!({"body": text});
    }
    if let Some(context) = context {
        message["context"] = json!({"from": account.handle.trim_start_matches('+'), "id": context});
    }
    let mut value = value_envelope(account);
    value["contacts"] = json!([{"profile": {"name": contact.name}, "wa_id": shown_phone, "user_id": contact.bsuid}]);
    value["messages"] = json!([message]);
    queue_value(world, account, &wamid, value, now);
    (wamid, media_id)
}

fn new_media(world: &mut World, account: &str) -> String {
    let seq = world.next_seq();
    let id = (1_250_000_000_000_000u64 + seq).to_string();
    // A tiny JPEG-looking payload; only its bytes and hash matter.
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.extend(format!("sandbox-media-{id}").into_bytes());
    bytes.extend([0xff, 0xd9]);
    world.meta.media.insert(id.clone(), Media { account: account.to_string(), mime_type: "image/jpeg".into(), bytes });
    id
}

/// `POST /{phone-number-id}/messages`.
pub(crate) fn send(world: &mut World, call: &Call<'_>) -> ApiResponse {
    if call.param("messaging_product").as_deref() != Some("whatsapp") {
        return invalid_param(world, "The parameter messaging_product is required.");
    }
    if call.param("status").as_deref() == Some("read") {
        return mark_read(world, call);
    }
    let Some(to) = call.param("to").filter(|t| !t.is_empty()) else {
        return invalid_param(world, "The parameter to is required.");
    };
    let kind = call.param("type").unwrap_or_else(|| "text".into());
    let text = match content_text(world, call, &kind) {
        Ok(text) => text,
        Err(response) => return response,
    };
    if let Err(response) = throttle(world, call, &to) {
        return response;
    }
    let account = call.account.clone();
    let contact = world.meta.wa_contacts.get(&(account.external_id.clone(), to.clone())).cloned();
    let window_open = contact.as_ref().and_then(|c| c.last_inbound).is_some_and(|last| {
        call.now.duration_since(last) <= SignedDuration::from_hours(world.limits.whatsapp_window_hours)
    });
    let template = kind == "template";
    if !window_open && !template && world.limits.whatsapp_window_error_sync {
        return re_engagement_error(world);
    }
    let wa_id = contact.as_ref().map_or_else(|| to.clone(), |c| c.wa_id.clone());
    let wamid = new_wamid(world, &wa_id);
    world.meta.wa_outbound.insert(wamid.clone(), to.clone());
    let published = match kind.as_str() {
        "template" => PublishedKind::Template,
        "reaction" => PublishedKind::Reaction,
        _ => PublishedKind::DirectMessage,
    };
    let context = param_json(&call.params, "context")
        .and_then(|c| c.get("message_id").and_then(Value::as_str).map(str::to_string));
    world.publish(
        SimNetwork::Whatsapp,
        &account.external_id,
        published,
        &wamid,
        context.as_deref(),
        Some(&to),
        &text,
        call.now,
    );
    let recipient = StatusRecipient { contact, to: to.clone() };
    if window_open || template {
        queue_statuses(world, &account, &wamid, &recipient, template, call.now);
    } else {
        queue_failed(world, &account, &wamid, &recipient, call.now);
    }
    let mut contact_json = json!({"input": to, "wa_id": if to.starts_with("user.") { String::new() } else { wa_id }});
    if to.starts_with("user.") {
        contact_json["user_id"] = json!(to);
    }
    let mut sent = json!({"id": wamid});
    if template {
        sent["message_status"] = json!("accepted");
    }
    ApiResponse::json(200, &json!({"messaging_product": "whatsapp", "contacts": [contact_json], "messages": [sent]}))
}

fn re_engagement_error(world: &mut World) -> ApiResponse {
    let mut response = graph_error(world, 400, "(#131047) Re-engagement message", "OAuthException", 131_047, None);
    let mut body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    body["error"]["error_data"] = json!({"messaging_product": "whatsapp", "details": WINDOW_DETAILS});
    response.body = serde_json::to_vec(&body).unwrap_or_default();
    response
}

fn content_text(world: &mut World, call: &Call<'_>, kind: &str) -> Result<String, ApiResponse> {
    let object = param_json(&call.params, kind).unwrap_or(Value::Null);
    let text = match kind {
        "text" => {
            let body = object.get("body").and_then(Value::as_str).unwrap_or_default().to_string();
            if body.is_empty() {
                return Err(invalid_param(world, "The parameter text['body'] is required."));
            }
            if body.chars().count() > world.limits.whatsapp_text_max_chars {
                return Err(invalid_param(world, "Param text['body'] must be at most 4096 characters long."));
            }
            body
        }
        "template" => {
            let name = object.get("name").and_then(Value::as_str).unwrap_or_default();
            let language = object.pointer("/language/code").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() || language.is_empty() {
                return Err(invalid_param(
                    world,
                    "The parameters template['name'] and template['language']['code'] are required.",
                ));
            }
            format!("template:{name}:{language}")
        }
        "reaction" => object.get("emoji").and_then(Value::as_str).unwrap_or_default().to_string(),
        "image" | "document" | "audio" | "video" | "sticker" => {
            let source = object.get("link").or_else(|| object.get("id")).and_then(Value::as_str).unwrap_or_default();
            if source.is_empty() {
                return Err(invalid_param(
                    world,
                    &format!("The parameter {kind}['link'] or {kind}['id'] is required."),
                ));
            }
            match object.get("caption").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                Some(caption) => format!("[{kind}] {source} {caption}"),
                None => format!("[{kind}] {source}"),
            }
        }
        "interactive" => object.pointer("/body/text").and_then(Value::as_str).unwrap_or("[interactive]").to_string(),
        other => return Err(invalid_param(world, &format!("Param type {other:?} is not a valid message type."))),
    };
    Ok(text)
}

/// 130429 above the number's throughput; 131056 for sends to one user too close together.
fn throttle(world: &mut World, call: &Call<'_>, to: &str) -> Result<(), ApiResponse> {
    let rate_now = world.request_rate_now;
    let per_sec = world.limits.whatsapp_per_sec;
    let number_key = format!("wa:{}", call.account.external_id);
    if !world.rates.hit(&number_key, Duration::from_secs(1), per_sec, rate_now).allowed {
        return Err(graph_error(world, 400, "(#130429) Rate limit hit", "OAuthException", 130_429, None));
    }
    let pair_ms = world.limits.whatsapp_pair_min_interval_ms;
    let pair_key = format!("wa-pair:{}:{to}", call.account.external_id);
    if pair_ms > 0 && world.rates.since_last(&pair_key, rate_now).is_some_and(|d| d < Duration::from_millis(pair_ms)) {
        return Err(graph_error(
            world,
            400,
            "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            "OAuthException",
            131_056,
            None,
        ));
    }
    world.rates.hit(&pair_key, Duration::from_secs(3600), 0, rate_now);
    Ok(())
}

struct StatusRecipient {
    contact: Option<WaContact>,
    to: String,
}

fn status_item(wamid: &str, status: &str, recipient: &StatusRecipient, template: bool, at: Timestamp) -> Value {
    let (recipient_id, user_id) = match &recipient.contact {
        Some(c) if c.phone_hidden => (String::new(), Some(c.bsuid.clone())),
        Some(c) => (c.wa_id.clone(), Some(c.bsuid.clone())),
        None if recipient.to.starts_with("user.") => (String::new(), Some(recipient.to.clone())),
        None => (recipient.to.clone(), None),
    };
    let pricing = if template {
        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"})
    } else {
        json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"})
    };
    let mut item =
        json!({"id": wamid, "status": status, "timestamp": at.as_second().to_string(), "recipient_id": recipient_id});
    if let Some(user_id) = user_id {
        item["recipient_user_id"] = json!(user_id);
    }
    if status != "failed" {
        item["pricing"] = pricing;
    }
    item
}

fn queue_status(world: &mut World, account: &Account, item: Value, key: &str, now: Timestamp) {
    let mut value = value_envelope(account);
    value["statuses"] = json!([item]);
    queue_value(world, account, key, value, now);
}

fn queue_statuses(
    world: &mut World,
    account: &Account,
    wamid: &str,
    recipient: &StatusRecipient,
    template: bool,
    now: Timestamp,
) {
    let mut steps = vec!["sent", "delivered"];
    if world.limits.whatsapp_auto_read {
        steps.push("read");
    }
    for (offset, status) in steps.into_iter().enumerate() {
        let at = now + SignedDuration::from_secs(offset as i64);
        let item = status_item(wamid, status, recipient, template, at);
        queue_status(world, account, item, &format!("{wamid}:{status}"), now);
    }
}

/// Outside the window the Cloud API accepts the send, then reports 131047.
fn queue_failed(world: &mut World, account: &Account, wamid: &str, recipient: &StatusRecipient, now: Timestamp) {
    let mut item = status_item(wamid, "failed", recipient, false, now);
    item["errors"] = json!([{
        "code": 131_047, "title": "Re-engagement message", "message": "Re-engagement message",
        "error_data": {"details": WINDOW_DETAILS},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
    }]);
    queue_status(world, account, item, &format!("{wamid}:failed"), now);
}

fn mark_read(world: &mut World, call: &Call<'_>) -> ApiResponse {
    let Some(id) = call.param("message_id") else {
        return invalid_param(world, "The parameter message_id is required.");
    };
    if !id.starts_with("wamid.") {
        return invalid_param(world, "Invalid message_id.");
    }
    ApiResponse::json(200, &json!({"success": true}))
}

/// `GET /{media-id}`: a short-lived download URL.
pub(crate) fn media_info(world: &mut World, api_base: &str, id: &str) -> ApiResponse {
    let Some(media) = world.meta.media.get(id).cloned() else { return unknown_object(world, id, "get") };
    let sha = hex::encode(Sha256::digest(&media.bytes));
    let url = format!("{api_base}/_media/{id}?ext={}&hash={}", world.rng.alphanumeric(8), &sha[..12]);
    ApiResponse::json(
        200,
        &json!({"url": url, "mime_type": media.mime_type, "sha256": sha, "file_size": media.bytes.len(),
                "id": id, "messaging_product": "whatsapp"}),
    )
}

/// `GET <url>` with the same token: the bytes.
pub(crate) fn download(world: &mut World, call: &Call<'_>, id: &str) -> ApiResponse {
    match world.meta.media.get(id).filter(|m| m.account == call.account.external_id) {
        Some(media) => ApiResponse::bytes(200, "image/jpeg", media.bytes.clone()),
        None => unknown_object(world, id, "get"),
    }
}
