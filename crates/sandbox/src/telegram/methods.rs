//! Telegram methods other than getUpdates: getMe, webhooks, sendMessage,
//! sendPhoto, setMessageReaction, deleteMessage.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::updates::{queue_to_webhook, webhook_to_queue};
use super::{Webhook, bot_json, fail, message_json, ok, too_many_requests};
use crate::http::{ApiResponse, param_json, param_str};
use crate::model::{PublishedKind, SimNetwork};
use crate::state::World;

pub(crate) fn call(
    world: &mut World,
    bot_id: &str,
    method: &str,
    params: &Map<String, Value>,
    now: Timestamp,
) -> ApiResponse {
    match method {
        "getme" => match world.tg.bots.get(bot_id) {
            Some(bot) => {
                let mut me = bot_json(bot);
                me["can_join_groups"] = json!(true);
                me["can_read_all_group_messages"] = json!(!bot.privacy_mode);
                me["supports_inline_queries"] = json!(false);
                ok(me)
            }
            None => fail(401, "Unauthorized"),
        },
        "setwebhook" => set_webhook(world, bot_id, params, now),
        "deletewebhook" => delete_webhook(world, bot_id, params),
        "getwebhookinfo" => webhook_info(world, bot_id),
        "sendmessage" => send(world, bot_id, params, now, None),
        "sendphoto" => send(world, bot_id, params, now, Some("photo")),
        "senddocument" => send(world, bot_id, params, now, Some("document")),
        "setmessagereaction" => react(world, bot_id, params, now),
        "deletemessage" => delete_message(world, bot_id, params, now),
        _ => fail(404, "Not Found"),
    }
}

fn truthy(params: &Map<String, Value>, key: &str) -> bool {
    matches!(param_str(params, key).as_deref(), Some("true" | "1" | "True"))
}

fn set_webhook(world: &mut World, bot_id: &str, params: &Map<String, Value>, now: Timestamp) -> ApiResponse {
    let url = param_str(params, "url").unwrap_or_default();
    if url.is_empty() {
        let response = delete_webhook(world, bot_id, params);
        if world.tg.bots.contains_key(bot_id) {
            world.record_subscription(SimNetwork::Telegram, bot_id, "telegram_webhook", None, Vec::new(), now);
        }
        return response;
    }
    if world.limits.telegram_require_https && !url.starts_with("https://") {
        return fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
    }
    let secret = param_str(params, "secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret {
        let valid = secret.len() <= 256 && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return fail(400, "Bad Request: secret token contains unallowed characters");
        }
    }
    let allowed: Option<Vec<String>> = param_json(params, "allowed_updates")
        .and_then(|v| v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()));
    let max_connections =
        param_str(params, "max_connections").and_then(|m| m.parse().ok()).unwrap_or(40u64).clamp(1, 100);
    let Some(bot) = world.tg.bots.get_mut(bot_id) else { return fail(401, "Unauthorized") };
    if truthy(params, "drop_pending_updates") {
        bot.queue.clear();
    }
    bot.webhook = Some(Webhook { url: url.clone(), secret, max_connections });
    bot.last_error = None;
    if let Some(allowed) = allowed {
        bot.allowed_updates = allowed;
    }
    let fields = bot.allowed_updates.clone();
    // A new webhook ends any long poll.
    bot.poll_generation += 1;
    world.record_subscription(SimNetwork::Telegram, bot_id, "telegram_webhook", Some(&url), fields, now);
    queue_to_webhook(world, bot_id, now);
    ApiResponse::json(200, &json!({"ok": true, "result": true, "description": "Webhook was set"}))
}

fn delete_webhook(world: &mut World, bot_id: &str, params: &Map<String, Value>) -> ApiResponse {
    let drop_pending = truthy(params, "drop_pending_updates");
    let had_webhook = world.tg.bots.get(bot_id).is_some_and(|b| b.webhook.is_some());
    if let Some(bot) = world.tg.bots.get_mut(bot_id) {
        bot.webhook = None;
    }
    webhook_to_queue(world, bot_id);
    if drop_pending && let Some(bot) = world.tg.bots.get_mut(bot_id) {
        bot.queue.clear();
    }
    let description = if had_webhook { "Webhook was deleted" } else { "Webhook is already deleted" };
    ApiResponse::json(200, &json!({"ok": true, "result": true, "description": description}))
}

fn webhook_info(world: &World, bot_id: &str) -> ApiResponse {
    let Some(bot) = world.tg.bots.get(bot_id) else { return fail(401, "Unauthorized") };
    let pending = match &bot.webhook {
        Some(_) => world.pending.iter().filter(|p| p.network == SimNetwork::Telegram && p.account_id == bot_id).count(),
        None => bot.queue.len(),
    };
    let mut info = json!({"url": bot.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
                          "has_custom_certificate": false, "pending_update_count": pending});
    if let Some(webhook) = &bot.webhook {
        info["max_connections"] = json!(webhook.max_connections);
        info["ip_address"] = json!("127.0.0.1");
    }
    if let Some((at, message)) = &bot.last_error {
        info["last_error_date"] = json!(at.as_second());
        info["last_error_message"] = json!(message);
    }
    if !bot.allowed_updates.is_empty() {
        info["allowed_updates"] = json!(bot.allowed_updates);
    }
    ok(info)
}

/// Resolves `chat_id` (number or `@username`) to a chat the bot may write to.
fn target_chat(world: &World, bot_id: &str, params: &Map<String, Value>) -> Result<i64, ApiResponse> {
    let Some(raw) = param_str(params, "chat_id") else { return Err(fail(400, "Bad Request: chat_id is empty")) };
    let bot = world.tg.bots.get(bot_id).ok_or_else(|| fail(401, "Unauthorized"))?;
    let chat_id = match raw.strip_prefix('@') {
        Some(username) => world
            .tg
            .users
            .values()
            .find(|u| u.username.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(username)))
            .map(|u| u.id)
            .ok_or_else(|| fail(400, "Bad Request: chat not found"))?,
        None => raw.parse::<i64>().map_err(|_| fail(400, "Bad Request: chat not found"))?,
    };
    if chat_id > 0 && bot.blocked.contains(&chat_id) {
        return Err(fail(403, "Forbidden: bot was blocked by the user"));
    }
    if chat_id > 0 && !bot.started.contains(&chat_id) {
        return Err(fail(403, "Forbidden: bot can't initiate conversation with a user"));
    }
    if !bot.chats.contains_key(&chat_id) {
        return Err(fail(400, "Bad Request: chat not found"));
    }
    Ok(chat_id)
}

/// ~1 message/s per private chat, 20/min per group, 30/s overall.
fn rate_check(world: &mut World, bot_id: &str, chat_id: i64) -> Result<(), ApiResponse> {
    let now = world.request_rate_now;
    let limits = world.limits.clone();
    let per_chat = if chat_id > 0 {
        (Duration::from_secs(1), limits.telegram_per_chat_per_sec)
    } else {
        (Duration::from_secs(60), limits.telegram_group_per_min)
    };
    let checks = [
        (format!("tg:{bot_id}:all"), Duration::from_secs(1), limits.telegram_global_per_sec),
        (format!("tg:{bot_id}:{chat_id}"), per_chat.0, per_chat.1),
    ];
    for (key, window, limit) in checks {
        let status = world.rates.hit(&key, window, limit, now);
        if !status.allowed {
            let retry_after = status.reset_in.as_secs_f64().ceil().max(1.0) as u64;
            return Err(too_many_requests(retry_after));
        }
    }
    Ok(())
}

fn reply_target(params: &Map<String, Value>) -> (Option<i64>, bool) {
    match param_json(params, "reply_parameters") {
        Some(Value::Object(reply)) => {
            let id =
                reply.get("message_id").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
            let lenient = reply.get("allow_sending_without_reply").and_then(Value::as_bool).unwrap_or(false);
            (id, lenient)
        }
        _ => (
            param_str(params, "reply_to_message_id").and_then(|r| r.parse().ok()),
            truthy(params, "allow_sending_without_reply"),
        ),
    }
}

/// `sendMessage`, or with `file` ("photo", "document") `sendPhoto` / `sendDocument`.
fn send(
    world: &mut World,
    bot_id: &str,
    params: &Map<String, Value>,
    now: Timestamp,
    file: Option<&str>,
) -> ApiResponse {
    let chat_id = match target_chat(world, bot_id, params) {
        Ok(chat) => chat,
        Err(response) => return response,
    };
    let text = if let Some(kind) = file {
        let Some(source) = param_str(params, kind).filter(|p| !p.is_empty()) else {
            return fail(400, &format!("Bad Request: there is no {kind} in the request"));
        };
        let caption = param_str(params, "caption").unwrap_or_default();
        if caption.chars().count() > 1024 {
            return fail(400, "Bad Request: message caption is too long");
        }
        format!("[{kind} {source}] {caption}")
    } else {
        let text = param_str(params, "text").unwrap_or_default();
        if text.trim().is_empty() {
            return fail(400, "Bad Request: message text is empty");
        }
        if text.chars().count() > world.limits.telegram_text_max_chars {
            return fail(400, "Bad Request: message is too long");
        }
        text
    };
    let (reply_to, lenient) = reply_target(params);
    let exists = |world: &World, id: i64| {
        world.tg.bots.get(bot_id).and_then(|b| b.chats.get(&chat_id)).is_some_and(|c| c.messages.contains_key(&id))
    };
    if let Some(reply_to) = reply_to
        && !exists(world, reply_to)
        && !lenient
    {
        return fail(400, "Bad Request: message to be replied not found");
    }
    if let Err(response) = rate_check(world, bot_id, chat_id) {
        return response;
    }
    let Some(bot) = world.tg.bots.get_mut(bot_id) else { return fail(401, "Unauthorized") };
    let bot_user = bot.id;
    let Some(chat) = bot.chats.get_mut(&chat_id) else { return fail(400, "Bad Request: chat not found") };
    let id = chat.next_message_id;
    chat.next_message_id += 1;
    let reply_to = reply_to.filter(|r| chat.messages.contains_key(r));
    let message = super::TgMessage { id, from: bot_user, text: text.clone(), date: now, reply_to, edit_date: None };
    chat.messages.insert(id, message.clone());
    let recipient =
        chat.messages.get(&reply_to.unwrap_or(-1)).map(|m| m.from.to_string()).unwrap_or_else(|| chat_id.to_string());
    let kind = match (chat_id > 0, reply_to.is_some()) {
        (true, _) => PublishedKind::DirectMessage,
        (false, true) => PublishedKind::Reply,
        (false, false) => PublishedKind::Post,
    };
    let item_id = format!("{chat_id}:{id}");
    let in_reply_to = reply_to.map(|r| format!("{chat_id}:{r}"));
    world.publish(SimNetwork::Telegram, bot_id, kind, &item_id, in_reply_to.as_deref(), Some(&recipient), &text, now);
    let Some(bot) = world.tg.bots.get(bot_id) else { return fail(401, "Unauthorized") };
    let Some(chat) = bot.chats.get(&chat_id) else { return fail(400, "Bad Request: chat not found") };
    let mut result = message_json(world, bot, chat, &message, true);
    if let Some(kind) = file {
        let object = result.as_object_mut();
        if let Some(object) = object {
            object.remove("text");
            object.insert("caption".into(), json!(param_str(params, "caption").unwrap_or_default()));
            let sent = if kind == "photo" {
                json!([{"file_id": format!("AgACAgIAAxk{id}"), "file_unique_id": format!("AQAD{id}"), "width": 1280, "height": 960}])
            } else {
                json!({"file_id": format!("BQACAgIAAxk{id}"), "file_unique_id": format!("AgAD{id}"), "file_name": "document"})
            };
            object.insert(kind.into(), sent);
        }
    }
    ok(result)
}

fn message_ref(world: &World, bot_id: &str, params: &Map<String, Value>) -> Result<(i64, i64), ApiResponse> {
    let chat_id = param_str(params, "chat_id")
        .and_then(|c| c.parse::<i64>().ok())
        .ok_or_else(|| fail(400, "Bad Request: chat not found"))?;
    let message_id = param_str(params, "message_id")
        .and_then(|m| m.parse::<i64>().ok())
        .ok_or_else(|| fail(400, "Bad Request: message identifier is not specified"))?;
    let found = world
        .tg
        .bots
        .get(bot_id)
        .and_then(|b| b.chats.get(&chat_id))
        .is_some_and(|c| c.messages.contains_key(&message_id));
    if !found {
        return Err(fail(400, "Bad Request: message to react not found"));
    }
    Ok((chat_id, message_id))
}

fn react(world: &mut World, bot_id: &str, params: &Map<String, Value>, now: Timestamp) -> ApiResponse {
    let (chat_id, message_id) = match message_ref(world, bot_id, params) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reaction = param_json(params, "reaction").unwrap_or(json!([]));
    let emoji: Vec<String> = reaction
        .as_array()
        .map(|a| a.iter().filter_map(|r| r.get("emoji").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let item = format!("{chat_id}:{message_id}");
    world.publish(
        SimNetwork::Telegram,
        bot_id,
        PublishedKind::Reaction,
        &item,
        Some(&item),
        None,
        &emoji.join(""),
        now,
    );
    ok(json!(true))
}

fn delete_message(world: &mut World, bot_id: &str, params: &Map<String, Value>, now: Timestamp) -> ApiResponse {
    let (chat_id, message_id) = match message_ref(world, bot_id, params) {
        Ok(found) => found,
        Err(_) => return fail(400, "Bad Request: message to delete not found"),
    };
    if let Some(chat) = world.tg.bots.get_mut(bot_id).and_then(|b| b.chats.get_mut(&chat_id)) {
        chat.messages.remove(&message_id);
    }
    let item = format!("{chat_id}:{message_id}");
    world.publish(SimNetwork::Telegram, bot_id, PublishedKind::Delete, &item, None, None, "", now);
    ok(json!(true))
}
