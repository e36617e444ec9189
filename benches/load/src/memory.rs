//! Memory: RSS per idle legacy session, and RSS over a longer run (no growth after warm-up).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::client::{self, Conn, LoadSpec, Target};
use crate::proc::{self, ServerProcess};
use crate::proto::{self, Call, Era, Media, Shape};
use crate::scenario::{ServerId, SessionMode, Variant};

/// Idle sessions opened in a fresh server.
#[derive(Debug, Clone)]
pub(crate) struct SessionMemory {
    pub(crate) server: ServerId,
    pub(crate) requested: usize,
    pub(crate) opened: usize,
    pub(crate) first_error: Option<String>,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_after_kib: u64,
    pub(crate) seconds: f64,
}

impl SessionMemory {
    /// RSS growth per opened session, in bytes.
    pub(crate) fn bytes_per_session(&self) -> f64 {
        if self.opened == 0 {
            return f64::NAN;
        }
        (self.rss_after_kib as f64 - self.rss_before_kib as f64) * 1024.0 / self.opened as f64
    }

    /// "opened/requested opened, B each", for the report and the console alike.
    pub(crate) fn opened_summary(&self) -> String {
        format!(
            "{}/{} opened, {:.0} B each",
            self.opened,
            self.requested,
            self.bytes_per_session()
        )
    }
}

/// Sessions opened, and the ids.
pub(crate) struct Opened {
    pub(crate) ids: Vec<String>,
    pub(crate) first_error: Option<String>,
}

/// Opens `n` sessions over `connections` connections (`initialize` + `initialized`, and
/// `resources/subscribe` to the about resource when `subscribe`).
pub(crate) async fn open_sessions(
    target: &Target,
    n: usize,
    connections: usize,
    subscribe: bool,
) -> Opened {
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let mut tasks = Vec::new();
    for index in 0..connections.max(1) {
        let (target, next, ids, first_error) = (
            target.clone(),
            Arc::clone(&next),
            Arc::clone(&ids),
            Arc::clone(&first_error),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = match Conn::open(&target, index, None).await {
                Ok(conn) => conn,
                Err(error) => {
                    first_error.lock().await.get_or_insert(error);
                    return;
                }
            };
            let mut failures = 0;
            // Bounded: each iteration claims one of the `n` sessions.
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let opened = async {
                    let id = conn.initialize().await?;
                    if subscribe {
                        subscribe_about(&mut conn, &id).await?;
                    }
                    Ok::<_, String>(id)
                }
                .await;
                match opened {
                    Ok(id) => ids.lock().await.push(id),
                    Err(error) => {
                        failures += 1;
                        first_error.lock().await.get_or_insert(error);
                        if failures > 20 {
                            return;
                        }
                        if let Ok(new) = Conn::open(&target, index, None).await {
                            conn = new;
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let ids = std::mem::take(&mut *ids.lock().await);
    let first_error = first_error.lock().await.take();
    Opened { ids, first_error }
}

async fn subscribe_about(conn: &mut Conn, session: &str) -> Result<(), String> {
    let mut headers = client::session_headers(session);
    headers.extend(proto::base_headers());
    let (status, response_headers, body) = conn
        .send(
            http::Method::POST,
            headers,
            bytes::Bytes::from(proto::subscribe_body(1)),
        )
        .await?;
    if status != http::StatusCode::OK {
        return Err(format!("resources/subscribe: status {status}"));
    }
    let reply = proto::find_reply(&response_headers, &body)?;
    if reply.error.is_some() || reply.result.is_none() {
        return Err(format!(
            "resources/subscribe: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(())
}

/// Starts a fresh `server` with sessions, opens a few sessions to warm up, then `n` more, and
/// reads the RSS before and after.
pub(crate) async fn idle_sessions(server: ServerId, n: usize) -> Result<SessionMemory, String> {
    let process = ServerProcess::spawn(server, Variant::Sessions)?;
    let target = process.target.clone();
    let warm = open_sessions(&target, 200, 8, false).await;
    if warm.ids.is_empty() {
        return Err(format!(
            "{}: no session opened: {}",
            server.cli(),
            warm.first_error.unwrap_or_default()
        ));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = process.rss_kib().ok_or("cannot read RSS")?;
    let started = Instant::now();
    let opened = open_sessions(&target, n, 16, false).await;
    let seconds = started.elapsed().as_secs_f64();
    // Let tasks and buffers of the handshakes settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = process.rss_kib().ok_or("cannot read RSS")?;
    Ok(SessionMemory {
        server,
        requested: n,
        opened: opened.ids.len(),
        first_error: opened.first_error,
        rss_before_kib: before,
        rss_after_kib: after,
        seconds,
    })
}

/// RSS over a longer run.
#[derive(Debug, Clone)]
pub(crate) struct Soak {
    pub(crate) seconds: u64,
    pub(crate) connections: usize,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) rss_start_kib: u64,
    pub(crate) rss_warm_kib: u64,
    pub(crate) warm_at_secs: u64,
    pub(crate) rss_end_kib: u64,
    pub(crate) rss_max_kib: u64,
    pub(crate) first_error: Option<String>,
}

/// Runs `tools/call add` with one session per connection against a fresh quickstart server
/// for `seconds`, sampling its RSS every second.
pub(crate) async fn soak(seconds: u64, connections: usize) -> Result<Soak, String> {
    let process = ServerProcess::spawn(ServerId::Ours, Variant::Sessions)?;
    let pid = process.pid();
    let start_rss = process.rss_kib().ok_or("cannot read RSS")?;
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(f64, u64)>::new()));
    let sampler = {
        let samples = Arc::clone(&samples);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            // Bounded by the soak's length (aborted after it).
            for _ in 0..=seconds + 5 {
                tick.tick().await;
                if let Some(rss) = proc::rss_kib(pid) {
                    let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
                    samples.push((started.elapsed().as_secs_f64(), rss));
                }
            }
        })
    };
    let spec = LoadSpec {
        shape: Shape {
            era: Era::Legacy,
            call: Call::Add,
        },
        media: Media::Either,
        session: SessionMode::Own,
        connections,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(seconds),
        server_pid: Some(pid),
    };
    let result = client::run(&process.target, &spec).await;
    sampler.abort();
    let end_rss = process.rss_kib().ok_or("cannot read RSS")?;
    let samples = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Warm-up: the first fifth of the run, at least 5 s (at most the whole run).
    let warm_at = (seconds / 5).max(5).min(seconds);
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= warm_at as f64)
        .map_or(start_rss, |(_, rss)| *rss);
    let max = samples.iter().map(|(_, rss)| *rss).max().unwrap_or(end_rss);
    Ok(Soak {
        seconds,
        connections,
        requests: result.requests,
        errors: result.errors,
        rss_start_kib: start_rss,
        rss_warm_kib: warm,
        warm_at_secs: warm_at,
        rss_end_kib: end_rss,
        rss_max_kib: max.max(end_rss),
        first_error: result.first_error,
    })
}
