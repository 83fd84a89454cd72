//! Turning one inbound item from a network into contact, conversation and
//! message. Idempotent: an item whose platform id the channel already has is
//! reported as a duplicate and changes nothing, so redeliveries are harmless.

use hark_domain::*;
use hark_store::{ConversationFilter, Page, Write};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::change::Change;
use crate::conversations::preview;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// The customer who wrote an inbound item, as the platform names them.
#[derive(Debug, Clone)]
pub struct InboundAuthor {
    pub platform_user_id: String,
    pub handle: String,
    pub display_name: String,
}

/// One normalised inbound item (a mention, comment, reply or private message).
#[derive(Debug, Clone)]
pub struct InboundItem {
    pub channel_id: String,
    pub kind: ConversationKind,
    pub platform_message_id: String,
    /// For public items, the root post of the thread.
    pub platform_thread_id: Option<String>,
    pub platform_parent_id: Option<String>,
    pub author: InboundAuthor,
    pub text: String,
    pub attachments: Vec<Value>,
    pub created_at: Timestamp,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    /// Filled by ingestion from the text.
    pub personal_data: Vec<PersonalDataSpan>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Created {
        conversation_id: String,
        message_id: String,
        new_conversation: bool,
    },
    /// The channel already had this platform message; nothing changed.
    Duplicate {
        message_id: String,
    },
}

impl App {
    pub async fn ingest(&self, item: InboundItem) -> AppResult<IngestOutcome> {
        self.ingest_raw(None, item).await
    }

    /// Ingests an item stored as raw event `raw_id` (if any), marking that
    /// event done in the same transaction, so a crash can never leave it
    /// half-applied or applied twice.
    pub async fn ingest_raw(&self, raw_id: Option<i64>, mut item: InboundItem) -> AppResult<IngestOutcome> {
        let channel = self.store.channel(&item.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        // Read once, outside the retry loop. The network's own language tag
        // (X and Telegram send one) is kept only when the text tells nothing.
        let reading = self.understanding.read(&item.text);
        item.language = reading.language.or(item.language);
        item.sentiment = item.sentiment.or(reading.sentiment);
        item.intent = item.intent.or(reading.intent);
        item.personal_data = reading.personal_data;
        let actor = Actor::system(&channel.workspace_id);
        for _ in 0..5 {
            if let Some(existing) = self.store.message_by_platform_id(&channel.id, &item.platform_message_id).await? {
                if let Some(id) = raw_id {
                    self.finish_raw(id).await?;
                }
                return Ok(IngestOutcome::Duplicate { message_id: existing.id });
            }
            match self.try_ingest(&actor, &channel, &item, raw_id).await {
                Err(AppError::Conflict(_)) => continue,
                // Another node stored the same item a moment ago.
                Err(AppError::Duplicate(_)) => continue,
                other => return other,
            }
        }
        Err(AppError::Conflict("could not store the inbound item; it will be retried".into()))
    }

    async fn try_ingest(
        &self,
        actor: &Actor,
        channel: &Channel,
        item: &InboundItem,
        raw_id: Option<i64>,
    ) -> AppResult<IngestOutcome> {
        let at = now();
        let mut change = Change::new(actor, at);
        if let Some(id) = raw_id {
            change.push(Write::FinishRawEvent { id, at });
        }
        let contact_id =
            match self.store.identity(&channel.workspace_id, channel.network, &item.author.platform_user_id).await? {
                Some(identity) => self.live_contact_id(&identity.contact_id).await?,
                None => {
                    let contact_id = new_id("ct");
                    let display = if item.author.display_name.trim().is_empty() {
                        &item.author.handle
                    } else {
                        &item.author.display_name
                    };
                    change.push(Write::InsertContact(Contact {
                        id: contact_id.clone(),
                        workspace_id: channel.workspace_id.clone(),
                        display_name: display.clone(),
                        email: None,
                        phone: None,
                        notes: String::new(),
                        custom_attributes: Default::default(),
                        merged_into_id: None,
                        identities: vec![Identity {
                            id: new_id("idn"),
                            contact_id: contact_id.clone(),
                            network: channel.network,
                            platform_user_id: item.author.platform_user_id.clone(),
                            handle: item.author.handle.clone(),
                            display_name: item.author.display_name.clone(),
                        }],
                        created_at: at,
                        updated_at: at,
                    }));
                    contact_id
                }
            };
        let filter = ConversationFilter {
            workspace_id: channel.workspace_id.clone(),
            channel_id: Some(channel.id.clone()),
            contact_id: Some(contact_id.clone()),
            kind: Some(item.kind),
            platform_thread_id: match item.kind {
                ConversationKind::Public => item.platform_thread_id.clone(),
                ConversationKind::Private => None,
            },
            include_merged: true,
            ..Default::default()
        };
        let mut existing = self.store.conversations(&filter, &Page::first(1)).await?.into_iter().next();
        // A thread merged into another conversation continues there.
        for _ in 0..5 {
            match existing.as_ref().and_then(|c| c.merged_into_id.clone()) {
                Some(target) => existing = self.store.conversation(&target).await?,
                None => break,
            }
        }
        let message_id = new_id("msg");
        let (conversation, expected_version) = match existing {
            Some(before) => {
                let version = before.version;
                let mut c = before;
                c.version = version + 1;
                (c, Some(version))
            }
            None => (
                Conversation {
                    id: new_id("conv"),
                    workspace_id: channel.workspace_id.clone(),
                    channel_id: channel.id.clone(),
                    contact_id: contact_id.clone(),
                    kind: item.kind,
                    status: ConversationStatus::Open,
                    priority: Priority::Normal,
                    assignee_id: None,
                    team_id: None,
                    labels: vec![],
                    custom_attributes: Default::default(),
                    platform_thread_id: item.platform_thread_id.clone(),
                    subject: String::new(),
                    last_message_preview: String::new(),
                    language: None,
                    sentiment: None,
                    intent: None,
                    snoozed_until: None,
                    timeline: ConversationTimeline { last_activity_at: item.created_at, ..Default::default() },
                    linked_conversation_id: None,
                    merged_into_id: None,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                },
                None,
            ),
        };
        let mut conversation = conversation;
        conversation.record_inbound(item.created_at);
        conversation.last_message_preview = preview(&item.text);
        conversation.language = item.language.clone().or(conversation.language);
        conversation.sentiment = item.sentiment.or(conversation.sentiment);
        conversation.intent = item.intent.clone().or(conversation.intent);
        conversation.updated_at = at;
        let message = Message {
            id: message_id.clone(),
            conversation_id: conversation.id.clone(),
            workspace_id: channel.workspace_id.clone(),
            channel_id: channel.id.clone(),
            direction: Direction::Inbound,
            visibility: match item.kind {
                ConversationKind::Public => Visibility::Public,
                ConversationKind::Private => Visibility::Private,
            },
            author_kind: AuthorKind::Contact,
            author_user_id: None,
            author_contact_id: Some(contact_id),
            text: item.text.clone(),
            attachments: item.attachments.clone(),
            platform_message_id: Some(item.platform_message_id.clone()),
            platform_parent_id: item.platform_parent_id.clone(),
            delivery_status: DeliveryStatus::Received,
            delivery_error: None,
            language: item.language.clone(),
            sentiment: item.sentiment,
            intent: item.intent.clone(),
            personal_data: item.personal_data.clone(),
            created_at: item.created_at,
            recorded_at: at,
            edited_at: None,
            deleted_at: None,
        };
        let new_conversation = expected_version.is_none();
        let change = match expected_version {
            Some(version) => change
                .write(Write::UpdateConversation { conversation: conversation.clone(), expected_version: version }),
            None => change.write(Write::InsertConversation(conversation.clone())).audit(
                "conversation.create",
                "conversation",
                &conversation.id,
                json!({ "channel_id": channel.id, "kind": item.kind }),
            ),
        };
        change
            .write(Write::InsertMessage(message.clone()))
            .event("message.created", &conversation.id, &message)
            .event(
                if new_conversation { "conversation.created" } else { "conversation.updated" },
                &conversation.id,
                &conversation,
            )
            .commit(self)
            .await?;
        Ok(IngestOutcome::Created { conversation_id: conversation.id, message_id, new_conversation })
    }

    /// Follows merges to the contact that is still live.
    async fn live_contact_id(&self, contact_id: &str) -> AppResult<String> {
        let mut id = contact_id.to_owned();
        for _ in 0..10 {
            match self.store.contact(&id).await?.and_then(|c| c.merged_into_id) {
                Some(next) => id = next,
                None => return Ok(id),
            }
        }
        Ok(id)
    }
}
