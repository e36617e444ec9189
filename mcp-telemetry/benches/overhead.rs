//! The cost of `TelemetryLayer` on a `tools/call` dispatch: `Router` alone against
//! `TelemetryLayer` + `Router`.
//!
//! Two measures of each:
//! - `... bytes to bytes`: the dispatch as the issue defines it and as `mcp-core`'s `dispatch`
//!   bench runs it: the request bytes parsed, the service called, the response written to a
//!   buffer. This is the path a server runs per message, and the goal (under 10 % over the
//!   router alone, no subscriber) is stated against it.
//! - `... service`: the service call alone on an already parsed request (the layer's cost
//!   against the router's share of the work only: a stricter ratio).
//!
//! Each with no recorder (the `metrics` no-op), with thread-local recorders
//! (`DebuggingRecorder`, Prometheus: registered per use), with a global Prometheus recorder
//! (handles kept, as in production), and once with a subscriber that enables the spans. A
//! global recorder cannot be uninstalled, so its groups (`... global recorder`) run after the
//! others, each with its own `router` baseline; the spans run last (see [`bench_spans`]).
//!
//! ```text
//! cargo bench -p mcp-telemetry --bench overhead
//! ```

#![allow(missing_docs)]

use std::convert::Infallible;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use mcp_core::{McpRequest, McpResponse};
use support::{TOOLS_CALL, dispatch, instrumented_router, request, router};
use tower::Service;

mod support;

const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

/// One call, polled once: the router answers these without waiting, so no runtime is
/// measured with them.
fn call<S>(service: &mut S, request: McpRequest) -> McpResponse
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    service
        .call(request)
        .now_or_never()
        .expect("answered in one poll")
        .unwrap()
}

/// What a group measures: see the module docs.
#[derive(Clone, Copy)]
enum Measure {
    BytesToBytes,
    Service,
}

impl Measure {
    fn group_name(self, method: &str) -> String {
        match self {
            Measure::BytesToBytes => format!("{method} bytes to bytes"),
            Measure::Service => format!("{method} service"),
        }
    }
}

/// Measures `service` answering `body` as `name` in `group`.
fn bench_calls<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    measure: Measure,
    name: &str,
    service: &mut S,
    body: &[u8],
) where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    match measure {
        Measure::BytesToBytes => {
            let mut out = Vec::with_capacity(256);
            group.bench_function(name, |b| b.iter(|| dispatch(service, body, &mut out)));
        }
        Measure::Service => {
            group.bench_function(name, |b| {
                b.iter_batched(
                    || request(body),
                    |r| call(service, r),
                    BatchSize::SmallInput,
                )
            });
        }
    }
}

fn bench_pair(c: &mut Criterion, measure: Measure, method: &str, body: &'static [u8]) {
    let mut group = c.benchmark_group(measure.group_name(method));
    bench_calls(&mut group, measure, "router", &mut router(), body);
    let mut instrumented = instrumented_router();
    let name = "telemetry, no recorder";
    bench_calls(&mut group, measure, name, &mut instrumented, body);
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let name = "telemetry, DebuggingRecorder (thread-local)";
        bench_calls(&mut group, measure, name, &mut instrumented, body);
    });
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        let name = "telemetry, PrometheusRecorder (thread-local)";
        bench_calls(&mut group, measure, name, &mut instrumented, body);
    });
    group.finish();
}

/// The layer with spans enabled: the registry creates and closes one per call. Last of all:
/// a subscriber, once installed, leaves `tracing`'s global level filter raised after its scope
/// ends, and every later group would pay for span checks that no server without one pays.
fn bench_spans(c: &mut Criterion, measure: Measure, method: &str, body: &'static [u8]) {
    let mut group = c.benchmark_group(format!("{}, spans enabled", measure.group_name(method)));
    let mut instrumented = instrumented_router();
    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        let name = "telemetry, PrometheusRecorder";
        bench_calls(&mut group, measure, name, &mut instrumented, body);
    });
    group.finish();
}

/// Router alone and with the layer, under the global recorder installed by [`overhead`].
fn bench_global(c: &mut Criterion, measure: Measure, method: &str, body: &'static [u8]) {
    let mut group = c.benchmark_group(format!("{}, global recorder", measure.group_name(method)));
    bench_calls(&mut group, measure, "router", &mut router(), body);
    let mut instrumented = instrumented_router();
    let name = "telemetry, PrometheusRecorder";
    bench_calls(&mut group, measure, name, &mut instrumented, body);
    group.finish();
}

const MEASURES: [Measure; 2] = [Measure::BytesToBytes, Measure::Service];

fn overhead(c: &mut Criterion) {
    for measure in MEASURES {
        bench_pair(c, measure, "tools/call", TOOLS_CALL);
        bench_pair(c, measure, "ping", PING);
    }
    // As a server would: this crate's preset, installed for the process, drained regularly.
    support::install_global_prometheus();
    for measure in MEASURES {
        bench_global(c, measure, "tools/call", TOOLS_CALL);
        bench_global(c, measure, "ping", PING);
    }
    for measure in MEASURES {
        bench_spans(c, measure, "tools/call", TOOLS_CALL);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(4));
    targets = overhead
}
criterion_main!(benches);
