//! Rate limits per credential and class: GCRA, the generic cell rate algorithm (a token bucket
//! kept as one timestamp per key).
//!
//! Each key has a *theoretical arrival time* (TAT). A request at `now` is admitted when
//! `tat - tolerance <= now`, and then moves the TAT to `max(tat, now) + interval`, where
//! `interval = 60 s / limit` and `tolerance = (limit - 1) * interval`: a fresh key can spend its
//! whole minute's allowance at once (burst = limit), then gets one request per interval, and
//! the bucket is full again at the TAT. A key whose TAT has passed behaves exactly as an absent
//! key, so departed keys can be dropped without changing any decision.
//!
//! One rule, two stores:
//! - SQLite means one process: the TATs live in memory, in one map behind a mutex (a check is
//!   a hash lookup; no I/O).
//! - PostgreSQL may serve many replicas: the TATs live in `rate_limits`, and a check is one
//!   atomic `INSERT ... ON CONFLICT DO UPDATE ... WHERE <admitted>` (`CHECK_SQL`, in
//!   `store::queries::rate_limits`, run by `store::rate_limits`). The row lock serializes
//!   checks of one key across replicas, so a key's limit holds over all of them.
//!   Within a replica, checks of a key that arrive while its statement runs queue, and the next
//!   statement counts them together, deciding each as if they came one by one.
//!
//! Time is whole milliseconds since the Unix epoch in both stores (the table's `tat_ms`), so
//! both give the same decisions for the same calls; [`testing::STEPS`] is replayed on each.
//!
//! Why not the `governor` crate for the memory store: its quota is fixed per limiter, so
//! per-key limits need one limiter per distinct limit, and a key whose limit changes would start
//! over with a full burst in another limiter; it does not expose the TAT after an admitted
//! request, so `X-RateLimit-Reset` could only be estimated (to within 12 s at 5/min); and the
//! PostgreSQL store needs this arithmetic in SQL anyway. The same few lines in both stores are
//! what makes their decisions identical.
//!
//! Here: `gcra` (the rule and its [`Decision`]s), `memory` (the in-memory store), `postgres`
//! (the per-key queue in front of the `rate_limits` statements of `store::rate_limits`), and
//! `testing` (the decision table both stores follow).

mod gcra;
mod memory;
mod postgres;
#[doc(hidden)]
pub mod testing;

pub use gcra::{Decision, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, X_RATELIMIT_RESET};

use crate::db::{Db, DbError};
use crate::every::Every;
use gcra::Gcra;
use memory::{Memory, MemoryState};
use postgres::{Postgres, decisions, prune_postgres};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often each limiter drops the state of departed keys.
const PRUNE_EVERY_MS: i64 = 60_000;

fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
}

/// The rate limiter of a process: in memory on SQLite, shared through the database on
/// PostgreSQL. Cheap to clone (the clones share state).
#[derive(Clone)]
pub struct RateLimiter {
    store: Arc<Store>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self.store {
            Store::Memory(_) => "RateLimiter::Memory",
            Store::Postgres(_) => "RateLimiter::Postgres",
        })
    }
}

enum Store {
    Memory(Memory),
    Postgres(Postgres),
}

impl RateLimiter {
    /// In memory for SQLite (one process), in `rate_limits` for PostgreSQL (any replicas).
    pub fn new(db: Db) -> Self {
        match db {
            Db::Sqlite(..) => Self::in_memory(),
            Db::Postgres(pool) => RateLimiter {
                store: Arc::new(Store::Postgres(Postgres {
                    pool,
                    prune: Every::new(Duration::from_millis(PRUNE_EVERY_MS.unsigned_abs())),
                    queued: Arc::default(),
                })),
            },
        }
    }

    /// A limiter whose state lives in this process only.
    pub fn in_memory() -> Self {
        let now = unix_ms_now();
        RateLimiter {
            store: Arc::new(Store::Memory(Memory {
                epoch_ms: now,
                started: Instant::now(),
                state: Mutex::new(MemoryState {
                    tats: HashMap::new(),
                    next_prune_ms: now + PRUNE_EVERY_MS,
                }),
            })),
        }
    }

    /// Counts one request of `key` against `per_minute` (limits differ per credential, so the
    /// limit comes with each check; a key whose limit changes keeps its state). `key` should
    /// name the credential and the class, e.g. `chat:<api key id>`.
    pub async fn check(&self, key: &str, per_minute: u32) -> Result<Decision, DbError> {
        self.decide(key, Gcra::new(per_minute), None).await
    }

    /// [`check`](Self::check) at a given time (Unix milliseconds) instead of the clock: for
    /// tests and replays. Does not trigger pruning.
    pub async fn check_at(
        &self,
        key: &str,
        per_minute: u32,
        now_unix_ms: i64,
    ) -> Result<Decision, DbError> {
        self.decide(key, Gcra::new(per_minute), Some(now_unix_ms))
            .await
    }

    /// `n` requests of `key` checked together at a given time: on PostgreSQL one statement,
    /// as when checks queue behind their key's statement; in memory, one after another. The
    /// decisions must be the same (a conformance test compares them).
    #[doc(hidden)]
    pub async fn check_many_at(
        &self,
        key: &str,
        per_minute: u32,
        now_unix_ms: i64,
        n: usize,
    ) -> Result<Vec<Decision>, DbError> {
        let gcra = Gcra::new(per_minute);
        match &*self.store {
            Store::Memory(memory) => Ok((0..n)
                .map(|_| memory.decide(key, gcra, Some(now_unix_ms)))
                .collect()),
            Store::Postgres(postgres) => {
                decisions(&postgres.pool, key, gcra, Some(now_unix_ms), n).await
            }
        }
    }

    /// Drops the state of keys whose buckets are full again (it no longer changes any
    /// decision). Runs by itself about once a minute per limiter; returns how many went.
    pub async fn prune(&self) -> Result<usize, DbError> {
        match &*self.store {
            Store::Memory(memory) => {
                let mut state = memory.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = memory.now_ms();
                Ok(state.prune(now))
            }
            Store::Postgres(postgres) => prune_postgres(&postgres.pool).await,
        }
    }

    async fn decide(&self, key: &str, gcra: Gcra, at: Option<i64>) -> Result<Decision, DbError> {
        match &*self.store {
            Store::Memory(memory) => Ok(memory.decide(key, gcra, at)),
            Store::Postgres(postgres) => {
                if at.is_none() {
                    postgres.maybe_prune();
                }
                postgres.decide(key, gcra, at).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = testing::BASE_MS;

    #[tokio::test]
    async fn the_decision_table() {
        let limiter = RateLimiter::in_memory();
        testing::replay(&[&limiter], "").await.unwrap();
    }

    #[tokio::test]
    async fn a_fresh_key_spends_its_whole_minute_at_once() {
        let limiter = RateLimiter::in_memory();
        for expected in (0..30).rev() {
            let d = limiter.check_at("k", 30, T0).await.unwrap();
            assert!(d.allowed);
            assert_eq!(
                (d.limit, d.remaining, d.retry_after_secs),
                (30, expected, None)
            );
        }
        let refused = limiter.check_at("k", 30, T0).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // 30/min: one every 2 s; the bucket is full a minute after the burst.
        assert_eq!(refused.retry_after_secs, Some(2));
        assert_eq!(refused.reset_unix_secs, (T0 as u64) / 1000 + 60);
    }

    #[tokio::test]
    async fn refills_one_request_per_interval() {
        let limiter = RateLimiter::in_memory();
        for _ in 0..100 {
            assert!(limiter.check_at("k", 100, T0).await.unwrap().allowed);
        }
        // 100/min: 600 ms per request.
        assert!(!limiter.check_at("k", 100, T0 + 599).await.unwrap().allowed);
        let d = limiter.check_at("k", 100, T0 + 600).await.unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!limiter.check_at("k", 100, T0 + 600).await.unwrap().allowed);
        // Over 6 more seconds, exactly 10 more.
        let mut admitted = 0;
        for ms in (650..=6_600).step_by(50) {
            admitted += u32::from(limiter.check_at("k", 100, T0 + ms).await.unwrap().allowed);
        }
        assert_eq!(admitted, 10);
        // Half a minute idle refills half the bucket.
        let d = limiter.check_at("k", 100, T0 + 36_600).await.unwrap();
        assert_eq!(d.remaining, 49);
        assert_eq!(
            d.reset_unix_secs,
            (T0 as u64 + 36_600 + 30_600).div_ceil(1000)
        );
    }

    #[tokio::test]
    async fn keys_are_independent_and_limits_per_key() {
        let limiter = RateLimiter::in_memory();
        for _ in 0..5 {
            assert!(limiter.check_at("auth:a", 5, T0).await.unwrap().allowed);
        }
        assert!(!limiter.check_at("auth:a", 5, T0).await.unwrap().allowed);
        let b = limiter.check_at("auth:b", 5, T0).await.unwrap();
        assert_eq!((b.allowed, b.remaining), (true, 4));
        let c = limiter.check_at("chat:a", 30, T0).await.unwrap();
        assert_eq!((c.allowed, c.limit, c.remaining), (true, 30, 29));
        let big = limiter.check_at("chat:vip", 600, T0).await.unwrap();
        assert_eq!((big.limit, big.remaining), (600, 599));
        assert_eq!(big.reset_unix_secs, (T0 as u64 + 100).div_ceil(1000));
    }

    #[tokio::test]
    async fn the_clock_path_counts_down_and_resets_ahead() {
        let limiter = RateLimiter::in_memory();
        let before = unix_ms_now() as u64 / 1000;
        let first = limiter.check("k", 5).await.unwrap();
        let second = limiter.check("k", 5).await.unwrap();
        assert_eq!((first.remaining, second.remaining), (4, 3));
        // Full again 12 s after the first request, 24 s after the second (give or take the
        // second rounding).
        assert!((before + 12..=before + 14).contains(&first.reset_unix_secs));
        assert!((before + 24..=before + 26).contains(&second.reset_unix_secs));
    }

    #[test]
    fn concurrent_checks_admit_exactly_the_burst() {
        let limiter = RateLimiter::in_memory();
        let admitted: u32 = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let Store::Memory(memory) = &*limiter.store else {
                            unreachable!()
                        };
                        (0..1_000)
                            .map(|_| {
                                u32::from(memory.decide("k", Gcra::new(1_000), Some(T0)).allowed)
                            })
                            .sum::<u32>()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(admitted, 1_000);
    }

    #[tokio::test]
    async fn departed_keys_are_dropped() {
        let limiter = RateLimiter::in_memory();
        let Store::Memory(memory) = &*limiter.store else {
            unreachable!()
        };
        let now = memory.now_ms();
        for i in 0..1_000 {
            // Seen two minutes ago: full again by now.
            limiter
                .check_at(&format!("old:{i}"), 100, now - 120_000)
                .await
                .unwrap();
        }
        limiter.check_at("recent", 5, now).await.unwrap();
        assert_eq!(limiter.prune().await.unwrap(), 1_000);
        let len = memory.state.lock().unwrap().tats.len();
        assert_eq!(len, 1);
        // A pruned key decides as it would have: full bucket.
        assert_eq!(
            limiter.check_at("old:1", 100, now).await.unwrap().remaining,
            99
        );
        // The clock path prunes by itself when due.
        memory.state.lock().unwrap().next_prune_ms = 0;
        limiter.check_at("old:2", 100, now - 120_000).await.unwrap();
        limiter.check("other", 100).await.unwrap();
        let state = memory.state.lock().unwrap();
        assert!(!state.tats.contains_key("old:2"));
        assert!(state.tats.contains_key("recent"));
        assert!(state.next_prune_ms > now);
    }
}
