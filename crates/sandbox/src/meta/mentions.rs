//! Instagram @mentions: a customer mentions the brand's IG account in the
//! caption of their own media or in a comment on some media. Meta sends a
//! `mentions` change carrying only ids; Hark reads the content through the
//! `mentioned_media` / `mentioned_comment` fields of the IG user node.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::feed::graph_time;
use super::{Call, graph_error};
use crate::delivery::{Payload, enqueue};
use crate::http::ApiResponse;
use crate::model::{Account, ActionReport, Customer, SimNetwork};
use crate::state::World;

/// Media or a comment (by someone else) that mentions a brand account.
#[derive(Clone, Debug)]
pub(crate) struct Mention {
    /// The mentioned brand IG account.
    pub account: String,
    pub media_id: String,
    /// Set when the mention is in a comment.
    pub comment_id: Option<String>,
    pub text: String,
    pub username: String,
    pub created: Timestamp,
}

impl Mention {
    fn id(&self) -> &str {
        self.comment_id.as_deref().unwrap_or(&self.media_id)
    }
}

/// Stores the mentioning media (and comment) and queues the `mentions` change.
pub(crate) fn mention(
    world: &mut World,
    account: &Account,
    customer: &Customer,
    text: &str,
    in_comment: bool,
    now: Timestamp,
) -> ActionReport {
    let owner = account.external_id.clone();
    let media_id = (18_050_000_000_000_000u64 + world.next_seq()).to_string();
    let comment_id = in_comment.then(|| (18_150_000_000_000_000u64 + world.next_seq()).to_string());
    let stored = Mention {
        account: owner.clone(),
        media_id: media_id.clone(),
        comment_id: comment_id.clone(),
        text: text.to_string(),
        username: customer.handle.trim_start_matches('@').to_string(),
        created: now,
    };
    let id = stored.id().to_string();
    world.meta.mentions.insert(id.clone(), stored);
    if world.meta.subscribed(&owner, "mentions") {
        let mut value = json!({"media_id": media_id});
        if let Some(comment_id) = &comment_id {
            value["comment_id"] = json!(comment_id);
        }
        let entry = json!({"id": owner, "time": now.as_second(), "changes": [{"field": "mentions", "value": value}]});
        enqueue(
            world,
            now,
            SimNetwork::Instagram,
            &owner,
            &format!("mention:{id}"),
            Payload::MetaEntry { object: "instagram", entry },
        );
    }
    let related = if comment_id.is_some() { vec![media_id] } else { Vec::new() };
    ActionReport {
        network: Some(SimNetwork::Instagram),
        account_id: owner,
        item_id: id,
        related_ids: related,
        event_keys: Vec::new(),
        note: None,
    }
}

/// Whether a `GET /{ig-user-id}` asks for mentioned content.
pub(crate) fn is_mention_read(call: &Call<'_>) -> bool {
    call.param("fields").is_some_and(|f| f.contains("mentioned_comment") || f.contains("mentioned_media"))
}

/// `GET /{ig-user-id}?fields=mentioned_comment.comment_id(ID){…}` or
/// `…mentioned_media.media_id(ID){…}`.
pub(crate) fn read(world: &mut World, call: &Call<'_>, user_id: &str) -> ApiResponse {
    let fields = call.param("fields").unwrap_or_default();
    let (edge, arg, wanted) = if let Some(rest) = fields.find("mentioned_comment").map(|i| &fields[i..]) {
        let (arg, wanted) = parse_edge(rest, "mentioned_comment.comment_id(");
        ("mentioned_comment", arg, wanted)
    } else {
        let rest = fields.find("mentioned_media").map_or("", |i| &fields[i..]);
        let (arg, wanted) = parse_edge(rest, "mentioned_media.media_id(");
        ("mentioned_media", arg, wanted)
    };
    let Some(arg) = arg.filter(|a| !a.is_empty()) else {
        let id_param = if edge == "mentioned_comment" { "comment_id" } else { "media_id" };
        return invalid(world, &format!("(#100) {edge} requires the {id_param} parameter"));
    };
    let found = world.meta.mentions.get(&arg).filter(|m| {
        m.account == user_id
            && (if edge == "mentioned_comment" { m.comment_id.is_some() } else { m.comment_id.is_none() })
    });
    let Some(mention) = found.cloned() else {
        let kind = if edge == "mentioned_comment" { "comment" } else { "media" };
        return invalid(
            world,
            &format!("(#100) The {kind} with id {arg} does not exist or does not mention this Instagram user"),
        );
    };
    let wanted: Vec<String> = if wanted.is_empty() {
        let defaults: &[&str] = if edge == "mentioned_comment" {
            &["id", "text", "timestamp", "username", "media"]
        } else {
            &["id", "caption", "timestamp", "username"]
        };
        defaults.iter().map(|f| (*f).to_string()).collect()
    } else {
        wanted
    };
    let mut object = Map::new();
    for field in &wanted {
        let value = match (edge, field.as_str()) {
            (_, "id") => json!(mention.id()),
            ("mentioned_comment", "text") | ("mentioned_media", "caption") => json!(mention.text),
            (_, "timestamp") => json!(graph_time(mention.created)),
            (_, "username") => json!(mention.username),
            ("mentioned_comment", "media") => json!({"id": mention.media_id}),
            ("mentioned_comment", "like_count") | ("mentioned_media", "comments_count" | "like_count") => json!(0),
            ("mentioned_media", "media_type") => json!("IMAGE"),
            _ => continue,
        };
        object.insert(field.clone(), value);
    }
    let mut body = Map::new();
    body.insert(edge.to_string(), Value::Object(object));
    body.insert("id".into(), json!(user_id));
    ApiResponse::json(200, &Value::Object(body))
}

fn invalid(world: &mut World, message: &str) -> ApiResponse {
    graph_error(world, 400, message, "OAuthException", 100, None)
}

/// From `mentioned_comment.comment_id(123){id,text,media{id}}`: the argument
/// and the top-level sub-field names (`id`, `text`, `media`).
fn parse_edge(text: &str, prefix: &str) -> (Option<String>, Vec<String>) {
    let Some(rest) = text.strip_prefix(prefix) else { return (None, Vec::new()) };
    let Some(close) = rest.find(')') else { return (None, Vec::new()) };
    let arg = rest[..close].trim().to_string();
    let after = &rest[close + 1..];
    let mut fields = Vec::new();
    if let Some(inner) = after.strip_prefix('{') {
        let mut depth = 0usize;
        let mut current = String::new();
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    fields.push(std::mem::take(&mut current));
                    continue;
                }
                _ if depth == 0 => current.push(c),
                _ => {}
            }
        }
        fields.push(current);
    }
    let fields = fields.into_iter().map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
    (Some(arg), fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_arguments_and_sub_fields_are_parsed() {
        let (arg, fields) = parse_edge(
            "mentioned_comment.comment_id(18150000000000007){id,text,timestamp,username,media{id}}",
            "mentioned_comment.comment_id(",
        );
        assert_eq!(arg.as_deref(), Some("18150000000000007"));
        assert_eq!(fields, vec!["id", "text", "timestamp", "username", "media"]);
        let (arg, fields) = parse_edge("mentioned_media.media_id(42)", "mentioned_media.media_id(");
        assert_eq!(arg.as_deref(), Some("42"));
        assert!(fields.is_empty());
    }
}
