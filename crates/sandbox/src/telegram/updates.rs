//! Telegram updates: customer actions, the getUpdates queue with its offset
//! confirmation and 409 conflicts, and moving updates between polling and
//! webhook mode.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::{Bot, Chat, QueuedUpdate, TgMessage, TgUser, fail, message_json, ok, user_json};
use crate::customers::guess_lang;
use crate::delivery::{Payload, enqueue};
use crate::http::{ApiResponse, param_json, param_str};
use crate::model::{ActionReport, Customer, CustomerAction, SandboxError, SimNetwork};
use crate::state::{Inner, World};

/// Update kinds delivered when `allowed_updates` is empty (Telegram leaves
/// these three out by default).
const OPT_IN_KINDS: [&str; 3] = ["chat_member", "message_reaction", "message_reaction_count"];

/// Gives the update its id and routes it to the webhook or the polling queue.
pub(crate) fn push_update(world: &mut World, bot_id: &str, kind: &str, payload: Value, now: Timestamp) -> Option<i64> {
    let bot = world.tg.bots.get_mut(bot_id)?;
    let allowed = if bot.allowed_updates.is_empty() {
        !OPT_IN_KINDS.contains(&kind)
    } else {
        bot.allowed_updates.iter().any(|k| k == kind)
    };
    if !allowed {
        return None;
    }
    let id = bot.next_update_id;
    bot.next_update_id += 1;
    let mut update = Map::new();
    update.insert("update_id".into(), json!(id));
    update.insert(kind.to_string(), payload);
    let update = Value::Object(update);
    if bot.webhook.is_some() {
        enqueue(world, now, SimNetwork::Telegram, bot_id, &id.to_string(), Payload::Whole(update));
    } else {
        bot.queue.push_back(QueuedUpdate { id, update, created: now });
    }
    Some(id)
}

/// setWebhook: updates waiting for getUpdates now go to the webhook.
pub(crate) fn queue_to_webhook(world: &mut World, bot_id: &str, now: Timestamp) {
    let Some(bot) = world.tg.bots.get_mut(bot_id) else { return };
    let queued: Vec<QueuedUpdate> = bot.queue.drain(..).collect();
    for update in queued {
        enqueue(world, now, SimNetwork::Telegram, bot_id, &update.id.to_string(), Payload::Whole(update.update));
    }
}

/// deleteWebhook: undelivered webhook updates become available to getUpdates.
pub(crate) fn webhook_to_queue(world: &mut World, bot_id: &str) {
    let (moved, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut world.pending)
        .into_iter()
        .partition(|p| p.network == SimNetwork::Telegram && p.account_id == bot_id);
    world.pending = rest;
    let Some(bot) = world.tg.bots.get_mut(bot_id) else { return };
    for pending in moved.into_iter().filter(|p| !p.duplicate) {
        if let Payload::Whole(update) = pending.payload {
            let id = update.get("update_id").and_then(Value::as_i64).unwrap_or_default();
            bot.queue.push_back(QueuedUpdate { id, update, created: pending.created });
        }
    }
    bot.queue.make_contiguous().sort_by_key(|u| u.id);
}

/// `getUpdates(offset, limit, timeout, allowed_updates)`.
pub(crate) async fn get_updates(inner: &Arc<Inner>, bot_id: &str, params: &Map<String, Value>) -> ApiResponse {
    let offset = param_str(params, "offset").and_then(|o| o.parse::<i64>().ok());
    let limit = param_str(params, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).clamp(1, 100);
    let timeout = param_str(params, "timeout").and_then(|t| t.parse::<u64>().ok()).unwrap_or(0).min(50);
    let allowed: Option<Vec<String>> = param_json(params, "allowed_updates")
        .and_then(|v| v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()));
    let now = inner.now();
    let started = inner.with(|world| begin_poll(world, bot_id, offset, allowed, now));
    let generation = match started {
        Ok(generation) => generation,
        Err(response) => return response,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = inner.updates_arrived.notified();
        let batch = inner.with(|world| take_batch(world, bot_id, limit, generation));
        match batch {
            Err(response) => return response,
            Ok(updates) if !updates.is_empty() || tokio::time::Instant::now() >= deadline => return ok(json!(updates)),
            Ok(_) => {}
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            let batch = inner.with(|world| take_batch(world, bot_id, limit, generation));
            return batch.map_or_else(|response| response, |updates| ok(json!(updates)));
        }
    }
}

/// Confirms updates below `offset`, takes over polling, and wakes an older poller.
fn begin_poll(
    world: &mut World,
    bot_id: &str,
    offset: Option<i64>,
    allowed: Option<Vec<String>>,
    now: Timestamp,
) -> Result<u64, ApiResponse> {
    let retention = SignedDuration::from_hours(world.limits.telegram_update_retention_hours);
    let Some(bot) = world.tg.bots.get_mut(bot_id) else { return Err(fail(401, "Unauthorized")) };
    if bot.webhook.is_some() {
        return Err(fail(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        ));
    }
    match offset {
        Some(offset) if offset < 0 => {
            let keep = usize::try_from(-offset).unwrap_or(0);
            while bot.queue.len() > keep {
                bot.queue.pop_front();
            }
        }
        Some(offset) => bot.queue.retain(|u| u.id >= offset),
        None => {}
    }
    // Unconfirmed updates are kept for at most a day.
    bot.queue.retain(|u| u.created + retention > now);
    if let Some(allowed) = allowed {
        bot.allowed_updates = allowed;
    }
    bot.poll_generation += 1;
    Ok(bot.poll_generation)
}

fn take_batch(world: &mut World, bot_id: &str, limit: usize, generation: u64) -> Result<Vec<Value>, ApiResponse> {
    let Some(bot) = world.tg.bots.get(bot_id) else { return Err(fail(401, "Unauthorized")) };
    if bot.poll_generation != generation {
        return Err(fail(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        ));
    }
    if bot.webhook.is_some() {
        return Err(fail(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        ));
    }
    Ok(bot.queue.iter().take(limit).map(|u| u.update.clone()).collect())
}

fn ensure_user(world: &mut World, customer: &Customer) -> Result<i64, SandboxError> {
    let id: i64 = customer
        .id
        .parse()
        .map_err(|_| SandboxError::InvalidAction(format!("Telegram user ids are integers: {:?}", customer.id)))?;
    let mut names = customer.name.splitn(2, ' ');
    let first_name = names.next().unwrap_or_default().to_string();
    let last_name = names.next().map(str::to_string);
    let username = Some(customer.handle.trim_start_matches('@').to_string()).filter(|u| !u.is_empty());
    let language_code = guess_lang(&customer.name).to_string();
    world.tg.users.insert(id, TgUser { id, first_name, last_name, username, language_code });
    Ok(id)
}

fn bot_of(world: &World, account: Option<&str>) -> Result<String, SandboxError> {
    Ok(world.resolve_account(SimNetwork::Telegram, account)?.external_id)
}

/// Adds a message from `from` to the chat and returns it.
#[allow(clippy::too_many_arguments)]
fn add_message(
    bot: &mut Bot,
    chat_id: i64,
    kind: &str,
    title: Option<String>,
    from: i64,
    text: &str,
    reply_to: Option<i64>,
    now: Timestamp,
) -> TgMessage {
    let chat = bot.chats.entry(chat_id).or_insert_with(|| Chat {
        id: chat_id,
        kind: kind.to_string(),
        title,
        next_message_id: 1,
        messages: Default::default(),
    });
    let id = chat.next_message_id;
    chat.next_message_id += 1;
    let message = TgMessage {
        id,
        from,
        text: text.to_string(),
        date: now,
        reply_to: reply_to.filter(|r| chat.messages.contains_key(r)),
        edit_date: None,
    };
    chat.messages.insert(id, message.clone());
    message
}

fn report(bot_id: &str, chat: i64, message: i64, update: Option<i64>, note: Option<&str>) -> ActionReport {
    ActionReport {
        network: Some(SimNetwork::Telegram),
        account_id: bot_id.to_string(),
        item_id: format!("{chat}:{message}"),
        related_ids: vec![chat.to_string()],
        event_keys: update.map(|u| vec![u.to_string()]).unwrap_or_default(),
        note: note.map(str::to_string),
    }
}

fn message_update(
    world: &mut World,
    bot_id: &str,
    chat_id: i64,
    message: &TgMessage,
    kind: &str,
    now: Timestamp,
) -> Option<i64> {
    let bot = world.tg.bots.get(bot_id)?;
    let chat = bot.chats.get(&chat_id)?;
    let payload = message_json(world, bot, chat, message, true);
    push_update(world, bot_id, kind, payload, now)
}

pub(crate) fn act(world: &mut World, now: Timestamp, action: CustomerAction) -> Result<ActionReport, SandboxError> {
    match action {
        CustomerAction::TelegramPrivateMessage { account, customer, text, reply_to_message_id } => {
            let bot_id = bot_of(world, account.as_deref())?;
            let user = ensure_user(world, &customer)?;
            let bot = world.tg.bots.get_mut(&bot_id).ok_or(SandboxError::NoAccount(SimNetwork::Telegram))?;
            bot.started.insert(user);
            bot.blocked.remove(&user);
            let message = add_message(bot, user, "private", None, user, &text, reply_to_message_id, now);
            let update = message_update(world, &bot_id, user, &message, "message", now);
            Ok(report(&bot_id, user, message.id, update, None))
        }
        CustomerAction::TelegramGroupMessage { account, customer, chat_id, chat_title, text, reply_to_message_id } => {
            let bot_id = bot_of(world, account.as_deref())?;
            let user = ensure_user(world, &customer)?;
            let title = chat_title.unwrap_or_else(|| "Customers".into());
            let chat_id = chat_id.unwrap_or_else(|| group_id_for(&title));
            let bot = world.tg.bots.get_mut(&bot_id).ok_or(SandboxError::NoAccount(SimNetwork::Telegram))?;
            let message = add_message(bot, chat_id, "supergroup", Some(title), user, &text, reply_to_message_id, now);
            let replied_to_bot = message
                .reply_to
                .and_then(|r| bot.chats.get(&chat_id)?.messages.get(&r).map(|m| m.from == bot.id))
                .unwrap_or(false);
            let visible = !bot.privacy_mode
                || text.starts_with('/')
                || text.to_lowercase().contains(&format!("@{}", bot.username.to_lowercase()))
                || replied_to_bot;
            if !visible {
                return Ok(report(
                    &bot_id,
                    chat_id,
                    message.id,
                    None,
                    Some("privacy mode: the bot does not see this group message"),
                ));
            }
            let update = message_update(world, &bot_id, chat_id, &message, "message", now);
            Ok(report(&bot_id, chat_id, message.id, update, None))
        }
        CustomerAction::TelegramBlockBot { account, customer } => {
            let bot_id = bot_of(world, account.as_deref())?;
            let user = ensure_user(world, &customer)?;
            let bot = world.tg.bots.get_mut(&bot_id).ok_or(SandboxError::NoAccount(SimNetwork::Telegram))?;
            bot.blocked.insert(user);
            let bot_user = super::bot_json(bot);
            let from = world.tg.users.get(&user).map(user_json).unwrap_or(Value::Null);
            let payload = json!({
                "chat": {"id": user, "type": "private", "first_name": from.get("first_name")},
                "from": from, "date": now.as_second(),
                "old_chat_member": {"user": bot_user, "status": "member"},
                "new_chat_member": {"user": bot_user, "status": "kicked", "until_date": 0},
            });
            let update = push_update(world, &bot_id, "my_chat_member", payload, now);
            Ok(report(&bot_id, user, 0, update, None))
        }
        CustomerAction::Edit { item_id, text, .. } => edit(world, &item_id, &text, now),
        CustomerAction::Delete { item_id, .. } => {
            let (bot_id, chat, message) = find(world, &item_id)?;
            if let Some(chat) = world.tg.bots.get_mut(&bot_id).and_then(|b| b.chats.get_mut(&chat)) {
                chat.messages.remove(&message);
            }
            Ok(report(&bot_id, chat, message, None, Some("bots receive no update when a user deletes a message")))
        }
        other => Err(SandboxError::InvalidAction(format!("not a Telegram action: {other:?}"))),
    }
}

/// Supergroup ids look like -100xxxxxxxxxx.
fn group_id_for(title: &str) -> i64 {
    let hash =
        title.bytes().fold(1_469_598_103_934_665_603u64, |h, b| (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211));
    -(1_000_000_000_000 + (hash % 1_000_000_000) as i64)
}

/// `chat:message` → (bot, chat, message).
fn find(world: &World, item_id: &str) -> Result<(String, i64, i64), SandboxError> {
    let unknown = || SandboxError::UnknownItem(item_id.to_string());
    let (chat, message) = item_id.split_once(':').ok_or_else(unknown)?;
    let (chat, message): (i64, i64) = (chat.parse().map_err(|_| unknown())?, message.parse().map_err(|_| unknown())?);
    let bot = world.tg.bots.iter().find(|(_, b)| b.chats.get(&chat).is_some_and(|c| c.messages.contains_key(&message)));
    bot.map(|(id, _)| (id.clone(), chat, message)).ok_or_else(unknown)
}

fn edit(world: &mut World, item_id: &str, text: &str, now: Timestamp) -> Result<ActionReport, SandboxError> {
    let (bot_id, chat, id) = find(world, item_id)?;
    let message = world
        .tg
        .bots
        .get_mut(&bot_id)
        .and_then(|b| b.chats.get_mut(&chat))
        .and_then(|c| c.messages.get_mut(&id))
        .ok_or_else(|| SandboxError::UnknownItem(item_id.to_string()))?;
    message.text = text.to_string();
    message.edit_date = Some(now);
    let message = message.clone();
    let update = message_update(world, &bot_id, chat, &message, "edited_message", now);
    Ok(report(&bot_id, chat, id, update, None))
}
