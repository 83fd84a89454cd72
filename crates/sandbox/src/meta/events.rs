//! Customer actions on Facebook, Instagram and WhatsApp, and the webhook
//! entries they produce.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::feed::{self, new_comment, new_post, queue_fb_comment_event, queue_ig_comment_event};
use super::messaging::new_mid;
use super::whatsapp::{self, derived_bsuid};
use super::{Message, WaContact};
use crate::delivery::{Payload, enqueue};
use crate::model::{Account, ActionReport, Customer, CustomerAction, SandboxError, SimNetwork};
use crate::state::World;

fn report(account: &Account, item_id: &str, related: Vec<String>, keys: Vec<String>) -> ActionReport {
    ActionReport {
        network: Some(account.network),
        account_id: account.external_id.clone(),
        item_id: item_id.to_string(),
        related_ids: related,
        event_keys: keys,
        note: None,
    }
}

/// Keys of the events this action queued (nothing when the field is not subscribed).
fn queued_keys(world: &World, before: usize) -> Vec<String> {
    world.pending.iter().skip(before).map(|p| p.key.clone()).collect()
}

pub(crate) fn act(world: &mut World, now: Timestamp, action: CustomerAction) -> Result<ActionReport, SandboxError> {
    let before = world.pending.len();
    let mut result = match action {
        CustomerAction::FacebookComment { account, customer, post_id, parent_comment_id, text } => {
            let account = world.resolve_account(SimNetwork::Facebook, account.as_deref())?;
            comment(world, &account, &customer, post_id, parent_comment_id, &text, now)
        }
        CustomerAction::InstagramComment { account, customer, media_id, parent_comment_id, text } => {
            let account = world.resolve_account(SimNetwork::Instagram, account.as_deref())?;
            comment(world, &account, &customer, media_id, parent_comment_id, &text, now)
        }
        CustomerAction::FacebookVisitorPost { account, customer, text } => {
            let account = world.resolve_account(SimNetwork::Facebook, account.as_deref())?;
            Ok(visitor_post(world, &account, &customer, &text, now))
        }
        CustomerAction::MessengerMessage { account, customer, text, reply_to_mid } => {
            let account = world.resolve_account(SimNetwork::Facebook, account.as_deref())?;
            Ok(direct_message(world, &account, &customer, &text, reply_to_mid.as_deref(), now))
        }
        CustomerAction::InstagramMessage { account, customer, text } => {
            let account = world.resolve_account(SimNetwork::Instagram, account.as_deref())?;
            Ok(direct_message(world, &account, &customer, &text, None, now))
        }
        CustomerAction::InstagramMention { account, customer, text, in_comment } => {
            let account = world.resolve_account(SimNetwork::Instagram, account.as_deref())?;
            Ok(super::mentions::mention(world, &account, &customer, &text, in_comment, now))
        }
        CustomerAction::WhatsappMessage {
            account,
            customer,
            text,
            bsuid,
            hide_phone,
            context_message_id,
            with_image,
        } => {
            let account = world.resolve_account(SimNetwork::Whatsapp, account.as_deref())?;
            let bsuid = bsuid.unwrap_or_else(|| derived_bsuid(&account, &customer.id));
            let contact = WaContact {
                wa_id: customer.id.clone(),
                bsuid: bsuid.clone(),
                name: customer.name.clone(),
                phone_hidden: hide_phone,
                last_inbound: None,
            };
            let (wamid, media) =
                whatsapp::inbound(world, &account, contact, &text, context_message_id.as_deref(), with_image, now);
            let mut related = vec![bsuid];
            related.extend(media);
            Ok(report(&account, &wamid, related, Vec::new()))
        }
        CustomerAction::Edit { network, item_id, text } => edit(world, network, &item_id, &text, now),
        CustomerAction::Delete { network, item_id } => delete(world, network, &item_id, now),
        other => Err(SandboxError::InvalidAction(format!("not a Meta action: {other:?}"))),
    }?;
    result.event_keys = queued_keys(world, before);
    if result.event_keys.is_empty() && result.note.is_none() {
        result.note = Some("the account is not subscribed to this webhook field: Meta sends nothing".into());
    }
    Ok(result)
}

fn comment(
    world: &mut World,
    account: &Account,
    customer: &Customer,
    post_id: Option<String>,
    parent: Option<String>,
    text: &str,
    now: Timestamp,
) -> Result<ActionReport, SandboxError> {
    let network = account.network;
    let owner = &account.external_id;
    if let Some(parent) = &parent
        && !world.meta.comments.get(parent).is_some_and(|c| &c.account == owner && !c.deleted)
    {
        return Err(SandboxError::UnknownItem(parent.clone()));
    }
    let post_id = match (post_id, &parent) {
        (Some(id), _) if world.meta.posts.get(&id).is_some_and(|p| &p.account == owner) => id,
        (Some(id), _) => return Err(SandboxError::UnknownItem(id)),
        (None, Some(parent)) => world.meta.comments.get(parent).map(|c| c.post_id.clone()).unwrap_or_default(),
        (None, None) => feed::ensure_post(world, owner, network, now),
    };
    let created =
        new_comment(world, owner, network, &post_id, parent.as_deref(), (&customer.id, &customer.name), text, now);
    match network {
        SimNetwork::Instagram => queue_ig_comment_event(world, &created, customer.handle.trim_start_matches('@'), now),
        _ => queue_fb_comment_event(world, &created, "add", now),
    }
    Ok(report(account, &created.id, vec![post_id], Vec::new()))
}

fn visitor_post(world: &mut World, account: &Account, customer: &Customer, text: &str, now: Timestamp) -> ActionReport {
    let owner = account.external_id.clone();
    let author = Some((customer.id.clone(), customer.name.clone()));
    let post_id = new_post(world, &owner, SimNetwork::Facebook, author, text, now);
    if world.meta.subscribed(&owner, "feed") {
        let value = json!({
            "item": "status", "verb": "add", "published": 1,
            "from": {"id": customer.id, "name": customer.name},
            "post_id": post_id, "message": text, "created_time": now.as_second(),
        });
        let entry = json!({"id": owner, "time": now.as_second(), "changes": [{"field": "feed", "value": value}]});
        enqueue(world, now, SimNetwork::Facebook, &owner, &post_id, Payload::MetaEntry { object: "page", entry });
    }
    report(account, &post_id, Vec::new(), Vec::new())
}

fn messaging_entry(
    account: &Account,
    sender: &str,
    recipient: &str,
    item_key: &str,
    item: Value,
    now: Timestamp,
) -> Value {
    let ms = now.as_millisecond();
    json!({
        "id": account.external_id, "time": ms,
        "messaging": [{"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ms, item_key: item}],
    })
}

fn object_of(network: SimNetwork) -> &'static str {
    if network == SimNetwork::Instagram { "instagram" } else { "page" }
}

fn direct_message(
    world: &mut World,
    account: &Account,
    customer: &Customer,
    text: &str,
    reply_to: Option<&str>,
    now: Timestamp,
) -> ActionReport {
    let owner = account.external_id.clone();
    let mid = new_mid(world);
    world.meta.messages.insert(
        mid.clone(),
        Message {
            account: owner.clone(),
            network: account.network,
            user: customer.id.clone(),
            text: text.to_string(),
            edits: 0,
        },
    );
    world.meta.last_inbound.insert((owner.clone(), customer.id.clone()), now);
    if world.meta.subscribed(&owner, "messages") {
        let mut message = json!({"mid": mid, "text": text});
        if let Some(reply_to) = reply_to {
            message["reply_to"] = json!({"mid": reply_to});
        }
        let entry = messaging_entry(account, &customer.id, &owner, "message", message, now);
        enqueue(
            world,
            now,
            account.network,
            &owner,
            &mid,
            Payload::MetaEntry { object: object_of(account.network), entry },
        );
    }
    report(account, &mid, Vec::new(), Vec::new())
}

fn edit(
    world: &mut World,
    network: SimNetwork,
    item_id: &str,
    text: &str,
    now: Timestamp,
) -> Result<ActionReport, SandboxError> {
    if let Some(message) = world.meta.messages.get_mut(item_id) {
        message.edits += 1;
        message.text = text.to_string();
        let message = message.clone();
        let account = world.resolve_account(message.network, Some(&message.account))?;
        if world.meta.subscribed(&account.external_id, "message_edits") {
            let item = json!({"mid": item_id, "text": text, "num_edit": message.edits});
            let entry = messaging_entry(&account, &message.user, &account.external_id, "message_edit", item, now);
            let key = format!("{item_id}:edit:{}", message.edits);
            enqueue(
                world,
                now,
                account.network,
                &account.external_id,
                &key,
                Payload::MetaEntry { object: object_of(account.network), entry },
            );
        }
        return Ok(report(&account, item_id, Vec::new(), Vec::new()));
    }
    let Some(comment) = world.meta.comments.get_mut(item_id).filter(|c| !c.deleted) else {
        return Err(SandboxError::UnknownItem(item_id.to_string()));
    };
    if comment.network != SimNetwork::Facebook || network != SimNetwork::Facebook {
        return Err(SandboxError::Unsupported("Instagram comments cannot be edited".into()));
    }
    comment.text = text.to_string();
    let comment = comment.clone();
    let account = world.resolve_account(SimNetwork::Facebook, Some(&comment.account))?;
    queue_fb_comment_event(world, &comment, "edited", now);
    Ok(report(&account, item_id, vec![comment.post_id], Vec::new()))
}

fn delete(world: &mut World, network: SimNetwork, item_id: &str, now: Timestamp) -> Result<ActionReport, SandboxError> {
    if let Some(message) = world.meta.messages.get(item_id).cloned() {
        let account = world.resolve_account(message.network, Some(&message.account))?;
        if message.network != SimNetwork::Instagram {
            let mut quiet = report(&account, item_id, Vec::new(), Vec::new());
            quiet.note = Some("Messenger sends no webhook when a person unsends a message".into());
            return Ok(quiet);
        }
        let item = json!({"mid": item_id, "is_deleted": true});
        let entry = messaging_entry(&account, &message.user, &account.external_id, "message", item, now);
        let key = format!("{item_id}:deleted");
        enqueue(
            world,
            now,
            SimNetwork::Instagram,
            &account.external_id,
            &key,
            Payload::MetaEntry { object: "instagram", entry },
        );
        return Ok(report(&account, item_id, Vec::new(), Vec::new()));
    }
    let Some(comment) = world.meta.comments.get_mut(item_id).filter(|c| !c.deleted) else {
        return Err(SandboxError::UnknownItem(item_id.to_string()));
    };
    comment.deleted = true;
    let comment = comment.clone();
    let account = world.resolve_account(comment.network, Some(&comment.account))?;
    if network == SimNetwork::Facebook {
        queue_fb_comment_event(world, &comment, "remove", now);
        return Ok(report(&account, item_id, vec![comment.post_id], Vec::new()));
    }
    let mut quiet = report(&account, item_id, vec![comment.post_id], Vec::new());
    quiet.note = Some("Instagram sends no webhook for deleted comments".into());
    Ok(quiet)
}
