//! VK methods: messages.send (random_id idempotency, permission rule),
//! wall.createComment (guid), wall.deleteComment, likes.add, groups.*.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::events::{emit, message_object, wall_comment_object};
use super::{Callback, Group, VkError, VkMessage, WallComment, vk_error};
use crate::http::param_str;
use crate::model::{PublishedKind, SimNetwork};
use crate::state::World;

fn int(params: &Map<String, Value>, key: &str) -> Option<i64> {
    param_str(params, key).and_then(|v| v.trim().parse().ok())
}

fn missing(what: &str) -> VkError {
    vk_error(100, &format!("One of the parameters specified was missing or invalid: {what}"))
}

fn group_mut<'a>(world: &'a mut World, group: &str) -> Result<&'a mut Group, VkError> {
    world.vk.groups.get_mut(group).ok_or_else(|| vk_error(5, "User authorization failed: invalid access_token (4)."))
}

pub(crate) fn call(
    world: &mut World,
    group: &str,
    method: &str,
    params: &Map<String, Value>,
    now: Timestamp,
    base: &str,
) -> Result<Value, VkError> {
    match method {
        "messages.send" => send_message(world, group, params, now),
        "wall.createComment" => create_comment(world, group, params, now),
        "wall.deleteComment" => delete_comment(world, group, params, now),
        "likes.add" | "likes.delete" => like(world, group, params, method == "likes.add", now),
        "wall.getById" => wall_get_by_id(world, group, params),
        "groups.getById" => {
            let g = group_mut(world, group)?;
            Ok(
                json!({"groups": [{"id": g.id, "name": g.name, "screen_name": g.screen_name, "is_closed": 0, "type": "group",
                                   "photo_50": "https://sun1-1.userapi.com/sandbox_50.png"}], "profiles": []}),
            )
        }
        "groups.getLongPollServer" => {
            let g = group_mut(world, group)?;
            Ok(json!({"key": g.lp_key, "server": format!("{base}/lp/{}", g.id), "ts": g.lp_next.to_string()}))
        }
        "groups.getCallbackConfirmationCode" => {
            let code = group_mut(world, group)?.callback.as_ref().map(|c| c.code.clone()).unwrap_or_default();
            Ok(json!({"code": code}))
        }
        "groups.addCallbackServer" => add_callback_server(world, group, params, now),
        "groups.setCallbackSettings" | "groups.setLongPollSettings" => Ok(json!(1)),
        _ => Err(vk_error(3, "Unknown method passed")),
    }
}

/// `wall.getById(posts="{owner}_{id},…")`: the community's own wall posts
/// that exist, as `{items: […]}` (API 5.184 and later).
fn wall_get_by_id(world: &mut World, group: &str, params: &Map<String, Value>) -> Result<Value, VkError> {
    let posts = param_str(params, "posts").filter(|p| !p.trim().is_empty()).ok_or_else(|| missing("posts"))?;
    let g = group_mut(world, group)?;
    let owner = -g.id;
    let items: Vec<Value> = posts
        .split(',')
        .filter_map(|wanted| {
            let (o, id) = wanted.trim().split_once('_')?;
            let (o, id) = (o.parse::<i64>().ok()?, id.parse::<i64>().ok()?);
            let (text, date) = g.posts.get(&id).filter(|_| o == owner)?;
            Some(json!({"id": id, "owner_id": owner, "from_id": owner, "date": date.as_second(),
                        "post_type": "post", "text": text}))
        })
        .collect();
    Ok(json!({"items": items}))
}

/// `messages.send(peer_id|user_id, random_id, message, …)`.
fn send_message(world: &mut World, group: &str, params: &Map<String, Value>, now: Timestamp) -> Result<Value, VkError> {
    let peer =
        int(params, "peer_id").or_else(|| int(params, "user_id")).ok_or_else(|| missing("peer_id is undefined"))?;
    let random_id = int(params, "random_id").ok_or_else(|| missing("random_id is a required parameter"))?;
    let text = param_str(params, "message").unwrap_or_default();
    if text.trim().is_empty() && param_str(params, "attachment").is_none() {
        return Err(missing("message is empty or invalid"));
    }
    let max = world.limits.vk_message_max_chars;
    let g = group_mut(world, group)?;
    if let Some(existing) = g.random_ids.get(&(peer, random_id)).filter(|_| random_id != 0) {
        // Same random_id: VK returns the first message instead of sending again.
        return Ok(json!(existing));
    }
    if !g.allowed.contains(&peer) || g.denied.contains(&peer) {
        return Err(vk_error(901, "Can't send messages for users without permission"));
    }
    if text.chars().count() > max {
        return Err(vk_error(914, "Message is too long"));
    }
    let id = g.next_message_id;
    g.next_message_id += 1;
    let cmid = g.next_cmid.entry(peer).or_insert(1);
    let conversation_message_id = *cmid;
    *cmid += 1;
    let message = VkMessage {
        id,
        peer_id: peer,
        from_id: -g.id,
        text: text.clone(),
        date: now,
        conversation_message_id,
        out: true,
        random_id,
    };
    g.messages.insert(id, message.clone());
    if random_id != 0 {
        g.random_ids.insert((peer, random_id), id);
    }
    let reply_to = int(params, "reply_to").map(|r| r.to_string());
    world.publish(
        SimNetwork::Vk,
        group,
        PublishedKind::DirectMessage,
        &id.to_string(),
        reply_to.as_deref(),
        Some(&peer.to_string()),
        &text,
        now,
    );
    // The community's own messages come back as `message_reply`.
    let object = message_object(&message);
    emit(world, group, "message_reply", object, now);
    Ok(json!(id))
}

/// `wall.createComment(owner_id, post_id, from_group, message, reply_to_comment, guid)`.
fn create_comment(
    world: &mut World,
    group: &str,
    params: &Map<String, Value>,
    now: Timestamp,
) -> Result<Value, VkError> {
    let owner = int(params, "owner_id").ok_or_else(|| missing("owner_id is undefined"))?;
    let post = int(params, "post_id").ok_or_else(|| missing("post_id is undefined"))?;
    let text = param_str(params, "message").unwrap_or_default();
    let g = group_mut(world, group)?;
    if owner != -g.id {
        return Err(vk_error(15, "Access denied: no access to this wall"));
    }
    if !g.posts.contains_key(&post) {
        return Err(missing("post_id is undefined"));
    }
    if text.trim().is_empty() && param_str(params, "attachments").is_none() {
        return Err(missing("message is empty or invalid"));
    }
    let guid = param_str(params, "guid").filter(|g| !g.is_empty());
    if let Some(existing) = guid.as_ref().and_then(|guid| g.guids.get(&(post, guid.clone()))) {
        let stack = g.comments.get(existing).map(|c| c.parents_stack.clone()).unwrap_or_default();
        return Ok(json!({"comment_id": existing, "parents_stack": stack}));
    }
    let reply_to = int(params, "reply_to_comment");
    let parent = match reply_to {
        Some(parent) => Some(
            g.comments
                .get(&parent)
                .filter(|c| !c.deleted && c.post_id == post)
                .cloned()
                .ok_or_else(|| missing("reply_to_comment is invalid"))?,
        ),
        None => None,
    };
    // A community token always comments as the community.
    let from_id = -g.id;
    let id = g.next_wall_id;
    g.next_wall_id += 1;
    let parents_stack: Vec<i64> =
        parent.as_ref().map(|p| p.parents_stack.iter().copied().chain([p.id]).collect()).unwrap_or_default();
    let comment = WallComment {
        id,
        post_id: post,
        from_id,
        text: text.clone(),
        date: now,
        reply_to_comment: reply_to,
        reply_to_user: parent.as_ref().map(|p| p.from_id),
        parents_stack: parents_stack.clone(),
        deleted: false,
    };
    g.comments.insert(id, comment.clone());
    if let Some(guid) = guid {
        g.guids.insert((post, guid), id);
    }
    let owner_id = -g.id;
    let kind = if reply_to.is_some() { PublishedKind::Reply } else { PublishedKind::Comment };
    let item = format!("{owner_id}_{id}");
    let in_reply_to = reply_to.map(|r| format!("{owner_id}_{r}")).unwrap_or_else(|| format!("{owner_id}_{post}"));
    let recipient = parent.map(|p| p.from_id.to_string());
    world.publish(SimNetwork::Vk, group, kind, &item, Some(&in_reply_to), recipient.as_deref(), &text, now);
    let object = wall_comment_object(owner_id, &comment);
    emit(world, group, "wall_reply_new", object, now);
    Ok(json!({"comment_id": id, "parents_stack": parents_stack}))
}

fn delete_comment(
    world: &mut World,
    group: &str,
    params: &Map<String, Value>,
    now: Timestamp,
) -> Result<Value, VkError> {
    let owner = int(params, "owner_id").ok_or_else(|| missing("owner_id is undefined"))?;
    let id = int(params, "comment_id").ok_or_else(|| missing("comment_id is undefined"))?;
    let g = group_mut(world, group)?;
    if owner != -g.id {
        return Err(vk_error(15, "Access denied: no access to this wall"));
    }
    let Some(comment) = g.comments.get_mut(&id).filter(|c| !c.deleted) else {
        return Err(vk_error(211, "Access denied: no access to this comment"));
    };
    comment.deleted = true;
    let comment = comment.clone();
    world.publish(SimNetwork::Vk, group, PublishedKind::Delete, &format!("{owner}_{id}"), None, None, "", now);
    let object = json!({"owner_id": owner, "id": id, "deleter_id": owner, "post_id": comment.post_id, "user_id": comment.from_id});
    emit(world, group, "wall_reply_delete", object, now);
    Ok(json!(1))
}

fn like(
    world: &mut World,
    group: &str,
    params: &Map<String, Value>,
    on: bool,
    now: Timestamp,
) -> Result<Value, VkError> {
    let kind = param_str(params, "type").ok_or_else(|| missing("type is undefined"))?;
    let owner = int(params, "owner_id").ok_or_else(|| missing("owner_id is undefined"))?;
    let item = int(params, "item_id").ok_or_else(|| missing("item_id is undefined"))?;
    let g = group_mut(world, group)?;
    let exists = match kind.as_str() {
        "comment" => g.comments.get(&item).is_some_and(|c| !c.deleted),
        "post" => g.posts.contains_key(&item),
        _ => return Err(missing("type is invalid")),
    };
    if !exists || owner != -g.id {
        return Err(vk_error(100, "One of the parameters specified was missing or invalid: object not found"));
    }
    let key = (kind, owner, item);
    let changed = if on { g.likes.insert(key) } else { g.likes.remove(&key) };
    let count = g.likes.iter().filter(|(_, o, i)| *o == owner && *i == item).count();
    if changed && on {
        world.publish(SimNetwork::Vk, group, PublishedKind::Like, &format!("{owner}_{item}"), None, None, "", now);
    }
    Ok(json!({"likes": count}))
}

fn add_callback_server(
    world: &mut World,
    group: &str,
    params: &Map<String, Value>,
    now: Timestamp,
) -> Result<Value, VkError> {
    let url = param_str(params, "url").ok_or_else(|| missing("url is undefined"))?;
    let secret = param_str(params, "secret_key").unwrap_or_default();
    let code = world.rng.hex(8);
    let g = group_mut(world, group)?;
    // Adding a server changes the confirmation code, as VK does.
    g.callback = Some(Callback { url: url.clone(), secret, confirmed: false, code });
    world.record_subscription(SimNetwork::Vk, group, "vk_callback_server", Some(&url), Vec::new(), now);
    Ok(json!({"server_id": 1}))
}
