//! What a stdio connection's reader loop and its request tasks share: the output, the
//! requests in flight with their cancellations, and the server→client requests awaiting the
//! client's answer.

use super::*;
use mcp_core::jsonrpc::{self, ClientResponse, ErrorObject, RequestId};
use mcp_core::{CancellationToken, ClientPeer, McpResponse, Outbound, OutboundMessage};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the reader loop and the request tasks share.
pub(super) struct Shared {
    pub(super) out: output::OutputSender,
    /// The ids of requests being answered, with their cancellation when they can be
    /// cancelled (not `initialize`, not batch items).
    pub(super) in_flight: Mutex<HashMap<RequestId, Option<Cancel>>>,
    pub(super) pending: Mutex<Pending>,
    pub(super) max_pending: usize,
    /// Messages one handler may queue before its sends wait.
    pub(super) outbound_capacity: usize,
    pub(super) next_id: AtomicU64,
}

/// How one request (or batch) is stopped.
#[derive(Clone)]
pub(super) struct Cancel {
    /// The handler's token: fires on the client's `notifications/cancelled` and at the end of
    /// input (a child of the connection's closing token).
    pub(super) token: CancellationToken,
    /// Fires only on the client's cancel: the work is dropped and no response is written. At
    /// the end of input a handler may still finish within the grace, and its answer is sent.
    pub(super) dropped: CancellationToken,
    /// The handler's link to the client, which carries `token`: the client's cancel goes
    /// through it, so that the request is known to be cancelled alone (telemetry tells it
    /// from a client gone).
    pub(super) peer: ClientPeer,
}

impl Cancel {
    /// The cancellation of a new request, and the transport's half of its link.
    pub(super) fn new(closing: &CancellationToken, capacity: usize) -> (Self, Outbound) {
        let token = closing.child_token();
        let (peer, outbound) = ClientPeer::request_channel(capacity, token.clone());
        let cancel = Self {
            token,
            dropped: CancellationToken::new(),
            peer,
        };
        (cancel, outbound)
    }

    fn cancel(&self) {
        // `dropped` first: a task woken by `token` must already see it.
        self.dropped.cancel();
        self.peer.cancel();
    }
}

/// Server→client requests awaiting the client's answer.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) replies: HashMap<RequestId, Reply>,
    /// Set at end of input: no answer can come any more.
    pub(super) closed: bool,
}

impl Pending {
    pub(super) fn close(&mut self) {
        self.closed = true;
        // Dropping the senders fails the waiting handlers at once.
        self.replies.clear();
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data stays consistent even if a holder panicked: every update is a single call.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(super) fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        lock(&self.pending)
    }

    pub(super) async fn send_line(&self, line: Vec<u8>) {
        // A closed queue means the writer failed; the reader loop reports that.
        let _ = self.out.send(line).await;
    }

    pub(super) async fn write(&self, response: &McpResponse) {
        if response.is_none() {
            return;
        }
        let mut line = Vec::with_capacity(256);
        response.write_json(&mut line);
        self.send_line(line).await;
    }

    /// Writes a handler's notification or server→client request; the id it gave a request.
    pub(super) async fn forward(&self, message: OutboundMessage) -> Option<RequestId> {
        let (method, params, reply) = match message {
            OutboundMessage::Notification(bytes) => {
                self.send_line(bytes).await;
                return None;
            }
            OutboundMessage::Request {
                method,
                params,
                reply,
            } => (method, params, reply),
            // stdio has no per-request stream to close.
            OutboundMessage::CloseStream => return None,
        };
        if reply.is_closed() {
            return None;
        }
        let id =
            RequestId::String(format!("s-{}", self.next_id.fetch_add(1, Ordering::Relaxed)).into());
        {
            let mut pending = self.lock_pending();
            if pending.closed {
                let _ = reply.send(Err(ErrorObject::internal_error(
                    "the client's input is closed",
                )));
                return None;
            }
            if pending.replies.len() >= self.max_pending {
                // Forget requests whose handler stopped waiting (timed out or cancelled).
                pending.replies.retain(|_, reply| !reply.is_closed());
            }
            if pending.replies.len() >= self.max_pending {
                let error = ErrorObject::internal_error("too many requests await the client");
                let _ = reply.send(Err(error));
                return None;
            }
            // Registered before writing so the answer cannot arrive first.
            pending.replies.insert(id.clone(), reply);
        }
        self.send_line(jsonrpc::request_json(&id, method, &params))
            .await;
        Some(id)
    }

    /// Tells the client about the requests in `asked` that are still unanswered now that
    /// their handler has finished (it timed out, or ended without the answer): a sender
    /// SHOULD cancel a request it stopped waiting for (the lifecycle page's timeouts).
    pub(super) async fn cancel_unanswered(&self, asked: Vec<RequestId>) {
        let unanswered: Vec<RequestId> = {
            let mut pending = self.lock_pending();
            if pending.closed {
                return;
            }
            asked
                .into_iter()
                .filter(|id| pending.replies.remove(id).is_some())
                .collect()
        };
        for id in unanswered {
            self.send_line(crate::abandoned::abandoned_request(&id))
                .await;
        }
    }

    pub(super) fn route_reply(&self, response: ClientResponse) {
        // An error without an id answers no request in particular: dropped like a stray one.
        let Some(id) = response.id else {
            tracing::debug!("error response without an id");
            return;
        };
        match self.lock_pending().replies.remove(&id) {
            Some(reply) => {
                let _ = reply.send(response.result);
            }
            None => tracing::debug!(%id, "answer to no pending request"),
        }
    }

    pub(super) fn cancel(&self, id: &RequestId) {
        match lock(&self.in_flight).get(id) {
            Some(Some(cancel)) => {
                tracing::debug!(%id, "request cancelled by the client");
                cancel.cancel();
            }
            Some(None) => {
                tracing::debug!(%id, "ignoring the cancellation of an uncancellable request")
            }
            None => {}
        }
    }
}

/// Removes a request's ids from the in-flight map however its task ends.
pub(super) struct InFlight {
    pub(super) shared: Arc<Shared>,
    pub(super) ids: Vec<RequestId>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.shared.in_flight);
        for id in &self.ids {
            in_flight.remove(id);
        }
    }
}
