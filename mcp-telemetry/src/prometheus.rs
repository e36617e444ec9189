//! A Prometheus exporter set up for this crate's metrics (feature `prometheus`): histogram
//! buckets that fit MCP calls, sessions and SSE streams, and Prometheus naming (`_total`,
//! `_seconds`, `_bytes` suffixes). The exporter runs no HTTP listener of its own: serve
//! [`PrometheusHandle::render`] with [`ScrapeLayer`](crate::ScrapeLayer).
//!
//! ```
//! use mcp_telemetry::ScrapeLayer;
//!
//! let recorder = mcp_telemetry::prometheus::builder().build_recorder();
//! let handle = recorder.handle();
//! // Install `recorder` (metrics::set_global_recorder) then describe the metrics:
//! // mcp_telemetry::names::describe_metrics();
//! let scrape = ScrapeLayer::new("/metrics", move || handle.render());
//! # let _ = scrape;
//! ```

use metrics_exporter_prometheus::{BuildError, Matcher};
pub use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::names;

/// Buckets (seconds) of MCP calls: the OpenTelemetry MCP conventions' advice.
pub const OPERATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Buckets (seconds) of HTTP requests until the response head.
pub const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets (seconds) of sessions and SSE streams, which live for minutes or hours.
pub const LIFETIME_BUCKETS: &[f64] = &[
    1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// Buckets (bytes) of HTTP bodies.
pub const SIZE_BUCKETS: &[f64] = &[
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
];

/// A builder with this crate's buckets and Prometheus naming; add global labels or other
/// buckets, then `build_recorder()` (or `install_recorder()`).
pub fn builder() -> PrometheusBuilder {
    try_builder().expect("the bucket lists are not empty")
}

fn try_builder() -> Result<PrometheusBuilder, BuildError> {
    // The exporter matches sanitised names (dots become underscores).
    let full = |name: &str| Matcher::Full(name.replace('.', "_"));
    PrometheusBuilder::new()
        .with_recommended_naming(true)
        .set_buckets_for_metric(full(names::OPERATION_DURATION), OPERATION_BUCKETS)?
        .set_buckets_for_metric(full(names::HTTP_REQUEST_DURATION), HTTP_BUCKETS)?
        .set_buckets_for_metric(full(names::SESSION_DURATION), LIFETIME_BUCKETS)?
        .set_buckets_for_metric(full(names::SSE_STREAM_DURATION), LIFETIME_BUCKETS)?
        .set_buckets_for_metric(full(names::HTTP_RESPONSE_BODY_SIZE), SIZE_BUCKETS)?
        .set_buckets_for_metric(full(names::HTTP_REQUEST_BODY_SIZE), SIZE_BUCKETS)
}

/// Builds the recorder, installs it as the global recorder, describes the metrics, and
/// returns the handle to render scrapes with. Without the exporter's own listener nothing
/// runs its upkeep: call [`PrometheusHandle::run_upkeep`] every few seconds (rendering a
/// scrape also drains the histogram buffers).
///
/// # Errors
///
/// When a global recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = builder().install_recorder()?;
    names::describe_metrics();
    Ok(handle)
}
