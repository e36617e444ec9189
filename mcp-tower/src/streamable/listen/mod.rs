//! `subscriptions/listen` (2026-07-28): a long-lived POST stream carrying the list-changed and
//! resource-updated notifications the client opted in to, each tagged with the subscription
//! id (the listen request's id), after an acknowledgement of what is honoured. Open streams
//! are capped for the server and for each authenticated principal, so that one client cannot
//! take every slot; a request over a cap is refused before anything else (before scope
//! checks and rate limits too, and unseen by RPC-tier telemetry: the HTTP tier counts it).
//! It then goes through the RPC tier like any other (scopes, rate limits, telemetry): only
//! the router's acceptance, which names the types it supports, opens the stream; any other
//! answer is sent as the response, with the status it maps to. At shutdown the server tears the
//! subscription down as the spec asks: `notifications/cancelled` for the listen request, its
//! (empty) result, then the end. A stream that falls behind the server's events ends the same
//! way, rather than skip some.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use mcp_core::{AllowList, McpRequest, McpResponse, Principal, ProtocolVersion, ServerEvent};
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::json_answer::json_response;
use super::sse::data_event;
use super::{RpcService, Shared, streamed_response};
use crate::body::McpBody;
use crate::counts::CountsPerKey;
use crate::error_body::error_response;
use crate::log_every::LogEvery;
use crate::session::lock;
use crate::subscription::{Subscription, not_publishing};

/// How many listen streams each authenticated principal holds.
#[derive(Default)]
pub(super) struct PrincipalListeners(Mutex<CountsPerKey<String>>);

impl PrincipalListeners {
    /// Counts one more stream of `principal`, unless it holds `max` already.
    fn take(&self, principal: &str, max: usize) -> bool {
        lock(&self.0).take(principal, max)
    }

    /// Counts one stream of `principal` less.
    fn give_back(&self, principal: &str) {
        lock(&self.0).give_back(principal);
    }

    #[cfg(test)]
    fn principals(&self) -> usize {
        lock(&self.0).keys()
    }
}

/// Which cap refused a stream.
enum Full {
    Server,
    Principal,
}

/// One open stream's place in the server's count and in its principal's (when
/// authenticated). Dropping it gives both back, however the stream ends: its client gone or
/// reset (the body is dropped and the stream's task sees it), shutdown, falling behind, or a
/// refusal after counting.
struct ListenerSlot {
    shared: Arc<Shared>,
    principal: Option<String>,
}

impl ListenerSlot {
    fn take(shared: Arc<Shared>, principal: Option<String>) -> Result<Self, Full> {
        if shared.listeners.fetch_add(1, Ordering::Relaxed) >= shared.config.max_listeners {
            shared.listeners.fetch_sub(1, Ordering::Relaxed);
            return Err(Full::Server);
        }
        let mut slot = Self {
            shared,
            principal: None,
        };
        if let Some(principal) = principal {
            let max = slot.shared.config.max_listeners_per_principal;
            if !slot.shared.principal_listeners.take(&principal, max) {
                return Err(Full::Principal);
            }
            slot.principal = Some(principal);
        }
        Ok(slot)
    }
}

impl Drop for ListenerSlot {
    fn drop(&mut self) {
        if let Some(principal) = &self.principal {
            self.shared.principal_listeners.give_back(principal);
        }
        self.shared.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A listen request ready for the RPC tier, and what opening its stream needs.
pub(super) struct Listen {
    pub(super) shared: Arc<Shared>,
    pub(super) request: McpRequest,
    pub(super) id: RequestId,
    pub(super) params: Option<Box<RawValue>>,
    pub(super) allow_list: Option<AllowList>,
}

impl Listen {
    /// Passes the request through the RPC tier, which gates the stream as it gates any
    /// request (scopes, rate limits, telemetry, allow-lists), and opens the stream on the
    /// router's acceptance; any other answer is the response, with the status it maps to.
    pub(super) async fn open<S: RpcService>(
        self,
        inner: S,
        request_headers: usize,
    ) -> Response<McpBody> {
        let version = self.request.version;
        // The transport's own refusals come first: the RPC tier (and its telemetry) must not
        // count as answered a listen request the transport then refuses.
        let Some(events) = self.shared.config.events.as_ref().map(|source| source()) else {
            return error_response(StatusCode::NOT_FOUND, Some(self.id), not_publishing());
        };
        let principal = self.request.extensions.get::<Principal>();
        let expires_at = principal.and_then(Principal::expires_at);
        // Unauthenticated streams count against the server's cap only, as sessions do.
        let principal = principal.map(|p| p.id().to_owned());
        // Held while the RPC tier answers, so that concurrent requests cannot all pass a cap
        // that only one of them fits under; given back if the answer opens no stream.
        let slot = match ListenerSlot::take(self.shared, principal) {
            Ok(slot) => slot,
            Err(full) => return refuse(full, self.id),
        };
        let answer = inner.oneshot(self.request).await.unwrap_or_default();
        let answered = Answered {
            id: self.id,
            params: self.params,
            answer,
            allow_list: self.allow_list,
            version,
            request_headers,
            expires_at,
        };
        handle(slot, events, answered)
    }
}

/// A listen request the RPC tier has answered.
struct Answered {
    id: RequestId,
    params: Option<Box<RawValue>>,
    answer: McpResponse,
    allow_list: Option<AllowList>,
    version: ProtocolVersion,
    request_headers: usize,
    /// When the caller's credential expires ([`Principal::expires_at`]).
    expires_at: Option<SystemTime>,
}

fn handle(
    slot: ListenerSlot,
    events: broadcast::Receiver<ServerEvent>,
    answered: Answered,
) -> Response<McpBody> {
    let Answered {
        id,
        params,
        answer,
        allow_list,
        version,
        request_headers,
        expires_at,
    } = answered;
    let Some(honoured) = Subscription::accepted(&answer) else {
        return json_response(&answer, version, request_headers);
    };
    let (subscription, acknowledgement) = Subscription::open(&id, params.as_deref(), honoured);
    let shared = &slot.shared;
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    let end = shared.stream_end();
    let opened = Opened {
        subscription,
        acknowledgement,
        allow_list,
        expires_at,
    };
    tokio::spawn(run(slot, opened, events, sink, end.clone()));
    streamed_response(McpBody::stream(body), end)
}

/// The answer at a cap: 503 when the server is full, 429 when the principal is. Both are
/// -32000 errors; neither names a wait, as the session caps name none.
fn refuse(full: Full, id: RequestId) -> Response<McpBody> {
    static FULL: LogEvery = LogEvery::new(std::time::Duration::from_secs(60));
    if let Some(held_back) = FULL.ready() {
        tracing::warn!(
            refusals_not_logged = held_back,
            server_wide = matches!(full, Full::Server),
            "subscriptions/listen refused at the listener cap \
             (StreamableHttpConfig::max_listeners / max_listeners_per_principal)"
        );
    }
    let (status, message) = match full {
        Full::Server => (StatusCode::SERVICE_UNAVAILABLE, "Too many listeners"),
        Full::Principal => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many listeners for this principal; close one",
        ),
    };
    let code = mcp_core::jsonrpc::codes::SERVER_ERROR;
    let mut response = error_response(status, Some(id), ErrorObject::new(code, message));
    if let Full::Principal = full {
        // A 429 here is a cap on open streams, not a rate limit (as at the session cap).
        response
            .extensions_mut()
            .insert(mcp_core::RefusedBy::SessionLimit);
    }
    response
}

/// An accepted subscription, what to say first, and what bounds what it carries.
struct Opened {
    subscription: Subscription,
    acknowledgement: Vec<u8>,
    allow_list: Option<AllowList>,
    /// When the caller's credential expires ([`Principal::expires_at`]).
    expires_at: Option<SystemTime>,
}

async fn run(
    slot: ListenerSlot,
    opened: Opened,
    mut events: broadcast::Receiver<ServerEvent>,
    sink: mpsc::Sender<Bytes>,
    end: CancellationToken,
) {
    let Opened {
        subscription,
        acknowledgement,
        allow_list,
        expires_at,
    } = opened;
    let shared = &slot.shared;
    // However the stream ends, its token is cancelled, so that the server forgets it.
    let _forget = end.clone().drop_guard();
    let ended = end.cancelled();
    tokio::pin!(ended);
    let expired = super::until(expires_at);
    tokio::pin!(expired);
    if sink.send(data_event(&acknowledgement)).await.is_err() {
        return;
    }
    let mut keep_alive = tokio::time::interval(shared.config.keep_alive);
    keep_alive.reset();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = keep_alive.tick() => {
                if sink.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return;
                }
                continue;
            }
            () = sink.closed() => return,
            () = &mut ended => {
                // A full queue means a client that is not reading: it would not read this
                // either, and waiting for room would hold the shutdown up.
                let _ = sink.try_send(teardown(&subscription, "the server is shutting down"));
                return;
            }
            () = &mut expired => {
                // Nothing more goes out on the expired credential: the client listens again
                // with a fresh one.
                let _ = sink.try_send(teardown(&subscription, "the credential expired"));
                return;
            }
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Its client would never learn what it missed. The subscription ends as the
                // server ends one: the client listens again and re-reads what it follows.
                // (The router's `event_capacity` bounds how far behind a stream may fall.)
                tracing::warn!(
                    missed,
                    "a subscriptions/listen stream fell behind; ending it"
                );
                let reason = "the subscription fell behind its notifications";
                tokio::select! {
                    _ = sink.send(teardown(&subscription, reason)) => {}
                    () = &mut ended => {}
                }
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(bytes) = subscription.notification(&event, allow_list.as_ref()) else {
            continue;
        };
        if sink.send(data_event(&bytes)).await.is_err() {
            return;
        }
    }
}

/// The events that end a subscription from the server's side, in one chunk so that a full
/// queue takes both or neither: `notifications/cancelled` for the listen request, which the
/// 2026-07-28 Cancellation page requires when a server tears a subscription down, then the
/// closing result the Subscriptions page asks for (stdio does the same, see `close_all`).
fn teardown(subscription: &Subscription, reason: &str) -> Bytes {
    let cancelled = data_event(&subscription.cancelled(reason));
    let closing = data_event(&subscription.closing_result());
    [cancelled, closing].concat().into()
}

#[cfg(test)]
mod tests;
