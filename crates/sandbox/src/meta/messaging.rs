//! Messenger / Instagram Send API: `POST /{page-or-ig-id}/messages` with the
//! 24-hour window, the HUMAN_AGENT 7-day tag, private replies (once per
//! comment or visitor post, within 7 days) and echo webhooks.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{Call, Message, graph_error, invalid_param};
use crate::delivery::{Payload, enqueue};
use crate::http::{ApiResponse, param_json};
use crate::model::{PublishedKind, SimNetwork};
use crate::state::World;

const OUTSIDE_WINDOW: &str = "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview";

enum Recipient {
    User(String),
    Comment(String),
    Post(String),
}

pub(crate) fn send(world: &mut World, call: &Call<'_>) -> ApiResponse {
    let recipient = match param_json(&call.params, "recipient") {
        Some(Value::Object(r)) => {
            let get = |k: &str| {
                r.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))
            };
            match (get("id"), get("comment_id"), get("post_id")) {
                (Some(id), _, _) => Recipient::User(id),
                (None, Some(comment), _) => Recipient::Comment(comment),
                (None, None, Some(post)) => Recipient::Post(post),
                _ => return invalid_param(world, "param recipient must be non-empty."),
            }
        }
        _ => return invalid_param(world, "The parameter recipient is required"),
    };
    if let Some(action) = call.param("sender_action") {
        return sender_action(world, call, &recipient, &action);
    }
    let text = match message_text(world, call) {
        Ok(text) => text,
        Err(response) => return response,
    };
    let account = call.account.external_id.clone();
    let (user, kind, reply_to) = match recipient {
        Recipient::User(user) => {
            if let Err(response) = check_window(world, call, &user) {
                return response;
            }
            (user, PublishedKind::DirectMessage, None)
        }
        Recipient::Comment(comment) => match private_reply_to_comment(world, call, &comment) {
            Ok(user) => (user, PublishedKind::PrivateReply, Some(comment)),
            Err(response) => return response,
        },
        Recipient::Post(post) => match private_reply_to_post(world, call, &post) {
            Ok(user) => (user, PublishedKind::PrivateReply, Some(post)),
            Err(response) => return response,
        },
    };
    let mid = new_mid(world);
    let network = call.account.network;
    world.meta.messages.insert(
        mid.clone(),
        Message { account: account.clone(), network, user: user.clone(), text: text.clone(), edits: 0 },
    );
    world.publish(network, &account, kind, &mid, reply_to.as_deref(), Some(&user), &text, call.now);
    queue_echo(world, call, &user, &mid, &text);
    ApiResponse::json(200, &json!({"recipient_id": user, "message_id": mid}))
}

pub(crate) fn new_mid(world: &mut World) -> String {
    format!("m_{}", world.rng.alphanumeric(44))
}

fn message_text(world: &mut World, call: &Call<'_>) -> Result<String, ApiResponse> {
    let Some(Value::Object(message)) = param_json(&call.params, "message") else {
        return Err(invalid_param(world, "The parameter message is required"));
    };
    let text = match (message.get("text").and_then(Value::as_str), message.get("attachment")) {
        (Some(text), _) => text.to_string(),
        (None, Some(attachment)) => {
            let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("file");
            let url = attachment.pointer("/payload/url").and_then(Value::as_str).unwrap_or_default();
            format!("[{kind}] {url}")
        }
        (None, None) => return Err(invalid_param(world, "param message must contain text or attachment")),
    };
    let limits = &world.limits;
    let too_long = match call.account.network {
        SimNetwork::Instagram => text.len() > limits.instagram_text_max_bytes,
        _ => text.chars().count() > limits.messenger_text_max_chars,
    };
    if too_long {
        let max = match call.account.network {
            SimNetwork::Instagram => limits.instagram_text_max_bytes,
            _ => limits.messenger_text_max_chars,
        };
        return Err(invalid_param(
            world,
            &format!("Length of param message[text] must be less than or equal to {max}"),
        ));
    }
    Ok(text)
}

/// 24 h after the person's last message; HUMAN_AGENT stretches it to 7 days.
fn check_window(world: &mut World, call: &Call<'_>, user: &str) -> Result<(), ApiResponse> {
    let messaging_type = call.param("messaging_type").unwrap_or_else(|| "RESPONSE".into());
    if !["RESPONSE", "UPDATE", "MESSAGE_TAG"].contains(&messaging_type.as_str()) {
        return Err(invalid_param(world, "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"));
    }
    let tag = call.param("tag");
    if messaging_type == "MESSAGE_TAG" && tag.is_none() {
        return Err(invalid_param(world, "The parameter tag is required when messaging_type is MESSAGE_TAG"));
    }
    let key = (call.account.external_id.clone(), user.to_string());
    let Some(last) = world.meta.last_inbound.get(&key).copied() else {
        return Err(graph_error(world, 400, "(#100) No matching user found", "OAuthException", 100, Some(2_018_001)));
    };
    let age = call.now.duration_since(last);
    if age <= SignedDuration::from_hours(world.limits.meta_window_hours) {
        return Ok(());
    }
    let human_agent = tag.as_deref() == Some("HUMAN_AGENT");
    if human_agent && age <= SignedDuration::from_hours(24 * world.limits.human_agent_days) {
        return Ok(());
    }
    Err(graph_error(world, 400, OUTSIDE_WINDOW, "OAuthException", 10, Some(2_018_278)))
}

/// A private reply: one per comment, within the configured days, to a person
/// (not to the page itself).
fn private_reply_to_comment(world: &mut World, call: &Call<'_>, comment_id: &str) -> Result<String, ApiResponse> {
    let account = &call.account.external_id;
    let Some(comment) = world.meta.comments.get(comment_id).filter(|c| &c.account == account && !c.deleted).cloned()
    else {
        return Err(invalid_param(world, "The comment_id is invalid or the comment was deleted"));
    };
    if comment.author_id == *account {
        return Err(invalid_param(world, "Cannot send a private reply to the Page's own comment"));
    }
    check_private_reply(world, call, comment.created, comment.private_replied)?;
    if let Some(stored) = world.meta.comments.get_mut(comment_id) {
        stored.private_replied = true;
    }
    Ok(comment.author_id)
}

fn private_reply_to_post(world: &mut World, call: &Call<'_>, post_id: &str) -> Result<String, ApiResponse> {
    let account = &call.account.external_id;
    let Some(post) = world.meta.posts.get(post_id).filter(|p| &p.account == account).cloned() else {
        return Err(invalid_param(world, "The post_id is invalid"));
    };
    let Some((author, _)) = post.author.clone() else {
        return Err(invalid_param(world, "Cannot send a private reply to the Page's own post"));
    };
    check_private_reply(world, call, post.created, post.private_replied)?;
    if let Some(stored) = world.meta.posts.get_mut(post_id) {
        stored.private_replied = true;
    }
    Ok(author)
}

fn check_private_reply(
    world: &mut World,
    call: &Call<'_>,
    created: Timestamp,
    already: bool,
) -> Result<(), ApiResponse> {
    if already {
        return Err(graph_error(world, 400, "(#10900) Activity already replied to", "OAuthException", 10_900, None));
    }
    if call.now.duration_since(created) > SignedDuration::from_hours(24 * world.limits.private_reply_days) {
        return Err(graph_error(world, 400, OUTSIDE_WINDOW, "OAuthException", 10, Some(2_018_278)));
    }
    Ok(())
}

fn sender_action(world: &mut World, call: &Call<'_>, recipient: &Recipient, action: &str) -> ApiResponse {
    if !["typing_on", "typing_off", "mark_seen"].contains(&action) {
        return invalid_param(world, "Param sender_action must be one of {typing_on, typing_off, mark_seen}");
    }
    let Recipient::User(user) = recipient else {
        return invalid_param(world, "sender_action requires recipient.id");
    };
    if let Err(response) = check_window(world, call, user) {
        return response;
    }
    ApiResponse::json(200, &json!({"recipient_id": user}))
}

/// With `message_echoes` (Messenger) or `messages` (Instagram) subscribed,
/// every message sent comes back with `is_echo` and, on Messenger, our `app_id`.
fn queue_echo(world: &mut World, call: &Call<'_>, user: &str, mid: &str, text: &str) {
    let account = &call.account;
    let (object, field) = match account.network {
        SimNetwork::Instagram => ("instagram", "messages"),
        _ => ("page", "message_echoes"),
    };
    if !world.meta.subscribed(&account.external_id, field) {
        return;
    }
    let ms = call.now.as_millisecond();
    let mut message = json!({"mid": mid, "text": text, "is_echo": true});
    if account.network == SimNetwork::Facebook {
        let app_id = account.credential_or_empty("app_id");
        message["app_id"] = app_id.parse::<u64>().map_or(json!(app_id), |n| json!(n));
    }
    let entry = json!({
        "id": account.external_id, "time": ms,
        "messaging": [{"sender": {"id": account.external_id}, "recipient": {"id": user}, "timestamp": ms, "message": message}],
    });
    enqueue(world, call.now, account.network, &account.external_id, mid, Payload::MetaEntry { object, entry });
}
