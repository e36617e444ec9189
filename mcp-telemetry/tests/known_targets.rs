//! Labels follow the router's tools as they come and go, also when the layer remembers which
//! names were known (by the router's names revision) instead of asking on every call.

mod support;

use mcp_core::jsonrpc::Message;
use mcp_core::{Json, McpRequest, ProtocolVersion, RequestContext, Router, Tool};
use mcp_telemetry::TelemetryLayer;
use support::run;
use tower::{Layer, Service, ServiceExt};

fn call_tool(name: &str) -> McpRequest {
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
    McpRequest::new(
        Message::parse(body.as_bytes()).unwrap(),
        ProtocolVersion::V2025_11_25,
    )
}

fn echo(name: &str) -> Tool {
    Tool::new(name)
        .handler(|Json(v): Json<serde_json::Value>, _: RequestContext| async move { v.to_string() })
}

async fn send<S>(service: &mut S, name: &str)
where
    S: Service<McpRequest, Error = std::convert::Infallible>,
{
    service
        .ready()
        .await
        .unwrap()
        .call(call_tool(name))
        .await
        .unwrap();
}

/// `tools/call` requests labelled `name` and `_other` since the last snapshot (snapshots
/// drain).
fn calls_since(metrics: &support::Metrics, name: &str) -> (u64, u64) {
    let snapshot = metrics.snapshot();
    let count = |target: &str| {
        snapshot.counter(
            "mcp.server.requests",
            &[("method", "tools/call"), ("target", target)],
        )
    };
    (count(name), count("_other"))
}

#[test]
fn tools_added_and_removed_at_runtime_are_labelled_while_registered() {
    run(|_capture, metrics| async move {
        let router = Router::builder().build();
        let mut service = TelemetryLayer::for_router(&router).layer(router.clone());
        // A name unique to this test: key tables are shared by the whole process.
        let name = "comes_and_goes";

        send(&mut service, name).await;
        assert_eq!(calls_since(&metrics, name), (0, 1), "not registered yet");

        router.add_tool(echo(name));
        send(&mut service, name).await;
        send(&mut service, name).await;
        assert_eq!(calls_since(&metrics, name), (2, 0), "registered");

        assert!(router.remove_tool(name));
        send(&mut service, name).await;
        assert_eq!(calls_since(&metrics, name), (0, 1), "removed: folded again");

        router.add_tool(echo(name));
        send(&mut service, name).await;
        assert_eq!(calls_since(&metrics, name), (1, 0), "back");
    });
}

#[test]
fn what_one_router_knows_is_not_taken_for_another() {
    run(|_capture, metrics| async move {
        let name = "only_on_the_first";
        let first = Router::builder().tool(echo(name)).build();
        let second = Router::builder().build();
        let mut on_first = TelemetryLayer::for_router(&first).layer(first.clone());
        let mut on_second = TelemetryLayer::for_router(&second).layer(second.clone());
        for _ in 0..2 {
            send(&mut on_first, name).await;
            send(&mut on_second, name).await;
        }
        assert_eq!(calls_since(&metrics, name), (2, 2));
    });
}

/// Knows no name, at a revision of its own (as `KnownTargets::revision` asks).
struct KnowsNothing(u64);

impl mcp_telemetry::KnownTargets for KnowsNothing {
    fn is_known(&self, _: mcp_telemetry::TargetKind, _: &str) -> bool {
        false
    }
    fn revision(&self) -> Option<u64> {
        Some(self.0)
    }
}

#[test]
fn revisions_of_your_own_are_never_a_routers() {
    run(|_capture, metrics| async move {
        let name = "known_to_the_router_only";
        let router = Router::builder().tool(echo(name)).build();
        let mut on_router = TelemetryLayer::for_router(&router).layer(router.clone());
        let known = KnowsNothing(mcp_telemetry::new_revision());
        let mut on_own = TelemetryLayer::new()
            .known_targets(known)
            .layer(router.clone());
        send(&mut on_router, name).await;
        send(&mut on_own, name).await;
        assert_eq!(calls_since(&metrics, name), (1, 1));
    });
}
