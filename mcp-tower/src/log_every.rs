//! Log lines a client can cause, let through at most once per period: an operator must hear
//! that a cap was reached or accepts fail, but a client must not be able to flood the logs by
//! driving the server into the same refusal again and again.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// What the periods are counted from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Lets one line through per period, and counts the ones it held back.
///
/// ```ignore
/// static REFUSED: LogEvery = LogEvery::new(Duration::from_secs(60));
/// if let Some(held_back) = REFUSED.ready() {
///     tracing::warn!(held_back, "session cap reached; initialize refused with 503");
/// }
/// ```
pub(crate) struct LogEvery {
    period_ms: u64,
    /// When the next line may be written, in ms since [`EPOCH`] (0: at once).
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl LogEvery {
    pub(crate) const fn new(period: Duration) -> Self {
        Self {
            period_ms: period.as_millis() as u64,
            next_ms: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written now.
    pub(crate) fn ready(&self) -> Option<u64> {
        let now = u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Relaxed);
        let due = now >= next
            && self
                .next_ms
                .compare_exchange(next, now.saturating_add(self.period_ms), Relaxed, Relaxed)
                .is_ok();
        if due {
            Some(self.held_back.swap(0, Relaxed))
        } else {
            self.held_back.fetch_add(1, Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_held_back() {
        let every = LogEvery::new(Duration::from_millis(200));
        assert_eq!(every.ready(), Some(0));
        for _ in 0..5 {
            assert_eq!(every.ready(), None);
        }
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(every.ready(), Some(5));
        assert_eq!(every.ready(), None);
    }
}
