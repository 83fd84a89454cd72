//! Platform credentials (access tokens, app secrets) are sealed with
//! XChaCha20-Poly1305 before they reach the database. The 32-byte key lives
//! in the data directory (`secret.key`, created on first run) or comes from
//! configuration; without it the stored credentials are unreadable.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::auth::fill_random;
use crate::{AppError, AppResult};

/// Format byte at the start of every sealed value, so the scheme can change later.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
pub const KEY_LEN: usize = 32;

pub struct CredentialSealer {
    cipher: XChaCha20Poly1305,
}

impl CredentialSealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        CredentialSealer { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// A fresh random key.
    pub fn generate_key() -> AppResult<[u8; KEY_LEN]> {
        let mut key = [0u8; KEY_LEN];
        fill_random(&mut key)?;
        Ok(key)
    }

    /// Seals JSON credentials: format byte, random nonce, then ciphertext with tag.
    pub fn seal(&self, plaintext: &[u8]) -> AppResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext)
            .map_err(|_| AppError::Crypto("could not seal credentials".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> AppResult<Vec<u8>> {
        let refuse = || AppError::Crypto("stored credentials cannot be opened with this key".into());
        let (&format, rest) = sealed.split_first().ok_or_else(refuse)?;
        if format != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(refuse());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| refuse())?;
        self.cipher.decrypt(&XNonce::from(nonce), ciphertext).map_err(|_| refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_credentials_open_only_with_the_same_key_and_unaltered() {
        let sealer = CredentialSealer::new(&[7u8; KEY_LEN]);
        let sealed = sealer.seal(br#"{"access_token":"EAAB..."}"#).unwrap_or_default();
        assert!(!sealed.windows(6).any(|w| w == b"EAAB.."), "plaintext must not appear");
        assert_eq!(sealer.open(&sealed).ok().as_deref(), Some(&br#"{"access_token":"EAAB..."}"#[..]));
        let other = CredentialSealer::new(&[8u8; KEY_LEN]);
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(sealer.open(&tampered).is_err());
        assert!(sealer.open(&[]).is_err());
        assert_ne!(sealer.seal(b"x").ok(), sealer.seal(b"x").ok(), "nonces differ");
    }
}
