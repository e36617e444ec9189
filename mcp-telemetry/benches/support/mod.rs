//! What the overhead benches measure: a router with one `add` tool and a call of it.

use std::convert::Infallible;
use std::hint::black_box;

use futures_util::FutureExt;
use mcp_core::jsonrpc::Message;
use mcp_core::{Json, McpRequest, McpResponse, ProtocolVersion, RequestContext, Router, Tool};
use mcp_telemetry::{
    DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, Telemetry, TelemetryLayer,
};
use tower::{Layer, Service};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

/// The router the layer is measured on.
pub(crate) fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("add").handler(|Json(args): Json<AddArgs>, _: RequestContext| async move {
                (args.a + args.b).to_string()
            }),
        )
        .build()
}

/// [`router`] behind a `TelemetryLayer` that knows its tools, as a server stacks them.
pub(crate) fn instrumented_router()
-> Telemetry<Router, DefaultOnRequest, DefaultOnResponse, DefaultOnFailure> {
    let router = router();
    TelemetryLayer::for_router(&router).layer(router)
}

/// `tools/call add {a: 2, b: 3}`.
pub(crate) const TOOLS_CALL: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;

/// `body` parsed into a request, as a transport hands it to the RPC tier.
pub(crate) fn request(body: &[u8]) -> McpRequest {
    McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25)
}

/// One dispatch, bytes to bytes: `body` parsed, `service` called (the router answers without
/// waiting, so it is polled once), the response written to `out`.
#[inline(always)]
pub(crate) fn dispatch<S>(service: &mut S, body: &[u8], out: &mut Vec<u8>)
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    out.clear();
    let response = service
        .call(request(black_box(body)))
        .now_or_never()
        .expect("answered in one poll")
        .expect("infallible");
    response.write_json(out);
    black_box(out.len());
}

/// This crate's Prometheus preset installed as the global recorder, as a server runs it
/// (it cannot be uninstalled), drained every second: a dispatch loop records far more samples
/// per second than a server, and the buffers between drains should stay small.
pub(crate) fn install_global_prometheus() {
    let handle = mcp_telemetry::prometheus::builder()
        .install_recorder()
        .expect("no global recorder yet");
    mcp_telemetry::names::describe_metrics();
    mcp_telemetry::prometheus::spawn_upkeep(handle, std::time::Duration::from_secs(1));
}
