//! # mcp-telemetry
//!
//! Tracing spans and [`metrics`] for MCP servers built on mcp-tower, following the
//! OpenTelemetry MCP semantic conventions: span names and attributes as they write them, and
//! metric names too. Metric labels are short keys instead of the conventions' attribute
//! names (see [`names::label`]): `method` is `mcp.method.name` (or `http.request.method`);
//! `target` is `gen_ai.tool.name`, `gen_ai.prompt.name` or, opted into with
//! [`TelemetryLayer::resource_uri_in_metrics`], `mcp.resource.uri`; `outcome`
//! `protocol_error` with `code` is `error.type` (and `rpc.response.status_code`) set to the
//! code, `outcome` `tool_error` is `error.type` `tool_error`; `protocol_version` is
//! `mcp.protocol.version`; `status` is `http.response.status_code`. A dashboard written
//! against the conventions' names needs that mapping (a Prometheus relabelling, or a query
//! per key).
//!
//! - [`TelemetryLayer`] at the RPC tier: a span per JSON-RPC request or notification (each
//!   batch item on its own, below `BatchLayer`), `mcp.server.operation.duration` by method,
//!   target, outcome and protocol version, request counts, in-flight calls, panics caught and answered -32603,
//!   disconnections, rate-limit refusals; replaceable [`hooks`].
//! - [`HttpTelemetryLayer`] at the HTTP tier: per HTTP request duration, status and bytes,
//!   authentication refusals, open SSE streams.
//! - `TelemetrySessionStore` (feature `sessions`): active sessions and session durations.
//! - [`ScrapeLayer`] and the `prometheus` module (feature `prometheus`): `/metrics` on the
//!   server's own listener.
//! - Feature `opentelemetry`: call spans join the caller's trace (`params._meta.traceparent`
//!   and `tracestate`) in `tracing-opentelemetry`; see `TelemetryLayer::join_caller_trace`.
//!
//! ```no_run
//! use mcp_core::{Json, RequestContext, Router, Tool};
//! use mcp_telemetry::{HttpTelemetryLayer, TelemetryLayer};
//! use mcp_tower::{
//!     AllowListLayer, BatchLayer, EndpointLayer, HostOriginLayer, SessionLayer,
//!     StreamableHttpConfig, StreamableHttpLayer,
//! };
//! use tower::ServiceBuilder;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Add { a: f64, b: f64 }
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let router = Router::builder()
//!     .name("calculator", "1.0.0")
//!     .tool(Tool::new("add").handler(|Json(x): Json<Add>, _: RequestContext| async move {
//!         (x.a + x.b).to_string()
//!     }))
//!     .build();
//! let rpc = ServiceBuilder::new()
//!     .layer(BatchLayer::new())
//!     .layer(TelemetryLayer::for_router(&router))
//!     .layer(AllowListLayer::new())
//!     .service(router.clone());
//! let http = ServiceBuilder::new()
//!     .layer(HttpTelemetryLayer::new())
//!     .layer(EndpointLayer::new("/mcp")) // anything else is 404
//!     .layer(HostOriginLayer::new())
//!     .layer(SessionLayer::default().deliver_events_from(&router))
//!     .layer(StreamableHttpLayer::new(StreamableHttpConfig::default().events_from(&router)))
//!     .service(rpc);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! mcp_tower::serve(listener, http).await
//! # }
//! ```
//!
//! Metrics go to whatever recorder is installed (none: they cost almost nothing; the global
//! one: its handles are registered once and kept, see
//! [`TelemetryLayer::keep_metric_handles`] and [`HttpTelemetryLayer::keep_metric_handles`]);
//! spans to whatever `tracing` subscriber is installed. The `examples/metrics-server` package
//! serves the whole thing with a Prometheus `/metrics` endpoint.
//!
//! Messages refused before they reach the RPC tier are not calls, and only the HTTP tier
//! counts them (by status): a body that does not parse (-32700, 400), a 2026-07-28 request
//! whose routing headers do not match it (-32020, 400), and a whole batch refused by
//! `BatchLayer` (too many items, or batches in a version without them: -32600), which a
//! 2025-03-26 client gets with status 200.

mod call;
mod clock;
mod future;
pub mod hooks;
pub mod http_tier;
mod keys;
mod known;
mod layer;
pub mod names;
mod network;
#[cfg(feature = "opentelemetry")]
mod otel;
mod outcome;
mod peek;
mod recorder;
pub mod scrape;
mod service;
mod trace_context;

#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(feature = "sessions")]
pub mod sessions;

pub use call::CallInfo;
pub use future::ResponseFuture;
pub use hooks::{
    DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, OnFailure, OnRequest, OnResponse,
};
pub use http_tier::{HttpTelemetry, HttpTelemetryLayer, TelemetryBody};
pub use known::{KnownTargets, NoTargets, TargetKind, new_revision};
pub use layer::TelemetryLayer;
pub use outcome::{Failure, OTHER_CODE, Outcome};
pub use scrape::{Scrape, ScrapeLayer};
pub use service::Telemetry;
#[cfg(feature = "sessions")]
pub use sessions::TelemetrySessionStore;
pub use trace_context::{SpanId, TraceContext, TraceId};
