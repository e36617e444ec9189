//! Metric handles kept for the global recorder: calls are counted in the right recorder
//! whether the global one was installed before or after the layer was built, and
//! thread-local recorders (one after another, possibly at the same address) never receive
//! or lose metrics through kept handles.
//!
//! One test in its own binary: a global recorder is installed for the life of the process.

mod support;

use mcp_core::jsonrpc::Message;
use mcp_core::{McpRequest, McpResponse, ProtocolVersion, Router};
use mcp_telemetry::TelemetryLayer;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use tower::{Layer, Service, ServiceExt};

fn router() -> Router {
    Router::builder().tool(support::add_tool()).build()
}

const ADD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#;

/// Makes `n` calls, each answered in one poll.
fn calls<S>(service: &mut S, n: usize)
where
    S: Service<McpRequest, Response = McpResponse, Error = std::convert::Infallible>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..n {
        let request = McpRequest::new(
            Message::parse(ADD.as_bytes()).unwrap(),
            ProtocolVersion::V2025_11_25,
        );
        let response =
            runtime.block_on(async { service.ready().await.unwrap().call(request).await.unwrap() });
        assert!(matches!(response, McpResponse::Single(r) if !r.is_error()));
    }
}

/// What a snapshot holds for `add`: requests counted, durations recorded, and the in-flight
/// gauge (the change since the previous snapshot).
#[derive(Debug, PartialEq)]
struct Seen {
    requests: u64,
    durations: usize,
    in_flight: f64,
}

fn seen(snapshotter: &Snapshotter) -> Seen {
    let snapshot: Vec<(CompositeKey, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect();
    let find = |kind: MetricKind, name: &str, target: Option<&str>| {
        snapshot.iter().find_map(|(key, value)| {
            let labels: Vec<_> = key.key().labels().map(|l| (l.key(), l.value())).collect();
            let matches = key.kind() == kind
                && key.key().name() == name
                && labels.contains(&("method", "tools/call"))
                && target.is_none_or(|t| labels.contains(&("target", t)));
            matches.then_some(value)
        })
    };
    Seen {
        requests: match find(MetricKind::Counter, "mcp.server.requests", Some("add")) {
            Some(DebugValue::Counter(n)) => *n,
            _ => 0,
        },
        durations: match find(
            MetricKind::Histogram,
            "mcp.server.operation.duration",
            Some("add"),
        ) {
            Some(DebugValue::Histogram(values)) => values.len(),
            _ => 0,
        },
        in_flight: match find(MetricKind::Gauge, "mcp.server.requests.in_flight", None) {
            Some(DebugValue::Gauge(v)) => v.into_inner(),
            _ => 0.0,
        },
    }
}

fn answered(n: u64) -> Seen {
    Seen {
        requests: n,
        durations: n as usize,
        in_flight: 0.0,
    }
}

/// Calls on this thread with a fresh thread-local recorder (at the same stack address each
/// time, likely); what it saw.
fn with_local_recorder<S>(service: &mut S, n: usize) -> Seen
where
    S: Service<McpRequest, Response = McpResponse, Error = std::convert::Infallible>,
{
    let local = DebuggingRecorder::new();
    let snapshotter = local.snapshotter();
    metrics::with_local_recorder(&local, || calls(service, n));
    seen(&snapshotter)
}

#[test]
fn calls_are_counted_in_the_recorder_in_scope() {
    let router = router();
    // Built before any recorder is installed.
    let mut early = TelemetryLayer::for_router(&router).layer(router.clone());
    calls(&mut early, 2);

    let global = DebuggingRecorder::new();
    let snapshotter = global.snapshotter();
    global.install().unwrap();
    // The layer does not know the global recorder yet: registered per use, still counted.
    calls(&mut early, 3);
    assert_eq!(seen(&snapshotter), answered(3));

    // Now it does: kept handles.
    mcp_telemetry::names::describe_metrics();
    calls(&mut early, 4);
    assert_eq!(seen(&snapshotter), answered(4));

    // Thread-local recorders, one after another: each sees its own calls, the global none.
    for n in [5, 6] {
        assert_eq!(with_local_recorder(&mut early, n), answered(n as u64));
        assert_eq!(seen(&snapshotter), answered(0));
    }

    // A layer built after the install, and one that keeps no handles.
    let mut late = TelemetryLayer::for_router(&router).layer(router.clone());
    calls(&mut late, 7);
    assert_eq!(seen(&snapshotter), answered(7));
    let mut unkept = TelemetryLayer::for_router(&router)
        .keep_metric_handles(false)
        .layer(router.clone());
    calls(&mut unkept, 8);
    assert_eq!(seen(&snapshotter), answered(8));

    // On another thread too (no local recorder there: the global one).
    std::thread::scope(|scope| {
        scope.spawn(|| calls(&mut late, 9));
    });
    assert_eq!(seen(&snapshotter), answered(9));
}
