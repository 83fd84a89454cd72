//! Signatures the networks use, computed and checked on raw bytes. Every
//! comparison of a received signature or secret is constant-time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    BASE64.encode(hmac_sha256(key, message))
}

pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha256(key, message))
}

/// Checks `expected` (as received) against HMAC-SHA256(key, message) encoded by
/// `encode`, in constant time.
pub fn verify_hmac_sha256(key: &[u8], message: &[u8], received: &[u8], encode: fn(&[u8; 32]) -> String) -> bool {
    let computed = encode(&hmac_sha256(key, message));
    constant_time_eq(computed.as_bytes(), received)
}

/// Compares two byte strings without revealing, through timing, where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn base64_of(bytes: &[u8; 32]) -> String {
    BASE64.encode(bytes)
}

pub fn hex_of(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verification_accepts_only_the_exact_signature() {
        let sig = hmac_sha256_hex(b"k", b"body");
        assert!(verify_hmac_sha256(b"k", b"body", sig.as_bytes(), hex_of));
        assert!(!verify_hmac_sha256(b"k", b"body ", sig.as_bytes(), hex_of));
        assert!(!verify_hmac_sha256(b"k", b"body", sig.to_uppercase().as_bytes(), hex_of));
        assert!(!verify_hmac_sha256(b"k", b"body", b"", hex_of));
    }
}
