//! The PostgreSQL store (any replicas): each check is a statement on the shared
//! `rate_limits` table (`store::rate_limits`), and the clock-time checks of a key that arrive
//! while its statement runs queue for the next one, which counts them together.

use super::gcra::{Decision, Gcra};
use crate::db::DbError;
use crate::every::Every;
use crate::store::rate_limits::{rate_limit_check, rate_limit_prune};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// PostgreSQL keeps a row this long past its TAT, so that a prune never races a check whose
/// clock was read a moment before the prune's (the row would then still matter, briefly).
const PG_PRUNE_GRACE_MS: i64 = 60_000;

pub(super) struct Postgres {
    pub(super) pool: Pool<AsyncPgConnection>,
    pub(super) prune: Every,
    /// Clock-time checks waiting for their key's statement, by key (see [`Postgres::decide`]).
    pub(super) queued: Arc<Mutex<HashMap<Box<str>, Queue>>>,
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
pub(super) struct Queue {
    gcra: Gcra,
    waiters: Vec<oneshot::Sender<Decision>>,
}

impl Postgres {
    /// A clock-time check joins the queue of its key: while a statement for the key runs,
    /// the checks that arrive wait, and the next statement counts them all at once, in their
    /// order. Under load one hot key (a backend's API key) was one statement per request, each
    /// waiting on the last for the row's lock; now it is one per round trip, and the
    /// decisions are the ones the checks would get one after another. A check at a given time
    /// (`at`, tests and replays) runs alone.
    pub(super) async fn decide(
        &self,
        key: &str,
        gcra: Gcra,
        at: Option<i64>,
    ) -> Result<Decision, DbError> {
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
    pub(super) fn maybe_prune(&self) {
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
pub(super) async fn decisions(
    pool: &Pool<AsyncPgConnection>,
    key: &str,
    gcra: Gcra,
    at: Option<i64>,
    cost: usize,
) -> Result<Vec<Decision>, DbError> {
    let cost = i64::try_from(cost.max(1)).unwrap_or(i64::MAX);
    let row = rate_limit_check(pool, key, gcra.interval, gcra.tolerance, at, cost).await?;
    Ok(gcra.decisions(row.now_ms, cost, row.admitted, row.tat_ms))
}

pub(super) async fn prune_postgres(pool: &Pool<AsyncPgConnection>) -> Result<usize, DbError> {
    rate_limit_prune(pool, PG_PRUNE_GRACE_MS).await
}
