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

/// Keeps recent events per stream, bounded by count and age.
pub trait EventStore: Send + Sync + 'static {
    /// Starts a stream owned by `session` (empty for stateless).
    fn open_stream(&self, stream: u64, session: &str);
    /// Appends an event.
    fn append(&self, stream: u64, event: StoredEvent);
    /// Marks the stream complete: nothing more will be appended.
    fn finish(&self, stream: u64);
    /// Events after `sequence`, whether the stream is finished, and a notifier for more;
    /// `None` when the stream is unknown, expired or owned by another session.
    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay>;
}

/// The answer to a resumption.
#[derive(Debug)]
pub struct Replay {
    /// Events after the requested one.
    pub events: Vec<StoredEvent>,
    /// Whether the stream has ended.
    pub finished: bool,
    /// Fires when the stream gets more events or finishes.
    pub more: Arc<Notify>,
}

/// The default [`EventStore`]: memory, at most `max_events_per_stream` events per stream, at
/// most `max_streams` streams, and nothing older than `max_age`.
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
    /// foldhash, seeded per process: SipHash cost more than the rest of recording a stream,
    /// and the keys are stream numbers the server counts up, never chosen by clients.
    streams: Mutex<HashMap<u64, StreamLog, foldhash::fast::RandomState>>,
    order: Mutex<VecDeque<u64>>,
    max_events_per_stream: usize,
    max_streams: usize,
    max_age: Duration,
}

#[derive(Debug)]
struct StreamLog {
    /// `None` for a stream without a session (stateless).
    session: Option<Arc<str>>,
    events: VecDeque<(Instant, StoredEvent)>,
    finished: bool,
    /// Made when a follower resumes the stream (see `replay`); most streams never have one.
    more: Option<Arc<Notify>>,
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
}

impl InMemoryEventStore {
    /// A store with these bounds.
    pub fn new(max_events_per_stream: usize, max_streams: usize, max_age: Duration) -> Self {
        Self {
            streams: Mutex::new(HashMap::default()),
            order: Mutex::new(VecDeque::new()),
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
        let mut order = lock(&self.order);
        // Evict the oldest streams (and any expired one at the front) to stay bounded.
        while let Some(&oldest) = order.front() {
            let expired = streams
                .get(&oldest)
                .is_none_or(|log| now.duration_since(log.touched) > self.max_age);
            if streams.len() < self.max_streams && !expired {
                break;
            }
            order.pop_front();
            if let Some(log) = streams.remove(&oldest) {
                log.notify();
            }
        }
        streams.insert(
            stream,
            StreamLog {
                session: (!session.is_empty()).then(|| Arc::from(session)),
                events: VecDeque::new(),
                finished: false,
                more: None,
                touched: now,
            },
        );
        order.push_back(stream);
    }

    fn append(&self, stream: u64, event: StoredEvent) {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let Some(log) = streams.get_mut(&stream) else {
            return;
        };
        while log.events.len() >= self.max_events_per_stream
            || log
                .events
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > self.max_age)
        {
            log.events.pop_front();
        }
        log.events.push_back((now, event));
        log.touched = now;
        log.notify();
    }

    fn finish(&self, stream: u64) {
        if let Some(log) = lock(&self.streams).get_mut(&stream) {
            log.finished = true;
            log.notify();
        }
    }

    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay> {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let log = streams.get_mut(&stream)?;
        if log.session.as_deref().unwrap_or("") != session
            || now.duration_since(log.touched) > self.max_age
        {
            return None;
        }
        Some(Replay {
            events: log
                .events
                .iter()
                .filter(|(_, e)| e.sequence > after)
                .map(|(_, e)| e.clone())
                .collect(),
            finished: log.finished,
            more: Arc::clone(log.more.get_or_insert_default()),
        })
    }
}

/// Parses an event id into `(stream, sequence)`.
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, sequence) = id.split_once('-')?;
    Some((stream.parse().ok()?, sequence.parse().ok()?))
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

    #[test]
    fn keeps_at_most_the_configured_events_per_stream() {
        let store = InMemoryEventStore::new(3, 10, Duration::from_secs(60));
        store.open_stream(1, "s");
        for sequence in 1..=10 {
            store.append(1, event(sequence));
        }
        let replay = store.replay(1, "s", 0).unwrap();
        let kept: Vec<u64> = replay.events.iter().map(|e| e.sequence).collect();
        assert_eq!(kept, [8, 9, 10]);
    }

    #[test]
    fn keeps_at_most_the_configured_streams() {
        let store = InMemoryEventStore::new(3, 2, Duration::from_secs(60));
        for stream in 1..=5 {
            store.open_stream(stream, "s");
        }
        assert!(store.replay(1, "s", 0).is_none());
        assert!(store.replay(3, "s", 0).is_none());
        assert!(store.replay(4, "s", 0).is_some());
        assert!(store.replay(5, "s", 0).is_some());
    }

    #[test]
    fn forgets_streams_older_than_the_maximum_age() {
        let store = InMemoryEventStore::new(3, 10, Duration::from_millis(20));
        store.open_stream(1, "s");
        store.append(1, event(1));
        std::thread::sleep(Duration::from_millis(40));
        assert!(store.replay(1, "s", 0).is_none());
    }

    #[test]
    fn event_ids_round_trip() {
        // As the SSE frames write them (`sse::frame`).
        assert_eq!(parse_event_id("42-7"), Some((42, 7)));
        assert_eq!(parse_event_id("nope"), None);
        assert_eq!(parse_event_id("1-x"), None);
    }
}
