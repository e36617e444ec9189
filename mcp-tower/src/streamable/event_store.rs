//! Where SSE events wait for a client that reconnects with `Last-Event-ID`.
//!
//! Event ids are `<stream>-<sequence>`: the stream id tells which stream to resume, the
//! sequence where. Each stream belongs to one session, and only that session may resume it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::session::lock;

/// A stored SSE event: its sequence number within the stream and its JSON payload.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The position in the stream (1-based; 0 is the priming event).
    pub sequence: u64,
    /// The JSON-RPC message.
    pub data: Bytes,
}

/// Keeps recent events per stream, for clients that resume a stream with `Last-Event-ID`.
///
/// The contract the bridge relies on:
///
/// - A stream is *live* from [`open_stream`](Self::open_stream) until
///   [`finish`](Self::finish). The bridge finishes every stream it opens: when its request is
///   answered (or its handler dies), and a session's GET stream when the session ends or
///   replaces it, or at shutdown. A store should forget a live stream only when it must to
///   stay bounded, since its client may be about to resume it.
/// - A store may trim a stream's oldest events (to bound it per stream or by age), but must
///   then say so in [`Replay::trimmed_through`]: the bridge refuses (400) a resumption from
///   before it, which would silently skip the trimmed events.
/// - Sequences of a stream are appended in increasing order, and a store reports the
///   highest one it was given in [`Replay::last_sequence`], trimmed or not: the bridge
///   refuses (400) a resumption from after it, which names an event never sent.
pub trait EventStore: Send + Sync + 'static {
    /// Starts a stream owned by `session` (empty for stateless).
    fn open_stream(&self, stream: u64, session: &str);
    /// Appends an event.
    fn append(&self, stream: u64, event: StoredEvent);
    /// Marks the stream complete: nothing more will be appended.
    fn finish(&self, stream: u64);
    /// Events after `sequence`, whether the stream is finished, how far it was trimmed, and a
    /// notifier for more; `None` when the stream is unknown, expired or owned by another
    /// session.
    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay>;
}

/// The answer to a resumption.
#[derive(Debug)]
pub struct Replay {
    /// Events after the requested one.
    pub events: Vec<StoredEvent>,
    /// Whether the stream has ended.
    pub finished: bool,
    /// The last sequence trimmed from the stream (by a per-stream cap or by age); 0 when
    /// nothing was. A resumption after an earlier sequence would miss events, and is refused.
    pub trimmed_through: u64,
    /// The highest sequence appended to the stream, trimmed since or not; 0 when nothing was.
    /// A resumption after a later sequence names an event the stream never had, and is
    /// refused.
    pub last_sequence: u64,
    /// Fires when the stream gets more events or finishes.
    pub more: Arc<Notify>,
}

/// The default [`EventStore`]: memory, at most `max_events_per_stream` events per stream
/// (the oldest trimmed first), at most `max_streams` streams, and no event older than
/// `max_age`.
///
/// Which streams it forgets:
///
/// - A finished stream `max_age` after it finished (or after its last event, if later).
/// - A live stream never by age: an idle session stream stays resumable however long it is
///   quiet. Its events are still trimmed by count and age.
/// - At `max_streams`, opening another stream forgets the oldest finished stream, or, when
///   none is finished, the oldest live one, so the bound holds whatever clients do.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower::streamable::{EventStore, InMemoryEventStore, StoredEvent};
///
/// let store = InMemoryEventStore::new(100, 1_000, Duration::from_secs(300));
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
}

#[derive(Debug, Default)]
struct Streams {
    /// foldhash, seeded per process: SipHash cost more than the rest of recording a stream,
    /// and the keys are stream numbers the server counts up, never chosen by clients.
    logs: HashMap<u64, StreamLog, foldhash::fast::RandomState>,
    /// Streams in the order they opened, to evict the oldest live one. Entries of streams
    /// since finished or forgotten are skipped when met, and swept when they outnumber the
    /// logs (see `compact`).
    opened: VecDeque<u64>,
    /// Finished streams in the order they finished: the oldest is the first to expire, and
    /// the first evicted.
    finished: VecDeque<u64>,
}

#[derive(Debug)]
struct StreamLog {
    /// `None` for a stream without a session (stateless).
    session: Option<Arc<str>>,
    events: VecDeque<(Instant, StoredEvent)>,
    /// The last sequence trimmed from `events`.
    trimmed_through: u64,
    finished: bool,
    /// Made when a follower resumes the stream (see `replay`); most streams never have one.
    more: Option<Arc<Notify>>,
    /// The last event, or the end.
    touched: Instant,
}

impl StreamLog {
    /// Tells followers about a new event or the end.
    fn notify(&self) {
        // Only a follower holds another handle: with none, nobody can be waiting, and the
        // notifier's lock is skipped on the fan-out's path.
        if let Some(more) = &self.more
            && Arc::strong_count(more) > 1
        {
            more.notify_waiters();
        }
    }

    /// Drops the events beyond `max_events` (room for one more when `adding`) and those
    /// older than `max_age`, remembering how far.
    fn trim(&mut self, now: Instant, max_events: usize, max_age: Duration, adding: bool) {
        let keep = max_events - usize::from(adding);
        while self.events.len() > keep
            || self
                .events
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > max_age)
        {
            if let Some((_, event)) = self.events.pop_front() {
                self.trimmed_through = event.sequence;
            }
        }
    }
}

impl Streams {
    /// Forgets `stream`, waking its followers (who then find it gone).
    fn forget(&mut self, stream: u64) {
        if let Some(log) = self.logs.remove(&stream) {
            log.notify();
        }
    }

    /// Whether `stream` is known and not finished.
    fn is_live(&self, stream: u64) -> bool {
        self.logs.get(&stream).is_some_and(|log| !log.finished)
    }

    /// Forgets finished streams older than `max_age`, oldest first.
    fn expire(&mut self, now: Instant, max_age: Duration) {
        while let Some(&oldest) = self.finished.front() {
            let expired = self
                .logs
                .get(&oldest)
                .is_none_or(|log| now.duration_since(log.touched) > max_age);
            if !expired {
                break;
            }
            self.finished.pop_front();
            self.forget(oldest);
        }
    }

    /// Forgets one stream to make room: the oldest finished, else the oldest live; false
    /// when there was none.
    fn evict_one(&mut self) -> bool {
        while let Some(oldest) = self.finished.pop_front() {
            if self.logs.contains_key(&oldest) {
                self.forget(oldest);
                return true;
            }
        }
        while let Some(oldest) = self.opened.pop_front() {
            if self.is_live(oldest) {
                self.forget(oldest);
                return true;
            }
        }
        false
    }

    /// Sweeps `opened` of streams no longer live once it holds more than twice as many
    /// entries as there are logs: each sweep is paid for by as many opens, so opening stays
    /// O(1) amortised, and `opened` bounded while a long-lived stream sits at its front.
    fn compact(&mut self) {
        if self.opened.len() > 2 * self.logs.len() + 16 {
            let logs = &self.logs;
            self.opened
                .retain(|stream| logs.get(stream).is_some_and(|log| !log.finished));
        }
    }
}

impl InMemoryEventStore {
    /// A store with these bounds.
    pub fn new(max_events_per_stream: usize, max_streams: usize, max_age: Duration) -> Self {
        Self {
            streams: Mutex::new(Streams::default()),
            max_events_per_stream: max_events_per_stream.max(1),
            max_streams: max_streams.max(1),
            max_age,
        }
    }
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new(256, 10_000, Duration::from_secs(300))
    }
}

impl EventStore for InMemoryEventStore {
    fn open_stream(&self, stream: u64, session: &str) {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        streams.expire(now, self.max_age);
        while streams.logs.len() >= self.max_streams && streams.evict_one() {}
        streams.compact();
        streams.logs.insert(
            stream,
            StreamLog {
                session: (!session.is_empty()).then(|| Arc::from(session)),
                events: VecDeque::new(),
                trimmed_through: 0,
                finished: false,
                more: None,
                touched: now,
            },
        );
        streams.opened.push_back(stream);
    }

    fn append(&self, stream: u64, event: StoredEvent) {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let Some(log) = streams.logs.get_mut(&stream) else {
            return;
        };
        log.trim(now, self.max_events_per_stream, self.max_age, true);
        if log.events.capacity() == 0 {
            // Most session streams hold one event at a time (a rare notification): room for
            // one, where the first push would make room for four. A fan-out makes one such
            // buffer per stream at once; a quarter the size is a quarter the new heap pages.
            log.events.reserve_exact(1);
        }
        log.events.push_back((now, event));
        log.touched = now;
        log.notify();
    }

    fn finish(&self, stream: u64) {
        let mut streams = lock(&self.streams);
        let Some(log) = streams.logs.get_mut(&stream) else {
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
        streams.finished.push_back(stream);
    }

    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay> {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let log = streams.logs.get_mut(&stream)?;
        let expired = log.finished && now.duration_since(log.touched) > self.max_age;
        if log.session.as_deref().unwrap_or("") != session || expired {
            return None;
        }
        log.trim(now, self.max_events_per_stream, self.max_age, false);
        // Appended in increasing order and trimmed from the front: the last kept event is
        // the last appended, and with none kept, the last trimmed was.
        let last_sequence = log
            .events
            .back()
            .map_or(log.trimmed_through, |(_, event)| event.sequence);
        Some(Replay {
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
        })
    }
}

/// Parses an event id into `(stream, sequence)`: two decimal numbers as the SSE frames write
/// them (no sign, which `u64::from_str` would take).
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, sequence) = id.split_once('-')?;
    let number = |digits: &str| {
        let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        all_digits.then(|| digits.parse().ok()).flatten()
    };
    Some((number(stream)?, number(sequence)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sequence: u64) -> StoredEvent {
        StoredEvent {
            sequence,
            data: Bytes::from(format!("{{\"n\":{sequence}}}")),
        }
    }

    fn kept(store: &InMemoryEventStore, stream: u64) -> Option<Vec<u64>> {
        let replay = store.replay(stream, "s", 0)?;
        Some(replay.events.iter().map(|e| e.sequence).collect())
    }

    #[test]
    fn keeps_at_most_the_configured_events_per_stream_and_says_how_far_it_trimmed() {
        let store = InMemoryEventStore::new(3, 10, Duration::from_secs(60));
        store.open_stream(1, "s");
        assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 0);
        for sequence in 1..=10 {
            store.append(1, event(sequence));
        }
        assert_eq!(kept(&store, 1).unwrap(), [8, 9, 10]);
        assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 7);
    }

    #[test]
    fn a_stream_with_one_event_keeps_room_for_one_and_grows_past_it() {
        let store = InMemoryEventStore::new(5, 10, Duration::from_secs(60));
        store.open_stream(1, "s");
        store.append(1, event(1));
        let capacity = |store: &InMemoryEventStore| lock(&store.streams).logs[&1].events.capacity();
        assert_eq!(capacity(&store), 1, "one fan-out event: one slot");
        for sequence in 2..=7 {
            store.append(1, event(sequence));
        }
        assert_eq!(kept(&store, 1).unwrap(), [3, 4, 5, 6, 7]);
        assert!(capacity(&store) >= 5);
    }

    #[test]
    fn trims_events_older_than_the_maximum_age_from_live_streams() {
        let store = InMemoryEventStore::new(10, 10, Duration::from_millis(20));
        store.open_stream(1, "s");
        store.append(1, event(1));
        store.append(1, event(2));
        std::thread::sleep(Duration::from_millis(40));
        store.append(1, event(3));
        let replay = store.replay(1, "s", 0).unwrap();
        assert_eq!(replay.trimmed_through, 2);
        assert_eq!(replay.events.len(), 1);
        // Trimmed on replay too, not only when the stream grows.
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 3);
    }

    #[test]
    fn at_the_stream_cap_evicts_finished_streams_first_then_the_oldest_live_one() {
        let store = InMemoryEventStore::new(3, 3, Duration::from_secs(60));
        for stream in 1..=3 {
            store.open_stream(stream, "s");
        }
        store.finish(3);
        store.finish(2);
        // Finished first, the oldest-finished first: 3, then 2.
        store.open_stream(4, "s");
        assert!(kept(&store, 3).is_none());
        store.open_stream(5, "s");
        assert!(kept(&store, 2).is_none());
        // Only live streams left (1, 4, 5): the oldest of them goes.
        store.open_stream(6, "s");
        assert!(kept(&store, 1).is_none());
        for stream in [4, 5, 6] {
            assert!(kept(&store, stream).is_some(), "{stream}");
        }
    }

    #[test]
    fn forgets_finished_streams_older_than_the_maximum_age_but_never_live_ones() {
        let store = InMemoryEventStore::new(3, 10, Duration::from_millis(20));
        store.open_stream(1, "s");
        store.append(1, event(1));
        store.open_stream(2, "s");
        store.append(2, event(1));
        store.finish(2);
        std::thread::sleep(Duration::from_millis(40));
        assert!(kept(&store, 2).is_none(), "finished and old: forgotten");
        let live = store.replay(1, "s", 0).expect("live: kept however quiet");
        assert!(!live.finished);
        // Opening a stream sweeps the expired one out of memory, and only it.
        store.open_stream(3, "s");
        assert!(!lock(&store.streams).logs.contains_key(&2));
        assert!(kept(&store, 1).is_some());
        // Once finished, a quiet stream is kept for the maximum age from its end.
        store.finish(1);
        assert!(kept(&store, 1).is_some());
    }

    #[test]
    fn the_open_order_stays_bounded_behind_a_long_lived_stream() {
        let store = InMemoryEventStore::new(3, 100, Duration::from_secs(60));
        store.open_stream(0, "s");
        for stream in 1..10_000 {
            store.open_stream(stream, "s");
            store.finish(stream);
        }
        let streams = lock(&store.streams);
        assert!(streams.opened.len() <= 2 * streams.logs.len() + 17);
        assert!(streams.logs.len() <= 100);
        assert!(streams.logs.contains_key(&0), "the live stream stays");
    }

    #[test]
    fn event_ids_round_trip() {
        // As the SSE frames write them (`sse::frame`).
        assert_eq!(parse_event_id("42-7"), Some((42, 7)));
        assert_eq!(parse_event_id("nope"), None);
        assert_eq!(parse_event_id("1-x"), None);
        for signed in ["+4-+0", "+4-0", "4-+0", "4--0", "-4-0"] {
            assert_eq!(parse_event_id(signed), None, "{signed}");
        }
        assert_eq!(parse_event_id("4-"), None);
        assert_eq!(
            parse_event_id(&format!("{0}-{0}", u64::MAX)),
            Some((u64::MAX, u64::MAX))
        );
        assert_eq!(parse_event_id("18446744073709551616-0"), None, "beyond u64");
    }

    #[test]
    fn a_replay_tells_the_last_sequence_appended_even_once_trimmed() {
        let store = InMemoryEventStore::new(2, 10, Duration::from_secs(60));
        store.open_stream(1, "s");
        assert_eq!(store.replay(1, "s", 0).unwrap().last_sequence, 0);
        for sequence in 1..=5 {
            store.append(1, event(sequence));
        }
        // After the last event: nothing to replay, but the stream got that far.
        let caught_up = store.replay(1, "s", 5).unwrap();
        assert!(caught_up.events.is_empty());
        assert_eq!(caught_up.last_sequence, 5);
        assert_eq!(store.replay(1, "s", 9).unwrap().last_sequence, 5);
        // Every event trimmed by age: the last trimmed is the last appended.
        let store = InMemoryEventStore::new(2, 10, Duration::from_millis(10));
        store.open_stream(1, "s");
        store.append(1, event(1));
        store.append(1, event(2));
        std::thread::sleep(Duration::from_millis(30));
        let replay = store.replay(1, "s", 2).unwrap();
        assert!(replay.events.is_empty());
        assert_eq!((replay.trimmed_through, replay.last_sequence), (2, 2));
    }
}
