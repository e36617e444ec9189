//! Callbacks that decide what is recorded for each call, in the manner of tower-http's
//! `Trace` callbacks: [`OnRequest`] when a call starts, [`OnResponse`] when it is answered,
//! [`OnFailure`] when it failed (tool error, protocol error, rate limit, panic, client gone).
//!
//! The defaults record the crate's metrics and lifecycle events. Replace one to record
//! something else, or wrap it to record more. A hook that panics does not take the call down:
//! the panic is caught and logged (`mcp.event` `hook_panicked`, ERROR), and the call goes on.
//!
//! ```
//! use std::time::Duration;
//!
//! use mcp_core::McpResponse;
//! use mcp_telemetry::{CallInfo, DefaultOnResponse, OnResponse, Outcome, TelemetryLayer};
//! use tracing::Span;
//! # use mcp_core::{McpRequest, ProtocolVersion, Router, jsonrpc::Message};
//! # use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! # use tower::{Layer, ServiceExt};
//!
//! let default = DefaultOnResponse::default();
//! let layer = TelemetryLayer::new().on_response(
//!     move |call: &CallInfo, response: &McpResponse, outcome: Outcome, latency: Duration, span: &Span| {
//!         default.on_response(call, response, outcome, latency, span);
//!         if latency > Duration::from_secs(5) {
//!             tracing::warn!(method = call.method(), ?latency, "slow MCP call");
//!         }
//!     },
//! );
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || {
//!     let ping = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
//!     let request = McpRequest::new(ping, ProtocolVersion::V2025_11_25);
//!     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//!     runtime.block_on(layer.layer(Router::builder().build()).oneshot(request)).unwrap();
//! });
//! // The wrapped default still recorded the call's duration.
//! let snapshot = snapshotter.snapshot().into_vec();
//! let (.., durations) = snapshot
//!     .iter()
//!     .find(|(key, ..)| key.key().name() == "mcp.server.operation.duration")
//!     .unwrap();
//! assert!(matches!(durations, DebugValue::Histogram(values) if values.len() == 1));
//! ```
//!
//! The span's own fields (`error.type`, `otel.status_code`, ...) and the in-flight gauge are
//! kept by the layer whatever the hooks do, so replacing a hook cannot unbalance them.

use std::any::Any;
use std::time::Duration;

use mcp_core::McpResponse;
use tracing::Span;

use crate::call::{CallInfo, CappedId, capped};
use crate::keys;
use crate::names;
use crate::outcome::{Failure, Outcome};

/// Called when a call starts, before the inner service sees it.
///
/// Closures implement the hooks; implement them on a type of your own to keep state, or to
/// say that the hook never reads the trace context (which saves looking for it). Replacing
/// a default hook drops what it records: wrap it (see the [module docs](self)) to keep that.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::{McpRequest, McpResponse, Principal, ProtocolVersion, Router};
/// use mcp_telemetry::{CallInfo, OnRequest, OnResponse, Outcome, TelemetryLayer};
/// use tower::{Layer, ServiceExt};
/// use tracing::Span;
///
/// /// An audit trail: who called what, and how it went.
/// #[derive(Clone, Default)]
/// struct Audit(Arc<Mutex<Vec<String>>>);
///
/// impl OnRequest for Audit {
///     fn on_request(&self, call: &CallInfo, _: &Span) {
///         let who = call.subject().unwrap_or("anonymous");
///         let what = call.target().unwrap_or_default();
///         self.0.lock().unwrap().push(format!("{who}: {} {what}", call.method()));
///     }
///     fn reads_trace_context(&self) -> bool {
///         false
///     }
/// }
///
/// impl OnResponse for Audit {
///     fn on_response(&self, _: &CallInfo, _: &McpResponse, o: Outcome, _: Duration, _: &Span) {
///         self.0.lock().unwrap().push(o.as_str().to_owned());
///     }
/// }
///
/// let audit = Audit::default();
/// let layer = TelemetryLayer::new().on_request(audit.clone()).on_response(audit.clone());
/// let service = layer.layer(Router::builder().build());
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm"}}"#;
/// let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// request.extensions.insert(Principal::new("alice"));
/// service.oneshot(request).await.unwrap();
/// assert_eq!(*audit.0.lock().unwrap(), ["alice: tools/call rm", "protocol_error"]);
/// # }
/// ```
pub trait OnRequest: Clone + Send + Sync + 'static {
    /// `span` is the call's span (disabled when no subscriber wants it).
    fn on_request(&self, call: &CallInfo, span: &Span);

    /// Whether this hook reads [`CallInfo::trace_context`]. When no hook does and no span
    /// can be enabled, the layer does not look for `_meta.traceparent` at all, and
    /// `trace_context` is `None`. Closures are assumed to read it.
    fn reads_trace_context(&self) -> bool {
        true
    }
}

/// Called when a call is answered (notifications included, with [`McpResponse::None`]).
///
/// [`OnRequest`] shows a type implementing both.
pub trait OnResponse: Clone + Send + Sync + 'static {
    /// `latency` runs from `call` to the answer.
    fn on_response(
        &self,
        call: &CallInfo,
        response: &McpResponse,
        outcome: Outcome,
        latency: Duration,
        span: &Span,
    );

    /// Whether this hook reads [`CallInfo::trace_context`]; see
    /// [`OnRequest::reads_trace_context`].
    fn reads_trace_context(&self) -> bool {
        true
    }
}

/// Called when a call failed, after [`OnResponse`] when there was an answer.
///
/// The hook sees what the client does not: a panicking handler's client gets -32603
/// "Internal error", the hook gets the panic message.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// use mcp_core::{McpRequest, ProtocolVersion, RequestContext, Router, Tool, jsonrpc::Message};
/// use mcp_telemetry::{CallInfo, Failure, OnFailure, TelemetryLayer};
/// use tower::{Layer, ServiceExt};
/// use tracing::Span;
///
/// #[derive(Clone, Default)]
/// struct Failures(Arc<Mutex<Vec<String>>>);
///
/// impl OnFailure for Failures {
///     fn on_failure(&self, call: &CallInfo, failure: Failure<'_>, _: Duration, _: &Span) {
///         let what = match failure {
///             Failure::ToolError => "tool error".to_owned(),
///             Failure::Panicked(message) => format!("panicked: {}", message.unwrap_or("?")),
///             other => format!("{other:?}"),
///         };
///         let tool = call.target().unwrap_or_default();
///         self.0.lock().unwrap().push(format!("{tool}: {what}"));
///     }
/// }
///
/// let router = Router::builder()
///     .tool(Tool::new("fail").raw_handler(|_, _: RequestContext| async { Err::<String, _>("no") }))
///     .tool(Tool::new("boom").raw_handler(|_, _: RequestContext| async {
///         if true { panic!("disk on fire") }
///         ""
///     }))
///     .build();
/// let failures = Failures::default();
/// let service = TelemetryLayer::new().on_failure(failures.clone()).layer(router);
/// for name in ["fail", "boom"] {
///     let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
///     let message = Message::parse(body.as_bytes()).unwrap();
///     service.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// }
/// assert_eq!(*failures.0.lock().unwrap(), ["fail: tool error", "boom: panicked: disk on fire"]);
/// # }
/// ```
pub trait OnFailure: Clone + Send + Sync + 'static {
    /// `latency` runs from `call` to the failure.
    fn on_failure(&self, call: &CallInfo, failure: Failure<'_>, latency: Duration, span: &Span);

    /// Whether this hook reads [`CallInfo::trace_context`]; see
    /// [`OnRequest::reads_trace_context`].
    fn reads_trace_context(&self) -> bool {
        true
    }
}

impl OnRequest for () {
    fn on_request(&self, _: &CallInfo, _: &Span) {}

    fn reads_trace_context(&self) -> bool {
        false
    }
}

impl OnResponse for () {
    fn on_response(&self, _: &CallInfo, _: &McpResponse, _: Outcome, _: Duration, _: &Span) {}

    fn reads_trace_context(&self) -> bool {
        false
    }
}

impl OnFailure for () {
    fn on_failure(&self, _: &CallInfo, _: Failure<'_>, _: Duration, _: &Span) {}

    fn reads_trace_context(&self) -> bool {
        false
    }
}

impl<F> OnRequest for F
where
    F: Fn(&CallInfo, &Span) + Clone + Send + Sync + 'static,
{
    fn on_request(&self, call: &CallInfo, span: &Span) {
        self(call, span);
    }
}

impl<F> OnResponse for F
where
    F: Fn(&CallInfo, &McpResponse, Outcome, Duration, &Span) + Clone + Send + Sync + 'static,
{
    fn on_response(
        &self,
        call: &CallInfo,
        response: &McpResponse,
        outcome: Outcome,
        latency: Duration,
        span: &Span,
    ) {
        self(call, response, outcome, latency, span);
    }
}

impl<F> OnFailure for F
where
    F: Fn(&CallInfo, Failure<'_>, Duration, &Span) + Clone + Send + Sync + 'static,
{
    fn on_failure(&self, call: &CallInfo, failure: Failure<'_>, latency: Duration, span: &Span) {
        self(call, failure, latency, span);
    }
}

/// Counts the call in `mcp.server.requests` (by method and target).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOnRequest {
    _private: (),
}

impl OnRequest for DefaultOnRequest {
    fn on_request(&self, call: &CallInfo, _span: &Span) {
        call.keys.requests().increment(call.scope);
    }

    fn reads_trace_context(&self) -> bool {
        false
    }
}

/// Records `mcp.server.operation.duration` (by method, target, outcome, error code and
/// protocol version).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOnResponse {
    _private: (),
}

impl OnResponse for DefaultOnResponse {
    fn on_response(
        &self,
        call: &CallInfo,
        _response: &McpResponse,
        outcome: Outcome,
        latency: Duration,
        _span: &Span,
    ) {
        call.keys
            .duration(outcome, call.protocol_version())
            .record(call.scope, latency.as_secs_f64());
    }

    fn reads_trace_context(&self) -> bool {
        false
    }
}

/// Counts panics, disconnections, cancellations and rate-limit refusals, and emits the
/// lifecycle events (target `mcp_telemetry`, field `mcp.event`): `handler_panicked` (ERROR),
/// `client_disconnected` and `request_cancelled` (INFO), `rate_limited`, `tool_error` and
/// `protocol_error` (DEBUG).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOnFailure {
    _private: (),
}

static RATE_LIMITED_RPC: std::sync::LazyLock<metrics::Key> =
    std::sync::LazyLock::new(|| keys::key(names::RATE_LIMITED, &[(names::label::TIER, "rpc")]));

impl OnFailure for DefaultOnFailure {
    fn on_failure(&self, call: &CallInfo, failure: Failure<'_>, latency: Duration, span: &Span) {
        let method = capped(call.method());
        let target = call.target().map(capped);
        let id = call
            .request_id()
            .map(|id| tracing::field::display(CappedId(id)));
        let latency_ms = latency.as_secs_f64() * 1000.0;
        match failure {
            Failure::Panicked(message) => {
                keys::method(call.method_index).panics.increment(call.scope);
                tracing::error!(
                    target: "mcp_telemetry",
                    parent: span,
                    {
                        mcp.event = "handler_panicked",
                        mcp.method.name = method,
                        mcp.target = target,
                        jsonrpc.request.id = id,
                        mcp.session.id = call.session_id(),
                        panic.message = message,
                    },
                    "handler panicked; answered -32603"
                );
            }
            Failure::Disconnected | Failure::Cancelled => {
                let keys = keys::method(call.method_index);
                let (counter, event, what) = if matches!(failure, Failure::Disconnected) {
                    let what = "client disconnected mid-request";
                    (&keys.disconnected, "client_disconnected", what)
                } else {
                    let what = "request cancelled before it finished";
                    (&keys.cancelled, "request_cancelled", what)
                };
                counter.increment(call.scope);
                tracing::info!(
                    target: "mcp_telemetry",
                    parent: span,
                    {
                        mcp.event = event,
                        mcp.method.name = method,
                        mcp.target = target,
                        jsonrpc.request.id = id,
                        mcp.session.id = call.session_id(),
                        latency_ms,
                    },
                    "{what}"
                );
            }
            Failure::RateLimited(error) => {
                keys::increment(&RATE_LIMITED_RPC);
                // DEBUG: a client over its quota must not write a line per refused call at the
                // default level (the counter above counts them).
                tracing::debug!(
                    target: "mcp_telemetry",
                    parent: span,
                    {
                        mcp.event = "rate_limited",
                        mcp.method.name = method,
                        user.id = call.subject(),
                        // Debug: client text quoted in a message must not forge log lines.
                        error.message = ?error.message,
                    },
                    "call refused by a rate limit"
                );
            }
            Failure::ToolError => {
                tracing::debug!(
                    target: "mcp_telemetry",
                    parent: span,
                    {
                        mcp.event = "tool_error",
                        mcp.method.name = method,
                        mcp.target = target,
                    },
                    "tool reported an error"
                );
            }
            Failure::ProtocolError(error) => {
                tracing::debug!(
                    target: "mcp_telemetry",
                    parent: span,
                    {
                        mcp.event = "protocol_error",
                        mcp.method.name = method,
                        mcp.target = target,
                        error.code = error.code,
                        // Debug: client text quoted in a message must not forge log lines.
                        error.message = ?error.message,
                    },
                    "call answered with a JSON-RPC error"
                );
            }
        }
    }

    fn reads_trace_context(&self) -> bool {
        false
    }
}

/// Runs one of the call's hooks. A hook that panics is logged (`hook_panicked`, ERROR) and
/// the call goes on: its answer still reaches the client, and a hook run by a future being
/// dropped while a panic unwinds does not abort the process with a second panic.
#[inline(always)]
pub(crate) fn run_hook(hook: &'static str, call: &CallInfo, span: &Span, run: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        hook_panicked(hook, call, span, &*payload);
    }
}

#[cold]
#[inline(never)]
fn hook_panicked(hook: &'static str, call: &CallInfo, span: &Span, payload: &(dyn Any + Send)) {
    tracing::error!(
        target: "mcp_telemetry",
        parent: span,
        {
            mcp.event = "hook_panicked",
            mcp.hook = hook,
            mcp.method.name = capped(call.method()),
            panic.message = panic_message(payload),
        },
        "telemetry hook panicked; the call goes on"
    );
}

/// The panic payload, when it is a message.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
