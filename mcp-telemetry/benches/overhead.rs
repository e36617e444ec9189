//! The cost of `TelemetryLayer` on a `tools/call` dispatch: `Router` alone against
//! `TelemetryLayer` + `Router`, without a tracing subscriber, with no recorder (the `metrics`
//! no-op), with thread-local recorders (`DebuggingRecorder`, Prometheus: registered per use)
//! and with a global Prometheus recorder (handles kept, as in production); and once with a
//! subscriber that enables the spans. Goal: under 10 % over the router alone without
//! subscriber.
//!
//! A global recorder cannot be uninstalled, so its groups (`... global recorder`) run last,
//! each with its own `router` baseline.
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
use mcp_core::jsonrpc::Message;
use mcp_core::{Json, McpRequest, McpResponse, ProtocolVersion, RequestContext, Router, Tool};
use mcp_telemetry::TelemetryLayer;
use tower::{Layer, Service};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("add").handler(|Json(args): Json<AddArgs>, _: RequestContext| async move {
                (args.a + args.b).to_string()
            }),
        )
        .build()
}

const TOOLS_CALL: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

fn request(body: &[u8]) -> McpRequest {
    McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25)
}

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

/// Measures `service` answering `body` as `name` in `group`.
fn bench_calls<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    service: &mut S,
    body: &[u8],
) where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    group.bench_function(name, |b| {
        b.iter_batched(
            || request(body),
            |r| call(service, r),
            BatchSize::SmallInput,
        )
    });
}

fn bench_pair(c: &mut Criterion, group: &str, body: &'static [u8]) {
    let mut group = c.benchmark_group(group);
    bench_calls(&mut group, "router", &mut router(), body);
    let router = router();
    let mut instrumented = TelemetryLayer::for_router(&router).layer(router);
    bench_calls(
        &mut group,
        "telemetry, no recorder",
        &mut instrumented,
        body,
    );
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let name = "telemetry, DebuggingRecorder (thread-local)";
        bench_calls(&mut group, name, &mut instrumented, body);
    });
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        let name = "telemetry, PrometheusRecorder (thread-local)";
        bench_calls(&mut group, name, &mut instrumented, body);
    });
    // Spans enabled: the registry creates and closes one per call.
    let subscriber = tracing_subscriber::registry();
    tracing::subscriber::with_default(subscriber, || {
        let name = "telemetry, no recorder, spans enabled";
        bench_calls(&mut group, name, &mut instrumented, body);
    });
    group.finish();
}

/// Router alone and with the layer, under the global recorder installed by [`overhead`].
fn bench_global(c: &mut Criterion, group: &str, body: &'static [u8]) {
    let mut group = c.benchmark_group(format!("{group}, global recorder"));
    bench_calls(&mut group, "router", &mut router(), body);
    let router = router();
    let mut instrumented = TelemetryLayer::for_router(&router).layer(router);
    bench_calls(
        &mut group,
        "telemetry, PrometheusRecorder",
        &mut instrumented,
        body,
    );
    group.finish();
}

fn overhead(c: &mut Criterion) {
    bench_pair(c, "tools/call", TOOLS_CALL);
    bench_pair(c, "ping", PING);
    // As a server would: this crate's preset, installed for the process, drained regularly.
    let handle = mcp_telemetry::prometheus::builder()
        .install_recorder()
        .expect("no global recorder yet");
    mcp_telemetry::names::describe_metrics();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            handle.run_upkeep();
        }
    });
    bench_global(c, "tools/call", TOOLS_CALL);
    bench_global(c, "ping", PING);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(4));
    targets = overhead
}
criterion_main!(benches);
