//! How the in-memory store keeps each stream's events ([`StreamLog`]) and the order of the
//! streams ([`Order`]), which decides what it forgets first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::FastMap;
use crate::streamable::event_store::StoredEvent;

/// Streams in the order they opened and finished, to pick which to forget first.
#[derive(Debug, Default)]
pub(super) struct Order {
    /// Streams in the order they opened, to find the oldest live ones. Entries of streams
    /// since finished or forgotten are skipped when met, and swept by `compact`.
    pub(super) opened: VecDeque<u64>,
    /// Finished streams in the order they finished: the oldest is the first to expire, and
    /// the first evicted. Entries of forgotten streams are skipped, and swept by `compact`.
    pub(super) finished: VecDeque<u64>,
}

#[derive(Debug)]
pub(super) struct StreamLog {
    /// `None` for a stream without a session (stateless).
    pub(super) session: Option<Arc<str>>,
    pub(super) events: VecDeque<(Instant, StoredEvent)>,
    /// The bytes of event data in `events`.
    pub(super) bytes: usize,
    /// The last sequence trimmed from `events`.
    pub(super) trimmed_through: u64,
    pub(super) finished: bool,
    /// Made when a follower resumes the stream (see `replay`); most streams never have one.
    pub(super) more: Option<Arc<Notify>>,
    /// The last event, or the end.
    pub(super) touched: Instant,
}

impl StreamLog {
    /// Tells followers about a new event or the end.
    pub(super) fn notify(&self) {
        // Only a follower holds another handle: with none, nobody can be waiting, and the
        // notifier's lock is skipped on the fan-out's path.
        if let Some(more) = &self.more
            && Arc::strong_count(more) > 1
        {
            more.notify_waiters();
        }
    }

    /// Whether this stream belongs to `owner`: a session, or `None` for any.
    pub(super) fn is_owned_by(&self, owner: Option<&str>) -> bool {
        owner.is_none_or(|owner| self.session.as_deref() == Some(owner))
    }

    /// Drops the oldest event, remembering how far; the bytes freed.
    pub(super) fn trim_oldest(&mut self) -> usize {
        let Some((_, event)) = self.events.pop_front() else {
            return 0;
        };
        self.trimmed_through = event.sequence;
        self.bytes -= event.data.len();
        event.data.len()
    }

    /// Drops the events beyond `max_events` (room for one more when `adding`) and those
    /// older than `max_age`, remembering how far; the bytes freed.
    pub(super) fn trim(
        &mut self,
        now: Instant,
        max_events: usize,
        max_age: Duration,
        adding: bool,
    ) -> usize {
        let keep = max_events - usize::from(adding);
        let mut freed = 0;
        while self.events.len() > keep
            || self
                .events
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > max_age)
        {
            freed += self.trim_oldest();
        }
        freed
    }

    /// Drops every event through `sequence`, an event too large to keep; the bytes freed.
    /// The earlier ones go too: a resumption from before it is refused anyway.
    pub(super) fn trim_through(&mut self, sequence: u64) -> usize {
        self.events.clear();
        self.trimmed_through = sequence;
        std::mem::take(&mut self.bytes)
    }
}

impl Order {
    /// Sweeps out entries of streams no longer live (`opened`) or kept (`finished`) once a
    /// list holds more than twice `kept` entries: each sweep is paid for by as many opens
    /// or finishes, so both stay O(1) amortised, and the lists bounded while a long-lived
    /// stream sits at the front of `opened`.
    pub(super) fn compact(&mut self, logs: &FastMap<u64, StreamLog>, kept: usize) {
        let bound = 2 * kept + 16;
        if self.opened.len() > bound {
            self.opened
                .retain(|stream| logs.get(stream).is_some_and(|log| !log.finished));
        }
        if self.finished.len() > bound {
            self.finished.retain(|stream| logs.contains_key(stream));
        }
    }

    /// Takes the oldest finished stream of `owner`'s off the order.
    pub(super) fn take_finished(
        &mut self,
        logs: &FastMap<u64, StreamLog>,
        owner: Option<&str>,
    ) -> Option<u64> {
        while let Some(oldest) = self.finished.pop_front() {
            if logs
                .get(&oldest)
                .is_some_and(|log| log.finished && log.is_owned_by(owner))
            {
                return Some(oldest);
            }
        }
        None
    }

    /// Takes the stream to forget for room off the order: the oldest finished one of
    /// `owner`'s, else the oldest live one.
    pub(super) fn take_evicted(
        &mut self,
        logs: &FastMap<u64, StreamLog>,
        owner: Option<&str>,
    ) -> Option<u64> {
        if let Some(finished) = self.take_finished(logs, owner) {
            return Some(finished);
        }
        while let Some(oldest) = self.opened.pop_front() {
            if logs
                .get(&oldest)
                .is_some_and(|log| !log.finished && log.is_owned_by(owner))
            {
                return Some(oldest);
            }
        }
        None
    }

    /// The live streams of `owner`'s that hold events, by their oldest event's age.
    pub(super) fn live_by_oldest_event(
        &self,
        logs: &FastMap<u64, StreamLog>,
        owner: Option<&str>,
    ) -> BinaryHeap<Reverse<(Instant, u64)>> {
        self.opened
            .iter()
            .filter_map(|&stream| {
                let log = logs.get(&stream)?;
                let (oldest, _) = log.events.front()?;
                (!log.finished && log.is_owned_by(owner)).then_some(Reverse((*oldest, stream)))
            })
            .collect()
    }
}
