//! Connected accounts. Credentials go in sealed and never come back out
//! through the API; only the connectors open them.

use hark_domain::*;
use hark_store::Write;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelCreate {
    pub network: Network,
    pub name: String,
    pub handle: String,
    /// The account's id on the platform (page id, bot id, user id).
    pub external_id: String,
    /// Tokens and secrets, as the network's connector expects them. Stored encrypted.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Map<String, Value>>,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: Value,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub handle: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces the stored credentials.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
}

fn empty_object() -> Value {
    json!({})
}

fn required(field: &'static str, text: &str) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(AppError::invalid(field, "must have 1 to 200 characters"));
    }
    Ok(t.to_owned())
}

impl App {
    pub async fn channels(&self, actor: &Actor) -> AppResult<Vec<Channel>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.channels(actor.workspace_id()).await?)
    }

    pub async fn channel(&self, actor: &Actor, id: &str) -> AppResult<Channel> {
        actor.require(Action::ReadInbox)?;
        self.store
            .channel(id)
            .await?
            .filter(|c| c.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("channel"))
    }

    fn seal_credentials(&self, credentials: &serde_json::Map<String, Value>) -> AppResult<Vec<u8>> {
        let bytes = serde_json::to_vec(credentials).map_err(|e| AppError::Crypto(e.to_string()))?;
        self.sealer.seal(&bytes)
    }

    /// The decrypted credentials of a channel, for its connector only.
    pub async fn channel_credentials(&self, channel_id: &str) -> AppResult<Option<serde_json::Map<String, Value>>> {
        let Some(sealed) = self.store.channel_credentials(channel_id).await? else {
            return Ok(None);
        };
        let bytes = self.sealer.open(&sealed)?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| AppError::Crypto(e.to_string()))
    }

    pub async fn create_channel(&self, actor: &Actor, input: ChannelCreate) -> AppResult<Channel> {
        actor.require(Action::ManageChannels)?;
        if !input.settings.is_object() {
            return Err(AppError::invalid("settings", "must be an object"));
        }
        let at = now();
        let credentials = input.credentials.as_ref().map(|c| self.seal_credentials(c)).transpose()?;
        let channel = Channel {
            id: new_id("ch"),
            workspace_id: actor.workspace_id().to_owned(),
            network: input.network,
            name: required("name", &input.name)?,
            handle: required("handle", &input.handle)?,
            external_id: required("external_id", &input.external_id)?,
            health: ChannelHealth::Ok,
            health_detail: String::new(),
            failure_count: 0,
            health_changed_at: None,
            enabled: true,
            has_credentials: credentials.is_some(),
            settings: input.settings,
            created_at: at,
            updated_at: at,
        };
        Change::new(actor, at)
            .write(Write::InsertChannel { channel: channel.clone(), credentials })
            .audit(
                "channel.create",
                "channel",
                &channel.id,
                json!({ "network": channel.network, "handle": channel.handle, "credentials_set": channel.has_credentials }),
            )
            .event("channel.created", &channel.id, &channel)
            .commit(self)
            .await?;
        Ok(channel)
    }

    pub async fn update_channel(&self, actor: &Actor, id: &str, input: ChannelUpdate) -> AppResult<Channel> {
        actor.require(Action::ManageChannels)?;
        let before = self.channel(actor, id).await?;
        let mut after = before.clone();
        if let Some(name) = &input.name {
            after.name = required("name", name)?;
        }
        if let Some(handle) = &input.handle {
            after.handle = required("handle", handle)?;
        }
        if let Some(enabled) = input.enabled {
            after.enabled = enabled;
        }
        if let Some(settings) = &input.settings {
            if !settings.is_object() {
                return Err(AppError::invalid("settings", "must be an object"));
            }
            after.settings = settings.clone();
        }
        let credentials = input.credentials.as_ref().map(|c| self.seal_credentials(c)).transpose()?;
        if credentials.is_some() {
            after.has_credentials = true;
            // New credentials deserve a fresh chance; the connector re-checks them.
            after.health = ChannelHealth::Ok;
            after.health_detail.clear();
        }
        let at = now();
        after.updated_at = at;
        Change::new(actor, at)
            .write(Write::UpdateChannel { channel: after.clone(), credentials })
            .audit(
                "channel.update",
                "channel",
                id,
                json!({
                    "name": after.name, "handle": after.handle, "enabled": after.enabled,
                    "credentials_replaced": input.credentials.is_some(),
                }),
            )
            .event("channel.updated", id, &after)
            .commit(self)
            .await?;
        Ok(after)
    }
}

impl App {
    /// Checks that the actor may connect the channel and returns it with its
    /// opened credentials.
    pub async fn connection_target(
        &self,
        actor: &Actor,
        id: &str,
    ) -> AppResult<(Channel, serde_json::Map<String, Value>)> {
        actor.require(Action::ManageChannels)?;
        let channel = self.channel(actor, id).await?;
        let credentials = self.channel_credentials(&channel.id).await?.unwrap_or_default();
        Ok((channel, credentials))
    }

    /// Records that the network now delivers to `webhook_url`, keeping any
    /// credentials it handed out, and clears webhook trouble from the channel.
    pub async fn record_connection(
        &self,
        actor: &Actor,
        channel: &Channel,
        webhook_url: &str,
        detail: &str,
        credentials_update: serde_json::Map<String, Value>,
    ) -> AppResult<Channel> {
        let sealed = if credentials_update.is_empty() {
            None
        } else {
            let mut credentials = self.channel_credentials(&channel.id).await?.unwrap_or_default();
            credentials.extend(credentials_update);
            Some(self.seal_credentials(&credentials)?)
        };
        let at = now();
        let mut updated = channel.clone();
        updated.has_credentials = updated.has_credentials || sealed.is_some();
        updated.health = ChannelHealth::Ok;
        updated.health_detail.clear();
        updated.failure_count = 0;
        updated.updated_at = at;
        Change::new(actor, at)
            .write(Write::UpdateChannel { channel: updated.clone(), credentials: sealed })
            .write(Write::UpdateChannelHealth {
                channel_id: channel.id.clone(),
                health: ChannelHealth::Ok,
                detail: String::new(),
                failure_count: 0,
                at,
            })
            .audit("channel.connect", "channel", &channel.id, json!({ "webhook_url": webhook_url, "detail": detail }))
            .event("channel.updated", &channel.id, &updated)
            .commit(self)
            .await?;
        Ok(updated)
    }
}
