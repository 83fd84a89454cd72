//! One entry point per operation, dispatching to the network's module, so
//! the rest of Hark never matches on networks itself.

use hark_domain::Network;
use jiff::Timestamp;
use serde_json::Value;

use crate::model::*;
use crate::{api_channel, meta, telegram, vk, x};

/// Verifies and reads one webhook request for a channel.
pub fn handle_webhook(ctx: &ChannelContext, req: &RawRequest, now: Timestamp) -> Result<Inbound, WebhookError> {
    match ctx.network {
        Network::X => x::handle_webhook(ctx, req, now),
        Network::Facebook | Network::Instagram | Network::Whatsapp => meta::handle_webhook(ctx, req, now),
        Network::Telegram => telegram::handle_webhook(ctx, req, now),
        Network::Vk => vk::handle_webhook(ctx, req, now),
        other => Err(WebhookError::BadRequest(format!("{other} channels do not receive webhooks here"))),
    }
}

/// Completes an inbound message the webhook described only partly (an
/// Instagram mention names the post; its text and author are fetched).
pub async fn complete(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    message: &mut InboundMessage,
) -> Result<(), ConnectorError> {
    match ctx.network {
        Network::Instagram => meta::complete_mention(http, ctx, message).await,
        _ => Ok(()),
    }
}

/// Reads the post a public thread hangs from (`post_id` is the thread id:
/// tweet id, Page post id, Instagram media id, VK `owner_post`). `None`
/// where the network has no such post to read (Telegram, private chats) or
/// says it no longer exists.
pub async fn fetch_post(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    post_id: &str,
) -> Result<Option<ThreadPost>, ConnectorError> {
    match ctx.network {
        Network::X => x::fetch_post(http, ctx, post_id).await,
        Network::Facebook | Network::Instagram => meta::fetch_post(http, ctx, post_id).await,
        Network::Vk => vk::fetch_post(http, ctx, post_id).await,
        _ => Ok(None),
    }
}

/// Publishes a reply.
pub async fn publish(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    check_attachments(ctx.network, msg)?;
    match ctx.network {
        Network::X => x::publish(http, ctx, msg, now).await,
        Network::Facebook | Network::Instagram | Network::Whatsapp => meta::publish(http, ctx, msg, now).await,
        Network::Telegram => telegram::publish(http, ctx, msg, now).await,
        Network::Vk => vk::publish(http, ctx, msg, now).await,
        Network::Api => publish_to_api_channel(http, ctx, msg, now).await,
        other => Err(ConnectorError::Misconfigured(format!("{other} has no connector yet"))),
    }
}

/// What the network would refuse for this reply (messaging windows, private
/// reply rules, length), decided without calling it, so an agent learns why
/// before sending.
pub fn check_outbound(ctx: &ChannelContext, msg: &OutboundMessage, now: Timestamp) -> Result<(), ConnectorError> {
    check_attachments(ctx.network, msg)?;
    if msg.text.trim().is_empty() && !msg.attachments.is_empty() {
        // A file on its own: only the rules that do not read the text apply.
        let mut probe = msg.clone();
        probe.text = ".".into();
        return check_outbound_text(ctx, &probe, now);
    }
    check_outbound_text(ctx, msg, now)
}

fn check_outbound_text(ctx: &ChannelContext, msg: &OutboundMessage, now: Timestamp) -> Result<(), ConnectorError> {
    match ctx.network {
        Network::X => x::check_outbound(msg),
        Network::Facebook | Network::Instagram | Network::Whatsapp => meta::check_outbound(ctx, msg, now),
        network => crate::text::check_length(network, msg.visibility, &msg.text),
    }
}

/// Where a reply may carry a file, and how many. A network that takes a
/// file by address and text in one message gets one file with its text as
/// the caption (WhatsApp, Telegram, Facebook comments with a picture);
/// Messenger and Instagram direct messages take a file as a message of its
/// own, so there it goes without text; X and VK need an upload Hark does
/// not make, and Instagram comments and Meta's private replies take text only.
pub fn check_attachments(network: Network, msg: &OutboundMessage) -> Result<(), ConnectorError> {
    use crate::model::OutboundVisibility::{Private, Public};
    use hark_domain::ConversationKind as Kind;
    let Some(first) = msg.attachments.first() else { return Ok(()) };
    let refuse = |key: &'static str, why: &str| Err(ConnectorError::NotAllowed(Refusal::new(key, why)));
    if msg.attachments.len() > 1 {
        return refuse("one-attachment", "Send one attachment per reply.");
    }
    if !(first.url.starts_with("https://") || first.url.starts_with("http://")) {
        return refuse(
            "attachment-no-address",
            "The attachment has no public address the network could fetch it from.",
        );
    }
    match (network, msg.conversation_kind, msg.visibility) {
        (Network::Whatsapp | Network::Api, _, _) => Ok(()),
        (Network::Telegram, _, _) if msg.text.chars().count() > 1024 => refuse(
            "telegram-caption-too-long",
            "Telegram limits the text sent with a file to 1024 characters; send the text separately.",
        ),
        (Network::Telegram, _, _) => Ok(()),
        (Network::Facebook, Kind::Public, Public) if first.image => Ok(()),
        (Network::Facebook, Kind::Public, Public) => {
            refuse("facebook-comment-picture-only", "Facebook comments can carry a picture, not other files.")
        }
        (Network::Facebook | Network::Instagram, Kind::Private, _) if !msg.text.trim().is_empty() => refuse(
            "file-without-text",
            "Messenger and Instagram send a file as a message of its own: send the file without text, then the text.",
        ),
        (Network::Facebook | Network::Instagram, Kind::Private, _) => Ok(()),
        (Network::Facebook | Network::Instagram, Kind::Public, Private) => refuse(
            "private-reply-text-only",
            "Meta's private reply to a comment carries text only; send the file once the customer answers.",
        ),
        (Network::Instagram, Kind::Public, Public) => {
            refuse("instagram-comment-text-only", "Instagram comments carry text only.")
        }
        (network, _, _) => {
            let name = match network {
                Network::X => "X",
                Network::Vk => "VK",
                Network::Mastodon => "Mastodon",
                Network::Bluesky => "Bluesky",
                Network::Email => "email",
                _ => "this network",
            };
            Err(ConnectorError::NotAllowed(
                Refusal::new(
                    "no-files-here",
                    format!("Hark sends text and links on {name}; attach files on WhatsApp, Telegram or Messenger."),
                )
                .with("network", name),
            ))
        }
    }
}

/// Whether sending the same reply again cannot create a second copy (the
/// network deduplicates: VK's random_id and guid, our own API channel's
/// stable webhook-id).
pub fn resend_is_safe(network: Network) -> bool {
    matches!(network, Network::Vk | Network::Api)
}

/// Whether [`find_published`] can tell that a reply did not go out.
pub fn can_reconcile(network: Network) -> bool {
    network == Network::X
}

/// Looks on the network for a reply whose publication outcome is unknown.
pub async fn find_published(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    since: Timestamp,
) -> Result<Option<Published>, ConnectorError> {
    match ctx.network {
        Network::X => x::find_published(http, ctx, msg, since).await,
        _ => Ok(None),
    }
}

pub async fn engage(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    action: &EngagementAction,
) -> Result<(), ConnectorError> {
    match ctx.network {
        Network::X => x::engage(http, ctx, action).await,
        Network::Facebook | Network::Instagram => meta::engage(http, ctx, action).await,
        Network::Vk => vk::engage(http, ctx, action).await,
        other => Err(ConnectorError::NotAllowed(
            Refusal::new("action-not-offered", format!("{other} does not offer this action")).with("network", other),
        )),
    }
}

/// Whether a channel is polled: X when `poll` or a `monitor_query` is set,
/// Telegram bots in `polling` mode.
pub fn polls(network: Network, settings: &Value) -> bool {
    let flag = |key: &str| settings.get(key).and_then(Value::as_bool).unwrap_or(false);
    let text = |key: &str| settings.get(key).and_then(Value::as_str).unwrap_or("");
    match network {
        Network::X => flag("poll") || !text("monitor_query").is_empty(),
        Network::Telegram => text("mode") == "polling",
        _ => false,
    }
}

/// Polls the network; `None` when this channel does not poll.
pub async fn poll(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    cursor: Option<&str>,
) -> Option<Result<PollResult, ConnectorError>> {
    if !polls(ctx.network, &ctx.settings) {
        return None;
    }
    Some(match ctx.network {
        Network::X => x::poll(http, ctx, cursor).await,
        Network::Telegram => telegram::poll(http, ctx, cursor).await,
        _ => return None,
    })
}

pub fn can_check(network: Network) -> bool {
    matches!(
        network,
        Network::X | Network::Facebook | Network::Instagram | Network::Whatsapp | Network::Telegram | Network::Vk
    )
}

/// Asks the network whether the channel's credentials still work.
pub async fn check_credentials(http: &reqwest::Client, ctx: &ChannelContext) -> Result<(), ConnectorError> {
    match ctx.network {
        Network::X => x::check_credentials(http, ctx).await,
        Network::Facebook | Network::Instagram | Network::Whatsapp => meta::check_credentials(http, ctx).await,
        Network::Telegram => telegram::check_credentials(http, ctx).await,
        Network::Vk => vk::check_credentials(http, ctx).await,
        _ => Ok(()),
    }
}

/// Registers Hark's webhook URL for the channel with its network.
pub async fn register_webhook(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    url: &str,
) -> Result<Registration, ConnectorError> {
    match ctx.network {
        Network::X => x::register_webhook(http, ctx, url).await,
        Network::Telegram => telegram::register_webhook(http, ctx, url).await,
        Network::Vk => vk::register_webhook(http, ctx, url).await,
        Network::Facebook | Network::Instagram | Network::Whatsapp => meta::register_webhook(http, ctx, url).await,
        other => Err(ConnectorError::NotAllowed(
            Refusal::new("no-webhook", format!("{other} channels have no webhook to register")).with("network", other),
        )),
    }
}

/// Whether the network still delivers to Hark's webhook (X marks webhooks
/// invalid after a failed CRC and stops silently). `Some(problem)` when not.
pub async fn check_webhooks(http: &reqwest::Client, ctx: &ChannelContext) -> Result<Option<String>, ConnectorError> {
    match ctx.network {
        Network::X => x::check_webhooks(http, ctx).await,
        _ => Ok(None),
    }
}

/// Our own API channel: the reply goes to the partner's webhook, signed.
async fn publish_to_api_channel(
    http: &reqwest::Client,
    ctx: &ChannelContext,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<Published, ConnectorError> {
    let url = ctx
        .setting_str("webhook_url")
        .ok_or_else(|| ConnectorError::Misconfigured("the API channel has no webhook_url setting".into()))?;
    let secret = ctx.credential("webhook_secret")?;
    let body = serde_json::json!({
        "type": "message.created",
        "data": {
            "id": msg.message_id,
            "thread_id": msg.thread_id,
            "in_reply_to": msg.reply_to_platform_message_id,
            "visibility": msg.visibility,
            "recipient": { "id": msg.recipient_platform_user_id },
            "text": msg.text,
            "attachments": msg.attachments.iter().map(|a| serde_json::json!({
                "type": if a.image { "image" } else { "file" }, "url": a.url, "name": a.name, "content_type": a.content_type,
            })).collect::<Vec<_>>(),
        }
    });
    api_channel::deliver(http, url, secret, &msg.message_id, &body, now).await?;
    Ok(Published { platform_message_id: format!("hark:{}", msg.message_id), private_thread_id: None })
}
