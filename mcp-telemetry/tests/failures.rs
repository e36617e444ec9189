//! The RPC-tier layer when calls go wrong: handlers and services that panic, callers that
//! leave before the answer, and rate-limit refusals.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::{McpRequest, McpResponse};
use mcp_telemetry::TelemetryLayer;
use support::calls::{request, router, single};
use support::run;
use tower::{Layer, Service, ServiceExt};

#[test]
fn a_panicking_handler_is_answered_with_internal_error_and_counted() {
    run(|capture, metrics| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let body = r#"{"jsonrpc":"2.0","id":"p","method":"tools/call","params":{"name":"boom","arguments":{}}}"#;
        let response = single(service.oneshot(request(body)).await.unwrap());
        let error = response.error_object().unwrap();
        assert_eq!(error.code, -32603);
        assert_eq!(error.message, "Internal error");
        assert!(error.data.is_none(), "no internals in the answer");
        assert_eq!(response.id, Some("p".into()));

        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.panics", &[("method", "tools/call")]),
            1
        );
        let labels = [
            ("method", "tools/call"),
            ("target", "boom"),
            ("outcome", "protocol_error"),
            ("code", "-32603"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &labels)
                .len(),
            1
        );
        let events = capture.events_named("handler_panicked");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].level, tracing::Level::ERROR);
        assert_eq!(events[0].target, "mcp_telemetry");
        assert_eq!(events[0].field("panic.message"), Some("secret internals"));
        assert_eq!(
            capture.span("tools/call boom").field("error.type"),
            Some("-32603")
        );
    });
}

/// A service whose `call` panics before returning a future.
#[derive(Clone)]
struct PanicsInCall;

impl Service<McpRequest> for PanicsInCall {
    type Response = McpResponse;
    type Error = Infallible;
    type Future = std::future::Ready<Result<McpResponse, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: McpRequest) -> Self::Future {
        panic!("broken layer")
    }
}

#[test]
fn a_panic_in_call_is_caught_too() {
    run(|_capture, metrics| async move {
        let service = TelemetryLayer::new().layer(PanicsInCall);
        let response = single(
            service
                .oneshot(request(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
                .await
                .unwrap(),
        );
        assert_eq!(response.error_object().unwrap().code, -32603);
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.panics", &[("method", "ping")]),
            1
        );
    });
}

#[test]
fn dropping_an_unfinished_call_reports_a_disconnection() {
    run(|capture, metrics| async move {
        let router = router();
        let mut service = TelemetryLayer::for_router(&router).layer(router);
        let body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{}}}"#;
        let mut future = Box::pin(service.ready().await.unwrap().call(request(body)));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let in_flight = [("method", "tools/call")];
        assert_eq!(
            metrics
                .snapshot()
                .gauge("mcp.server.requests.in_flight", &in_flight),
            Some(1.0)
        );
        drop(future);

        let snapshot = metrics.snapshot();
        // Snapshots drain: the gauge shows the change since the previous one.
        assert_eq!(
            snapshot.gauge("mcp.server.requests.in_flight", &in_flight),
            Some(-1.0)
        );
        assert_eq!(
            snapshot.counter("mcp.server.requests.disconnected", &in_flight),
            1
        );
        let events = capture.events_named("client_disconnected");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].field("jsonrpc.request.id"), Some("3"));
        let span = capture.span("tools/call slow");
        assert_eq!(span.field("error.type"), Some("disconnected"));
    });
}

#[test]
fn rate_limit_refusals_are_counted() {
    run(|capture, metrics| async move {
        let limited = tower::service_fn(|request: McpRequest| async move {
            let error = ErrorObject::new(-32000, "Rate limit exceeded, retry later");
            Ok::<_, Infallible>(McpResponse::error_for(&request.message, error))
        });
        let service = TelemetryLayer::new().layer(limited);
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        service.oneshot(request(body)).await.unwrap();
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.rate_limited", &[("tier", "rpc")]),
            1
        );
        let labels = [
            ("method", "tools/list"),
            ("outcome", "protocol_error"),
            ("code", "-32000"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &labels)
                .len(),
            1
        );
        assert_eq!(capture.events_named("rate_limited").len(), 1);
        // A refused call is a failed operation on its span too (`error.type` the code).
        let span = capture.span("tools/list");
        assert_eq!(span.field("rpc.response.status_code"), Some("-32000"));
        assert_eq!(span.field("error.type"), Some("-32000"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
    });
}
