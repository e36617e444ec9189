//! `metrics-server --addr 127.0.0.1:PORT`: the quickstart tools at `/mcp` with telemetry, and
//! Prometheus metrics at `/metrics` on the same port.
//!
//! ```text
//! cargo run -p metrics-server                       # 127.0.0.1:3000
//! cargo run -p metrics-server -- --addr 127.0.0.1:0 # any free port (printed)
//! curl http://127.0.0.1:3000/metrics
//! ```

use std::io;

#[tokio::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            other => {
                eprintln!("unknown argument {other}; usage: metrics-server [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let handle = mcp_telemetry::prometheus::install().map_err(io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        // The Host/Origin check keeps browsers of other sites out, not other machines.
        tracing::warn!(
            %local,
            "listening beyond loopback: /mcp and /metrics have no authentication here, and \
             any client that can reach this address can use them"
        );
    }
    // Printed on stdout so scripts can find the port.
    println!("listening on http://{local}/mcp (metrics at http://{local}/metrics)");
    let service = metrics_server::app(metrics_server::router(), move || handle.render());
    mcp_tower::serve(listener, service).await
}
