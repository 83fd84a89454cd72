//! Telegram Bot API, served under `/telegram/bot<token>/<method>`. Every
//! answer is `{"ok":true,"result":…}` or `{"ok":false,"error_code",
//! "description"[,"parameters"]}`. Updates go to the webhook (one Update per
//! POST, `X-Telegram-Bot-Api-Secret-Token`) or wait for `getUpdates`.

mod methods;
mod updates;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::config::ApiFault;
use crate::faults::{Gate, gate, label};
use crate::http::{ApiRequest, ApiResponse, Handled};
use crate::model::{Account, SimNetwork};
use crate::state::{Inner, World};

pub(crate) use updates::act;

#[derive(Clone, Debug)]
pub(crate) struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: String,
}

#[derive(Clone, Debug)]
pub(crate) struct TgMessage {
    pub id: i64,
    pub from: i64,
    pub text: String,
    pub date: Timestamp,
    pub reply_to: Option<i64>,
    pub edit_date: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub(crate) struct Chat {
    pub id: i64,
    /// `private`, `group` or `supergroup`.
    pub kind: String,
    pub title: Option<String>,
    pub next_message_id: i64,
    pub messages: BTreeMap<i64, TgMessage>,
}

#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct QueuedUpdate {
    pub id: i64,
    pub update: Value,
    pub created: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct Bot {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub webhook: Option<Webhook>,
    pub allowed_updates: Vec<String>,
    /// Updates waiting for `getUpdates` (no webhook set).
    pub queue: VecDeque<QueuedUpdate>,
    pub next_update_id: i64,
    /// Bumped by each getUpdates so an older long poll ends with 409.
    pub poll_generation: u64,
    pub last_error: Option<(Timestamp, String)>,
    pub chats: BTreeMap<i64, Chat>,
    /// Users whose private chat with the bot exists (they wrote to it).
    pub started: BTreeSet<i64>,
    pub blocked: BTreeSet<i64>,
    /// Privacy mode: in groups the bot sees only commands, mentions and replies to it.
    pub privacy_mode: bool,
}

#[derive(Default)]
pub(crate) struct TgWorld {
    pub bots: BTreeMap<String, Bot>,
    pub users: BTreeMap<i64, TgUser>,
}

impl TgWorld {
    pub(crate) fn webhook(&self, bot: &str) -> Option<(String, Option<String>)> {
        self.bots.get(bot).and_then(|b| b.webhook.as_ref()).map(|w| (w.url.clone(), w.secret.clone()))
    }

    /// `getWebhookInfo` reports the last delivery error.
    pub(crate) fn note_delivery(&mut self, bot: &str, ok: bool, status: Option<u16>, now: Timestamp) {
        if let Some(bot) = self.bots.get_mut(bot)
            && !ok
        {
            let message = match status {
                Some(status) => format!("Wrong response from the webhook: {status}"),
                None => "Connection timed out".to_string(),
            };
            bot.last_error = Some((now, message));
        }
    }
}

pub(crate) fn register(world: &mut World, account: &Account) {
    let id: i64 = account.external_id.parse().unwrap_or_default();
    let webhook = account.webhook_url.clone().map(|url| Webhook {
        url,
        secret: account.credential("secret_token").map(str::to_string),
        max_connections: 40,
    });
    let previous = world.tg.bots.remove(&account.external_id);
    let seed = world.rng.below(100_000_000) as i64;
    let bot = Bot {
        id,
        username: account.handle.trim_start_matches('@').to_string(),
        name: account.credential("name").unwrap_or(&account.handle).to_string(),
        webhook,
        allowed_updates: Vec::new(),
        queue: previous.as_ref().map(|b| b.queue.clone()).unwrap_or_default(),
        next_update_id: previous.as_ref().map_or(800_000_000 + seed, |b| b.next_update_id),
        poll_generation: 0,
        last_error: None,
        chats: previous.as_ref().map(|b| b.chats.clone()).unwrap_or_default(),
        started: previous.as_ref().map(|b| b.started.clone()).unwrap_or_default(),
        blocked: previous.as_ref().map(|b| b.blocked.clone()).unwrap_or_default(),
        privacy_mode: account.credentials.get("privacy_mode").and_then(Value::as_bool).unwrap_or(true),
    };
    world.tg.bots.insert(account.external_id.clone(), bot);
}

pub(crate) fn ok(result: Value) -> ApiResponse {
    ApiResponse::json(200, &json!({"ok": true, "result": result}))
}

pub(crate) fn fail(code: u16, description: &str) -> ApiResponse {
    ApiResponse::json(code, &json!({"ok": false, "error_code": code, "description": description}))
}

pub(crate) fn too_many_requests(retry_after: u64) -> ApiResponse {
    ApiResponse::json(
        429,
        &json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {retry_after}"),
                "parameters": {"retry_after": retry_after}}),
    )
}

fn fault_response(world: &World, fault: &ApiFault) -> ApiResponse {
    match fault {
        ApiFault::RateLimited => too_many_requests(world.limits.telegram_fault_retry_after_secs),
        ApiFault::ServerError(502) => ApiResponse::text(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        ApiFault::ServerError(code) => fail(*code, "Internal Server Error"),
        ApiFault::ExpiredToken | ApiFault::Timeout { .. } => fail(401, "Unauthorized"),
        ApiFault::MissingPermission => fail(400, "Bad Request: not enough rights to send text messages to the chat"),
    }
}

pub(crate) async fn handle(inner: &Arc<Inner>, request: &ApiRequest) -> Handled {
    let segments = request.segments("/telegram");
    let (token, method) = match segments.as_slice() {
        [bot, method] if bot.starts_with("bot") => (bot.trim_start_matches("bot").to_string(), method.to_lowercase()),
        _ => return done(fail(404, "Not Found"), None),
    };
    let bot_id = inner.with(|world| {
        world
            .accounts
            .iter()
            .find(|a| a.network == SimNetwork::Telegram && a.credential("bot_token") == Some(token.as_str()))
            .map(|a| a.external_id.clone())
    });
    let Some(bot_id) = bot_id else { return done(fail(401, "Unauthorized"), None) };
    let fault = match gate(inner, SimNetwork::Telegram).await {
        Gate::Proceed(label) => label,
        Gate::Refuse(fault) => {
            let response = inner.with(|world| fault_response(world, &fault));
            return done(response, Some(label(&fault)));
        }
    };
    let params = request.params();
    let response = if method == "getupdates" {
        updates::get_updates(inner, &bot_id, &params).await
    } else {
        let now = inner.now();
        inner.with(|world| methods::call(world, &bot_id, &method, &params, now))
    };
    done(response, fault)
}

fn done(response: ApiResponse, fault: Option<String>) -> Handled {
    Handled { network: SimNetwork::Telegram, response, fault }
}

pub(crate) fn user_json(user: &TgUser) -> Value {
    let mut object =
        json!({"id": user.id, "is_bot": false, "first_name": user.first_name, "language_code": user.language_code});
    if let Some(last) = &user.last_name {
        object["last_name"] = json!(last);
    }
    if let Some(username) = &user.username {
        object["username"] = json!(username);
    }
    object
}

pub(crate) fn bot_json(bot: &Bot) -> Value {
    json!({"id": bot.id, "is_bot": true, "first_name": bot.name, "username": bot.username})
}

pub(crate) fn chat_json(world: &World, chat: &Chat) -> Value {
    if chat.kind == "private" {
        let user = world.tg.users.get(&chat.id);
        let mut object = json!({"id": chat.id, "type": "private", "first_name": user.map(|u| u.first_name.clone()).unwrap_or_default()});
        if let Some(username) = user.and_then(|u| u.username.clone()) {
            object["username"] = json!(username);
        }
        return object;
    }
    json!({"id": chat.id, "title": chat.title, "type": chat.kind})
}

/// A Message object; the replied-to message is nested one level, as Telegram does.
pub(crate) fn message_json(world: &World, bot: &Bot, chat: &Chat, message: &TgMessage, nest: bool) -> Value {
    let from = if message.from == bot.id {
        bot_json(bot)
    } else {
        world
            .tg
            .users
            .get(&message.from)
            .map(user_json)
            .unwrap_or_else(|| json!({"id": message.from, "is_bot": false, "first_name": ""}))
    };
    let mut object = json!({
        "message_id": message.id, "from": from, "chat": chat_json(world, chat),
        "date": message.date.as_second(), "text": message.text,
    });
    if let Some(edit) = message.edit_date {
        object["edit_date"] = json!(edit.as_second());
    }
    if let Some(command) = bot_command_entity(&message.text) {
        object["entities"] = json!([command]);
    }
    if nest && let Some(parent) = message.reply_to.and_then(|id| chat.messages.get(&id)) {
        object["reply_to_message"] = message_json(world, bot, chat, parent, false);
    }
    object
}

/// `/start`-style commands carry a `bot_command` entity (UTF-16 offsets).
fn bot_command_entity(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split_whitespace().next().unwrap_or_default();
    Some(json!({"offset": 0, "length": command.encode_utf16().count(), "type": "bot_command"}))
}
