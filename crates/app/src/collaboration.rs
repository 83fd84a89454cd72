//! What the team shares while working: snippets, saved inbox views,
//! notifications, presence (collision detection), custom attribute
//! definitions, and each person's own settings (language, availability).

use hark_domain::*;
use hark_store::{Page, Write};
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// How long a "viewing" or "typing" signal lasts unless the screen repeats it.
pub const PRESENCE_TTL: SignedDuration = SignedDuration::from_secs(30);
/// A repeated signal is announced again only when this much of its life has
/// passed, so heartbeats do not flood the event stream.
const PRESENCE_REANNOUNCE: SignedDuration = SignedDuration::from_secs(15);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnippetInput {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedViewInput {
    pub name: String,
    #[serde(default)]
    pub filters: ViewFilters,
    /// Share with the whole workspace (supervisors and above).
    #[serde(default)]
    pub shared: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeInput {
    pub scope: AttributeScope,
    pub key: String,
    pub label: String,
    pub kind: AttributeKind,
    #[serde(default)]
    pub options: Vec<String>,
}

/// Business hours of the workspace (no `team_id`) or of one team.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursInput {
    pub name: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[schema(value_type = Object)]
    pub config: hark_domain::business_hours::BusinessHoursConfig,
}

/// Stored business hours, as the API shows them.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct BusinessHoursView {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

/// What a person may change about themselves.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// en, ru, zh or el.
    pub locale: Option<String>,
    pub availability: Option<Availability>,
}

impl App {
    // --- snippets ------------------------------------------------------------

    pub async fn snippets(&self, actor: &Actor) -> AppResult<Vec<Snippet>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.snippets(actor.workspace_id()).await?)
    }

    async fn visible_snippet(&self, actor: &Actor, id: &str) -> AppResult<Snippet> {
        self.store
            .snippet(id)
            .await?
            .filter(|s| s.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("snippet"))
    }

    pub async fn create_snippet(&self, actor: &Actor, input: SnippetInput) -> AppResult<Snippet> {
        actor.require(Action::ManageSnippets)?;
        let at = now();
        let snippet = Snippet {
            id: new_id("snp"),
            workspace_id: actor.workspace_id().to_owned(),
            name: clean_line("name", &input.name, 100)?,
            text: clean_text("text", &input.text, crate::conversations::MAX_MESSAGE_CHARS)?,
            created_by: Some(actor.user.id.clone()).filter(|_| actor.via != crate::ActorVia::System),
            created_at: at,
            updated_at: at,
        };
        Change::new(actor, at)
            .write(Write::InsertSnippet(snippet.clone()))
            .audit("snippet.create", "snippet", &snippet.id, json!({ "name": snippet.name }))
            .event("snippet.created", &snippet.id, &snippet)
            .commit(self)
            .await?;
        Ok(snippet)
    }

    pub async fn update_snippet(&self, actor: &Actor, id: &str, input: SnippetInput) -> AppResult<Snippet> {
        actor.require(Action::ManageSnippets)?;
        let before = self.visible_snippet(actor, id).await?;
        let at = now();
        let after = Snippet {
            name: clean_line("name", &input.name, 100)?,
            text: clean_text("text", &input.text, crate::conversations::MAX_MESSAGE_CHARS)?,
            updated_at: at,
            ..before.clone()
        };
        Change::new(actor, at)
            .write(Write::UpdateSnippet(after.clone()))
            .audit("snippet.update", "snippet", id, json!({ "before": before.name, "after": after.name }))
            .event("snippet.updated", id, &after)
            .commit(self)
            .await?;
        Ok(after)
    }

    pub async fn delete_snippet(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageSnippets)?;
        let before = self.visible_snippet(actor, id).await?;
        Change::new(actor, now())
            .write(Write::DeleteSnippet { id: id.to_owned() })
            .audit("snippet.delete", "snippet", id, json!({ "name": before.name }))
            .event("snippet.deleted", id, &json!({ "id": id }))
            .commit(self)
            .await?;
        Ok(())
    }

    /// A snippet with its variables filled from a conversation, its customer,
    /// its channel and the agent inserting it.
    pub async fn render_snippet(
        &self,
        actor: &Actor,
        snippet_id: &str,
        conversation_id: &str,
    ) -> AppResult<RenderedSnippet> {
        actor.require(Action::ReadInbox)?;
        let snippet = self.visible_snippet(actor, snippet_id).await?;
        let conversation = self.conversation(actor, conversation_id).await?;
        let contact = self.store.contact(&conversation.contact_id).await?.ok_or(AppError::NotFound("contact"))?;
        let channel = self.store.channel(&conversation.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        let ctx =
            SnippetContext { contact: &contact, conversation: &conversation, agent: &actor.user, channel: &channel };
        Ok(hark_domain::render_snippet(&snippet.text, &ctx))
    }

    // --- saved views ---------------------------------------------------------

    pub async fn saved_views(&self, actor: &Actor) -> AppResult<Vec<SavedView>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.saved_views(actor.workspace_id(), &actor.user.id).await?)
    }

    /// A view the actor can see: their own or a shared one.
    pub async fn saved_view(&self, actor: &Actor, id: &str) -> AppResult<SavedView> {
        actor.require(Action::ReadInbox)?;
        self.store
            .saved_view(id)
            .await?
            .filter(|v| v.workspace_id == actor.workspace_id())
            .filter(|v| v.user_id.as_ref().is_none_or(|u| *u == actor.user.id))
            .ok_or(AppError::NotFound("saved view"))
    }

    pub async fn create_saved_view(&self, actor: &Actor, input: SavedViewInput) -> AppResult<SavedView> {
        actor.require(Action::ReadInbox)?;
        if input.shared {
            actor.require(Action::ManageSharedViews)?;
        }
        let at = now();
        let view = SavedView {
            id: new_id("view"),
            workspace_id: actor.workspace_id().to_owned(),
            user_id: (!input.shared).then(|| actor.user.id.clone()),
            name: clean_line("name", &input.name, 80)?,
            filters: input.filters,
            created_at: at,
        };
        Change::new(actor, at)
            .write(Write::InsertSavedView(view.clone()))
            .audit("view.create", "saved_view", &view.id, json!({ "name": view.name, "shared": input.shared }))
            .commit(self)
            .await?;
        Ok(view)
    }

    pub async fn update_saved_view(&self, actor: &Actor, id: &str, input: SavedViewInput) -> AppResult<SavedView> {
        let before = self.saved_view(actor, id).await?;
        if before.user_id.is_none() || input.shared {
            actor.require(Action::ManageSharedViews)?;
        }
        let after = SavedView {
            name: clean_line("name", &input.name, 80)?,
            filters: input.filters,
            user_id: if input.shared { None } else { before.user_id.clone().or(Some(actor.user.id.clone())) },
            ..before
        };
        Change::new(actor, now())
            .write(Write::UpdateSavedView(after.clone()))
            .audit("view.update", "saved_view", id, json!({ "name": after.name, "shared": input.shared }))
            .commit(self)
            .await?;
        Ok(after)
    }

    pub async fn delete_saved_view(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let view = self.saved_view(actor, id).await?;
        if view.user_id.is_none() {
            actor.require(Action::ManageSharedViews)?;
        }
        Change::new(actor, now())
            .write(Write::DeleteSavedView { id: id.to_owned() })
            .audit("view.delete", "saved_view", id, json!({ "name": view.name }))
            .commit(self)
            .await?;
        Ok(())
    }

    // --- notifications -------------------------------------------------------

    pub async fn notifications(&self, actor: &Actor, unread_only: bool, page: &Page) -> AppResult<Vec<Notification>> {
        Ok(self.store.notifications(&actor.user.id, unread_only, page).await?)
    }

    pub async fn unread_notification_count(&self, actor: &Actor) -> AppResult<i64> {
        Ok(self.store.unread_notification_count(&actor.user.id).await?)
    }

    /// Marks the actor's notifications read: these, or all of them.
    pub async fn mark_notifications_read(&self, actor: &Actor, ids: Option<Vec<String>>) -> AppResult<()> {
        let at = now();
        Change::new(actor, at)
            .write(Write::MarkNotificationsRead { user_id: actor.user.id.clone(), ids, at })
            .event("notification.read", &actor.user.id, &json!({ "user_id": actor.user.id }))
            .commit(self)
            .await?;
        Ok(())
    }

    // --- presence ------------------------------------------------------------

    /// Who else is viewing or typing in a conversation right now.
    pub async fn presence(&self, actor: &Actor, conversation_id: &str) -> AppResult<Vec<Presence>> {
        self.conversation(actor, conversation_id).await?;
        Ok(self.store.presence(conversation_id, now()).await?)
    }

    /// The actor's screen says they are viewing or typing in a conversation
    /// (`None`: they left it). Others learn it through a `presence.changed`
    /// event when the state changes, and again every so often while it lasts.
    pub async fn set_presence(
        &self,
        actor: &Actor,
        conversation_id: &str,
        state: Option<PresenceState>,
    ) -> AppResult<Vec<Presence>> {
        self.conversation(actor, conversation_id).await?;
        let at = now();
        let before = self.store.presence(conversation_id, at).await?;
        let mine = before.iter().find(|p| p.user_id == actor.user.id);
        let expires_at = at.checked_add(PRESENCE_TTL).unwrap_or(at);
        let announce = match (mine, state) {
            (None, None) => false,
            (Some(_), None) => true,
            (None, Some(_)) => true,
            (Some(p), Some(s)) => {
                p.state != s || p.expires_at.duration_since(at) < PRESENCE_TTL.saturating_sub(PRESENCE_REANNOUNCE)
            }
        };
        let write = match state {
            Some(state) => Write::PutPresence {
                conversation_id: conversation_id.to_owned(),
                user_id: actor.user.id.clone(),
                state,
                at,
                expires_at,
            },
            None => {
                Write::DeletePresence { conversation_id: conversation_id.to_owned(), user_id: actor.user.id.clone() }
            }
        };
        let mut change = Change::new(actor, at).write(write).write(Write::DeleteExpiredPresence { now: at });
        if announce {
            change = change.event(
                "presence.changed",
                conversation_id,
                &json!({
                    "conversation_id": conversation_id, "user_id": actor.user.id, "user_name": actor.user.name,
                    "state": state, "expires_at": expires_at,
                }),
            );
        }
        change.commit(self).await?;
        Ok(self.store.presence(conversation_id, at).await?)
    }

    // --- custom attributes ---------------------------------------------------

    pub async fn attribute_definitions(&self, actor: &Actor) -> AppResult<Vec<AttributeDefinition>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.attribute_definitions(actor.workspace_id()).await?)
    }

    pub async fn create_attribute(&self, actor: &Actor, input: AttributeInput) -> AppResult<AttributeDefinition> {
        actor.require(Action::ManageWorkspace)?;
        let key = input.key.trim().to_owned();
        let key_ok = !key.is_empty()
            && key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(AppError::invalid("key", "use 1 to 40 of a-z, 0-9 and _, starting with a letter"));
        }
        let definition = AttributeDefinition {
            id: new_id("attr"),
            workspace_id: actor.workspace_id().to_owned(),
            scope: input.scope,
            key,
            label: clean_line("label", &input.label, 80)?,
            kind: input.kind,
            options: clean_options(input.kind, &input.options)?,
            created_at: now(),
        };
        Change::new(actor, definition.created_at)
            .write(Write::InsertAttributeDefinition(definition.clone()))
            .audit(
                "attribute.create",
                "attribute",
                &definition.id,
                json!({ "key": definition.key, "scope": definition.scope }),
            )
            .commit(self)
            .await?;
        Ok(definition)
    }

    pub async fn update_attribute(
        &self,
        actor: &Actor,
        id: &str,
        input: AttributeInput,
    ) -> AppResult<AttributeDefinition> {
        actor.require(Action::ManageWorkspace)?;
        let before = self.visible_attribute(actor, id).await?;
        if input.key.trim() != before.key || input.scope != before.scope {
            return Err(AppError::invalid("key", "the key and scope of an attribute cannot change"));
        }
        let after = AttributeDefinition {
            label: clean_line("label", &input.label, 80)?,
            kind: input.kind,
            options: clean_options(input.kind, &input.options)?,
            ..before
        };
        Change::new(actor, now())
            .write(Write::UpdateAttributeDefinition(after.clone()))
            .audit("attribute.update", "attribute", id, json!({ "key": after.key, "kind": after.kind }))
            .commit(self)
            .await?;
        Ok(after)
    }

    pub async fn delete_attribute(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageWorkspace)?;
        let before = self.visible_attribute(actor, id).await?;
        Change::new(actor, now())
            .write(Write::DeleteAttributeDefinition { id: id.to_owned() })
            .audit("attribute.delete", "attribute", id, json!({ "key": before.key }))
            .commit(self)
            .await?;
        Ok(())
    }

    async fn visible_attribute(&self, actor: &Actor, id: &str) -> AppResult<AttributeDefinition> {
        self.store
            .attribute_definitions(actor.workspace_id())
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(AppError::NotFound("attribute"))
    }

    /// Checks custom attribute values against the workspace's definitions;
    /// keys without a definition are kept as free-form values.
    pub(crate) async fn check_attributes(
        &self,
        actor: &Actor,
        scope: AttributeScope,
        values: &CustomAttributes,
    ) -> AppResult<()> {
        let definitions = self.store.attribute_definitions(actor.workspace_id()).await?;
        for (key, value) in values {
            if let Some(def) = definitions.iter().find(|d| d.scope == scope && d.key == *key) {
                def.check(value)?;
            }
        }
        Ok(())
    }

    // --- business hours ------------------------------------------------------

    pub async fn business_hours(&self, actor: &Actor) -> AppResult<Vec<BusinessHoursView>> {
        actor.require(Action::ReadInbox)?;
        Ok(self
            .store
            .business_hours(actor.workspace_id())
            .await?
            .into_iter()
            .map(|b| BusinessHoursView {
                id: b.id,
                name: b.name,
                team_id: b.team_id,
                config: b.config,
                updated_at: b.updated_at,
            })
            .collect())
    }

    /// Creates (`id` None) or replaces business hours; the schedule is checked
    /// (time zone, times, overlaps) before anything is stored.
    pub async fn put_business_hours(
        &self,
        actor: &Actor,
        id: Option<&str>,
        input: BusinessHoursInput,
    ) -> AppResult<BusinessHoursView> {
        actor.require(Action::ManageWorkspace)?;
        hark_domain::business_hours::BusinessHours::try_from(input.config.clone())?;
        let existing = self.store.business_hours(actor.workspace_id()).await?;
        if let Some(id) = id
            && !existing.iter().any(|b| b.id == id)
        {
            return Err(AppError::NotFound("business hours"));
        }
        if let Some(team_id) = &input.team_id {
            let team = self.store.team(team_id).await?;
            if team.is_none_or(|t| t.workspace_id != actor.workspace_id()) {
                return Err(AppError::invalid("team_id", "no team with this id"));
            }
        }
        if existing.iter().any(|b| Some(b.id.as_str()) != id && b.team_id == input.team_id) {
            return Err(AppError::Duplicate("business hours for this team".into()));
        }
        let at = now();
        let record = hark_store::BusinessHoursRecord {
            id: id.map(str::to_owned).unwrap_or_else(|| new_id("bh")),
            workspace_id: actor.workspace_id().to_owned(),
            team_id: input.team_id,
            name: clean_line("name", &input.name, 80)?,
            config: serde_json::to_value(&input.config).unwrap_or_default(),
            updated_at: at,
        };
        let view = BusinessHoursView {
            id: record.id.clone(),
            name: record.name.clone(),
            team_id: record.team_id.clone(),
            config: record.config.clone(),
            updated_at: at,
        };
        Change::new(actor, at)
            .write(Write::PutBusinessHours(record))
            .audit(
                if id.is_some() { "business_hours.update" } else { "business_hours.create" },
                "business_hours",
                &view.id,
                json!({ "name": view.name, "team_id": view.team_id, "config": view.config }),
            )
            .event("business_hours.updated", &view.id, &view)
            .commit(self)
            .await?;
        Ok(view)
    }

    pub async fn delete_business_hours(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageWorkspace)?;
        let existing = self.store.business_hours(actor.workspace_id()).await?;
        let before = existing.iter().find(|b| b.id == id).ok_or(AppError::NotFound("business hours"))?;
        Change::new(actor, now())
            .write(Write::DeleteBusinessHours { id: id.to_owned() })
            .audit("business_hours.delete", "business_hours", id, json!({ "name": before.name }))
            .commit(self)
            .await?;
        Ok(())
    }

    // --- one's own settings --------------------------------------------------

    /// Changes the actor's own interface language or availability.
    pub async fn update_profile(&self, actor: &Actor, input: ProfileUpdate) -> AppResult<User> {
        let mut user = self.store.user(&actor.user.id).await?.ok_or(AppError::NotFound("user"))?;
        let at = now();
        let mut change = Change::new(actor, at);
        let mut changes = serde_json::Map::new();
        if let Some(locale) = input.locale.filter(|l| *l != user.locale) {
            if !crate::directory::LOCALES.contains(&locale.as_str()) {
                return Err(AppError::invalid(
                    "locale",
                    format!("must be one of {}", crate::directory::LOCALES.join(", ")),
                ));
            }
            changes.insert("locale".into(), json!({ "before": user.locale, "after": locale }));
            user.locale = locale;
            user.updated_at = at;
            change.push(Write::UpdateUser(user.clone()));
        }
        if let Some(availability) = input.availability.filter(|a| *a != user.availability) {
            changes.insert("availability".into(), json!({ "before": user.availability, "after": availability }));
            user.availability = availability;
            change.push(Write::SetUserAvailability { user_id: user.id.clone(), availability, at });
        }
        if changes.is_empty() {
            return Ok(user);
        }
        change
            .audit("user.profile", "user", &user.id, json!({ "changes": changes }))
            .event("user.updated", &user.id, &user)
            .commit(self)
            .await?;
        Ok(user)
    }
}

fn clean_line(field: &'static str, text: &str, max: usize) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must be one line without control characters"));
    }
    Ok(t.to_owned())
}

fn clean_text(field: &'static str, text: &str, max: usize) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    Ok(t.to_owned())
}

fn clean_options(kind: AttributeKind, options: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = vec![];
    for option in options {
        let o = clean_line("options", option, 80)?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    match kind {
        AttributeKind::List if out.is_empty() => Err(AppError::invalid("options", "a list needs at least one option")),
        AttributeKind::List => Ok(out),
        _ if !out.is_empty() => Err(AppError::invalid("options", "only a list attribute has options")),
        _ => Ok(out),
    }
}
