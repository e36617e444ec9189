//! Serving an HTTP-tier service over TCP with hyper: HTTP/1.1 and HTTP/2 (prior knowledge) on
//! one port, `TCP_NODELAY` on every connection, one task per connection, idle connections
//! closed, connections that stop taking their responses dropped, a cap on open connections,
//! graceful shutdown.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! use std::convert::Infallible;
//!
//! use http_body_util::Full;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let service = tower::service_fn(|_request: http::Request<hyper::body::Incoming>| async {
//!     Ok::<_, Infallible>(http::Response::new(Full::new(bytes::Bytes::from("hello"))))
//! });
//! // Runs until the future completes, then lets open requests finish.
//! let shutdown = async { tokio::time::sleep(std::time::Duration::from_secs(60)).await };
//! mcp_tower::serve_with_shutdown(listener, service, shutdown).await
//! # }
//! ```

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tower_service::Service;

use crate::log_every::LogEvery;

mod graceful;
mod idle;
mod peers;
mod reuse;
mod send;
mod signal;
mod streams;

pub use signal::shutdown_signal;

pub(crate) use streams::EndStream;

/// How long a graceful shutdown waits for open connections before it closes them (their
/// requests cancelled, see [`serve_with_shutdown`]) and the serve future returns. The
/// bridge's long-lived streams (`subscriptions/listen`, session GET streams) end as soon as
/// shutdown begins, so this bounds requests still being answered, and streams of other
/// services.
pub const SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// How long a connection may wait for a request: a connection with no request in flight (a
/// streamed response counts as in flight until its end) for this long is closed, whether it
/// sent nothing, part of a request head (slow-loris clients) or was left idle after a
/// response. It is closed gracefully (HTTP/2: GOAWAY), and dropped a tenth of the timeout
/// later if it ignores that (a request head still trickling in). Enforced by a sweep over the
/// connections ten times per timeout rather than a timer per request. The same bound as
/// hyper's own default header read timeout.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a response may wait for its connection to take any of it: a connection whose
/// socket accepts nothing for this long (the client stopped reading: a zero TCP window), or
/// with an HTTP/2 response frame of which the stream gets no flow-control credit for any part
/// in that time, is dropped, since that response can never finish. Like nginx's
/// `send_timeout`, it times the pauses between writes, not the whole response: a slow client
/// that keeps reading keeps the writes moving, and a stream waiting for events (SSE) is not
/// waiting to be sent. Enforced, like the
/// idle timeout, by ten sweeps per timeout, so a connection is dropped between 10 and 11
/// tenths of it. The same default as nginx's `send_timeout`.
///
/// The whole connection goes, with every other stream on it: hyper gives no way to reset one
/// HTTP/2 stream from outside. Behind an HTTP/2 proxy that carries many clients on one
/// connection, one client that stops reading thus ends the others' streams too; give such a
/// deployment a longer [`send_timeout`](ServeOptions::send_timeout) (the proxy has its own
/// for its clients) or an HTTP/1.1 upstream.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest request head (request line and headers) a connection may send by default:
/// a head past it is refused with 431. Heads are read before any authentication, so every
/// open connection may hold this much: 64 KiB leaves room for long tokens and base64
/// `Mcp-Name` headers, where hyper's own HTTP/1 bound is about 400 KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How many connections are served at once by default; past that, new ones wait in the
/// listener's backlog until one closes. Each open connection holds a task and its buffers.
pub const MAX_CONNECTIONS: usize = 25_000;

/// The first pause after an accept error that is not about one connection (EMFILE, ENOMEM...).
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
/// The longest pause between failing accepts.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// What [`serve`] and [`serve_with_shutdown`] accept: a cloneable tower service of hyper
/// requests whose responses hyper can write. Implemented for every such service; the bounds
/// are named once here.
///
/// ```
/// fn servable(_: impl mcp_tower::ServedService) {}
///
/// let router = mcp_core::Router::builder().build();
/// # let runtime = tokio::runtime::Runtime::new().unwrap();
/// # let _guard = runtime.enter();
/// servable(mcp_tower::McpServer::builder(router).into_http_service());
/// ```
pub trait ServedService:
    Service<
        Request<Incoming>,
        Response = Response<Self::Body>,
        Error: Into<Box<dyn StdError + Send + Sync>>,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
    /// The response body.
    type Body: http_body::Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>>
        + Send
        + 'static;
}

impl<S, B> ServedService for S
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Body = B;
}

/// Serves `service` on `listener` until Ctrl-C or, on Unix, SIGTERM (what `docker stop`,
/// Kubernetes and systemd send), then shuts down gracefully: see [`shutdown_signal`].
///
/// Accept errors never end the loop: they are logged and retried after a short back-off. See
/// [`serve_with_shutdown`] for the details.
pub async fn serve<S: ServedService>(listener: TcpListener, service: S) -> io::Result<()> {
    serve_with_shutdown(listener, service, shutdown_signal()).await
}

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting, lets the
/// open connections finish their requests (at most [`SHUTDOWN_GRACE_PERIOD`]) and returns.
/// A connection with no request in flight (a request head still arriving) is dropped a tenth
/// of [`HEADER_READ_TIMEOUT`] after shutdown begins. Once the grace period is over, the
/// connections still open are closed before `serve` returns; a request they carry is cancelled
/// as when its client leaves: a handler answering in the connection is dropped, one answering
/// as a bridge's SSE stream ends after the bridge's
/// [`disconnect_grace`](crate::StreamableHttpConfig::disconnect_grace) (the stream may be
/// resumed elsewhere), and tasks, which outlive their requests, end with their session or their
/// TTL. Dropping the serve future closes every connection at once, the same way.
///
/// The long-lived streams of a [`StreamableHttp`](crate::StreamableHttp) bridge end when
/// shutdown begins, with nothing to configure: a `subscriptions/listen` stream sends
/// `notifications/cancelled` for the listen request, then its closing result (the listen
/// request's empty result), and ends; a session's GET stream ends
/// (its client may resume it elsewhere). A server that only has such streams open returns at
/// once. (Where the service is mounted in another server, see
/// [`StreamableHttpConfig::shutdown_token`](crate::StreamableHttpConfig::shutdown_token).)
///
/// Every connection speaks HTTP/1.1 or HTTP/2 (detected from the preface), has `TCP_NODELAY`
/// set (small JSON-RPC and SSE writes must not wait for Nagle) and runs in its own task. A
/// connection that waits [`HEADER_READ_TIMEOUT`] for a request is closed, and one that does
/// not take a response for [`SEND_TIMEOUT`] is dropped.
/// Each request carries the peer's `std::net::SocketAddr` in its extensions. A connection
/// keeps one clone of `service`, readied and called for each of its requests in turn, rather
/// than a clone per request; requests that overlap on one HTTP/2 connection clone again.
pub async fn serve_with_shutdown<S, F>(
    listener: TcpListener,
    service: S,
    shutdown: F,
) -> io::Result<()>
where
    S: ServedService,
    F: Future<Output = ()>,
{
    serve_with_options(listener, service, shutdown, ServeOptions::default()).await
}

/// The limits of [`serve_with_options`].
///
/// ```
/// use std::time::Duration;
///
/// use mcp_tower::serve::ServeOptions;
///
/// let options = ServeOptions::default()
///     .idle_timeout(Duration::from_secs(10))
///     .send_timeout(Duration::from_secs(20))
///     .max_connections(1_000)
///     .shutdown_grace_period(Duration::from_secs(5));
/// assert_eq!(options.get_idle_timeout(), Duration::from_secs(10));
/// assert_eq!(options.get_send_timeout(), Duration::from_secs(20));
/// assert_eq!(options.get_max_connections(), 1_000);
/// assert_eq!(ServeOptions::default().get_idle_timeout(), mcp_tower::serve::HEADER_READ_TIMEOUT);
/// // A zero timeout would make the sweep spin.
/// let shortest = ServeOptions::default().idle_timeout(Duration::ZERO);
/// assert_eq!(shortest.get_idle_timeout(), ServeOptions::MIN_IDLE_TIMEOUT);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    idle_timeout: Duration,
    send_timeout: Duration,
    max_connections: usize,
    max_connections_per_peer: Option<usize>,
    shutdown_grace_period: Duration,
    max_header_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            idle_timeout: HEADER_READ_TIMEOUT,
            send_timeout: SEND_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_peer: None,
            shutdown_grace_period: SHUTDOWN_GRACE_PERIOD,
            max_header_bytes: MAX_HEADER_BYTES,
        }
    }
}

impl ServeOptions {
    /// The shortest idle timeout: the sweep runs ten times per timeout.
    pub const MIN_IDLE_TIMEOUT: Duration = Duration::from_millis(10);

    /// How long a connection may wait for a request (default [`HEADER_READ_TIMEOUT`], which
    /// explains the rule); at least [`MIN_IDLE_TIMEOUT`](Self::MIN_IDLE_TIMEOUT).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Self::MIN_IDLE_TIMEOUT);
        self
    }

    /// The shortest send timeout: the sweep runs ten times per timeout.
    pub const MIN_SEND_TIMEOUT: Duration = Duration::from_millis(10);

    /// How long a response frame may wait for its connection to take it before the
    /// connection is dropped (default [`SEND_TIMEOUT`], which explains the rule); at least
    /// [`MIN_SEND_TIMEOUT`](Self::MIN_SEND_TIMEOUT).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use mcp_tower::serve::ServeOptions;
    ///
    /// // Clients on slow links that fetch large answers need more.
    /// let options = ServeOptions::default().send_timeout(Duration::from_secs(300));
    /// assert_eq!(options.get_send_timeout(), Duration::from_secs(300));
    /// assert_eq!(ServeOptions::default().get_send_timeout(), mcp_tower::serve::SEND_TIMEOUT);
    /// ```
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout.max(Self::MIN_SEND_TIMEOUT);
        self
    }

    /// How many connections are served at once (default [`MAX_CONNECTIONS`], at least 1);
    /// past that, new ones are not accepted until one closes: they wait in the listener's
    /// backlog, which the kernel bounds.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How many connections one peer (an IPv4 address, or an IPv6 /64) may hold open at once
    /// (at least 1); past that, its new connections are closed as soon as accepted, so that
    /// one client cannot take every [connection slot](Self::max_connections). Off by
    /// default: behind a reverse proxy every connection comes from the proxy. Set it where
    /// clients connect directly.
    ///
    /// ```
    /// use mcp_tower::serve::ServeOptions;
    ///
    /// let options = ServeOptions::default().max_connections_per_peer(64);
    /// assert_eq!(options.get_max_connections_per_peer(), Some(64));
    /// assert_eq!(ServeOptions::default().get_max_connections_per_peer(), None);
    /// ```
    pub fn max_connections_per_peer(mut self, max: usize) -> Self {
        self.max_connections_per_peer = Some(max.max(1));
        self
    }

    /// The cap per peer, if any.
    pub fn get_max_connections_per_peer(&self) -> Option<usize> {
        self.max_connections_per_peer
    }

    /// How long a graceful shutdown waits for open connections before it closes them
    /// (default [`SHUTDOWN_GRACE_PERIOD`]).
    pub fn shutdown_grace_period(mut self, period: Duration) -> Self {
        self.shutdown_grace_period = period;
        self
    }

    /// The smallest head bound: hyper's HTTP/1 read buffer takes no less.
    pub const MIN_HEADER_BYTES: usize = 8 * 1024;

    /// The largest request head a connection may send, HTTP/1 or HTTP/2 (default
    /// [`MAX_HEADER_BYTES`]; at least [`MIN_HEADER_BYTES`](Self::MIN_HEADER_BYTES)); a larger
    /// one is refused with 431. Over HTTP/1 it bounds the connection's read buffer, which a
    /// body is then read through in parts of at most this size. Over HTTP/2 a head far past
    /// it (more header block frames than the bound needs: the `h2` crate's guard against
    /// CONTINUATION floods) ends the whole connection with GOAWAY instead.
    ///
    /// ```
    /// use mcp_tower::serve::{MAX_HEADER_BYTES, ServeOptions};
    ///
    /// let options = ServeOptions::default().max_header_bytes(256 * 1024);
    /// assert_eq!(options.get_max_header_bytes(), 256 * 1024);
    /// assert_eq!(ServeOptions::default().get_max_header_bytes(), MAX_HEADER_BYTES);
    /// ```
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max.clamp(Self::MIN_HEADER_BYTES, u32::MAX as usize);
        self
    }

    /// The request head bound.
    pub fn get_max_header_bytes(&self) -> usize {
        self.max_header_bytes
    }

    /// The idle timeout.
    pub fn get_idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The send timeout.
    pub fn get_send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// The connection cap.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }

    /// The shutdown grace period.
    pub fn get_shutdown_grace_period(&self) -> Duration {
        self.shutdown_grace_period
    }
}

/// [`serve_with_shutdown`] with other limits than the defaults.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
///
/// use mcp_tower::serve::{ServeOptions, serve_with_options};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let service = mcp_tower::McpServer::builder(mcp_core::Router::builder().build())
///     .into_http_service();
/// let options = ServeOptions::default().idle_timeout(Duration::from_secs(5));
/// serve_with_options(listener, service, std::future::pending(), options).await
/// # }
/// ```
pub async fn serve_with_options<S, F>(
    listener: TcpListener,
    service: S,
    shutdown: F,
    options: ServeOptions,
) -> io::Result<()>
where
    S: ServedService,
    F: Future<Output = ()>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No HTTP/1 timer: hyper would arm one per request for its header read timeout, which the
    // idle sweep enforces instead. HTTP/2 keep-alive pings need one, if a user turns them on.
    builder.http2().timer(TokioTimer::new());
    builder.http1().max_buf_size(options.max_header_bytes);
    builder
        .http2()
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX));
    let mut graceful = graceful::Shutdown::default();
    let mut sweeps = sweep_ticks(options.idle_timeout);
    let mut send_sweeps = sweep_ticks(options.send_timeout);
    let mut shutdown = pin!(shutdown);
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let peer_slots = options.max_connections_per_peer.map(peers::PeerSlots::new);
    // Owned here, so that connections still open when the grace period ends are dropped
    // (their handlers cancelled) rather than left running after `serve` returns.
    let mut connections = JoinSet::new();
    let mut backoff = Duration::ZERO;
    loop {
        let (accepted, slot) = tokio::select! {
            () = &mut shutdown => break,
            // Reaped as they end: a finished task is kept until joined.
            Some(_) = connections.join_next() => continue,
            _ = sweeps.tick() => {
                graceful.sweep();
                continue;
            }
            _ = send_sweeps.tick() => {
                graceful.sweep_sends();
                continue;
            }
            accepted = accept_within(&listener, &slots) => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            // The peer gave up before we accepted: nothing wrong with the listener.
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "connection failed during accept");
                continue;
            }
            Err(error) => {
                // Out of file descriptors or memory: retrying at once would spin.
                backoff = (backoff * 2).clamp(MIN_ACCEPT_BACKOFF, MAX_ACCEPT_BACKOFF);
                // Once per period: clients that churn connections drive these failures.
                static FAILED: LogEvery = LogEvery::new(Duration::from_secs(5));
                if let Some(held_back) = FAILED.ready() {
                    tracing::error!(
                        %error,
                        ?backoff,
                        failures_not_logged = held_back,
                        "accept failed; retrying after a pause"
                    );
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let peer_slot = match &peer_slots {
            Some(peer_slots) => match peer_slots.admit(remote.ip()) {
                Some(peer_slot) => Some(peer_slot),
                None => {
                    static REFUSED: LogEvery = LogEvery::new(Duration::from_secs(60));
                    if let Some(held_back) = REFUSED.ready() {
                        tracing::warn!(
                            %remote,
                            refusals_not_logged = held_back,
                            "connection refused: its peer holds its share \
                             (ServeOptions::max_connections_per_peer)"
                        );
                    }
                    continue;
                }
            },
            None => None,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %remote, "cannot set TCP_NODELAY");
        }
        let activity = Arc::<idle::Activity>::default();
        let service = reuse::ConnectionService::new(&service, remote, Arc::clone(&activity));
        let stream = send::WatchedIo::new(stream, Arc::clone(&activity));
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned(), activity);
        connections.spawn(async move {
            // The slots are free again when the connection ends.
            let _slots = (slot, peer_slot);
            match connection.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(error = %error, %remote, "connection ended with an error");
                }
                Err(graceful::Dropped::Idle) => {
                    tracing::debug!(%remote, "connection closed: no request in time");
                }
                Err(graceful::Dropped::Stalled) => {
                    tracing::debug!(%remote, "connection dropped: a response not taken in time");
                }
            }
        });
    }
    // Refuse new connections at once; the open ones finish their requests.
    drop(listener);
    tracing::info!(connections = graceful.count(), "draining connections");
    // Sweeping on: a client that stopped reading is dropped once the send timeout has passed,
    // rather than at the end of the grace, when the timeout is the shorter (the defaults are
    // 60 s and 30 s: then the grace ends first).
    let drained = async {
        let mut drained = pin!(graceful.shutdown());
        loop {
            tokio::select! {
                () = &mut drained => break,
                _ = sweeps.tick() => graceful.sweep(),
                _ = send_sweeps.tick() => graceful.sweep_sends(),
            }
        }
    };
    if tokio::time::timeout(options.shutdown_grace_period, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            grace_period = ?options.shutdown_grace_period,
            connections = graceful.count(),
            "connections still open after the grace period; closing them"
        );
    }
    // Closes what is left, and waits until it is gone: the handlers' futures are dropped
    // (their requests cancelled) before `serve` returns.
    connections.shutdown().await;
    Ok(())
}

/// The ticks of a sweep run ten times per `timeout`.
fn sweep_ticks(timeout: Duration) -> tokio::time::Interval {
    let mut sweeps = tokio::time::interval(timeout / idle::SWEEPS_PER_TIMEOUT);
    sweeps.set_missed_tick_behavior(MissedTickBehavior::Delay);
    sweeps
}

/// The next connection, once one of the `slots` is free. Cancel-safe, as the accept loop
/// needs: a slot taken but not yet used is given back when the future is dropped.
async fn accept_within(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (io::Result<(TcpStream, SocketAddr)>, OwnedSemaphorePermit) {
    if slots.available_permits() == 0 {
        static FULL: LogEvery = LogEvery::new(Duration::from_secs(60));
        if FULL.ready().is_some() {
            tracing::warn!(
                "connection cap reached: new connections wait in the listener's backlog \
                 (ServeOptions::max_connections)"
            );
        }
    }
    let slot = Arc::clone(slots)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (listener.accept().await, slot)
}

/// Errors about one incoming connection, not about the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests;
