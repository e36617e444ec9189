//! The names of every metric this crate records, their label keys, and [`describe_metrics`].
//!
//! Names follow the OpenTelemetry MCP and HTTP semantic conventions where one exists
//! (`mcp.server.operation.duration`, `mcp.server.session.duration`,
//! `http.server.request.duration`); a Prometheus exporter turns the dots into underscores.
//! Label keys are shorter than the conventions' attribute names: the crate docs map one to
//! the other.
//!
//! ```
//! use mcp_telemetry::names;
//!
//! assert_eq!(names::OPERATION_DURATION, "mcp.server.operation.duration");
//! assert_eq!(names::label::OUTCOME, "outcome");
//! ```

use metrics::Unit;

/// Histogram (seconds) of every JSON-RPC request and notification, by `method`, `target`,
/// `outcome`, `protocol_version` and, for protocol errors, `code`.
pub const OPERATION_DURATION: &str = "mcp.server.operation.duration";
/// Counter of JSON-RPC requests and notifications received, by `method` and `target`.
pub const REQUESTS: &str = "mcp.server.requests";
/// Gauge of requests being handled now, by `method`.
pub const IN_FLIGHT: &str = "mcp.server.requests.in_flight";
/// Counter of requests abandoned before they were answered (client gone), by `method`.
pub const DISCONNECTED: &str = "mcp.server.requests.disconnected";
/// Counter of requests cancelled before they finished (the client sent
/// `notifications/cancelled`, or left a streamed answer without resuming it), by `method`.
pub const CANCELLED: &str = "mcp.server.requests.cancelled";
/// Counter of handler panics (each answered with -32603), by `method`.
pub const PANICS: &str = "mcp.server.panics";
/// Counter of calls refused by a rate limit, by `tier` (`rpc` or `http`).
pub const RATE_LIMITED: &str = "mcp.server.rate_limited";
/// Counter of HTTP requests refused by authentication, by `reason`: `unauthorized` (401),
/// `forbidden` (403 from an auth layer), `bad_request` (400: credentials sent the wrong way),
/// `unavailable` (503: the credentials could not be checked, the authorization server's keys
/// being out of reach).
pub const AUTH_REFUSED: &str = "mcp.server.auth.refused";
/// Gauge of live legacy-era sessions.
pub const SESSIONS_ACTIVE: &str = "mcp.server.sessions.active";
/// Counter of sessions created.
pub const SESSIONS_CREATED: &str = "mcp.server.sessions.created";
/// Histogram (seconds) of session lifetimes, by `reason` (`deleted` or `expired`).
pub const SESSION_DURATION: &str = "mcp.server.session.duration";
/// Gauge of open SSE streams, by `kind` (`post` for a response stream, `get` for a session
/// stream).
pub const SSE_STREAMS_OPEN: &str = "mcp.server.sse.streams.open";
/// Histogram (seconds) of how long SSE streams stayed open, by `kind`.
pub const SSE_STREAM_DURATION: &str = "mcp.server.sse.stream.duration";
/// Histogram (seconds) of HTTP requests until the response head, by `method` and `status`.
pub const HTTP_REQUEST_DURATION: &str = "http.server.request.duration";
/// Histogram (bytes) of HTTP response bodies, by `method` and `status`.
pub const HTTP_RESPONSE_BODY_SIZE: &str = "http.server.response.body.size";
/// Histogram (bytes) of HTTP request bodies of a declared length (`Content-Length`, as the body
/// reports it; chunked bodies are not counted), by `method`: only of requests answered with a
/// 2xx, whose bodies were read (a refused request's declared length is only a claim).
pub const HTTP_REQUEST_BODY_SIZE: &str = "http.server.request.body.size";

/// Label keys.
pub mod label {
    /// The JSON-RPC method (`tools/call`), or the HTTP method (`POST`).
    pub const METHOD: &str = "method";
    /// The tool, prompt or resource the call is about; see [`FOLDED`](super::FOLDED).
    pub const TARGET: &str = "target";
    /// `ok`, `tool_error` or `protocol_error`.
    pub const OUTCOME: &str = "outcome";
    /// The JSON-RPC error code of a protocol error (`-32602`), or `_OTHER`.
    pub const CODE: &str = "code";
    /// The MCP protocol version the call was handled under (`2025-11-25`).
    pub const PROTOCOL_VERSION: &str = "protocol_version";
    /// The HTTP status code (`200`), or its class (`5xx`) for uncommon ones.
    pub const STATUS: &str = "status";
    /// Where a refusal happened: `rpc` or `http`.
    pub const TIER: &str = "tier";
    /// Why a session ended or an auth refusal happened.
    pub const REASON: &str = "reason";
    /// The kind of SSE stream: `post` or `get`.
    pub const KIND: &str = "kind";
}

/// The `target` label value of names the server does not know (label cardinality stays
/// bounded whatever clients send).
pub const FOLDED: &str = "_other";

/// Registers units and descriptions of every metric with the installed recorder (so that a
/// Prometheus exporter writes `# HELP` lines and unit suffixes), and lets the RPC-tier layers
/// keep their metric handles for it (see
/// [`TelemetryLayer::keep_metric_handles`](crate::TelemetryLayer::keep_metric_handles)). Call
/// it once, after installing the recorder.
///
/// ```
/// mcp_telemetry::names::describe_metrics(); // with no recorder installed: does nothing
/// ```
pub fn describe_metrics() {
    // Kept metric handles need to know which recorder is the global one.
    crate::recorder::find_global();
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        OPERATION_DURATION,
        Unit::Seconds,
        "Duration of MCP requests and notifications, by method, target, outcome and protocol version."
    );
    describe_counter!(REQUESTS, "MCP requests and notifications received.");
    describe_gauge!(IN_FLIGHT, "MCP requests being handled now.");
    describe_counter!(
        DISCONNECTED,
        "MCP requests abandoned before they were answered."
    );
    describe_counter!(CANCELLED, "MCP requests cancelled before they finished.");
    describe_counter!(PANICS, "MCP handler panics, each answered with -32603.");
    describe_counter!(RATE_LIMITED, "Calls refused by a rate limit.");
    describe_counter!(AUTH_REFUSED, "HTTP requests refused by authentication.");
    describe_gauge!(SESSIONS_ACTIVE, "Live MCP sessions.");
    describe_counter!(SESSIONS_CREATED, "MCP sessions created.");
    describe_histogram!(
        SESSION_DURATION,
        Unit::Seconds,
        "Lifetime of MCP sessions, by how they ended."
    );
    describe_gauge!(SSE_STREAMS_OPEN, "Open SSE streams.");
    describe_histogram!(
        SSE_STREAM_DURATION,
        Unit::Seconds,
        "How long SSE streams stayed open."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP requests until the response head."
    );
    describe_histogram!(
        HTTP_RESPONSE_BODY_SIZE,
        Unit::Bytes,
        "Size of HTTP response bodies."
    );
    describe_histogram!(
        HTTP_REQUEST_BODY_SIZE,
        Unit::Bytes,
        "Size of HTTP request bodies."
    );
}
