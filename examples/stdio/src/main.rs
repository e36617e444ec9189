//! The quickstart tools over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on
//! stderr. Point an MCP client's "command" at this binary.
//!
//! ```text
//! echo '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}' \
//!   | cargo run -q -p example-stdio
//! ```
//!
//! It serves the same RPC tier as the HTTP quickstart (`BatchLayer` → `AllowListLayer` →
//! `Router`), so 2025-03-26 batches work here too, plus a `sleep` tool that shows
//! cancellation: `notifications/cancelled`, or closing stdin, ends it early. Ctrl-C or SIGTERM
//! ends serving as the end of input does: running requests get the transport's grace to
//! finish, and their answers are still written.

use std::time::Duration;

use mcp_core::{CancellationToken, RequestContext, Tool};
use mcp_tower::{AllowListLayer, BatchLayer, StdioTransport};
use serde_json::{Map, Value, json};
use tower::ServiceBuilder;

/// The longest `sleep`, in seconds.
const MAX_SLEEP: f64 = 60.0;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // stdout carries the protocol; everything else goes to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let router = quickstart::router();
    router.add_tool(sleep_tool());
    let events = router.events();
    // `StdioTransport::serve` takes any RPC-tier service: the router wrapped in the same
    // layers as `McpServer::builder(router).into_http_service()` uses (insert your own here).
    let service = ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(AllowListLayer::new())
        .service(router);
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        mcp_tower::serve::shutdown_signal().await;
        on_signal.cancel();
    });
    StdioTransport::new()
        .server_events(events)
        .shutdown_token(shutdown)
        .serve(service)
        .await
}

/// `sleep {seconds}`: waits (at most a minute) unless the request is cancelled first.
fn sleep_tool() -> Tool {
    Tool::new("sleep")
        .description("Waits the given number of seconds (at most 60), or until cancelled")
        .input_schema(json!({
            "type": "object",
            "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_SLEEP}},
            "required": ["seconds"],
        }))
        .raw_handler(|args: Map<String, Value>, ctx: RequestContext| async move {
            let seconds = args
                .get("seconds")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
                .clamp(0.0, MAX_SLEEP);
            // Tells a client that asked for progress that the wait began.
            ctx.progress(0.0, Some(seconds), None).await;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(seconds)) => "done",
                () = ctx.cancelled() => "cancelled",
            }
        })
}
