//! [`Telemetry`]: the service [`TelemetryLayer`](crate::TelemetryLayer) makes.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use mcp_core::{McpRequest, McpResponse};
use tower_service::Service;
use tracing::Span;
use tracing::field::Empty;

use crate::call::{self, CallInfo, SpanTargets, capped};
use crate::clock::Start;
use crate::future::{CallState, ResponseFuture};
use crate::hooks::{OnFailure, OnRequest, OnResponse};
use crate::keys;
use crate::layer::Config;
use crate::network::Network;

/// The static name of every call span; the OpenTelemetry name is the `otel.name` field.
pub(crate) const SPAN_NAME: &str = "mcp.request";

/// The service made by [`TelemetryLayer`](crate::TelemetryLayer); see there.
#[derive(Clone)]
pub struct Telemetry<S, OnReq, OnRes, OnFail> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
    pub(crate) on_request: OnReq,
    pub(crate) on_response: OnRes,
    pub(crate) on_failure: OnFail,
}

impl<S: std::fmt::Debug, OnReq, OnRes, OnFail> std::fmt::Debug
    for Telemetry<S, OnReq, OnRes, OnFail>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// One callsite per level: a span's level is part of its static metadata.
macro_rules! call_span {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            tracing::Level::ERROR => tracing::span!(tracing::Level::ERROR, SPAN_NAME, $($fields)*),
            tracing::Level::WARN => tracing::span!(tracing::Level::WARN, SPAN_NAME, $($fields)*),
            tracing::Level::INFO => tracing::span!(tracing::Level::INFO, SPAN_NAME, $($fields)*),
            tracing::Level::DEBUG => tracing::span!(tracing::Level::DEBUG, SPAN_NAME, $($fields)*),
            tracing::Level::TRACE => tracing::span!(tracing::Level::TRACE, SPAN_NAME, $($fields)*),
        }
    };
}

/// Whether some subscriber may enable a span at `level` (the global level filter; the
/// span's own callsite decides for sure).
fn level_may_be_enabled(level: tracing::Level) -> bool {
    level <= tracing::level_filters::STATIC_MAX_LEVEL
        && level <= tracing::level_filters::LevelFilter::current()
}

/// The call's span with the OpenTelemetry MCP attributes. Field values are only computed
/// when a subscriber wants the span.
fn make_span(
    level: tracing::Level,
    targets: &SpanTargets<'_>,
    info: &CallInfo,
    network: &Network<'_>,
) -> Span {
    call_span!(
        level,
        otel.name = %targets.span_name(),
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        mcp.method.name = capped(info.method()),
        gen_ai.tool.name = targets.tool().map(capped),
        gen_ai.operation.name = targets.tool().map(|_| "execute_tool"),
        gen_ai.prompt.name = targets.prompt().map(capped),
        mcp.resource.uri = targets.uri().map(capped),
        // The id as sent (a string field: subscribers quote and escape it themselves), so
        // that it matches the client span's.
        jsonrpc.request.id = info.request_id().map(call::id_text).as_deref().map(capped),
        mcp.session.id = info.session_id(),
        mcp.protocol.version = info.protocol_version().as_str(),
        user.id = info.subject(),
        trace_id = info.trace_context().map(|t| display(t.trace_id())),
        parent_span_id = info.trace_context().map(|t| display(t.parent_span_id())),
        network.transport = network.transport(),
        network.protocol.name = network.protocol_name(),
        network.protocol.version = network.protocol_version(),
        network.peer.address = network.peer().map(|peer| display(peer.ip())),
        network.peer.port = network.peer().map(|peer| peer.port()),
        // The MCP server span's own names for the caller; without knowledge of proxies,
        // the peer.
        client.address = network.peer().map(|peer| display(peer.ip())),
        client.port = network.peer().map(|peer| peer.port()),
        "error.type" = Empty,
        rpc.response.status_code = Empty,
    )
}

impl<S, OnReq, OnRes, OnFail> Service<McpRequest> for Telemetry<S, OnReq, OnRes, OnFail>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
    OnReq: OnRequest,
    OnRes: OnResponse,
    OnFail: OnFailure,
{
    type Response = McpResponse;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future, OnRes, OnFail>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let config = &self.config;
        // `_meta.traceparent` has two readers: an enabled span and hooks that ask for it.
        let want_trace = level_may_be_enabled(config.span_level)
            || self.on_request.reads_trace_context()
            || self.on_response.reads_trace_context()
            || self.on_failure.reads_trace_context();
        let Some((mut info, peeked)) = call::start(&request, config, want_trace) else {
            // Client responses and unsplit batches: not calls of their own.
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let span = make_span(
            config.span_level,
            &SpanTargets::new(&info, &peeked, config.uri_in_span_name),
            &info,
            &Network(&request.extensions),
        );
        // The span has what it needs from the request, which moves on now.
        drop(peeked);
        // Before the span is first entered (by the hook or the inner call), which is when
        // `tracing-opentelemetry` fixes its parent.
        #[cfg(feature = "opentelemetry")]
        if config.join_caller_trace
            && !span.is_disabled()
            && let Some(caller) = info.trace_context()
        {
            crate::otel::join_caller_trace(&span, caller, info.trace_state());
        }
        let start = Start::now();
        // Held by the call, so that it moves back down the gauge it moved up; this one look
        // at the recorder in scope also decides where the call's other metrics go.
        let (in_flight, scope) = keys::method(info.method_index)
            .in_flight
            .hold(config.keep_handles);
        info.scope = scope;
        let on_request = &self.on_request;
        crate::hooks::run_hook("on_request", &info, &span, || {
            on_request.on_request(&info, &span);
        });
        // From here on the state's drop moves it back down.
        in_flight.increment(1.0);
        let state = CallState::new(
            info,
            span,
            start,
            in_flight,
            self.on_response.clone(),
            self.on_failure.clone(),
            config.is_rate_limited,
        );
        // A handler may panic while the call is being set up, too.
        let inner = &mut self.inner;
        let called = {
            let _entered = state.span().enter();
            std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(request)))
        };
        match called {
            Ok(future) => {
                ResponseFuture::instrumented(AssertUnwindSafe(future).catch_unwind(), state)
            }
            Err(payload) => ResponseFuture::panicked_in_call(payload, state),
        }
    }
}
