//! The MCP endpoint mounted in an existing axum application with `nest_service`, next to
//! the application's own routes.
//!
//! The application is served by `mcp_tower::serve` (an axum `Router` is a tower service of
//! hyper requests) rather than `axum::serve`, which has no header-read or idle timeout, no
//! connection cap and no bound on its graceful shutdown: one client trickling a request head
//! would hold a connection forever, and the process after SIGTERM. `serve` closes idle and
//! slow connections (`HEADER_READ_TIMEOUT`), drops those that stop reading (`SEND_TIMEOUT`),
//! caps open connections (`MAX_CONNECTIONS`) and, on Ctrl-C or SIGTERM, ends the MCP streams
//! and waits at most `SHUTDOWN_GRACE_PERIOD` for the requests in flight. (With `axum::serve`,
//! give the MCP service a `StreamableHttpConfig::shutdown_token` cancelled when its graceful
//! shutdown starts, and bound that shutdown yourself; and copy the peer address out of
//! axum's `ConnectInfo` into the request's extensions as a `SocketAddr`, which per-peer rate
//! limits, anonymous task quotas and telemetry read.)
//!
//! Around a nested MCP service:
//! - an outer request timeout (tower-http's `TimeoutLayer`) bounds every answer sent as
//!   JSON, so a tool slower than it is cut with a bare 408 and its handler dropped; answers
//!   already streaming (SSE, the GET stream, `subscriptions/listen`) are not cut. Size it
//!   above the slowest tool, or stream answers with `ResponseMode::AlwaysSse`;
//! - with `mcp-auth`, the RFC 9728 metadata document belongs at the root
//!   (`/.well-known/oauth-protected-resource/mcp`): a `MetadataLayer` inside the nest would
//!   serve it under the prefix. Mount the `MetadataService` on the outer router instead, at
//!   each of its `paths()`.
//!
//! ```text
//! cargo run -p example-axum   # MCP on http://127.0.0.1:3001/mcp, health on /health
//! cargo run -p example-axum -- --addr 127.0.0.1:0   # any free port (printed)
//! ```

use axum::Router;
use axum::routing::get;
use mcp_tower::McpServer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    // `nest_service` strips the prefix, so the MCP service answers on its own root.
    let mcp = McpServer::builder(quickstart::router())
        .path("/")
        .into_http_service();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest_service("/mcp", mcp);
    // `--addr HOST:PORT`, as the other examples take it (a bare address is accepted too).
    let addr = quickstart::listen_address(std::env::args().skip(1), "127.0.0.1:3001");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    mcp_tower::serve(listener, app).await
}
