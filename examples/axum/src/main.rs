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
//! shutdown starts, and bound that shutdown yourself.)
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
