//! The whole HTTP-tier path in process: an `http::Request` with a JSON-RPC body through the
//! default `McpServer` stack (endpoint, Host/Origin, sessions, Streamable HTTP bridge, batch,
//! allow-list) serving `quickstart::router()`, as the load test does, to the collected
//! response body. No sockets: what is measured is the
//! stack's own work per request, which the loopback load test (`benches/load`) cannot
//! separate from hyper, the kernel and the load generator.
//!
//! Run with `cargo bench -p mcp-tower --bench http -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_tower::{McpHttpService, McpServer};
use tower::{Service, ServiceExt};

const LEGACY_CALL: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;

const MODERN_CALL: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

/// A POST as the load generator sends it, with the extra headers given.
fn post(body: &'static str, headers: &[(&'static str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid request")
}

async fn send(service: &mut McpHttpService<Full<Bytes>>, request: Request<Full<Bytes>>) -> Bytes {
    let response: Response<_> = service
        .ready()
        .await
        .expect("ready")
        .call(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), 200, "unexpected status");
    response
        .into_body()
        .collect()
        .await
        .expect("a complete body")
        .to_bytes()
}

fn tools_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (mut stateless, mut sessions, session_id) = rt.block_on(async {
        let stateless = McpServer::builder(quickstart::router())
            .stateless()
            .into_http_service();
        let mut sessions = McpServer::builder(quickstart::router()).into_http_service();
        let response = sessions
            .ready()
            .await
            .expect("ready")
            .call(post(INITIALIZE, &[]))
            .await
            .expect("infallible");
        let session_id = response.headers()["mcp-session-id"]
            .to_str()
            .expect("ASCII")
            .to_owned();
        (stateless, sessions, session_id)
    });
    let legacy = [("mcp-protocol-version", "2025-11-25")];
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "add"),
    ];
    let in_session = [
        ("mcp-protocol-version", "2025-11-25"),
        ("mcp-session-id", session_id.as_str()),
    ];
    for (service, headers, body) in [
        (stateless.clone(), &legacy[..], LEGACY_CALL),
        (stateless.clone(), &modern[..], MODERN_CALL),
        (sessions.clone(), &in_session[..], LEGACY_CALL),
    ] {
        let mut service = service;
        let bytes = rt.block_on(send(&mut service, post(body, headers)));
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        assert!(text.contains(r#""text":"5""#), "unexpected body: {text}");
    }

    let mut group = c.benchmark_group("http tools/call");
    group.throughput(Throughput::Elements(1));
    group.bench_function("legacy stateless", |b| {
        b.iter(|| black_box(rt.block_on(send(&mut stateless, post(LEGACY_CALL, &legacy)))));
    });
    group.bench_function("2026-07-28", |b| {
        b.iter(|| black_box(rt.block_on(send(&mut stateless, post(MODERN_CALL, &modern)))));
    });
    group.bench_function("legacy in a session", |b| {
        b.iter(|| black_box(rt.block_on(send(&mut sessions, post(LEGACY_CALL, &in_session)))));
    });
    group.finish();
}

criterion_group!(benches, tools_call);
criterion_main!(benches);
