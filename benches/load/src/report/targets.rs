//! The targets table of BENCHMARKS.md: each target of the issue, what this run measured, and
//! whether it was met.

use std::fmt::Write;

use super::{fmt, p99, ratio, round_ratios, rps};
use crate::client::LoadResult;
use crate::run::Results;
use crate::scenario::{Scenario, ServerId};

/// Writes the `## Targets` section.
pub(super) fn write(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Targets\n");
    let _ = writeln!(
        out,
        "Ratios are req/s (or p99) relative to the server named, within the same round, and \
         the median over the rounds; \"rounds …\" is the lowest and highest round's ratio, how \
         far the machine's noise moved it within this run; \"raw: …\" is the ceiling's own \
         ratio to rmcp, the best any server could show (for the 2026-07-28 shape: the \
         ceiling's own modern / legacy ratio).\n"
    );
    let _ = writeln!(
        out,
        "A target is met when the median and every round meet it, inconclusive when the \
         median meets it and some round does not (the machine's noise decides), and not \
         judged when this run's settings differ from the issue's (fewer than 3 rounds, not 32 \
         connections, fewer than 10 000 sessions or streams).\n"
    );
    let _ = writeln!(out, "| target | measured | |");
    let _ = writeln!(out, "|---|---:|---|");
    let settings = Settings::of(results);
    for target in targets(results, &settings) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            target.what,
            target.measured,
            target.verdict.label()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Judged elsewhere: the criterion targets (dispatch under 2 µs, TelemetryLayer \
         overhead under 10 %) in `cargo bench -p mcp-core --bench dispatch` and \
         `cargo bench -p mcp-telemetry --bench overhead_ratio`, outside this run.\n"
    );
}

/// What this run was set to, against what the issue asks.
struct Settings {
    /// Why a ratio verdict is withheld, if it is.
    ratio_withheld: Option<String>,
    connections: usize,
}

impl Settings {
    fn of(results: &Results) -> Self {
        let config = &results.config;
        let ratio_withheld = if config.rounds < 3 {
            Some(format!(
                "{} rounds; the issue asks for at least 3",
                config.rounds
            ))
        } else {
            None
        };
        Self {
            ratio_withheld,
            connections: config.connections,
        }
    }

    /// Why a target of `scenario` is not judged, if it is not. A scenario with a connection
    /// count of its own (`legacy-1conn`) always runs at it; the others run at `--connections`,
    /// and the targets are for 32.
    fn withheld(&self, scenario: Option<&Scenario>) -> Option<String> {
        let own_count = scenario.is_some_and(|s| s.connections.is_some());
        self.ratio_withheld.clone().or_else(|| {
            (!own_count && self.connections != 32)
                .then(|| format!("{} connections, not 32", self.connections))
        })
    }
}

/// The lowest and highest of the rounds' ratios, as `rounds 0.79–0.91` (empty with fewer
/// than two rounds): how far the machine's noise moved the ratio within this run.
fn spread(
    results: &Results,
    a: (&str, ServerId),
    b: (&str, ServerId),
    f: fn(&LoadResult) -> f64,
    decimals: usize,
) -> String {
    rounds_range(&round_ratios(results, a, b, f), decimals)
}

fn rounds_range(ratios: &[f64], decimals: usize) -> String {
    if ratios.len() < 2 {
        return String::new();
    }
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("rounds {low:.decimals$}–{high:.decimals$}")
}

/// `(` the parts that are not empty, joined by `; ` `)`, or nothing.
fn parenthesised(parts: &[String]) -> String {
    let parts: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

struct Target {
    what: String,
    measured: String,
    verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Met,
    /// The median meets the bound, some round does not.
    Inconclusive,
    Missed,
    NotMeasured,
    /// Measured with settings other than the issue's.
    NotJudged(String),
}

impl Verdict {
    fn label(&self) -> String {
        match self {
            Verdict::Met => "✅ met".to_owned(),
            Verdict::Inconclusive => "⚠️ inconclusive".to_owned(),
            Verdict::Missed => "❌ missed".to_owned(),
            Verdict::NotMeasured => "– not measured".to_owned(),
            Verdict::NotJudged(why) => format!("– not judged ({why})"),
        }
    }

    /// The verdict on a median `value` and the `rounds` it is the median of, for a bound that
    /// `meets` tells.
    fn of(value: Option<f64>, rounds: &[f64], meets: impl Fn(f64) -> bool) -> Self {
        match value.filter(|v| v.is_finite()) {
            None => Verdict::NotMeasured,
            Some(v) if !meets(v) => Verdict::Missed,
            Some(_) if rounds.iter().all(|&r| meets(r)) => Verdict::Met,
            Some(_) => Verdict::Inconclusive,
        }
    }

    /// `self`, unless the settings withhold a verdict.
    fn unless(self, withheld: Option<String>) -> Self {
        match (withheld, &self) {
            (_, Verdict::NotMeasured) | (None, _) => self,
            (Some(why), _) => Verdict::NotJudged(why),
        }
    }
}

/// RSS growth after warm-up that counts as none: the allocator keeps and returns memory in
/// chunks, so a flat process still moves by a little.
fn soak_tolerance_kib(warm_kib: u64) -> u64 {
    (warm_kib / 50).max(2048)
}

/// "RSS after a 5-minute run (no growth after warm-up)": the RSS at the soak's end against
/// the RSS once warm.
fn soak_target(results: &Results) -> Target {
    let what = "No RSS growth after warm-up (5-minute soak, sessions)".to_owned();
    let Some(soak) = &results.soak else {
        return Target {
            what,
            measured: "skipped".to_owned(),
            verdict: Verdict::NotMeasured,
        };
    };
    let soak = match soak {
        Ok(soak) => soak,
        Err(error) => {
            return Target {
                what,
                measured: format!("failed: {error}"),
                verdict: Verdict::NotMeasured,
            };
        }
    };
    let growth = soak.rss_end_kib as i64 - soak.rss_warm_kib as i64;
    let tolerance = soak_tolerance_kib(soak.rss_warm_kib);
    let verdict = if soak.seconds < 300 {
        Verdict::NotJudged(format!("{} s; the issue asks for 5 minutes", soak.seconds))
    } else if soak.errors > 0 || soak.requests == 0 {
        Verdict::NotJudged(format!(
            "{} errors in {} requests",
            soak.errors, soak.requests
        ))
    } else if growth <= tolerance as i64 {
        Verdict::Met
    } else {
        Verdict::Missed
    };
    Target {
        what,
        measured: format!(
            "{growth:+} KiB from {} KiB at {} s to the end at {} s (tolerance {tolerance} KiB)",
            soak.rss_warm_kib, soak.warm_at_secs, soak.seconds
        ),
        verdict,
    }
}

/// Why the rounds of `server` in `scenario` cannot be judged, if they cannot: a round without
/// its measurement (the server did not start, or died), with errors, or with no answer at all.
/// A ratio must stand on every round the run was set to, each one clean.
fn faults(results: &Results, (scenario, server): (&str, ServerId)) -> Option<String> {
    (0..results.config.rounds).find_map(|round| {
        let sample = results
            .samples
            .iter()
            .find(|s| s.scenario == scenario && s.server == server && s.round == round);
        let name = server.label();
        match sample.map(|s| &s.result) {
            None => Some(format!("{name} not measured in round {}", round + 1)),
            Some(r) if r.errors > 0 => Some(format!(
                "{name}: {} errors in round {}",
                r.errors,
                round + 1
            )),
            Some(r) if r.requests == 0 => {
                Some(format!("{name} answered nothing in round {}", round + 1))
            }
            Some(_) => None,
        }
    })
}

fn targets(results: &Results, settings: &Settings) -> Vec<Target> {
    use ServerId::{Ours, Production, ProductionUncached, Raw, Rmcp};
    let mut out = Vec::new();
    let withheld =
        |scenario: &str| settings.withheld(results.scenarios.iter().find(|s| s.name == scenario));
    let mut ratio_target =
        |what: &str, scenario: &str, server: ServerId, vs: ServerId, bound: f64| {
            let value = ratio(results, (scenario, server), (scenario, vs), rps);
            let each = round_ratios(results, (scenario, server), (scenario, vs), rps);
            let rounds = spread(results, (scenario, server), (scenario, vs), rps, 2);
            // Against rmcp, the ceiling's own ratio bounds what any server can show.
            let ceiling = (vs == Rmcp)
                .then(|| ratio(results, (scenario, Raw), (scenario, Rmcp), rps))
                .flatten()
                .map(|c| format!("raw: {c:.2}×"))
                .unwrap_or_default();
            let withheld = withheld(scenario).or_else(|| {
                faults(results, (scenario, server)).or_else(|| faults(results, (scenario, vs)))
            });
            out.push(Target {
                what: what.to_owned(),
                measured: format!("{}×{}", fmt(value, 2), parenthesised(&[rounds, ceiling])),
                verdict: Verdict::of(value, &each, |v| v >= bound).unless(withheld),
            });
        };
    ratio_target(
        "Stateless tools/call, quickstart ≥ 0.85× raw (32 connections)",
        "legacy",
        Ours,
        Raw,
        0.85,
    );
    ratio_target(
        "Stateless tools/call, quickstart > 2× rmcp (32 connections)",
        "legacy",
        Ours,
        Rmcp,
        2.0,
    );
    ratio_target(
        "Stateless tools/call, quickstart ≥ 0.85× raw (1 connection)",
        "legacy-1conn",
        Ours,
        Raw,
        0.85,
    );
    ratio_target(
        "Stateless tools/call, quickstart > 2× rmcp (1 connection)",
        "legacy-1conn",
        Ours,
        Rmcp,
        2.0,
    );
    ratio_target(
        "2026-07-28 tools/call, quickstart ≥ 0.85× raw",
        "modern",
        Ours,
        Raw,
        0.85,
    );
    // Every request's token is validated: by default against the cache of verified tokens
    // (signature checked on a token's first use; `exp` and the cache's age on every request).
    // With the cache off, every request pays an RSA signature check, which alone costs more
    // CPU than the ceiling's whole request: shown for what it costs, not expected to pass.
    for (server, stack) in [
        (Production, "default verified-token cache"),
        (ProductionUncached, "every token signature verified"),
    ] {
        ratio_target(
            &format!("Production stack ({stack}), legacy tools/call ≥ 0.6× raw"),
            "legacy",
            server,
            Raw,
            0.6,
        );
        ratio_target(
            &format!("Production stack ({stack}), 2026-07-28 tools/call ≥ 0.6× raw"),
            "modern",
            server,
            Raw,
            0.6,
        );
    }
    ratio_target(
        "Legacy sessions (own per connection) ≥ 0.75× raw",
        "session-own",
        Ours,
        Raw,
        0.75,
    );
    ratio_target(
        "Legacy sessions (one shared) ≥ 0.75× raw",
        "session-shared",
        Ours,
        Raw,
        0.75,
    );
    let modern_vs_legacy = ratio(results, ("modern", Ours), ("legacy", Ours), rps);
    let modern_rounds = round_ratios(results, ("modern", Ours), ("legacy", Ours), rps);
    // The modern request is about 110 bytes and two headers longer, which the client and the
    // kernel pay for too: the ceiling's own ratio shows how much of the gap that is.
    let raw_modern_vs_legacy = ratio(results, ("modern", Raw), ("legacy", Raw), rps);
    out.push(Target {
        what: "2026-07-28 shape within 5 % of our legacy stateless path (req/s ratio ≥ 0.95)"
            .to_owned(),
        measured: format!(
            "{}×{}",
            fmt(modern_vs_legacy, 3),
            parenthesised(&[
                spread(results, ("modern", Ours), ("legacy", Ours), rps, 3),
                format!("raw: {}×", fmt(raw_modern_vs_legacy, 3)),
            ])
        ),
        verdict: Verdict::of(modern_vs_legacy, &modern_rounds, |v| v >= 0.95).unless(
            withheld("modern")
                .or_else(|| faults(results, ("modern", Ours)))
                .or_else(|| faults(results, ("legacy", Ours))),
        ),
    });
    for scenario in &results.scenarios {
        let has = |s: ServerId| scenario.servers.iter().any(|(id, _)| *id == s);
        if has(Ours) && has(Rmcp) {
            let pair = ((scenario.name, Ours), (scenario.name, Rmcp));
            let value = ratio(results, pair.0, pair.1, p99);
            let each = round_ratios(results, pair.0, pair.1, p99);
            let ceiling = ratio(results, (scenario.name, Raw), (scenario.name, Rmcp), p99);
            out.push(Target {
                what: format!("p99 ≤ ½ rmcp's: `{}`", scenario.name),
                measured: format!("{}× (raw: {}×)", fmt(value, 2), fmt(ceiling, 2)),
                verdict: Verdict::of(value, &each, |v| v <= 0.5).unless(
                    settings
                        .withheld(Some(scenario))
                        .or_else(|| faults(results, pair.0))
                        .or_else(|| faults(results, pair.1)),
                ),
            });
        }
    }
    let ours = results.memory.iter().flatten().find(|m| m.server == Ours);
    let ours_memory = ours.map(|m| m.bytes_per_session());
    let sessions_withheld = ours.and_then(|m| {
        (m.requested < 10_000)
            .then(|| format!("{} sessions; the issue asks for 10 000", m.requested))
    });
    // Sessions asked for and not opened are a failure, not a setting.
    let all_opened = ours.is_none_or(|m| m.opened == m.requested && m.first_error.is_none());
    out.push(Target {
        what: "Idle legacy session ≤ 2 KiB RSS (10 000 sessions)".to_owned(),
        measured: format!("{} B", fmt(ours_memory, 0)),
        verdict: match Verdict::of(ours_memory, &[], |v| v <= 2048.0) {
            Verdict::Met if !all_opened => Verdict::Missed,
            verdict => verdict,
        }
        .unless(sessions_withheld),
    });
    if let Some(scale) = &results.scale {
        out.push(Target {
            what: "100 000 open legacy sessions fit (count cap raised)".to_owned(),
            measured: match scale {
                Ok(m) => m.opened_summary(),
                Err(e) => format!("failed: {e}"),
            },
            verdict: match scale {
                Ok(m) if m.requested < 100_000 => {
                    Verdict::NotJudged(format!("{} sessions asked for", m.requested))
                }
                Ok(m) if m.opened == m.requested && m.first_error.is_none() => Verdict::Met,
                _ => Verdict::Missed,
            },
        });
    }
    out.push(soak_target(results));
    let fan = results.fanout.as_ref().and_then(|f| f.as_ref().ok());
    let fan_verdict = match fan {
        None => Verdict::NotMeasured,
        Some(rounds) if rounds.median().streams < 10_000 => Verdict::NotJudged(format!(
            "{} streams; the issue asks for 10 000",
            rounds.median().streams
        )),
        Some(rounds) if !rounds.all_delivered() => Verdict::Missed,
        Some(rounds) => Verdict::of(Some(rounds.median().all_ms), &rounds.times(), |ms| {
            ms < 100.0
        })
        .unless(settings.ratio_withheld.clone()),
    };
    out.push(Target {
        what: "One resources/updated to 10 000 SSE streams < 100 ms".to_owned(),
        measured: match &results.fanout {
            Some(Ok(rounds)) => {
                let f = rounds.median();
                let range = rounds_range(&rounds.times(), 1);
                let range = if range.is_empty() {
                    range
                } else {
                    range + " ms"
                };
                let streams = format!("{}/{} streams", f.delivered, f.streams);
                format!("{:.1} ms{}", f.all_ms, parenthesised(&[streams, range]))
            }
            Some(Err(e)) => format!("failed: {e}"),
            None => "skipped".to_owned(),
        },
        verdict: fan_verdict,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_met_only_when_every_round_meets_it() {
        let at_least = |v: f64| v >= 0.85;
        assert_eq!(
            Verdict::of(Some(0.9), &[0.86, 0.9, 0.95], at_least),
            Verdict::Met
        );
        assert_eq!(
            Verdict::of(Some(0.9), &[0.84, 0.9, 1.28], at_least),
            Verdict::Inconclusive
        );
        assert_eq!(
            Verdict::of(Some(0.8), &[0.9, 0.8, 0.7], at_least),
            Verdict::Missed
        );
        assert_eq!(Verdict::of(None, &[], at_least), Verdict::NotMeasured);
        assert_eq!(
            Verdict::Met.unless(Some("1 rounds".to_owned())),
            Verdict::NotJudged("1 rounds".to_owned())
        );
        assert_eq!(
            Verdict::NotMeasured.unless(Some("x".to_owned())),
            Verdict::NotMeasured
        );
    }

    /// Three rounds of `legacy` for ours and raw, as `results` hold them after a run.
    fn three_rounds(edit: impl Fn(&mut Vec<crate::run::Sample>)) -> Results {
        let mut samples = Vec::new();
        for round in 0..3 {
            for (server, rps) in [(ServerId::Ours, 90.0), (ServerId::Raw, 100.0)] {
                samples.push(crate::run::Sample {
                    round,
                    scenario: "legacy",
                    server,
                    result: LoadResult {
                        requests: 1000,
                        rps,
                        ..LoadResult::default()
                    },
                });
            }
        }
        edit(&mut samples);
        Results {
            config: crate::run::RunConfig {
                duration: std::time::Duration::from_secs(1),
                warmup: std::time::Duration::from_secs(1),
                rounds: 3,
                connections: 32,
                sessions: 0,
                scale_sessions: 0,
                streams: 0,
                soak: 0,
                out: std::path::PathBuf::new(),
                only: Vec::new(),
                skip: Vec::new(),
                client_threads: 1,
            },
            command: String::new(),
            scenarios: Vec::new(),
            samples,
            memory: Vec::new(),
            scale: None,
            soak: None,
            fanout: None,
            elapsed: std::time::Duration::ZERO,
        }
    }

    /// A ratio stands on every round the run was set to, each clean: a server that died after
    /// a round, or failed requests, leaves the target not judged rather than met on what
    /// survived.
    #[test]
    fn dead_or_failing_rounds_are_not_judged() {
        let legacy = |results: &Results| {
            let settings = Settings::of(results);
            targets(results, &settings)
                .into_iter()
                .find(|t| {
                    t.what
                        .starts_with("Stateless tools/call, quickstart ≥ 0.85× raw (32")
                })
                .expect("the target")
                .verdict
        };
        assert_eq!(legacy(&three_rounds(|_| {})), Verdict::Met);
        let dead = three_rounds(|samples| {
            samples.retain(|s| s.server != ServerId::Raw || s.round == 0);
        });
        assert_eq!(
            legacy(&dead),
            Verdict::NotJudged("raw hyper (ceiling) not measured in round 2".to_owned())
        );
        let failing = three_rounds(|samples| samples[3].result.errors = 7);
        assert!(
            matches!(legacy(&failing), Verdict::NotJudged(why) if why.contains("7 errors in round 2"))
        );
        let silent = three_rounds(|samples| samples[4].result.requests = 0);
        assert!(
            matches!(legacy(&silent), Verdict::NotJudged(why) if why.contains("answered nothing in round 3"))
        );
    }

    #[test]
    fn the_soak_is_judged_on_growth_after_warm_up() {
        let soak = |seconds, errors, end| {
            let mut results = three_rounds(|_| {});
            results.soak = Some(Ok(crate::memory::Soak {
                seconds,
                connections: 32,
                requests: 1000,
                errors,
                rss_start_kib: 8_000,
                rss_warm_kib: 20_000,
                warm_at_secs: 60,
                rss_end_kib: end,
                rss_max_kib: end.max(20_000),
                first_error: None,
            }));
            soak_target(&results).verdict
        };
        assert_eq!(soak(300, 0, 21_000), Verdict::Met);
        assert_eq!(soak(300, 0, 30_000), Verdict::Missed);
        assert!(matches!(soak(20, 0, 20_000), Verdict::NotJudged(_)));
        assert!(matches!(soak(300, 3, 20_000), Verdict::NotJudged(_)));
    }

    #[test]
    fn round_ranges_and_parentheses() {
        assert_eq!(rounds_range(&[0.91, 0.79, 0.85], 2), "rounds 0.79–0.91");
        assert_eq!(rounds_range(&[0.9], 2), "", "one round has no range");
        assert_eq!(
            parenthesised(&["rounds 0.79–0.91".to_owned(), "raw: 2.59×".to_owned()]),
            " (rounds 0.79–0.91; raw: 2.59×)"
        );
        assert_eq!(
            parenthesised(&[String::new(), "raw: 2.59×".to_owned()]),
            " (raw: 2.59×)"
        );
        assert_eq!(parenthesised(&[String::new()]), "");
    }
}
