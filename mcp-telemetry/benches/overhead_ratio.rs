//! The overhead of `TelemetryLayer` on a `tools/call` dispatch (bytes to bytes) as a ratio
//! measured in one run: batches of the router alone and of the instrumented router alternate
//! (ABBA), each round gives one ratio, and the median of the rounds is reported.
//!
//! On a shared, noisy machine criterion's separate groups run minutes apart and their
//! difference swings with the load; adjacent batches see the same load.
//!
//! ```text
//! cargo bench -p mcp-telemetry --bench overhead_ratio [-- ROUNDS]
//! ```

#![allow(missing_docs)]

use std::convert::Infallible;
use std::time::{Duration, Instant};

use mcp_core::{McpRequest, McpResponse};
use support::{TOOLS_CALL, dispatch, instrumented_router, router};
use tower::Service;

mod support;

/// Calls per batch: long enough to dwarf the clock reads, short enough that the load seldom
/// changes within a round.
const BATCH: u32 = 2_000;

/// The time of `BATCH` dispatches, bytes to bytes, as the `overhead` bench measures them.
fn batch<S>(service: &mut S, out: &mut Vec<u8>) -> Duration
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    let start = Instant::now();
    for _ in 0..BATCH {
        dispatch(service, TOOLS_CALL, out);
    }
    start.elapsed()
}

/// Alternates the two services for `rounds` rounds and prints the median ratio.
fn compare<A, B>(label: &str, rounds: usize, plain: &mut A, instrumented: &mut B)
where
    A: Service<McpRequest, Response = McpResponse, Error = Infallible>,
    B: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    let mut out = Vec::with_capacity(256);
    // Warm-up: caches, the layer's key tables, the allocator.
    for _ in 0..20 {
        batch(plain, &mut out);
        batch(instrumented, &mut out);
    }
    let mut ratios = Vec::with_capacity(rounds);
    let mut plain_ns = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // ABBA: drift within a round weighs on both sides alike.
        let (a, b) = if round % 2 == 0 {
            let a = batch(plain, &mut out);
            (a, batch(instrumented, &mut out))
        } else {
            let b = batch(instrumented, &mut out);
            (batch(plain, &mut out), b)
        };
        ratios.push(b.as_secs_f64() / a.as_secs_f64());
        plain_ns.push(a.as_secs_f64() * 1e9 / f64::from(BATCH));
    }
    let quartiles = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4])
    };
    let (q1, median, q3) = quartiles(&mut ratios);
    let (_, router_ns, _) = quartiles(&mut plain_ns);
    println!(
        "{label}: telemetry/router median {median:.3} (quartiles {q1:.3} to {q3:.3}), \
         overhead {:+.1} %, router {router_ns:.0} ns per call, {rounds} rounds of {BATCH}",
        (median - 1.0) * 100.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the round count.
    let rounds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(201);
    let mut instrumented = instrumented_router();
    compare("no recorder", rounds, &mut router(), &mut instrumented);

    // As a server runs it: this crate's preset installed for the process (it cannot be
    // uninstalled, so it comes last), drained regularly.
    support::install_global_prometheus();
    let mut instrumented = instrumented_router();
    compare(
        "global Prometheus recorder",
        rounds,
        &mut router(),
        &mut instrumented,
    );
}
