//! The group commit of chat exchanges: the queue where an exchange waits for a turn, and the
//! task that writes every exchange then waiting as one batch ([`super::batch`]). It lives in
//! the store because it is the store's write path for exchanges: [`exchange_record`] is how a
//! service stores one, and the queue holds no connection, only the exchanges and the turns.

use super::batch::exchanges_write;
use super::{ExchangeWrite, Recorded};
use crate::db::{Db, DbError};
use std::sync::Arc;
use tokio::sync::oneshot;

type Waiting = (ExchangeWrite, oneshot::Sender<Result<Recorded, DbError>>);

/// Group commit for chat exchanges. Each exchange waits here; whoever gets a turn records
/// every exchange then waiting in one transaction. A commit is the dearest part of a chat
/// message on SQLite (the WAL frames of every page it touched, written out), and exchanges
/// that arrive together then share it, and share the account's counter row.
///
/// SQLite has one writer, so one turn. PostgreSQL writes in parallel, and one turn would make
/// every exchange of the process wait on one connection's round trips: it gets half the pool.
pub struct ExchangeQueue {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    turns: Arc<tokio::sync::Semaphore>,
}

impl ExchangeQueue {
    pub fn new(db: &Db) -> ExchangeQueue {
        let turns = match db {
            Db::Sqlite(..) => 1,
            Db::Postgres(pool) => (pool.status().max_size / 2).max(1),
        };
        ExchangeQueue {
            waiting: std::sync::Mutex::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(turns)),
        }
    }
}

/// Records an exchange, with the others waiting at the time (see [`ExchangeQueue`]): in one
/// transaction, or, if that fails, each in its own, so that one exchange's error is its own.
pub async fn exchange_record(
    db: &Db,
    queue: &ExchangeQueue,
    exchange: ExchangeWrite,
) -> Result<Recorded, DbError> {
    let (sender, mut recorded) = oneshot::channel();
    lock(&queue.waiting).push((exchange, sender));
    let turn = tokio::select! {
        biased;
        result = &mut recorded => return outcome(result),
        turn = Arc::clone(&queue.turns).acquire_owned() => turn
            .map_err(|_| DbError::Pool("the exchange queue is closed".into()))?,
    };
    let batch = std::mem::take(&mut *lock(&queue.waiting));
    if batch.is_empty() {
        // Another turn took ours, and answers it.
        drop(turn);
        return outcome(recorded.await);
    }
    // A task of its own: the batch holds other requests' exchanges, which must be recorded
    // and answered even if this request goes away meanwhile.
    let db = db.clone();
    let recording = tokio::spawn(async move {
        record_batch(&db, batch).await;
        drop(turn);
    });
    // The batch answers through `recorded` (ours was in it, or in an earlier one).
    let _ = recording.await;
    outcome(recorded.await)
}

/// Records `writes` as one batch, as [`exchange_record`] does with exchanges that wait at the
/// same time; their outcomes, in order. For tests: which exchanges share a batch is otherwise a
/// matter of timing, and the batch's fallback (a failed shared transaction writes each exchange
/// alone) needs two exchanges in one batch to be seen.
#[doc(hidden)]
pub async fn exchanges_record_as_one_batch(
    db: &Db,
    writes: Vec<ExchangeWrite>,
) -> Vec<Result<Recorded, DbError>> {
    let (batch, receivers): (Vec<Waiting>, Vec<_>) = writes
        .into_iter()
        .map(|write| {
            let (sender, receiver) = oneshot::channel();
            ((write, sender), receiver)
        })
        .unzip();
    record_batch(db, batch).await;
    let mut outcomes = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        outcomes.push(outcome(receiver.await));
    }
    outcomes
}

fn lock(waiting: &std::sync::Mutex<Vec<Waiting>>) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
    // A panic while the lock was held left a whole Vec: nothing to repair.
    waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn outcome(
    result: Result<Result<Recorded, DbError>, oneshot::error::RecvError>,
) -> Result<Recorded, DbError> {
    result.unwrap_or_else(|_| Err(DbError::Pool("an exchange's batch was dropped".into())))
}

async fn record_batch(db: &Db, batch: Vec<Waiting>) {
    if batch.len() > 1 {
        let writes: Vec<&ExchangeWrite> = batch.iter().map(|(write, _)| write).collect();
        if let Ok(outcomes) = exchanges_write(db, &writes).await {
            for ((_, sender), outcome) in batch.into_iter().zip(outcomes) {
                let _ = sender.send(Ok(outcome));
            }
            return;
        }
        // Nothing of the batch was written: each exchange again, alone, gets its own outcome.
    }
    for (write, sender) in batch {
        let result = exchanges_write(db, &[&write])
            .await
            .map(|outcomes| outcomes[0]);
        let _ = sender.send(result);
    }
}
