//! `load`: the side-by-side benchmark kit of mcp-tower.
//!
//! One binary, three subcommands:
//!
//! ```text
//! load run   [--duration 2 --warmup 0.5 --rounds 3 --connections 32 --sessions 10000
//!             --scale-sessions 100000 --streams 10000 --soak 20 --out BENCHMARKS.md
//!             --only SCENARIO,... --skip memory,soak,fanout]
//!     spawns every server as its own process, runs every scenario against each (the servers
//!     alternate, rounds rotate their order), measures memory, a soak and the fan-out (once
//!     per round, each with a fresh server), and writes BENCHMARKS.md.
//! load serve <ours-quickstart|ours-production|ours-production-uncached|ours-telemetry|rmcp|raw> [--variant stateless|sessions|sse]
//!            [--addr 127.0.0.1:0]
//!     one server; prints `listening ADDR` (and `tokens ...` for the production stack) on
//!     stdout; exits when its stdin closes. `notify URI` on stdin sends
//!     notifications/resources/updated (ours).
//! load bench --addr ADDR --scenario NAME [--duration 10 --connections 32 --token T --pid PID]
//!     one scenario against a server already running (for profiling; with `--pid`, the
//!     server's CPU time per request too).
//! ```
//!
//! Only loopback addresses are used; every loop is bounded in time and count.

mod args;
mod client;
mod fanout;
mod jwt;
mod memory;
mod proc;
mod proto;
mod report;
mod run;
mod scenario;
mod servers;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match argv.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "serve" => servers::main(rest),
        "run" => run::main(rest),
        "bench" => run::bench_main(rest),
        _ => {
            eprintln!("{}", USAGE);
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load {command}: {error}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  load run [--duration SECS] [--warmup SECS] [--rounds N] [--connections N] [--sessions N] [--scale-sessions N]
           [--streams N] [--soak SECS] [--out PATH] [--only SCENARIO,...] [--skip memory,soak,fanout]
  load serve <ours-quickstart|ours-production|ours-production-uncached|ours-telemetry|rmcp|raw> [--variant stateless|sessions|sse] [--addr ADDR]
  load bench --addr ADDR --scenario NAME [--duration SECS] [--connections N] [--token TOKEN] [--pid PID]";
