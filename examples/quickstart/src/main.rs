//! The smallest useful mcp-tower server: two tools, a resource, a template and a prompt,
//! served on <http://127.0.0.1:3000/mcp> with in-memory defaults.
//!
//! ```text
//! cargo run -p quickstart                       # 127.0.0.1:3000
//! cargo run -p quickstart -- --addr 127.0.0.1:0 # any free port (printed)
//! # a browser client's origin, e.g. the MCP Inspector connecting directly (repeatable):
//! cargo run -p quickstart -- --browser-origin http://localhost:6274
//! ```

use mcp_tower::McpServer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    let mut server = McpServer::builder(quickstart::router());
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--browser-origin", Some(origin)) => server = server.allow_browser_origin(origin),
            _ => {
                eprintln!(
                    "bad argument {arg}; usage: quickstart [--addr HOST:PORT] \
                     [--browser-origin ORIGIN]..."
                );
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // Printed on stdout so scripts can find the port.
    println!("listening on http://{local}/mcp");
    let service = server.into_http_service();
    mcp_tower::serve(listener, service).await
}
