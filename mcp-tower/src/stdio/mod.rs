//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout over the same RPC-tier
//! service as HTTP (a [`Router`](mcp_core::Router), usually wrapped in layers).
//!
//! - Each line is one message (or a batch); a line longer than the limit (4 MiB by default)
//!   is skipped without being buffered and answered with -32600.
//! - `initialize` negotiates the version, remembered for later messages (2025-03-26 before
//!   it); a modern request carrying its version in `_meta` is handled under that version.
//! - Requests run concurrently, each in its own task, at most `max_concurrent_requests` at a
//!   time; each response is written as one line.
//! - Handlers' progress and log notifications and their server→client requests (sampling,
//!   elicitation, roots) are written to stdout; the client's answers are routed back by id.
//! - `notifications/cancelled` cancels the request's [`CancellationToken`](mcp_core::CancellationToken), drops its work and
//!   suppresses its response.
//!
//! Only protocol messages go to stdout: log with `tracing` to stderr, e.g.
//! `tracing_subscriber::fmt().with_writer(std::io::stderr).init()`.
//!
//! ```no_run
//! use mcp_core::{RequestContext, Router, Tool};
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let router = Router::builder()
//!     .name("echo", "1.0.0")
//!     .tool(Tool::new("echo").raw_handler(|args, _: RequestContext| async move {
//!         serde_json::Value::Object(args).to_string()
//!     }))
//!     .build();
//! mcp_tower::stdio::StdioTransport::new()
//!     .server_events(router.events())
//!     .serve(router)
//!     .await
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use mcp_core::jsonrpc::{ErrorObject, Response};
use mcp_core::{McpRequest, McpResponse, ProtocolVersion, ServerEvent};
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tower_service::Service;

mod connection;
mod lines;
mod session;
#[cfg(test)]
mod tests;

use connection::*;
use lines::*;
use session::*;

/// The default longest line accepted: 4 MiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 4 * 1024 * 1024;
/// The default number of requests handled at the same time.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;

/// Lines waiting for stdout; a slow reader on the other side slows the handlers down.
const OUTPUT_QUEUE: usize = 256;
/// Notifications one handler may queue before its sends wait.
const PEER_CAPACITY: usize = 32;
/// Resource subscriptions one stdio session may hold.
const MAX_SUBSCRIPTIONS: usize = 1024;

type Reply = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;

/// Configures the stdio transport; see the [module docs](self).
#[derive(Debug)]
pub struct StdioTransport {
    max_line_length: usize,
    max_concurrent_requests: usize,
    max_queued_requests: usize,
    max_pending_client_requests: usize,
    events: Option<broadcast::Receiver<ServerEvent>>,
}

impl Default for StdioTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl StdioTransport {
    /// The defaults: 4 MiB lines, 32 concurrent requests, 128 admitted (running or waiting),
    /// 256 server→client requests awaiting an answer.
    pub fn new() -> Self {
        Self {
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_queued_requests: 4 * DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_pending_client_requests: 256,
            events: None,
        }
    }

    /// The longest line accepted, in bytes (at least 1 KiB).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes.max(1024);
        self
    }

    /// How many requests run at the same time (at least 1).
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = limit.max(1);
        self
    }

    /// How many requests may be admitted (running or waiting to run) before new ones are
    /// answered with -32000 "Server busy". The reader never waits for a slot, so the client's
    /// answers to server→client requests are always read.
    pub fn max_queued_requests(mut self, limit: usize) -> Self {
        self.max_queued_requests = limit.max(1);
        self
    }

    /// How many server→client requests may await the client's answer at once.
    pub fn max_pending_client_requests(mut self, limit: usize) -> Self {
        self.max_pending_client_requests = limit.max(1);
        self
    }

    /// Forwards list changes and resource updates ([`Router::events`](mcp_core::Router::events))
    /// to the client once it is initialized (updates only for subscribed URIs).
    pub fn server_events(mut self, events: broadcast::Receiver<ServerEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// Serves on the process's stdin and stdout until stdin ends.
    pub async fn serve<S>(self, service: S) -> io::Result<()>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        self.serve_io(service, tokio::io::stdin(), tokio::io::stdout())
            .await
    }

    /// Serves on any reader and writer until the reader ends (then lets running requests
    /// finish, fails their pending server→client requests, and flushes the writer).
    pub async fn serve_io<S, R, W>(self, service: S, reader: R, writer: W) -> io::Result<()>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, lines) = mpsc::channel(OUTPUT_QUEUE);
        let mut writer_task = tokio::spawn(write_lines(writer, lines));
        let mut connection = Connection {
            shared: Arc::new(Shared {
                out,
                in_flight: Mutex::new(HashMap::new()),
                pending: Mutex::new(Pending::default()),
                max_pending: self.max_pending_client_requests,
                next_id: AtomicU64::new(0),
            }),
            session: Arc::new(StdioSession::default()),
            service,
            version: ProtocolVersion::V2025_03_26,
            admission: Arc::new(Semaphore::new(self.max_queued_requests)),
            running: Arc::new(Semaphore::new(self.max_concurrent_requests)),
            tasks: JoinSet::new(),
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
                written = &mut writer_task => return flatten(written),
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
        connection.shared.lock_pending().close();
        while let Some(joined) = connection.tasks.join_next().await {
            log_join_error(joined);
        }
        // The tasks are done: dropping the last sender ends the writer after the queue.
        drop(connection);
        result.and(flatten(writer_task.await))
    }
}

/// Serves `service` on stdin/stdout with the default settings.
pub async fn serve_stdio<S>(service: S) -> io::Result<()>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    StdioTransport::new().serve(service).await
}

/// Serves `service` on any reader/writer pair (a child process's pipes, `tokio::io::duplex`
/// in tests) with the default settings.
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

fn flatten(joined: Result<io::Result<()>, tokio::task::JoinError>) -> io::Result<()> {
    joined.map_err(io::Error::other)?
}

fn log_join_error(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined {
        tracing::error!(%error, "stdio request task failed");
    }
}

async fn next_event(events: &mut Option<broadcast::Receiver<ServerEvent>>) -> Option<ServerEvent> {
    let Some(receiver) = events else {
        return std::future::pending().await;
    };
    loop {
        match receiver.recv().await {
            Ok(event) => return Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "stdio transport missed server events");
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Writes each queued message as one line.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut lines: mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    while let Some(mut line) = lines.recv().await {
        // Raw newlines can only be insignificant whitespace in JSON (inside strings they are
        // escaped), so blanking them keeps one message per line.
        for byte in &mut line {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
        line.push(b'\n');
        writer.write_all(&line).await?;
        // Flush when the queue is empty: batched under load, prompt when idle.
        if lines.is_empty() {
            writer.flush().await?;
        }
    }
    writer.shutdown().await
}
