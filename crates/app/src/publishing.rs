//! The states of an outbound reply after it is queued, as the publisher moves
//! it: queued → sending → published (→ delivered → read), or failed with the
//! network's reason. Every step is committed with its event, so agents see
//! it live, and every attempt is kept in the delivery log.

use hark_domain::*;
use hark_store::{DeliveryAttempt, OutboxItem, Write};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, now};

/// Everything the publisher needs to send one reply.
#[derive(Debug, Clone)]
pub struct OutboundJob {
    pub message: Message,
    pub conversation: Conversation,
    pub channel: Channel,
    pub credentials: Map<String, Value>,
    /// The customer's id on the network.
    pub recipient_platform_user_id: String,
    /// The newest customer message (a public reply answers it; a Meta private reply targets it).
    pub reply_to: Option<Message>,
    /// Whether this conversation already got a private reply (Meta allows one per comment).
    pub private_reply_already_sent: bool,
}

impl App {
    pub async fn outbound_job(&self, message_id: &str) -> AppResult<OutboundJob> {
        let message = self.store.message(message_id).await?.ok_or(AppError::NotFound("message"))?;
        let conversation =
            self.store.conversation(&message.conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
        self.job_for(message, conversation).await
    }

    async fn job_for(&self, message: Message, conversation: Conversation) -> AppResult<OutboundJob> {
        let channel = self.store.channel(&message.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        let credentials = self.channel_credentials(&channel.id).await?.unwrap_or_default();
        let contact = self.store.contact(&conversation.contact_id).await?.ok_or(AppError::NotFound("contact"))?;
        // In a private conversation the customer is who the thread is with
        // (on Meta a commenter and the same person in Messenger have different ids).
        let in_thread = contact.identities.iter().filter(|i| i.network == channel.network).find(|i| {
            conversation.kind == ConversationKind::Private
                && conversation.platform_thread_id.as_ref() == Some(&i.platform_user_id)
        });
        let recipient_platform_user_id = in_thread
            .or_else(|| contact.identities.iter().find(|i| i.network == channel.network))
            .map(|i| i.platform_user_id.clone())
            .unwrap_or_default();
        let reply_to = self.store.latest_inbound_message(&conversation.id).await?;
        let history =
            self.store.messages(&conversation.id, &hark_store::Page::first(hark_store::Page::MAX_LIMIT)).await?;
        let private_reply_already_sent = conversation.kind == ConversationKind::Public
            && history.iter().any(|m| {
                m.id != message.id
                    && m.direction == Direction::Outbound
                    && m.visibility == Visibility::Private
                    && m.platform_message_id.is_some()
            });
        Ok(OutboundJob {
            message,
            conversation,
            channel,
            credentials,
            recipient_platform_user_id,
            reply_to,
            private_reply_already_sent,
        })
    }

    /// What publishing a reply with this text would look like, without storing
    /// anything: used to tell an agent before sending whether the network allows it.
    pub async fn draft_outbound(
        &self,
        actor: &Actor,
        conversation_id: &str,
        visibility: Visibility,
        text: &str,
    ) -> AppResult<OutboundJob> {
        actor.require(Action::ReadInbox)?;
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .filter(|c| c.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("conversation"))?;
        let at = now();
        let draft = Message::written_by_user(
            "draft".into(),
            &conversation,
            &actor.user.id,
            visibility,
            text,
            DeliveryStatus::Queued,
            at,
        );
        let mut job = self.job_for(draft, conversation).await?;
        job.message.id = "draft".into();
        Ok(job)
    }

    /// Marks a reply as being sent, just before the network is called. A
    /// reply found in this state after a crash may have gone out: the
    /// publisher reconciles before sending it again.
    pub async fn mark_sending(&self, message: &Message) -> AppResult<()> {
        let actor = Actor::system(&message.workspace_id);
        delivery_change(&actor, message, DeliveryStatus::Sending, None, now()).commit(self).await?;
        Ok(())
    }

    /// Records a reply the network accepted. `private_thread_id` is the
    /// customer's id in the private thread the reply opened, when it moved a
    /// public thread to private: the private conversation learns it, so the
    /// customer's answer there lands in it.
    pub async fn mark_published(
        &self,
        item: &OutboxItem,
        message: &Message,
        platform_message_id: &str,
        private_thread_id: Option<&str>,
        how: &str,
    ) -> AppResult<()> {
        // Linking the private thread may race another change to the
        // conversations; the publication itself must be recorded regardless.
        for attempt in 0..4 {
            let at = now();
            let thread_writes = match private_thread_id {
                Some(thread) if attempt < 3 => self.private_thread_opened(message, thread, at).await?,
                _ => vec![],
            };
            match self.record_published(item, message, platform_message_id, how, thread_writes, at).await {
                Err(AppError::Conflict(_)) if attempt < 3 => continue,
                other => return other,
            }
        }
        Ok(())
    }

    async fn record_published(
        &self,
        item: &OutboxItem,
        message: &Message,
        platform_message_id: &str,
        how: &str,
        thread_writes: Vec<Write>,
        at: Timestamp,
    ) -> AppResult<()> {
        let mut updated = message.clone();
        updated.delivery_status = DeliveryStatus::Published;
        updated.delivery_error = None;
        updated.platform_message_id = Some(platform_message_id.to_owned());
        let actor = Actor::system(&message.workspace_id);
        let mut change = Change::new(&actor, at);
        for write in thread_writes {
            change.push(write);
        }
        change
            .write(Write::SetMessagePlatformId {
                message_id: message.id.clone(),
                platform_message_id: platform_message_id.to_owned(),
            })
            .write(Write::UpdateMessageDelivery {
                message_id: message.id.clone(),
                status: DeliveryStatus::Published,
                error: None,
            })
            .write(Write::FinishOutbox { id: item.id, at })
            .write(attempt(item, at, how, platform_message_id))
            .audit(
                "message.published",
                "message",
                &message.id,
                json!({ "platform_message_id": platform_message_id, "channel_id": message.channel_id }),
            )
            .event("message.updated", &message.conversation_id, &updated)
            .commit(self)
            .await?;
        Ok(())
    }

    /// Gives up on a reply: the agent sees the network's reason and can retry.
    pub async fn mark_failed(
        &self,
        item: &OutboxItem,
        message: &Message,
        reason: &str,
        outcome: &str,
    ) -> AppResult<()> {
        let at = now();
        let actor = Actor::system(&message.workspace_id);
        delivery_change(&actor, message, DeliveryStatus::Failed, Some(reason.to_owned()), at)
            .write(Write::FinishOutbox { id: item.id, at })
            .write(attempt(item, at, outcome, reason))
            .audit("message.publish_failed", "message", &message.id, json!({ "reason": reason }))
            .commit(self)
            .await?;
        Ok(())
    }

    /// Tries again at `due_at`; the message shows it is still on its way.
    pub async fn reschedule_publish(
        &self,
        item: &OutboxItem,
        message: &Message,
        due_at: Timestamp,
        reason: &str,
    ) -> AppResult<()> {
        let at = now();
        let actor = Actor::system(&message.workspace_id);
        delivery_change(
            &actor,
            message,
            DeliveryStatus::Queued,
            Some(DeliveryNote::Retrying { reason: reason.to_owned() }.to_string()),
            at,
        )
        .write(Write::RescheduleOutbox { id: item.id, due_at, error: reason.to_owned() })
        .write(attempt(item, at, "retry", reason))
        .commit(self)
        .await?;
        Ok(())
    }

    /// The network may or may not have received the reply: try again later,
    /// leaving it `sending` so the next attempt reconciles first.
    pub async fn reschedule_after_unknown(
        &self,
        item: &OutboxItem,
        message: &Message,
        due_at: Timestamp,
        reason: &str,
    ) -> AppResult<()> {
        let at = now();
        self.store
            .commit(vec![
                Write::RescheduleOutbox { id: item.id, due_at, error: reason.to_owned() },
                attempt(item, at, "unknown", reason),
            ])
            .await?;
        tracing::warn!(message = %message.id, reason, "publication outcome unknown; will reconcile");
        Ok(())
    }

    /// Counts a failure against a channel without changing its health yet.
    pub async fn count_channel_failure(&self, channel_id: &str) -> AppResult<()> {
        let channel = self.store.channel(channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        self.store
            .commit(vec![Write::UpdateChannelHealth {
                channel_id: channel_id.to_owned(),
                health: channel.health,
                detail: channel.health_detail,
                failure_count: channel.failure_count + 1,
                at: now(),
            }])
            .await?;
        Ok(())
    }

    /// Closes an outbox item whose message no longer needs sending.
    pub async fn drop_outbox(&self, item: &OutboxItem, why: &str) -> AppResult<()> {
        let at = now();
        self.store.commit(vec![Write::FinishOutbox { id: item.id, at }, attempt(item, at, "skipped", why)]).await?;
        Ok(())
    }

    /// An agent asks to send a failed reply again.
    pub async fn retry_message(&self, actor: &Actor, message_id: &str) -> AppResult<Message> {
        actor.require(Action::Reply)?;
        let message = self
            .store
            .message(message_id)
            .await?
            .filter(|m| m.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("message"))?;
        if message.delivery_status != DeliveryStatus::Failed || message.direction != Direction::Outbound {
            return Err(AppError::Conflict("only a failed reply can be retried".into()));
        }
        delivery_change(actor, &message, DeliveryStatus::Queued, None, now())
            .outbox("publish", &message.id, json!({ "message_id": message.id }))
            .audit("message.retry", "message", &message.id, json!({}))
            .commit(self)
            .await?;
        let mut updated = message;
        updated.delivery_status = DeliveryStatus::Queued;
        updated.delivery_error = None;
        Ok(updated)
    }

    /// A channel stopped working (expired token, revoked permission, failing
    /// webhook checks, repeated delivery errors). Raises an alert the first
    /// time and keeps counting after.
    pub async fn channel_failed(&self, channel_id: &str, health: ChannelHealth, detail: &str) -> AppResult<()> {
        let channel = self.store.channel(channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        let at = now();
        let failure_count = channel.failure_count + 1;
        let newly = channel.health != health || channel.health_detail != detail;
        let mut updated = channel.clone();
        updated.health = health;
        updated.health_detail = detail.to_owned();
        updated.failure_count = failure_count;
        let actor = Actor::system(&channel.workspace_id);
        let mut change = Change::new(&actor, at).write(Write::UpdateChannelHealth {
            channel_id: channel_id.to_owned(),
            health,
            detail: detail.to_owned(),
            failure_count,
            at,
        });
        if newly {
            tracing::warn!(channel = channel_id, %health, detail, "channel unhealthy");
            change = change
                .audit("channel.unhealthy", "channel", channel_id, json!({ "health": health, "detail": detail }))
                .event("channel.updated", channel_id, &updated)
                .event(
                    "alert.raised",
                    channel_id,
                    &json!({
                        "kind": "channel_unhealthy", "severity": if health == ChannelHealth::Failing { "critical" } else { "warning" },
                        "channel_id": channel_id, "channel_name": channel.name, "network": channel.network,
                        "health": health, "detail": detail, "detail_note": note_json(&ChannelNote::parse(detail)),
                        "message": format!("{} ({}) is {}: {}", channel.name, channel.network, health, detail),
                    }),
                );
        }
        change.commit(self).await?;
        Ok(())
    }

    /// A channel works again: clears its failure and tells everyone.
    pub async fn channel_ok(&self, channel_id: &str) -> AppResult<()> {
        let channel = self.store.channel(channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        if channel.health == ChannelHealth::Ok && channel.failure_count == 0 {
            return Ok(());
        }
        let at = now();
        let mut updated = channel.clone();
        updated.health = ChannelHealth::Ok;
        updated.health_detail.clear();
        updated.failure_count = 0;
        let actor = Actor::system(&channel.workspace_id);
        let mut change = Change::new(&actor, at).write(Write::UpdateChannelHealth {
            channel_id: channel_id.to_owned(),
            health: ChannelHealth::Ok,
            detail: String::new(),
            failure_count: 0,
            at,
        });
        if channel.health != ChannelHealth::Ok {
            tracing::info!(channel = channel_id, "channel recovered");
            change = change
                .audit(
                    "channel.recovered",
                    "channel",
                    channel_id,
                    json!({ "was": channel.health, "detail": channel.health_detail }),
                )
                .event("channel.updated", channel_id, &updated)
                .event("alert.resolved", channel_id, &json!({ "kind": "channel_unhealthy", "channel_id": channel_id }));
        }
        change.commit(self).await?;
        Ok(())
    }
}

/// A change moving `message` to `status`, with the event agents' screens follow.
fn delivery_change<'a>(
    actor: &'a Actor,
    message: &Message,
    status: DeliveryStatus,
    error: Option<String>,
    at: Timestamp,
) -> Change<'a> {
    let mut updated = message.clone();
    updated.delivery_status = status;
    updated.delivery_error = error.clone();
    Change::new(actor, at).write(Write::UpdateMessageDelivery { message_id: message.id.clone(), status, error }).event(
        "message.updated",
        &message.conversation_id,
        &updated,
    )
}

fn attempt(item: &OutboxItem, at: Timestamp, outcome: &str, detail: &str) -> Write {
    Write::RecordDeliveryAttempt(DeliveryAttempt {
        outbox_id: item.id,
        subject_id: item.subject_id.clone(),
        at,
        outcome: outcome.to_owned(),
        detail: detail.chars().take(2000).collect(),
    })
}

/// Likes, reposts and hides an agent can do on a customer's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Engagement {
    Like,
    Repost,
    Hide,
}

impl App {
    /// Checks that the actor may engage with a customer's message and returns
    /// it with its channel and opened credentials.
    pub async fn engagement_target(
        &self,
        actor: &Actor,
        message_id: &str,
        kind: Engagement,
    ) -> AppResult<(Message, Channel, Map<String, Value>)> {
        match kind {
            // Hiding a comment is moderation; liking and sharing speak for the brand.
            Engagement::Hide => actor.require(Action::UpdateConversation)?,
            Engagement::Like | Engagement::Repost => actor.require(Action::Reply)?,
        }
        let message = self
            .store
            .message(message_id)
            .await?
            .filter(|m| m.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("message"))?;
        if message.direction != Direction::Inbound || message.platform_message_id.is_none() {
            return Err(AppError::invalid(
                "message",
                "only a customer's message on a network can be liked, shared or hidden",
            ));
        }
        let channel = self.store.channel(&message.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        let credentials = self.channel_credentials(&channel.id).await?.unwrap_or_default();
        Ok((message, channel, credentials))
    }

    /// Records an engagement the network accepted.
    pub async fn record_engagement(&self, actor: &Actor, message: &Message, kind: Engagement) -> AppResult<()> {
        let action = match kind {
            Engagement::Like => "message.like",
            Engagement::Repost => "message.repost",
            Engagement::Hide => "message.hide",
        };
        Change::new(actor, now())
            .audit(
                action,
                "message",
                &message.id,
                json!({ "platform_message_id": message.platform_message_id, "channel_id": message.channel_id }),
            )
            .event(
                "message.engaged",
                &message.conversation_id,
                &json!({ "message_id": message.id, "engagement": kind }),
            )
            .commit(self)
            .await?;
        Ok(())
    }
}

/// A channel note as the browser reads it in the agent's language: the
/// interface's message id and its arguments (`null` for the network's words),
/// and for a polling failure the note it wraps (as the settings page reads it).
fn note_json(note: &ChannelNote) -> serde_json::Value {
    let Some((key, args)) = note.message() else { return serde_json::Value::Null };
    let mut out = json!({ "key": key, "args": args.into_iter().collect::<std::collections::BTreeMap<_, _>>() });
    if let ChannelNote::Polling { words } = note {
        out["inner"] = note_json(&ChannelNote::parse(words));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A polling failure's alert carries the note it wraps, so the browser
    /// reads the credentials' trouble in the agent's language too.
    #[test]
    fn a_polling_note_carries_the_note_it_wraps() {
        let inner = ChannelNote::CredentialsRejected { words: "Invalid OAuth access token".into() };
        let polling = note_json(&ChannelNote::Polling { words: inner.to_string() });
        assert_eq!(polling["key"], "polling");
        assert_eq!(polling["inner"]["key"], "credentials-rejected");
        assert_eq!(polling["inner"]["args"]["words"], "Invalid OAuth access token");
        assert_eq!(note_json(&ChannelNote::Words("the network's words".into())), serde_json::Value::Null);
    }
}
