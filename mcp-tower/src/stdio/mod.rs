//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout over the same RPC-tier
//! service as HTTP (a [`Router`](mcp_core::Router), usually wrapped in layers).
//!
//! - Each line is one message (or a batch); a line longer than the limit (4 MiB by default)
//!   is skipped without being buffered and answered with -32600.
//! - `initialize` negotiates the version, remembered for later messages (2025-03-26 before
//!   it); a modern request carrying its version in `_meta` is handled under that version.
//! - Requests run concurrently, each in its own task, at most `max_concurrent_requests` at a
//!   time; each response is written as one line. Past `max_queued_requests` admitted (running
//!   or waiting) or `max_queued_bytes` of them, a request gets -32000 "Server busy".
//! - Handlers' progress and log notifications and their server→client requests (sampling,
//!   elicitation, roots) are written to stdout; the client's answers are routed back by id.
//! - `notifications/cancelled` cancels the request's [`CancellationToken`], drops its work
//!   and suppresses its response.
//! - 2026-07-28 `subscriptions/listen` opens a subscription on the shared stdout:
//!   `notifications/subscriptions/acknowledged`, then the list changes and resource updates it
//!   asked for, each with `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen
//!   request's id. `notifications/cancelled` naming that id ends it. When the server ends it
//!   (end of input, shutdown), it writes `notifications/cancelled` for the id and then the
//!   listen request's empty result.
//! - At the end of input (or on the [shutdown token](StdioTransport::shutdown_token)) every
//!   running request's token is cancelled; requests get the
//!   [shutdown grace](StdioTransport::shutdown_grace) to finish (their answers are still
//!   written), then the rest are aborted and serving returns.
//!
//! Only protocol messages go to stdout: log with `tracing` to stderr, e.g.
//! `tracing_subscriber::fmt().with_writer(std::io::stderr).init()`.
//!
//! Serve the same RPC-tier stack as HTTP (here with [`BatchLayer`](crate::BatchLayer), which
//! 2025-03-26 batches need, and [`AllowListLayer`](crate::AllowListLayer)), or any
//! `Service<McpRequest>` of your own:
//!
//! ```no_run
//! use mcp_core::{RequestContext, Router, Tool};
//! use mcp_tower::{AllowListLayer, BatchLayer};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let router = Router::builder()
//!     .name("echo", "1.0.0")
//!     .tool(Tool::new("echo").raw_handler(|args, _: RequestContext| async move {
//!         serde_json::Value::Object(args).to_string()
//!     }))
//!     .build();
//! let events = router.events();
//! let service = ServiceBuilder::new()
//!     .layer(BatchLayer::default())
//!     .layer(AllowListLayer::new())
//!     .service(router);
//! mcp_tower::stdio::StdioTransport::new()
//!     .server_events(events)
//!     .serve(service)
//!     .await
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_core::jsonrpc::{ErrorObject, Response};
use mcp_core::{
    AllowList, CancellationToken, McpRequest, McpResponse, ProtocolVersion, ServerEvent,
};
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, broadcast, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tower_service::Service;

mod connection;
mod lines;
mod listen;
mod output;
mod session;
mod shared;
#[cfg(test)]
mod tests;
mod threaded;

use crate::subscription::ResourceLimits;

use connection::*;
use lines::*;
use listen::*;
use session::*;
use shared::*;

/// The default longest line accepted: 4 MiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 4 * 1024 * 1024;
/// The default number of requests handled at the same time.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;
/// The default time running requests get to finish once the input ended: 2 s (a handler
/// that watches its cancellation token ends at once; this bounds the others).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The default number of `subscriptions/listen` subscriptions one connection may hold.
pub const DEFAULT_MAX_LISTENS: usize = 16;
/// The default number of resources one subscription may name (as over HTTP).
pub const DEFAULT_MAX_LISTEN_RESOURCES: usize = 1_000;
/// The default most bytes of URIs one subscription may name, together (as over HTTP).
pub const DEFAULT_MAX_LISTEN_RESOURCE_BYTES: usize = 256 * 1024;

/// The default most bytes of requests admitted at once ([`StdioTransport::max_queued_bytes`]).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;
/// The default most bytes of messages waiting for stdout ([`StdioTransport::max_output_bytes`]).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// The default number of messages one handler may queue before its sends wait
/// ([`StdioTransport::outbound_capacity`]; as over HTTP).
pub const DEFAULT_OUTBOUND_CAPACITY: usize = 64;
/// The default number of resources a legacy client may subscribe to
/// ([`StdioTransport::max_subscriptions`]; as over HTTP).
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 1_000;
/// The default most bytes of URIs a legacy client may subscribe to, together
/// ([`StdioTransport::max_subscription_bytes`]; as over HTTP).
pub const DEFAULT_MAX_SUBSCRIPTION_BYTES: usize = 256 * 1024;

type Reply = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;

/// `bytes` in KiB, rounded up: the unit of the admitted-bytes budget (a semaphore takes at
/// most `u32::MAX` permits at once).
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).min(u32::MAX as usize)
}

/// Configures the stdio transport; see the [module docs](self).
#[derive(Debug)]
pub struct StdioTransport {
    max_line_length: usize,
    max_concurrent_requests: usize,
    max_queued_requests: usize,
    max_queued_bytes: usize,
    max_pending_client_requests: usize,
    shutdown_grace: Duration,
    max_listens: usize,
    max_listen_resources: usize,
    max_listen_resource_bytes: usize,
    max_output_bytes: usize,
    outbound_capacity: usize,
    max_subscriptions: usize,
    max_subscription_bytes: usize,
    events: Option<broadcast::Receiver<ServerEvent>>,
    shutdown: CancellationToken,
    allow_list: Option<AllowList>,
}

impl Default for StdioTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl StdioTransport {
    /// The defaults: 4 MiB lines, 32 concurrent requests, 128 admitted (running or waiting)
    /// holding at most 64 MiB of requests, 256 server→client requests awaiting an answer, a 2 s shutdown grace, 16 subscriptions
    /// of up to 1 000 resources each, 1 000 legacy resource subscriptions, 64 messages queued
    /// per handler, 16 MiB waiting for stdout.
    pub fn new() -> Self {
        Self {
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_queued_requests: 4 * DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            max_pending_client_requests: 256,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_listens: DEFAULT_MAX_LISTENS,
            max_listen_resources: DEFAULT_MAX_LISTEN_RESOURCES,
            max_listen_resource_bytes: DEFAULT_MAX_LISTEN_RESOURCE_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            outbound_capacity: DEFAULT_OUTBOUND_CAPACITY,
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
            max_subscription_bytes: DEFAULT_MAX_SUBSCRIPTION_BYTES,
            events: None,
            shutdown: CancellationToken::new(),
            allow_list: None,
        }
    }

    /// The longest line accepted, in bytes (at least 1 KiB).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes.max(1024);
        self
    }

    /// How many requests run at the same time (at least 1).
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = limit.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How many requests may be admitted (running or waiting to run) before new ones are
    /// answered with -32000 "Server busy". The reader never waits for a slot, so the client's
    /// answers to server→client requests are always read.
    pub fn max_queued_requests(mut self, limit: usize) -> Self {
        self.max_queued_requests = limit.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How many bytes of requests (their lines) may be admitted at once, running or waiting
    /// (default 64 MiB); past that, new ones are answered with -32000 "Server busy", as past
    /// [`max_queued_requests`](Self::max_queued_requests). Without it, 128 admitted requests
    /// of 4 MiB each hold half a gigabyte while a client that stopped reading holds their
    /// handlers back. A line longer than the bound is admitted when nothing else is.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_queued_bytes(16 * 1024 * 1024);
    /// ```
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes.max(1024);
        self
    }

    /// How many bytes of messages may wait for stdout (default 16 MiB; 256 messages at
    /// most): past that, a client that does not read holds the handlers back instead of
    /// filling memory. A longer message waits until the queue is empty.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_output_bytes(4 * 1024 * 1024);
    /// ```
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes.max(1024);
        self
    }

    /// How many server→client requests may await the client's answer at once.
    pub fn max_pending_client_requests(mut self, limit: usize) -> Self {
        self.max_pending_client_requests = limit.max(1);
        self
    }

    /// How many messages (progress, logs, server→client requests) one handler may queue
    /// before its sends wait for stdout to drain.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().outbound_capacity(16);
    /// ```
    pub fn outbound_capacity(mut self, capacity: usize) -> Self {
        self.outbound_capacity = capacity.max(1);
        self
    }

    /// How many resources a legacy client may subscribe to with `resources/subscribe`; one
    /// more gets -32000 "Too many subscriptions". (2026-07-28 subscriptions are bounded by
    /// [`max_listens`](Self::max_listens) and [`max_listen_resources`](Self::max_listen_resources).)
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_subscriptions(100);
    /// ```
    pub fn max_subscriptions(mut self, limit: usize) -> Self {
        self.max_subscriptions = limit;
        self
    }

    /// How many bytes of URIs a legacy client may subscribe to, together (default 256 KiB);
    /// a subscription past it gets -32000. Without it, a thousand URIs as long as a line could
    /// hold gigabytes.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_subscription_bytes(64 * 1024);
    /// ```
    pub fn max_subscription_bytes(mut self, limit: usize) -> Self {
        self.max_subscription_bytes = limit;
        self
    }

    /// Forwards list changes and resource updates ([`Router::events`](mcp_core::Router::events))
    /// to the client once it is initialized (updates only for subscribed URIs), and to its
    /// 2026-07-28 `subscriptions/listen` subscriptions. Without events nothing carries them:
    /// the server offers no list changes or subscriptions, and refuses `resources/subscribe`
    /// and `subscriptions/listen` (-32601).
    ///
    /// ```
    /// let router = mcp_core::Router::builder().build();
    /// let transport = mcp_tower::StdioTransport::new().server_events(router.events());
    /// ```
    pub fn server_events(mut self, events: broadcast::Receiver<ServerEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// How long running requests get to finish once the input ended (or the
    /// [shutdown token](Self::shutdown_token) fired), default [`DEFAULT_SHUTDOWN_GRACE`].
    /// Their tokens are cancelled first, so a handler that watches
    /// [`RequestContext::cancelled`](mcp_core::RequestContext::cancelled) ends at once;
    /// answers ready within the grace are still written. Then the rest are aborted, and stdout
    /// gets up to the grace again to take what is queued. At most a year.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let transport = mcp_tower::StdioTransport::new().shutdown_grace(Duration::from_millis(500));
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace.min(crate::LONGEST_GRACE);
        self
    }

    /// Ends serving when `token` is cancelled, as the end of input does (the server then ends
    /// its subscriptions with `notifications/cancelled` and their closing results).
    ///
    /// ```no_run
    /// use mcp_core::CancellationToken;
    ///
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// let shutdown = CancellationToken::new();
    /// let on_signal = shutdown.clone();
    /// tokio::spawn(async move {
    ///     mcp_tower::serve::shutdown_signal().await; // Ctrl-C or SIGTERM
    ///     on_signal.cancel();
    /// });
    /// let router = mcp_core::Router::builder().build();
    /// mcp_tower::StdioTransport::new()
    ///     .shutdown_token(shutdown)
    ///     .serve(router)
    ///     .await
    /// # }
    /// ```
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// How many `subscriptions/listen` subscriptions the client may hold at once (at least
    /// 1, default [`DEFAULT_MAX_LISTENS`]); past that, a listen request is answered with
    /// -32000 "Too many listeners".
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_listens(4);
    /// ```
    pub fn max_listens(mut self, limit: usize) -> Self {
        self.max_listens = limit.max(1);
        self
    }

    /// How many resources one subscription may name in `resourceSubscriptions` (default
    /// [`DEFAULT_MAX_LISTEN_RESOURCES`]); a listen request naming more is refused with -32602.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_listen_resources(100);
    /// ```
    pub fn max_listen_resources(mut self, limit: usize) -> Self {
        self.max_listen_resources = limit;
        self
    }

    /// How many bytes of URIs one subscription may name in `resourceSubscriptions`, together
    /// (default [`DEFAULT_MAX_LISTEN_RESOURCE_BYTES`]); a listen request naming more is
    /// refused with -32602.
    ///
    /// ```
    /// let transport = mcp_tower::StdioTransport::new().max_listen_resource_bytes(64 * 1024);
    /// ```
    pub fn max_listen_resource_bytes(mut self, limit: usize) -> Self {
        self.max_listen_resource_bytes = limit;
        self
    }

    /// What the client may see: put into every request's extensions (where the
    /// [`Router`](mcp_core::Router) filters `*/list` results with it and
    /// [`AllowListLayer`](crate::AllowListLayer) enforces it), and applied to the
    /// notifications the client gets (hidden tools, prompts and resources are not announced).
    ///
    /// ```
    /// let allow = mcp_core::AllowList::new().tools(["search"]);
    /// let transport = mcp_tower::StdioTransport::new().allow_list(allow);
    /// ```
    pub fn allow_list(mut self, allow_list: AllowList) -> Self {
        self.allow_list = Some(allow_list);
        self
    }

    /// Serves on the process's stdin and stdout until stdin ends (or the shutdown token fires,
    /// or stdout breaks).
    ///
    /// Both are read and written on threads of their own, not on Tokio's blocking pool: a
    /// pending read of stdin there would hold the runtime's shutdown (and so the process's
    /// exit) after `serve` returned because stdout broke. Stdin is read ahead of the lines
    /// served (as with any buffered reader), so serve it once per process.
    pub async fn serve<S>(self, service: S) -> io::Result<()>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let (out, lines) = output::queue(self.max_output_bytes);
        let writer = Writer::Thread(threaded::stdout(lines)?);
        self.serve_lines(service, threaded::stdin()?, out, writer)
            .await
    }

    /// Serves on any reader and writer until the reader ends (or the shutdown token fires);
    /// then ends as described under [`shutdown_grace`](Self::shutdown_grace), fails pending
    /// server→client requests, and flushes the writer.
    pub async fn serve_io<S, R, W>(self, service: S, reader: R, writer: W) -> io::Result<()>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, lines) = output::queue(self.max_output_bytes);
        let writer = Writer::Task(tokio::spawn(write_lines(writer, lines)));
        self.serve_lines(service, reader, out, writer).await
    }

    async fn serve_lines<S, R>(
        self,
        service: S,
        reader: R,
        out: output::OutputSender,
        mut writer: Writer,
    ) -> io::Result<()>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
        R: AsyncRead + Unpin,
    {
        let closing = CancellationToken::new();
        // However serving ends (even by being dropped), handlers see their tokens fire.
        let _closing = closing.clone().drop_guard();
        let mut connection = Connection {
            shared: Arc::new(Shared {
                out,
                in_flight: Mutex::new(HashMap::new()),
                pending: Mutex::new(Pending::default()),
                max_pending: self.max_pending_client_requests,
                outbound_capacity: self.outbound_capacity,
                next_id: AtomicU64::new(0),
            }),
            session: Arc::new(StdioSession::new(
                self.allow_list.clone(),
                self.max_subscriptions,
                self.max_subscription_bytes,
            )),
            service,
            version: ProtocolVersion::V2025_03_26,
            admission: Arc::new(Semaphore::new(self.max_queued_requests)),
            admitted_kib: Arc::new(Semaphore::new(kib(self.max_queued_bytes))),
            max_admitted_kib: kib(self.max_queued_bytes),
            running: Arc::new(Semaphore::new(self.max_concurrent_requests)),
            tasks: JoinSet::new(),
            listens: Listens::new(
                self.max_listens,
                ResourceLimits {
                    count: self.max_listen_resources,
                    bytes: self.max_listen_resource_bytes,
                },
                self.allow_list.clone(),
            ),
            publishing: self.events.is_some(),
            closing,
            allow_list: self.allow_list,
        };
        let mut events = self.events;
        let mut reader = LineReader::new(reader, self.max_line_length);
        let result = loop {
            let read = tokio::select! {
                read = reader.next() => read,
                event = next_event(&mut events) => {
                    connection.forward_event(event, &mut events).await;
                    continue;
                }
                // stdout is gone: nobody can hear us any more.
                written = writer.done() => return written,
                () = self.shutdown.cancelled() => break Ok(()),
            };
            match read {
                Ok(Line::Complete) => connection.handle(reader.line()).await,
                Ok(Line::TooLong) => {
                    let error = ErrorObject::invalid_request(format!(
                        "Invalid Request: message longer than {} bytes",
                        self.max_line_length
                    ));
                    connection
                        .shared
                        .write(&McpResponse::Single(Response::error(None, error)))
                        .await;
                }
                Ok(Line::Eof) => break Ok(()),
                Err(error) => break Err(error),
            }
            connection.reap();
        };
        let grace = self.shutdown_grace;
        tokio::select! {
            () = connection.finish(grace) => {}
            written = writer.done() => return result.and(written),
        }
        // The tasks are done: dropping the last sender ends the writer after the queue.
        drop(connection);
        let written = tokio::time::timeout_at(Instant::now() + grace, writer.done()).await;
        let written = written.unwrap_or_else(|_| {
            writer.abort();
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not take the last messages within the shutdown grace",
            ))
        });
        result.and(written)
    }
}

/// Where the queued lines go: a task writing to an `AsyncWrite`, or the stdout thread.
enum Writer {
    Task(JoinHandle<io::Result<()>>),
    Thread(oneshot::Receiver<io::Result<()>>),
}

impl Writer {
    /// How writing ended. Cancel-safe; not to be awaited again once it returned.
    async fn done(&mut self) -> io::Result<()> {
        match self {
            Writer::Task(task) => task.await.map_err(io::Error::other)?,
            Writer::Thread(done) => done
                .await
                .unwrap_or_else(|_| Err(io::Error::other("the stdout thread ended"))),
        }
    }

    fn abort(&self) {
        // A thread blocked in `write` cannot be stopped; it ends with the process.
        if let Writer::Task(task) = self {
            task.abort();
        }
    }
}

/// Serves `service` on stdin/stdout with the default settings: without
/// [server events](StdioTransport::server_events), so no list changes or subscriptions.
pub async fn serve_stdio<S>(service: S) -> io::Result<()>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    StdioTransport::new().serve(service).await
}

/// Serves `service` on any reader/writer pair (a child process's pipes, `tokio::io::duplex`
/// in tests) with the default settings (no [server events](StdioTransport::server_events)).
pub async fn serve_io<S, R, W>(service: S, reader: R, writer: W) -> io::Result<()>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    StdioTransport::new()
        .serve_io(service, reader, writer)
        .await
}

fn log_join_error(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined {
        tracing::error!(%error, "stdio request task failed");
    }
}

/// What the server's event channel gives.
enum Received {
    Event(ServerEvent),
    /// This many events were missed: the connection fell behind.
    Missed(u64),
    Closed,
}

async fn next_event(events: &mut Option<broadcast::Receiver<ServerEvent>>) -> Received {
    let Some(receiver) = events else {
        return std::future::pending().await;
    };
    match receiver.recv().await {
        Ok(event) => Received::Event(event),
        Err(broadcast::error::RecvError::Lagged(missed)) => Received::Missed(missed),
        Err(broadcast::error::RecvError::Closed) => Received::Closed,
    }
}

/// Writes each queued message as one line.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut lines: output::OutputReceiver,
) -> io::Result<()> {
    while let Some(mut line) = lines.recv().await {
        frame(&mut line);
        writer.write_all(&line).await?;
        // Flush when the queue is empty: batched under load, prompt when idle.
        if lines.is_empty() {
            writer.flush().await?;
        }
    }
    writer.shutdown().await
}

/// Makes one message one line.
fn frame(line: &mut Vec<u8>) {
    // Raw newlines can only be insignificant whitespace in JSON (inside strings they are
    // escaped), so blanking them keeps one message per line.
    for byte in line.iter_mut() {
        if matches!(*byte, b'\n' | b'\r') {
            *byte = b' ';
        }
    }
    line.push(b'\n');
}
