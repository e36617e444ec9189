//! The clock of call latencies: the TSC (through `quanta`), read raw when a call starts and
//! scaled once when it ends.

use std::sync::LazyLock;
use std::time::Duration;

/// One clock for the process: calibrating it takes up to a few milliseconds.
static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// Calibrates the clock now rather than in the first call.
pub(crate) fn calibrate() {
    LazyLock::force(&CLOCK);
}

/// When a call started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start(u64);

impl Start {
    // A raw read skips the scaling (and `quanta::Instant`'s check for a mocked clock): about
    // half the cost of `quanta::Instant::now`, a sixth of `std::time::Instant::now`.
    pub(crate) fn now() -> Self {
        Start(CLOCK.raw())
    }

    /// The time since `self`.
    pub(crate) fn elapsed(self) -> Duration {
        CLOCK.delta(self.0, CLOCK.raw())
    }
}
