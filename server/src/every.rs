//! Housekeeping that a busy path starts now and then, without a timer of its own: the rate
//! limiter's prune, the expired stored replies of retry-safe sends.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Says "due" to one caller per period, the first period ending one period after creation.
#[derive(Debug)]
pub struct Every {
    started: Instant,
    period_ms: i64,
    /// Milliseconds after `started`.
    next_due_ms: AtomicI64,
}

impl Every {
    pub fn new(period: Duration) -> Every {
        let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 2);
        Every {
            started: Instant::now(),
            period_ms,
            next_due_ms: AtomicI64::new(period_ms),
        }
    }

    /// True for exactly one caller once the period has passed, which moves the next due time
    /// one period past now.
    pub fn due(&self) -> bool {
        let now = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        let due = self.next_due_ms.load(Ordering::Relaxed);
        now >= due
            && self
                .next_due_ms
                .compare_exchange(
                    due,
                    now.saturating_add(self.period_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_per_period_and_to_one_caller() {
        let every = Every::new(Duration::from_millis(30));
        assert!(!every.due(), "not before the first period is over");
        std::thread::sleep(Duration::from_millis(35));
        let callers: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| every.due())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(callers.iter().filter(|&&due| due).count(), 1, "{callers:?}");
        assert!(!every.due(), "the next period starts now");
    }
}
