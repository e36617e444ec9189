//! [`StreamableHttpConfig`]: the bridge's settings, and [`ResponseMode`].

use std::sync::Arc;
use std::time::Duration;

use mcp_core::ServerEvent;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::event_store::{EventStore, InMemoryEventStore};

/// When a request is answered with an SSE stream instead of plain JSON.
///
/// `Auto` gives the plain JSON clients parse most easily and streams only when the handler
/// has something to say first; `AlwaysSse` suits clients or proxies that expect one kind of
/// body; `JsonOnly` suits clients that cannot read SSE at all.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use http_body_util::BodyExt;
/// use mcp_tower::{McpBody, ResponseMode, StreamableHttpConfig, StreamableHttpLayer};
/// use tower::{Layer, ServiceExt};
///
/// for (mode, content_type) in [
///     (ResponseMode::Auto, "application/json"),
///     (ResponseMode::AlwaysSse, "text/event-stream"),
/// ] {
///     let config = StreamableHttpConfig::default().response_mode(mode);
///     let service = StreamableHttpLayer::new(config).layer(mcp_core::Router::builder().build());
///     let ping = http::Request::post("/mcp")
///         .header("accept", "application/json, text/event-stream")
///         .header("content-type", "application/json")
///         .body(McpBody::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
///         .unwrap();
///     let response = service.oneshot(ping).await.unwrap();
///     assert_eq!(response.headers()["content-type"], content_type);
///     let body = response.into_body().collect().await.unwrap().to_bytes();
///     assert!(String::from_utf8_lossy(&body).contains(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// JSON, unless the handler sends something (progress, log, a request) before its
    /// result: then SSE from that moment on.
    #[default]
    Auto,
    /// Always an SSE stream. A handler that answers in its first poll gets the whole stream
    /// (priming event under 2025-11-25, then the response) as one body with a
    /// `Content-Length`, written with the headers; otherwise events are written as they come.
    /// A 2026-07-28 answer that is a direct error with an HTTP status of its own (404 for
    /// -32601, 400, 403, 429) is JSON with that status, as the spec asks, and is awaited
    /// before any header is sent.
    /// In both eras a refusal an RPC-tier layer marks with an [`mcp_core::HttpRefusal`]
    /// (`ScopeLayer`'s 403, `RpcRateLimitLayer`'s 429) is JSON with its status and header,
    /// as in `Auto`. So in the legacy era the stream starts when the request reaches its
    /// handler (see [`mcp_core::ClientPeer::handler_started`]), or with the handler's first
    /// message or its answer: a layer that awaits something before refusing is answered
    /// with its status too.
    AlwaysSse,
    /// Always JSON: notifications are dropped and server→client requests fail.
    JsonOnly,
}

/// Settings of the bridge. Every bound has a default and a setter.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower::{ResponseMode, StreamableHttpConfig};
///
/// let config = StreamableHttpConfig::default()
///     .max_body_bytes(1 << 20)
///     .response_mode(ResponseMode::AlwaysSse)
///     .keep_alive(Duration::from_secs(10));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct StreamableHttpConfig {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_arriving_body_bytes: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) response_mode: ResponseMode,
    pub(crate) get_stream: bool,
    pub(crate) keep_alive: Duration,
    pub(crate) retry: Duration,
    pub(crate) outbound_capacity: usize,
    pub(crate) max_pending_client_requests: usize,
    pub(crate) max_pending_client_requests_per_session: usize,
    pub(crate) legacy: bool,
    pub(crate) modern: bool,
    pub(crate) event_store: Option<Arc<dyn EventStore>>,
    pub(crate) events: Option<EventSource>,
    pub(crate) max_listeners: usize,
    pub(crate) max_listeners_per_principal: usize,
    pub(crate) max_listen_resources: usize,
    pub(crate) max_listen_resource_bytes: usize,
    pub(crate) max_capabilities_bytes: usize,
    pub(crate) disconnect_grace: Duration,
    pub(crate) shutdown: Option<CancellationToken>,
}

/// Where `subscriptions/listen` streams get their notifications from.
pub type EventSource = Arc<dyn Fn() -> broadcast::Receiver<ServerEvent> + Send + Sync>;

impl std::fmt::Debug for StreamableHttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamableHttpConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_arriving_body_bytes", &self.max_arriving_body_bytes)
            .field("body_timeout", &self.body_timeout)
            .field("response_mode", &self.response_mode)
            .field("get_stream", &self.get_stream)
            .field("legacy", &self.legacy)
            .field("modern", &self.modern)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl Default for StreamableHttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_arriving_body_bytes: 256 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            response_mode: ResponseMode::Auto,
            get_stream: true,
            keep_alive: Duration::from_secs(15),
            retry: Duration::from_millis(1_000),
            outbound_capacity: 64,
            max_pending_client_requests: 10_000,
            max_pending_client_requests_per_session: 256,
            legacy: true,
            modern: true,
            event_store: Some(Arc::new(InMemoryEventStore::default())),
            events: None,
            max_listeners: 10_000,
            max_listeners_per_principal: 1_000,
            max_listen_resources: 1_000,
            max_listen_resource_bytes: crate::stdio::DEFAULT_MAX_LISTEN_RESOURCE_BYTES,
            max_capabilities_bytes: 16 * 1024,
            disconnect_grace: Duration::from_secs(30),
            shutdown: None,
        }
    }
}

impl StreamableHttpConfig {
    /// The largest accepted POST body (default 4 MiB); larger gets 413. Bodies are read
    /// whole before they are parsed; what the bodies still arriving may hold in all is
    /// [`max_arriving_body_bytes`](Self::max_arriving_body_bytes).
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// How many bytes the POST bodies that are still arriving may hold in all, across every
    /// connection of this bridge (default 256 MiB); a body that would take them past it gets
    /// 503 with `Retry-After` (over HTTP/1.1 its connection is closed; over HTTP/2 only its
    /// stream ends). Without it, clients that send all of each body but its last byte make
    /// the server hold [`max_body_bytes`](Self::max_body_bytes) per request, for every request
    /// they keep open: hundreds on one HTTP/2 connection. A body that arrives with its request
    /// head (nearly all do) is read at once and never counted, and a body alone is always
    /// read, even one larger than this budget.
    ///
    /// ```
    /// use mcp_tower::StreamableHttpConfig;
    ///
    /// let config = StreamableHttpConfig::default().max_arriving_body_bytes(64 * 1024 * 1024);
    /// # let _ = config;
    /// ```
    pub fn max_arriving_body_bytes(mut self, max: usize) -> Self {
        self.max_arriving_body_bytes = max;
        self
    }

    /// How long a POST body may take to arrive once its head has (default 30 s, at least
    /// 10 ms); a slower one gets 408 and its connection is closed. A client trickling a body would otherwise
    /// hold its connection and task for as long as it likes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_tower::StreamableHttpConfig;
    ///
    /// let config = StreamableHttpConfig::default().body_timeout(Duration::from_secs(10));
    /// # let _ = config;
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        // Zero would refuse every body that does not arrive with its head.
        self.body_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// JSON or SSE answers (default [`ResponseMode::Auto`]; see there for an example).
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = mode;
        self
    }

    /// Whether GET opens a session stream (default true; false answers 405). Without it no
    /// stream carries list changes and resource updates to legacy sessions, so `initialize`
    /// offers neither and `resources/subscribe` is refused (-32601); and no SSE answer can
    /// be resumed (GET resumes them), so none is recorded or primed.
    pub fn get_stream(mut self, enabled: bool) -> Self {
        self.get_stream = enabled;
        self
    }

    /// Interval of keep-alive comments on open streams (default 15 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = interval.max(Duration::from_millis(10));
        self
    }

    /// The `retry` advertised in priming events (default 1 s). Only 2025-11-25 streams a
    /// client can resume are primed: 2026-07-28 streams cannot be resumed and their events
    /// carry no ids, nor do streams without a session or a GET stream.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// How many messages a handler may queue before it waits for a slow client (default 64).
    pub fn outbound_capacity(mut self, capacity: usize) -> Self {
        self.outbound_capacity = capacity.max(1);
        self
    }

    /// The most server→client requests awaiting answers at once (default 10 000).
    pub fn max_pending_client_requests(mut self, max: usize) -> Self {
        self.max_pending_client_requests = max.max(1);
        self
    }

    /// The most server→client requests (`sample`, `elicit`, `list_roots`) one session may
    /// have awaiting answers at once (default 256), so that one client cannot take every
    /// slot of [`max_pending_client_requests`](Self::max_pending_client_requests). Without
    /// sessions the bound is per principal (by [`Principal::id`](mcp_core::Principal::id));
    /// anonymous stateless clients count only against the total. A request beyond it fails
    /// in the handler without being sent. A request stops counting once answered, or once
    /// its handler stops waiting (`client_request_timeout`, cancellation), when the client
    /// is sent `notifications/cancelled` for it.
    ///
    /// ```
    /// let config = mcp_tower::StreamableHttpConfig::default()
    ///     .max_pending_client_requests_per_session(16);
    /// # let _ = config;
    /// ```
    pub fn max_pending_client_requests_per_session(mut self, max: usize) -> Self {
        self.max_pending_client_requests_per_session = max.max(1);
        self
    }

    /// Serve the legacy era (2025-03-26 … 2025-11-25) (default true). Without it,
    /// `initialize` and other legacy requests get 400 and an `UnsupportedProtocolVersionError`
    /// naming 2026-07-28 only, and `server/discover` lists 2026-07-28 only.
    pub fn legacy(mut self, enabled: bool) -> Self {
        self.legacy = enabled;
        self
    }

    /// Serve the modern era (2026-07-28) (default true). Without it, a 2026-07-28 request is
    /// refused as a legacy server refuses it (400 and no modern error), so that clients that
    /// speak both eras fall back to `initialize`.
    ///
    /// ```
    /// let legacy_only = mcp_tower::StreamableHttpConfig::default().modern(false);
    /// # let _ = legacy_only;
    /// ```
    pub fn modern(mut self, enabled: bool) -> Self {
        self.modern = enabled;
        self
    }

    /// The notifications `subscriptions/listen` streams carry, usually the router's:
    /// `config.events_from(&router)`. Without it, a 2026-07-28 client's
    /// `subscriptions/listen` is refused (-32601, HTTP 404) and `server/discover` offers no
    /// list changes or resource subscriptions. [`McpServer`](crate::McpServer) sets it; a
    /// written-out stack must.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use http_body_util::BodyExt;
    /// use mcp_tower::{McpBody, StreamableHttpConfig, StreamableHttpLayer};
    /// use tower::{Layer, ServiceExt};
    ///
    /// let router = mcp_core::Router::builder().build();
    /// let config = StreamableHttpConfig::default().events_from(&router);
    /// let service = StreamableHttpLayer::new(config).layer(router);
    /// let listen = http::Request::post("/mcp")
    ///     .header("accept", "application/json, text/event-stream")
    ///     .header("content-type", "application/json")
    ///     .header("mcp-protocol-version", "2026-07-28")
    ///     .header("mcp-method", "subscriptions/listen")
    ///     .body(McpBody::from(r#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen",
    ///         "params":{"notifications":{"toolsListChanged":true},
    ///         "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
    ///                  "io.modelcontextprotocol/clientCapabilities":{}}}}"#))
    ///     .unwrap();
    /// // The stream stays open for list changes; it starts with the acknowledgement.
    /// let response = service.oneshot(listen).await.unwrap();
    /// assert_eq!(response.headers()["content-type"], "text/event-stream");
    /// let first = response.into_body().frame().await.unwrap().unwrap().into_data().unwrap();
    /// let first = String::from_utf8_lossy(&first);
    /// assert!(first.contains("notifications/subscriptions/acknowledged"));
    /// # }
    /// ```
    pub fn events_from(mut self, router: &mcp_core::Router) -> Self {
        let router = router.clone();
        self.events = Some(Arc::new(move || router.events()));
        self
    }

    /// How long a handler keeps running after its client dropped a resumable stream without
    /// resuming it (default 30 s); then its cancellation token fires, and the request is
    /// answered -32000 on its stream, for a client that resumes later while the store still
    /// holds it. Streams that cannot be resumed (no session, no event store, or no GET stream)
    /// cancel at once. At most a year.
    pub fn disconnect_grace(mut self, grace: Duration) -> Self {
        self.disconnect_grace = grace.min(crate::LONGEST_GRACE);
        self
    }

    /// The most concurrent `subscriptions/listen` streams (default 10 000).
    pub fn max_listeners(mut self, max: usize) -> Self {
        self.max_listeners = max;
        self
    }

    /// The most concurrent `subscriptions/listen` streams one principal (an authenticated
    /// subject, by [`Principal::id`](mcp_core::Principal::id)) may hold (default 1 000, a
    /// tenth of the default [`max_listeners`](Self::max_listeners)), so that one client cannot
    /// take every slot; a listen request beyond it gets 429. Streams of unauthenticated
    /// clients count only against `max_listeners`.
    ///
    /// ```
    /// let config = mcp_tower::StreamableHttpConfig::default().max_listeners_per_principal(10);
    /// # let _ = config;
    /// ```
    pub fn max_listeners_per_principal(mut self, max: usize) -> Self {
        self.max_listeners_per_principal = max.max(1);
        self
    }

    /// The most resources one `subscriptions/listen` stream may subscribe to (default 1 000);
    /// a request naming more is refused with -32602. Each listener keeps its list for its
    /// whole life.
    ///
    /// ```
    /// let config = mcp_tower::StreamableHttpConfig::default().max_listen_resources(100);
    /// # let _ = config;
    /// ```
    pub fn max_listen_resources(mut self, max: usize) -> Self {
        self.max_listen_resources = max;
        self
    }

    /// The most bytes of URIs one `subscriptions/listen` stream may subscribe to, together
    /// (default 256 KiB): the count alone does not bound them, a URI being as long as a
    /// request body. A request naming more is refused with -32602.
    ///
    /// ```
    /// let config = mcp_tower::StreamableHttpConfig::default().max_listen_resource_bytes(64 * 1024);
    /// # let _ = config;
    /// ```
    pub fn max_listen_resource_bytes(mut self, max: usize) -> Self {
        self.max_listen_resource_bytes = max;
        self
    }

    /// The largest `capabilities` object (its JSON text, in bytes) a legacy `initialize` may
    /// declare (default 16 KiB; clients declare a few hundred bytes). The session keeps the
    /// capabilities for its whole life, parsed, which takes up to about sixteen times their
    /// text; an `initialize` declaring more is refused with -32602 and opens no session.
    ///
    /// ```
    /// let config = mcp_tower::StreamableHttpConfig::default().max_capabilities_bytes(4 * 1024);
    /// # let _ = config;
    /// ```
    pub fn max_capabilities_bytes(mut self, max: usize) -> Self {
        self.max_capabilities_bytes = max;
        self
    }

    /// Ends the long-lived streams when `token` is cancelled (default: none): each
    /// `subscriptions/listen` stream sends `notifications/cancelled` for the listen request
    /// and its closing result, the listen request's empty result, and ends; each session GET stream ends (its client may resume it). Streams
    /// opened afterwards end at once. Without this, such streams stay open until their
    /// clients leave, and hold up a graceful shutdown that waits for open responses.
    ///
    /// [`serve`](crate::serve()) and its siblings end these streams when they shut down with
    /// no token needed. Cancel one from your own server's shutdown when the service is mounted
    /// elsewhere (axum, hyper):
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// use mcp_core::{CancellationToken, Router};
    /// use mcp_tower::{McpServer, StreamableHttpConfig};
    ///
    /// let shutdown = CancellationToken::new();
    /// let service = McpServer::builder(Router::builder().build())
    ///     .http_config(StreamableHttpConfig::default().shutdown_token(shutdown.clone()))
    ///     .into_http_service::<hyper::body::Incoming>();
    /// // Hand `service` to your server, and give it this as its graceful-shutdown signal
    /// // (axum: `axum::serve(listener, app).with_graceful_shutdown(signal)`).
    /// let signal = async move {
    ///     mcp_tower::serve::shutdown_signal().await; // Ctrl-C or SIGTERM
    ///     // Open streams end now, rather than keep the shutdown waiting.
    ///     shutdown.cancel();
    /// };
    /// # let _ = (service, signal);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.shutdown = Some(token);
        self
    }

    /// Where SSE events wait for resumption (default: [`InMemoryEventStore::default`], 256
    /// events per stream, 10 000 streams, 5 minutes, 64 MiB of event data; each session at
    /// most 1 000 streams and 16 MiB). `None` disables resumption. Other bounds:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use mcp_tower::StreamableHttpConfig;
    /// use mcp_tower::streamable::InMemoryEventStore;
    ///
    /// let store = InMemoryEventStore::new(256, 10_000, Duration::from_secs(300))
    ///     .max_bytes(256 << 20)
    ///     .max_bytes_per_session(32 << 20);
    /// let config = StreamableHttpConfig::default().event_store(Some(Arc::new(store)));
    /// # let _ = config;
    /// ```
    pub fn event_store(mut self, store: Option<Arc<dyn EventStore>>) -> Self {
        self.event_store = store;
        self
    }
}
