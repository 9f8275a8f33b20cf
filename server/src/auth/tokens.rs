//! Users' session tokens: HS256 JWTs with an expiry.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user.
    sub: Uuid,
    /// The user's account.
    acc: Uuid,
    iat: i64,
    exp: i64,
    /// A unique id, so that two tokens issued within one second (a refresh right after
    /// sign-in) still differ. Optional when reading: tokens issued without it stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<Uuid>,
}

pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Jwt {
    pub fn new(secret: &[u8], ttl: Duration) -> Jwt {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Jwt {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for the user, and when it expires.
    pub fn issue(&self, user_id: Uuid, account_id: Uuid) -> (String, DateTime<Utc>) {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id,
            acc: account_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Some(Uuid::new_v4()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing does not fail");
        (
            token,
            DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at),
        )
    }

    /// The (user, account) of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<(Uuid, Uuid)> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| (data.claims.sub, data.claims.acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_and_refuse() {
        let jwt = Jwt::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let (user, account) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, expires_at) = jwt.issue(user, account);
        assert!(expires_at > Utc::now());
        assert_eq!(jwt.verify(&token), Some((user, account)));
        assert_ne!(jwt.issue(user, account).0, token, "each token is unique");
        let other = Jwt::new(
            b"another secret, another server...",
            Duration::from_secs(60),
        );
        assert_eq!(other.verify(&token), None);
        assert_eq!(jwt.verify("not.a.token"), None);
        let expired = Jwt::new(b"0123456789abcdef0123456789abcdef", Duration::ZERO);
        let (token, _) = expired.issue(user, account);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(jwt.verify(&token), None);
    }
}
