//! [`InMemoryEventStore`], the default [`EventStore`], and the bookkeeping that keeps it
//! bounded by counts, age and size.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{EventStore, Replay, StoredEvent};
use crate::session::lock;

mod logs;
#[cfg(test)]
mod tests;

use logs::{Order, StreamLog};

/// How far a size bound trims once it is passed: an eighth under it, so that the scan for the
/// oldest events runs once per so many bytes appended rather than on every append.
fn low_water(max: usize) -> usize {
    max - max / 8
}

/// The default [`EventStore`]: memory, at most `max_events_per_stream` events per stream
/// (the oldest trimmed first), at most `max_streams` streams, no event older than `max_age`,
/// and at most [`max_bytes`](Self::max_bytes) of event data in all (default 64 MiB).
///
/// Each session has a share: at most
/// [`max_streams_per_session`](Self::max_streams_per_session) streams (default 1 000) and
/// [`max_bytes_per_session`](Self::max_bytes_per_session) of event data (default 16 MiB). A
/// session beyond its share loses its own streams and events first. At `max_bytes`, after the
/// finished streams, the session holding the most loses its oldest events first, so that
/// several busy sessions cannot push out a session that stays within a fair part. Stateless
/// streams (no session) have no share.
///
/// Which streams it forgets:
///
/// - A finished stream `max_age` after it finished (or after its last event, if later).
/// - A live stream never by age: an idle session stream stays resumable however long it is
///   quiet. Its events are still trimmed by count and age.
/// - At a stream count bound (the session's share, then `max_streams`), opening another
///   stream forgets the oldest finished stream, or, when none is finished, the oldest live
///   one, so the bound holds whatever clients do.
/// - At a size bound (the session's share, then `max_bytes`), a new event pushes out the
///   oldest finished streams, and, when none is left, the oldest events of live streams
///   (the heaviest session's first, at `max_bytes`), down to an eighth under the bound. An
///   event larger than the bound is not kept: its stream is trimmed through it.
///
/// A trimmed stream says how far in [`Replay::trimmed_through`], so that a resumption from
/// before it is refused rather than silently skip events. The size bounds count the events'
/// data (their JSON); the count bounds bound the rest.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower::streamable::{EventStore, InMemoryEventStore, StoredEvent};
///
/// let store = InMemoryEventStore::new(100, 1_000, Duration::from_secs(300))
///     .max_bytes(32 << 20)
///     .max_bytes_per_session(4 << 20)
///     .max_streams_per_session(100);
/// store.open_stream(7, "session-a");
/// store.append(7, StoredEvent { sequence: 1, data: "{}".into() });
/// assert_eq!(store.replay(7, "session-a", 0).unwrap().events.len(), 1);
/// assert!(store.replay(7, "session-b", 0).is_none()); // not yours
/// ```
#[derive(Debug)]
pub struct InMemoryEventStore {
    streams: Mutex<Streams>,
    max_events_per_stream: usize,
    max_streams: usize,
    max_age: Duration,
    max_bytes: usize,
    max_streams_per_session: usize,
    max_bytes_per_session: usize,
}

/// foldhash, seeded per process: SipHash cost more than the rest of recording a stream, and
/// the keys are stream numbers the server counts up and session ids it made, never chosen by
/// clients.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Streams {
    logs: FastMap<u64, StreamLog>,
    /// Every stream, in the orders that decide which goes first at the store's bounds.
    order: Order,
    /// The bytes of event data kept, all streams together.
    bytes: usize,
    /// What each session keeps, against its share.
    shares: FastMap<Arc<str>, Share>,
}

/// One session's streams: how many, their bytes, and their order.
#[derive(Debug, Default)]
struct Share {
    streams: usize,
    bytes: usize,
    order: Order,
}

impl Streams {
    /// Forgets `stream`, waking its followers (who then find it gone).
    fn forget(&mut self, stream: u64) {
        if let Some(log) = self.logs.remove(&stream) {
            self.release(log);
        }
    }

    /// Takes a log no longer kept out of the totals, and wakes its followers.
    fn release(&mut self, log: StreamLog) {
        self.bytes -= log.bytes;
        if let Some(session) = &log.session
            && let Some(share) = self.shares.get_mut(session)
        {
            share.bytes -= log.bytes;
            share.streams -= 1;
            if share.streams == 0 {
                self.shares.remove(session);
            }
        }
        log.notify();
    }

    /// Counts `freed` bytes of `session`'s stream as gone.
    fn freed(&mut self, session: Option<&str>, freed: usize) {
        self.bytes -= freed;
        if let Some(share) = session.and_then(|session| self.shares.get_mut(session)) {
            share.bytes -= freed;
        }
    }

    fn share_bytes(&self, session: &str) -> usize {
        self.shares.get(session).map_or(0, |share| share.bytes)
    }

    /// Forgets finished streams older than `max_age`, oldest first.
    fn expire(&mut self, now: Instant, max_age: Duration) {
        while let Some(&oldest) = self.order.finished.front() {
            let expired = self
                .logs
                .get(&oldest)
                .is_none_or(|log| now.duration_since(log.touched) > max_age);
            if !expired {
                break;
            }
            self.order.finished.pop_front();
            self.forget(oldest);
        }
    }

    /// Forgets `session`'s streams, oldest finished first, until it has fewer than `max`.
    fn make_room_in_share(&mut self, session: &str, max: usize) {
        while let Some(share) = self.shares.get_mut(session)
            && share.streams >= max
        {
            let Some(stream) = share.order.take_evicted(&self.logs, Some(session)) else {
                break;
            };
            self.forget(stream);
        }
    }

    /// Forgets streams, oldest finished first, until there are fewer than `max`.
    fn make_room(&mut self, max: usize) {
        while self.logs.len() >= max {
            let Some(stream) = self.order.take_evicted(&self.logs, None) else {
                break;
            };
            self.forget(stream);
        }
    }

    /// Brings `session`'s bytes within `max_per_session`, then everyone's within `max`:
    /// each time the oldest finished streams first, then the oldest events of live ones.
    fn shrink(&mut self, session: Option<&str>, max_per_session: usize, max: usize) {
        if let Some(session) = session {
            while self.share_bytes(session) > max_per_session {
                let Some(share) = self.shares.get_mut(session) else {
                    break;
                };
                let Some(stream) = share.order.take_finished(&self.logs, Some(session)) else {
                    break;
                };
                self.forget(stream);
            }
            if self.share_bytes(session) > max_per_session {
                let live = match self.shares.get(session) {
                    Some(share) => share.order.live_by_oldest_event(&self.logs, Some(session)),
                    None => BinaryHeap::new(),
                };
                let low = low_water(max_per_session);
                self.trim_oldest_events(live, |streams| streams.share_bytes(session) > low);
            }
        }
        while self.bytes > max {
            let Some(stream) = self.order.take_finished(&self.logs, None) else {
                break;
            };
            self.forget(stream);
        }
        // Live events: the heaviest session's first, so that sessions within their share
        // keep theirs while others hold more; stateless streams (no share) last.
        let low = low_water(max);
        while self.bytes > max {
            let heaviest = self
                .shares
                .iter()
                .filter(|(_, share)| share.bytes > 0)
                .max_by_key(|(_, share)| share.bytes)
                .map(|(session, share)| {
                    let live = share.order.live_by_oldest_event(&self.logs, Some(session));
                    (Arc::clone(session), live)
                });
            let before = self.bytes;
            match heaviest {
                Some((_, live)) => self.trim_oldest_events(live, |streams| streams.bytes > low),
                None => {
                    let live = self.order.live_by_oldest_event(&self.logs, None);
                    self.trim_oldest_events(live, |streams| streams.bytes > low);
                }
            }
            if self.bytes == before {
                // Nothing left to trim (every event is empty): the bound cannot be met.
                break;
            }
        }
    }

    /// Trims the oldest event of the streams in `live` one at a time, the oldest first,
    /// while `over` holds.
    fn trim_oldest_events(
        &mut self,
        mut live: BinaryHeap<Reverse<(Instant, u64)>>,
        over: impl Fn(&Self) -> bool,
    ) {
        while over(self) {
            let Some(Reverse((_, stream))) = live.pop() else {
                break;
            };
            let Some(log) = self.logs.get_mut(&stream) else {
                continue;
            };
            let freed = log.trim_oldest();
            if let Some((next, _)) = log.events.front() {
                live.push(Reverse((*next, stream)));
            }
            let session = log.session.clone();
            self.freed(session.as_deref(), freed);
        }
    }
}

impl InMemoryEventStore {
    /// A store with these bounds, and the default size bounds and session shares (see
    /// the setters).
    pub fn new(max_events_per_stream: usize, max_streams: usize, max_age: Duration) -> Self {
        Self {
            streams: Mutex::new(Streams::default()),
            max_events_per_stream: max_events_per_stream.max(1),
            max_streams: max_streams.max(1),
            max_age,
            max_bytes: 64 << 20,
            max_streams_per_session: 1_000,
            max_bytes_per_session: 16 << 20,
        }
    }

    /// The most bytes of event data kept, all streams together (default 64 MiB). Beyond
    /// it, the oldest finished streams are forgotten, then the oldest events of live ones.
    ///
    /// ```
    /// use mcp_tower::streamable::InMemoryEventStore;
    ///
    /// let store = InMemoryEventStore::default().max_bytes(256 << 20);
    /// # let _ = store;
    /// ```
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max.max(1);
        self
    }

    /// The most streams one session keeps (default 1 000, a tenth of the default
    /// `max_streams`). Opening another forgets the session's own oldest finished stream,
    /// else its oldest live one.
    ///
    /// ```
    /// let store = mcp_tower::streamable::InMemoryEventStore::default().max_streams_per_session(100);
    /// # let _ = store;
    /// ```
    pub fn max_streams_per_session(mut self, max: usize) -> Self {
        self.max_streams_per_session = max.max(1);
        self
    }

    /// The most bytes of event data one session keeps (default 16 MiB, a quarter of the
    /// default [`max_bytes`](Self::max_bytes)). Beyond it, the session's own oldest finished
    /// streams are forgotten, then the oldest events of its live ones; an event larger than
    /// this is not kept.
    ///
    /// ```
    /// let store = mcp_tower::streamable::InMemoryEventStore::default().max_bytes_per_session(1 << 20);
    /// # let _ = store;
    /// ```
    pub fn max_bytes_per_session(mut self, max: usize) -> Self {
        self.max_bytes_per_session = max.max(1);
        self
    }

    /// The size bound an event of a stream with or without a session must fit in.
    fn room(&self, session: bool) -> usize {
        if session {
            self.max_bytes.min(self.max_bytes_per_session)
        } else {
            self.max_bytes
        }
    }
}

impl Default for InMemoryEventStore {
    /// 256 events per stream, 10 000 streams, 5 minutes, 64 MiB; per session 1 000 streams
    /// and 16 MiB.
    fn default() -> Self {
        Self::new(256, 10_000, Duration::from_secs(300))
    }
}

impl EventStore for InMemoryEventStore {
    fn open_stream(&self, stream: u64, session: &str) {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        streams.expire(now, self.max_age);
        // A session at its share makes room from its own streams, not everyone's.
        if !session.is_empty() {
            streams.make_room_in_share(session, self.max_streams_per_session);
        }
        streams.make_room(self.max_streams);
        let Streams {
            logs,
            order,
            shares,
            ..
        } = &mut *streams;
        order.compact(logs, logs.len());
        order.opened.push_back(stream);
        let key = (!session.is_empty()).then(|| {
            // The share's key, when it has one, saves the log a copy of the id.
            match shares.get_key_value(session) {
                Some((key, _)) => Arc::clone(key),
                None => Arc::from(session),
            }
        });
        let replaced = logs.insert(
            stream,
            StreamLog {
                session: key.clone(),
                events: VecDeque::new(),
                bytes: 0,
                trimmed_through: 0,
                finished: false,
                more: None,
                touched: now,
            },
        );
        if let Some(key) = key {
            let share = shares.entry(key).or_default();
            share.streams += 1;
            share.order.compact(logs, share.streams);
            share.order.opened.push_back(stream);
        }
        // Stream ids are not reused; if one is, the totals still drop what it held.
        if let Some(replaced) = replaced {
            streams.release(replaced);
        }
    }

    fn append(&self, stream: u64, event: StoredEvent) {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let Streams {
            logs,
            bytes,
            shares,
            ..
        } = &mut *streams;
        let Some(log) = logs.get_mut(&stream) else {
            return;
        };
        let mut freed = log.trim(now, self.max_events_per_stream, self.max_age, true);
        let size = event.data.len();
        let added = if size > self.room(log.session.is_some()) {
            // Kept, it would push out everything else of its share and still not fit.
            freed += log.trim_through(event.sequence);
            0
        } else {
            if log.events.capacity() == 0 {
                // Most session streams hold one event at a time (a rare notification): room
                // for one, where the first push would make room for four. A fan-out makes one
                // such buffer per stream at once; a quarter the size is a quarter the new
                // heap pages.
                log.events.reserve_exact(1);
            }
            log.events.push_back((now, event));
            log.bytes += size;
            size
        };
        log.touched = now;
        log.notify();
        *bytes = *bytes + added - freed;
        let share = log.session.as_deref().and_then(|s| shares.get_mut(s));
        let over_share = share.is_some_and(|share| {
            share.bytes = share.bytes + added - freed;
            share.bytes > self.max_bytes_per_session
        });
        if over_share || *bytes > self.max_bytes {
            let session = log.session.clone();
            streams.shrink(
                session.as_deref(),
                self.max_bytes_per_session,
                self.max_bytes,
            );
        }
    }

    fn finish(&self, stream: u64) {
        let mut streams = lock(&self.streams);
        let Streams {
            logs,
            order,
            shares,
            ..
        } = &mut *streams;
        let Some(log) = logs.get_mut(&stream) else {
            return;
        };
        if log.finished {
            return;
        }
        log.finished = true;
        // Kept `max_age` from now: a stream quiet for long before it ended is still
        // resumable for a while after.
        log.touched = Instant::now();
        log.notify();
        order.finished.push_back(stream);
        if let Some(share) = log.session.as_deref().and_then(|s| shares.get_mut(s)) {
            share.order.finished.push_back(stream);
        }
    }

    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay> {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let log = streams.logs.get_mut(&stream)?;
        let expired = log.finished && now.duration_since(log.touched) > self.max_age;
        if log.session.as_deref().unwrap_or("") != session || expired {
            return None;
        }
        let freed = log.trim(now, self.max_events_per_stream, self.max_age, false);
        // Appended in increasing order and trimmed from the front: the last kept event is
        // the last appended, and with none kept, the last trimmed was.
        let last_sequence = log
            .events
            .back()
            .map_or(log.trimmed_through, |(_, event)| event.sequence);
        let replay = Replay {
            events: log
                .events
                .iter()
                .filter(|(_, e)| e.sequence > after)
                .map(|(_, e)| e.clone())
                .collect(),
            finished: log.finished,
            trimmed_through: log.trimmed_through,
            last_sequence,
            more: Arc::clone(log.more.get_or_insert_default()),
        };
        if freed > 0 {
            streams.freed((!session.is_empty()).then_some(session), freed);
        }
        Some(replay)
    }
}
