//! The quickstart tools over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on
//! stderr. Point an MCP client's "command" at this binary.
//!
//! ```text
//! echo '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}' \
//!   | cargo run -q -p example-stdio
//! ```

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // stdout carries the protocol; everything else goes to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let router = quickstart::router();
    mcp_tower::StdioTransport::new()
        .server_events(router.events())
        .serve(router)
        .await
}
