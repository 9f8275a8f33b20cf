//! Sweeps the PostgreSQL rate limiter that replicas share: one state, the in-memory decisions.
//!
//! Rate limiting on PostgreSQL, where several replicas share one database: each "replica" here
//! is a `RateLimiter` over a pool of its own, on one fresh database. (SQLite is one process; its
//! in-memory limiter is unit-tested in `server/src/ratelimit/` against the same table.)

use botwire_conformance::postgres;
use botwire_server::config::DatabaseUrl;
use botwire_server::db::Db;
use botwire_server::ratelimit::{RateLimiter, testing};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `n` replicas on one fresh, migrated database.
async fn replicas(n: usize) -> Vec<RateLimiter> {
    let (_, url) = postgres::cluster()
        .expect("the PostgreSQL cluster")
        .create_database()
        .expect("a fresh database");
    let mut limiters = Vec::new();
    for _ in 0..n {
        let db = Db::connect(&DatabaseUrl::Postgres(url.clone()), 8)
            .await
            .expect("connecting");
        // Every replica migrates at start; all but the first find nothing to do.
        db.migrate().await.expect("migrating");
        limiters.push(RateLimiter::new(db));
    }
    limiters
}

/// The unit tests' decision table, alternating between two replicas: one shared state, the
/// same decisions as the in-memory limiter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decision_table_across_replicas() {
    let limiters = replicas(2).await;
    testing::replay(&[&limiters[0], &limiters[1]], "table:")
        .await
        .unwrap();
}

/// Two replicas hammer one key concurrently: together they admit what one limiter allows
/// over that time (the burst plus the refill), not twice the burst. They hammer for 2 s, and
/// on a slow machine on until the bucket has been empty a while, so that the count is judged
/// against a limit actually reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_hold_one_limit() {
    const PER_MINUTE: u32 = 1_200; // 50 ms per request after the burst
    const INTERVAL_MS: u128 = 50;
    const TASKS_PER_REPLICA: usize = 8;
    const FOR: Duration = Duration::from_secs(2);
    const AT_MOST: Duration = Duration::from_secs(30);
    const REFUSALS: u64 = 100;

    let limiters = replicas(2).await;
    let refusals = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (replica, limiter) in limiters.iter().enumerate() {
        for _ in 0..TASKS_PER_REPLICA {
            let limiter = limiter.clone();
            let refusals = refusals.clone();
            tasks.push(tokio::spawn(async move {
                let (mut admitted, mut refused) = (0u64, 0u64);
                while started.elapsed() < FOR
                    || (refusals.load(Ordering::Relaxed) < REFUSALS && started.elapsed() < AT_MOST)
                {
                    let d = limiter.check("hammer", PER_MINUTE).await.unwrap();
                    assert_eq!(d.limit, PER_MINUTE);
                    if d.allowed {
                        assert_eq!(d.retry_after_secs, None);
                        admitted += 1;
                    } else {
                        assert_eq!(d.remaining, 0);
                        assert!(d.retry_after_secs.is_some_and(|s| s >= 1), "{d:?}");
                        refused += 1;
                        refusals.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (replica, admitted, refused)
            }));
        }
    }
    let (mut admitted, mut refused) = ([0u64; 2], 0u64);
    for task in tasks {
        let (replica, a, r) = task.await.unwrap();
        admitted[replica] += a;
        refused += r;
    }
    let elapsed = started.elapsed();
    let total = admitted[0] + admitted[1];
    let allowed = u64::from(PER_MINUTE) + u64::try_from(elapsed.as_millis() / INTERVAL_MS).unwrap();
    eprintln!(
        "two replicas, {elapsed:?}: {} checks ({:.0}/s), admitted {total} ({admitted:?}), one limiter allows {allowed}",
        total + refused,
        (total + refused) as f64 / elapsed.as_secs_f64(),
    );
    assert!(refused > 0, "the limit was never reached");
    assert!(
        admitted.iter().all(|&a| a > 0),
        "both replicas admit: {admitted:?}"
    );
    // GCRA never admits more than the burst plus one per interval (a millisecond of rounding
    // aside), and under load it admits all of that.
    assert!(
        total <= allowed + 1,
        "admitted {total}, more than {allowed}"
    );
    assert!(
        total * 10 >= allowed * 9,
        "admitted {total}, under 90% of {allowed}"
    );
    // Both replicas now see the spent bucket (a bucket of their own would be nearly full).
    for limiter in &limiters {
        let d = limiter.check("hammer", PER_MINUTE).await.unwrap();
        assert!(d.remaining < 100, "{d:?}");
    }
}

/// Rows of keys whose buckets are full again go; live ones stay and keep deciding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_drops_departed_keys_only() {
    let limiters = replicas(1).await;
    let limiter = &limiters[0];
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    for i in 0..10 {
        // Seen ten minutes ago: full again long since.
        limiter
            .check_at(&format!("old:{i}"), 100, now - 600_000)
            .await
            .unwrap();
    }
    for _ in 0..5 {
        limiter.check("live", 5).await.unwrap();
    }
    assert_eq!(limiter.prune().await.unwrap(), 10);
    assert_eq!(limiter.prune().await.unwrap(), 0);
    // The live key's state survived: its bucket is still empty.
    assert!(!limiter.check("live", 5).await.unwrap().allowed);
    // A pruned key starts with a full bucket, as it would have anyway.
    assert_eq!(limiter.check("old:0", 100).await.unwrap().remaining, 99);
}

/// Several requests of one key checked by one statement (as the checks that queue behind their
/// key's statement are) get the decisions they would get checked one by one: PostgreSQL's
/// statement against the in-memory limiter, over generated limits and groups of requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_counted_together_decide_as_one_by_one() {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let limiters = replicas(1).await;
    let shared = &limiters[0];
    let limits = prop::sample::select(vec![1u32, 2, 5, 7, 60, 100, 1_200, 100_000]);
    // Each group: milliseconds since the previous one, and how many requests it counts.
    let case = (limits, vec((0i64..20_000, 1usize..=12), 1..8));
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    for i in 0..64 {
        let (per_minute, groups) = case.new_tree(&mut runner).expect("a case").current();
        let key = format!("together:{i}");
        let one_by_one = RateLimiter::in_memory();
        let mut at = testing::BASE_MS;
        for &(gap, n) in &groups {
            at += gap;
            let together = shared
                .check_many_at(&key, per_minute, at, n)
                .await
                .expect("a check on PostgreSQL");
            let expected = one_by_one
                .check_many_at(&key, per_minute, at, n)
                .await
                .expect("a check in memory");
            assert_eq!(
                together,
                expected,
                "{per_minute}/min, groups {groups:?}, at +{} ms",
                at - testing::BASE_MS
            );
        }
    }
}

/// Checks of one key arriving at once on one replica queue behind each other's statements:
/// the limit still admits exactly its burst, and each admitted request sees its own
/// `remaining`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_of_one_key_admit_the_burst_once() {
    const PER_MINUTE: u32 = 10; // 6 s per request: none refills during the test
    let limiters = replicas(1).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let limiter = limiters[0].clone();
            tokio::spawn(async move { limiter.check("burst", PER_MINUTE).await.unwrap() })
        })
        .collect();
    let mut remaining = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let d = task.await.unwrap();
        if d.allowed {
            remaining.push(d.remaining);
        } else {
            assert_eq!(d.remaining, 0);
            assert!(d.retry_after_secs.is_some_and(|s| s >= 1), "{d:?}");
            refused += 1;
        }
    }
    remaining.sort_unstable();
    assert_eq!(remaining, (0..PER_MINUTE).collect::<Vec<_>>());
    assert_eq!(refused, 30);
}
