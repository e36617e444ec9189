//! The call's span joins the caller's trace in `tracing-opentelemetry` (feature
//! `opentelemetry`): the `traceparent` and `tracestate` of `params._meta` become the span's
//! remote parent, so that client, server and whatever the handler calls show up as one trace.

use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::trace_context::TraceContext;

/// Makes the caller's span the remote parent of `span`, and links the span that would have
/// been its parent (an HTTP server span around the call, say), as the MCP semantic conventions
/// ask ("SHOULD link current ambient context, if it's present"). Must run before `span` is
/// entered: `tracing-opentelemetry` starts the span's context then.
pub(crate) fn join_caller_trace(span: &Span, caller: &TraceContext, trace_state: Option<&str>) {
    let ambient = Span::current().context().span().span_context().clone();
    // A `tracestate` OpenTelemetry refuses (bad keys or values, too many members) is dropped;
    // the trace itself is still joined.
    let trace_state = trace_state
        .and_then(|value| TraceState::from_str(value).ok())
        .unwrap_or_default();
    let parent = SpanContext::new(
        TraceId::from_bytes(caller.trace_id().0),
        SpanId::from_bytes(caller.parent_span_id().0),
        TraceFlags::new(caller.flags()),
        true,
        trace_state,
    );
    // Fails only when no OpenTelemetry layer sees the span: then there is no trace to join.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    if ambient.is_valid() {
        span.add_link(ambient);
    }
}
