//! `load serve`: one server per process, so that its memory can be read from
//! `/proc/<pid>/status`.
//!
//! Every server prints `listening ADDR` on stdout once it accepts connections, and exits when
//! its stdin closes (the runner went away) or after `--max-secs`.

mod ours;
mod raw;
mod rmcp_peer;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::args::Args;
use crate::scenario::{ServerId, Variant};

/// Raises the soft limit of open files to the hard limit (10 000 streams need it).
pub(crate) fn raise_fd_limit() {
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("cannot raise the open-file limit: {error}");
    }
}

pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let args = Args::parse(argv)?;
    args.only(&["variant", "addr", "max-secs"])?;
    let server = args
        .positional(0)
        .and_then(ServerId::from_cli)
        .ok_or_else(|| {
            let names: Vec<_> = ServerId::ALL.iter().map(|s| s.cli()).collect();
            format!("which server? {}", names.join(", "))
        })?;
    let variant = Variant::from_cli(args.string("variant").unwrap_or("stateless"))
        .ok_or("--variant: stateless, sessions or sse")?;
    let addr: SocketAddr = args.get("addr", SocketAddr::from(([127, 0, 0, 1], 0)))?;
    if !addr.ip().is_loopback() {
        return Err("only loopback addresses are served".to_owned());
    }
    let max_secs: u64 = args.get("max-secs", 3_600)?;
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let commands = control(Duration::from_secs(max_secs));
        match server {
            ServerId::Ours => ours::serve_quickstart(listener, variant, commands)
                .await
                .map_err(|e| e.to_string()),
            ServerId::Production => ours::serve_production(listener, local, commands, true)
                .await
                .map_err(|e| e.to_string()),
            ServerId::ProductionUncached => {
                ours::serve_production(listener, local, commands, false)
                    .await
                    .map_err(|e| e.to_string())
            }
            ServerId::Telemetry => ours::serve_telemetry(listener, commands)
                .await
                .map_err(|e| e.to_string()),
            ServerId::Rmcp => rmcp_peer::serve(listener, variant)
                .await
                .map_err(|e| e.to_string()),
            ServerId::Raw => raw::serve(listener, variant)
                .await
                .map_err(|e| e.to_string()),
        }
    })
}

/// Tells the runner where we are (after any other line, e.g. tokens).
pub(crate) fn announce(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening {addr}");
    let _ = stdout.flush();
}

/// Reads commands from stdin; exits the process when stdin closes or after `max`.
fn control(max: Duration) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let deadline = tokio::time::sleep(max);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        let _ = tx.send(line);
                    }
                    _ => std::process::exit(0),
                },
                () = &mut deadline => {
                    eprintln!("load serve: --max-secs reached, exiting");
                    std::process::exit(0);
                }
            }
        }
    });
    rx
}
