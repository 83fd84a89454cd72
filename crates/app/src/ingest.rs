//! Turning inbound items from the networks into contacts, conversations and
//! messages, many at a time.
//!
//! A batch is planned from what the database holds plus what the batch
//! itself has made so far (a customer's second message in the batch finds
//! the conversation its first one opened), then committed in one
//! transaction together with the raw events' done-marks, so a crash never
//! leaves an item half-applied or applied twice. Redeliveries are harmless:
//! an item whose platform id the channel already has (in the database or
//! earlier in the batch) is a duplicate and changes nothing.
//!
//! If the commit collides with another writer (an agent changed one of the
//! conversations, another node stored the same item), the batch is planned
//! again from fresh reads; after a few collisions its items are applied one
//! by one, each with its own retries.

use std::collections::HashMap;

use hark_domain::*;
use hark_store::Write;
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

/// Plans of a batch that collide this often are applied item by item.
const BATCH_ATTEMPTS: usize = 3;
/// Attempts for one item applied on its own.
const ITEM_ATTEMPTS: usize = 5;

/// A conversation the batch touches: its state after the batch, and the
/// version it had in the database (`None` when the batch creates it).
struct Touched {
    conversation: Conversation,
    stored_version: Option<i64>,
}

/// Conversations by (channel, contact, kind, thread); the thread only for public ones.
type ConversationKey = (String, String, ConversationKind, Option<String>);

/// What the database holds of a batch's customers before the batch.
#[derive(Default)]
struct StoredCustomers {
    /// Live contact ids by (workspace, network, platform user id).
    contacts: HashMap<(String, Network, String), String>,
    conversations: HashMap<ConversationKey, Conversation>,
}

/// The conversations a batch looks for on one channel, of one kind.
#[derive(Default)]
struct WantedConversations {
    contacts: Vec<String>,
    /// Public threads the items are in.
    threads: Vec<String>,
    /// A public item without a thread: any of the contacts' public conversations may do.
    any_thread: bool,
}

/// What a batch will write, and what each item became.
#[derive(Default)]
struct Plan {
    contacts: Vec<Contact>,
    touched: Vec<Touched>,
    messages: Vec<Message>,
    finished: Vec<i64>,
    outcomes: Vec<IngestOutcome>,
}

impl App {
    pub async fn ingest(&self, item: InboundItem) -> AppResult<IngestOutcome> {
        self.ingest_raw(None, item).await
    }

    /// Ingests an item stored as raw event `raw_id` (if any), marking that
    /// event done in the same transaction.
    pub async fn ingest_raw(&self, raw_id: Option<i64>, item: InboundItem) -> AppResult<IngestOutcome> {
        let mut outcomes = self.ingest_batch(vec![(raw_id, item)]).await?;
        outcomes.pop().ok_or_else(|| AppError::Conflict("the item was not ingested".into()))
    }

    /// Ingests items (each with the raw event it came from, if any) in one
    /// transaction; returns each item's outcome in order.
    pub async fn ingest_batch(&self, mut items: Vec<(Option<i64>, InboundItem)>) -> AppResult<Vec<IngestOutcome>> {
        // Read the text once, outside any retry. The network's own language
        // tag (X and Telegram send one) is kept only when the text tells nothing.
        for (_, item) in &mut items {
            let reading = self.understanding.read(&item.text);
            item.language = reading.language.or(item.language.take());
            item.sentiment = item.sentiment.or(reading.sentiment);
            item.intent = item.intent.take().or(reading.intent);
            item.personal_data = reading.personal_data;
        }
        let mut channels: HashMap<String, Channel> = HashMap::new();
        for (_, item) in &items {
            if !channels.contains_key(&item.channel_id) {
                let channel = self.store.channel(&item.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
                channels.insert(channel.id.clone(), channel);
            }
        }
        // Each workspace's items commit on their own (audit entries and
        // events belong to one workspace); outcomes keep the items' order.
        let mut outcomes: Vec<Option<IngestOutcome>> = vec![None; items.len()];
        let mut workspaces: Vec<&str> = channels.values().map(|c| c.workspace_id.as_str()).collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        for workspace in workspaces {
            let (positions, group): (Vec<usize>, Vec<(Option<i64>, InboundItem)>) = items
                .iter()
                .enumerate()
                .filter(|(_, (_, item))| channels.get(&item.channel_id).is_some_and(|c| c.workspace_id == workspace))
                .map(|(i, item)| (i, item.clone()))
                .unzip();
            let group_outcomes = self.ingest_group(group, &channels).await?;
            for (position, outcome) in positions.into_iter().zip(group_outcomes) {
                outcomes[position] = Some(outcome);
            }
        }
        outcomes.into_iter().map(|o| o.ok_or_else(|| AppError::Conflict("an item was not ingested".into()))).collect()
    }

    async fn ingest_group(
        &self,
        items: Vec<(Option<i64>, InboundItem)>,
        channels: &HashMap<String, Channel>,
    ) -> AppResult<Vec<IngestOutcome>> {
        for _ in 0..BATCH_ATTEMPTS {
            let plan = self.plan(&items, channels).await?;
            match self.commit_plan(plan, channels).await {
                Ok(outcomes) => return Ok(outcomes),
                Err(AppError::Conflict(_) | AppError::Duplicate(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        // Keeps colliding: one item at a time, each with its own retries.
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            outcomes.push(self.ingest_alone(item, channels).await?);
        }
        Ok(outcomes)
    }

    async fn ingest_alone(
        &self,
        item: (Option<i64>, InboundItem),
        channels: &HashMap<String, Channel>,
    ) -> AppResult<IngestOutcome> {
        let items = [item];
        for _ in 0..ITEM_ATTEMPTS {
            let plan = self.plan(&items, channels).await?;
            match self.commit_plan(plan, channels).await {
                Ok(mut outcomes) => {
                    return outcomes.pop().ok_or_else(|| AppError::Conflict("the item was not ingested".into()));
                }
                Err(AppError::Conflict(_) | AppError::Duplicate(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("could not store the inbound item; it will be retried".into()))
    }

    /// Decides what the items become, from fresh reads and the batch so far.
    async fn plan(&self, items: &[(Option<i64>, InboundItem)], channels: &HashMap<String, Channel>) -> AppResult<Plan> {
        let at = now();
        let mut plan = Plan::default();
        // Which items the database already has, in one read per channel.
        let mut known: HashMap<(String, String), String> = HashMap::new();
        let mut by_channel: HashMap<&str, Vec<String>> = HashMap::new();
        for (_, item) in items {
            by_channel.entry(item.channel_id.as_str()).or_default().push(item.platform_message_id.clone());
        }
        for (channel_id, ids) in by_channel {
            for (platform_id, message_id) in self.store.known_platform_ids(channel_id, &ids).await? {
                known.insert((channel_id.to_owned(), platform_id), message_id);
            }
        }
        let stored = self.stored_customers(items, channels).await?;
        // What the batch has made so far, by the keys later items look them up by.
        let mut messages_by_platform: HashMap<(String, String), String> = HashMap::new();
        let mut contacts_by_identity: HashMap<(String, Network, String), String> = HashMap::new();
        let mut conversations_by_key: HashMap<ConversationKey, usize> = HashMap::new();
        for (raw_id, item) in items {
            let channel = channels.get(&item.channel_id).ok_or(AppError::NotFound("channel"))?;
            plan.finished.extend(raw_id.iter().copied());
            let platform_key = (channel.id.clone(), item.platform_message_id.clone());
            if let Some(id) = messages_by_platform.get(&platform_key) {
                plan.outcomes.push(IngestOutcome::Duplicate { message_id: id.clone() });
                continue;
            }
            if let Some(existing) = known.get(&platform_key) {
                plan.outcomes.push(IngestOutcome::Duplicate { message_id: existing.clone() });
                continue;
            }
            let identity_key = (channel.workspace_id.clone(), channel.network, item.author.platform_user_id.clone());
            let contact_id = match contacts_by_identity.get(&identity_key) {
                Some(id) => id.clone(),
                None => {
                    let id = match stored.contacts.get(&identity_key) {
                        Some(contact_id) => contact_id.clone(),
                        None => {
                            let contact = new_contact(channel, item, at);
                            let id = contact.id.clone();
                            plan.contacts.push(contact);
                            id
                        }
                    };
                    contacts_by_identity.insert(identity_key, id.clone());
                    id
                }
            };
            let thread = match item.kind {
                ConversationKind::Public => item.platform_thread_id.clone(),
                ConversationKind::Private => None,
            };
            let conversation_key = (channel.id.clone(), contact_id.clone(), item.kind, thread.clone());
            let index = match conversations_by_key.get(&conversation_key) {
                Some(index) => *index,
                None => {
                    let found = stored.conversations.get(&conversation_key).cloned();
                    let index = match self.follow_merges(found).await? {
                        // A thread merged into a conversation the batch already touches.
                        Some(c) => match plan.touched.iter().position(|t| t.conversation.id == c.id) {
                            Some(index) => index,
                            None => {
                                plan.touched.push(Touched { stored_version: Some(c.version), conversation: c });
                                plan.touched.len() - 1
                            }
                        },
                        None => {
                            let conversation = new_conversation(channel, item, &contact_id, at);
                            plan.touched.push(Touched { conversation, stored_version: None });
                            plan.touched.len() - 1
                        }
                    };
                    conversations_by_key.insert(conversation_key, index);
                    index
                }
            };
            let touched = &mut plan.touched[index];
            let conversation = &mut touched.conversation;
            conversation.record_inbound(item.created_at);
            conversation.last_message_preview = preview(&item.text);
            conversation.language = item.language.clone().or(conversation.language.take());
            conversation.sentiment = item.sentiment.or(conversation.sentiment);
            conversation.intent = item.intent.clone().or(conversation.intent.take());
            conversation.updated_at = at;
            let message = inbound_message(channel, item, conversation, &contact_id, at);
            messages_by_platform.insert(platform_key, message.id.clone());
            plan.outcomes.push(IngestOutcome::Created {
                conversation_id: conversation.id.clone(),
                message_id: message.id.clone(),
                new_conversation: touched.stored_version.is_none(),
            });
            plan.messages.push(message);
        }
        Ok(plan)
    }

    /// The customers of a batch the database already knows, and the
    /// conversations their items would join, read in a few queries for the
    /// whole batch rather than a few per item.
    async fn stored_customers(
        &self,
        items: &[(Option<i64>, InboundItem)],
        channels: &HashMap<String, Channel>,
    ) -> AppResult<StoredCustomers> {
        let mut out = StoredCustomers::default();
        let mut accounts: HashMap<(&str, Network), Vec<String>> = HashMap::new();
        for (_, item) in items {
            let channel = channels.get(&item.channel_id).ok_or(AppError::NotFound("channel"))?;
            accounts
                .entry((channel.workspace_id.as_str(), channel.network))
                .or_default()
                .push(item.author.platform_user_id.clone());
        }
        for ((workspace_id, network), mut ids) in accounts {
            ids.sort_unstable();
            ids.dedup();
            for (identity, merged_into) in self.store.identities_of_accounts(workspace_id, network, &ids).await? {
                let contact_id = match merged_into {
                    None => identity.contact_id,
                    Some(target) => self.live_contact_id(&target).await?,
                };
                out.contacts.insert((workspace_id.to_owned(), network, identity.platform_user_id), contact_id);
            }
        }
        // The conversations of the known customers, by channel and kind.
        let mut wanted: HashMap<(&str, ConversationKind), WantedConversations> = HashMap::new();
        for (_, item) in items {
            let channel = channels.get(&item.channel_id).ok_or(AppError::NotFound("channel"))?;
            let identity_key = (channel.workspace_id.clone(), channel.network, item.author.platform_user_id.clone());
            let Some(contact_id) = out.contacts.get(&identity_key) else { continue };
            let want = wanted.entry((channel.id.as_str(), item.kind)).or_default();
            want.contacts.push(contact_id.clone());
            match (&item.kind, &item.platform_thread_id) {
                (ConversationKind::Public, Some(thread)) => want.threads.push(thread.clone()),
                (ConversationKind::Public, None) => want.any_thread = true,
                (ConversationKind::Private, _) => {}
            }
        }
        for ((channel_id, kind), want) in wanted {
            let WantedConversations { mut contacts, mut threads, any_thread } = want;
            contacts.sort_unstable();
            contacts.dedup();
            threads.sort_unstable();
            threads.dedup();
            let threads = (kind == ConversationKind::Public && !any_thread).then_some(threads.as_slice());
            // Newest first: the first conversation under a key is the one to join.
            for c in self.store.conversations_for_many(channel_id, kind, &contacts, threads).await? {
                let key = (c.channel_id.clone(), c.contact_id.clone(), kind, None);
                if kind == ConversationKind::Public {
                    let in_thread = (key.0.clone(), key.1.clone(), kind, c.platform_thread_id.clone());
                    out.conversations.entry(in_thread).or_insert_with(|| c.clone());
                }
                out.conversations.entry(key).or_insert(c);
            }
        }
        Ok(out)
    }

    /// Writes a plan in one transaction, with its audit entries and events.
    async fn commit_plan(&self, plan: Plan, channels: &HashMap<String, Channel>) -> AppResult<Vec<IngestOutcome>> {
        let workspace_of_batch = plan.messages.first().map(|m| m.workspace_id.clone());
        let Some(workspace_id) =
            workspace_of_batch.or_else(|| channels.values().next().map(|c| c.workspace_id.clone()))
        else {
            return Ok(plan.outcomes);
        };
        let at = now();
        let actor = Actor::system(&workspace_id);
        let mut change = Change::new(&actor, at);
        for id in &plan.finished {
            change.push(Write::FinishRawEvent { id: *id, at });
        }
        for contact in plan.contacts {
            change.push(Write::InsertContact(contact));
        }
        // New conversations first, together, so they go in as one statement.
        let (new, stored): (Vec<&Touched>, Vec<&Touched>) =
            plan.touched.iter().partition(|t| t.stored_version.is_none());
        for t in new.into_iter().chain(stored) {
            match t.stored_version {
                None => {
                    change.push(Write::InsertConversation(t.conversation.clone()));
                    change = change.audit(
                        "conversation.create",
                        "conversation",
                        &t.conversation.id,
                        json!({ "channel_id": t.conversation.channel_id, "kind": t.conversation.kind }),
                    );
                }
                Some(version) => {
                    let mut updated = t.conversation.clone();
                    updated.version = version + 1;
                    change.push(Write::UpdateConversation { conversation: updated, expected_version: version });
                }
            }
        }
        for message in &plan.messages {
            change.push(Write::InsertMessage(message.clone()));
            change = change.event("message.created", &message.conversation_id, message);
        }
        for t in &plan.touched {
            let mut state = t.conversation.clone();
            if let Some(version) = t.stored_version {
                state.version = version + 1;
            }
            let kind = if t.stored_version.is_none() { "conversation.created" } else { "conversation.updated" };
            change = change.event(kind, &state.id, &state);
        }
        change.commit(self).await?;
        Ok(plan.outcomes)
    }

    /// Follows merges to the conversation still open to messages.
    async fn follow_merges(&self, mut found: Option<Conversation>) -> AppResult<Option<Conversation>> {
        for _ in 0..5 {
            match found.as_ref().and_then(|c| c.merged_into_id.clone()) {
                Some(target) => found = self.store.conversation(&target).await?,
                None => break,
            }
        }
        Ok(found)
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

fn new_contact(channel: &Channel, item: &InboundItem, at: Timestamp) -> Contact {
    let contact_id = new_id("ct");
    let display =
        if item.author.display_name.trim().is_empty() { &item.author.handle } else { &item.author.display_name };
    Contact {
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
            contact_id,
            network: channel.network,
            platform_user_id: item.author.platform_user_id.clone(),
            handle: item.author.handle.clone(),
            display_name: item.author.display_name.clone(),
        }],
        created_at: at,
        updated_at: at,
    }
}

fn new_conversation(channel: &Channel, item: &InboundItem, contact_id: &str, at: Timestamp) -> Conversation {
    Conversation {
        id: new_id("conv"),
        workspace_id: channel.workspace_id.clone(),
        channel_id: channel.id.clone(),
        contact_id: contact_id.to_owned(),
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
    }
}

fn inbound_message(
    channel: &Channel,
    item: &InboundItem,
    conversation: &Conversation,
    contact_id: &str,
    at: Timestamp,
) -> Message {
    Message {
        id: new_id("msg"),
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
        author_contact_id: Some(contact_id.to_owned()),
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
    }
}
