//! Facebook Page feed and Instagram comments: objects, the Graph edges Hark
//! calls (comment, reply, hide, like, delete) and the `feed` / `comments`
//! webhook changes, including the page's own comments coming back.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Call, Comment, Post, invalid_param, unknown_object};
use crate::delivery::{Payload, enqueue};
use crate::http::ApiResponse;
use crate::model::{PublishedKind, SimNetwork};
use crate::state::World;

/// Graph's `created_time` format: `2026-11-03T09:15:00+0000`.
pub(crate) fn graph_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

fn local_part(id: &str) -> &str {
    id.rsplit('_').next().unwrap_or(id)
}

/// The latest post of the page (or IG media), created when there is none.
pub(crate) fn ensure_post(world: &mut World, account: &str, network: SimNetwork, now: Timestamp) -> String {
    let existing =
        world.meta.posts.values().filter(|p| p.account == account && p.author.is_none()).max_by_key(|p| p.created);
    if let Some(post) = existing {
        return post.id.clone();
    }
    let text = "Our autumn collection is here! Tell us what you think 🍂";
    new_post(world, account, network, None, text, now)
}

pub(crate) fn new_post(
    world: &mut World,
    account: &str,
    network: SimNetwork,
    author: Option<(String, String)>,
    text: &str,
    now: Timestamp,
) -> String {
    let seq = world.next_seq();
    let id = match network {
        SimNetwork::Instagram => (18_000_000_000_000_000u64 + seq).to_string(),
        _ => format!("{account}_{}", 122_000_000_000_000_000u64 + seq),
    };
    let post = Post {
        account: account.to_string(),
        id: id.clone(),
        author,
        text: text.to_string(),
        created: now,
        private_replied: false,
    };
    world.meta.posts.insert(id.clone(), post);
    id
}

/// Creates a comment; replies attach to the top-level comment of the thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_comment(
    world: &mut World,
    account: &str,
    network: SimNetwork,
    post_id: &str,
    reply_to: Option<&str>,
    author: (&str, &str),
    text: &str,
    now: Timestamp,
) -> Comment {
    let seq = world.next_seq();
    let id = match network {
        SimNetwork::Instagram => (18_100_000_000_000_000u64 + seq).to_string(),
        _ => format!("{}_{}", local_part(post_id), 900_000_000_000_000u64 + seq),
    };
    let parent_id = reply_to.map(|target| {
        world.meta.comments.get(target).and_then(|c| c.parent_id.clone()).unwrap_or_else(|| target.to_string())
    });
    let comment = Comment {
        account: account.to_string(),
        network,
        id: id.clone(),
        post_id: post_id.to_string(),
        parent_id,
        author_id: author.0.to_string(),
        author_name: author.1.to_string(),
        text: text.to_string(),
        created: now,
        hidden: false,
        deleted: false,
        private_replied: false,
    };
    world.meta.comments.insert(id, comment.clone());
    comment
}

pub(crate) fn comment_json(comment: &Comment) -> Value {
    let mut object = json!({
        "id": comment.id,
        "from": {"id": comment.author_id, "name": comment.author_name},
        "created_time": graph_time(comment.created),
        "is_hidden": comment.hidden,
    });
    let text_key = if comment.network == SimNetwork::Instagram { "text" } else { "message" };
    object[text_key] = json!(comment.text);
    if let Some(parent) = &comment.parent_id {
        object["parent"] = json!({"id": parent});
    }
    object
}

/// A `feed` change for a Facebook comment (`verb`: add, edited, remove, hide, unhide).
pub(crate) fn queue_fb_comment_event(world: &mut World, comment: &Comment, verb: &str, now: Timestamp) {
    let account = comment.account.clone();
    if !world.meta.subscribed(&account, "feed") {
        return;
    }
    let local = local_part(&comment.post_id).to_string();
    let value = json!({
        "item": "comment",
        "verb": verb,
        "from": {"id": comment.author_id, "name": comment.author_name},
        "post": {"id": comment.post_id, "status_type": "added_photos", "is_published": true,
                 "updated_time": graph_time(now),
                 "permalink_url": format!("https://www.facebook.com/{account}/posts/{local}"),
                 "promotion_status": "inactive"},
        "post_id": comment.post_id,
        "comment_id": comment.id,
        "parent_id": comment.parent_id.clone().unwrap_or_else(|| comment.post_id.clone()),
        "message": comment.text,
        "created_time": comment.created.as_second(),
    });
    let entry = json!({"id": account, "time": now.as_second(), "changes": [{"field": "feed", "value": value}]});
    let key = if verb == "add" { comment.id.clone() } else { format!("{}:{verb}", comment.id) };
    enqueue(world, now, SimNetwork::Facebook, &account, &key, Payload::MetaEntry { object: "page", entry });
}

/// A `comments` change for an Instagram comment.
pub(crate) fn queue_ig_comment_event(world: &mut World, comment: &Comment, username: &str, now: Timestamp) {
    let account = comment.account.clone();
    if !world.meta.subscribed(&account, "comments") {
        return;
    }
    let mut value = json!({
        "from": {"id": comment.author_id, "username": username},
        "media": {"id": comment.post_id, "media_product_type": "FEED"},
        "id": comment.id,
        "text": comment.text,
    });
    if let Some(parent) = &comment.parent_id {
        value["parent_id"] = json!(parent);
    }
    let entry = json!({"id": account, "time": now.as_second(), "changes": [{"field": "comments", "value": value}]});
    enqueue(
        world,
        now,
        SimNetwork::Instagram,
        &account,
        &comment.id,
        Payload::MetaEntry { object: "instagram", entry },
    );
}

/// A comment's text; a picture given by `attachment_url` (Facebook only) is
/// noted in it, as Graph shows a comment's attachment beside its message.
fn message_param(world: &mut World, call: &Call<'_>) -> Result<String, ApiResponse> {
    let picture = call.param("attachment_url").filter(|u| !u.is_empty());
    if picture.is_some() && call.account.network == SimNetwork::Instagram {
        return Err(invalid_param(world, "(#100) Param attachment_url is not supported on Instagram comments"));
    }
    match (call.param("message").filter(|m| !m.is_empty()), picture) {
        (Some(text), Some(url)) => Ok(format!("{text} [photo {url}]")),
        (Some(text), None) => Ok(text),
        (None, Some(url)) => Ok(format!("[photo {url}]")),
        (None, None) => Err(invalid_param(world, "The parameter message is required")),
    }
}

/// `POST /{comment-id}/comments` (reply), `/{post-id}/comments` or `/{ig-media-id}/comments`.
pub(crate) fn comment_on(world: &mut World, call: &Call<'_>, target: &str) -> ApiResponse {
    let text = match message_param(world, call) {
        Ok(text) => text,
        Err(response) => return response,
    };
    let network = call.account.network;
    let (post_id, reply_to) = if let Some(comment) = world.meta.comments.get(target).filter(|c| !c.deleted) {
        if network == SimNetwork::Instagram {
            return invalid_param(world, "Use the /replies edge to answer an Instagram comment");
        }
        (comment.post_id.clone(), Some(target.to_string()))
    } else if world.meta.posts.contains_key(target) {
        (target.to_string(), None)
    } else {
        return unknown_object(world, target, "post");
    };
    publish_comment(world, call, &post_id, reply_to.as_deref(), &text)
}

/// `POST /{ig-comment-id}/replies`.
pub(crate) fn ig_reply(world: &mut World, call: &Call<'_>, target: &str) -> ApiResponse {
    let text = match message_param(world, call) {
        Ok(text) => text,
        Err(response) => return response,
    };
    let Some(post_id) = world.meta.comments.get(target).filter(|c| !c.deleted).map(|c| c.post_id.clone()) else {
        return unknown_object(world, target, "post");
    };
    publish_comment(world, call, &post_id, Some(target), &text)
}

fn publish_comment(
    world: &mut World,
    call: &Call<'_>,
    post_id: &str,
    reply_to: Option<&str>,
    text: &str,
) -> ApiResponse {
    let account = call.account.clone();
    let recipient = reply_to.and_then(|id| world.meta.comments.get(id)).map(|c| c.author_id.clone());
    let comment = new_comment(
        world,
        &account.external_id,
        account.network,
        post_id,
        reply_to,
        (&account.external_id, &account.handle),
        text,
        call.now,
    );
    let kind = if reply_to.is_some() { PublishedKind::Reply } else { PublishedKind::Comment };
    let in_reply_to = reply_to.unwrap_or(post_id);
    world.publish(
        account.network,
        &account.external_id,
        kind,
        &comment.id,
        Some(in_reply_to),
        recipient.as_deref(),
        text,
        call.now,
    );
    // The account's own comments come back through the webhook.
    match account.network {
        SimNetwork::Instagram => queue_ig_comment_event(world, &comment, &account.handle, call.now),
        _ => queue_fb_comment_event(world, &comment, "add", call.now),
    }
    ApiResponse::json(200, &json!({"id": comment.id}))
}

/// `POST /{comment-id}?is_hidden=` (Facebook) or `?hide=` (Instagram).
pub(crate) fn hide(world: &mut World, call: &Call<'_>, target: &str) -> ApiResponse {
    let network = call.account.network;
    let key = if network == SimNetwork::Instagram { "hide" } else { "is_hidden" };
    let Some(raw) = call.param(key) else {
        return invalid_param(world, &format!("The parameter {key} is required"));
    };
    let hidden = match raw.as_str() {
        "true" | "1" => true,
        "false" | "0" => false,
        _ => return invalid_param(world, &format!("Param {key} must be a boolean")),
    };
    let Some(comment) = world.meta.comments.get_mut(target).filter(|c| !c.deleted) else {
        return unknown_object(world, target, "post");
    };
    comment.hidden = hidden;
    let comment = comment.clone();
    let kind = if hidden { PublishedKind::Hide } else { PublishedKind::Unhide };
    world.publish(network, &call.account.external_id, kind, target, None, Some(&comment.author_id), "", call.now);
    if network == SimNetwork::Facebook {
        queue_fb_comment_event(world, &comment, if hidden { "hide" } else { "unhide" }, call.now);
    }
    ApiResponse::json(200, &json!({"success": true}))
}

/// `POST|DELETE /{object-id}/likes` as the page. Instagram offers no like.
pub(crate) fn like(world: &mut World, call: &Call<'_>, target: &str, on: bool) -> ApiResponse {
    if call.account.network != SimNetwork::Facebook {
        return invalid_param(world, "Liking is not available for this object type");
    }
    let exists = world.meta.comments.get(target).is_some_and(|c| !c.deleted) || world.meta.posts.contains_key(target);
    if !exists {
        return unknown_object(world, target, call.method);
    }
    let key = (call.account.external_id.clone(), target.to_string());
    let changed = if on { world.meta.likes.insert(key) } else { world.meta.likes.remove(&key) };
    if changed && on {
        world.publish(
            SimNetwork::Facebook,
            &call.account.external_id,
            PublishedKind::Like,
            target,
            None,
            None,
            "",
            call.now,
        );
    }
    ApiResponse::json(200, &json!({"success": true}))
}

/// `DELETE /{comment-id}`.
pub(crate) fn delete(world: &mut World, call: &Call<'_>, target: &str) -> ApiResponse {
    let Some(comment) = world.meta.comments.get_mut(target).filter(|c| !c.deleted) else {
        return unknown_object(world, target, "delete");
    };
    comment.deleted = true;
    let comment = comment.clone();
    world.publish(
        call.account.network,
        &call.account.external_id,
        PublishedKind::Delete,
        target,
        None,
        Some(&comment.author_id),
        "",
        call.now,
    );
    if comment.network == SimNetwork::Facebook {
        queue_fb_comment_event(world, &comment, "remove", call.now);
    }
    ApiResponse::json(200, &json!({"success": true}))
}

/// `GET /{post-or-media-id}/comments`, newest first, one page.
pub(crate) fn list_comments(world: &mut World, target: &str) -> ApiResponse {
    if !world.meta.posts.contains_key(target) && !world.meta.comments.contains_key(target) {
        return unknown_object(world, target, "get");
    }
    let mut comments: Vec<&Comment> = world
        .meta
        .comments
        .values()
        .filter(|c| !c.deleted && (c.post_id == target || c.parent_id.as_deref() == Some(target)))
        .collect();
    comments.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let data: Vec<Value> = comments.iter().map(|c| comment_json(c)).collect();
    let cursors = json!({"before": data.first().and_then(|c| c.get("id")).cloned(), "after": data.last().and_then(|c| c.get("id")).cloned()});
    ApiResponse::json(200, &json!({"data": data, "paging": {"cursors": cursors}}))
}
