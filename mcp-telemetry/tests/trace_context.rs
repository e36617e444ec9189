//! `_meta.traceparent` is read when something reads it: a hook that asks for it (closures
//! do), or a span some subscriber may enable. With neither, the layer skips the `_meta` scan.
//!
//! No test here installs a tracing subscriber, so the global level filter stays off: a
//! subscriber anywhere in this process would enable the read for every call.

use std::sync::{Arc, Mutex};

use mcp_core::jsonrpc::Message;
use mcp_core::{McpRequest, ProtocolVersion, Router};
use mcp_telemetry::{CallInfo, OnRequest, TelemetryLayer};
use tower::{Layer, ServiceExt};
use tracing::Span;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn call_with_traceparent() -> McpRequest {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","_meta":{{"traceparent":"{TRACEPARENT}","tracestate":"congo=t61rcWkgMzE"}}}}}}"#
    );
    McpRequest::new(
        Message::parse(body.as_bytes()).unwrap(),
        ProtocolVersion::V2025_11_25,
    )
}

type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// A hook that records the trace id it sees, and says whether it reads the trace context.
#[derive(Clone)]
struct Recording {
    seen: Seen,
    reads: bool,
}

impl OnRequest for Recording {
    fn on_request(&self, call: &CallInfo, _: &Span) {
        let trace_id = call.trace_context().map(|t| t.trace_id().to_string());
        self.seen.lock().unwrap().push(trace_id);
    }

    fn reads_trace_context(&self) -> bool {
        self.reads
    }
}

async fn seen_by(reads: bool) -> Option<String> {
    let seen = Seen::default();
    let hook = Recording {
        seen: seen.clone(),
        reads,
    };
    let service = TelemetryLayer::new()
        .on_request(hook)
        .layer(Router::builder().build());
    service.oneshot(call_with_traceparent()).await.unwrap();
    let mut seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one call, one on_request");
    seen.pop().unwrap()
}

#[tokio::test]
async fn a_hook_that_reads_the_trace_context_gets_it() {
    assert_eq!(
        seen_by(true).await.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}

#[tokio::test]
async fn closures_are_assumed_to_read_it() {
    let seen = Seen::default();
    let record = seen.clone();
    let service = TelemetryLayer::new()
        .on_request(move |call: &CallInfo, _: &Span| {
            let trace = call
                .trace_context()
                .map(|t| format!("{} {}", t.trace_id(), call.trace_state().unwrap_or("-")));
            record.lock().unwrap().push(trace);
        })
        .layer(Router::builder().build());
    service.oneshot(call_with_traceparent()).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [Some(
            "4bf92f3577b34da6a3ce929d0e0e4736 congo=t61rcWkgMzE".to_owned()
        )]
    );
}

#[tokio::test]
async fn without_a_reader_the_meta_scan_is_skipped() {
    assert_eq!(seen_by(false).await, None);
}
