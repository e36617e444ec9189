//! The numbers of SSE streams, which every event id of a stream starts with.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// Gives each new stream a number: a counter's next value through a keyed permutation of
/// `u64` (a four-round Feistel network over a hash seeded per process). Numbers stay unique,
/// as the counter's values are, but a client reading its own streams' numbers learns nothing
/// of how many streams the server opened for others in between, as consecutive numbers told.
pub(crate) struct StreamNumbers {
    next: AtomicU64,
    key: foldhash::fast::RandomState,
}

impl Default for StreamNumbers {
    fn default() -> Self {
        Self {
            next: AtomicU64::new(1),
            key: foldhash::fast::RandomState::default(),
        }
    }
}

impl StreamNumbers {
    /// The number of a new stream.
    pub(crate) fn next(&self) -> u64 {
        self.permute(self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// A bijection of `u64`: each round swaps the halves and mixes one into the other, which
    /// the next round can undo, so that no two counter values meet.
    fn permute(&self, value: u64) -> u64 {
        let (mut left, mut right) = ((value >> 32) as u32, value as u32);
        for round in 0..4u32 {
            let mixed = self.key.hash_one((round, right)) as u32;
            (left, right) = (right, left ^ mixed);
        }
        (u64::from(left) << 32) | u64::from(right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_not_consecutive() {
        let numbers = StreamNumbers::default();
        let taken: Vec<u64> = (0..10_000).map(|_| numbers.next()).collect();
        let unique: std::collections::HashSet<_> = taken.iter().collect();
        assert_eq!(unique.len(), taken.len());
        let consecutive = taken
            .windows(2)
            .filter(|w| w[1] == w[0].wrapping_add(1))
            .count();
        assert!(consecutive < 10, "{consecutive} consecutive of 10 000");
    }
}
