//! Feature `opentelemetry`: a call's span joins the caller's trace. A real server on
//! 127.0.0.1:0 answers real HTTP requests carrying `_meta.traceparent` (and `tracestate`);
//! `tracing-opentelemetry` hands the spans to an OpenTelemetry SDK whose in-memory exporter
//! the tests read.
//!
//! Each test runs on a current-thread runtime with its subscriber as the thread's default, so
//! the server's tasks (on that thread) report to it and tests do not see each other's spans.

#![cfg(feature = "opentelemetry")]

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer};
use mcp_telemetry::TelemetryLayer;
use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::Layer;
use tracing_subscriber::layer::SubscriberExt;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const CALL_SPAN_NAME: &str = "tools/call lookup";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Lookup {
    key: String,
}

/// A router whose tool opens a span of its own, as a handler calling a database would.
fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("lookup").handler(|Json(x): Json<Lookup>, _: RequestContext| async move {
                let _query = tracing::info_span!("db.query").entered();
                format!("value of {}", x.key)
            }),
        )
        .build()
}

/// The server (HostOrigin and Streamable HTTP, stateless, around the telemetry layer) and a
/// client of it.
async fn serve(layer: TelemetryLayer) -> (TestServer, TestClient) {
    let router = router();
    support::serve_rpc(layer.known_targets(router.clone()).layer(router)).await
}

/// Enters an `http.request` span around the call of the layer below, as an HTTP server's
/// trace layer would: the ambient context of the call's span.
#[derive(Clone)]
struct InAmbientSpan<S>(S);

impl<S: tower::Service<mcp_core::McpRequest>> tower::Service<mcp_core::McpRequest>
    for InAmbientSpan<S>
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: mcp_core::McpRequest) -> S::Future {
        let _entered = tracing::info_span!("http.request").entered();
        self.0.call(request)
    }
}

/// Sends the 2025-11-25 shape or the 2026-07-28 shape of `tools/call lookup`, with `meta`
/// (JSON members, may be empty) added to `params._meta`, and checks that the tool answered.
async fn call(client: &TestClient, modern: bool, meta: &str) {
    let (version, meta) = if modern {
        let required = r#""io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}"#;
        let sep = if meta.is_empty() { "" } else { "," };
        ("2026-07-28", format!("{required}{sep}{meta}"))
    } else {
        ("2025-11-25", meta.to_owned())
    };
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"lookup","arguments":{{"key":"k"}},"_meta":{{{meta}}}}}}}"#
    );
    let mut headers = vec![("mcp-protocol-version", version)];
    if modern {
        headers.extend([("mcp-method", "tools/call"), ("mcp-name", "lookup")]);
    }
    let reply = client.send(Method::POST, body, &headers).await;
    let text = String::from_utf8_lossy(&reply.body);
    assert_eq!(reply.status, StatusCode::OK, "{text}");
    assert!(text.contains("value of k"), "{text}");
}

/// Makes the call and returns the spans exported once the call's span has ended.
async fn exported_after(
    exporter: &InMemorySpanExporter,
    client: &TestClient,
    modern: bool,
    meta: &str,
) -> Vec<SpanData> {
    call(client, modern, meta).await;
    // The call's span ends when its future is dropped, which may come just after the answer
    // is written: wait for it, boundedly.
    for _ in 0..200 {
        let spans = exporter.get_finished_spans().unwrap();
        if spans.iter().any(|span| span.name == CALL_SPAN_NAME) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    exporter.get_finished_spans().unwrap()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// Runs `test` on a current-thread runtime whose thread reports spans to an in-memory
/// OpenTelemetry exporter.
fn traced<F, Fut>(test: F)
where
    F: FnOnce(InMemorySpanExporter) -> Fut,
    Fut: Future<Output = ()>,
{
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("mcp-telemetry-tests")));
    let _default = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test(exporter));
}

fn traceparent(flags: &str) -> String {
    format!(r#""traceparent":"00-{TRACE_ID}-{CALLER_SPAN}-{flags}""#)
}

#[test]
fn the_call_span_joins_the_callers_trace_and_handler_spans_nest_under_it() {
    traced(|exporter| async move {
        let (_server, client) = serve(TelemetryLayer::new()).await;
        for modern in [false, true] {
            exporter.reset();
            let meta = format!(r#"{},"tracestate":"congo=t61rcWkgMzE""#, traceparent("01"));
            let spans = exported_after(&exporter, &client, modern, &meta).await;

            let call = named(&spans, CALL_SPAN_NAME);
            assert_eq!(
                call.span_context.trace_id(),
                TraceId::from_hex(TRACE_ID).unwrap()
            );
            assert_eq!(call.parent_span_id, SpanId::from_hex(CALLER_SPAN).unwrap());
            assert!(call.parent_span_is_remote);
            assert_eq!(call.span_kind, SpanKind::Server);
            assert_eq!(
                call.span_context.trace_state().header(),
                "congo=t61rcWkgMzE"
            );
            assert!(call.span_context.is_sampled());
            assert_eq!(
                attribute(call, "mcp.method.name").as_deref(),
                Some("tools/call")
            );
            assert_eq!(
                attribute(call, "gen_ai.tool.name").as_deref(),
                Some("lookup")
            );
            let version = if modern { "2026-07-28" } else { "2025-11-25" };
            assert_eq!(
                attribute(call, "mcp.protocol.version").as_deref(),
                Some(version)
            );

            // The handler's own span: same trace, child of the call's span.
            let query = named(&spans, "db.query");
            assert_eq!(query.span_context.trace_id(), call.span_context.trace_id());
            assert_eq!(query.parent_span_id, call.span_context.span_id());
            assert!(!query.parent_span_is_remote);
        }
    });
}

#[test]
fn a_joined_call_links_the_span_that_surrounded_it() {
    traced(|exporter| async move {
        let router = router();
        let rpc = TelemetryLayer::new().known_targets(router.clone());
        let (_server, client) = support::serve_rpc(InAmbientSpan(rpc.layer(router))).await;
        let spans = exported_after(&exporter, &client, false, &traceparent("01")).await;
        let call = named(&spans, CALL_SPAN_NAME);
        let ambient = named(&spans, "http.request");
        // The caller's trace is the parent; the local span it displaced is a link.
        assert_eq!(call.parent_span_id, SpanId::from_hex(CALLER_SPAN).unwrap());
        let linked: Vec<_> = call
            .links
            .iter()
            .map(|link| link.span_context.span_id())
            .collect();
        assert_eq!(linked, [ambient.span_context.span_id()]);
    });
}

#[test]
fn without_a_valid_traceparent_the_call_starts_a_new_trace() {
    traced(|exporter| async move {
        let (_server, client) = serve(TelemetryLayer::new()).await;
        for meta in [
            String::new(),
            // Upper-case hex is invalid (W3C), and so the tracestate is ignored too.
            format!(
                r#""traceparent":"00-{}-{CALLER_SPAN}-01","tracestate":"congo=1""#,
                TRACE_ID.to_uppercase()
            ),
        ] {
            exporter.reset();
            let spans = exported_after(&exporter, &client, false, &meta).await;
            let call = named(&spans, CALL_SPAN_NAME);
            assert_eq!(call.parent_span_id, SpanId::INVALID, "{meta}");
            assert_ne!(
                call.span_context.trace_id(),
                TraceId::from_hex(TRACE_ID).unwrap()
            );
            assert_eq!(call.span_context.trace_state().header(), "");
        }
    });
}

#[test]
fn a_tracestate_opentelemetry_refuses_is_dropped_and_the_trace_still_joined() {
    traced(|exporter| async move {
        let (_server, client) = serve(TelemetryLayer::new()).await;
        // Keys must be lower-case: OpenTelemetry refuses the whole list.
        let meta = format!(r#"{},"tracestate":"Congo=1""#, traceparent("01"));
        let spans = exported_after(&exporter, &client, false, &meta).await;
        let call = named(&spans, CALL_SPAN_NAME);
        assert_eq!(call.parent_span_id, SpanId::from_hex(CALLER_SPAN).unwrap());
        assert_eq!(call.span_context.trace_state().header(), "");
    });
}

#[test]
fn the_callers_sampling_decision_is_kept() {
    traced(|exporter| async move {
        let (_server, client) = serve(TelemetryLayer::new()).await;
        // Flags 00: not sampled. The SDK's default sampler follows the parent, so neither
        // the call's span nor the handler's is exported.
        call(&client, false, &traceparent("00")).await;
        // A sampled call after it, whose span is exported: the unsampled one had its chance.
        let meta = traceparent("01");
        let spans = exported_after(&exporter, &client, false, &meta).await;
        assert_eq!(
            spans
                .iter()
                .filter(|span| span.name == CALL_SPAN_NAME)
                .count(),
            1,
            "{spans:#?}"
        );
        assert_eq!(
            spans.iter().filter(|span| span.name == "db.query").count(),
            1
        );
    });
}

#[test]
fn join_caller_trace_false_starts_a_new_trace_and_keeps_the_ids_as_fields() {
    traced(|exporter| async move {
        let (_server, client) = serve(TelemetryLayer::new().join_caller_trace(false)).await;
        let meta = traceparent("01");
        let spans = exported_after(&exporter, &client, false, &meta).await;
        let call = named(&spans, CALL_SPAN_NAME);
        assert_eq!(call.parent_span_id, SpanId::INVALID);
        assert_ne!(
            call.span_context.trace_id(),
            TraceId::from_hex(TRACE_ID).unwrap()
        );
        assert_eq!(attribute(call, "trace_id").as_deref(), Some(TRACE_ID));
        assert_eq!(
            attribute(call, "parent_span_id").as_deref(),
            Some(CALLER_SPAN)
        );
    });
}
