//! Serves an MCP endpoint with `mcp_tower::serve` on 127.0.0.1:0, printing its address first
//! and "served" once `serve` returns: the signal tests (`tests/signal.rs`) run it as a child
//! process and signal it.

use mcp_core::Router;
use mcp_tower::McpServer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    let router = Router::builder().name("e2e", "1.0.0").build();
    mcp_tower::serve(listener, McpServer::builder(router).into_http_service()).await?;
    println!("served");
    Ok(())
}
