//! API tokens: created by their owner (or on the command line), shown once, revocable.

use hark_domain::*;
use hark_store::{ApiTokenRecord, Write};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{API_TOKEN_PREFIX, random_token, sha256_hex};
use crate::change::Change;
use crate::{Actor, ActorVia, App, AppError, AppResult, new_id, now};

/// A token just created. `token` is shown this once and never stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// A token as listed: never the secret itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
}

impl App {
    pub async fn create_token(&self, actor: &Actor, name: &str) -> AppResult<CreatedToken> {
        actor.require(Action::ManageOwnTokens)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "must have 1 to 100 characters"));
        }
        let token = format!("{API_TOKEN_PREFIX}{}", random_token()?);
        let at = now();
        let record = ApiTokenRecord {
            id: new_id("tok"),
            user_id: actor.user.id.clone(),
            name: name.to_owned(),
            token_hash: sha256_hex(&token),
            created_at: at,
            last_used_at: None,
            revoked_at: None,
        };
        Change::new(actor, at)
            .write(Write::InsertApiToken(record.clone()))
            .audit("token.create", "api_token", &record.id, json!({ "name": name, "user_id": actor.user.id }))
            .commit(self)
            .await?;
        Ok(CreatedToken { id: record.id, name: record.name, token })
    }

    /// Creates a token for the user with `email` (command line: `hark token create`).
    pub async fn create_token_for_email(&self, email: &str, name: &str) -> AppResult<CreatedToken> {
        let login = self.store.user_login(email).await?.ok_or(AppError::NotFound("user"))?;
        if !login.user.active {
            return Err(AppError::invalid("email", "this user is deactivated"));
        }
        let actor = Actor { user: login.user, via: ActorVia::System };
        self.create_token(&actor, name).await
    }

    pub async fn tokens(&self, actor: &Actor) -> AppResult<Vec<TokenInfo>> {
        actor.require(Action::ManageOwnTokens)?;
        Ok(self
            .store
            .api_tokens(&actor.user.id)
            .await?
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                name: t.name,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageOwnTokens)?;
        Change::new(actor, now())
            .write(Write::RevokeApiToken { id: id.to_owned(), user_id: actor.user.id.clone(), at: now() })
            .audit("token.revoke", "api_token", id, json!({}))
            .commit(self)
            .await?;
        Ok(())
    }
}
