//! Delivery of server events (list changes, resource updates, server logs) to the GET
//! streams of the sessions that should see them.

use std::sync::Arc;

use bytes::Bytes;
use mcp_core::Router;
use tokio::sync::broadcast::error::RecvError;

use super::SessionStore;

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
                    tracing::warn!(missed, "session streams missed server events");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let bytes = Bytes::from(event.to_json());
            store.for_each(&mut |session| {
                if !event.is_wanted_by(&**session) {
                    return;
                }
                if let Some(stream) = session.stream_sender() {
                    // A full stream means a stalled client: drop rather than grow.
                    if stream.try_send(bytes.clone()).is_err() {
                        tracing::debug!("session stream full; notification dropped");
                    }
                }
            });
        }
    });
}
