//! `auth-server`: the quickstart tools behind JWT bearer tokens; see the library docs.
//!
//! ```text
//! auth-server --addr 127.0.0.1:3000 --jwks-url http://127.0.0.1:4000/jwks.json \
//!     --issuer http://127.0.0.1:4000 --audience http://127.0.0.1:3000/mcp [--required-scope mcp]
//! ```

use auth_server::{Args, HELP, USAGE, router, stack};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}\n{HELP}");
        return;
    }
    let args = match Args::parse(arguments) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // An operator reads the message, not a Rust value.
    if let Err(error) = run(args).await {
        eprintln!("auth-server: {error}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let jwt = args.jwt().build()?;
    // Fetch the keys now so the first request does not wait; a JWKS that is down is not
    // fatal: the keys are fetched again when a token needs them.
    if let Err(error) = jwt.refresh().await {
        tracing::warn!(%error, jwks_url = %args.jwks_url, "cannot fetch the JWKS yet");
    }
    let service = stack(router(), jwt, args.options()?);
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    let local = listener.local_addr()?;
    // Printed on stdout so scripts can find the port.
    println!("listening on http://{local}/mcp");
    mcp_tower::serve(listener, service).await?;
    Ok(())
}
