//! [`StreamableHttp`]: the bridge from HTTP to the RPC tier. One endpoint; POST carries
//! JSON-RPC messages and gets JSON or an SSE stream back; GET opens a session's stream for
//! unsolicited messages (or resumes one with `Last-Event-ID`).

mod accept;
mod batch_items;
mod config;
pub(crate) mod era;
mod event_store;
mod exchange;
mod get;
mod json_answer;
mod listen;
mod mcp_headers;
mod pending;
mod post;
mod request_body;
mod resumption;
mod routing_headers;
mod sse;
mod stream_numbers;
#[cfg(test)]
mod test_support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use mcp_core::{McpRequest, McpResponse};
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;
use tower_service::Service;

pub use config::{EventSource, ResponseMode, StreamableHttpConfig};
pub use event_store::{EventStore, InMemoryEventStore, Replay, StoredEvent};

use crate::body::McpBody;
use crate::error_body::json_rpc_error_response;
use crate::session::SessionManager;
use accept::{Accepts, accepts};
pub(crate) use era::check_session_header;
use pending::PendingRequests;

/// State shared by every clone of the bridge.
pub(crate) struct Shared {
    pub(crate) config: StreamableHttpConfig,
    pub(crate) pending: PendingRequests,
    pub(crate) stream_numbers: stream_numbers::StreamNumbers,
    pub(crate) retry_ms: u64,
    pub(crate) listeners: AtomicUsize,
    principal_listeners: listen::PrincipalListeners,
    /// Who delivers each resumable stream: its writer, or the resumption that took it over.
    pub(crate) resumptions: resumption::Resumptions,
    /// The bytes of POST bodies still arriving, and their bound.
    pub(crate) arriving: request_body::Receiving,
}

impl Shared {
    /// Whether a stream can carry list changes and resource updates to a client of
    /// `version`: `subscriptions/listen` fed with events (2026-07-28); the session's GET
    /// stream, fed by its `sessions` (legacy).
    pub(crate) fn carries_notifications(
        &self,
        version: mcp_core::ProtocolVersion,
        sessions: Option<&crate::session::SessionManager>,
    ) -> bool {
        if version.is_modern() {
            self.config.events.is_some()
        } else {
            self.config.get_stream && sessions.is_some_and(|s| s.delivers_events)
        }
    }

    /// The reconnection delay of the priming event that opens a stream of `version`; `None`
    /// when that version's streams have none.
    pub(crate) fn priming(&self, version: mcp_core::ProtocolVersion) -> Option<u64> {
        version.has_sse_priming().then_some(self.retry_ms)
    }

    /// What ends one long-lived stream: cancelled by the configured shutdown token, or by
    /// the server that carries the stream's response (see [`streamed_response`]). The
    /// stream cancels it too when it ends, so that a server forgets it.
    pub(crate) fn stream_end(&self) -> CancellationToken {
        self.config
            .shutdown
            .as_ref()
            .map_or_else(CancellationToken::new, CancellationToken::child_token)
    }
}

/// The response of a long-lived SSE stream that `end` ends: it carries the token to the
/// server, which cancels it when it shuts down.
pub(crate) fn streamed_response(body: McpBody, end: CancellationToken) -> Response<McpBody> {
    let mut response = sse_response(body, 0);
    response
        .extensions_mut()
        .insert(crate::serve::EndStream(end));
    response
}

/// Waits until `deadline` (a wall-clock time, as credentials give them); forever without one.
pub(crate) async fn until(deadline: Option<std::time::SystemTime>) {
    match deadline {
        Some(deadline) => {
            let left = deadline
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
    }
}

/// Turns an RPC-tier service into the HTTP endpoint.
///
/// ```
/// use mcp_core::Router;
/// use mcp_tower::{StreamableHttpConfig, StreamableHttpLayer};
/// use tower::Layer;
///
/// let http = StreamableHttpLayer::new(StreamableHttpConfig::default())
///     .layer(Router::builder().build());
/// # let _ = http;
/// ```
#[derive(Clone)]
pub struct StreamableHttpLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StreamableHttpLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamableHttpLayer")
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Default for StreamableHttpLayer {
    fn default() -> Self {
        Self::new(StreamableHttpConfig::default())
    }
}

impl StreamableHttpLayer {
    /// A bridge with this configuration.
    pub fn new(config: StreamableHttpConfig) -> Self {
        let retry_ms = config.retry.as_millis() as u64;
        let pending = PendingRequests::new(
            config.max_pending_client_requests,
            config.max_pending_client_requests_per_session,
        );
        let arriving = request_body::Receiving::new(config.max_arriving_body_bytes);
        Self {
            shared: Arc::new(Shared {
                config,
                pending,
                stream_numbers: stream_numbers::StreamNumbers::default(),
                retry_ms,
                listeners: AtomicUsize::new(0),
                principal_listeners: listen::PrincipalListeners::default(),
                resumptions: resumption::Resumptions::default(),
                arriving,
            }),
        }
    }
}

impl<S> Layer<S> for StreamableHttpLayer {
    type Service = StreamableHttp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamableHttp {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`StreamableHttpLayer`].
#[derive(Clone)]
pub struct StreamableHttp<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for StreamableHttp<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamableHttp").finish_non_exhaustive()
    }
}

/// The RPC-tier service the bridge drives.
pub trait RpcService:
    Service<McpRequest, Response = McpResponse, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> RpcService for S where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

impl<S, B> Service<Request<B>> for StreamableHttp<S>
where
    S: RpcService,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner service is driven with `oneshot` on a clone, which waits for readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let inner = self.inner.clone();
        let future: Pin<Box<dyn Future<Output = Response<McpBody>> + Send>> =
            match *request.method() {
                Method::POST => Box::pin(post::handle(shared, inner, request)),
                Method::GET => Box::pin(get::handle(shared, request)),
                _ => {
                    let mut refusal = method_not_allowed(&shared, request.extensions());
                    mcp_core::headers::close_if_body_unread(
                        request.version(),
                        request.headers(),
                        refusal.headers_mut(),
                    );
                    Box::pin(std::future::ready(refusal))
                }
            };
        ResponseFuture { future }
    }
}

/// 405 with the methods this endpoint serves in `Allow` (RFC 9110 §15.5.6): DELETE only with
/// sessions (the session layer, which puts its manager into the extensions, answers it), GET
/// only where it opens a session stream.
fn method_not_allowed(shared: &Shared, extensions: &http::Extensions) -> Response<McpBody> {
    let sessions = extensions.get::<SessionManager>().is_some();
    let get = sessions && shared.config.get_stream && shared.config.legacy;
    let (allow, message) = match (get, sessions) {
        (true, _) => (
            "GET, POST, DELETE",
            "Method Not Allowed: use POST (or GET for the session stream)",
        ),
        (false, true) => ("POST, DELETE", "Method Not Allowed: use POST"),
        (false, false) => ("POST", "Method Not Allowed: use POST"),
    };
    let mut response = json_rpc_error_response(StatusCode::METHOD_NOT_ALLOWED, -32600, message);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

pin_project_lite::pin_project! {
    /// The response future of [`StreamableHttp`].
    pub struct ResponseFuture {
        #[pin]
        future: Pin<Box<dyn Future<Output = Response<McpBody>> + Send>>,
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<McpBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().future.poll(cx).map(Ok)
    }
}

/// Tells nginx-style proxies not to buffer the stream; named once, not parsed per response.
static X_ACCEL_BUFFERING: http::HeaderName = http::HeaderName::from_static("x-accel-buffering");

/// The headers of an SSE response; `request_headers` as for [`sized_response`].
pub(crate) fn sse_response(body: McpBody, request_headers: usize) -> Response<McpBody> {
    let mut response = sized_response(body, request_headers);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_ACCEL_BUFFERING.clone(), HeaderValue::from_static("no"));
    response
}

/// A response whose header map has room for `request_headers` headers, the count of the
/// request it answers. hyper parses the connection's next request into the map of the last
/// response; one too small for the client's headers is grown there, two allocations and a
/// rehash on every request (callgrind: 580 instructions per 2026-07-28 request, whose
/// routing headers overflow the default).
pub(crate) fn sized_response(body: McpBody, request_headers: usize) -> Response<McpBody> {
    // What the first insert would allocate anyway.
    const SMALLEST: usize = 6;
    let mut response = Response::new(body);
    *response.headers_mut() = http::HeaderMap::with_capacity(request_headers.max(SMALLEST));
    response
}
