//! SSE framing: event ids that encode the stream, a priming event with `retry`, keep-alive
//! comments, and a copy of every event in the [`EventStore`] for resumption. 2026-07-28
//! streams cannot be resumed: their events carry no id (and they get no priming event).
//!
//! Two writers: [`SseWriter`] for a stream driven by its own task (a POST answered as SSE),
//! and [`StreamSink`] for a session's GET stream, which the fan-out writes into directly.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::event_store::{EventStore, StoredEvent};
use crate::session::{Delivery, EventSink};

/// A keep-alive comment.
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// What every event of one stream goes through: its number, its record in the store (for
/// resumption) and its frame.
struct EventLog {
    stream: u64,
    sequence: u64,
    store: Option<Arc<dyn EventStore>>,
    /// Whether frames carry their event id (legacy eras, where a client resumes from it).
    numbered: bool,
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
            store,
            numbered: true,
        }
    }

    /// Frames without event ids from now on (a 2026-07-28 stream).
    fn unnumbered(mut self) -> Self {
        self.numbered = false;
        self
    }

    /// The id a frame of event `sequence` carries, if any.
    fn id(&self, sequence: u64) -> Option<EventId> {
        self.numbered.then_some((self.stream, sequence))
    }

    /// Numbers and records `data` as the next event; its number.
    fn record(&mut self, data: &Bytes) -> u64 {
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
        self.sequence
    }

    /// Numbers and records `data` as the next event; its frame.
    fn next(&mut self, data: &Bytes) -> Bytes {
        let sequence = self.record(data);
        frame(self.id(sequence), data)
    }

    /// The frame of a stored event, with its original id.
    fn replay(&mut self, event: &StoredEvent) -> Bytes {
        self.sequence = self.sequence.max(event.sequence);
        frame(Some((self.stream, event.sequence)), &event.data)
    }

    /// Marks the stream complete in the store.
    fn finish(&self) {
        if let Some(store) = &self.store {
            store.finish(self.stream);
        }
    }
}

/// Writes one SSE stream. Dropping it finishes the stream in the store, however its task
/// ends (a panicking handler included), so that the store does not keep it live for good.
pub(crate) struct SseWriter {
    log: EventLog,
    sink: Option<mpsc::Sender<Bytes>>,
    /// A write found the client gone (or the connection replaced), and
    /// [`client_gone`](Self::client_gone) has not said so yet.
    lost: bool,
    /// Fires when a resumption of the stream takes over its delivery: this connection must
    /// then carry nothing more (see [`replaceable`](Self::replaceable)).
    replaced: Option<CancellationToken>,
}

impl SseWriter {
    /// A writer for `stream`, recording events in `store` under `session`; its events carry
    /// ids when `numbered` (legacy eras).
    pub(crate) fn new(
        stream: u64,
        session: &str,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
        numbered: bool,
    ) -> Self {
        let log = EventLog::open(stream, session, store);
        Self {
            log: if numbered { log } else { log.unnumbered() },
            sink: Some(sink),
            lost: false,
            replaced: None,
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
            lost: false,
            replaced: None,
        }
    }

    /// The stream id.
    pub(crate) fn stream(&self) -> u64 {
        self.log.stream
    }

    /// Leaves the connection once `replaced` fires (a resumption of the stream took over),
    /// so that no message goes out on two connections: nothing more is written to it, its
    /// body ends, and [`client_gone`](Self::client_gone) resolves as if the client had left.
    /// Events are still recorded, for the connection that took over.
    pub(crate) fn replaceable(&mut self, replaced: CancellationToken) {
        self.replaced = Some(replaced);
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

    /// Whether [`client_gone`](Self::client_gone) may still resolve: a client is attached,
    /// or a write found it gone.
    pub(crate) fn watches_client(&self) -> bool {
        self.lost || self.is_attached()
    }

    /// Resolves when the attached client goes away or a resumption replaces its connection
    /// (which is then left), at once when a write already found either (once); never when
    /// detached.
    pub(crate) async fn client_gone(&mut self) {
        if std::mem::take(&mut self.lost) {
            return;
        }
        let Some(sink) = &self.sink else {
            return std::future::pending().await;
        };
        let replaced = match &self.replaced {
            Some(replaced) => tokio::select! {
                () = sink.closed() => false,
                () = replaced.cancelled() => true,
            },
            None => {
                sink.closed().await;
                false
            }
        };
        if replaced {
            self.sink = None;
        }
    }

    async fn send(&mut self, frame: Bytes) -> bool {
        if self.replaced.as_ref().is_some_and(|r| r.is_cancelled()) && self.sink.is_some() {
            self.leave();
        }
        let Some(sink) = &self.sink else {
            // Detached: the event is in the store; that counts as delivered for now.
            return self.log.store.is_some();
        };
        let sent = match &self.replaced {
            // A full queue may wait long: a resumption meanwhile must not find this event
            // going out here too.
            Some(replaced) => tokio::select! {
                biased;
                sent = sink.send(frame) => sent.is_ok(),
                () = replaced.cancelled() => false,
            },
            None => sink.send(frame).await.is_ok(),
        };
        if !sent {
            self.leave();
        }
        sent
    }

    /// Lets go of the connection after the client left or was replaced, and tells
    /// [`client_gone`](Self::client_gone).
    fn leave(&mut self) {
        self.sink = None;
        self.lost = true;
    }
}

impl Drop for SseWriter {
    fn drop(&mut self) {
        self.log.finish();
    }
}

/// The frames of a whole stream known at once (a request answered in its handler's first
/// poll): the priming event (with `prime`'s reconnection delay, when given) and `data` as its
/// one event (with its id when `numbered`), registered in `store` under `session`, recorded
/// and finished like any stream, in one buffer.
pub(crate) fn complete_stream(
    stream: u64,
    session: &str,
    store: Option<Arc<dyn EventStore>>,
    prime: Option<u64>,
    data: Option<Bytes>,
    numbered: bool,
) -> Bytes {
    let mut log = EventLog::open(stream, session, store);
    if !numbered {
        log = log.unnumbered();
    }
    let id = data
        .as_ref()
        .map(|data| log.record(data))
        .map(|sequence| log.id(sequence));
    log.finish();
    if let (Some(data), Some(id)) = (&data, id)
        && has_line_break(data)
    {
        let prime = prime.map(|retry_ms| prime_frame(stream, retry_ms));
        let event = multiline_frame(id, data);
        return Bytes::from([prime.unwrap_or_default(), event].concat());
    }
    let mut prime_numbers = NumberBuffers::default();
    let mut event_numbers = NumberBuffers::default();
    let prime = prime.map(|retry_ms| prime_parts(&mut prime_numbers, stream, retry_ms));
    let event = data
        .as_deref()
        .zip(id)
        .map(|(data, id)| frame_parts(&mut event_numbers, id, None, data));
    joined(prime.into_iter().chain(event).flatten())
}

/// The writing end of a session's GET stream, kept by the session. The fan-out frames each
/// event, records it and queues it on the response body here, in one hop: no task wakes up
/// between the notification and the connection that writes it.
pub(crate) struct StreamSink {
    log: EventLog,
    /// `None` once let go of because its client stalled (see [`EventSink::try_event`]).
    connection: Option<Connection>,
}

/// The connection a session's GET stream is delivered on.
struct Connection {
    queue: mpsc::Sender<Bytes>,
    /// Dropped with the connection (session terminated, stream replaced, client stalled):
    /// ends the keep-alive task.
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
    /// Opens `stream` for `session`: registers it in `store` and queues the priming event
    /// (with `prime`'s reconnection delay, when given), so that it precedes every message.
    /// The receiver fires when the sink is dropped.
    pub(crate) fn open(
        stream: u64,
        session: &str,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
        prime: Option<u64>,
    ) -> (Self, oneshot::Receiver<()>) {
        let log = EventLog::open(stream, session, store);
        if let Some(retry_ms) = prime {
            // A new channel always has room for its first frame.
            let _ = sink.try_send(prime_frame(stream, retry_ms));
        }
        let (open, closed) = oneshot::channel();
        let connection = Some(Connection {
            queue: sink,
            _open: open,
        });
        (Self { log, connection }, closed)
    }
}

impl StreamSink {
    /// The stream id.
    pub(crate) fn stream(&self) -> u64 {
        self.log.stream
    }

    /// Lets go of the connection delivering the stream, as when it stalls: the stream goes on
    /// being recorded for its client to resume.
    pub(crate) fn let_go(&mut self) {
        self.connection = None;
    }

    /// Continues the stream on a new connection (its client resumed it), queued on `sink`;
    /// the receiver fires when the sink is dropped, as [`open`](Self::open)'s does.
    pub(crate) fn reattach(&mut self, sink: mpsc::Sender<Bytes>) -> oneshot::Receiver<()> {
        let (open, closed) = oneshot::channel();
        self.connection = Some(Connection {
            queue: sink,
            _open: open,
        });
        closed
    }
}

impl Drop for StreamSink {
    /// The session let go of its stream (ended, or replaced by a new one): nothing more will
    /// be recorded. A client that merely left does not finish it: it may resume.
    fn drop(&mut self) {
        self.log.finish();
    }
}

impl EventSink for StreamSink {
    fn is_closed(&self) -> bool {
        self.connection
            .as_ref()
            .is_none_or(|connection| connection.queue.is_closed())
    }

    /// With no client attached the event is recorded only, for the client to resume the
    /// stream from. A full queue means a client that is not keeping up, or a dead
    /// connection not yet found out (a half-open one takes TCP minutes): rather than drop
    /// the event unsaid, it is recorded and numbered like any other, and the connection let
    /// go of. That connection ends once it has written what it queued, so the client
    /// resumes from the last event it read, and the replay brings this event and the later
    /// ones. Without a store nothing can be replayed, but the client sees a gap in the
    /// numbers, or a refused resumption.
    fn try_event(&mut self, data: &Bytes) -> Delivery {
        let full = match self.connection.as_ref().map(|c| c.queue.try_reserve()) {
            Some(Ok(permit)) => {
                permit.send(self.log.next(data));
                return Delivery::Queued;
            }
            Some(Err(mpsc::error::TrySendError::Full(()))) => true,
            Some(Err(mpsc::error::TrySendError::Closed(()))) | None => false,
        };
        if full {
            self.log.record(data);
            // Its queue's sender and the keep-alive task's go: the body ends once drained.
            self.connection = None;
            return Delivery::Stalled;
        }
        if self.log.store.is_some() {
            self.log.record(data);
        }
        Delivery::Closed
    }
}

/// The priming event: an id and empty data (so clients learn a Last-Event-ID before any
/// message) and the reconnection delay.
fn prime_frame(stream: u64, retry_ms: u64) -> Bytes {
    joined(prime_parts(&mut Default::default(), stream, retry_ms).into_iter())
}

/// The frame of a stored event of `stream`, with its original id.
pub(crate) fn stored_frame(stream: u64, event: &StoredEvent) -> Bytes {
    frame(Some((stream, event.sequence)), &event.data)
}

/// One event without an id (the 2026-07-28 streams, which have no resumption), its data on
/// as many `data:` lines as it needs.
pub(crate) fn data_event(data: &[u8]) -> Bytes {
    frame(None, data)
}

/// An event id: the stream and the event's number in it, written `<stream>-<sequence>`.
type EventId = (u64, u64);

/// One event, `id: <stream>-<sequence>\ndata: <json>\n\n` (or without the id line), in one
/// allocation.
fn frame(id: Option<EventId>, data: &[u8]) -> Bytes {
    if has_line_break(data) {
        return multiline_frame(id, data);
    }
    joined(frame_parts(&mut Default::default(), id, None, data).into_iter())
}

/// Whether `data` holds a line break, which would end its `data:` field early. serde_json
/// writes none, but raw results (`RawJson`, a layer's `RawValue`) pass through as written,
/// pretty-printed perhaps.
fn has_line_break(data: &[u8]) -> bool {
    memchr::memchr2(b'\n', b'\r', data).is_some()
}

/// An event whose data spans lines: one `data:` field per line (ended by CRLF, CR or LF, as
/// SSE reads them), which the client joins again with LF. JSON allows a line break only
/// as whitespace, so the message reads the same.
fn multiline_frame(id: Option<EventId>, data: &[u8]) -> Bytes {
    let [stream_digits, sequence_digits, _] = &mut NumberBuffers::default();
    let mut out = Vec::with_capacity(data.len() + 64);
    if let Some((stream, sequence)) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(stream_digits.format(stream).as_bytes());
        out.push(b'-');
        out.extend_from_slice(sequence_digits.format(sequence).as_bytes());
        out.push(b'\n');
    }
    let mut rest = data;
    loop {
        out.extend_from_slice(b"data: ");
        let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
            out.extend_from_slice(rest);
            break;
        };
        out.extend_from_slice(&rest[..end]);
        out.push(b'\n');
        let crlf = rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n');
        rest = &rest[end + 1 + usize::from(crlf)..];
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Where the numbers of a frame are formatted: `itoa`, as serde_json does, not the
/// formatting machinery, which cost more than the rest of a frame.
type NumberBuffers = [itoa::Buffer; 3];

/// The priming event: event 0, with the reconnection delay and no data.
fn prime_parts(numbers: &mut NumberBuffers, stream: u64, retry_ms: u64) -> [&[u8]; 11] {
    frame_parts(numbers, Some((stream, 0)), Some(retry_ms), b"")
}

/// `id: <stream>-<sequence>` if given, then `retry: <ms>` if given, then `data: <json>`,
/// each on its own line, and the blank line that ends the event.
fn frame_parts<'a>(
    numbers: &'a mut NumberBuffers,
    id: Option<EventId>,
    retry_ms: Option<u64>,
    data: &'a [u8],
) -> [&'a [u8]; 11] {
    let [stream_digits, sequence_digits, retry_digits] = numbers;
    let [id_field, stream, dash, sequence, id_end]: [&[u8]; 5] = match id {
        Some((stream, sequence)) => [
            b"id: ",
            stream_digits.format(stream).as_bytes(),
            b"-",
            sequence_digits.format(sequence).as_bytes(),
            b"\n",
        ],
        None => [b""; 5],
    };
    let [retry_field, retry, retry_end]: [&[u8]; 3] = match retry_ms {
        Some(ms) => [b"retry: ", retry_digits.format(ms).as_bytes(), b"\n"],
        None => [b""; 3],
    };
    // One `data:` line holds the whole message: callers send data with line breaks to
    // `multiline_frame`.
    [
        id_field,
        stream,
        dash,
        sequence,
        id_end,
        retry_field,
        retry,
        retry_end,
        b"data: ",
        data,
        b"\n\n",
    ]
}

/// `parts` in a buffer of exactly their size: `Bytes` then owns the buffer as is, where
/// spare capacity would cost a second allocation for its shared header (and a second free
/// after the write).
fn joined<'p>(parts: impl Iterator<Item = &'p [u8]> + Clone) -> Bytes {
    let mut buffer = Vec::with_capacity(parts.clone().map(<[u8]>::len).sum());
    for part in parts {
        buffer.extend_from_slice(part);
    }
    Bytes::from(buffer)
}

#[cfg(test)]
mod tests;
