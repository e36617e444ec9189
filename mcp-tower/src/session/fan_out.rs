//! Delivery of server events (list changes, resource updates, server logs) to the GET
//! streams of the sessions that should see them.

use std::sync::Arc;

use bytes::Bytes;
use mcp_core::{Router, ServerEvent};
use tokio::sync::broadcast::error::RecvError;

use super::SessionStore;

/// How an event offered to a session's stream fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued for the client (and recorded for resumption).
    Queued,
    /// The client is not keeping up: rather than queued without bound, the event is
    /// recorded for resumption, and the connection let go of, to end once it has written
    /// what it queued, so that the client resumes the stream from where it got to.
    Stalled,
    /// The client has gone.
    Closed,
}

/// The writing end of a session's GET stream, kept by the session so that the fan-out
/// queues each event on the connection in one hop, with no task in between. Implemented by
/// the bridge's SSE writer (`streamable::sse::StreamSink`).
pub(crate) trait EventSink: Send + std::fmt::Debug {
    /// Queues `data` (one serialised JSON-RPC message, shared by every stream) as the next
    /// event without waiting.
    fn try_event(&mut self, data: &Bytes) -> Delivery;
    /// Whether the client has gone.
    fn is_closed(&self) -> bool;
    /// The sink as its own type, for the bridge that made it (to attach a client that
    /// resumes the stream); `None` unless that needs it.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// Starts the task that forwards `router`'s events to the sessions of `store`. Needs a
/// Tokio runtime; without one it logs a warning and does nothing.
pub(crate) fn spawn(router: &Router, store: Arc<dyn SessionStore>) {
    if tokio::runtime::Handle::try_current().is_err() {
        tracing::warn!("no Tokio runtime: server events will not reach session streams");
        return;
    }
    let mut events = router.events();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "session streams missed server events; telling every session to refresh"
                    );
                    resync(&*store);
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            deliver(&*store, &event);
        }
    });
}

/// After the fan-out fell behind, when the events it missed are gone for every session:
/// tells each session that whatever it follows may have changed (the three `list_changed`
/// notifications, and `resources/updated` for each of its subscriptions), so that its client
/// lists and reads again rather than miss a change without a sign. (2026-07-28 listen streams
/// are ended instead, which tells their clients the same.) Server logs missed are lost.
pub(crate) fn resync(store: &dyn SessionStore) {
    store.for_each(&mut |session| {
        for line in resync_lines(session.subscribed_uris()) {
            session.deliver(&Bytes::from(line));
        }
    });
}

/// What [`resync`] sends a session subscribed to `subscriptions`.
pub(crate) fn resync_lines(subscriptions: Vec<String>) -> impl Iterator<Item = Vec<u8>> {
    let lists = [
        ServerEvent::ToolsListChanged {
            name: String::new(),
        },
        ServerEvent::PromptsListChanged {
            name: String::new(),
        },
        ServerEvent::ResourcesListChanged { uri: String::new() },
    ];
    let updates = subscriptions.into_iter().map(ServerEvent::resource_updated);
    lists
        .into_iter()
        .chain(updates)
        .map(|event| event.to_json())
}

/// Queues `event`, serialised once, on the stream of every session that wants it.
pub(crate) fn deliver(store: &dyn SessionStore, event: &ServerEvent) {
    let bytes = Bytes::from(event.to_json());
    store.for_each(&mut |session| {
        if !event.is_wanted_by(&**session) {
            return;
        }
        // A full stream means a stalled client: neither grow nor wait.
        if session.deliver(&bytes) == Some(Delivery::Stalled) {
            tracing::debug!("session stream full; its connection ends for the client to resume");
        }
    });
}
