//! Generated secrets: API keys, widget tokens, one-time codes, and how they are stored.
//!
//! Only hashes of secrets are stored. Keys, tokens and codes are long random strings (or
//! short-lived, rate-limited codes), so SHA-256 is enough; passwords, which people choose,
//! get argon2id (`passwords.rs`).

use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// Every API key starts with this, so that it is recognisable (in code, logs, scanners).
pub const API_KEY_PREFIX: &str = "bw_";
/// Every widget token starts with this.
pub const WIDGET_TOKEN_PREFIX: &str = "wt_";

/// A new API key: `bw_<id>_<secret>`. The public part `bw_<id>` is stored as is (to find the
/// key, and as its Basic client id); the whole key only as a hash.
#[derive(Debug)]
pub struct NewApiKey {
    pub public: String,
    pub secret: String,
}

impl NewApiKey {
    pub fn generate() -> NewApiKey {
        let mut rng = rand::rng();
        NewApiKey {
            public: format!(
                "{API_KEY_PREFIX}{}",
                Alphanumeric.sample_string(&mut rng, 12)
            ),
            secret: Alphanumeric.sample_string(&mut rng, 40),
        }
    }

    /// The key as the caller uses it.
    pub fn full(&self) -> String {
        join_key(&self.public, &self.secret)
    }
}

/// `bw_<id>` + `_` + secret: also what Basic `client_id:client_secret` stands for.
pub fn join_key(public: &str, secret: &str) -> String {
    format!("{public}_{secret}")
}

/// Splits `bw_<id>_<secret>` into its public part and secret; `None` if it is not a key.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    (valid(id) && valid(secret))
        .then(|| key.split_at(API_KEY_PREFIX.len() + id.len()))
        .map(|(public, underscore_secret)| (public, &underscore_secret[1..]))
}

pub fn new_widget_token() -> String {
    format!(
        "{WIDGET_TOKEN_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

/// An 8-digit code for email verification and password reset.
pub fn new_code() -> String {
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

/// Hex SHA-256 of a secret, with a context (the user id for codes) so equal codes of two
/// users do not share a hash.
pub fn hash_secret(context: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(context.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compares two hashes in time independent of where they differ.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let key = NewApiKey::generate();
        let full = key.full();
        assert!(full.starts_with("bw_"));
        assert_eq!(
            split_key(&full),
            Some((key.public.as_str(), key.secret.as_str()))
        );
        assert_eq!(split_key("bw_abc"), None);
        assert_eq!(split_key("sk_abc_def"), None);
        assert_eq!(split_key("bw__def"), None);
        assert_eq!(split_key("bw_a-b_def"), None);
    }

    #[test]
    fn codes_and_hashes() {
        let code = new_code();
        assert_eq!(code.len(), 8);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        assert!(hashes_equal(
            &hash_secret("u", &code),
            &hash_secret("u", &code)
        ));
        assert!(!hashes_equal(
            &hash_secret("u", &code),
            &hash_secret("v", &code)
        ));
        assert!(new_widget_token().starts_with("wt_"));
    }
}
