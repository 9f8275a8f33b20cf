//! The in-memory store (SQLite: one process): every key's TAT in one map behind a mutex.

use super::PRUNE_EVERY_MS;
use super::gcra::{Decision, Gcra};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

pub(super) struct Memory {
    /// Unix milliseconds at `started`: time comes from the monotonic clock, so a step of the
    /// wall clock cannot lock keys out (backwards) or refill them (forwards).
    pub(super) epoch_ms: i64,
    pub(super) started: Instant,
    pub(super) state: Mutex<MemoryState>,
}

pub(super) struct MemoryState {
    pub(super) tats: HashMap<Box<str>, i64>,
    pub(super) next_prune_ms: i64,
}

impl Memory {
    pub(super) fn now_ms(&self) -> i64 {
        self.epoch_ms + i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX / 4)
    }

    pub(super) fn decide(&self, key: &str, gcra: Gcra, at: Option<i64>) -> Decision {
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
    pub(super) fn prune(&mut self, now: i64) -> usize {
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
