//! SSE framing: event ids that encode the stream, a priming event with `retry`, keep-alive
//! comments, and a copy of every event in the [`EventStore`] for resumption.
//!
//! Two writers: [`SseWriter`] for a stream driven by its own task (a POST answered as SSE),
//! and [`StreamSink`] for a session's GET stream, which the fan-out writes into directly.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::event_store::{EventStore, StoredEvent, event_id};
use crate::session::{Delivery, EventSink};

/// A keep-alive comment.
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// What every event of one stream goes through: its number, its record in the store (for
/// resumption) and its frame with the stream's id prefix, built once.
struct EventLog {
    stream: u64,
    sequence: u64,
    /// `id: <stream>-`, the part of every event id this stream repeats.
    id_prefix: Box<[u8]>,
    store: Option<Arc<dyn EventStore>>,
}

impl EventLog {
    /// A new stream, registered in `store` under `session`.
    fn open(stream: u64, session: &str, store: Option<Arc<dyn EventStore>>) -> Self {
        if let Some(store) = &store {
            store.open_stream(stream, session);
        }
        Self::resume(stream, 0, store)
    }

    /// An existing stream, continued after `sequence`.
    fn resume(stream: u64, sequence: u64, store: Option<Arc<dyn EventStore>>) -> Self {
        Self {
            stream,
            sequence,
            id_prefix: id_prefix(stream).into(),
            store,
        }
    }

    /// Numbers and records `data` as the next event; its frame.
    fn next(&mut self, data: &Bytes) -> Bytes {
        self.sequence += 1;
        if let Some(store) = &self.store {
            store.append(
                self.stream,
                StoredEvent {
                    sequence: self.sequence,
                    data: data.clone(),
                },
            );
        }
        frame(&self.id_prefix, self.sequence, data)
    }

    /// The frame of a stored event, with its original id.
    fn replay(&mut self, event: &StoredEvent) -> Bytes {
        self.sequence = self.sequence.max(event.sequence);
        frame(&self.id_prefix, event.sequence, &event.data)
    }

    /// Marks the stream complete in the store.
    fn finish(&self) {
        if let Some(store) = &self.store {
            store.finish(self.stream);
        }
    }
}

/// Writes one SSE stream.
pub(crate) struct SseWriter {
    log: EventLog,
    sink: Option<mpsc::Sender<Bytes>>,
}

impl SseWriter {
    /// A writer for `stream`, recording events in `store` under `session`.
    pub(crate) fn new(
        stream: u64,
        session: &str,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
    ) -> Self {
        Self {
            log: EventLog::open(stream, session, store),
            sink: Some(sink),
        }
    }

    /// A writer that continues an existing stream after `sequence` (resumption).
    pub(crate) fn resume(
        stream: u64,
        sequence: u64,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
    ) -> Self {
        Self {
            log: EventLog::resume(stream, sequence, store),
            sink: Some(sink),
        }
    }

    /// The stream id.
    pub(crate) fn stream(&self) -> u64 {
        self.log.stream
    }

    /// Queues the priming event: an id and empty data (so clients learn a Last-Event-ID
    /// before any message) and the reconnection delay. Called first, on a new channel, which
    /// always has room: the frame is in the body before the response is returned, so the
    /// connection writes it with the headers.
    pub(crate) fn prime(&mut self, retry_ms: u64) {
        if let Some(sink) = &self.sink
            && sink
                .try_send(prime_frame(self.log.stream, retry_ms))
                .is_err()
        {
            self.sink = None;
        }
    }

    /// Writes a JSON-RPC message as the next event; false when the client has gone.
    pub(crate) async fn event(&mut self, data: Bytes) -> bool {
        let frame = self.log.next(&data);
        self.send(frame).await
    }

    /// Replays a stored event with its original id.
    pub(crate) async fn replay(&mut self, event: &StoredEvent) -> bool {
        let frame = self.log.replay(event);
        self.send(frame).await
    }

    /// A keep-alive comment.
    pub(crate) async fn keep_alive(&mut self) -> bool {
        self.send(Bytes::from_static(KEEP_ALIVE)).await
    }

    /// Closes the connection but keeps recording (the client will resume).
    pub(crate) fn detach(&mut self) {
        self.sink = None;
    }

    /// Whether a client is attached and listening.
    pub(crate) fn is_attached(&self) -> bool {
        self.sink.as_ref().is_some_and(|s| !s.is_closed())
    }

    /// Resolves when the attached client goes away (never, when detached).
    pub(crate) async fn client_gone(&self) {
        match &self.sink {
            Some(sink) => sink.closed().await,
            None => std::future::pending().await,
        }
    }

    /// Marks the stream complete in the store.
    pub(crate) fn finish(self) {
        self.log.finish();
    }

    async fn send(&mut self, frame: Bytes) -> bool {
        match &self.sink {
            Some(sink) => {
                if sink.send(frame).await.is_ok() {
                    true
                } else {
                    self.sink = None;
                    false
                }
            }
            // Detached: the event is in the store; that counts as delivered for now.
            None => self.log.store.is_some(),
        }
    }
}

/// The frames of a whole stream known at once (a request answered in its handler's first
/// poll): the priming event and `data` as its one event, registered in `store` under
/// `session`, recorded and finished like any stream, in one buffer.
pub(crate) fn complete_stream(
    stream: u64,
    session: &str,
    store: Option<Arc<dyn EventStore>>,
    retry_ms: u64,
    data: Option<Bytes>,
) -> Bytes {
    let mut log = EventLog::open(stream, session, store);
    let event = data.map(|data| log.next(&data));
    log.finish();
    let prime = prime_frame(stream, retry_ms);
    match event {
        Some(event) => [prime, event].concat().into(),
        None => prime,
    }
}

/// The writing end of a session's GET stream, kept by the session. The fan-out frames each
/// event, records it and queues it on the response body here, in one hop: no task wakes up
/// between the notification and the connection that writes it.
pub(crate) struct StreamSink {
    log: EventLog,
    sink: mpsc::Sender<Bytes>,
    /// Dropped with the sink (session terminated, stream replaced): ends the keep-alive task.
    _open: oneshot::Sender<()>,
}

impl std::fmt::Debug for StreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSink")
            .field("stream", &self.log.stream)
            .field("sequence", &self.log.sequence)
            .finish_non_exhaustive()
    }
}

impl StreamSink {
    /// Opens `stream` for `session`: registers it in `store` and queues the priming event,
    /// so that it precedes every message. The receiver fires when the sink is dropped.
    pub(crate) fn open(
        stream: u64,
        session: &str,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
        retry_ms: u64,
    ) -> (Self, oneshot::Receiver<()>) {
        let log = EventLog::open(stream, session, store);
        // A new channel always has room for its first frame.
        let _ = sink.try_send(prime_frame(stream, retry_ms));
        let (open, closed) = oneshot::channel();
        let sink = Self {
            log,
            sink,
            _open: open,
        };
        (sink, closed)
    }
}

impl EventSink for StreamSink {
    fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }

    /// A full queue drops the event instead of blocking the fan-out.
    fn try_event(&mut self, data: &Bytes) -> Delivery {
        let permit = match self.sink.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Full(())) => return Delivery::Full,
            Err(mpsc::error::TrySendError::Closed(())) => return Delivery::Closed,
        };
        // Numbered and recorded only once it is sure to go out: a dropped event leaves no gap.
        permit.send(self.log.next(data));
        Delivery::Queued
    }
}

/// The priming event: an id and empty data (so clients learn a Last-Event-ID before any
/// message) and the reconnection delay.
fn prime_frame(stream: u64, retry_ms: u64) -> Bytes {
    let frame = format!("id: {}\nretry: {retry_ms}\ndata: \n\n", event_id(stream, 0));
    Bytes::from(frame.into_boxed_str().into_boxed_bytes())
}

/// `id: <stream>-`.
fn id_prefix(stream: u64) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(28);
    prefix.extend_from_slice(b"id: ");
    put_decimal(&mut prefix, stream);
    prefix.push(b'-');
    prefix
}

/// One event: `<id prefix><sequence>\ndata: <json>\n\n`, in one allocation.
fn frame(id_prefix: &[u8], sequence: u64, data: &[u8]) -> Bytes {
    let mut digits = [0u8; 20];
    let sequence = decimal(&mut digits, sequence);
    let parts: [&[u8]; 5] = [id_prefix, sequence, b"\ndata: ", data, b"\n\n"];
    // Exactly sized: `Bytes` then owns the buffer as is, where spare capacity would cost
    // a second allocation for its shared header (and a second free after the write).
    let mut frame = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    // serde_json never emits raw newlines, so one `data:` line holds the whole message.
    for part in parts {
        frame.extend_from_slice(part);
    }
    Bytes::from(frame)
}

fn put_decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(&mut digits, value));
}

/// Formats `value` in `buffer` without the formatting machinery (this runs once per event
/// and stream).
fn decimal(buffer: &mut [u8; 20], mut value: u64) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buffer[start..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streamable::InMemoryEventStore;

    #[test]
    fn frames_carry_the_stream_and_sequence_in_their_id() {
        assert_eq!(
            &frame(&id_prefix(42), 7, b"{}")[..],
            b"id: 42-7\ndata: {}\n\n"
        );
        assert_eq!(&frame(&id_prefix(0), 0, b"1")[..], b"id: 0-0\ndata: 1\n\n");
        let max = format!("id: {0}-{0}\ndata: x\n\n", u64::MAX);
        assert_eq!(
            &frame(&id_prefix(u64::MAX), u64::MAX, b"x")[..],
            max.as_bytes()
        );
    }

    #[tokio::test]
    async fn a_stream_sink_primes_numbers_records_and_drops_when_full() {
        let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::default());
        let (sender, mut body) = mpsc::channel(2);
        let (mut sink, mut open) = StreamSink::open(9, "s", sender, Some(Arc::clone(&store)), 500);
        assert_eq!(
            &body.recv().await.unwrap()[..],
            b"id: 9-0\nretry: 500\ndata: \n\n"
        );
        let data = Bytes::from_static(b"{\"n\":1}");
        assert_eq!(sink.try_event(&data), Delivery::Queued);
        assert_eq!(sink.try_event(&data), Delivery::Queued);
        // The queue holds two frames: the third event is dropped, not numbered or recorded.
        assert_eq!(sink.try_event(&data), Delivery::Full);
        assert_eq!(
            &body.recv().await.unwrap()[..],
            b"id: 9-1\ndata: {\"n\":1}\n\n"
        );
        assert_eq!(
            &body.recv().await.unwrap()[..],
            b"id: 9-2\ndata: {\"n\":1}\n\n"
        );
        assert_eq!(sink.try_event(&data), Delivery::Queued);
        assert_eq!(
            &body.recv().await.unwrap()[..],
            b"id: 9-3\ndata: {\"n\":1}\n\n"
        );
        let replay = store.replay(9, "s", 1).unwrap();
        let sequences: Vec<u64> = replay.events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [2, 3]);
        assert!(open.try_recv().is_err(), "still open");
        drop(body);
        assert!(sink.is_closed());
        assert_eq!(sink.try_event(&data), Delivery::Closed);
        drop(sink);
        assert!(open.await.is_err(), "dropping the sink signals the end");
    }

    /// The user-space cost of one fan-out (serialise once, filter, frame, record, queue),
    /// without the connections that write the frames.
    #[tokio::test(flavor = "current_thread")]
    #[ignore = "a timing: cargo test --release -p mcp-tower fan_out_cost -- --ignored --nocapture"]
    async fn fan_out_cost() {
        use std::time::{Duration, Instant};

        use crate::session::{InMemorySessionStore, NewSession, SessionStore};
        use mcp_core::Session;

        let streams = 10_000;
        let config = crate::SessionConfig::default().max_sessions(streams);
        let store = InMemorySessionStore::new(config);
        let events: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::new(
            256,
            streams,
            Duration::from_secs(300),
        ));
        let mut bodies = Vec::with_capacity(streams);
        for stream in 0..streams as u64 {
            let new = NewSession {
                principal: None,
                version: mcp_core::ProtocolVersion::V2025_11_25,
                capabilities: Default::default(),
                allow_list: None,
            };
            let session = store.create(new).unwrap();
            session.subscribe("x://y").unwrap();
            let body = session.open_stream(|capacity| {
                let (sender, mut body) = mpsc::channel(capacity);
                let store = Some(Arc::clone(&events));
                let (sink, ended) = StreamSink::open(stream, session.id(), sender, store, 1000);
                body.try_recv().expect("priming");
                (Box::new(sink) as Box<dyn EventSink>, (body, ended))
            });
            bodies.push(body.unwrap());
        }
        let event = mcp_core::ServerEvent::ResourceUpdated("x://y".into());
        let mut times = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            crate::session::deliver(&store, &event);
            times.push(started.elapsed());
            for (body, _) in &mut bodies {
                body.try_recv().expect("delivered");
            }
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / streams as f64;
        let first = times[0];
        times.sort();
        println!(
            "fan-out to {streams} streams: first {:.3} us per stream, median {:.3}, best {:.3}",
            per(first),
            per(times[times.len() / 2]),
            per(times[0])
        );
    }
}
