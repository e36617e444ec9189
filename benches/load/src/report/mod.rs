//! BENCHMARKS.md: the machine, the targets, the tables, the raw per-round numbers.

mod targets;

use std::fmt::Write;
use std::process::Command;

use crate::client::LoadResult;
use crate::run::{Results, Sample};
use crate::scenario::{ServerId, SessionMode};

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn samples<'a>(
    results: &'a Results,
    scenario: &'a str,
    server: ServerId,
) -> impl Iterator<Item = &'a Sample> + 'a {
    results
        .samples
        .iter()
        .filter(move |s| s.scenario == scenario && s.server == server)
}

fn metric(
    results: &Results,
    scenario: &str,
    server: ServerId,
    f: fn(&LoadResult) -> f64,
) -> Option<f64> {
    median(
        samples(results, scenario, server)
            .map(|s| f(&s.result))
            .collect(),
    )
}

fn rps(r: &LoadResult) -> f64 {
    r.rps
}

fn p99(r: &LoadResult) -> f64 {
    r.p99_us
}

/// `f(a) / f(b)` of each round, both measured in the same round.
fn round_ratios(
    results: &Results,
    (scenario_a, a): (&str, ServerId),
    (scenario_b, b): (&str, ServerId),
    f: fn(&LoadResult) -> f64,
) -> Vec<f64> {
    samples(results, scenario_a, a)
        .filter_map(|sa| {
            samples(results, scenario_b, b)
                .find(|sb| sb.round == sa.round)
                .map(|sb| f(&sa.result) / f(&sb.result))
        })
        .filter(|r| r.is_finite())
        .collect()
}

/// The median over rounds of `f(a) / f(b)`, both measured in the same round.
fn ratio(
    results: &Results,
    a: (&str, ServerId),
    b: (&str, ServerId),
    f: fn(&LoadResult) -> f64,
) -> Option<f64> {
    median(round_ratios(results, a, b, f))
}

fn fmt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "–".to_owned(),
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine(out: &mut String, results: &Results) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".to_owned());
    let commit = command_output(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    )
    .unwrap_or_else(|| "unknown".to_owned());
    let c = &results.config;
    let _ = writeln!(out, "- Command: `{}`", results.command);
    let _ = writeln!(
        out,
        "- Machine: **{cpus} CPUs** ({}), Linux {kernel}; {rustc}; commit {commit}; {date}",
        cpu_model()
    );
    let _ = writeln!(
        out,
        "- Load: {} s measured after {} s warm-up per run, {} connections unless said, {} rounds; \
         the servers alternate within each scenario and every round rotates their order; \
         `legacy` and `modern` run interleaved, each server answering both shapes back to back \
         (the pair's order alternates by round), so that the 2026-07-28 / legacy ratio of one \
         server is measured seconds apart. \
         The client runs on the same machine ({} Tokio worker threads); each server is its own \
         process with Tokio's default multi-threaded runtime.",
        c.duration.as_secs_f64(),
        c.warmup.as_secs_f64(),
        c.connections,
        c.rounds,
        c.client_threads
    );
    let _ = writeln!(
        out,
        "- Numbers are medians over the rounds; a ratio is computed within each round (same \
         load, same minute) and then the median is taken. The machine is shared and noisy: \
         read the ratios, not the absolute numbers."
    );
    let client_cpu = median(
        results
            .samples
            .iter()
            .map(|s| s.result.client_cpu_us)
            .collect(),
    );
    let _ = writeln!(
        out,
        "- Server CPU µs/req: user + system CPU time of the server process over the measured \
         window (`/proc/<pid>/stat`) divided by the requests answered in it; less sensitive to \
         the machine's noise than req/s. The load generator itself used a median {} µs of CPU \
         per request: with 2 CPUs, client and server share the machine, so req/s ratios are \
         compressed towards 1 compared with CPU ratios.",
        fmt(client_cpu, 1)
    );
    let _ = writeln!(
        out,
        "- The whole run took {:.0} s.",
        results.elapsed.as_secs_f64()
    );
}

fn throughput(out: &mut String, results: &Results) {
    let _ = writeln!(out, "## Throughput and latency\n");
    for scenario in &results.scenarios {
        let connections = scenario.connections.unwrap_or(results.config.connections);
        let sessions = match scenario.session {
            SessionMode::None => "",
            SessionMode::Own => ", one session per connection",
            SessionMode::Shared => ", one shared session",
        };
        let _ = writeln!(
            out,
            "### {} — `{}`, {connections} connection{}{sessions}\n",
            scenario.title,
            scenario.name,
            if connections == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "| server | req/s | × raw | × rmcp | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | errors |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let has_rmcp = scenario.servers.iter().any(|(s, _)| *s == ServerId::Rmcp);
        for &(server, _) in scenario.servers {
            let errors: u64 = samples(results, scenario.name, server)
                .map(|s| s.result.errors)
                .sum();
            let first_error =
                samples(results, scenario.name, server).find_map(|s| s.result.first_error.clone());
            // This server's req/s relative to `peer`'s (none against itself).
            let vs = |peer: ServerId, shown: bool| {
                (shown && server != peer)
                    .then(|| ratio(results, (scenario.name, server), (scenario.name, peer), rps))
                    .flatten()
            };
            let (vs_raw, vs_rmcp) = (vs(ServerId::Raw, true), vs(ServerId::Rmcp, has_rmcp));
            let cell = |first: String| {
                first
                    .replace('|', "/")
                    .chars()
                    .take(120)
                    .collect::<String>()
            };
            let errors = match (errors, first_error) {
                // An error outside the measured window (the warm-up) is still shown.
                (0, Some(first)) => format!("0 (outside the window: {})", cell(first)),
                (0, None) => "0".to_owned(),
                (n, Some(first)) => format!("{n} ({})", cell(first)),
                (n, None) => n.to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                server.label(),
                fmt(metric(results, scenario.name, server, rps), 0),
                fmt(vs_raw, 2),
                fmt(vs_rmcp, 2),
                fmt(metric(results, scenario.name, server, |r| r.p50_us), 0),
                fmt(metric(results, scenario.name, server, p99), 0),
                fmt(metric(results, scenario.name, server, |r| r.p999_us), 0),
                fmt(
                    metric(results, scenario.name, server, |r| r.server_cpu_us),
                    1
                ),
                errors
            );
        }
        let _ = writeln!(out);
    }
}

fn memory(out: &mut String, results: &Results) {
    if results.memory.is_empty() && results.soak.is_none() && results.fanout.is_none() {
        return;
    }
    let _ = writeln!(out, "## Memory\n");
    if !results.memory.is_empty() || results.scale.is_some() {
        let _ = writeln!(
            out,
            "Idle legacy sessions: a fresh server process, 200 sessions to warm up, then \
             `initialize` + `notifications/initialized` for each new session over 16 \
             connections, no stream left open; RSS from `/proc/<pid>/status` before and 1 s after.\n"
        );
        let _ = writeln!(
            out,
            "| server | sessions opened | RSS before | RSS after | per idle session | time to open |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let mut notes = Vec::new();
        let at_scale = results.scale.iter().map(|m| (m, ", at scale"));
        for (measured, label) in results.memory.iter().map(|m| (m, "")).chain(at_scale) {
            match measured {
                Ok(m) => {
                    let _ = writeln!(
                        out,
                        "| {}{label} | {}/{} | {} KiB | {} KiB | **{:.0} B** | {:.1} s |",
                        m.server.label(),
                        m.opened,
                        m.requested,
                        m.rss_before_kib,
                        m.rss_after_kib,
                        m.bytes_per_session(),
                        m.seconds
                    );
                    if let Some(error) = &m.first_error {
                        notes.push(format!(
                            "{}: first error while opening sessions: {error}",
                            m.server.label()
                        ));
                    }
                }
                Err(error) => {
                    let _ = writeln!(out, "| – | failed: {error} | | | | |");
                }
            }
        }
        let _ = writeln!(out);
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
        let _ = writeln!(out);
    }
    match &results.soak {
        Some(Ok(s)) => {
            let _ = writeln!(
                out,
                "Soak: quickstart stack with sessions, `tools/call add` on {} connections (one \
                 session each) for {} s: {} requests, {} errors. RSS {} KiB at start, {} KiB after \
                 {} s of warm-up, {} KiB at the end (max {} KiB): growth after warm-up {:+} KiB.{}\n",
                s.connections,
                s.seconds,
                s.requests,
                s.errors,
                s.rss_start_kib,
                s.rss_warm_kib,
                s.warm_at_secs,
                s.rss_end_kib,
                s.rss_max_kib,
                s.rss_end_kib as i64 - s.rss_warm_kib as i64,
                if s.seconds < 300 {
                    " (Shortened: the 5-minute soak is `--soak 300`.)"
                } else {
                    ""
                }
            );
            if let Some(error) = &s.first_error {
                let _ = writeln!(out, "First soak error: {error}\n");
            }
        }
        Some(Err(error)) => {
            let _ = writeln!(out, "Soak failed: {error}\n");
        }
        None => {}
    }
    let _ = writeln!(out, "## Fan-out\n");
    match &results.fanout {
        Some(Ok(rounds)) => {
            let f = rounds.median();
            let all: Vec<String> = rounds.times().iter().map(|t| format!("{t:.1}")).collect();
            let _ = writeln!(
                out,
                "{} sessions, each subscribed to `quickstart://about` and holding a GET SSE \
                 stream on its own TCP connection; one `notifications/resources/updated` \
                 triggered in the server (`Router::notify_resource_updated`), timed from the \
                 trigger to its arrival at each client stream. {} rounds, each with a fresh \
                 server, started once the kernel has freed the last round's sockets; the time for all streams was {} ms, **median {:.1} ms**.\n\n\
                 The median round: {} ready (setup {:.1} s, server RSS {} KiB), **{}/{} \
                 delivered, all within {:.1} ms** (p50 {:.1} ms, p99 {:.1} ms). CPU time in \
                 that window: server {:.0} ms, clients {:.0} ms (both on the same 2 CPUs).{}\n",
                f.sessions,
                rounds.rounds().len(),
                all.join(", "),
                f.all_ms,
                f.ready,
                f.setup_seconds,
                f.rss_kib,
                f.delivered,
                f.streams,
                f.all_ms,
                f.p50_ms,
                f.p99_ms,
                f.server_cpu_ms,
                f.client_cpu_ms,
                rounds
                    .rounds()
                    .iter()
                    .find_map(|r| r.first_error.as_deref())
                    .map(|e| format!(" First error: {e}."))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "rmcp has no built-in resource subscription fan-out (the application tracks \
                 peers itself), so there is no rmcp row.\n"
            );
        }
        Some(Err(error)) => {
            let _ = writeln!(out, "Fan-out failed: {error}\n");
        }
        None => {
            let _ = writeln!(out, "Skipped.\n");
        }
    }
}

const SERVERS: &str = "## The servers

- **mcp-tower quickstart**: `quickstart::router()` (tools `add {a, b}` and `echo`, the about \
resource) in `McpServer::builder(router)` served by `mcp_tower::serve`: HostOrigin, the bridge, \
batch and allow-list layers. `stateless` variant: `.stateless()`; `sessions` variant: the \
default legacy sessions (cap raised to 250 000 for the memory tests); `sse` variant: \
`ResponseMode::AlwaysSse`.
- **mcp-tower production**: the same router behind `HttpTelemetryLayer` → `HostOriginLayer` → \
`AuthLayer<JwtAuthenticator>` (RS256; JWKS fetched over loopback HTTP once and cached; 64 \
principals, each with its own token; the authenticator's defaults: a token's signature and \
claims are verified on its first use, then every request is checked against that cached \
verification, the token's `exp` and the cache's maximum age) → `StreamableHttpLayer` → \
`BatchLayer` → `TelemetryLayer` → `AllowListLayer` (allow-list from the token) → \
`RpcRateLimitLayer` (10⁶/s per principal: never reached) → `Router`, with the Prometheus \
recorder installed. Stateless.
- **mcp-tower production, no token cache**: the same stack with the verified-token cache off \
(`verified_token_cache(0, ..)`): every request's token signature and claims are verified.
- **rmcp 3.11**: the official SDK from crates.io with the same tools (`#[tool_router]`, \
`#[tool_handler]`) and resource, `StreamableHttpService` nested in an axum router and served by \
`axum::serve` as its documentation shows, at its best: the tool router built once and shared by \
every handler instance, `TCP_NODELAY` on, `json_response` in stateless mode, \
`LocalSessionManager` with `legacy_session_mode` for sessions (answers are SSE there).
- **raw hyper (ceiling)**: hyper's HTTP/1.1 server with `TCP_NODELAY`, serde_json parsing of the \
JSON-RPC request (typed, borrowed), `add` computed, a fixed valid result otherwise (with the \
`resultType` that 2026-07-28 results require when the request's `MCP-Protocol-Version` is \
2026-07-28); no MCP checks. What this machine can do with hyper alone.

The load generator (`benches/load`) uses hyper's client connection API: one keep-alive \
HTTP/1.1 connection per simulated client, one request at a time, each answer checked (status \
200, JSON or SSE, the right id and the right result: `a + b` differs on every request).
";

/// The whole report.
pub(crate) fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: mcp-tower vs rmcp vs raw hyper\n");
    let _ = writeln!(
        out,
        "Written by `cargo run --release -p load -- run` (package `benches/load`). Do not edit by \
         hand: run it again.\n"
    );
    machine(&mut out, results);
    targets::write(&mut out, results);
    throughput(&mut out, results);
    memory(&mut out, results);
    let _ = writeln!(out, "{SERVERS}");
    let _ = writeln!(out, "## Every run\n");
    let _ = writeln!(out, "<details><summary>per round</summary>\n");
    let _ = writeln!(
        out,
        "| round | scenario | server | req/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | errors |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|---:|---:|");
    for s in &results.samples {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {} |",
            s.round + 1,
            s.scenario,
            s.server.label(),
            s.result.rps,
            s.result.p50_us,
            s.result.p99_us,
            s.result.p999_us,
            s.result.server_cpu_us,
            s.result.errors
        );
    }
    let _ = writeln!(out, "\n</details>");
    out
}
