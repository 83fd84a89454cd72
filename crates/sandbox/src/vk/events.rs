//! VK events: customer actions, Callback API queueing, and the Bots Long
//! Poll `a_check` endpoint (same event shapes, no `secret`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{API_VERSION, VkMessage, WallComment};
use crate::delivery::{Payload, enqueue};
use crate::http::{ApiResponse, param_str};
use crate::model::{ActionReport, Customer, CustomerAction, SandboxError, SimNetwork};
use crate::state::{Inner, World};

/// How many long-poll events are kept before old `ts` values fail with `failed: 1`.
const LONG_POLL_KEPT: usize = 1_000;

pub(crate) fn message_object(message: &VkMessage) -> Value {
    json!({
        "date": message.date.as_second(), "from_id": message.from_id, "id": message.id,
        "out": i32::from(message.out), "peer_id": message.peer_id, "text": message.text,
        "conversation_message_id": message.conversation_message_id, "fwd_messages": [], "attachments": [],
        "important": false, "is_hidden": false, "random_id": message.random_id,
    })
}

pub(crate) fn wall_comment_object(owner_id: i64, comment: &WallComment) -> Value {
    let mut object = json!({
        "id": comment.id, "from_id": comment.from_id, "post_id": comment.post_id, "owner_id": owner_id,
        "parents_stack": comment.parents_stack, "date": comment.date.as_second(), "text": comment.text,
        "thread": {"count": 0},
    });
    if let Some(reply) = comment.reply_to_comment {
        object["reply_to_comment"] = json!(reply);
    }
    if let Some(user) = comment.reply_to_user {
        object["reply_to_user"] = json!(user);
    }
    object
}

/// Logs the event for long poll and queues it for the Callback server.
pub(crate) fn emit(world: &mut World, group: &str, kind: &str, object: Value, now: Timestamp) -> String {
    let event_id = world.rng.hex(40);
    let Some(g) = world.vk.groups.get_mut(group) else { return event_id };
    let event = json!({"type": kind, "event_id": event_id, "v": API_VERSION, "object": object, "group_id": g.id});
    g.lp_events.push((g.lp_next, event.clone()));
    g.lp_next += 1;
    if g.lp_events.len() > LONG_POLL_KEPT {
        g.lp_events.remove(0);
    }
    if g.callback.is_some() {
        enqueue(world, now, SimNetwork::Vk, group, &event_id, Payload::Vk(event));
    }
    event_id
}

/// `GET {server}?act=a_check&key=…&ts=…&wait=…`
pub(crate) async fn a_check(inner: &Arc<Inner>, group_id: &str, params: &Map<String, Value>) -> ApiResponse {
    let key = param_str(params, "key").unwrap_or_default();
    let ts: Option<u64> = param_str(params, "ts").and_then(|t| t.parse().ok());
    let wait = param_str(params, "wait").and_then(|w| w.parse::<u64>().ok()).unwrap_or(25).min(90);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let notified = inner.updates_arrived.notified();
        let answer = inner.with(|world| poll_once(world, group_id, &key, ts));
        match answer {
            Some(response) => return response,
            None if tokio::time::Instant::now() >= deadline => {
                return ApiResponse::json(200, &json!({"ts": ts.unwrap_or_default().to_string(), "updates": []}));
            }
            None => {}
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return inner.with(|world| poll_once(world, group_id, &key, ts)).unwrap_or_else(|| {
                ApiResponse::json(200, &json!({"ts": ts.unwrap_or_default().to_string(), "updates": []}))
            });
        }
    }
}

/// An answer when there is one (events or a failure), None to keep waiting.
fn poll_once(world: &World, group_id: &str, key: &str, ts: Option<u64>) -> Option<ApiResponse> {
    let Some(group) = world.vk.groups.values().find(|g| g.id.to_string() == group_id) else {
        return Some(ApiResponse::json(200, &json!({"failed": 2})));
    };
    if key != group.lp_key {
        return Some(ApiResponse::json(200, &json!({"failed": 2})));
    }
    let oldest = group.lp_events.first().map_or(group.lp_next, |(t, _)| *t);
    let Some(ts) = ts.filter(|t| *t <= group.lp_next && *t >= oldest.min(group.lp_next)) else {
        return Some(ApiResponse::json(200, &json!({"failed": 1, "ts": group.lp_next.to_string()})));
    };
    let updates: Vec<Value> = group.lp_events.iter().filter(|(t, _)| *t >= ts).map(|(_, e)| e.clone()).collect();
    if updates.is_empty() {
        return None;
    }
    Some(ApiResponse::json(200, &json!({"ts": group.lp_next.to_string(), "updates": updates})))
}

fn user_id(customer: &Customer) -> Result<i64, SandboxError> {
    customer.id.parse().map_err(|_| SandboxError::InvalidAction(format!("VK user ids are integers: {:?}", customer.id)))
}

fn report(group: &str, item_id: String, related: Vec<String>, keys: Vec<String>, note: Option<&str>) -> ActionReport {
    ActionReport {
        network: Some(SimNetwork::Vk),
        account_id: group.to_string(),
        item_id,
        related_ids: related,
        event_keys: keys,
        note: note.map(str::to_string),
    }
}

fn keys_if_delivered(world: &World, group: &str, event_id: String) -> Vec<String> {
    if world.vk.callback(group).is_some() { vec![event_id] } else { Vec::new() }
}

pub(crate) fn act(world: &mut World, now: Timestamp, action: CustomerAction) -> Result<ActionReport, SandboxError> {
    match action {
        CustomerAction::VkMessage { account, customer, text } => {
            let group = world.resolve_account(SimNetwork::Vk, account.as_deref())?.external_id;
            let user = user_id(&customer)?;
            let g = world.vk.groups.get_mut(&group).ok_or(SandboxError::NoAccount(SimNetwork::Vk))?;
            g.allowed.insert(user);
            g.denied.remove(&user);
            let id = g.next_message_id;
            g.next_message_id += 1;
            let cmid = g.next_cmid.entry(user).or_insert(1);
            let message = VkMessage {
                id,
                peer_id: user,
                from_id: user,
                text,
                date: now,
                conversation_message_id: *cmid,
                out: false,
                random_id: 0,
            };
            *cmid += 1;
            g.messages.insert(id, message.clone());
            let client_info = json!({"button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
                                     "keyboard": true, "inline_keyboard": true, "carousel": true, "lang_id": 0});
            let object = json!({"message": message_object(&message), "client_info": client_info});
            let event = emit(world, &group, "message_new", object, now);
            let keys = keys_if_delivered(world, &group, event);
            Ok(report(&group, id.to_string(), vec![message.conversation_message_id.to_string()], keys, None))
        }
        CustomerAction::VkMessagePermission { account, customer, allowed } => {
            let group = world.resolve_account(SimNetwork::Vk, account.as_deref())?.external_id;
            let user = user_id(&customer)?;
            let g = world.vk.groups.get_mut(&group).ok_or(SandboxError::NoAccount(SimNetwork::Vk))?;
            let (kind, object) = if allowed {
                g.allowed.insert(user);
                g.denied.remove(&user);
                ("message_allow", json!({"user_id": user, "key": ""}))
            } else {
                g.denied.insert(user);
                ("message_deny", json!({"user_id": user}))
            };
            let event = emit(world, &group, kind, object, now);
            let keys = keys_if_delivered(world, &group, event);
            Ok(report(&group, user.to_string(), Vec::new(), keys, None))
        }
        CustomerAction::VkWallComment { account, customer, post_id, reply_to_comment, text } => {
            let group = world.resolve_account(SimNetwork::Vk, account.as_deref())?.external_id;
            wall_comment(world, &group, &customer, post_id, reply_to_comment, text, now)
        }
        CustomerAction::Edit { item_id, text, .. } => edit(world, &item_id, text, now),
        CustomerAction::Delete { item_id, .. } => delete(world, &item_id, now),
        other => Err(SandboxError::InvalidAction(format!("not a VK action: {other:?}"))),
    }
}

fn wall_comment(
    world: &mut World,
    group: &str,
    customer: &Customer,
    post_id: Option<i64>,
    reply_to: Option<i64>,
    text: String,
    now: Timestamp,
) -> Result<ActionReport, SandboxError> {
    let user = user_id(customer)?;
    let g = world.vk.groups.get_mut(group).ok_or(SandboxError::NoAccount(SimNetwork::Vk))?;
    let post = match post_id {
        Some(post) if g.posts.contains_key(&post) => post,
        Some(post) => return Err(SandboxError::UnknownItem(post.to_string())),
        None => match g.posts.keys().next_back() {
            Some(latest) => *latest,
            None => {
                let id = g.next_wall_id;
                g.next_wall_id += 1;
                g.posts.insert(id, ("Мы открыли новый магазин в Казани! 🎉".into(), now));
                id
            }
        },
    };
    let parent = match reply_to {
        Some(id) => Some(
            g.comments
                .get(&id)
                .filter(|c| !c.deleted && c.post_id == post)
                .cloned()
                .ok_or_else(|| SandboxError::UnknownItem(id.to_string()))?,
        ),
        None => None,
    };
    let id = g.next_wall_id;
    g.next_wall_id += 1;
    let comment = WallComment {
        id,
        post_id: post,
        from_id: user,
        text,
        date: now,
        reply_to_comment: reply_to,
        reply_to_user: parent.as_ref().map(|p| p.from_id),
        parents_stack: parent.map(|p| p.parents_stack.iter().copied().chain([p.id]).collect()).unwrap_or_default(),
        deleted: false,
    };
    g.comments.insert(id, comment.clone());
    let owner = -g.id;
    let event = emit(world, group, "wall_reply_new", wall_comment_object(owner, &comment), now);
    let keys = keys_if_delivered(world, group, event);
    Ok(report(group, format!("{owner}_{id}"), vec![post.to_string()], keys, None))
}

/// `-group_comment` is a wall comment, a plain number a community message.
fn edit(world: &mut World, item_id: &str, text: String, now: Timestamp) -> Result<ActionReport, SandboxError> {
    let unknown = || SandboxError::UnknownItem(item_id.to_string());
    if let Some((owner, comment_id)) = item_id.split_once('_') {
        let comment_id: i64 = comment_id.parse().map_err(|_| unknown())?;
        let group = owner.trim_start_matches('-').to_string();
        let g = world.vk.groups.get_mut(&group).ok_or_else(unknown)?;
        let comment = g.comments.get_mut(&comment_id).filter(|c| !c.deleted).ok_or_else(unknown)?;
        comment.text = text;
        let object = wall_comment_object(-g.id, comment);
        let event = emit(world, &group, "wall_reply_edit", object, now);
        let keys = keys_if_delivered(world, &group, event);
        return Ok(report(&group, item_id.to_string(), Vec::new(), keys, None));
    }
    let id: i64 = item_id.parse().map_err(|_| unknown())?;
    let group = world
        .vk
        .groups
        .iter()
        .find(|(_, g)| g.messages.contains_key(&id))
        .map(|(k, _)| k.clone())
        .ok_or_else(unknown)?;
    let g = world.vk.groups.get_mut(&group).ok_or_else(unknown)?;
    let message = g.messages.get_mut(&id).ok_or_else(unknown)?;
    message.text = text;
    let mut object = message_object(message);
    object["update_time"] = json!(now.as_second());
    let event = emit(world, &group, "message_edit", object, now);
    let keys = keys_if_delivered(world, &group, event);
    Ok(report(&group, item_id.to_string(), Vec::new(), keys, None))
}

fn delete(world: &mut World, item_id: &str, now: Timestamp) -> Result<ActionReport, SandboxError> {
    let unknown = || SandboxError::UnknownItem(item_id.to_string());
    let Some((owner, comment_id)) = item_id.split_once('_') else {
        let id: i64 = item_id.parse().map_err(|_| unknown())?;
        let group = world
            .vk
            .groups
            .iter()
            .find(|(_, g)| g.messages.contains_key(&id))
            .map(|(k, _)| k.clone())
            .ok_or_else(unknown)?;
        return Ok(report(
            &group,
            item_id.to_string(),
            Vec::new(),
            Vec::new(),
            Some("VK sends no Callback event when a user deletes a message"),
        ));
    };
    let comment_id: i64 = comment_id.parse().map_err(|_| unknown())?;
    let group = owner.trim_start_matches('-').to_string();
    let g = world.vk.groups.get_mut(&group).ok_or_else(unknown)?;
    let comment = g.comments.get_mut(&comment_id).filter(|c| !c.deleted).ok_or_else(unknown)?;
    comment.deleted = true;
    let object = json!({"owner_id": -g.id, "id": comment_id, "deleter_id": comment.from_id, "post_id": comment.post_id, "user_id": comment.from_id});
    let event = emit(world, &group, "wall_reply_delete", object, now);
    let keys = keys_if_delivered(world, &group, event);
    Ok(report(&group, item_id.to_string(), Vec::new(), keys, None))
}
