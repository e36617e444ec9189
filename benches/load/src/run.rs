//! `load run`: every scenario against every server (alternating, rounds rotate the order),
//! then memory, soak and fan-out; writes the report. `load bench`: one scenario against a
//! server already running.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::client::{self, LoadResult, LoadSpec, Target};
use crate::fanout::{self, FanOutRounds};
use crate::memory::{self, SessionMemory, Soak};
use crate::proc::ServerProcess;
use crate::report;
use crate::scenario::{self, Scenario, ServerId, Variant};

/// The settings of one run.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) rounds: usize,
    pub(crate) connections: usize,
    pub(crate) sessions: usize,
    /// Idle sessions opened in our server alone, to show that this many fit (0: not measured).
    pub(crate) scale_sessions: usize,
    pub(crate) streams: usize,
    pub(crate) soak: u64,
    pub(crate) out: PathBuf,
    pub(crate) only: Vec<String>,
    pub(crate) skip: Vec<String>,
    pub(crate) client_threads: usize,
}

/// One measurement.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) round: usize,
    pub(crate) scenario: &'static str,
    pub(crate) server: ServerId,
    pub(crate) result: LoadResult,
}

/// Everything a run measured.
pub(crate) struct Results {
    pub(crate) config: RunConfig,
    pub(crate) command: String,
    pub(crate) scenarios: Vec<Scenario>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) memory: Vec<Result<SessionMemory, String>>,
    /// Our server with `scale_sessions` idle sessions.
    pub(crate) scale: Option<Result<SessionMemory, String>>,
    pub(crate) soak: Option<Result<Soak, String>>,
    pub(crate) fanout: Option<Result<FanOutRounds, String>>,
    pub(crate) elapsed: Duration,
}

const FLAGS: &[&str] = &[
    "duration",
    "warmup",
    "rounds",
    "connections",
    "sessions",
    "scale-sessions",
    "streams",
    "soak",
    "out",
    "only",
    "skip",
    "client-threads",
];

pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let args = Args::parse(argv)?;
    args.only(FLAGS)?;
    let default_out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../BENCHMARKS.md"));
    let config = RunConfig {
        duration: Duration::from_secs_f64(args.get("duration", 2.0)?),
        warmup: Duration::from_secs_f64(args.get("warmup", 0.5)?),
        rounds: args.get("rounds", 3usize)?.clamp(1, 50),
        connections: args.get("connections", 32usize)?.clamp(1, 4_096),
        sessions: args.get("sessions", 10_000usize)?.min(200_000),
        scale_sessions: args.get("scale-sessions", 100_000usize)?.min(200_000),
        streams: args.get("streams", 10_000usize)?.min(15_000),
        soak: args.get("soak", 20u64)?.min(3_600),
        out: args.string("out").map_or(default_out, PathBuf::from),
        only: args.list("only"),
        skip: args.list("skip"),
        client_threads: args.get("client-threads", 2usize)?.clamp(1, 64),
    };
    let command = format!(
        "cargo run --release -p load -- run{}",
        argv.iter().fold(String::new(), |mut s, a| {
            s.push(' ');
            s.push_str(a);
            s
        })
    );
    crate::servers::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.client_threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let results = runtime.block_on(run(config, command))?;
    let markdown = report::render(&results);
    std::fs::write(&results.config.out, &markdown)
        .map_err(|e| format!("write {}: {e}", results.config.out.display()))?;
    eprintln!("wrote {}", results.config.out.display());
    println!("{markdown}");
    Ok(())
}

async fn run(config: RunConfig, command: String) -> Result<Results, String> {
    let started = Instant::now();
    let scenarios: Vec<Scenario> = scenario::all()
        .into_iter()
        .filter(|s| config.only.is_empty() || config.only.iter().any(|o| o == s.name))
        .collect();
    let runs: usize = scenarios.iter().map(|s| s.servers.len()).sum();
    let estimate =
        runs as f64 * config.rounds as f64 * (config.duration + config.warmup).as_secs_f64();
    eprintln!(
        "load: {} scenarios, {runs} server runs x {} rounds: about {estimate:.0} s of load, then memory, soak and fan-out",
        scenarios.len(),
        config.rounds
    );

    let mut samples = Vec::new();
    if !scenarios.is_empty() {
        // Every server process needed, started once and left idle between its runs.
        let mut processes: BTreeMap<(ServerId, Variant), ServerProcess> = BTreeMap::new();
        for scenario in &scenarios {
            for &(server, variant) in scenario.servers {
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    processes.entry((server, variant))
                {
                    entry.insert(ServerProcess::spawn(server, variant)?);
                }
            }
        }
        for round in 0..config.rounds {
            for (server, variant, scenario) in round_order(&scenarios, round) {
                let process = &processes[&(server, variant)];
                let spec = LoadSpec {
                    shape: scenario.shape,
                    media: scenario.media,
                    session: scenario.session,
                    connections: scenario.connections.unwrap_or(config.connections),
                    warmup: config.warmup,
                    duration: config.duration,
                    server_pid: Some(process.pid()),
                };
                let result = client::run(&process.target, &spec).await;
                eprintln!(
                    "round {} {:<15} {:<22} {:>9.0} req/s  p50 {:>6.0} us  p99 {:>6.0} us  cpu {:>5.1} us/req  errors {}{}",
                    round + 1,
                    scenario.name,
                    server.label(),
                    result.rps,
                    result.p50_us,
                    result.p99_us,
                    result.server_cpu_us,
                    result.errors,
                    result
                        .first_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
                samples.push(Sample {
                    round,
                    scenario: scenario.name,
                    server,
                    result,
                });
            }
        }
    }

    let skip = |what: &str| config.skip.iter().any(|s| s == what);
    let mut memory_results = Vec::new();
    if !skip("memory") {
        for server in [ServerId::Ours, ServerId::Rmcp] {
            let measured = memory::idle_sessions(server, config.sessions).await;
            match &measured {
                Ok(m) => eprintln!(
                    "memory {:<22} {} sessions: {:.0} B/session (RSS {} -> {} KiB)",
                    server.label(),
                    m.opened,
                    m.bytes_per_session(),
                    m.rss_before_kib,
                    m.rss_after_kib
                ),
                Err(error) => eprintln!("memory {}: {error}", server.label()),
            }
            memory_results.push(measured);
        }
    }
    let scale = if !skip("memory") && config.scale_sessions > 0 {
        let measured = memory::idle_sessions(ServerId::Ours, config.scale_sessions).await;
        match &measured {
            Ok(m) => eprintln!("memory at scale: {}", m.opened_summary()),
            Err(error) => eprintln!("memory at scale: {error}"),
        }
        Some(measured)
    } else {
        None
    };
    let soak = if !skip("soak") && config.soak > 0 {
        let measured = memory::soak(config.soak, config.connections).await;
        if let Ok(s) = &measured {
            eprintln!(
                "soak {} s: RSS {} KiB after warm-up, {} KiB at the end",
                s.seconds, s.rss_warm_kib, s.rss_end_kib
            );
        }
        Some(measured)
    } else {
        None
    };
    let fanout = if skip("fanout") {
        None
    } else {
        let measured = fanout::run_rounds(config.streams, config.rounds).await;
        match &measured {
            Ok(rounds) => eprintln!(
                "fan-out: median of {} rounds {:.1} ms",
                rounds.rounds().len(),
                rounds.median().all_ms
            ),
            Err(error) => eprintln!("fan-out: {error}"),
        }
        Some(measured)
    };
    Ok(Results {
        config,
        command,
        scenarios,
        samples,
        memory: memory_results,
        scale,
        soak,
        fanout,
        elapsed: started.elapsed(),
    })
}

/// The runs of one round, in order: each scenario's servers rotated by the round; a scenario
/// paired with the next one runs interleaved with it, server by server, the pair's order
/// alternating by round.
fn round_order(scenarios: &[Scenario], round: usize) -> Vec<(ServerId, Variant, &Scenario)> {
    let mut runs = Vec::new();
    let mut index = 0;
    while index < scenarios.len() {
        let scenario = &scenarios[index];
        let pair = scenarios
            .get(index + 1)
            .filter(|next| scenario.paired_with_next && next.servers == scenario.servers);
        let mut order = scenario.servers.to_vec();
        order.rotate_left(round % scenario.servers.len());
        for (server, variant) in order {
            match pair {
                Some(next) if round % 2 == 1 => {
                    runs.extend([(server, variant, next), (server, variant, scenario)]);
                }
                Some(next) => runs.extend([(server, variant, scenario), (server, variant, next)]),
                None => runs.push((server, variant, scenario)),
            }
        }
        index += if pair.is_some() { 2 } else { 1 };
    }
    runs
}

/// `load bench`: one scenario against a running server.
pub(crate) fn bench_main(argv: &[String]) -> Result<(), String> {
    let args = Args::parse(argv)?;
    args.only(&[
        "addr",
        "scenario",
        "duration",
        "warmup",
        "connections",
        "token",
        "client-threads",
        "pid",
    ])?;
    let addr: SocketAddr = args
        .string("addr")
        .ok_or("--addr is required")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err("only loopback addresses".to_owned());
    }
    let name = args.string("scenario").unwrap_or("legacy");
    let scenario = scenario::all()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("unknown scenario {name}"))?;
    let spec = LoadSpec {
        shape: scenario.shape,
        media: scenario.media,
        session: scenario.session,
        connections: args
            .get("connections", scenario.connections.unwrap_or(32))?
            .clamp(1, 4_096),
        warmup: Duration::from_secs_f64(args.get("warmup", 1.0)?),
        duration: Duration::from_secs_f64(args.get("duration", 10.0f64)?.min(3_600.0)),
        server_pid: args.get("pid", 0u32).ok().filter(|pid| *pid > 0),
    };
    let target = Target {
        addr,
        tokens: Arc::new(
            args.string("token")
                .map(str::to_owned)
                .into_iter()
                .collect(),
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.get("client-threads", 2usize)?.clamp(1, 64))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(client::run(&target, &spec));
    println!(
        "{name}: {:.0} req/s, p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, server CPU {:.1} us/req, client CPU {:.1} us/req, {} requests, {} errors{}",
        result.rps,
        result.p50_us,
        result.p99_us,
        result.p999_us,
        result.server_cpu_us,
        result.client_cpu_us,
        result.requests,
        result.errors,
        result
            .first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(scenarios: &[Scenario], round: usize) -> Vec<(ServerId, &'static str)> {
        round_order(scenarios, round)
            .into_iter()
            .map(|(server, _, scenario)| (server, scenario.name))
            .collect()
    }

    #[test]
    fn a_pair_runs_back_to_back_per_server_and_alternates_by_round() {
        let scenarios: Vec<Scenario> = scenario::all()
            .into_iter()
            .filter(|s| ["legacy", "modern", "legacy-1conn"].contains(&s.name))
            .collect();
        let round0 = names(&scenarios, 0);
        assert_eq!(
            &round0[..4],
            [
                (ServerId::Ours, "legacy"),
                (ServerId::Ours, "modern"),
                (ServerId::Production, "legacy"),
                (ServerId::Production, "modern"),
            ]
        );
        // Every server runs both shapes once, then the unpaired scenario runs alone.
        assert_eq!(round0.len(), 2 * 5 + 3);
        assert_eq!(round0[10], (ServerId::Ours, "legacy-1conn"));
        let round1 = names(&scenarios, 1);
        assert_eq!(
            &round1[..2],
            [
                (ServerId::Production, "modern"),
                (ServerId::Production, "legacy")
            ]
        );
        assert_eq!(round1[10], (ServerId::Rmcp, "legacy-1conn"));
    }

    #[test]
    fn a_pair_partner_left_out_runs_alone() {
        let scenarios: Vec<Scenario> = scenario::all()
            .into_iter()
            .filter(|s| s.name == "legacy")
            .collect();
        assert_eq!(names(&scenarios, 0).len(), 5);
    }
}
