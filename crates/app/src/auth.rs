//! Passwords, browser sessions and API tokens.
//!
//! Passwords are hashed with argon2id. Session and API tokens are 32 random
//! bytes shown to the client once; only their SHA-256 is stored, so reading
//! the database does not yield a usable token.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use hark_domain::User;
use hark_store::{SessionRecord, Write};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::{Actor, ActorVia, App, AppError, AppResult, now};

/// How long a browser session lasts without signing in again.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 14);
/// API tokens start with this, so leaked ones are easy to search for.
pub const API_TOKEN_PREFIX: &str = "hark_";
pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Crypto(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

pub fn check_password_strength(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid("password", format!("must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

pub(crate) fn fill_random(buf: &mut [u8]) -> AppResult<()> {
    getrandom::fill(buf).map_err(|e| AppError::Crypto(format!("no randomness: {e}")))
}

/// 32 random bytes as lowercase hex.
pub fn random_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes)?;
    Ok(hex::encode(bytes))
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A session just opened: `token` goes into the cookie, never into storage.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
    pub expires_at: Timestamp,
}

impl App {
    /// Checks the password and opens a session. Wrong email and wrong password
    /// get the same answer, after the same hashing work, so accounts cannot be probed.
    pub async fn login(&self, email: &str, password: &str, user_agent: &str) -> AppResult<NewSession> {
        let found = self.store.user_login(email).await?;
        let Some(login) = found.filter(|l| l.user.active) else {
            // Spend the same effort as a real check.
            let _ = verify_password(password, dummy_hash());
            return Err(AppError::BadCredentials);
        };
        if !verify_password(password, &login.password_hash) {
            return Err(AppError::BadCredentials);
        }
        let at = now();
        let token = random_token()?;
        let csrf_token = random_token()?;
        let expires_at = at.checked_add(SESSION_LIFETIME).map_err(|e| AppError::Crypto(e.to_string()))?;
        let record = SessionRecord {
            id: sha256_hex(&token),
            user_id: login.user.id.clone(),
            csrf_token: csrf_token.clone(),
            user_agent: user_agent.chars().take(300).collect(),
            created_at: at,
            expires_at,
        };
        let actor = Actor { user: login.user.clone(), via: ActorVia::Session };
        crate::change::Change::new(&actor, at)
            .write(Write::DeleteExpiredSessions { now: at })
            .write(Write::InsertSession(record))
            .audit("session.login", "user", &login.user.id, serde_json::json!({}))
            .commit(self)
            .await?;
        Ok(NewSession { token, csrf_token, user: login.user, expires_at })
    }

    /// The actor behind a session cookie, with the session's CSRF token.
    pub async fn session_actor(&self, token: &str) -> AppResult<(Actor, SessionRecord)> {
        let session = self.store.session(&sha256_hex(token)).await?.ok_or(AppError::Unauthenticated)?;
        if session.expires_at <= now() {
            return Err(AppError::Unauthenticated);
        }
        let user = self.store.user(&session.user_id).await?.filter(|u| u.active).ok_or(AppError::Unauthenticated)?;
        Ok((Actor { user, via: ActorVia::Session }, session))
    }

    /// The actor behind an `Authorization: Bearer` API token.
    pub async fn token_actor(&self, token: &str) -> AppResult<Actor> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Err(AppError::Unauthenticated);
        }
        let record = self.store.api_token_by_hash(&sha256_hex(token)).await?.ok_or(AppError::Unauthenticated)?;
        if record.revoked_at.is_some() {
            return Err(AppError::Unauthenticated);
        }
        let user = self.store.user(&record.user_id).await?.filter(|u| u.active).ok_or(AppError::Unauthenticated)?;
        // Recording last use is best effort; a failure must not refuse the request.
        let touched = record.last_used_at.is_none_or(|t| now().duration_since(t) > SignedDuration::from_mins(1));
        if touched {
            let _ = self.store.commit(vec![Write::TouchApiToken { id: record.id.clone(), at: now() }]).await;
        }
        Ok(Actor { user, via: ActorVia::ApiToken { token_id: record.id } })
    }

    pub async fn logout(&self, actor: &Actor, token: &str) -> AppResult<()> {
        crate::change::Change::new(actor, now())
            .write(Write::DeleteSession { id: sha256_hex(token) })
            .audit("session.logout", "user", &actor.user.id, serde_json::json!({}))
            .commit(self)
            .await?;
        Ok(())
    }
}

/// A real argon2 hash of a random password, checked against when the email
/// is unknown so that both failures cost the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let password = random_token().unwrap_or_else(|_| "unguessable only if randomness works".into());
        hash_password(&password).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashes_are_stable() {
        let (a, b) = (random_token().unwrap_or_default(), random_token().unwrap_or_default());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("long enough pw").is_ok());
    }
}
