//! Instagram comment webhooks (`changes[]` with field `comments` or
//! `live_comments`) and mentions (`mentions`).
//!
//! Comment values carry no time, so they are dated by the entry's `time`.
//! Comments written by the account itself come back as echoes.
//!
//! A mention value only names the media and, for a mention in a comment, the
//! comment; text and author need a Graph lookup (`mentioned_comment` /
//! `mentioned_media`). Until such an enrichment exists the message is stored
//! with empty text, an `unknown:<id>` author, and an attachment
//! `{"type": "instagram_mention", "media_id", "comment_id"}` saying what to fetch.

use hark_domain::ConversationKind;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::wire::{Change, Entry, Party, id_text, unreadable};
use crate::model::{Author, ChannelContext, EchoMessage, InboundEvent, InboundKind, InboundMessage};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CommentValue {
    #[serde(deserialize_with = "id_text")]
    id: Option<String>,
    text: String,
    from: Party,
    media: Media,
    #[serde(deserialize_with = "id_text")]
    parent_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Media {
    #[serde(deserialize_with = "id_text")]
    id: Option<String>,
    media_product_type: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MentionValue {
    #[serde(deserialize_with = "id_text")]
    media_id: Option<String>,
    #[serde(deserialize_with = "id_text")]
    comment_id: Option<String>,
}

/// The events of every comment and mention change of one Instagram entry.
pub(super) fn entry_events(ctx: &ChannelContext, entry: &Entry, now: Timestamp) -> Vec<InboundEvent> {
    let at = entry.occurred_at().unwrap_or(now);
    entry
        .changes
        .iter()
        .filter_map(|change| match change.field.as_str() {
            "comments" | "live_comments" => Some(comment_event(ctx, change, at)),
            "mentions" => Some(mention_event(change, at)),
            _ => None,
        })
        .collect()
}

fn comment_event(ctx: &ChannelContext, change: &Change, at: Timestamp) -> InboundEvent {
    let value: CommentValue = match serde_json::from_value(change.value.clone()) {
        Ok(value) => value,
        Err(e) => return unreadable(&change.value, "Instagram comment", &e, at),
    };
    let Some(id) = value.id.clone() else {
        return unreadable(&change.value, "Instagram comment", &serde::de::Error::missing_field("id"), at);
    };
    let thread_id = value.media.id.clone().unwrap_or_else(|| id.clone());
    let kind = if value.from.id.as_deref() == Some(ctx.external_id.as_str()) {
        InboundKind::Echo(EchoMessage {
            platform_message_id: id.clone(),
            thread_id,
            recipient_platform_user_id: None,
            text: value.text,
            by_hark: false,
        })
    } else {
        let platform_user_id = value.from.id.clone().unwrap_or_else(|| format!("unknown:{id}"));
        let attachments = if value.media.media_product_type.is_empty() {
            vec![]
        } else {
            vec![json!({"type": "instagram_media", "media_product_type": value.media.media_product_type})]
        };
        InboundKind::Message(InboundMessage {
            conversation_kind: ConversationKind::Public,
            platform_message_id: id.clone(),
            thread_id,
            parent_id: value.parent_id.filter(|parent| *parent != id),
            author: Author { platform_user_id, handle: value.from.username, display_name: String::new() },
            text: value.text,
            attachments,
            via_monitoring: false,
            language: None,
        })
    };
    InboundEvent { dedup_key: format!("comment:{id}"), occurred_at: at, kind }
}

/// Keyed `mention:<id>` rather than `comment:<id>` so that, when the same
/// comment also arrives through the `comments` field with its text, that
/// fuller copy is not dropped as a duplicate of this empty one.
fn mention_event(change: &Change, at: Timestamp) -> InboundEvent {
    let value: MentionValue = match serde_json::from_value(change.value.clone()) {
        Ok(value) => value,
        Err(e) => return unreadable(&change.value, "Instagram mention", &e, at),
    };
    let Some(id) = value.comment_id.clone().or_else(|| value.media_id.clone()) else {
        return unreadable(&change.value, "Instagram mention", &serde::de::Error::missing_field("media_id"), at);
    };
    InboundEvent {
        dedup_key: format!("mention:{id}"),
        occurred_at: at,
        kind: InboundKind::Message(InboundMessage {
            conversation_kind: ConversationKind::Public,
            platform_message_id: id.clone(),
            thread_id: value.media_id.clone().unwrap_or_else(|| id.clone()),
            parent_id: None,
            author: Author {
                platform_user_id: format!("unknown:{id}"),
                handle: String::new(),
                display_name: String::new(),
            },
            text: String::new(),
            attachments: vec![
                json!({"type": "instagram_mention", "media_id": value.media_id, "comment_id": value.comment_id}),
            ],
            via_monitoring: false,
            language: None,
        }),
    }
}

/// Fills in an Instagram mention's text and author, which the webhook leaves
/// out, from the Graph API (`mentioned_comment` / `mentioned_media` of the
/// brand's account). Other messages are left as they are.
pub async fn complete_mention(
    http: &reqwest::Client,
    ctx: &crate::model::ChannelContext,
    message: &mut InboundMessage,
) -> Result<(), crate::model::ConnectorError> {
    let Some(mention) = message
        .attachments
        .iter()
        .find(|a| a.get("type").and_then(serde_json::Value::as_str) == Some("instagram_mention"))
    else {
        return Ok(());
    };
    if !message.text.is_empty() {
        return Ok(());
    }
    let field = |key: &str| mention.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    let (comment_id, media_id) = (field("comment_id"), field("media_id"));
    let graph = super::graph::Graph::new(http, ctx)?;
    let account = ctx.external_id.clone();
    let (found, text_key) = match (&comment_id, &media_id) {
        (Some(comment), _) => {
            let fields = format!("mentioned_comment.comment_id({comment}){{id,text,timestamp,username,media{{id}}}}");
            (graph.get(&[&account], &[("fields", &fields)]).await?.get("mentioned_comment").cloned(), "text")
        }
        (None, Some(media)) => {
            let fields = format!("mentioned_media.media_id({media}){{id,caption,timestamp,username}}");
            (graph.get(&[&account], &[("fields", &fields)]).await?.get("mentioned_media").cloned(), "caption")
        }
        (None, None) => return Ok(()),
    };
    let Some(found) = found else {
        return Err(crate::model::ConnectorError::Rejected("Instagram did not return the mentioned post".into()));
    };
    message.text = found.get(text_key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    if let Some(username) = found.get("username").and_then(serde_json::Value::as_str).filter(|u| !u.is_empty()) {
        // Mentions name the author only by username, so that is their identity here.
        message.author = Author {
            platform_user_id: format!("username:{username}"),
            handle: username.to_owned(),
            display_name: username.to_owned(),
        };
    }
    if let Some(media) = found.pointer("/media/id").and_then(serde_json::Value::as_str) {
        message.thread_id = media.to_owned();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hark_domain::Network;
    use serde_json::{Value, json};

    use super::super::test_support::context;
    use super::super::wire::Envelope;
    use super::*;

    const IG: &str = "17841400000000001";

    fn events(body: Value) -> Vec<InboundEvent> {
        let ctx = context(Network::Instagram, IG);
        let envelope: Envelope = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        let now = Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
        envelope.entry.iter().flat_map(|entry| entry_events(&ctx, entry, now)).collect()
    }

    #[test]
    fn the_documented_comment_is_a_public_reply_on_its_media() {
        let body = json!({
          "object": "instagram",
          "entry": [{
            "id": "17841400000000001",
            "time": 1793697400,
            "changes": [{
              "field": "comments",
              "value": {
                "from": {"id": "1790000000000000099", "username": "lina.travels"},
                "media": {"id": "18000000000000055", "media_product_type": "REELS"},
                "id": "18100000000000321",
                "parent_id": "18100000000000300",
                "text": "Does this ship to Canada?"
              }
            }]
          }]
        });
        let events = events(body);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].dedup_key, "comment:18100000000000321");
        assert_eq!(events[0].occurred_at.as_second(), 1_793_697_400);
        let InboundKind::Message(message) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(message.conversation_kind, ConversationKind::Public);
        assert_eq!(message.platform_message_id, "18100000000000321");
        assert_eq!(message.thread_id, "18000000000000055");
        assert_eq!(message.parent_id.as_deref(), Some("18100000000000300"));
        assert_eq!(message.author.platform_user_id, "1790000000000000099");
        assert_eq!(message.author.handle, "lina.travels");
        assert_eq!(message.text, "Does this ship to Canada?");
    }

    #[test]
    fn own_comments_are_echoes_and_mentions_keep_what_is_known() {
        let body = json!({"object": "instagram", "entry": [{"id": IG, "time": 1793697401, "changes": [
            {"field": "live_comments", "value": {"from": {"id": IG, "username": "brand"}, "media": {"id": "180"}, "id": "181", "text": "Thanks!"}},
            {"field": "mentions", "value": {"media_id": "190", "comment_id": "191"}},
            {"field": "mentions", "value": {"media_id": "192"}},
            {"field": "story_insights", "value": {"media_id": "193"}},
        ]}]});
        let events = events(body);
        assert_eq!(events.len(), 3);
        let InboundKind::Echo(echo) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!((echo.platform_message_id.as_str(), echo.thread_id.as_str()), ("181", "180"));
        assert_eq!(events[1].dedup_key, "mention:191");
        let InboundKind::Message(in_comment) = &events[1].kind else { panic!("{:?}", events[1].kind) };
        assert_eq!((in_comment.platform_message_id.as_str(), in_comment.thread_id.as_str()), ("191", "190"));
        assert_eq!(in_comment.text, "");
        assert_eq!(in_comment.attachments[0]["comment_id"], "191");
        let InboundKind::Message(in_caption) = &events[2].kind else { panic!("{:?}", events[2].kind) };
        assert_eq!((in_caption.platform_message_id.as_str(), in_caption.thread_id.as_str()), ("192", "192"));
    }
}
