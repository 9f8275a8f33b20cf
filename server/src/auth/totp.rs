//! TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30-second steps), with the
//! `totp-rs` crate. A code is accepted in the current step or one step either side, and never
//! twice: the caller stores the step of the last accepted code and passes it back.

use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

pub const ISSUER: &str = "Botwire";
const STEP_SECONDS: u64 = 30;

/// A new random secret (160 bits), base32 as authenticator apps take it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.into()),
        account.into(),
    )
    .ok()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(secret: &str, account: &str) -> Option<String> {
    totp(secret, account).map(|t| t.get_url())
}

/// The time step `code` belongs to, if it is valid now and newer than `last_step`.
pub fn verify(secret: &str, code: &str, unix_time: u64, last_step: Option<i64>) -> Option<i64> {
    let totp = totp(secret, "")?;
    let now_step = unix_time / STEP_SECONDS;
    [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .filter(|step| i64::try_from(*step).is_ok_and(|s| last_step.is_none_or(|last| s > last)))
        .find(|step| constant_time_equal(&totp.generate(step * STEP_SECONDS), code))
        .and_then(|step| i64::try_from(step).ok())
}

fn constant_time_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The code for a time (tests, and clients of the tests, compute codes with it).
pub fn code_at(secret: &str, unix_time: u64) -> Option<String> {
    totp(secret, "").map(|t| t.generate(unix_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_verify_once_and_only_in_their_window() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = verify(&secret, &code, now, None).expect("a fresh code");
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "reused");
        assert_eq!(verify(&secret, &code, now + 120, None), None, "too old");
        let next = code_at(&secret, now + 30).unwrap();
        assert!(verify(&secret, &next, now + 30, Some(step)).is_some());
        assert!(
            otpauth_uri(&secret, "maya@example.com")
                .unwrap()
                .starts_with("otpauth://totp/")
        );
    }
}
