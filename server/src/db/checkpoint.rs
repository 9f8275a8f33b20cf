//! SQLite's WAL checkpoints, run in the background instead of inside a writer's commit.
//!
//! SQLite's default (`wal_autocheckpoint`) makes the commit that crosses the threshold copy the
//! whole WAL back into the database file and `fsync` both, and since statements run inline
//! ([`super::Inline`]) that commit held a runtime thread and the write turn for tens of
//! milliseconds: the benchmark's chat send p99 was 60 ms with autocheckpoint and 17 ms
//! without. Here a task checkpoints, on a connection of its own, every [`CHECKPOINT_PERIOD`],
//! so the WAL stays below the autocheckpoint threshold, which is left only as a safety net (a
//! [`super::Db`] whose task is not running, a period of extraordinary writes). In two steps:
//! 1. `PASSIVE` checkpoints while writers go on, each copying what the one before saw
//!    appended, until few frames are left (or a writer restarted the WAL, which it does when it
//!    finds the WAL wholly copied);
//! 2. one more inside the write turn, which copies those last frames. The WAL is then wholly
//!    in the database file, so the next writer starts it again from the beginning: without
//!    this step, a WAL under constant writes is never caught up, grows without end, and every
//!    read gets slower with it (the benchmark's history read: 150 -> 185 µs of CPU).
//!
//! A checkpoint also syncs the WAL, so with `synchronous = NORMAL` a commit is on disk within a
//! period.

use super::WriteTurn;
use diesel::sql_types::Integer;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use slog::Logger;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often the WAL is copied back. Longer amortises hot pages (a page written by many
/// commits is copied once per checkpoint), but the WAL then grows longer and the checkpoint
/// inside the turn finds more to copy: on the benchmark's chat send (2 cores, about 3,500
/// frames per period) p99 was 21 ms at 100 ms, 26-54 ms at 250 ms and 54 ms at 500 ms.
/// Idle, a period costs one look at the WAL's header.
pub const CHECKPOINT_PERIOD: Duration = Duration::from_millis(100);

/// At most this many checkpoints run outside the write turn in one period.
const MAX_ROUNDS_OUTSIDE_THE_TURN: u32 = 4;

/// The checkpoint inside the write turn waits until at most this many frames are left to copy
/// (about 1 MB), so writers wait for it only briefly (a few ms on the benchmark's saturated
/// 2 cores, where the whole WAL took 40-50 ms).
const FRAMES_LEFT_FOR_THE_TURN: i32 = 256;

/// What `PRAGMA wal_checkpoint` answers.
#[derive(Debug, diesel::QueryableByName)]
struct CheckpointResult {
    /// 1 when the checkpoint could not run at all (another checkpoint held its lock).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the WAL (-1 when the database is not in WAL mode).
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Of those, frames now in the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

impl CheckpointResult {
    /// Every frame of the WAL is in the database file, so the next writer restarts the WAL.
    fn caught_up(&self) -> bool {
        self.busy == 0 && self.checkpointed >= self.log
    }
}

/// Starts the checkpoint task for the database at `path`. It ends when the last handle on
/// `turn` (the pool's [`super::Db`]) is dropped, or when the runtime stops.
pub fn spawn(path: &Path, turn: &WriteTurn, log: Logger) -> Result<(), diesel::ConnectionError> {
    let conn = SqliteConnection::establish(&path.to_string_lossy())?;
    let checkpointer = Checkpointer {
        conn: Arc::new(Mutex::new(conn)),
        log,
        failing: false,
    };
    tokio::spawn(checkpointer.run(Arc::downgrade(turn)));
    Ok(())
}

struct Checkpointer {
    conn: Arc<Mutex<SqliteConnection>>,
    log: Logger,
    /// The last checkpoint failed: the next failure is not logged again, a success is.
    failing: bool,
}

impl Checkpointer {
    async fn run(mut self, turn: Weak<tokio::sync::Mutex<()>>) {
        let mut ticks = tokio::time::interval(CHECKPOINT_PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The WAL's length when the last period ended in the turn: an idle database keeps it,
        // and needs nothing more.
        let mut settled_at = None;
        loop {
            ticks.tick().await;
            let Some(turn) = turn.upgrade() else { return };
            let Some(mut last) = self.checkpoint().await else {
                continue;
            };
            if last.log <= 0 || (last.caught_up() && settled_at == Some(last.log)) {
                continue;
            }
            // Writers append while a checkpoint copies; each round copies what the one before
            // saw appended, so rounds get shorter, until few enough frames are left for the
            // turn.
            let mut rounds = 1;
            let restarted = loop {
                if rounds >= MAX_ROUNDS_OUTSIDE_THE_TURN {
                    break false;
                }
                let Some(next) = self.checkpoint().await else {
                    break false;
                };
                rounds += 1;
                // A writer found the WAL caught up and started it again: nothing left to do.
                let restarted = next.log < last.log;
                let appended = next.log - last.log;
                last = next;
                if restarted || appended <= FRAMES_LEFT_FOR_THE_TURN {
                    break restarted;
                }
            };
            if restarted {
                settled_at = None;
                continue;
            }
            let _turn = turn.lock().await;
            settled_at = self
                .checkpoint()
                .await
                .filter(CheckpointResult::caught_up)
                .map(|r| r.log);
        }
    }

    /// One `PASSIVE` checkpoint on a blocking thread (it copies pages and syncs files). A
    /// failure is retried at the next period (the WAL still holds every commit meanwhile) and
    /// logged once, until a checkpoint succeeds again.
    async fn checkpoint(&mut self) -> Option<CheckpointResult> {
        let conn = Arc::clone(&self.conn);
        let done = tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                .get_result::<CheckpointResult>(&mut *conn)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("the checkpoint's task: {e}")));
        match done {
            Ok(result) => {
                if std::mem::take(&mut self.failing) {
                    slog::info!(self.log, "SQLite WAL checkpoints work again");
                }
                Some(result)
            }
            Err(error) => {
                if !std::mem::replace(&mut self.failing, true) {
                    slog::warn!(self.log, "SQLite WAL checkpoint failed; retrying every period";
                        "error" => error, "period_ms" => CHECKPOINT_PERIOD.as_millis());
                }
                None
            }
        }
    }
}
