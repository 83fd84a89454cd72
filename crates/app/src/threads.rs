//! Conversations as threads that move and combine: a public thread moved to
//! private ("answer publicly, solve privately"), two conversations of one
//! customer merged, and changes applied to many conversations at once.

use hark_domain::*;
use hark_store::{ConversationFilter, Page, Write};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::conversations::preview;
use crate::{Actor, App, AppError, AppResult, ConversationUpdate, NewMessage, new_id, now};

/// Moving a public thread to private: the private message (the network's
/// private reply to the thread: a Meta private reply, an X or Telegram
/// direct message…) and, optionally, a public answer saying so.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveToPrivate {
    pub text: String,
    /// Posted publicly first, e.g. "We have sent you a private message."
    #[serde(default)]
    pub public_reply: Option<String>,
}

/// The messages a move to private wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovedToPrivate {
    pub public_reply: Option<Message>,
    pub private_message: Message,
}

/// What became of one conversation in a bulk change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub conversation_id: String,
    pub ok: bool,
    /// The error code and message when it failed.
    pub error: Option<String>,
}

/// Most conversations one bulk request may change.
pub const MAX_BULK: usize = 200;

impl App {
    /// Answers a public thread privately: an optional public reply, then the
    /// private message. When the network confirms the private message, the
    /// private conversation it opened is linked to this one (see
    /// [`App::mark_published`]), so the customer's answer lands beside it.
    pub async fn move_to_private(&self, actor: &Actor, id: &str, input: MoveToPrivate) -> AppResult<MovedToPrivate> {
        actor.require(Action::Reply)?;
        let conversation = self.conversation(actor, id).await?;
        if conversation.kind != ConversationKind::Public {
            return Err(AppError::invalid("conversation", "only a public thread can be moved to private"));
        }
        if input.text.trim().is_empty() {
            return Err(AppError::invalid("text", "must not be empty"));
        }
        let public_reply = match input.public_reply.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => Some(
                self.post_message(
                    actor,
                    id,
                    NewMessage { visibility: Visibility::Public, text: text.to_owned(), template: None },
                )
                .await?,
            ),
            None => None,
        };
        let private_message = self
            .post_message(actor, id, NewMessage { visibility: Visibility::Private, text: input.text, template: None })
            .await?;
        Ok(MovedToPrivate { public_reply, private_message })
    }

    /// The writes that open (or find) the private conversation a private
    /// reply started, link it with the public one both ways, and teach the
    /// contact the id the network gave them in private.
    pub(crate) async fn private_thread_opened(
        &self,
        message: &Message,
        private_thread_id: &str,
        at: Timestamp,
    ) -> AppResult<Vec<Write>> {
        let public =
            self.store.conversation(&message.conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
        if public.kind != ConversationKind::Public {
            return Ok(vec![]);
        }
        let channel = self.store.channel(&public.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        let contact = self.store.contact(&public.contact_id).await?.ok_or(AppError::NotFound("contact"))?;
        let mut writes = vec![];
        let known = self.store.identity(&public.workspace_id, channel.network, private_thread_id).await?;
        if known.is_none() {
            let handle = contact.identities.iter().find(|i| i.network == channel.network);
            writes.push(Write::InsertIdentity(Identity {
                id: new_id("idn"),
                contact_id: contact.id.clone(),
                network: channel.network,
                platform_user_id: private_thread_id.to_owned(),
                handle: handle.map(|h| h.handle.clone()).unwrap_or_default(),
                display_name: handle.map(|h| h.display_name.clone()).unwrap_or_else(|| contact.display_name.clone()),
            }));
        }
        let existing = match &public.linked_conversation_id {
            Some(linked) => self.store.conversation(linked).await?,
            None => {
                let filter = ConversationFilter {
                    workspace_id: public.workspace_id.clone(),
                    channel_id: Some(public.channel_id.clone()),
                    contact_id: Some(public.contact_id.clone()),
                    kind: Some(ConversationKind::Private),
                    ..Default::default()
                };
                self.store.conversations(&filter, &Page::first(1)).await?.into_iter().next()
            }
        };
        let private_id = match existing {
            Some(mut private) => {
                if private.linked_conversation_id.as_deref() != Some(public.id.as_str()) {
                    let version = private.version;
                    private.linked_conversation_id = Some(public.id.clone());
                    private.version += 1;
                    private.updated_at = at;
                    writes.push(Write::UpdateConversation { conversation: private.clone(), expected_version: version });
                    writes.push(event(&public.workspace_id, at, "conversation.updated", &private.id, &private));
                }
                private.id
            }
            None => {
                let mut private = Conversation {
                    id: new_id("conv"),
                    kind: ConversationKind::Private,
                    status: ConversationStatus::Open,
                    platform_thread_id: Some(private_thread_id.to_owned()),
                    labels: vec![],
                    custom_attributes: public.custom_attributes.clone(),
                    subject: public.subject.clone(),
                    last_message_preview: preview(&message.text),
                    snoozed_until: None,
                    timeline: ConversationTimeline { last_activity_at: at, ..Default::default() },
                    linked_conversation_id: Some(public.id.clone()),
                    merged_into_id: None,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                    ..public.clone()
                };
                private.record_outbound(at, message.author_user_id.is_some());
                writes.push(Write::InsertConversation(private.clone()));
                writes.push(event(&public.workspace_id, at, "conversation.created", &private.id, &private));
                private.id
            }
        };
        if public.linked_conversation_id.as_deref() != Some(private_id.as_str()) {
            let mut linked = public.clone();
            linked.linked_conversation_id = Some(private_id.clone());
            linked.version += 1;
            linked.updated_at = at;
            writes.push(Write::UpdateConversation { conversation: linked.clone(), expected_version: public.version });
            writes.push(event(&public.workspace_id, at, "conversation.updated", &public.id, &linked));
        }
        writes.push(Write::Audit(hark_store::NewAuditEntry {
            workspace_id: public.workspace_id.clone(),
            at,
            actor_kind: "system".into(),
            actor_id: None,
            action: "conversation.move_to_private".into(),
            subject_type: "conversation".into(),
            subject_id: public.id.clone(),
            detail: json!({ "private_conversation_id": private_id, "message_id": message.id }),
        }));
        Ok(writes)
    }

    /// Merges `from_id` into `into_id`, two conversations of the same
    /// customer: the messages move, labels combine, the timeline keeps the
    /// earliest wait and the latest activity, and `from_id` is closed with a
    /// pointer to `into_id` (new messages on its thread go there too).
    pub async fn merge_conversations(&self, actor: &Actor, into_id: &str, from_id: &str) -> AppResult<Conversation> {
        actor.require(Action::UpdateConversation)?;
        if into_id == from_id {
            return Err(AppError::invalid("from_conversation_id", "cannot merge a conversation into itself"));
        }
        let into = self.conversation(actor, into_id).await?;
        let from = self.conversation(actor, from_id).await?;
        if into.merged_into_id.is_some() || from.merged_into_id.is_some() {
            return Err(AppError::Conflict("one of these conversations was already merged".into()));
        }
        if into.contact_id != from.contact_id {
            return Err(AppError::invalid(
                "from_conversation_id",
                "only conversations of the same customer can be merged",
            ));
        }
        let at = now();
        let mut merged = into.clone();
        merge_timelines(&mut merged, &from);
        let mut labels = merged.labels.clone();
        labels.extend(from.labels.iter().cloned());
        labels.sort();
        labels.dedup();
        merged.labels = labels;
        merged.version = into.version + 1;
        merged.updated_at = at;
        let mut closed = from.clone();
        if closed.status != ConversationStatus::Resolved {
            closed.change_status(ConversationStatus::Resolved, at, None)?;
        }
        closed.merged_into_id = Some(into.id.clone());
        closed.version = from.version + 1;
        closed.updated_at = at;
        let label_ids = self.label_ids(actor, &merged.labels).await?;
        Change::new(actor, at)
            .write(Write::MoveMessages { from_id: from.id.clone(), into_id: into.id.clone() })
            .write(Write::UpdateConversation { conversation: merged.clone(), expected_version: into.version })
            .write(Write::UpdateConversation { conversation: closed.clone(), expected_version: from.version })
            .write(Write::SetConversationLabels { conversation_id: into.id.clone(), label_ids })
            .audit("conversation.merge", "conversation", into_id, json!({ "merged": from_id }))
            .event("conversation.updated", into_id, &merged)
            .event("conversation.updated", from_id, &closed)
            .event("conversation.merged", into_id, &json!({ "into_id": into_id, "from_id": from_id }))
            .commit(self)
            .await?;
        Ok(merged)
    }

    /// Applies one change to many conversations (assign, label, resolve…);
    /// each succeeds or fails on its own, as it would one at a time.
    pub async fn bulk_update(
        &self,
        actor: &Actor,
        ids: &[String],
        update: ConversationUpdate,
    ) -> AppResult<Vec<BulkOutcome>> {
        actor.require(Action::ReadInbox)?;
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(AppError::invalid("conversation_ids", format!("give 1 to {MAX_BULK} conversations")));
        }
        if update.expected_version.is_some() {
            return Err(AppError::invalid("expected_version", "not available for a bulk change"));
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = match self.update_conversation(actor, id, update.clone()).await {
                Ok(_) => BulkOutcome { conversation_id: id.clone(), ok: true, error: None },
                Err(AppError::Forbidden) => return Err(AppError::Forbidden),
                Err(err) => BulkOutcome {
                    conversation_id: id.clone(),
                    ok: false,
                    error: Some(format!("{}: {err}", err.code())),
                },
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

fn event(workspace_id: &str, at: Timestamp, kind: &str, subject_id: &str, payload: &impl Serialize) -> Write {
    Write::Event(hark_store::NewEvent {
        workspace_id: workspace_id.to_owned(),
        at,
        kind: kind.to_owned(),
        subject_id: subject_id.to_owned(),
        payload: serde_json::to_value(payload).unwrap_or_default(),
    })
}

/// Combines the instants the metrics read: the earliest start and wait, the
/// latest activity, replies added up. A conversation waiting on either side
/// waits on the merged one unless a reply came after.
fn merge_timelines(into: &mut Conversation, from: &Conversation) {
    let (a, b) = (&mut into.timeline, &from.timeline);
    let earliest = |x: Option<Timestamp>, y: Option<Timestamp>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let latest = |x: Option<Timestamp>, y: Option<Timestamp>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    a.first_inbound_at = earliest(a.first_inbound_at, b.first_inbound_at);
    a.last_inbound_at = latest(a.last_inbound_at, b.last_inbound_at);
    a.last_outbound_at = latest(a.last_outbound_at, b.last_outbound_at);
    a.first_reply_at = earliest(a.first_reply_at, b.first_reply_at);
    a.awaiting_reply_since = earliest(a.awaiting_reply_since, b.awaiting_reply_since).filter(|waiting| {
        a.last_outbound_at.is_none_or(|out| out < *waiting) || a.last_inbound_at > a.last_outbound_at
    });
    a.human_replies += b.human_replies;
    a.last_activity_at = a.last_activity_at.max(b.last_activity_at);
    if into.status == ConversationStatus::Resolved && from.status != ConversationStatus::Resolved {
        // The merged conversation is still being worked on.
        let _ = into.change_status(ConversationStatus::Open, into.timeline.last_activity_at, None);
    }
}
