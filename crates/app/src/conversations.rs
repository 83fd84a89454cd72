//! Reading and working conversations: status, assignment, labels, replies and notes.

use hark_domain::*;
use hark_store::{ConversationFilter, Page, Write};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// The longest text Hark accepts in one message; each network's own limit
/// is checked again by its connector.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// A partial update: absent fields stay as they are; `null` clears
/// `assignee_id`, `team_id` and `snoozed_until`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationUpdate {
    pub status: Option<ConversationStatus>,
    /// Required with `status: snoozed`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "crate::serde_util::explicit_null")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::explicit_null")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<String>>,
    /// The full set of label names after the change.
    pub labels: Option<Vec<String>>,
    /// Labels to add to those the conversation has (for changing many at once).
    pub add_labels: Option<Vec<String>>,
    /// Labels to take away.
    pub remove_labels: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<CustomAttributes>,
    /// If given, the update is refused when the conversation has changed since this version.
    pub expected_version: Option<i64>,
}

/// A reply or note written by a person.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// `public` or `private` for a reply, `note` for an internal note.
    pub visibility: Visibility,
    pub text: String,
    /// WhatsApp only: send this approved template (the one kind of message
    /// WhatsApp allows outside its 24-hour window); `text` says what it says.
    #[serde(default)]
    pub template: Option<TemplateInput>,
}

/// An approved WhatsApp template and its body parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: String,
    /// Like `en_GB`.
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl App {
    pub async fn conversations(
        &self,
        actor: &Actor,
        mut filter: ConversationFilter,
        page: &Page,
    ) -> AppResult<Vec<Conversation>> {
        actor.require(Action::ReadInbox)?;
        filter.workspace_id = actor.workspace_id().to_owned();
        Ok(self.store.conversations(&filter, page).await?)
    }

    /// How many conversations match, counting no further than `cap`.
    pub async fn count_conversations(&self, actor: &Actor, mut filter: ConversationFilter, cap: u32) -> AppResult<i64> {
        actor.require(Action::ReadInbox)?;
        filter.workspace_id = actor.workspace_id().to_owned();
        Ok(self.store.count_conversations(&filter, cap).await?)
    }

    pub async fn conversation(&self, actor: &Actor, id: &str) -> AppResult<Conversation> {
        actor.require(Action::ReadInbox)?;
        self.visible_conversation(actor, id).await
    }

    pub async fn messages(&self, actor: &Actor, conversation_id: &str, page: &Page) -> AppResult<Vec<Message>> {
        actor.require(Action::ReadInbox)?;
        self.visible_conversation(actor, conversation_id).await?;
        Ok(self.store.messages(conversation_id, page).await?)
    }

    /// Loads a conversation of the actor's workspace; other workspaces' look missing.
    async fn visible_conversation(&self, actor: &Actor, id: &str) -> AppResult<Conversation> {
        self.store
            .conversation(id)
            .await?
            .filter(|c| c.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("conversation"))
    }

    /// Puts snoozed conversations whose snooze has ended back to open, as
    /// the system (audited, with its event, so every inbox sees it). A
    /// conversation changed meanwhile is simply left for the next round.
    pub async fn wake_snoozed(&self, now: Timestamp) -> AppResult<usize> {
        let due = self.store.snoozes_ended(now, 200).await?;
        let mut woken = 0;
        for conversation in due {
            let system = Actor::system(&conversation.workspace_id);
            let update = ConversationUpdate { status: Some(ConversationStatus::Open), ..Default::default() };
            match self.update_conversation(&system, &conversation.id, update).await {
                Ok(_) => woken += 1,
                Err(err) => tracing::debug!(conversation = %conversation.id, %err, "snooze not ended now"),
            }
        }
        Ok(woken)
    }

    pub async fn update_conversation(
        &self,
        actor: &Actor,
        id: &str,
        update: ConversationUpdate,
    ) -> AppResult<Conversation> {
        if update.status.is_some()
            || update.priority.is_some()
            || update.custom_attributes.is_some()
            || update.snoozed_until.is_some()
        {
            actor.require(Action::UpdateConversation)?;
        }
        if update.assignee_id.is_some() || update.team_id.is_some() {
            actor.require(Action::AssignConversation)?;
        }
        if update.labels.is_some() || update.add_labels.is_some() || update.remove_labels.is_some() {
            actor.require(Action::LabelConversation)?;
        }
        if update.labels.is_some() && (update.add_labels.is_some() || update.remove_labels.is_some()) {
            return Err(AppError::invalid("labels", "give either labels or add_labels/remove_labels, not both"));
        }
        actor.require(Action::ReadInbox)?;
        self.check_assignment_targets(actor, &update).await?;
        if let Some(attrs) = &update.custom_attributes {
            self.check_attributes(actor, AttributeScope::Conversation, attrs).await?;
        }
        for names in [&update.add_labels, &update.remove_labels].into_iter().flatten() {
            self.label_ids(actor, names).await?;
        }
        // Another agent may change the same conversation at the same moment;
        // re-read and re-apply a few times before giving up.
        for _ in 0..3 {
            let before = self.visible_conversation(actor, id).await?;
            if update.expected_version.is_some_and(|v| v != before.version) {
                return Err(AppError::Conflict(
                    "the conversation changed since you loaded it; reload and try again".into(),
                ));
            }
            let at = now();
            let mut after = before.clone();
            let mut changes = serde_json::Map::new();
            if let Some(status) = update.status {
                after.change_status(status, at, update.snoozed_until)?;
            } else if update.snoozed_until.is_some() {
                return Err(AppError::invalid("snoozed_until", "only allowed together with status: snoozed"));
            }
            if let Some(priority) = update.priority {
                after.priority = priority;
            }
            if let Some(assignee) = &update.assignee_id {
                after.assignee_id = assignee.clone();
            }
            if let Some(team) = &update.team_id {
                after.team_id = team.clone();
            }
            if let Some(attrs) = &update.custom_attributes {
                after.custom_attributes = attrs.clone();
            }
            let mut labels = update.labels.clone().unwrap_or_else(|| after.labels.clone());
            labels.extend(update.add_labels.iter().flatten().cloned());
            labels.retain(|l| !update.remove_labels.iter().flatten().any(|r| r == l));
            labels.sort();
            labels.dedup();
            after.labels = labels;
            let label_ids =
                if after.labels != before.labels { Some(self.label_ids(actor, &after.labels).await?) } else { None };
            note_change(&mut changes, "status", json!(before.status), json!(after.status));
            note_change(&mut changes, "snoozed_until", json!(before.snoozed_until), json!(after.snoozed_until));
            note_change(&mut changes, "priority", json!(before.priority), json!(after.priority));
            note_change(&mut changes, "assignee_id", json!(before.assignee_id), json!(after.assignee_id));
            note_change(&mut changes, "team_id", json!(before.team_id), json!(after.team_id));
            note_change(&mut changes, "labels", json!(before.labels), json!(after.labels));
            note_change(
                &mut changes,
                "custom_attributes",
                json!(before.custom_attributes),
                json!(after.custom_attributes),
            );
            if changes.is_empty() {
                return Ok(before);
            }
            after.version = before.version + 1;
            after.updated_at = at;
            let mut change = Change::new(actor, at);
            for (action, group) in audit_groups(changes) {
                change = change.audit(action, "conversation", id, json!({ "changes": group }));
            }
            if let Some(ids) = &label_ids {
                change.push(Write::SetConversationLabels { conversation_id: id.to_owned(), label_ids: ids.clone() });
            }
            let result = change
                .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
                .event("conversation.updated", id, &after)
                .commit(self)
                .await;
            match result {
                Ok(_) => return Ok(after),
                Err(AppError::Conflict(_)) if update.expected_version.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    async fn check_assignment_targets(&self, actor: &Actor, update: &ConversationUpdate) -> AppResult<()> {
        if let Some(Some(user_id)) = &update.assignee_id {
            let user = self.store.user(user_id).await?;
            if !user.is_some_and(|u| u.workspace_id == actor.workspace_id() && u.active) {
                return Err(AppError::invalid("assignee_id", "no active user with this id"));
            }
        }
        if let Some(Some(team_id)) = &update.team_id {
            let team = self.store.team(team_id).await?;
            if team.is_none_or(|t| t.workspace_id != actor.workspace_id()) {
                return Err(AppError::invalid("team_id", "no team with this id"));
            }
        }
        Ok(())
    }

    pub(crate) async fn label_ids(&self, actor: &Actor, names: &[String]) -> AppResult<Vec<String>> {
        let labels = self.store.labels(actor.workspace_id()).await?;
        let mut ids = vec![];
        for name in names {
            let label = labels
                .iter()
                .find(|l| &l.name == name)
                .ok_or_else(|| AppError::invalid("labels", format!("no label named {name:?}")))?;
            if !ids.contains(&label.id) {
                ids.push(label.id.clone());
            }
        }
        Ok(ids)
    }

    /// Writes a reply or an internal note. A reply is queued for publication
    /// through the outbox in the same transaction, so it is sent exactly once
    /// by whichever worker claims it; a trainee's reply waits for approval.
    pub async fn post_message(&self, actor: &Actor, conversation_id: &str, input: NewMessage) -> AppResult<Message> {
        self.post_message_with(actor, conversation_id, input, &[]).await
    }

    /// [`App::post_message`] with files uploaded beforehand (see
    /// [`App::upload`]), sent with the reply where the network allows.
    pub async fn post_message_with(
        &self,
        actor: &Actor,
        conversation_id: &str,
        input: NewMessage,
        upload_ids: &[String],
    ) -> AppResult<Message> {
        match input.visibility {
            Visibility::Note => actor.require(Action::WriteNote)?,
            Visibility::Public | Visibility::Private => actor.require(Action::Reply)?,
        }
        if let Some(t) = &input.template
            && (input.visibility != Visibility::Private || t.name.trim().is_empty() || t.language.trim().is_empty())
        {
            return Err(AppError::invalid("template", "a template needs a name and a language, in a private reply"));
        }
        let files = self.attachments_of(actor, upload_ids).await?;
        let text = input.text.trim();
        if text.is_empty() && files.is_empty() {
            return Err(AppError::invalid("text", "must not be empty"));
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AppError::invalid("text", format!("must be at most {MAX_MESSAGE_CHARS} characters")));
        }
        for _ in 0..3 {
            let before = self.visible_conversation(actor, conversation_id).await?;
            if before.kind == ConversationKind::Private && input.visibility == Visibility::Public {
                return Err(AppError::invalid("visibility", "a private conversation can only get private replies"));
            }
            let at = now();
            // The channel's publish policy, and any approval a rule asked for, decide.
            let needs_approval =
                input.visibility != Visibility::Note && self.reply_needs_approval(actor, &before).await?;
            let delivery_status = match (input.visibility, needs_approval) {
                (Visibility::Note, _) => DeliveryStatus::Internal,
                (_, true) => DeliveryStatus::AwaitingApproval,
                (_, false) => DeliveryStatus::Queued,
            };
            let mut message = Message::written_by_user(
                new_id("msg"),
                &before,
                &actor.user.id,
                input.visibility,
                text,
                delivery_status,
                at,
            );
            if let Some(template) = &input.template {
                let mut attachment = json!(template);
                attachment["type"] = json!("whatsapp_template");
                message.attachments.push(attachment);
            }
            message.attachments.extend(files.iter().cloned());
            let mut after = before.clone();
            if delivery_status == DeliveryStatus::Queued {
                after.record_outbound(at, true);
                after.last_message_preview = preview(text);
            }
            after.timeline.last_activity_at = after.timeline.last_activity_at.max(at);
            after.version = before.version + 1;
            after.updated_at = at;
            let (action, detail) = match delivery_status {
                DeliveryStatus::Internal => ("message.note", json!({})),
                DeliveryStatus::AwaitingApproval => {
                    ("message.submit_for_approval", json!({ "visibility": input.visibility }))
                }
                _ => ("message.publish", json!({ "visibility": input.visibility, "channel_id": before.channel_id })),
            };
            let mut change = Change::new(actor, at)
                .write(Write::InsertMessage(message.clone()))
                .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
                .audit(action, "message", &message.id, detail);
            if delivery_status == DeliveryStatus::Queued {
                change = change.outbox("publish", &message.id, json!({ "message_id": message.id }));
            }
            if input.visibility == Visibility::Note {
                change = self.notify_mentions(change, actor, &message).await?;
            }
            let result = change
                .event("message.created", conversation_id, &message)
                .event("conversation.updated", conversation_id, &after)
                .commit(self)
                .await;
            match result {
                Ok(_) => return Ok(message),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    /// A supervisor approves (queues for publication) or rejects a trainee's
    /// reply; see [`App::review_reply`] for editing and commenting.
    pub async fn review_message(&self, actor: &Actor, message_id: &str, approve: bool) -> AppResult<Message> {
        let comment = (!approve).then(|| "rejected without a comment".to_owned());
        self.review_reply(actor, message_id, crate::ReviewInput { approve, text: None, comment }).await
    }
}

impl App {
    /// Adds a notification for every teammate a note @mentions.
    async fn notify_mentions<'a>(
        &self,
        mut change: Change<'a>,
        actor: &Actor,
        note: &Message,
    ) -> AppResult<Change<'a>> {
        if !note.text.contains('@') {
            return Ok(change);
        }
        let users = self.store.users(actor.workspace_id()).await?;
        for user in mentioned_users(&note.text, &users).into_iter().filter(|u| u.id != actor.user.id) {
            let notification = Notification {
                id: new_id("ntf"),
                workspace_id: note.workspace_id.clone(),
                user_id: user.id.clone(),
                kind: "mention".into(),
                conversation_id: Some(note.conversation_id.clone()),
                message_id: Some(note.id.clone()),
                actor_id: Some(actor.user.id.clone()),
                text: preview(&format!("{}: {}", actor.user.name, note.text)),
                created_at: note.created_at,
                read_at: None,
            };
            change = change.write(Write::InsertNotification(notification.clone())).event(
                "notification.created",
                &user.id,
                &notification,
            );
        }
        Ok(change)
    }
}

/// The start of a message as shown in the inbox list.
pub(crate) fn preview(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(140) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

fn note_change(changes: &mut serde_json::Map<String, Value>, field: &str, before: Value, after: Value) {
    if before != after {
        changes.insert(field.to_owned(), json!({ "from": before, "to": after }));
    }
}

/// Splits changed fields into one audit entry per kind of change, so the log
/// can be searched for every assignment or every status change.
fn audit_groups(changes: serde_json::Map<String, Value>) -> Vec<(&'static str, serde_json::Map<String, Value>)> {
    let mut groups: Vec<(&'static str, serde_json::Map<String, Value>)> = vec![];
    for (field, change) in changes {
        let action = match field.as_str() {
            "assignee_id" | "team_id" => "conversation.assign",
            "labels" => "conversation.label",
            "status" | "snoozed_until" => "conversation.status",
            _ => "conversation.update",
        };
        match groups.iter_mut().find(|(a, _)| *a == action) {
            Some((_, group)) => {
                group.insert(field, change);
            }
            None => {
                let mut group = serde_json::Map::new();
                group.insert(field, change);
                groups.push((action, group));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn previews_flatten_whitespace_and_cut_on_character_boundaries() {
        assert_eq!(preview("  hello\n\n world "), "hello world");
        let long = "я".repeat(200);
        let p = preview(&long);
        assert_eq!(p.chars().count(), 141);
        assert!(p.ends_with('…'));
    }
}
