//! Publishing replies and other actions through the Graph API.
//!
//! Every rule Meta would refuse on (length, messaging windows, the one
//! private reply per comment) is checked before the first request, so an
//! agent reads a sentence instead of a Graph error code. The plan of a send
//! ([`Delivery`]) is decided without IO, which keeps those rules testable.

use hark_domain::{ConversationKind, Network};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::graph::Graph;
use super::windows::{self, DirectMessageType};
use crate::model::{
    ChannelContext, ConnectorError, EngagementAction, MessageTemplate, OutboundMessage, OutboundVisibility, Published,
    Refusal,
};

/// What one reply turns into on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// `POST /{comment-or-post}/comments` with a form `message`.
    FacebookComment { target: String },
    /// `POST /{ig-comment}/replies?message=…`.
    InstagramReply { comment_id: String },
    /// `POST /{ig-media}/comments?message=…`, when no comment is being answered.
    InstagramMediaComment { media_id: String },
    /// The Send API to a PSID/IGSID.
    DirectMessage { recipient: String, message_type: DirectMessageType },
    /// The Send API to a comment (or, on Facebook, a visitor post): Meta opens
    /// a private conversation with its author.
    PrivateReply { recipient_field: &'static str, target: String },
    /// `POST /{phone-number-id}/messages`, optionally quoting a message.
    WhatsApp { to: String, quoted: Option<String> },
    /// `POST /{phone-number-id}/messages` with `type: template`.
    WhatsAppTemplate { to: String, template: MessageTemplate },
}

impl Delivery {
    /// Public replies are comments; everything else is a private message,
    /// which has its own length limit.
    fn visibility(&self) -> OutboundVisibility {
        match self {
            Delivery::FacebookComment { .. }
            | Delivery::InstagramReply { .. }
            | Delivery::InstagramMediaComment { .. } => OutboundVisibility::Public,
            _ => OutboundVisibility::Private,
        }
    }
}

/// Publishes one reply. Nothing is sent when a rule forbids it.
pub async fn publish(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    crate::connector::check_attachments(ctx.network, msg)?;
    let delivery = plan(ctx, msg, now)?;
    if msg.attachments.is_empty() || !msg.text.trim().is_empty() {
        check_length(ctx.network, delivery.visibility(), &msg.text)?;
    }
    let graph = Graph::new(http, ctx)?;
    send(&graph, ctx, &delivery, &msg.text, msg.attachments.first()).await
}

/// Subscribes the app to this channel's webhooks at `url` (Meta checks the
/// URL with a hub.challenge on the spot) and the Page, Instagram account or
/// WhatsApp business account to the app.
pub async fn register_webhook(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: &str,
) -> Result<crate::model::Registration, ConnectorError> {
    let (object, fields) = match ctx.network {
        Network::Facebook => (
            "page",
            "feed,mention,messages,message_echoes,messaging_postbacks,message_deliveries,message_reads,message_edits",
        ),
        Network::Instagram => ("instagram", "comments,live_comments,mentions,messages,message_reactions"),
        Network::Whatsapp => ("whatsapp_business_account", "messages"),
        other => {
            return Err(ConnectorError::Misconfigured(format!("the Meta connector does not serve {other} channels")));
        }
    };
    let app_id = ctx.credential("app_id")?.to_owned();
    let verify_token = ctx.credential("verify_token")?.to_owned();
    Graph::as_app(http, ctx)?
        .post_form(
            &[&app_id, "subscriptions"],
            &[("object", object), ("callback_url", url), ("fields", fields), ("verify_token", &verify_token)],
        )
        .await?;
    let account = match ctx.network {
        Network::Whatsapp => ctx
            .setting_str("waba_id")
            .ok_or_else(|| ConnectorError::Misconfigured("WhatsApp needs the `waba_id` setting to subscribe".into()))?
            .to_owned(),
        _ => ctx.external_id.clone(),
    };
    let graph = Graph::new(http, ctx)?;
    if ctx.network == Network::Whatsapp {
        graph.post_query(&[&account, "subscribed_apps"], &[]).await?;
    } else {
        graph.post_query(&[&account, "subscribed_apps"], &[("subscribed_fields", fields)]).await?;
    }
    Ok(crate::model::Registration {
        detail: format!("Meta delivers the {object} webhooks to {url}"),
        ..Default::default()
    })
}

/// What Meta would refuse (windows, private-reply rules, length), decided
/// without calling it.
pub fn check_outbound(ctx: &ChannelContext, msg: &OutboundMessage, now: Timestamp) -> Result<(), ConnectorError> {
    let delivery = plan(ctx, msg, now)?;
    check_length(ctx.network, delivery.visibility(), &msg.text)
}

/// Decides how a reply goes out, refusing what Meta would refuse.
fn plan(ctx: &ChannelContext, msg: &OutboundMessage, now: Timestamp) -> Result<Delivery, ConnectorError> {
    match ctx.network {
        Network::Whatsapp => {
            if let Some(template) = &msg.template {
                // Templates are what WhatsApp allows at any time.
                return Ok(Delivery::WhatsAppTemplate { to: recipient(msg)?, template: template.clone() });
            }
            windows::check_whatsapp_window(msg.last_inbound_at, now)?;
            let quoted = msg.reply_to_platform_message_id.clone().filter(|id| !id.is_empty());
            Ok(Delivery::WhatsApp { to: recipient(msg)?, quoted })
        }
        Network::Facebook | Network::Instagram => match (msg.conversation_kind, msg.visibility) {
            (ConversationKind::Public, OutboundVisibility::Public) => public_reply(ctx.network, msg),
            (ConversationKind::Public, OutboundVisibility::Private) => private_reply(ctx.network, msg, now),
            // In a private conversation every reply is a direct message.
            (ConversationKind::Private, _) => {
                let message_type = windows::direct_message_type(ctx.network, msg.last_inbound_at, msg.by_person, now)?;
                Ok(Delivery::DirectMessage { recipient: recipient(msg)?, message_type })
            }
        },
        other => Err(ConnectorError::Misconfigured(format!("the Meta connector does not serve {other} channels"))),
    }
}

/// A comment under the comment being answered, or under the post/media
/// itself when the thread has no comment to answer yet.
fn public_reply(network: Network, msg: &OutboundMessage) -> Result<Delivery, ConnectorError> {
    let comment = msg.reply_to_platform_message_id.clone().filter(|id| !id.is_empty());
    let post = msg.thread_id.clone().filter(|id| !id.is_empty());
    match (network, comment, post) {
        (Network::Instagram, Some(comment_id), _) => Ok(Delivery::InstagramReply { comment_id }),
        (Network::Instagram, None, Some(media_id)) => Ok(Delivery::InstagramMediaComment { media_id }),
        (_, Some(target), _) | (_, None, Some(target)) => Ok(Delivery::FacebookComment { target }),
        (_, None, None) => {
            Err(ConnectorError::NotAllowed(Refusal::new("no-post", "There is no comment or post to reply to.")))
        }
    }
}

/// A private reply targets the comment being answered; on Facebook a
/// visitor post (the thread's root itself) is targeted as a post.
fn private_reply(network: Network, msg: &OutboundMessage, now: Timestamp) -> Result<Delivery, ConnectorError> {
    windows::check_private_reply(network, msg, now)?;
    let Some(target) = msg.reply_to_platform_message_id.clone().filter(|id| !id.is_empty()) else {
        return Err(ConnectorError::NotAllowed(Refusal::new("no-comment", "There is no comment to answer privately.")));
    };
    let is_visitor_post = network == Network::Facebook && msg.thread_id.as_deref() == Some(target.as_str());
    let recipient_field = if is_visitor_post { "post_id" } else { "comment_id" };
    Ok(Delivery::PrivateReply { recipient_field, target })
}

/// The customer's id, falling back to the thread (a private thread is keyed by the customer).
fn recipient(msg: &OutboundMessage) -> Result<String, ConnectorError> {
    [Some(&msg.recipient_platform_user_id), msg.thread_id.as_ref()]
        .into_iter()
        .flatten()
        .find(|id| !id.is_empty())
        .cloned()
        .ok_or_else(|| {
            ConnectorError::NotAllowed(Refusal::new(
                "no-recipient",
                "Hark does not know which customer to send this to.",
            ))
        })
}

async fn send(
    graph: &Graph<'_>,
    ctx: &ChannelContext,
    delivery: &Delivery,
    text: &str,
    file: Option<&crate::model::OutboundAttachment>,
) -> Result<Published, ConnectorError> {
    let account = ctx.external_id.as_str();
    match delivery {
        Delivery::FacebookComment { target } => {
            let mut form = vec![("message", text)];
            if let Some(file) = file {
                form.push(("attachment_url", file.url.as_str()));
            }
            let answer = graph.post_form(&[target, "comments"], &form).await?;
            published(&answer, "/id", None)
        }
        Delivery::InstagramReply { comment_id } => {
            let answer = graph.post_query(&[comment_id, "replies"], &[("message", text)]).await?;
            published(&answer, "/id", None)
        }
        Delivery::InstagramMediaComment { media_id } => {
            let answer = graph.post_query(&[media_id, "comments"], &[("message", text)]).await?;
            published(&answer, "/id", None)
        }
        Delivery::DirectMessage { recipient, message_type } => {
            let message = match file {
                Some(file) => json!({"attachment": {
                    "type": if file.image { "image" } else { "file" },
                    "payload": {"url": file.url, "is_reusable": true},
                }}),
                None => json!({"text": text}),
            };
            let mut body = json!({"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message});
            if *message_type == DirectMessageType::HumanAgent {
                body["messaging_type"] = json!("MESSAGE_TAG");
                body["tag"] = json!("HUMAN_AGENT");
            }
            let answer = graph.post_json(&[account, "messages"], &body).await?;
            published(&answer, "/message_id", None)
        }
        Delivery::PrivateReply { recipient_field, target } => {
            let body = json!({"recipient": {*recipient_field: target}, "message": {"text": text}});
            let answer = graph.post_json(&[account, "messages"], &body).await?;
            let commenter = answer.get("recipient_id").and_then(Value::as_str).map(str::to_owned);
            published(&answer, "/message_id", commenter)
        }
        Delivery::WhatsApp { to, quoted } => {
            let mut body = json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"body": text, "preview_url": false},
            });
            // A file goes by its address, with the text as its caption.
            if let Some(file) = file {
                let body_map = body.as_object_mut();
                if let Some(map) = body_map {
                    map.remove("text");
                    if file.image {
                        map.insert("type".into(), json!("image"));
                        map.insert("image".into(), json!({"link": file.url, "caption": text}));
                    } else {
                        map.insert("type".into(), json!("document"));
                        map.insert(
                            "document".into(),
                            json!({"link": file.url, "caption": text, "filename": file.name}),
                        );
                    }
                }
            }
            if let Some(quoted) = quoted {
                body["context"] = json!({"message_id": quoted});
            }
            let answer = graph.post_json(&[account, "messages"], &body).await?;
            published(&answer, "/messages/0/id", None)
        }
        Delivery::WhatsAppTemplate { to, template } => {
            let parameters: Vec<Value> =
                template.parameters.iter().map(|p| json!({"type": "text", "text": p})).collect();
            let mut body = json!({
                "messaging_product": "whatsapp",
                "to": to,
                "type": "template",
                "template": {"name": template.name, "language": {"code": template.language}},
            });
            if !parameters.is_empty() {
                body["template"]["components"] = json!([{"type": "body", "parameters": parameters}]);
            }
            let answer = graph.post_json(&[account, "messages"], &body).await?;
            published(&answer, "/messages/0/id", None)
        }
    }
}

/// The new message's id from Meta's answer. A success without an id leaves
/// Hark unsure what exists, so it is reported as unknown, not as sent.
fn published(answer: &Value, pointer: &str, private_thread_id: Option<String>) -> Result<Published, ConnectorError> {
    let id = answer.pointer(pointer).and_then(|id| match id {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    });
    match id {
        Some(platform_message_id) => Ok(Published { platform_message_id, private_thread_id }),
        None => Err(ConnectorError::Unknown(format!(
            "Meta accepted the message but its answer has no id ({answer}); check the thread before retrying"
        ))),
    }
}

/// Like, hide or share. Instagram's API cannot like, no Meta API shares a
/// customer's post as the brand, and WhatsApp messages have neither.
pub async fn engage(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    action: &EngagementAction,
) -> Result<(), ConnectorError> {
    let (path, query): (Vec<&str>, Vec<(&str, &str)>) = match (action, ctx.network) {
        (EngagementAction::Hide { platform_message_id }, Network::Facebook) => {
            (vec![platform_message_id], vec![("is_hidden", "true")])
        }
        (EngagementAction::Hide { platform_message_id }, Network::Instagram) => {
            (vec![platform_message_id], vec![("hide", "true")])
        }
        (EngagementAction::Like { platform_message_id }, Network::Facebook) => {
            (vec![platform_message_id, "likes"], vec![])
        }
        (EngagementAction::Like { .. }, Network::Instagram) => {
            return Err(ConnectorError::NotAllowed(Refusal::new(
                "instagram-cannot-like",
                "Instagram's API cannot like comments.",
            )));
        }
        (EngagementAction::Repost { .. }, Network::Facebook | Network::Instagram) => {
            return Err(ConnectorError::NotAllowed(Refusal::new(
                "cannot-share",
                "Facebook and Instagram do not let a Page or business account share a customer's post through their API.",
            )));
        }
        (_, Network::Whatsapp) => {
            return Err(ConnectorError::NotAllowed(Refusal::new(
                "whatsapp-no-engagement",
                "WhatsApp messages cannot be liked, hidden or shared.",
            )));
        }
        (_, other) => {
            return Err(ConnectorError::Misconfigured(format!("the Meta connector does not serve {other} channels")));
        }
    };
    let answer = Graph::new(http, ctx)?.post_query(&path, &query).await?;
    match answer.get("success").and_then(Value::as_bool) {
        Some(false) => Err(ConnectorError::Rejected("Meta answered that the action did not succeed.".into())),
        _ => Ok(()),
    }
}

/// Proves the token works: the token's own node for Pages and Instagram,
/// the phone number for WhatsApp (system-user tokens have no useful `me`).
pub async fn check_credentials(http: &reqwest::Client, ctx: &ChannelContext) -> Result<(), ConnectorError> {
    let graph = Graph::new(http, ctx)?;
    match ctx.network {
        Network::Whatsapp => graph.get(&[&ctx.external_id], &[]).await?,
        _ => graph.get(&["me"], &[("fields", "id")]).await?,
    };
    Ok(())
}

/// Meta's length limits, checked before sending.
fn check_length(network: Network, visibility: OutboundVisibility, text: &str) -> Result<(), ConnectorError> {
    crate::text::check_length(network, visibility, text)
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::super::test_support::context;
    use super::*;
    use crate::http::client;
    use crate::http::test_server::{Canned, Received, TestServer};

    const PAGE: &str = "104000000000001";
    const IG: &str = "17841400000000001";
    const PHONE_ID: &str = "106000000000001";
    const PROOF: &str = "4a2effc42a81c398a25c9145c026ee7695a8aa917c493548ebc4c95c93c2a0bf";

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hours_ago(hours: i64) -> Option<Timestamp> {
        now().checked_sub(SignedDuration::from_hours(hours)).ok()
    }

    fn message(kind: ConversationKind, visibility: OutboundVisibility, last_inbound_hours: i64) -> OutboundMessage {
        OutboundMessage {
            message_id: "msg_01".into(),
            text: "Sorry about that! Which phone model are you using?".into(),
            visibility,
            conversation_kind: kind,
            recipient_platform_user_id: "7010000000000001".into(),
            thread_id: Some(match kind {
                ConversationKind::Public => "104000000000001_122000000000000042".into(),
                ConversationKind::Private => "7010000000000001".into(),
            }),
            reply_to_platform_message_id: Some(match kind {
                ConversationKind::Public => "122000000000000042_900000000000077".into(),
                ConversationKind::Private => "m_last".into(),
            }),
            last_inbound_at: hours_ago(last_inbound_hours),
            reply_to_created_at: hours_ago(last_inbound_hours),
            private_reply_already_sent: false,
            by_person: true,
            template: None,
            attachments: vec![],
        }
    }

    fn channel(network: Network, account: &str, server: &TestServer) -> ChannelContext {
        let mut ctx = context(network, account);
        ctx.settings = json!({"api_base_url": server.base_url});
        ctx
    }

    fn only_request(server: &TestServer) -> Received {
        let mut received = server.received();
        assert_eq!(received.len(), 1, "expected one request, got {received:?}");
        received.remove(0)
    }

    fn form(request: &Received) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&request.body).into_owned().collect()
    }

    fn assert_signed(request: &Received) {
        assert_eq!(request.header("authorization"), Some("Bearer EAAsimtoken"));
        assert_eq!(request.query_param("appsecret_proof").as_deref(), Some(PROOF));
    }

    #[tokio::test]
    async fn facebook_public_reply_posts_a_form_comment() {
        let server = TestServer::start(vec![Canned::json(200, json!({"id": "122000000000000042_900000000000078"}))]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let msg = message(ConversationKind::Public, OutboundVisibility::Public, 2);
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(
            published,
            Ok(Published { platform_message_id: "122000000000000042_900000000000078".into(), private_thread_id: None })
        );
        let request = only_request(&server);
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/v25.0/122000000000000042_900000000000077/comments");
        assert_signed(&request);
        assert!(request.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")));
        assert_eq!(form(&request), [("message".to_string(), msg.text.clone())]);
    }

    #[tokio::test]
    async fn instagram_public_reply_passes_the_message_in_the_query() {
        let server = TestServer::start(vec![Canned::json(200, json!({"id": "18100000000000999"}))]);
        let ctx = channel(Network::Instagram, IG, &server);
        let mut msg = message(ConversationKind::Public, OutboundVisibility::Public, 2);
        msg.reply_to_platform_message_id = Some("18100000000000321".into());
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(published.map(|p| p.platform_message_id), Ok("18100000000000999".into()));
        let request = only_request(&server);
        assert_eq!(request.path(), "/v25.0/18100000000000321/replies");
        assert_eq!(request.query_param("message"), Some(msg.text.clone()));
        assert_signed(&request);
    }

    #[tokio::test]
    async fn a_direct_message_inside_24_hours_is_a_response() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({"recipient_id": "7010000000000001", "message_id": "m_reply1"}),
        )]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let msg = message(ConversationKind::Private, OutboundVisibility::Private, 3);
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(published, Ok(Published { platform_message_id: "m_reply1".into(), private_thread_id: None }));
        let request = only_request(&server);
        assert_eq!(request.path(), "/v25.0/104000000000001/messages");
        assert_signed(&request);
        assert_eq!(
            request.json(),
            json!({"recipient": {"id": "7010000000000001"}, "messaging_type": "RESPONSE", "message": {"text": msg.text}})
        );
    }

    #[tokio::test]
    async fn a_persons_reply_after_3_days_uses_the_human_agent_tag() {
        let server = TestServer::start(vec![Canned::json(200, json!({"recipient_id": "1", "message_id": "m_tag"}))]);
        let ctx = channel(Network::Instagram, IG, &server);
        let msg = message(ConversationKind::Private, OutboundVisibility::Private, 72);
        assert!(publish(&client(), &ctx, &msg, now()).await.is_ok());
        let request = only_request(&server);
        assert_eq!(request.path(), "/v25.0/17841400000000001/messages");
        assert_eq!(
            request.json(),
            json!({"recipient": {"id": "7010000000000001"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                   "message": {"text": msg.text}})
        );
    }

    #[tokio::test]
    async fn refused_replies_make_no_request() {
        let server = TestServer::start(vec![]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let mut automatic = message(ConversationKind::Private, OutboundVisibility::Private, 72);
        automatic.by_person = false;
        let stale = message(ConversationKind::Private, OutboundVisibility::Private, 8 * 24);
        let mut second_private_reply = message(ConversationKind::Public, OutboundVisibility::Private, 2);
        second_private_reply.private_reply_already_sent = true;
        let old_comment = message(ConversationKind::Public, OutboundVisibility::Private, 8 * 24);
        let mut too_long = message(ConversationKind::Private, OutboundVisibility::Private, 1);
        too_long.text = "x".repeat(2001);
        for msg in [automatic, stale, second_private_reply, old_comment, too_long] {
            let result = publish(&client(), &ctx, &msg, now()).await;
            assert!(matches!(result, Err(ConnectorError::NotAllowed(_))), "{result:?}");
        }
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn a_private_reply_targets_the_comment_and_reports_the_commenters_psid() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({"recipient_id": "7010000000000042", "message_id": "m_private1"}),
        )]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let msg = message(ConversationKind::Public, OutboundVisibility::Private, 3 * 24);
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(
            published,
            Ok(Published {
                platform_message_id: "m_private1".into(),
                private_thread_id: Some("7010000000000042".into())
            })
        );
        let request = only_request(&server);
        assert_eq!(request.path(), "/v25.0/104000000000001/messages");
        assert_eq!(
            request.json(),
            json!({"recipient": {"comment_id": "122000000000000042_900000000000077"}, "message": {"text": msg.text}})
        );
    }

    #[tokio::test]
    async fn whatsapp_sends_text_quoting_the_customers_message() {
        let server = TestServer::start(vec![Canned::json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": "447700900123", "wa_id": "447700900123"}],
                   "messages": [{"id": "wamid.OUT1"}]}),
        )]);
        let ctx = channel(Network::Whatsapp, PHONE_ID, &server);
        let mut msg = message(ConversationKind::Private, OutboundVisibility::Private, 1);
        msg.recipient_platform_user_id = "447700900123".into();
        msg.reply_to_platform_message_id = Some("wamid.IN1".into());
        msg.text = "Yes, 10:00-16:00 on Sundays.".into();
        let published = publish(&client(), &ctx, &msg, now()).await;
        assert_eq!(published.map(|p| p.platform_message_id), Ok("wamid.OUT1".into()));
        let request = only_request(&server);
        assert_eq!(request.path(), "/v25.0/106000000000001/messages");
        assert_signed(&request);
        assert_eq!(
            request.json(),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123", "type": "text",
                   "context": {"message_id": "wamid.IN1"},
                   "text": {"body": "Yes, 10:00-16:00 on Sundays.", "preview_url": false}})
        );
    }

    #[tokio::test]
    async fn whatsapp_outside_24_hours_explains_templates() {
        let server = TestServer::start(vec![]);
        let ctx = channel(Network::Whatsapp, PHONE_ID, &server);
        let msg = message(ConversationKind::Private, OutboundVisibility::Private, 30);
        let result = publish(&client(), &ctx, &msg, now()).await;
        assert!(matches!(result, Err(ConnectorError::NotAllowed(r)) if r.contains("outside the 24-hour window")));
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn graph_errors_from_the_server_are_mapped() {
        let window = json!({"error": {"message": "outside window", "type": "OAuthException", "code": 10, "error_subcode": 2018278}});
        let throttled = json!({"error": {"message": "slow down", "code": 80006}});
        let usage = r#"{"104":[{"type":"messenger","call_count":100,"estimated_time_to_regain_access":2}]}"#;
        let server = TestServer::start(vec![
            Canned::json(400, window),
            Canned::json(400, throttled).with_header("X-Business-Use-Case-Usage", usage),
            Canned::json(500, json!({"error": {"message": "unknown", "code": 1}})),
            Canned::json(400, json!({"error": {"message": "Invalid OAuth access token.", "code": 190}})),
        ]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let msg = message(ConversationKind::Private, OutboundVisibility::Private, 1);
        let http = client();
        assert!(matches!(publish(&http, &ctx, &msg, now()).await, Err(ConnectorError::NotAllowed(_))));
        assert!(matches!(
            publish(&http, &ctx, &msg, now()).await,
            Err(ConnectorError::Retryable { retry_after_secs: Some(120), .. })
        ));
        assert!(matches!(
            publish(&http, &ctx, &msg, now()).await,
            Err(ConnectorError::Retryable { retry_after_secs: None, .. })
        ));
        assert!(matches!(publish(&http, &ctx, &msg, now()).await, Err(ConnectorError::Unauthorized(_))));
    }

    #[tokio::test]
    async fn a_success_without_an_id_is_an_unknown_outcome() {
        let server = TestServer::start(vec![Canned::json(200, json!({"success": true}))]);
        let ctx = channel(Network::Facebook, PAGE, &server);
        let msg = message(ConversationKind::Public, OutboundVisibility::Public, 1);
        assert!(matches!(publish(&client(), &ctx, &msg, now()).await, Err(ConnectorError::Unknown(_))));
    }

    #[tokio::test]
    async fn hide_and_like_use_each_networks_request() {
        let ok = || Canned::json(200, json!({"success": true}));
        let server = TestServer::start(vec![ok(), ok(), ok()]);
        let http = client();
        let facebook = channel(Network::Facebook, PAGE, &server);
        let instagram = channel(Network::Instagram, IG, &server);
        let hide = EngagementAction::Hide { platform_message_id: "122_900".into() };
        let like = EngagementAction::Like { platform_message_id: "122_900".into() };
        assert_eq!(engage(&http, &facebook, &hide).await, Ok(()));
        assert_eq!(engage(&http, &instagram, &hide).await, Ok(()));
        assert_eq!(engage(&http, &facebook, &like).await, Ok(()));
        assert!(
            matches!(engage(&http, &instagram, &like).await, Err(ConnectorError::NotAllowed(r)) if r.contains("cannot like"))
        );
        let repost = EngagementAction::Repost { platform_message_id: "122_900".into() };
        assert!(matches!(engage(&http, &facebook, &repost).await, Err(ConnectorError::NotAllowed(_))));
        let requests = server.received();
        assert_eq!(requests.len(), 3);
        assert_eq!((requests[0].method.as_str(), requests[0].path()), ("POST", "/v25.0/122_900"));
        assert_eq!(requests[0].query_param("is_hidden").as_deref(), Some("true"));
        assert_eq!(requests[1].query_param("hide").as_deref(), Some("true"));
        assert_eq!(requests[2].path(), "/v25.0/122_900/likes");
        requests.iter().for_each(assert_signed);
    }

    #[tokio::test]
    async fn credentials_are_checked_on_me_or_the_phone_number() {
        let ok = || Canned::json(200, json!({"id": "x"}));
        let server = TestServer::start(vec![ok(), ok()]);
        let http = client();
        assert_eq!(check_credentials(&http, &channel(Network::Facebook, PAGE, &server)).await, Ok(()));
        assert_eq!(check_credentials(&http, &channel(Network::Whatsapp, PHONE_ID, &server)).await, Ok(()));
        let requests = server.received();
        assert_eq!((requests[0].method.as_str(), requests[0].path()), ("GET", "/v25.0/me"));
        assert_eq!(requests[0].query_param("fields").as_deref(), Some("id"));
        assert_eq!(requests[1].path(), "/v25.0/106000000000001");
        requests.iter().for_each(assert_signed);
    }

    #[test]
    fn a_visitor_post_is_answered_privately_as_a_post() {
        let ctx = context(Network::Facebook, PAGE);
        let mut msg = message(ConversationKind::Public, OutboundVisibility::Private, 1);
        msg.reply_to_platform_message_id = msg.thread_id.clone();
        assert_eq!(
            plan(&ctx, &msg, now()),
            Ok(Delivery::PrivateReply {
                recipient_field: "post_id",
                target: "104000000000001_122000000000000042".into()
            })
        );
    }
}
