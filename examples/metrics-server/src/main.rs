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
    const USAGE: &str = "usage: metrics-server [--addr HOST:PORT]\n\n  --addr HOST:PORT  where \
                         to listen (default 127.0.0.1:3000; port 0 picks a free one): the \
                         tools at /mcp, Prometheus metrics at /metrics";
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => match args.next() {
                Some(value) => addr = value,
                None => {
                    eprintln!("--addr needs a value\n{USAGE}");
                    std::process::exit(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
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
