//! The MCP endpoint served by a hand-written hyper accept loop, for servers that own their
//! connection handling: the core of what `mcp_tower::serve` does (TCP_NODELAY, HTTP/1.1 and
//! HTTP/2, one task per connection). Not the rest, which such a server must add as it sees
//! fit: `serve` also closes idle and slow connections (`HEADER_READ_TIMEOUT`), drops those
//! that stop reading their responses (`SEND_TIMEOUT`), caps open connections
//! (`MAX_CONNECTIONS`) and shuts down gracefully on Ctrl-C or SIGTERM.
//!
//! ```text
//! cargo run -p example-hyper   # MCP on http://127.0.0.1:3002/mcp
//! cargo run -p example-hyper -- --addr 127.0.0.1:0   # any free port (printed)
//! ```

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use mcp_tower::McpServer;
use tower::ServiceExt;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let service = McpServer::builder(quickstart::router()).into_http_service();
    // `--addr HOST:PORT`, as the other examples take it (a bare address is accepted too).
    let addr = quickstart::listen_address(std::env::args().skip(1), "127.0.0.1:3002");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        // Small JSON-RPC messages: do not wait to fill a segment.
        stream.set_nodelay(true)?;
        let service = service.clone();
        tokio::spawn(async move {
            let hyper_service =
                hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                    // The peer address, as `serve` records it: per-peer rate limits, anonymous
                    // task quotas and telemetry's `client.address` read it.
                    request.extensions_mut().insert(peer);
                    service.clone().oneshot(request)
                });
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}
