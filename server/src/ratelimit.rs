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
//!   atomic `INSERT ... ON CONFLICT DO UPDATE ... WHERE <admitted>` (`CHECK_SQL`). The row
//!   lock serializes checks of one key across replicas, so a key's limit holds over all of them.
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

use crate::db::{Db, DbError};
use crate::every::Every;
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Untyped};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

const MINUTE_MS: u64 = 60_000;
/// How often each limiter drops the state of departed keys.
const PRUNE_EVERY_MS: i64 = 60_000;
/// PostgreSQL keeps a row this long past its TAT, so that a prune never races a check whose
/// clock was read a moment before the prune's (the row would then still matter, briefly).
const PG_PRUNE_GRACE_MS: i64 = 60_000;

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
struct Gcra {
    limit: u32,
    interval: i64,
    tolerance: i64,
}

impl Gcra {
    fn new(per_minute: u32) -> Self {
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

    /// The admission rule ([`CHECK_SQL`] states the same): the new TAT if admitted. An absent
    /// key is one whose TAT is `now`.
    fn admit(&self, tat: i64, now: i64) -> Option<i64> {
        (tat - self.tolerance <= now).then(|| tat.max(now) + self.interval)
    }

    /// The decision at `now`, given the outcome and the key's TAT after it.
    fn decision(&self, now: i64, allowed: bool, tat: i64) -> Decision {
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
    fn decisions(&self, now: i64, cost: i64, admitted: i64, tat: Option<i64>) -> Vec<Decision> {
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

struct Memory {
    /// Unix milliseconds at `started`: time comes from the monotonic clock, so a step of the
    /// wall clock cannot lock keys out (backwards) or refill them (forwards).
    epoch_ms: i64,
    started: Instant,
    state: Mutex<MemoryState>,
}

struct MemoryState {
    tats: HashMap<Box<str>, i64>,
    next_prune_ms: i64,
}

impl Memory {
    fn now_ms(&self) -> i64 {
        self.epoch_ms + i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX / 4)
    }

    fn decide(&self, key: &str, gcra: Gcra, at: Option<i64>) -> Decision {
        // A poisoned lock still holds a consistent map (every update is one store).
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = match at {
            Some(at) => at,
            None => {
                // Read under the lock, so time never goes backwards between checks and a
                // prune: a pruned key's TAT is always behind every later check.
                let now = self.now_ms();
                if now >= state.next_prune_ms {
                    state.prune(now);
                }
                now
            }
        };
        match state.tats.get_mut(key) {
            Some(tat) => match gcra.admit(*tat, now) {
                Some(next) => {
                    *tat = next;
                    gcra.decision(now, true, next)
                }
                None => gcra.decision(now, false, *tat),
            },
            None => {
                // Always admitted: an absent key's TAT is `now`.
                let next = gcra.admit(now, now).unwrap_or(now + gcra.interval);
                state.tats.insert(key.into(), next);
                gcra.decision(now, true, next)
            }
        }
    }
}

impl MemoryState {
    /// Drops keys whose TAT has passed; returns how many.
    fn prune(&mut self, now: i64) -> usize {
        let before = self.tats.len();
        self.tats.retain(|_, tat| *tat > now);
        // Give back the memory of a burst of departed keys, with room to grow again.
        if self.tats.capacity() > 4 * self.tats.len().max(256) {
            self.tats.shrink_to(2 * self.tats.len());
        }
        self.next_prune_ms = now + PRUNE_EVERY_MS;
        before - self.tats.len()
    }
}

struct Postgres {
    pool: Pool<AsyncPgConnection>,
    prune: Every,
    /// Clock-time checks waiting for their key's statement, by key (see [`Postgres::decide`]).
    queued: Arc<Mutex<HashMap<Box<str>, Queue>>>,
}

/// How a check joined its key's queue.
enum Joined {
    /// It started the queue, and must start the task that runs it.
    NewQueue,
    Queue,
    /// Another limit's queue holds the key: the check runs alone.
    None,
}

/// Checks of one key and limit that one statement will count together, in arrival order.
struct Queue {
    gcra: Gcra,
    waiters: Vec<oneshot::Sender<Decision>>,
}

/// One check of `$5` requests of a key, atomically: `$1` key, `$2` interval and `$3`
/// tolerance (ms), `$4` the time, or NULL for the database's clock. Each parameter appears
/// once, in order, as [`CheckQuery`] binds them.
///
/// The database's clock, not the replica's: one clock for every replica, so clock skew between
/// replicas can neither hand out extra requests nor make one replica see another's buckets as
/// set in the future. (`X-RateLimit-Reset` is then in the database's time, which NTP keeps as
/// close to the client's as the replica's would be.)
///
/// The requests are decided as if checked one after another at the same instant: with
/// `m = max(tat, now)`, the `k`-th is admitted while `m + (k - 1) * interval - tolerance <=
/// now` (the first by the plain rule, `tat - tolerance <= now`, which is the same condition),
/// so `k = min(cost, (now + tolerance - m) / interval + 1)` are, and the TAT moves to
/// `m + k * interval`. `admitted` keeps `k`, since RETURNING sees only the new row. The insert
/// admits a fresh key (`m = now`). On conflict the row is locked and the rule is applied to
/// its latest version; a check that admits none writes nothing. That case reads the TAT for
/// its headers from the statement's snapshot, which a concurrent check may have moved on
/// since: headers only, and [`Gcra::decisions`] bounds them.
const CHECK_SQL: &str = "\
WITH p AS (
    SELECT $1::TEXT AS key, $2::BIGINT AS interval_ms, $3::BIGINT AS tolerance_ms,
        COALESCE($4::BIGINT, FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT) AS now_ms,
        $5::BIGINT AS cost
), admitted AS (
    INSERT INTO rate_limits AS r (key, tat_ms, admitted)
    SELECT key, now_ms + interval_ms * LEAST(cost, tolerance_ms / interval_ms + 1),
        LEAST(cost, tolerance_ms / interval_ms + 1)
    FROM p
    ON CONFLICT (key) DO UPDATE
        SET tat_ms = (SELECT GREATEST(r.tat_ms, now_ms) + interval_ms
                * LEAST(cost, (now_ms + tolerance_ms - GREATEST(r.tat_ms, now_ms)) / interval_ms + 1)
                FROM p),
            admitted = (SELECT
                LEAST(cost, (now_ms + tolerance_ms - GREATEST(r.tat_ms, now_ms)) / interval_ms + 1)
                FROM p)
        WHERE r.tat_ms - (SELECT tolerance_ms FROM p) <= (SELECT now_ms FROM p)
    RETURNING r.tat_ms, r.admitted
)
SELECT p.now_ms,
    COALESCE((SELECT admitted FROM admitted), 0) AS admitted,
    COALESCE((SELECT tat_ms FROM admitted),
        (SELECT tat_ms FROM rate_limits WHERE key = p.key)) AS tat_ms
FROM p";

/// Rows whose TAT passed more than `$1` ms ago (by the database's clock).
const PRUNE_SQL: &str = "DELETE FROM rate_limits \
     WHERE tat_ms < FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - $1";

/// [`CHECK_SQL`] with its binds, as a query with a static id: each connection then prepares
/// it once and a check is one round trip. (`sql_query` is never cached: it would parse, plan
/// and prepare on every check, an extra round trip each time.)
struct CheckQuery<'a> {
    key: &'a str,
    gcra: Gcra,
    at: Option<i64>,
    cost: i64,
}

impl QueryId for CheckQuery<'_> {
    type QueryId = CheckQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CheckQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for CheckQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Each `$n` of the SQL becomes the next bind, in order (the placeholders diesel
        // writes are the same `$n`).
        let mut parts = CHECK_SQL.split('$');
        out.push_sql(parts.next().unwrap_or_default());
        for (bind, part) in parts.enumerate() {
            match bind {
                0 => out.push_bind_param::<Text, str>(self.key)?,
                1 => out.push_bind_param::<BigInt, i64>(&self.gcra.interval)?,
                2 => out.push_bind_param::<BigInt, i64>(&self.gcra.tolerance)?,
                3 => out.push_bind_param::<Nullable<BigInt>, Option<i64>>(&self.at)?,
                _ => out.push_bind_param::<BigInt, i64>(&self.cost)?,
            }
            let digits = part.chars().take_while(char::is_ascii_digit).count();
            out.push_sql(&part[digits..]);
        }
        Ok(())
    }
}

#[derive(diesel::QueryableByName)]
struct CheckRow {
    #[diesel(sql_type = BigInt)]
    now_ms: i64,
    #[diesel(sql_type = BigInt)]
    admitted: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    tat_ms: Option<i64>,
}

impl Postgres {
    /// A clock-time check joins the queue of its key: while a statement for the key runs,
    /// the checks that arrive wait, and the next statement counts them all at once, in their
    /// order. Under load one hot key (a backend's API key) was one statement per request, each
    /// waiting on the last for the row's lock; now it is one per round trip, and the
    /// decisions are the ones the checks would get one after another. A check at a given time
    /// (`at`, tests and replays) runs alone.
    async fn decide(&self, key: &str, gcra: Gcra, at: Option<i64>) -> Result<Decision, DbError> {
        if at.is_some() {
            return Ok(decisions(&self.pool, key, gcra, at, 1).await?[0]);
        }
        let (sender, receiver) = oneshot::channel();
        let joined = {
            let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
            match queued.get_mut(key) {
                Some(queue) if queue.gcra.limit == gcra.limit => {
                    queue.waiters.push(sender);
                    Joined::Queue
                }
                // The key's limit just changed: the old limit's queue drains by itself.
                Some(_) => Joined::None,
                None => {
                    queued.insert(
                        key.into(),
                        Queue {
                            gcra,
                            waiters: vec![sender],
                        },
                    );
                    Joined::NewQueue
                }
            }
        };
        match joined {
            Joined::None => return Ok(decisions(&self.pool, key, gcra, None, 1).await?[0]),
            // In a task of its own, so that no request's cancellation can strand the queue.
            Joined::NewQueue => {
                tokio::spawn(run_queue(
                    self.pool.clone(),
                    self.queued.clone(),
                    key.to_string(),
                ));
            }
            Joined::Queue => {}
        }
        match receiver.await {
            Ok(decision) => Ok(decision),
            // The shared statement failed: alone, for this check's own outcome or error.
            Err(_) => Ok(decisions(&self.pool, key, gcra, None, 1).await?[0]),
        }
    }

    /// Starts a prune in the background when one is due (once a minute per limiter).
    fn maybe_prune(&self) {
        if !self.prune.due() {
            return;
        }
        // Off the request's path; a failed prune is retried at the next minute.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            runtime.spawn(async move {
                let _ = prune_postgres(&pool).await;
            });
        }
    }
}

/// Runs statements for `key`'s queue until it is empty, then removes it.
async fn run_queue(
    pool: Pool<AsyncPgConnection>,
    queued: Arc<Mutex<HashMap<Box<str>, Queue>>>,
    key: String,
) {
    // Should this task panic, removes its queue: the waiters then check alone, and the next
    // check of the key starts a new queue. (Not on a normal end: the queue is removed under
    // the lock then, and the key may have a new queue with a task of its own by the time this
    // drops.)
    struct Remove<'a>(&'a Mutex<HashMap<Box<str>, Queue>>, &'a str);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let mut queued = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                queued.remove(self.1);
            }
        }
    }
    let _remove = Remove(&queued, &key);
    loop {
        let (gcra, waiters) = {
            let mut queued = queued.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(queue) = queued.get_mut(key.as_str()) else {
                return;
            };
            if queue.waiters.is_empty() {
                // Removed under this lock: a check arriving now starts a new queue.
                queued.remove(key.as_str());
                return;
            }
            (queue.gcra, std::mem::take(&mut queue.waiters))
        };
        // On an error the waiters are dropped, and each checks alone.
        if let Ok(decisions) = decisions(&pool, &key, gcra, None, waiters.len()).await {
            for (waiter, decision) in waiters.into_iter().zip(decisions) {
                let _ = waiter.send(decision);
            }
        }
    }
}

/// One statement counting `cost` requests of `key`; their decisions, in order.
async fn decisions(
    pool: &Pool<AsyncPgConnection>,
    key: &str,
    gcra: Gcra,
    at: Option<i64>,
    cost: usize,
) -> Result<Vec<Decision>, DbError> {
    // Scoped: its `load` would shadow the atomics' in this module.
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
    let cost = i64::try_from(cost.max(1)).unwrap_or(i64::MAX);
    let row: CheckRow = CheckQuery {
        key,
        gcra,
        at,
        cost,
    }
    .get_result(&mut conn)
    .await?;
    Ok(gcra.decisions(row.now_ms, cost, row.admitted, row.tat_ms))
}

async fn prune_postgres(pool: &Pool<AsyncPgConnection>) -> Result<usize, DbError> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
    Ok(diesel::sql_query(PRUNE_SQL)
        .bind::<BigInt, _>(PG_PRUNE_GRACE_MS)
        .execute(&mut conn)
        .await?)
}

/// The decision table both stores must follow (the unit tests replay it in memory, the
/// conformance tests on PostgreSQL).
#[doc(hidden)]
pub mod testing {
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
    fn the_postgres_query_is_check_sql_with_its_five_binds() {
        let query = CheckQuery {
            key: "chat:k",
            gcra: Gcra::new(30),
            at: None,
            cost: 3,
        };
        let rendered = diesel::debug_query::<Pg, _>(&query).to_string();
        assert_eq!(
            rendered,
            format!("{CHECK_SQL} -- binds: [\"chat:k\", 2000, 58000, None, 3]")
        );
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
