//! The social media policy Hark enforces: who may publish from each channel,
//! conversations a rule put under approval, and the approval queue where a
//! supervisor approves (possibly after editing) or rejects with a comment.
//! Every publication is in the audit log with who wrote and who approved it.

use hark_domain::permissions::{ApprovalReason, PublishPolicy, approval_reason, may_approve_on};
use hark_domain::*;
use hark_store::{AutomationWrite, Write};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::conversations::{MAX_MESSAGE_CHARS, preview};
use crate::{Actor, ActorVia, App, AppError, AppResult, new_id, now};

/// A supervisor's decision on a waiting reply.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub approve: bool,
    /// The reply as it should go out, when the reviewer edited it.
    #[serde(default)]
    pub text: Option<String>,
    /// Why, for the writer (required to reject).
    #[serde(default)]
    pub comment: Option<String>,
}

/// A waiting reply with what a reviewer needs beside it.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PendingReply {
    pub message: Message,
    pub conversation: Conversation,
    /// The customer message it answers.
    pub answering: Option<Message>,
    /// Whether the viewer may approve it (their role publishes on this channel).
    pub may_approve: bool,
}

impl App {
    /// Who may publish from a channel (the default when none was set).
    pub async fn publish_policy(&self, actor: &Actor, channel_id: &str) -> AppResult<PublishPolicy> {
        let channel = self.channel(actor, channel_id).await?;
        Ok(self.store.publish_policy(&channel.id).await?.unwrap_or_default())
    }

    pub async fn put_publish_policy(
        &self,
        actor: &Actor,
        channel_id: &str,
        mut policy: PublishPolicy,
    ) -> AppResult<PublishPolicy> {
        actor.require(Action::ManageChannels)?;
        let channel = self.channel(actor, channel_id).await?;
        policy.publish_roles.sort_by_key(|r| r.rank());
        policy.publish_roles.dedup();
        policy.validate()?;
        let at = now();
        Change::new(actor, at)
            .write(Write::Automation(AutomationWrite::PutPublishPolicy {
                workspace_id: channel.workspace_id.clone(),
                channel_id: channel.id.clone(),
                policy: policy.clone(),
                at,
            }))
            .audit("channel.publish_policy", "channel", &channel.id, json!({ "publish_roles": policy.publish_roles }))
            .event("channel.policy_updated", &channel.id, &policy)
            .commit(self)
            .await?;
        Ok(policy)
    }

    /// Whether a reply by `actor` in `conversation` waits for approval: the
    /// channel's policy and any approval a rule asked for decide.
    pub(crate) async fn reply_needs_approval(&self, actor: &Actor, conversation: &Conversation) -> AppResult<bool> {
        Ok(self.why_replies_wait(actor, conversation).await?.is_some())
    }

    /// Why replies by `actor` in `conversation` would wait for approval, if
    /// they would (the composer says so before anything is written).
    pub async fn why_replies_wait(
        &self,
        actor: &Actor,
        conversation: &Conversation,
    ) -> AppResult<Option<ApprovalReason>> {
        if matches!(actor.via, ActorVia::System | ActorVia::Rule { .. }) {
            return Ok(None);
        }
        let policy = self.store.publish_policy(&conversation.channel_id).await?.unwrap_or_default();
        let held = self.store.approval_hold(&conversation.id).await?.is_some();
        Ok(approval_reason(actor.role(), &policy, held))
    }

    /// Replies waiting for approval, oldest first, with their conversation.
    pub async fn approval_queue(&self, actor: &Actor) -> AppResult<Vec<PendingReply>> {
        actor.require(Action::ApproveReply)?;
        let messages = self.store.awaiting_approval(actor.workspace_id(), 200).await?;
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(conversation) = self.store.conversation(&message.conversation_id).await? else { continue };
            let policy = self.store.publish_policy(&conversation.channel_id).await?.unwrap_or_default();
            let answering = self.store.latest_inbound_message(&conversation.id).await?;
            out.push(PendingReply {
                may_approve: actor.via == ActorVia::System || may_approve_on(actor.role(), &policy),
                message,
                conversation,
                answering,
            });
        }
        Ok(out)
    }

    /// Approves (queues for publication, with the reviewer's edits) or
    /// rejects (never published; the writer is told why) a waiting reply.
    pub async fn review_reply(&self, actor: &Actor, message_id: &str, input: ReviewInput) -> AppResult<Message> {
        actor.require(Action::ApproveReply)?;
        let comment = input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
        if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
            return Err(AppError::invalid("comment", "must be at most 2000 characters"));
        }
        for _ in 0..3 {
            let message = self
                .store
                .message(message_id)
                .await?
                .filter(|m| m.workspace_id == actor.workspace_id())
                .ok_or(AppError::NotFound("message"))?;
            if message.delivery_status != DeliveryStatus::AwaitingApproval {
                return Err(AppError::Conflict("this message is not waiting for approval".into()));
            }
            let before =
                self.store.conversation(&message.conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
            let policy = self.store.publish_policy(&before.channel_id).await?.unwrap_or_default();
            if actor.via != ActorVia::System && !may_approve_on(actor.role(), &policy) {
                return Err(AppError::Forbidden);
            }
            let at = now();
            let change = if input.approve {
                self.approval(actor, &message, &before, input.text.as_deref(), comment.as_deref(), at)?
            } else {
                let Some(comment) = comment.as_deref() else {
                    return Err(AppError::invalid("comment", "say why, so the writer can do better"));
                };
                self.rejection(actor, &message, comment, at)
            };
            let (change, reviewed) = change;
            match change.commit(self).await {
                Ok(_) => return Ok(reviewed),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    fn approval<'a>(
        &self,
        actor: &'a Actor,
        message: &Message,
        before: &Conversation,
        edited: Option<&str>,
        comment: Option<&str>,
        at: jiff::Timestamp,
    ) -> AppResult<(Change<'a>, Message)> {
        let mut reviewed = message.clone();
        let mut change = Change::new(actor, at);
        let edited = edited.map(str::trim).filter(|t| *t != message.text.trim());
        if let Some(text) = edited {
            if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
                return Err(AppError::invalid("text", format!("must have 1 to {MAX_MESSAGE_CHARS} characters")));
            }
            reviewed.text = text.to_owned();
            reviewed.edited_at = Some(at);
            change.push(Write::EditMessage { message_id: message.id.clone(), text: text.to_owned(), at });
        }
        reviewed.delivery_status = DeliveryStatus::Queued;
        reviewed.created_at = at;
        let mut after = before.clone();
        after.record_outbound(at, true);
        after.last_message_preview = preview(&reviewed.text);
        after.version = before.version + 1;
        after.updated_at = at;
        let mut detail = json!({
            "approved_by": actor.user.id,
            "written_by": message.author_user_id,
            "visibility": message.visibility,
            "edited": edited.is_some(),
        });
        if edited.is_some() {
            detail["original_text"] = json!(message.text);
        }
        if let Some(comment) = comment {
            detail["comment"] = json!(comment);
        }
        change = change
            .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
            .write(Write::QueueApprovedMessage { message_id: message.id.clone(), at })
            .outbox("publish", &message.id, json!({ "message_id": message.id }))
            .audit("message.publish", "message", &message.id, detail)
            .event("message.updated", &before.id, &reviewed)
            .event("conversation.updated", &before.id, &after);
        if edited.is_some() || comment.is_some() {
            change = self.tell_writer(change, actor, message, "reply_approved", comment.unwrap_or(&reviewed.text));
        }
        Ok((change, reviewed))
    }

    fn rejection<'a>(
        &self,
        actor: &'a Actor,
        message: &Message,
        comment: &str,
        at: jiff::Timestamp,
    ) -> (Change<'a>, Message) {
        let mut reviewed = message.clone();
        reviewed.delivery_status = DeliveryStatus::Failed;
        reviewed.delivery_error = Some(
            DeliveryNote::RejectedBy { reviewer: actor.user.name.clone(), comment: comment.to_owned() }.to_string(),
        );
        let change = Change::new(actor, at)
            .write(Write::UpdateMessageDelivery {
                message_id: message.id.clone(),
                status: DeliveryStatus::Failed,
                error: reviewed.delivery_error.clone(),
            })
            .audit(
                "message.reject",
                "message",
                &message.id,
                json!({ "rejected_by": actor.user.id, "written_by": message.author_user_id, "comment": comment }),
            )
            .event("message.updated", &message.conversation_id, &reviewed);
        (self.tell_writer(change, actor, message, "reply_rejected", comment), reviewed)
    }

    /// Tells the reply's writer what the reviewer decided and said.
    fn tell_writer<'a>(
        &self,
        change: Change<'a>,
        actor: &Actor,
        message: &Message,
        kind: &str,
        text: &str,
    ) -> Change<'a> {
        let Some(writer) = message.author_user_id.clone().filter(|w| *w != actor.user.id) else {
            return change;
        };
        let notification = Notification {
            id: new_id("ntf"),
            workspace_id: message.workspace_id.clone(),
            user_id: writer.clone(),
            kind: kind.to_owned(),
            conversation_id: Some(message.conversation_id.clone()),
            message_id: Some(message.id.clone()),
            actor_id: Some(actor.user.id.clone()).filter(|_| actor.via != ActorVia::System),
            text: preview(&format!("{}: {text}", actor.user.name)),
            created_at: now(),
            read_at: None,
        };
        change.write(Write::InsertNotification(notification.clone())).event(
            "notification.created",
            &writer,
            &notification,
        )
    }
}
