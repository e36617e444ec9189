//! The whole RPC-tier path, bytes to bytes: `Message::parse` → `Router` dispatch → response
//! written to a buffer.
//!
//! The handlers here finish without waiting, so the router's future is polled directly with a
//! no-op waker (no runtime, no scheduling): what is measured is parsing, dispatch, argument
//! validation and deserialisation, the handler, and encoding. One variant runs the same path
//! through a current-thread tokio runtime's `block_on` for comparison.
//!
//! Run with `cargo bench -p mcp-core --bench dispatch -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_core::jsonrpc::Message;
use mcp_core::{Json, McpRequest, ProtocolVersion, RequestContext, Router, Tool};
use tower::Service;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArgs {}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct SumArgs {
    values: Vec<f64>,
}

/// A 2026-07-28 `tools/call` whose arguments are an embedding-sized array of numbers, before
/// `_meta` (so the router's scan passes it to reach `_meta`).
fn numbers_call(count: usize) -> Vec<u8> {
    let values: Vec<String> = (0..count)
        .map(|i| format!("{:.6}", (i as f64 * 0.37).sin()))
        .collect();
    format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"sum","arguments":{{"values":[{}]}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#,
        values.join(",")
    )
    .into_bytes()
}

fn add_tool() -> Tool {
    Tool::new("add")
        .description("Adds two integers")
        .handler(|Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
            (args.a + args.b).to_string()
        })
}

fn sum_tool() -> Tool {
    Tool::new("sum").description("Sums numbers").handler(
        |Json(args): Json<SumArgs>, _ctx: RequestContext| async move {
            args.values.iter().sum::<f64>().to_string()
        },
    )
}

const LEGACY_CALL: &[u8] = br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;

const MODERN_CALL: &[u8] = br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;

const LIST: &[u8] = br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;

/// Bytes in, bytes out, polling the router's future once.
fn handle(router: &mut Router, body: &[u8], version: ProtocolVersion, out: &mut Vec<u8>) {
    let message = Message::parse(body).expect("valid request");
    let future = router.call(McpRequest::new(message, version));
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) else {
        panic!("the handler completes without waiting");
    };
    out.clear();
    response.write_json(out);
}

/// The same through a current-thread runtime.
fn handle_block_on(
    rt: &tokio::runtime::Runtime,
    router: &mut Router,
    body: &[u8],
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) {
    let message = Message::parse(body).expect("valid request");
    let future = router.call(McpRequest::new(message, version));
    let Ok(response) = rt.block_on(future);
    out.clear();
    response.write_json(out);
}

fn check(router: &mut Router, body: &[u8], version: ProtocolVersion, expected: &str) {
    let mut out = Vec::new();
    handle(router, body, version, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(expected), "unexpected response: {text}");
}

fn tools_call(c: &mut Criterion) {
    let mut router = Router::builder()
        .name("bench", "1.0.0")
        .tool(add_tool())
        .tool(sum_tool())
        .build();
    let numbers = numbers_call(1536);
    check(
        &mut router,
        LEGACY_CALL,
        ProtocolVersion::V2025_11_25,
        r#""text":"5""#,
    );
    check(
        &mut router,
        MODERN_CALL,
        ProtocolVersion::V2026_07_28,
        r#""resultType":"complete""#,
    );
    check(
        &mut router,
        &numbers,
        ProtocolVersion::V2026_07_28,
        r#""resultType":"complete""#,
    );

    let mut group = c.benchmark_group("tools_call");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(512);
    group.bench_function("legacy_2025_11_25", |b| {
        b.iter(|| {
            handle(
                &mut router,
                black_box(LEGACY_CALL),
                ProtocolVersion::V2025_11_25,
                &mut out,
            );
            black_box(&out);
        });
    });
    group.bench_function("modern_2026_07_28", |b| {
        b.iter(|| {
            handle(
                &mut router,
                black_box(MODERN_CALL),
                ProtocolVersion::V2026_07_28,
                &mut out,
            );
            black_box(&out);
        });
    });
    group.bench_function("modern_1536_numbers", |b| {
        b.iter(|| {
            handle(
                &mut router,
                black_box(&numbers),
                ProtocolVersion::V2026_07_28,
                &mut out,
            );
            black_box(&out);
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    group.bench_function("legacy_2025_11_25_block_on", |b| {
        b.iter(|| {
            handle_block_on(
                &rt,
                &mut router,
                black_box(LEGACY_CALL),
                ProtocolVersion::V2025_11_25,
                &mut out,
            );
            black_box(&out);
        });
    });
    group.finish();
}

fn tools_list(c: &mut Criterion) {
    let mut builder = Router::builder().name("bench", "1.0.0");
    for i in 0..100 {
        builder = builder.tool(
            Tool::new(format!("tool_{i:03}"))
                .description("A tool that does one small thing, described in one sentence.")
                .handler(|Json(_): Json<NoArgs>, _ctx: RequestContext| async move { "ok" }),
        );
    }
    let mut router = builder.build();
    check(
        &mut router,
        LIST,
        ProtocolVersion::V2025_11_25,
        r#""name":"tool_099""#,
    );

    let mut group = c.benchmark_group("tools_list");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(64 * 1024);
    group.bench_function("100_tools_legacy", |b| {
        b.iter(|| {
            handle(
                &mut router,
                black_box(LIST),
                ProtocolVersion::V2025_11_25,
                &mut out,
            );
            black_box(&out);
        });
    });
    group.bench_function("100_tools_modern", |b| {
        b.iter(|| {
            handle(
                &mut router,
                black_box(LIST),
                ProtocolVersion::V2026_07_28,
                &mut out,
            );
            black_box(&out);
        });
    });
    group.finish();
}

criterion_group!(benches, tools_call, tools_list);
criterion_main!(benches);
