//! The Facebook Page feed (`changes[]` with field `feed`, and `mention` for
//! posts and comments elsewhere that @mention the Page).
//!
//! Comments and visitor posts become public messages threaded by post;
//! comments the Page itself wrote come back as echoes (Meta does not say which
//! app wrote them, so `by_hark` stays false and Hark matches its own by
//! platform id). Edits and removals follow the item; hides, reactions and
//! other feed activity are `Ignored`. `created_time` is epoch seconds.

use hark_domain::ConversationKind;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{Change, Entry, Party, epoch_number, id_text, ignored, timestamp_from_seconds, unreadable};
use crate::model::{Author, ChannelContext, EchoMessage, InboundEvent, InboundKind, InboundMessage};

/// Feed items that are posts on the Page's timeline rather than comments.
const POST_ITEMS: &[&str] = &["post", "status", "photo", "video", "share"];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FeedValue {
    item: String,
    verb: String,
    from: Option<Party>,
    /// `mention` values name the author this way instead of `from`.
    #[serde(deserialize_with = "id_text")]
    sender_id: Option<String>,
    sender_name: String,
    #[serde(deserialize_with = "id_text")]
    post_id: Option<String>,
    #[serde(deserialize_with = "id_text")]
    comment_id: Option<String>,
    /// The post id for a top-level comment, the parent comment's id for a reply.
    #[serde(deserialize_with = "id_text")]
    parent_id: Option<String>,
    message: String,
    #[serde(deserialize_with = "epoch_number")]
    created_time: Option<i64>,
    /// Media URLs that come with photo, video and link posts or comments.
    photo: Option<Value>,
    video: Option<Value>,
    link: Option<Value>,
}

impl FeedValue {
    fn is_comment(&self) -> bool {
        self.item == "comment" || self.item == "reply"
    }

    fn is_post(&self) -> bool {
        POST_ITEMS.contains(&self.item.as_str())
    }

    /// The item's own id: the comment id, or the post id for posts.
    fn object_id(&self) -> Option<&str> {
        if self.is_comment() { self.comment_id.as_deref() } else { self.post_id.as_deref() }
    }

    fn author(&self) -> (Option<String>, String) {
        match &self.from {
            Some(from) if from.id.is_some() => (from.id.clone(), from.name.clone()),
            _ => (self.sender_id.clone(), self.sender_name.clone()),
        }
    }

    fn attachments(&self) -> Vec<Value> {
        [("photo", &self.photo), ("video", &self.video), ("link", &self.link)]
            .into_iter()
            .filter_map(|(kind, value)| value.as_ref().map(|url| json!({"type": kind, "url": url})))
            .collect()
    }
}

/// The events of every feed and mention change of one Page entry.
pub(super) fn entry_events(ctx: &ChannelContext, entry: &Entry, now: Timestamp) -> Vec<InboundEvent> {
    let fallback = entry.occurred_at().unwrap_or(now);
    let entry_time = entry.time.unwrap_or_default();
    entry
        .changes
        .iter()
        .filter(|change| change.field == "feed" || change.field == "mention")
        .map(|change| change_event(ctx, change, entry_time, fallback))
        .collect()
}

fn change_event(ctx: &ChannelContext, change: &Change, entry_time: i64, fallback: Timestamp) -> InboundEvent {
    let value: FeedValue = match serde_json::from_value(change.value.clone()) {
        Ok(value) => value,
        Err(e) => return unreadable(&change.value, "feed change", &e, fallback),
    };
    let at = value.created_time.and_then(timestamp_from_seconds).unwrap_or(fallback);
    let Some(id) = value.object_id().filter(|_| value.is_comment() || value.is_post()).map(str::to_owned) else {
        return ignored_activity(&value, entry_time, at);
    };
    match value.verb.as_str() {
        "add" => added(ctx, &value, id, at),
        "edited" | "edit" => {
            let version = if entry_time != 0 { entry_time } else { value.created_time.unwrap_or_default() };
            let kind = InboundKind::Edited { platform_message_id: id.clone(), text: value.message.clone() };
            InboundEvent { dedup_key: format!("edit:{id}:{version}"), occurred_at: at, kind }
        }
        "remove" | "delete" => InboundEvent {
            dedup_key: format!("delete:{id}"),
            occurred_at: at,
            kind: InboundKind::Deleted { platform_message_id: id },
        },
        _ => ignored_activity(&value, entry_time, at),
    }
}

/// A new comment or post: the customer's, or the Page's own (an echo).
fn added(ctx: &ChannelContext, value: &FeedValue, id: String, at: Timestamp) -> InboundEvent {
    let prefix = if value.is_comment() { "comment" } else { "post" };
    let thread_id = value.post_id.clone().unwrap_or_else(|| id.clone());
    let (author_id, author_name) = value.author();
    let kind = if author_id.as_deref() == Some(ctx.external_id.as_str()) {
        InboundKind::Echo(EchoMessage {
            platform_message_id: id.clone(),
            thread_id,
            recipient_platform_user_id: None,
            text: value.message.clone(),
            by_hark: false,
        })
    } else {
        InboundKind::Message(InboundMessage {
            conversation_kind: ConversationKind::Public,
            platform_message_id: id.clone(),
            parent_id: value.parent_id.clone().filter(|parent| *parent != thread_id && *parent != id),
            thread_id,
            author: author(author_id, author_name, &id),
            text: value.message.clone(),
            attachments: value.attachments(),
            via_monitoring: false,
            language: None,
        })
    };
    InboundEvent { dedup_key: format!("{prefix}:{id}"), occurred_at: at, kind }
}

/// Meta hides the author when privacy rules require it; each such item gets
/// an author of its own rather than merging strangers into one contact.
fn author(id: Option<String>, name: String, item_id: &str) -> Author {
    let platform_user_id = id.unwrap_or_else(|| format!("unknown:{item_id}"));
    Author { platform_user_id, handle: String::new(), display_name: name }
}

/// Reactions, hides and other feed activity: understood, not stored as messages.
fn ignored_activity(value: &FeedValue, entry_time: i64, at: Timestamp) -> InboundEvent {
    let target = value.comment_id.as_deref().or(value.post_id.as_deref()).unwrap_or("-");
    let who = value.author().0.unwrap_or_default();
    let key = format!("feed:{}:{}:{target}:{who}:{entry_time}", value.item, value.verb);
    ignored(key, at, format!("feed {} {}", value.item, value.verb))
}

#[cfg(test)]
mod tests {
    use hark_domain::Network;
    use serde_json::json;

    use super::super::test_support::context;
    use super::super::wire::Envelope;
    use super::*;

    const PAGE: &str = "104000000000001";

    fn events(body: Value) -> Vec<InboundEvent> {
        let ctx = context(Network::Facebook, PAGE);
        let envelope: Envelope = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        let now = Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
        envelope.entry.iter().flat_map(|entry| entry_events(&ctx, entry, now)).collect()
    }

    fn feed(values: &[Value]) -> Value {
        let changes: Vec<Value> = values.iter().map(|value| json!({"field": "feed", "value": value})).collect();
        json!({"object": "page", "entry": [{"id": PAGE, "time": 1793697300, "changes": changes}]})
    }

    #[test]
    fn the_documented_comment_is_a_public_message_on_its_post() {
        let body = json!({
          "object": "page",
          "entry": [{
            "id": "104000000000001",
            "time": 1793697300,
            "changes": [{
              "field": "feed",
              "value": {
                "item": "comment",
                "verb": "add",
                "from": {"id": "26000000000000001", "name": "Marco Bianchi"},
                "post": {"id": "104000000000001_122000000000000042", "status_type": "added_photos",
                         "is_published": true, "updated_time": "2026-11-03T09:15:00+0000",
                         "permalink_url": "https://www.facebook.com/104000000000001/posts/122000000000000042",
                         "promotion_status": "inactive"},
                "post_id": "104000000000001_122000000000000042",
                "comment_id": "122000000000000042_900000000000077",
                "parent_id": "104000000000001_122000000000000042",
                "message": "Still no refund after 3 weeks?!",
                "created_time": 1793697298
              }
            }]
          }]
        });
        let events = events(body);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].dedup_key, "comment:122000000000000042_900000000000077");
        assert_eq!(events[0].occurred_at.as_second(), 1_793_697_298);
        let InboundKind::Message(message) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(message.conversation_kind, ConversationKind::Public);
        assert_eq!(message.platform_message_id, "122000000000000042_900000000000077");
        assert_eq!(message.thread_id, "104000000000001_122000000000000042");
        assert_eq!(message.parent_id, None, "a top-level comment's parent is the post itself");
        assert_eq!(message.author.platform_user_id, "26000000000000001");
        assert_eq!(message.author.display_name, "Marco Bianchi");
        assert_eq!(message.text, "Still no refund after 3 weeks?!");
    }

    #[test]
    fn replies_page_comments_visitor_posts_edits_and_removals() {
        let post = "104000000000001_122000000000000042";
        let events = events(feed(&[
            json!({"item": "comment", "verb": "add", "from": {"id": "26000000000000002", "name": "Ana"},
                   "post_id": post, "comment_id": "122_901", "parent_id": "122_900", "message": "+1", "created_time": 1793697301}),
            json!({"item": "comment", "verb": "add", "from": {"id": PAGE, "name": "Brand"},
                   "post_id": post, "comment_id": "122_902", "parent_id": "122_900", "message": "We're on it", "created_time": 1793697302}),
            json!({"item": "status", "verb": "add", "from": {"id": "26000000000000003", "name": "Li"},
                   "post_id": "104000000000001_555", "message": "Where is my parcel?", "created_time": 1793697303}),
            json!({"item": "comment", "verb": "edited", "from": {"id": "26000000000000002"},
                   "post_id": post, "comment_id": "122_901", "message": "+1!!", "created_time": 1793697301}),
            json!({"item": "comment", "verb": "remove", "from": {"id": "26000000000000002"}, "post_id": post, "comment_id": "122_901"}),
            json!({"item": "comment", "verb": "hide", "post_id": post, "comment_id": "122_901"}),
            json!({"item": "reaction", "verb": "add", "reaction_type": "like", "from": {"id": "26000000000000002"}, "post_id": post}),
        ]));
        let keys: Vec<&str> = events.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(
            &keys[..5],
            [
                "comment:122_901",
                "comment:122_902",
                "post:104000000000001_555",
                "edit:122_901:1793697300",
                "delete:122_901"
            ]
        );
        let InboundKind::Message(reply) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(reply.parent_id.as_deref(), Some("122_900"));
        let InboundKind::Echo(echo) = &events[1].kind else { panic!("{:?}", events[1].kind) };
        assert_eq!((echo.thread_id.as_str(), echo.by_hark), (post, false));
        let InboundKind::Message(visitor_post) = &events[2].kind else { panic!("{:?}", events[2].kind) };
        assert_eq!(visitor_post.thread_id, "104000000000001_555");
        assert_eq!(visitor_post.platform_message_id, "104000000000001_555");
        assert_eq!(events[3].kind, InboundKind::Edited { platform_message_id: "122_901".into(), text: "+1!!".into() });
        assert_eq!(events[4].kind, InboundKind::Deleted { platform_message_id: "122_901".into() });
        assert!(matches!(events[5].kind, InboundKind::Ignored { .. }));
        assert!(matches!(events[6].kind, InboundKind::Ignored { .. }));
        assert_ne!(events[5].dedup_key, events[6].dedup_key);
    }

    #[test]
    fn hidden_authors_do_not_merge_into_one_contact() {
        let events = events(feed(&[
            json!({"item": "comment", "verb": "add", "post_id": "1_2", "comment_id": "2_3", "parent_id": "1_2", "message": "a"}),
            json!({"item": "comment", "verb": "add", "post_id": "1_2", "comment_id": "2_4", "parent_id": "1_2", "message": "b"}),
        ]));
        let authors: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                InboundKind::Message(m) => Some(m.author.platform_user_id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(authors, ["unknown:2_3", "unknown:2_4"]);
    }

    #[test]
    fn mentions_share_the_feed_keys() {
        let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1793697400, "changes": [
            {"field": "mention", "value": {"item": "comment", "verb": "add", "post_id": "99_1", "comment_id": "1_5",
                                           "sender_id": "26000000000000009", "sender_name": "Zoe", "message": "@Brand help"}}
        ]}]});
        let events = events(body);
        assert_eq!(events[0].dedup_key, "comment:1_5");
        let InboundKind::Message(message) = &events[0].kind else { panic!("{:?}", events[0].kind) };
        assert_eq!(message.author.platform_user_id, "26000000000000009");
        assert_eq!(message.author.display_name, "Zoe");
        assert_eq!(message.thread_id, "99_1");
        assert_eq!(events[0].occurred_at.as_second(), 1_793_697_400);
    }
}
