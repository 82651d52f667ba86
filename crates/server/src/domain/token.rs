//! Personal access tokens: `pat_` + 64 hex digits (256 bits from the OS random source).
//! Only the SHA-256 of a token is stored; a stolen database does not yield usable tokens.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "pat_";

/// A freshly generated token and the hash to store for it.
pub struct NewToken {
    pub secret: String,
    pub hash: Vec<u8>,
}

/// A fresh token; fails only if the OS random source does.
pub fn generate() -> Result<NewToken, getrandom::Error> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    let secret = format!("{PREFIX}{}", hex::encode(random));
    let hash = hash(&secret);
    Ok(NewToken { secret, hash })
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time equality of two stored hashes, so response timing reveals nothing about how
/// much of a guessed token was right.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Cheap shape check before touching the database.
pub fn looks_like_token(secret: &str) -> bool {
    secret.len() == PREFIX.len() + 64
        && secret.starts_with(PREFIX)
        && secret[PREFIX.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_token(&a.secret));
        assert_eq!(a.hash, hash(&a.secret));
        assert!(hashes_equal(&a.hash, &hash(&a.secret)));
        assert!(!hashes_equal(&a.hash, &b.hash));
    }

    #[test]
    fn shape_check() {
        assert!(!looks_like_token("pat_123"));
        assert!(!looks_like_token(&format!("sat_{}", "a".repeat(64))));
        assert!(!looks_like_token(&format!("pat_{}", "g".repeat(64))));
    }
}
