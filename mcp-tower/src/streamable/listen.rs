//! `subscriptions/listen` (2026-07-28): a long-lived POST stream carrying the list-changed and
//! resource-updated notifications the client opted in to, each tagged with the subscription
//! id (the listen request's id), after an acknowledgement of what is honoured. Open streams
//! are capped for the server and for each authenticated principal, so that one client cannot
//! take every slot; a request over a cap is refused before anything else. It then goes
//! through the RPC tier like any other (scopes, rate limits, telemetry): only the router's
//! acceptance, which names the types it supports, opens the stream; any other answer is sent
//! as the response, with the status it maps to. At shutdown the server tears the
//! subscription down as the spec asks: `notifications/cancelled` for the listen request, its
//! (empty) result, then the end. A stream that falls behind the server's events ends the same
//! way, rather than skip some.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
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
use crate::error_body::error_response;
use crate::subscription::Subscription;

/// How many listen streams each authenticated principal holds. A principal leaves the map
/// when its last stream closes, so the map is no larger than the open streams.
#[derive(Default)]
pub(super) struct PrincipalListeners(Mutex<HashMap<String, usize>>);

impl PrincipalListeners {
    /// Counts one more stream of `principal`, unless it holds `max` already.
    fn take(&self, principal: &str, max: usize) -> bool {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match held.get_mut(principal) {
            Some(count) if *count < max => *count += 1,
            Some(_) => return false,
            None if max > 0 => {
                held.insert(principal.to_owned(), 1);
            }
            None => return false,
        }
        true
    }

    /// Counts one stream of `principal` less.
    fn give_back(&self, principal: &str) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(principal) {
            *count -= 1;
            if *count == 0 {
                held.remove(principal);
            }
        }
    }

    #[cfg(test)]
    fn principals(&self) -> usize {
        self.0.lock().unwrap().len()
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
            return error_response(
                StatusCode::OK,
                Some(self.id),
                ErrorObject::invalid_request("This server publishes no notifications"),
            );
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
    let expired = until(expires_at);
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

/// Waits until `deadline` (a wall-clock time, as credentials give them); forever without one.
async fn until(deadline: Option<SystemTime>) {
    match deadline {
        Some(deadline) => {
            let left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
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
mod tests {

    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use http::{Method, Request, StatusCode};
    use mcp_core::{CancellationToken, Principal, Router};
    use tower::{Layer, ServiceExt};

    use super::super::Shared;
    use super::PrincipalListeners;
    use crate::body::{McpBody, next_text as next};
    use crate::{McpHttpService, McpServer, StreamableHttpConfig, StreamableHttpLayer};

    /// A 2026-07-28 `subscriptions/listen` POST of `body`.
    fn listen_request(body: String) -> Request<McpBody> {
        Request::builder()
            .method(Method::POST)
            .uri("http://localhost/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "subscriptions/listen")
            .body(McpBody::from(body))
            .unwrap()
    }

    /// Opens a listen stream with request id `id`.
    async fn listen(service: &McpHttpService<McpBody>, id: u32) -> McpBody {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
        );
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body()
    }

    /// The JSON answer to a listen request with `params` that is refused at once.
    async fn refused(service: &McpHttpService<McpBody>, params: &str) -> serde_json::Value {
        let body = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen"{params}}}"#);
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn listen_params_are_required_and_bounded() {
        let config = StreamableHttpConfig::default().max_listen_resources(2);
        let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
            .http_config(config)
            .into_http_service();
        let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        let three = r#"{"resourceSubscriptions":["a://1","a://2","a://3"]}"#;
        for (case, params) in [
            ("no notifications", format!(r#","params":{{{meta}}}"#)),
            (
                "too many resources",
                format!(r#","params":{{{meta},"notifications":{three}}}"#),
            ),
        ] {
            let answer = refused(&service, &params).await;
            assert_eq!(answer["id"], 3, "{case}: {answer}");
            assert_eq!(answer["error"]["code"], -32602, "{case}: {answer}");
        }
        // Two are within the limit: the stream opens (and is acknowledged).
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"subscriptions/listen","params":{{{meta},"notifications":{{"resourceSubscriptions":["a://1","a://2"]}}}}}}"#
        );
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        let mut stream = response.into_body();
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_is_torn_down() {
        // Room for one undelivered event.
        let mut router = Router::builder().event_capacity(1);
        for name in ["a", "b", "c", "d"] {
            router = router.tool(
                mcp_core::Tool::new(name)
                    .raw_handler(|_, _: mcp_core::RequestContext| async { "" }),
            );
        }
        let router = router.build();
        let service: McpHttpService<McpBody> =
            McpServer::builder(router.clone()).into_http_service();
        let mut stream = listen(&service, 9).await;
        // Three changes before the stream reads any: it misses two.
        for name in ["a", "b", "c"] {
            router.remove_tool(name);
        }
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
        let reason = "the subscription fell behind its notifications";
        assert_eq!(next(&mut stream).await.unwrap(), torn_down(9, reason));
        assert_eq!(next(&mut stream).await, None);
    }

    /// What ends the subscription `id` from the server's side, as SSE events: the
    /// cancellation of the listen request, then its closing result.
    fn torn_down(id: i64, reason: &str) -> String {
        format!(
            "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":\
             {{\"_meta\":{{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"requestId\":{id},\
             \"reason\":\"{reason}\"}}}}\n\n\
             data: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"_meta\":\
             {{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"resultType\":\"complete\"}}}}\n\n"
        )
    }

    /// Waits (up to 5 s) until the server counts `open` listen streams and holds counts for
    /// `principals` principals.
    async fn counted(shared: &Shared, open: usize, principals: usize) {
        for _ in 0..500 {
            let now = (
                shared.listeners.load(Ordering::Relaxed),
                shared.principal_listeners.principals(),
            );
            if now == (open, principals) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("still not {open} streams of {principals} principals");
    }

    #[tokio::test]
    async fn every_end_of_a_stream_gives_its_slots_back() {
        let router = Router::builder().build();
        let shutdown = CancellationToken::new();
        let config = StreamableHttpConfig::default()
            .events_from(&router)
            .max_listeners(2)
            .max_listeners_per_principal(1)
            .shutdown_token(shutdown.clone());
        let layer = StreamableHttpLayer::new(config);
        let shared = Arc::clone(&layer.shared);
        let service = layer.layer(router);
        let listen_as = |user: &str, id: u32| {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
            );
            let mut request = listen_request(body);
            request.extensions_mut().insert(Principal::new(user));
            service.clone().oneshot(request)
        };

        // Refused after counting: the server's slot it took is given back.
        let first = listen_as("alice", 1).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let refused = listen_as("alice", 2).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            refused.extensions().get::<mcp_core::RefusedBy>(),
            Some(&mcp_core::RefusedBy::SessionLimit)
        );
        counted(&shared, 1, 1).await;

        // The client goes away: the principal is forgotten.
        drop(first);
        counted(&shared, 0, 0).await;

        // Shutdown ends both streams, which give their slots back.
        let mut streams = Vec::new();
        for (user, id) in [("alice", 3), ("bob", 4)] {
            let response = listen_as(user, id).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            streams.push(response.into_body());
        }
        counted(&shared, 2, 2).await;
        shutdown.cancel();
        for stream in &mut streams {
            while next(stream).await.is_some() {}
        }
        counted(&shared, 0, 0).await;
    }

    #[tokio::test]
    async fn the_rpc_tier_never_sees_a_listen_request_the_transport_refuses() {
        use std::sync::atomic::AtomicUsize;

        // The inner service stands for the RPC tier: telemetry there must not count as
        // answered a request the transport refuses.
        let router = Router::builder().build();
        let seen = Arc::new(AtomicUsize::new(0));
        let (counted, inner) = (Arc::clone(&seen), router.clone());
        let rpc = tower::service_fn(move |request: mcp_core::McpRequest| {
            if request.method() == Some("subscriptions/listen") {
                counted.fetch_add(1, Ordering::Relaxed);
            }
            inner.clone().oneshot(request)
        });
        let body = |id: u32| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
            )
        };

        // No events to deliver.
        let service = StreamableHttpLayer::new(StreamableHttpConfig::default()).layer(rpc.clone());
        let response = service.oneshot(listen_request(body(1))).await.unwrap();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert_eq!(seen.load(Ordering::Relaxed), 0);

        // Every slot taken: the server's, then the principal's.
        let config = StreamableHttpConfig::default()
            .events_from(&router)
            .max_listeners(2)
            .max_listeners_per_principal(1);
        let service = StreamableHttpLayer::new(config).layer(rpc);
        let listen_as = |user: &str, id: u32| {
            let mut request = listen_request(body(id));
            request.extensions_mut().insert(Principal::new(user));
            service.clone().oneshot(request)
        };
        let alice = listen_as("alice", 1).await.unwrap();
        assert_eq!(alice.status(), StatusCode::OK);
        assert_eq!(seen.load(Ordering::Relaxed), 1);
        let refused = listen_as("alice", 2).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let bob = listen_as("bob", 3).await.unwrap();
        assert_eq!(bob.status(), StatusCode::OK);
        let refused = listen_as("carol", 4).await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_principal_is_forgotten_with_its_last_stream() {
        let held = PrincipalListeners::default();
        assert!(held.take("alice", 2));
        assert!(held.take("alice", 2));
        assert!(!held.take("alice", 2));
        assert!(held.take("bob", 2));
        held.give_back("alice");
        assert!(held.take("alice", 2));
        for _ in 0..2 {
            held.give_back("alice");
        }
        held.give_back("bob");
        assert_eq!(held.principals(), 0);
    }

    #[tokio::test]
    async fn a_stream_ends_when_its_credential_expires() {
        let service: McpHttpService<McpBody> =
            McpServer::builder(Router::builder().build()).into_http_service();
        let body = r#"{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}},"notifications":{"toolsListChanged":true}}}"#;
        let expires_at = std::time::SystemTime::now() + std::time::Duration::from_millis(300);
        let mut request = listen_request(body.to_owned());
        request
            .extensions_mut()
            .insert(Principal::new("alice").with_expiry(expires_at));
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut stream = response.into_body();
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
        let torn = tokio::time::timeout(std::time::Duration::from_secs(5), next(&mut stream))
            .await
            .expect("ended within 5 s");
        assert!(std::time::SystemTime::now() >= expires_at);
        assert_eq!(torn.unwrap(), torn_down(5, "the credential expired"));
        assert_eq!(next(&mut stream).await, None);
    }

    #[tokio::test]
    async fn the_shutdown_token_tears_listen_streams_down() {
        let shutdown = CancellationToken::new();
        let config = StreamableHttpConfig::default().shutdown_token(shutdown.clone());
        let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
            .http_config(config)
            .into_http_service();
        let mut stream = listen(&service, 7).await;
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
        shutdown.cancel();
        let reason = "the server is shutting down";
        assert_eq!(next(&mut stream).await.unwrap(), torn_down(7, reason));
        assert_eq!(next(&mut stream).await, None);

        // A stream opened later is acknowledged, then closed at once.
        let mut late = listen(&service, 8).await;
        assert!(next(&mut late).await.unwrap().contains("acknowledged"));
        assert!(
            next(&mut late)
                .await
                .unwrap()
                .contains(r#""id":8,"result""#)
        );
        assert_eq!(next(&mut late).await, None);
    }
}
