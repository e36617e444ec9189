//! The load generator: N HTTP/1.1 keep-alive connections (hyper's client connection API), each
//! sending one request after the other for a fixed time and checking every answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

use crate::proto::{self, Media, Shape};
use crate::scenario::SessionMode;

/// The most time one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after the measured window a request sent inside it may still be answered; one
/// still unanswered then is an error (a stalled request must not pass for a slow run).
const LATE_ANSWER_GRACE: Duration = Duration::from_secs(1);
/// A connection gives up after this many failures in a row.
const MAX_CONSECUTIVE_ERRORS: u32 = 100;
/// Latency samples kept per connection (memory bound; ~40 MB at most over 32 connections).
const MAX_SAMPLES: usize = 300_000;

/// Where the server is.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    /// Bearer tokens (production stack); connection `i` uses `tokens[i % len]`.
    pub(crate) tokens: Arc<Vec<String>>,
}

impl Target {
    pub(crate) fn host(&self) -> HeaderValue {
        HeaderValue::from_str(&self.addr.to_string()).expect("an address is a valid header")
    }

    fn authorization(&self, connection: usize) -> Option<HeaderValue> {
        if self.tokens.is_empty() {
            return None;
        }
        let token = &self.tokens[connection % self.tokens.len()];
        HeaderValue::from_str(&format!("Bearer {token}")).ok()
    }
}

/// What to send, how hard, how long.
#[derive(Debug, Clone)]
pub(crate) struct LoadSpec {
    pub(crate) shape: Shape,
    /// The media type every answer must have.
    pub(crate) media: Media,
    pub(crate) session: SessionMode,
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// The server's process, to read its CPU time over the measured window.
    pub(crate) server_pid: Option<u32>,
}

/// Totals of one load run (requests completed inside the measured window).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) rps: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) p999_us: f64,
    /// Server CPU time (user + system) per request over the measured window, in µs.
    pub(crate) server_cpu_us: f64,
    /// This process's CPU time per request over the measured window, in µs.
    pub(crate) client_cpu_us: f64,
}

#[derive(Default)]
struct ConnStats {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
}

impl ConnStats {
    fn error(&mut self, measuring: bool, error: String) {
        if measuring {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }
}

/// One client connection.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    authorization: Option<HeaderValue>,
}

impl Conn {
    /// Connects (from `source` when given, to spread ports over 127.0.0.x).
    pub(crate) async fn open(
        target: &Target,
        index: usize,
        source: Option<IpAddr>,
    ) -> Result<Self, String> {
        let stream = match source {
            None => TcpStream::connect(target.addr).await,
            Some(ip) => {
                let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
                socket
                    .bind(SocketAddr::new(ip, 0))
                    .map_err(|e| format!("bind {ip}: {e}"))?;
                socket.connect(target.addr).await
            }
        }
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: target.host(),
            authorization: target.authorization(index),
        })
    }

    /// Sends one request and reads the whole answer.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        headers.insert(header::HOST, self.host.clone());
        if let Some(auth) = &self.authorization {
            headers.insert(header::AUTHORIZATION, auth.clone());
        }
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = http::Uri::from_static("/mcp");
        *request.headers_mut() = headers;
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| format!("not ready: {e}"))?;
            let response: Response<Incoming> = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok((parts.status, parts.headers, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// `initialize` + `notifications/initialized`; returns the session id.
    pub(crate) async fn initialize(&mut self) -> Result<String, String> {
        let (status, headers, body) = self
            .send(
                Method::POST,
                proto::base_headers(),
                Bytes::from(proto::initialize_body()),
            )
            .await?;
        if status != StatusCode::OK {
            return Err(format!(
                "initialize: status {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let session = headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or("initialize: no Mcp-Session-Id")?
            .to_owned();
        let reply = proto::find_reply(&headers, &body)?;
        if reply.result.is_none() {
            return Err("initialize: no result".to_owned());
        }
        let mut headers = session_headers(&session);
        headers.extend(proto::base_headers());
        let (status, _, body) = self
            .send(
                Method::POST,
                headers,
                Bytes::from_static(proto::INITIALIZED),
            )
            .await?;
        if status != StatusCode::ACCEPTED && status != StatusCode::OK {
            return Err(format!(
                "notifications/initialized: status {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(session)
    }
}

/// `Mcp-Session-Id` and the negotiated version.
pub(crate) fn session_headers(session: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "mcp-session-id",
        HeaderValue::from_str(session).expect("session ids are visible ASCII"),
    );
    headers.insert(
        "mcp-protocol-version",
        HeaderValue::from_static(proto::LEGACY),
    );
    headers
}

/// Runs `spec` against `target` and returns what was measured after the warm-up.
pub(crate) async fn run(target: &Target, spec: &LoadSpec) -> LoadResult {
    let shared_session = match spec.session {
        SessionMode::Shared => {
            let session = async {
                let mut conn = Conn::open(target, 0, None).await?;
                conn.initialize().await
            }
            .await;
            match session {
                Ok(session) => Some(session),
                Err(error) => {
                    return LoadResult {
                        errors: 1,
                        first_error: Some(format!("shared session: {error}")),
                        ..LoadResult::default()
                    };
                }
            }
        }
        _ => None,
    };
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let server_pid = spec.server_pid;
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let server_before = server_pid.and_then(crate::proc::cpu_seconds);
        let client_before = crate::proc::cpu_seconds(std::process::id());
        tokio::time::sleep_until(end.into()).await;
        let server = server_pid
            .and_then(crate::proc::cpu_seconds)
            .zip(server_before)
            .map(|(after, before)| after - before);
        let client = crate::proc::cpu_seconds(std::process::id())
            .zip(client_before)
            .map(|(after, before)| after - before);
        (server, client)
    });
    let mut tasks = Vec::with_capacity(spec.connections);
    for index in 0..spec.connections {
        let target = target.clone();
        let spec = spec.clone();
        let shared = shared_session.clone();
        tasks.push(tokio::spawn(async move {
            connection(index, target, spec, shared, measure_from, end).await
        }));
    }
    let mut total = ConnStats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => {
                total.ok += stats.ok;
                total.errors += stats.errors;
                if total.first_error.is_none() {
                    total.first_error = stats.first_error;
                }
                total.latencies_us.extend(stats.latencies_us);
            }
            Err(error) => {
                total.errors += 1;
                total.first_error.get_or_insert(format!("task: {error}"));
            }
        }
    }
    let (server_cpu, client_cpu) = cpu.await.unwrap_or_default();
    let mut result = summarize(total, spec.duration);
    let per_request = |seconds: Option<f64>| match seconds {
        Some(seconds) if result.requests > 0 => seconds * 1e6 / result.requests as f64,
        _ => f64::NAN,
    };
    result.server_cpu_us = per_request(server_cpu);
    result.client_cpu_us = per_request(client_cpu);
    result
}

fn summarize(mut total: ConnStats, duration: Duration) -> LoadResult {
    total.latencies_us.sort_unstable();
    let pick = |q: f64| -> f64 {
        let samples = &total.latencies_us;
        if samples.is_empty() {
            return f64::NAN;
        }
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        f64::from(samples[index.min(samples.len() - 1)])
    };
    LoadResult {
        requests: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        rps: total.ok as f64 / duration.as_secs_f64(),
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        p999_us: pick(0.999),
        server_cpu_us: f64::NAN,
        client_cpu_us: f64::NAN,
    }
}

async fn connection(
    index: usize,
    target: Target,
    spec: LoadSpec,
    shared_session: Option<String>,
    measure_from: Instant,
    end: Instant,
) -> ConnStats {
    let mut stats = ConnStats {
        latencies_us: Vec::with_capacity(16_384),
        ..ConnStats::default()
    };
    let mut conn = match Conn::open(&target, index, None).await {
        Ok(conn) => conn,
        Err(error) => {
            stats.error(true, error);
            return stats;
        }
    };
    let session = match spec.session {
        SessionMode::None => None,
        SessionMode::Shared => shared_session,
        SessionMode::Own => match conn.initialize().await {
            Ok(session) => Some(session),
            Err(error) => {
                stats.error(true, error);
                return stats;
            }
        },
    };
    let mut headers = spec.shape.headers();
    if let Some(session) = &session {
        headers.extend(session_headers(session));
    }
    let mut body = Vec::with_capacity(256);
    let mut consecutive_errors = 0;
    // Connection `index` adds `index` to the request number: every answer differs. Ids are
    // unique across connections too (they may share a session).
    let a = index as u64;
    for seq in 1u64.. {
        let started = Instant::now();
        if consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
            // Counted wherever it happens: a connection that gave up in the warm-up measured
            // nothing, which must not read as "0 errors".
            stats.error(
                true,
                format!("gave up after {MAX_CONSECUTIVE_ERRORS} consecutive failures"),
            );
            break;
        }
        if started >= end {
            break;
        }
        let id = (a << 32) | seq;
        spec.shape.body(id, a, seq, &mut body);
        let exchange = conn.send(Method::POST, headers.clone(), Bytes::copy_from_slice(&body));
        let outcome =
            match tokio::time::timeout_at((end + LATE_ANSWER_GRACE).into(), exchange).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!(
                    "unanswered {} s after the measured window ended",
                    LATE_ANSWER_GRACE.as_secs()
                )),
            };
        let finished = Instant::now();
        // Answers count inside the window; failures of requests sent inside it count wherever
        // they end (one sent just before the end and never answered is an error too).
        let measuring = started >= measure_from && finished <= end;
        let measured_failure = started >= measure_from;
        let checked = outcome.and_then(|(status, response_headers, response)| {
            spec.shape
                .check(id, a, seq, status, &response_headers, &response)?;
            spec.media.check(&response_headers)
        });
        match checked {
            Ok(()) => {
                consecutive_errors = 0;
                if measuring {
                    stats.ok += 1;
                    if stats.latencies_us.len() < MAX_SAMPLES {
                        let micros = (finished - started).as_micros();
                        stats
                            .latencies_us
                            .push(micros.min(u128::from(u32::MAX)) as u32);
                    }
                }
            }
            Err(error) => {
                consecutive_errors += 1;
                stats.error(measured_failure, error);
                // The connection may be broken: start a new one (bounded by the loop).
                if conn.sender.is_closed() {
                    match Conn::open(&target, index, None).await {
                        Ok(new) => conn = new,
                        Err(error) => {
                            stats.error(measured_failure, error);
                            break;
                        }
                    }
                }
            }
        }
    }
    stats
}
