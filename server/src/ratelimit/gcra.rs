//! GCRA, the rule both stores apply: a limit's interval and tolerance, the admission of a
//! request given its key's TAT, and the [`Decision`]s (with their response headers) it gives.

use http::{HeaderMap, HeaderName, HeaderValue};

pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

const MINUTE_MS: u64 = 60_000;

/// One check's outcome, with everything the response headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests per minute for this key (the burst too).
    pub limit: u32,
    /// Requests the key could still make right now.
    pub remaining: u32,
    /// Unix time (seconds, rounded up) at which the bucket is full again.
    pub reset_unix_secs: u64,
    /// When refused: seconds until a request can be admitted (rounded up, at least 1).
    pub retry_after_secs: Option<u64>,
}

impl Decision {
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, and `Retry-After`
    /// when refused: for any response of a rate-limited operation, errors included.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(self.limit));
        headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(self.remaining));
        headers.insert(X_RATELIMIT_RESET, HeaderValue::from(self.reset_unix_secs));
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers
    }
}

/// GCRA parameters for one limit, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gcra {
    pub(super) limit: u32,
    pub(super) interval: i64,
    pub(super) tolerance: i64,
}

impl Gcra {
    pub(super) fn new(per_minute: u32) -> Self {
        // 0 would divide by zero; configuration only produces positive limits.
        let limit = per_minute.max(1);
        // Rounded up to whole milliseconds (the stored unit): never more than the advertised
        // limit, and exact for every limit that divides 60 000 (all the defaults). Above
        // 60 000/min the sustained rate stays 1/ms; the burst is still `limit`.
        let interval = i64::try_from(MINUTE_MS.div_ceil(u64::from(limit))).unwrap_or(1);
        Gcra {
            limit,
            interval,
            tolerance: interval * (i64::from(limit) - 1),
        }
    }

    /// The admission rule (`store::queries::rate_limits::CHECK_SQL` states the same): the new
    /// TAT if admitted. An absent key is one whose TAT is `now`.
    pub(super) fn admit(&self, tat: i64, now: i64) -> Option<i64> {
        (tat - self.tolerance <= now).then(|| tat.max(now) + self.interval)
    }

    /// The decision at `now`, given the outcome and the key's TAT after it.
    pub(super) fn decision(&self, now: i64, allowed: bool, tat: i64) -> Decision {
        let limit = i64::from(self.limit);
        let remaining = if allowed {
            // Further requests admitted at `now`: each needs `tat + k * interval - tolerance
            // <= now`.
            ((now + limit * self.interval - tat) / self.interval).clamp(0, limit)
        } else {
            0
        };
        Decision {
            allowed,
            limit: self.limit,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset_unix_secs: ceil_secs(tat),
            retry_after_secs: (!allowed).then(|| ceil_secs(tat - self.tolerance - now).max(1)),
        }
    }

    /// The decisions of `cost` requests checked together at `now`, given how many were
    /// admitted and the key's TAT after them (`None` if the key was read as absent): the
    /// first `admitted` are admitted, each with the TAT its own admission set; the rest are
    /// refused.
    pub(super) fn decisions(
        &self,
        now: i64,
        cost: i64,
        admitted: i64,
        tat: Option<i64>,
    ) -> Vec<Decision> {
        let admitted = admitted.clamp(0, cost);
        let tat = if admitted > 0 {
            tat.unwrap_or(now + self.interval * admitted)
        } else {
            // None admitted means the latest TAT is past `now + tolerance`; the snapshot's may
            // lag (or miss a row inserted concurrently: then assume the fullest bucket).
            tat.unwrap_or(now + self.interval * i64::from(self.limit))
                .max(now + self.tolerance + 1)
        };
        let first = tat - self.interval * admitted;
        (1..=cost)
            .map(|n| {
                if n <= admitted {
                    self.decision(now, true, first + self.interval * n)
                } else {
                    self.decision(now, false, tat)
                }
            })
            .collect()
    }
}

fn ceil_secs(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_admitted_and_refused_decisions() {
        let admitted = Decision {
            allowed: true,
            limit: 100,
            remaining: 42,
            reset_unix_secs: 1_800_000_012,
            retry_after_secs: None,
        };
        let headers = admitted.headers();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"], "42");
        assert_eq!(headers["x-ratelimit-reset"], "1800000012");
        let refused = Decision {
            allowed: false,
            remaining: 0,
            retry_after_secs: Some(7),
            ..admitted
        };
        let headers = refused.headers();
        assert_eq!(headers.len(), 4);
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["retry-after"], "7");
    }

    #[test]
    fn intervals_round_up_to_whole_milliseconds() {
        let g = Gcra::new(5);
        assert_eq!((g.interval, g.tolerance), (12_000, 48_000));
        assert_eq!(Gcra::new(7).interval, 8_572);
        assert_eq!(Gcra::new(60_000).interval, 1);
        assert_eq!(Gcra::new(u32::MAX).interval, 1);
        assert_eq!(Gcra::new(0).limit, 1);
    }
}
