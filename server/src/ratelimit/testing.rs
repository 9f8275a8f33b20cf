//! The decision table both stores must follow (the unit tests replay it in memory, the
//! conformance tests on PostgreSQL).

use super::{Decision, RateLimiter};

/// The table's time origin (Unix ms, a whole second).
pub const BASE_MS: i64 = 1_800_000_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub key: &'static str,
    pub per_minute: u32,
    /// Milliseconds after [`BASE_MS`].
    pub at_ms: i64,
    pub allowed: bool,
    pub remaining: u32,
    /// Seconds after `BASE_MS / 1000`.
    pub reset_s: u64,
    pub retry_after_secs: Option<u64>,
}

const fn step(
    key: &'static str,
    per_minute: u32,
    at_ms: i64,
    allowed: bool,
    remaining: u32,
    reset_s: u64,
    retry_after_secs: Option<u64>,
) -> Step {
    Step {
        key,
        per_minute,
        at_ms,
        allowed,
        remaining,
        reset_s,
        retry_after_secs,
    }
}

#[rustfmt::skip]
pub const STEPS: &[Step] = &[
    // key, per minute, at ms, allowed, remaining, reset s, retry after s
    // auth, 5/min: interval 12 s. The whole burst at once, then one per 12 s.
    step("auth", 5, 0, true, 4, 12, None),
    step("auth", 5, 0, true, 3, 24, None),
    step("auth", 5, 0, true, 2, 36, None),
    step("auth", 5, 0, true, 1, 48, None),
    step("auth", 5, 0, true, 0, 60, None),
    step("auth", 5, 0, false, 0, 60, Some(12)),
    // Another key is untouched by the first, at the same time.
    step("standard", 100, 0, true, 99, 1, None),
    step("standard", 100, 500, true, 98, 2, None),
    // One millisecond early: refused, and Retry-After is at least 1.
    step("auth", 5, 11_999, false, 0, 60, Some(1)),
    step("auth", 5, 12_000, true, 0, 72, None),
    step("auth", 5, 12_000, false, 0, 72, Some(12)),
    // 18 s later one interval has refilled, not two; remaining counts whole requests.
    step("auth", 5, 30_000, true, 0, 84, None),
    step("auth", 5, 30_000, false, 0, 84, Some(6)),
    // A limit that does not divide a minute: 7/min, interval 8 572 ms (rounded up).
    step("odd", 7, 0, true, 6, 9, None),
    step("odd", 7, 0, true, 5, 18, None),
    step("odd", 7, 0, true, 4, 26, None),
    step("odd", 7, 0, true, 3, 35, None),
    step("odd", 7, 0, true, 2, 43, None),
    step("odd", 7, 0, true, 1, 52, None),
    step("odd", 7, 0, true, 0, 61, None),
    step("odd", 7, 0, false, 0, 61, Some(9)),
    step("odd", 7, 8_572, true, 0, 69, None),
    // 1/min: no burst beyond the one request.
    step("single", 1, 0, true, 0, 60, None),
    step("single", 1, 59_999, false, 0, 60, Some(1)),
    step("single", 1, 60_000, true, 0, 120, None),
    // A key's limit changes (2/min to 4/min): its state carries over, no fresh burst.
    step("changed", 2, 0, true, 1, 30, None),
    step("changed", 2, 0, true, 0, 60, None),
    step("changed", 2, 0, false, 0, 60, Some(30)),
    step("changed", 4, 1_000, false, 0, 60, Some(14)),
    step("changed", 4, 15_000, true, 0, 75, None),
    // Above 60 000/min the interval is 1 ms; the burst is still the limit.
    step("fast", 120_000, 0, true, 119_999, 1, None),
    // 0/min is taken as 1/min.
    step("zero", 0, 0, true, 0, 60, None),
    // After a long idle spell the bucket is full again.
    step("auth", 5, 200_000, true, 4, 212, None),
];

/// Replays [`STEPS`] with keys prefixed by `prefix`, step `i` on `limiters[i % len]` (one
/// store seen by several replicas must decide as one limiter). Names the first mismatch.
pub async fn replay(limiters: &[&RateLimiter], prefix: &str) -> Result<(), String> {
    for (i, step) in STEPS.iter().enumerate() {
        let limiter = limiters[i % limiters.len()];
        let key = format!("{prefix}{}", step.key);
        let got = limiter
            .check_at(&key, step.per_minute, BASE_MS + step.at_ms)
            .await
            .map_err(|e| format!("step {i}: {e}"))?;
        let expected = Decision {
            allowed: step.allowed,
            limit: step.per_minute.max(1),
            remaining: step.remaining,
            reset_unix_secs: u64::try_from(BASE_MS / 1000).unwrap_or(0) + step.reset_s,
            retry_after_secs: step.retry_after_secs,
        };
        if got != expected {
            return Err(format!(
                "step {i} ({step:?}): expected {expected:?}, got {got:?}"
            ));
        }
    }
    Ok(())
}
