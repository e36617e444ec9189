//! The fixture server the official MCP conformance suites are run against
//! (`@modelcontextprotocol/conformance`, see `docs/conformance-expectations.md`).
//!
//! It serves, on one endpoint, both protocol eras: the legacy era (2025-11-25, `initialize`
//! and sessions) and the modern era (2026-07-28, stateless, per-request `_meta`), with every
//! tool, resource, template and prompt the suites call.
//!
//! ```text
//! cargo run --release -p conformance-server -- --addr 127.0.0.1:0
//! # listening on http://127.0.0.1:PORT/mcp
//! .ci/conformance.sh http://127.0.0.1:PORT/mcp
//! ```
//!
//! Only the public API of `mcp-core` and `mcp-tower` is used: the fixture doubles as an
//! example of every handler feature (content kinds, logging, progress, sampling, elicitation,
//! roots, SSE polling, raw JSON schemas, list-changed triggers, multi round-trip requests with
//! named questions, tasks).

mod modern;
mod prompts;
mod resources;
mod tasks;
mod tools;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcp_core::{Router, TaskConfig};
use mcp_tower::McpServer;

/// A 1×1 PNG.
pub(crate) const TEST_IMAGE_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/// A 44-byte WAV file.
pub(crate) const TEST_AUDIO_BASE64: &str =
    "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// The router, reachable from handlers that change the registries (list-changed triggers).
/// Set once, right after the router is built.
pub(crate) type RouterCell = Arc<OnceLock<Router>>;

/// Every tool, resource, template and prompt the conformance suites expect.
fn router() -> Router {
    let cell: RouterCell = Arc::new(OnceLock::new());
    let mut builder = Router::builder()
        .name("mcp-conformance-test-server", "1.0.0")
        // The suite polls `tasks/get` every 200 ms; suggest the same.
        .tasks(TaskConfig::default().poll_interval(Duration::from_millis(200)));
    // Order matters: `http-header-validation` calls the first listed tool with `{}`, so
    // `test_simple_text` comes first; the list is stable across calls.
    for tool in tools::tools() {
        builder = builder.tool(tool);
    }
    for tool in modern::tools(&cell) {
        builder = builder.tool(tool);
    }
    for tool in tasks::tools() {
        builder = builder.tool(tool);
    }
    for resource in resources::resources() {
        builder = builder.resource(resource);
    }
    builder = builder.resource_template(resources::template());
    let prompts = prompts::prompts();
    modern::remember_prompt(prompts[0].clone());
    for prompt in prompts {
        builder = builder.prompt(prompt);
    }
    let router = builder.build();
    let _ = cell.set(router.clone());
    router
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "-h" | "--help" => {
                println!("usage: conformance-server [--addr HOST:PORT]");
                return Ok(());
            }
            other => {
                eprintln!("unknown argument {other}; usage: conformance-server [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // Sessions on (the default stack): the legacy suites need `Mcp-Session-Id`.
    let service = McpServer::builder(router()).into_http_service();
    // Printed on stdout once bound, so scripts can wait for it and find the port.
    println!("listening on http://{local}/mcp");
    mcp_tower::serve(listener, service).await
}
