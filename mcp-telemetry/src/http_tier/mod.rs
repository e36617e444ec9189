//! The HTTP-tier companion of [`TelemetryLayer`](crate::TelemetryLayer): per HTTP request
//! duration, status and body sizes, authentication and rate-limit refusals, and the life of
//! SSE streams.
//!
//! ```
//! use mcp_telemetry::HttpTelemetryLayer;
//! use mcp_tower::McpServer;
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! use tower::{Layer, ServiceExt};
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # let _in_runtime = runtime.enter();
//! let router = mcp_core::Router::builder().build();
//! let mcp = McpServer::builder(router).into_http_service::<http_body_util::Full<bytes::Bytes>>();
//! // Outermost, so that refusals of the inner layers (401, 403, 429) are counted too.
//! let service = HttpTelemetryLayer::new().layer(mcp);
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! let request = http::Request::post("/not-mcp").body(Default::default()).unwrap();
//! let response =
//!     metrics::with_local_recorder(&recorder, || runtime.block_on(service.oneshot(request)));
//! assert_eq!(response.unwrap().status(), 404);
//! let snapshot = snapshotter.snapshot().into_vec();
//! let (key, .., durations) = snapshot
//!     .iter()
//!     .find(|(key, ..)| key.key().name() == "http.server.request.duration")
//!     .unwrap();
//! assert!(key.key().labels().any(|l| l.key() == "status" && l.value() == "404"));
//! assert!(matches!(durations, DebugValue::Histogram(values) if values.len() == 1));
//! ```
//!
//! An SSE response (`Content-Type: text/event-stream`) counts as an open stream until its
//! body ends or is dropped; both ends emit an event (target `mcp_telemetry`, DEBUG,
//! `mcp.event` = `stream_opened` / `stream_closed`); a request whose client left before its
//! response emits `http_client_disconnected` (DEBUG). A refusal marked
//! [`RefusedBy::Authentication`](mcp_core::RefusedBy) (every mcp-auth refusal: 401, 403, 400
//! or 503) is an authentication refusal, by `reason` (`unauthorized`, `forbidden`,
//! `bad_request`, `unavailable`); so is an unmarked 401, or an unmarked 403 carrying a `WWW-Authenticate`
//! challenge (a 403 without one is the Host/Origin check). An unmarked 429 is a rate-limit
//! refusal; one marked [`RefusedBy::SessionLimit`](mcp_core::RefusedBy) is not.

mod body;
mod keys;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use mcp_core::headers::MCP_SESSION_ID;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use body::TelemetryBody;

use crate::clock::{self, Start};
use crate::keys::increment;
use crate::recorder::{self, Scope};
use body::{BodyState, StreamInfo};
use keys::{StreamKind, http_keys, method_index, status_index};

/// Records per-HTTP-request metrics and SSE stream lifecycles; see the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct HttpTelemetryLayer {
    keep_handles: bool,
}

impl Default for HttpTelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTelemetryLayer {
    /// The layer, keeping metric handles of the global recorder.
    pub fn new() -> Self {
        // The clock calibrates on first use (under a millisecond): here, not in a request.
        clock::calibrate();
        recorder::find_global_now_and_then();
        Self { keep_handles: true }
    }

    /// Whether metric handles of the global recorder are kept for the life of the process
    /// (default true): without them, every request registers its metrics again, a registry
    /// lookup per metric. Turn this off when the recorder drops idle series; see
    /// [`TelemetryLayer::keep_metric_handles`](crate::TelemetryLayer::keep_metric_handles).
    ///
    /// ```
    /// use mcp_telemetry::HttpTelemetryLayer;
    ///
    /// let layer = HttpTelemetryLayer::new().keep_metric_handles(false);
    /// # let _ = layer;
    /// ```
    pub fn keep_metric_handles(mut self, keep: bool) -> Self {
        self.keep_handles = keep;
        self
    }
}

impl<S> Layer<S> for HttpTelemetryLayer {
    type Service = HttpTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // The recorder may have been installed since the layer was made.
        recorder::find_global_now_and_then();
        HttpTelemetry {
            inner,
            keep_handles: self.keep_handles,
        }
    }
}

/// The service made by [`HttpTelemetryLayer`].
#[derive(Debug, Clone)]
pub struct HttpTelemetry<S> {
    inner: S,
    keep_handles: bool,
}

impl<S, B, ResBody> Service<Request<B>> for HttpTelemetry<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: http_body::Body,
    ResBody: http_body::Body,
{
    type Response = Response<TelemetryBody<ResBody>>;
    type Error = S::Error;
    type Future = HttpResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = method_index(request.method());
        // Decided once for the request's three histogram samples.
        let scope = recorder::scope_now(self.keep_handles);
        let state = HttpState {
            start: Start::now(),
            method,
            // The declared length (`Content-Length`) as the body reports it, without a header
            // lookup; recorded only if the request is accepted (see `respond`).
            declared_length: request.body().size_hint().exact(),
            is_get: request.method() == Method::GET,
            session: session_header(request.headers()),
            answered: false,
            scope,
        };
        HttpResponseFuture {
            future: self.inner.call(request),
            state: Some(state),
        }
    }
}

/// Counts an authentication or rate-limit refusal: by what the refusing layer says
/// ([`mcp_core::RefusedBy`]) when it says, else by the status (a 401, or a 403 with a challenge,
/// from an auth layer of another crate; a 429).
fn count_refusal(status: StatusCode, headers: &http::HeaderMap, extensions: &http::Extensions) {
    use mcp_core::RefusedBy;
    let refused_by = extensions.get::<RefusedBy>();
    match (refused_by, status) {
        (Some(RefusedBy::Authentication) | None, StatusCode::UNAUTHORIZED) => {
            increment(keys::auth_refused_unauthorized());
        }
        (Some(RefusedBy::Authentication), StatusCode::FORBIDDEN) => {
            increment(keys::auth_refused_forbidden());
        }
        (None, StatusCode::FORBIDDEN) if headers.contains_key(header::WWW_AUTHENTICATE) => {
            increment(keys::auth_refused_forbidden());
        }
        (Some(RefusedBy::Authentication), StatusCode::SERVICE_UNAVAILABLE) => {
            increment(keys::auth_refused_unavailable());
        }
        (Some(RefusedBy::Authentication), _) => increment(keys::auth_refused_bad_request()),
        // Not when it restates an RPC-tier refusal, which that tier counted.
        (None, StatusCode::TOO_MANY_REQUESTS)
            if extensions.get::<mcp_core::RefusedAtRpcTier>().is_none() =>
        {
            increment(keys::rate_limited_http());
        }
        _ => {}
    }
}

/// The `Mcp-Session-Id` in `headers`, when this crate's DEBUG events are on: only they name
/// the session, so otherwise the header is not read at all. A header value clones by
/// reference count, not by copying.
fn session_header(headers: &http::HeaderMap) -> Option<HeaderValue> {
    tracing::enabled!(target: "mcp_telemetry", tracing::Level::DEBUG)
        .then(|| headers.get(&MCP_SESSION_ID).cloned())
        .flatten()
}

/// What the response needs from the request.
struct HttpState {
    start: Start,
    method: usize,
    declared_length: Option<u64>,
    is_get: bool,
    /// Read only when the session is named ([`session_header`]).
    session: Option<HeaderValue>,
    answered: bool,
    scope: Scope,
}

impl HttpState {
    fn respond<ResBody>(mut self, response: Response<ResBody>) -> Response<TelemetryBody<ResBody>> {
        self.answered = true;
        let status = response.status();
        let status_slot = status_index(status);
        let keys = http_keys(self.method, status_slot);
        let elapsed = self.start.elapsed().as_secs_f64();
        keys.duration.record(self.scope, elapsed);
        // Only an accepted request's body was read, so only then is its declared length the
        // bytes received: a refusal (413 at once for `Content-Length: 999999999999`, or 401
        // before the body) would record whatever a client claims.
        if let (true, Some(length)) = (status.is_success(), self.declared_length) {
            keys::request_body_size(self.method).record(self.scope, length as f64);
        }
        let headers = response.headers();
        if !status.is_success() {
            count_refusal(status, headers, response.extensions());
        }
        let is_sse = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        let stream = is_sse.then(|| {
            let kind = if self.is_get {
                StreamKind::Get
            } else {
                StreamKind::Post
            };
            // `initialize` names its new session in the response.
            let session = self.session.take().or_else(|| session_header(headers));
            Box::new(StreamInfo::open(kind, session))
        });
        let state = BodyState::new(keys, self.scope, stream);
        response.map(|body| TelemetryBody::new(body, state))
    }

    fn failed(mut self) {
        self.answered = true;
        let keys = http_keys(self.method, keys::ERROR_STATUS);
        let elapsed = self.start.elapsed().as_secs_f64();
        keys.duration.record(self.scope, elapsed);
    }
}

impl Drop for HttpState {
    fn drop(&mut self) {
        if !self.answered {
            tracing::debug!(
                target: "mcp_telemetry",
                {
                    // Not the RPC tier's `client_disconnected`, which the same departure
                    // also fires for the call in flight: one event name, one count.
                    mcp.event = "http_client_disconnected",
                    http.request.method = keys::method_label(self.method),
                    mcp.session.id = self.session.as_ref().and_then(|v| v.to_str().ok()),
                },
                "client disconnected before the response"
            );
        }
    }
}

pin_project! {
    /// The response future of [`HttpTelemetry`].
    pub struct HttpResponseFuture<F> {
        #[pin]
        future: F,
        state: Option<HttpState>,
    }
}

impl<F> std::fmt::Debug for HttpResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for HttpResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<TelemetryBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let state = this.state.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(state.respond(response)),
            Err(error) => {
                state.failed();
                Err(error)
            }
        })
    }
}
