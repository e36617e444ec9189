//! Fan-out: how long one `notifications/resources/updated` takes to reach N subscribed SSE
//! streams (one session and one GET stream each, every stream its own TCP connection).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use crate::memory::open_sessions;
use crate::proc::ServerProcess;
use crate::proto::ABOUT_URI;
use crate::scenario::{ServerId, Variant};

mod stream;

use stream::SseStream;

/// Streams connecting at once (the listener's backlog is finite).
const CONNECT_CONCURRENCY: usize = 256;
/// Source addresses 127.0.0.2 ..= 127.0.0.(1 + SOURCES): ephemeral ports never run out.
const SOURCES: usize = 8;
/// How long the streams may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the notification may take to arrive everywhere.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// What the fan-out measured.
#[derive(Debug, Clone)]
pub(crate) struct FanOut {
    pub(crate) streams: usize,
    pub(crate) sessions: usize,
    pub(crate) ready: usize,
    pub(crate) delivered: usize,
    pub(crate) setup_seconds: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) all_ms: f64,
    pub(crate) rss_kib: u64,
    /// CPU time the server spent from the trigger to the last arrival, in ms.
    pub(crate) server_cpu_ms: f64,
    /// CPU time this process (the clients) spent in the same window, in ms.
    pub(crate) client_cpu_ms: f64,
    pub(crate) first_error: Option<String>,
}

/// The fan-out measured `rounds` times, each with a fresh server, so that one noisy moment
/// of the shared machine does not decide the result: what the report shows is the median
/// round. Stops at the first round that fails.
pub(crate) async fn run_rounds(streams: usize, rounds: usize) -> Result<FanOutRounds, String> {
    let mut measured = Vec::with_capacity(rounds);
    let baseline = tcp_sockets_allocated();
    for round in 1..=rounds {
        // The kernel tears the last round's 20 000 sockets down after it ends, on the same
        // CPUs: a round started meanwhile measures that too (10-15 % slower when runs
        // follow each other at once).
        settle(baseline).await;
        let fan = run(streams).await?;
        eprintln!(
            "fan-out round {round}/{rounds}: {}/{} streams in {:.1} ms",
            fan.delivered, fan.streams, fan.all_ms
        );
        measured.push(fan);
    }
    FanOutRounds::new(measured).ok_or_else(|| "no fan-out round ran".to_owned())
}

/// The TCP sockets the kernel holds now (`alloc` in `/proc/net/sockstat`), when it says.
fn tcp_sockets_allocated() -> Option<u64> {
    tcp_allocated_in(&std::fs::read_to_string("/proc/net/sockstat").ok()?)
}

fn tcp_allocated_in(sockstat: &str) -> Option<u64> {
    let tcp = sockstat.lines().find(|line| line.starts_with("TCP:"))?;
    let mut fields = tcp.split_whitespace();
    fields.find(|field| *field == "alloc")?;
    fields.next()?.parse().ok()
}

/// Waits (at most 30 s) until the kernel is back to about `baseline` TCP sockets, then a
/// moment more for the work that freeing them queued.
async fn settle(baseline: Option<u64>) {
    let Some(baseline) = baseline else { return };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tcp_sockets_allocated().is_some_and(|now| now > baseline + 64)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The rounds of a fan-out measurement, in the order they ran (at least one).
#[derive(Debug, Clone)]
pub(crate) struct FanOutRounds {
    rounds: Vec<FanOut>,
}

impl FanOutRounds {
    pub(crate) fn new(rounds: Vec<FanOut>) -> Option<Self> {
        (!rounds.is_empty()).then_some(Self { rounds })
    }

    /// Every round, in the order they ran.
    pub(crate) fn rounds(&self) -> &[FanOut] {
        &self.rounds
    }

    /// Each round's time for the last stream, in the order they ran.
    pub(crate) fn times(&self) -> Vec<f64> {
        self.rounds.iter().map(|r| r.all_ms).collect()
    }

    /// The median round by the time the last stream got the notification (the lower of
    /// the two middle ones for an even count: no number is invented between them).
    pub(crate) fn median(&self) -> &FanOut {
        let mut order: Vec<&FanOut> = self.rounds.iter().collect();
        order.sort_by(|a, b| a.all_ms.total_cmp(&b.all_ms));
        order[(order.len() - 1) / 2]
    }

    /// Whether every round delivered to every stream.
    pub(crate) fn all_delivered(&self) -> bool {
        self.rounds.iter().all(|f| f.delivered == f.streams)
    }
}

/// One round: a fresh server, `streams` subscribed streams, one notification.
async fn run(streams: usize) -> Result<FanOut, String> {
    let mut process = ServerProcess::spawn(ServerId::Ours, Variant::Sessions)?;
    let target = process.target.clone();
    // For profiling (`perf record -a`, then `perf report --pid`).
    eprintln!(
        "fan-out: server pid {}, clients pid {}",
        process.pid(),
        std::process::id()
    );
    let setup = Instant::now();
    let opened = open_sessions(&target, streams, 16, true).await;
    let sessions = opened.ids.len();
    let first_error = Arc::new(std::sync::Mutex::new(opened.first_error));
    let ready = Arc::new(AtomicUsize::new(0));
    let connect = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Instant>();
    let mut tasks = Vec::with_capacity(sessions);
    for (index, session) in opened.ids.into_iter().enumerate() {
        let (target, ready, connect, done_tx, first_error) = (
            target.clone(),
            Arc::clone(&ready),
            Arc::clone(&connect),
            done_tx.clone(),
            Arc::clone(&first_error),
        );
        tasks.push(tokio::spawn(async move {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (index % SOURCES) as u8));
            let stream = async {
                let _permit = connect.acquire().await.map_err(|e| e.to_string())?;
                SseStream::open(target.addr, source, &session).await
            }
            .await;
            let mut stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert(error);
                    return;
                }
            };
            let mut counted = false;
            // Bounded by the stream's bytes and by the abort at the end of the test.
            loop {
                let next = stream.next().await;
                if !counted {
                    // The priming event: the stream is open.
                    counted = true;
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                match next {
                    Ok(true) => {
                        let _ = done_tx.send(Instant::now());
                        // Keep the stream open like a real client: closing 10 000
                        // connections inside the measured window is not part of the fan-out.
                        std::future::pending::<()>().await;
                    }
                    Ok(false) => {}
                    Err(error) => {
                        let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        first.get_or_insert(error);
                        break;
                    }
                }
            }
        }));
    }
    drop(done_tx);
    let open_deadline = Instant::now() + OPEN_TIMEOUT;
    while ready.load(Ordering::Relaxed) < sessions && Instant::now() < open_deadline {
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_count = ready.load(Ordering::Relaxed);
    let setup_seconds = setup.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_kib = process.rss_kib().unwrap_or(0);
    if let Some(pause) = std::env::var("LOAD_FANOUT_PAUSE_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        // For profiling: time to attach `perf record -p <server pid>` to the delivery alone.
        eprintln!("fan-out: {ready_count} streams ready; triggering in {pause} s");
        tokio::time::sleep(Duration::from_secs_f64(pause.clamp(0.0, 60.0))).await;
    }

    let pid = process.pid();
    let server_cpu = cpu_seconds(pid);
    let client_cpu = cpu_seconds(std::process::id());
    let sent = Instant::now();
    process.command(&format!("notify {ABOUT_URI}"))?;
    let mut arrivals = Vec::with_capacity(ready_count);
    let mut early = 0;
    let deadline = tokio::time::sleep(DELIVERY_TIMEOUT);
    tokio::pin!(deadline);
    while arrivals.len() + early < ready_count {
        tokio::select! {
            arrival = done_rx.recv() => match arrival {
                // Before the trigger: not this notification, and not a delivery in 0 ms.
                Some(at) if at < sent => early += 1,
                Some(at) => arrivals.push(at.duration_since(sent).as_secs_f64() * 1000.0),
                None => break,
            },
            () = &mut deadline => break,
        }
    }
    if early > 0 {
        first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(format!(
                "{early} streams got a resources/updated before it was sent"
            ));
    }
    let server_cpu_ms = cpu_seconds(pid)
        .zip(server_cpu)
        .map_or(f64::NAN, |(after, before)| (after - before) * 1000.0);
    let client_cpu_ms = cpu_seconds(std::process::id())
        .zip(client_cpu)
        .map_or(f64::NAN, |(after, before)| (after - before) * 1000.0);
    for task in &tasks {
        task.abort();
    }
    drop(process);
    arrivals.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        if arrivals.is_empty() {
            return f64::NAN;
        }
        arrivals[((arrivals.len() as f64 - 1.0) * q).round() as usize]
    };
    let first_error = first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(FanOut {
        streams,
        sessions,
        ready: ready_count,
        delivered: arrivals.len(),
        setup_seconds,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        all_ms: arrivals.last().copied().unwrap_or(f64::NAN),
        rss_kib,
        server_cpu_ms,
        client_cpu_ms,
        first_error,
    })
}

/// CPU time of a process to the nanosecond: the sum over its threads of
/// `/proc/<pid>/task/<tid>/schedstat` (time on CPU), since `/proc/<pid>/stat` counts in
/// 10 ms ticks, too coarse for a window of a few hundred ms. Falls back to the ticks.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).ok();
    let nanos = threads.and_then(|threads| {
        threads
            .map(|thread| {
                let path = thread.ok()?.path().join("schedstat");
                let stat = std::fs::read_to_string(path).ok()?;
                stat.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum::<Option<u64>>()
    });
    match nanos {
        Some(nanos) => Some(nanos as f64 / 1e9),
        None => crate::proc::cpu_seconds(pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tcp_socket_count_is_read_from_sockstat() {
        let sockstat = "sockets: used 8\nTCP: inuse 1 orphan 0 tw 49886 alloc 17 mem 266\n\
                        UDP: inuse 0 mem 0\n";
        assert_eq!(tcp_allocated_in(sockstat), Some(17));
        assert_eq!(tcp_allocated_in("UDP: inuse 0 mem 0\n"), None);
    }

    fn round(all_ms: f64, delivered: usize) -> FanOut {
        FanOut {
            streams: 10,
            sessions: 10,
            ready: 10,
            delivered,
            setup_seconds: 1.0,
            p50_ms: all_ms / 2.0,
            p99_ms: all_ms,
            all_ms,
            rss_kib: 0,
            server_cpu_ms: 1.0,
            client_cpu_ms: 1.0,
            first_error: None,
        }
    }

    #[test]
    fn the_median_round_is_one_that_ran() {
        let three = FanOutRounds::new(vec![round(100.4, 10), round(91.7, 10), round(96.8, 10)])
            .expect("rounds");
        assert_eq!(three.median().all_ms, 96.8);
        assert_eq!(three.rounds().len(), 3);
        assert_eq!(three.times(), [100.4, 91.7, 96.8]);
        assert!(three.all_delivered());
        let two = FanOutRounds::new(vec![round(80.0, 10), round(60.0, 9)]).expect("rounds");
        assert_eq!(two.median().all_ms, 60.0, "the lower middle round");
        assert!(!two.all_delivered());
        assert!(FanOutRounds::new(Vec::new()).is_none());
    }
}
