//! SSE framing: event ids that encode the stream, a priming event with `retry`, keep-alive
//! comments, and a copy of every event in the [`EventStore`] for resumption.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::event_store::{EventStore, StoredEvent, event_id};

/// Writes one SSE stream.
pub(crate) struct SseWriter {
    stream: u64,
    sequence: u64,
    sink: Option<mpsc::Sender<Bytes>>,
    store: Option<Arc<dyn EventStore>>,
}

impl SseWriter {
    /// A writer for `stream`, recording events in `store` under `session`.
    pub(crate) fn new(
        stream: u64,
        session: &str,
        sink: mpsc::Sender<Bytes>,
        store: Option<Arc<dyn EventStore>>,
    ) -> Self {
        if let Some(store) = &store {
            store.open_stream(stream, session);
        }
        Self {
            stream,
            sequence: 0,
            sink: Some(sink),
            store,
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
            stream,
            sequence,
            sink: Some(sink),
            store,
        }
    }

    /// The stream id.
    pub(crate) fn stream(&self) -> u64 {
        self.stream
    }

    /// The priming event: an id and empty data (so clients learn a Last-Event-ID before any
    /// message) and the reconnection delay.
    pub(crate) async fn prime(&mut self, retry_ms: u64) -> bool {
        let frame = format!(
            "id: {}\nretry: {retry_ms}\ndata: \n\n",
            event_id(self.stream, 0)
        );
        self.send(Bytes::from(frame)).await
    }

    /// Writes a JSON-RPC message as the next event; false when the client has gone.
    pub(crate) async fn event(&mut self, data: Bytes) -> bool {
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
        let frame = frame(self.stream, self.sequence, &data);
        self.send(frame).await
    }

    /// Replays a stored event with its original id.
    pub(crate) async fn replay(&mut self, event: &StoredEvent) -> bool {
        self.sequence = self.sequence.max(event.sequence);
        self.send(frame(self.stream, event.sequence, &event.data))
            .await
    }

    /// A keep-alive comment.
    pub(crate) async fn keep_alive(&mut self) -> bool {
        self.send(Bytes::from_static(b": keep-alive\n\n")).await
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
        if let Some(store) = &self.store {
            store.finish(self.stream);
        }
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
            None => self.store.is_some(),
        }
    }
}

fn frame(stream: u64, sequence: u64, data: &[u8]) -> Bytes {
    let id = event_id(stream, sequence);
    let mut frame = BytesMut::with_capacity(data.len() + id.len() + 16);
    frame.put_slice(b"id: ");
    frame.put_slice(id.as_bytes());
    frame.put_slice(b"\ndata: ");
    // serde_json never emits raw newlines, so one `data:` line holds the whole message.
    frame.put_slice(data);
    frame.put_slice(b"\n\n");
    frame.freeze()
}
