//! X customer actions and the Account Activity payloads they produce: v1.1
//! tweet objects in `tweet_create_events`, `direct_message_events` with the
//! `users` map, `tweet_delete_events`.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{DmEvent, Mention, Tweet, XUser};
use crate::customers::guess_lang;
use crate::delivery::{Payload, enqueue};
use crate::model::{ActionReport, Customer, CustomerAction, SandboxError, SimNetwork};
use crate::state::World;

const AVATAR: &str = "https://pbs.twimg.com/profile_images/1/sandbox_normal.jpg";

pub(crate) fn act(world: &mut World, now: Timestamp, action: CustomerAction) -> Result<ActionReport, SandboxError> {
    match action {
        CustomerAction::XMention { account, customer, text } => {
            let brand = world.resolve_account(SimNetwork::X, account.as_deref())?;
            ensure_user(world, &customer);
            let tag = format!("@{}", brand.handle);
            let text = if text.to_lowercase().contains(&tag.to_lowercase()) { text } else { format!("{tag} {text}") };
            let tweet = create_tweet(world, &customer.id, &text, None, now);
            Ok(report_tweet(world, &brand.external_id, &tweet, now))
        }
        CustomerAction::XReply { account, customer, in_reply_to, text } => {
            let brand = world.resolve_account(SimNetwork::X, account.as_deref())?;
            ensure_user(world, &customer);
            let parent = find_tweet(world, &in_reply_to)?;
            let author = world.x.screen_name(&parent.author_id);
            let text = if parent.author_id == customer.id { text } else { format!("@{author} {text}") };
            let tweet = create_tweet(world, &customer.id, &text, Some(&parent), now);
            Ok(report_tweet(world, &brand.external_id, &tweet, now))
        }
        CustomerAction::XDirectMessage { account, customer, text } => {
            let brand = world.resolve_account(SimNetwork::X, account.as_deref())?;
            ensure_user(world, &customer);
            let event = new_dm(world, &customer.id, &brand.external_id, &text, now);
            deliver_dm(world, &brand.external_id, &event, now);
            Ok(ActionReport {
                network: Some(SimNetwork::X),
                account_id: brand.external_id.clone(),
                item_id: event.id.clone(),
                related_ids: vec![super::write::conversation_id(&customer.id, &brand.external_id)],
                event_keys: vec![event.id],
                note: None,
            })
        }
        CustomerAction::Edit { item_id, text, .. } => edit(world, &item_id, &text, now),
        CustomerAction::Delete { item_id, .. } => delete(world, &item_id, now),
        other => Err(SandboxError::InvalidAction(format!("not an X action: {other:?}"))),
    }
}

fn find_tweet(world: &World, id: &str) -> Result<Tweet, SandboxError> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| world.x.tweets.get(&id))
        .filter(|t| !t.deleted)
        .cloned()
        .ok_or_else(|| SandboxError::UnknownItem(id.to_string()))
}

fn ensure_user(world: &mut World, customer: &Customer) {
    world.x.users.entry(customer.id.clone()).or_insert_with(|| XUser {
        id: customer.id.clone(),
        screen_name: customer.handle.trim_start_matches('@').to_string(),
        name: customer.name.clone(),
    });
}

/// Creates and stores a tweet. Leading `@mentions` of a reply (or of a tweet
/// addressed to a user) are excluded from the display range, as X does.
pub(crate) fn create_tweet(
    world: &mut World,
    author: &str,
    text: &str,
    parent: Option<&Tweet>,
    now: Timestamp,
) -> Tweet {
    let seq = world.next_seq();
    let id = world.x.next_id(now, seq);
    let mentions = find_mentions(world, text);
    let leading_end = leading_mentions_end(text, &mentions);
    let in_reply_to_user = match parent {
        Some(parent) => Some(parent.author_id.clone()),
        None if leading_end > 0 => mentions.first().map(|m| m.user_id.clone()),
        None => None,
    };
    let tweet = Tweet {
        id,
        author_id: author.to_string(),
        text: text.to_string(),
        created_at: now,
        in_reply_to_status: parent.map(|p| p.id),
        in_reply_to_user,
        conversation_id: parent.map_or(id, |p| p.conversation_id),
        mentions,
        display_start: leading_end,
        edit_of: None,
        deleted: false,
        hidden: false,
    };
    world.x.tweets.insert(id, tweet.clone());
    tweet
}

fn find_mentions(world: &World, text: &str) -> Vec<Mention> {
    let chars: Vec<char> = text.chars().collect();
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if chars[i] == '@' && boundary {
            let end = (i + 1..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let name: String = chars[i + 1..end].iter().collect();
            if let Some(user) =
                world.x.users.values().find(|u| !name.is_empty() && u.screen_name.eq_ignore_ascii_case(&name))
            {
                mentions.push(Mention {
                    user_id: user.id.clone(),
                    screen_name: user.screen_name.clone(),
                    name: user.name.clone(),
                    start: i,
                    end,
                });
            }
            i = end;
        } else {
            i += 1;
        }
    }
    mentions
}

/// Code point after the run of mentions the text starts with (0 if none).
fn leading_mentions_end(text: &str, mentions: &[Mention]) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut position = 0;
    for mention in mentions {
        if mention.start != position {
            break;
        }
        position = mention.end;
        while chars.get(position).is_some_and(|c| *c == ' ') {
            position += 1;
        }
    }
    position
}

/// Which brand accounts X reports this tweet to: its author, the mentioned, the replied-to.
fn involved_brands(world: &World, tweet: &Tweet) -> Vec<String> {
    world
        .accounts
        .iter()
        .filter(|a| a.network == SimNetwork::X)
        .map(|a| a.external_id.clone())
        .filter(|id| {
            tweet.author_id == *id
                || tweet.in_reply_to_user.as_deref() == Some(id)
                || tweet.mentions.iter().any(|m| m.user_id == *id)
        })
        .collect()
}

fn report_tweet(world: &mut World, brand: &str, tweet: &Tweet, now: Timestamp) -> ActionReport {
    let id = tweet.id.to_string();
    let delivered = involved_brands(world, tweet).iter().any(|b| b == brand);
    if delivered {
        deliver_tweet(world, brand, tweet, now);
    }
    ActionReport {
        network: Some(SimNetwork::X),
        account_id: brand.to_string(),
        item_id: id.clone(),
        related_ids: vec![tweet.conversation_id.to_string()],
        event_keys: if delivered { vec![id] } else { Vec::new() },
        note: (!delivered).then(|| "the tweet neither mentions nor replies to the account: X sends no event".into()),
    }
}

pub(crate) fn deliver_tweet(world: &mut World, brand: &str, tweet: &Tweet, now: Timestamp) {
    let mut envelope = Map::new();
    envelope.insert("for_user_id".into(), json!(brand));
    if tweet.author_id != brand {
        envelope.insert("user_has_blocked".into(), json!(false));
    }
    envelope.insert("tweet_create_events".into(), json!([v1_tweet(world, tweet)]));
    let key = tweet.id.to_string();
    enqueue(world, now, SimNetwork::X, brand, &key, Payload::Whole(Value::Object(envelope)));
}

/// v1.1 `created_at`: `Tue Nov 03 09:12:45 +0000 2026`.
fn v1_date(t: Timestamp) -> String {
    t.strftime("%a %b %d %H:%M:%S +0000 %Y").to_string()
}

fn v1_user(world: &World, id: &str) -> Value {
    let user = world.x.users.get(id);
    let id_number: u64 = id.parse().unwrap_or(0);
    json!({
        "id": id_number,
        "id_str": id,
        "name": user.map(|u| u.name.clone()).unwrap_or_default(),
        "screen_name": user.map(|u| u.screen_name.clone()).unwrap_or_default(),
        "profile_image_url_https": AVATAR,
    })
}

fn v1_tweet(world: &World, tweet: &Tweet) -> Value {
    let id = tweet.id.to_string();
    let length = tweet.text.chars().count();
    let mentions: Vec<Value> = tweet
        .mentions
        .iter()
        .map(|m| {
            json!({"screen_name": m.screen_name, "name": m.name, "id": m.user_id.parse::<u64>().unwrap_or(0),
                   "id_str": m.user_id, "indices": [m.start, m.end]})
        })
        .collect();
    let entities = json!({"hashtags": [], "urls": [], "symbols": [], "user_mentions": mentions});
    let reply_user = tweet.in_reply_to_user.clone();
    let mut object = json!({
        "created_at": v1_date(tweet.created_at),
        "id": tweet.id,
        "id_str": id,
        "text": tweet.text,
        "display_text_range": [tweet.display_start, length],
        "source": "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
        "truncated": false,
        "in_reply_to_status_id": tweet.in_reply_to_status,
        "in_reply_to_status_id_str": tweet.in_reply_to_status.map(|id| id.to_string()),
        "in_reply_to_user_id": reply_user.as_deref().and_then(|id| id.parse::<u64>().ok()),
        "in_reply_to_user_id_str": reply_user,
        "in_reply_to_screen_name": tweet.in_reply_to_user.as_deref().map(|id| world.x.screen_name(id)),
        "user": v1_user(world, &tweet.author_id),
        "entities": entities.clone(),
        "is_quote_status": false,
        "favorited": false,
        "retweeted": false,
        "filter_level": "low",
        "lang": guess_lang(&tweet.text),
        "timestamp_ms": tweet.created_at.as_millisecond().to_string(),
    });
    if length > 140 {
        // Long posts: `text` is cut and the full text moves to extended_tweet.
        let short: String = tweet.text.chars().take(139).collect();
        object["text"] = json!(format!("{short}…"));
        object["truncated"] = json!(true);
        object["display_text_range"] = json!([tweet.display_start, 140]);
        object["extended_tweet"] = json!({
            "full_text": tweet.text,
            "display_text_range": [tweet.display_start, length],
            "entities": entities,
        });
    }
    if let Some(initial) = tweet.edit_of {
        let chain: Vec<String> = world
            .x
            .tweets
            .values()
            .filter(|t| t.id == initial || t.edit_of == Some(initial))
            .map(|t| t.id.to_string())
            .collect();
        object["edit_history"] = json!({"initial_tweet_id": initial.to_string(), "edit_tweet_ids": chain});
    }
    object
}

pub(crate) fn new_dm(world: &mut World, sender: &str, recipient: &str, text: &str, now: Timestamp) -> DmEvent {
    let seq = world.next_seq();
    let id = world.x.next_id(now, seq).to_string();
    let event = DmEvent {
        id,
        sender_id: sender.to_string(),
        recipient_id: recipient.to_string(),
        text: text.to_string(),
        created_at: now,
    };
    world.x.dms.push(event.clone());
    event
}

/// `direct_message_events` with the `users` map, for the brand `brand`.
pub(crate) fn deliver_dm(world: &mut World, brand: &str, event: &DmEvent, now: Timestamp) {
    let mut users = Map::new();
    for id in [&event.sender_id, &event.recipient_id] {
        let user = world.x.users.get(id.as_str());
        users.insert(
            id.clone(),
            json!({"id": id, "name": user.map(|u| u.name.clone()).unwrap_or_default(),
                   "screen_name": user.map(|u| u.screen_name.clone()).unwrap_or_default(),
                   "profile_image_url_https": AVATAR}),
        );
    }
    let mut message_create = json!({
        "target": {"recipient_id": event.recipient_id},
        "sender_id": event.sender_id,
        "message_data": {"text": event.text, "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": []}},
    });
    if event.sender_id == brand {
        message_create["source_app_id"] = json!("1580000");
    }
    let body = json!({
        "for_user_id": brand,
        "direct_message_events": [{
            "type": "message_create",
            "id": event.id,
            "created_timestamp": event.created_at.as_millisecond().to_string(),
            "message_create": message_create,
        }],
        "users": users,
    });
    enqueue(world, now, SimNetwork::X, brand, &event.id, Payload::Whole(body));
}

fn edit(world: &mut World, item_id: &str, text: &str, now: Timestamp) -> Result<ActionReport, SandboxError> {
    let original = find_tweet(world, item_id)?;
    let parent = original.in_reply_to_status.and_then(|id| world.x.tweets.get(&id)).cloned();
    let mut tweet = create_tweet(world, &original.author_id, text, parent.as_ref(), now);
    tweet.edit_of = Some(original.edit_of.unwrap_or(original.id));
    world.x.tweets.insert(tweet.id, tweet.clone());
    let brand = involved_brands(world, &tweet)
        .into_iter()
        .next()
        .or_else(|| involved_brands(world, &original).into_iter().next());
    let Some(brand) = brand else { return Err(SandboxError::UnknownItem(item_id.to_string())) };
    Ok(report_tweet(world, &brand, &tweet, now))
}

fn delete(world: &mut World, item_id: &str, now: Timestamp) -> Result<ActionReport, SandboxError> {
    let tweet = find_tweet(world, item_id)?;
    if let Some(stored) = world.x.tweets.get_mut(&tweet.id) {
        stored.deleted = true;
    }
    let brands = involved_brands(world, &tweet);
    let key = format!("tweet_delete:{}", tweet.id);
    for brand in &brands {
        let body = json!({
            "for_user_id": brand,
            "tweet_delete_events": [{"status": {"id": tweet.id.to_string(), "user_id": tweet.author_id},
                                     "timestamp_ms": now.as_millisecond().to_string()}],
        });
        enqueue(world, now, SimNetwork::X, brand, &key, Payload::Whole(body));
    }
    Ok(ActionReport {
        network: Some(SimNetwork::X),
        account_id: brands.first().cloned().unwrap_or_default(),
        item_id: tweet.id.to_string(),
        related_ids: Vec::new(),
        event_keys: if brands.is_empty() { Vec::new() } else { vec![key] },
        note: None,
    })
}
