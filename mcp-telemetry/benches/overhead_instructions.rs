//! The instructions `TelemetryLayer` adds to a `tools/call` dispatch (bytes to bytes), for
//! callgrind: instruction counts are the same from run to run, where time on a shared machine
//! swings by more than the overhead being measured.
//!
//! Runs one case: a warm-up (the layer's key tables, the recorder's registry, the allocator),
//! then `CALLS` dispatches inside `measured_calls`, the only function callgrind is told to
//! count. `scripts/instructions.sh telemetry` runs every case under valgrind and divides.
//!
//! ```text
//! overhead_instructions <router|telemetry|router-prometheus|telemetry-prometheus> [CALLS]
//! ```

#![allow(missing_docs)]

use std::convert::Infallible;
use std::process::ExitCode;

use mcp_core::{McpRequest, McpResponse};
use support::{TOOLS_CALL, dispatch, instrumented_router, router};
use tower::Service;

mod support;

/// Enough that one-off costs inside the measured loop round away.
const DEFAULT_CALLS: u32 = 10_000;

/// Dispatches before counting starts: the first calls register metrics and fill caches.
const WARM_UP_CALLS: u32 = 1_000;

/// The dispatches callgrind counts (`--toggle-collect='*measured_calls*'`).
#[inline(never)]
fn measured_calls<S>(service: &mut S, calls: u32, out: &mut Vec<u8>)
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    for _ in 0..calls {
        dispatch(service, TOOLS_CALL, out);
    }
}

/// The same dispatches, not counted.
#[inline(never)]
fn warm_up<S>(service: &mut S, out: &mut Vec<u8>)
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    for _ in 0..WARM_UP_CALLS {
        dispatch(service, TOOLS_CALL, out);
    }
}

fn run<S>(mut service: S, calls: u32)
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    let mut out = Vec::with_capacity(256);
    warm_up(&mut service, &mut out);
    measured_calls(&mut service, calls, &mut out);
    println!("calls {calls}");
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`: skip flags.
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let case = args.next().unwrap_or_default();
    let calls = args
        .next()
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(DEFAULT_CALLS);
    // As a server runs it: this crate's preset, installed for the process.
    if case.ends_with("-prometheus") {
        support::install_global_prometheus();
    }
    match case.as_str() {
        "router" | "router-prometheus" => run(router(), calls),
        "telemetry" | "telemetry-prometheus" => run(instrumented_router(), calls),
        _ => {
            eprintln!(
                "usage: overhead_instructions <router|telemetry|router-prometheus|telemetry-prometheus> [CALLS]"
            );
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
