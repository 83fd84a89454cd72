//! The post a public thread hangs from: a Page post
//! (`GET /{post-id}?fields=message,created_time,from,permalink_url`) or an
//! Instagram media (`GET /{media-id}?fields=caption,timestamp,username,permalink`).

use hark_domain::Network;
use jiff::Timestamp;
use serde_json::Value;

use super::graph::Graph;
use crate::model::{ChannelContext, ConnectorError, ThreadPost};

const FACEBOOK_FIELDS: &str = "id,message,created_time,from,permalink_url";
const INSTAGRAM_FIELDS: &str = "id,caption,timestamp,username,permalink";

/// Reads the post; `None` when Meta says there is no such object (deleted).
pub async fn fetch_post(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    post_id: &str,
) -> Result<Option<ThreadPost>, ConnectorError> {
    let instagram = ctx.network == Network::Instagram;
    let fields = if instagram { INSTAGRAM_FIELDS } else { FACEBOOK_FIELDS };
    let graph = Graph::new(http, ctx)?;
    match graph.get(&[post_id], &[("fields", fields)]).await {
        Ok(body) if instagram => Ok(instagram_post(&body)),
        Ok(body) => Ok(facebook_post(&body)),
        // (#100/33) "Unsupported get request. Object … does not exist": gone.
        Err(ConnectorError::Rejected(reason)) if reason.contains("[code 100/33]") => Ok(None),
        Err(e) => Err(e),
    }
}

fn text(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Graph times: `2026-11-03T09:15:00+0000` (no colon in the offset).
fn graph_time(value: &str) -> Option<Timestamp> {
    value
        .parse::<Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", value).ok()?.to_timestamp().ok())
}

/// A Page post: `message` (absent for a photo without words), `from.name`.
pub(super) fn facebook_post(body: &Value) -> Option<ThreadPost> {
    let id = text(body, "id")?;
    Some(ThreadPost {
        text: text(body, "message").unwrap_or_default(),
        author: body.get("from").and_then(|from| text(from, "name")),
        posted_at: body.get("created_time").and_then(Value::as_str).and_then(graph_time),
        url: text(body, "permalink_url").filter(|u| u.starts_with("https://")),
        id,
    })
}

/// An Instagram media: `caption`, `username` of the account that posted it.
pub(super) fn instagram_post(body: &Value) -> Option<ThreadPost> {
    let id = text(body, "id")?;
    Some(ThreadPost {
        text: text(body, "caption").unwrap_or_default(),
        author: text(body, "username").map(|u| format!("@{u}")),
        posted_at: body.get("timestamp").and_then(Value::as_str).and_then(graph_time),
        url: text(body, "permalink").filter(|u| u.starts_with("https://")),
        id,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_page_post_reads_its_message_author_and_time() {
        let body = json!({
            "id": "104000000000001_122000000000000042",
            "message": "Our autumn collection is here! <script>alert(1)</script>",
            "created_time": "2026-11-03T09:15:00+0000",
            "from": {"id": "104000000000001", "name": "Acme"},
            "permalink_url": "https://www.facebook.com/104000000000001/posts/122000000000000042"
        });
        let post = facebook_post(&body).unwrap_or_else(|| panic!("no post"));
        assert_eq!(post.id, "104000000000001_122000000000000042");
        assert_eq!(post.text, "Our autumn collection is here! <script>alert(1)</script>");
        assert_eq!(post.author.as_deref(), Some("Acme"));
        assert_eq!(post.posted_at.map(|t| t.as_second()), Some(1_793_697_300));
        assert_eq!(post.url.as_deref(), Some("https://www.facebook.com/104000000000001/posts/122000000000000042"));
        let bare = facebook_post(&json!({"id": "1_2", "permalink_url": "javascript:alert(1)"}));
        assert_eq!(
            bare,
            Some(ThreadPost { id: "1_2".into(), text: String::new(), author: None, posted_at: None, url: None })
        );
        assert_eq!(facebook_post(&json!({"message": "no id"})), None);
    }

    #[test]
    fn an_instagram_media_reads_its_caption_and_username() {
        let body = json!({
            "id": "18000000000000055",
            "caption": "Ναι! 🍂",
            "timestamp": "2026-11-03T09:15:00+0000",
            "username": "acme",
            "permalink": "https://www.instagram.com/p/DAbCdEf/"
        });
        let post = instagram_post(&body).unwrap_or_else(|| panic!("no post"));
        assert_eq!(post.text, "Ναι! 🍂");
        assert_eq!(post.author.as_deref(), Some("@acme"));
        assert_eq!(post.posted_at.map(|t| t.as_second()), Some(1_793_697_300));
        assert_eq!(post.url.as_deref(), Some("https://www.instagram.com/p/DAbCdEf/"));
    }
}
