//! A Prometheus exporter set up for this crate's metrics (feature `prometheus`): histogram
//! buckets that fit MCP calls, sessions and SSE streams, and Prometheus naming (`_total`,
//! `_seconds`, `_bytes` suffixes). The exporter runs no HTTP listener of its own: serve
//! [`PrometheusHandle::render`] with [`ScrapeLayer`](crate::ScrapeLayer). [`install`] sets it
//! all up, the upkeep that drains histogram buffers included.
//!
//! ```
//! use mcp_telemetry::ScrapeLayer;
//!
//! let recorder = mcp_telemetry::prometheus::builder().build_recorder();
//! let handle = recorder.handle();
//! // Install `recorder` (metrics::set_global_recorder), describe the metrics
//! // (mcp_telemetry::names::describe_metrics) and start the upkeep (`spawn_upkeep`):
//! // `install()` does all three.
//! let scrape = ScrapeLayer::new("/metrics", move || handle.render());
//! # let _ = scrape;
//! ```

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, Matcher};
pub use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::names;

/// Buckets (seconds) of MCP calls: the OpenTelemetry MCP conventions' advice.
pub const OPERATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Buckets (seconds) of HTTP requests until the response head: the OpenTelemetry HTTP
/// conventions' advice for `http.server.request.duration`, so that these series line up with
/// those of other instrumented HTTP servers.
pub const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets (seconds) of sessions: the OpenTelemetry MCP conventions' advice for
/// `mcp.server.session.duration` (up to 5 minutes), then the longer spans sessions live for.
pub const SESSION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0,
    3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// Buckets (seconds) of SSE streams, which live for minutes or hours.
pub const LIFETIME_BUCKETS: &[f64] = &[
    1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// Buckets (bytes) of HTTP bodies.
pub const SIZE_BUCKETS: &[f64] = &[
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
];

/// A builder with this crate's buckets and Prometheus naming; add global labels or other
/// buckets, then `build_recorder()` (or `install_recorder()`).
///
/// ```
/// use mcp_core::{McpRequest, ProtocolVersion, Router, jsonrpc::Message};
/// use mcp_telemetry::TelemetryLayer;
/// use tower::{Layer, ServiceExt};
///
/// let recorder = mcp_telemetry::prometheus::builder().build_recorder();
/// let handle = recorder.handle();
/// let service = TelemetryLayer::new().layer(Router::builder().build());
/// metrics::with_local_recorder(&recorder, || {
///     mcp_telemetry::names::describe_metrics(); // units: the `_seconds` suffix
///     let ping = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
///     let request = McpRequest::new(ping, ProtocolVersion::V2025_11_25);
///     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
///     runtime.block_on(service.oneshot(request)).unwrap();
/// });
/// let text = handle.render();
/// assert!(text.contains("mcp_server_requests_total{method=\"ping\"} 1\n"));
/// // This crate's buckets, not the exporter's default ones (which start at 0.005).
/// let bucket = r#"mcp_server_operation_duration_seconds_bucket{method="ping",outcome="ok",protocol_version="2025-11-25",le="0.01"}"#;
/// assert!(text.contains(bucket), "{text}");
/// ```
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
        .set_buckets_for_metric(full(names::SESSION_DURATION), SESSION_BUCKETS)?
        .set_buckets_for_metric(full(names::SSE_STREAM_DURATION), LIFETIME_BUCKETS)?
        .set_buckets_for_metric(full(names::HTTP_RESPONSE_BODY_SIZE), SIZE_BUCKETS)?
        .set_buckets_for_metric(full(names::HTTP_REQUEST_BODY_SIZE), SIZE_BUCKETS)
}

/// How often [`install`] drains the exporter's histogram buffers: the period the exporter's
/// own listener uses.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Builds this crate's preset ([`builder`]), installs it as the global recorder, describes
/// the metrics, starts the upkeep ([`spawn_upkeep`]) and returns the handle to render scrapes
/// with.
///
/// ```no_run
/// let handle = mcp_telemetry::prometheus::install().expect("no global recorder yet");
/// let text = handle.render(); // the scrape, e.g. through `ScrapeLayer`
/// # let _ = text;
/// ```
///
/// # Errors
///
/// When a global recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    install_with(builder())
}

/// [`install`] with a builder of your own: [`builder`] with global labels or other buckets.
///
/// ```no_run
/// let builder = mcp_telemetry::prometheus::builder().add_global_label("region", "eu-west-1");
/// let handle = mcp_telemetry::prometheus::install_with(builder).expect("no global recorder yet");
/// # let _ = handle;
/// ```
///
/// # Errors
///
/// When a global recorder is already installed.
pub fn install_with(builder: PrometheusBuilder) -> Result<PrometheusHandle, BuildError> {
    let handle = builder.install_recorder()?;
    names::describe_metrics();
    spawn_upkeep(handle.clone(), UPKEEP_INTERVAL);
    Ok(handle)
}

/// Drains `handle`'s histogram buffers every `every` (at least 10 ms), on a thread of its
/// own, for the life of the process (as a global recorder lives).
///
/// Every histogram sample is kept in a buffer until a scrape or an upkeep drains it; without
/// the exporter's own listener nothing runs the upkeep, and a server nobody scrapes would
/// keep every call's samples. [`install`] starts it; call this after installing a recorder of
/// [`builder`] yourself. A thread rather than a task: it needs no runtime, and a global
/// recorder outlives any runtime.
///
/// ```no_run
/// use std::time::Duration;
///
/// let recorder = mcp_telemetry::prometheus::builder().build_recorder();
/// let handle = recorder.handle();
/// metrics::set_global_recorder(recorder).expect("no global recorder yet");
/// mcp_telemetry::names::describe_metrics();
/// mcp_telemetry::prometheus::spawn_upkeep(handle, Duration::from_secs(5));
/// ```
pub fn spawn_upkeep(handle: PrometheusHandle, every: Duration) {
    // At least 10 ms: zero would spin a core for the life of the process.
    let every = every.max(Duration::from_millis(10));
    every_period("mcp-telemetry-upkeep", every, move || handle.run_upkeep());
}

/// Runs `work` every `period` on a new thread named `name`, for the life of the process. A
/// thread that cannot be started is reported, not fatal: scrapes drain the buffers too.
fn every_period(name: &str, period: Duration, mut work: impl FnMut() + Send + 'static) {
    let started = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                work();
            }
        });
    if let Err(error) = started {
        tracing::warn!(target: "mcp_telemetry", %error, "the Prometheus upkeep thread did not start");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// The `le` values of `name`'s buckets in a scrape (the first series of it).
    fn bucket_bounds(text: &str, name: &str) -> Vec<String> {
        let prefix = format!("{name}_bucket{{");
        let series: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
        let first = series.first().expect("the histogram is in the scrape");
        let labels = &first[..first.find("le=").expect("an le label")];
        series
            .iter()
            .filter(|line| line.starts_with(labels))
            .map(|line| {
                line.split("le=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn durations_have_the_conventions_buckets() {
        let recorder = super::builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            crate::names::describe_metrics(); // the `_seconds` suffix
            metrics::histogram!(crate::names::SESSION_DURATION).record(0.5);
            metrics::histogram!(crate::names::HTTP_REQUEST_DURATION).record(0.5);
        });
        let text = handle.render();
        // The MCP conventions' advice for sessions, then longer spans.
        let sessions = bucket_bounds(&text, "mcp_server_session_duration_seconds");
        assert_eq!(sessions[..3], ["0.01", "0.02", "0.05"], "{text}");
        assert!(sessions.iter().any(|le| le == "300") && sessions.iter().any(|le| le == "86400"));
        // The HTTP conventions' advice, exactly.
        let http = bucket_bounds(&text, "http_server_request_duration_seconds");
        let advice = [
            "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5",
            "5", "7.5", "10", "+Inf",
        ];
        assert_eq!(http, advice, "{text}");
    }

    #[test]
    fn the_upkeep_runs_again_and_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        super::every_period("upkeep-test", Duration::from_millis(5), move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::Relaxed) < 3 {
            assert!(
                Instant::now() < deadline,
                "the upkeep ran {runs:?} times in 10 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
