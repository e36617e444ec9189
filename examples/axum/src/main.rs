//! The MCP endpoint mounted in an existing axum application with `nest_service`, next to
//! the application's own routes.
//!
//! ```text
//! cargo run -p example-axum   # MCP on http://127.0.0.1:3001/mcp, health on /health
//! ```

use axum::Router;
use axum::routing::get;
use mcp_core::CancellationToken;
use mcp_tower::{McpServer, StreamableHttpConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    // Cancelled when axum starts its graceful shutdown: open SSE streams (a listen stream, a
    // session's GET stream) then end, instead of keeping the shutdown waiting.
    let shutdown = CancellationToken::new();
    // `nest_service` strips the prefix, so the MCP service answers on its own root.
    let mcp = McpServer::builder(quickstart::router())
        .path("/")
        .http_config(StreamableHttpConfig::default().shutdown_token(shutdown.clone()))
        .into_http_service();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest_service("/mcp", mcp);
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            // Ctrl-C or SIGTERM, as `mcp_tower::serve` waits for.
            mcp_tower::serve::shutdown_signal().await;
            shutdown.cancel();
        })
        .await
}
