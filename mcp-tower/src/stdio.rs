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
//! - `notifications/cancelled` cancels the request's [`CancellationToken`], drops its work and
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

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::FutureExt;
use mcp_core::jsonrpc::{self, ClientResponse, ErrorObject, Message, RequestId, Response, codes};
use mcp_core::protocol::{ClientCapabilities, InitializeRequestParams, LoggingLevel};
use mcp_core::{
    CancellationToken, ClientPeer, McpRequest, McpResponse, OutboundMessage, ProtocolVersion,
    ServerEvent, Session, SessionHandle,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_service::Service;

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

/// What [`LineReader::next`] found.
enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads bounded lines. Cancel-safe: all state lives here, and bytes are consumed from the
/// buffered reader only together with the update of that state.
struct LineReader<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    max: usize,
    too_long: bool,
    done: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(reader: R, max: usize) -> Self {
        Self {
            reader: BufReader::new(reader),
            line: Vec::new(),
            max,
            too_long: false,
            done: false,
        }
    }

    fn line(&self) -> &[u8] {
        &self.line
    }

    async fn next(&mut self) -> io::Result<Line> {
        if std::mem::take(&mut self.done) {
            self.line.clear();
            self.too_long = false;
        }
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                // A last line without a newline still counts.
                self.done = true;
                return Ok(match (self.too_long, self.line.is_empty()) {
                    (true, _) => Line::TooLong,
                    (false, true) => Line::Eof,
                    (false, false) => Line::Complete,
                });
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            if !self.too_long {
                if self.line.len() + chunk.len() > self.max {
                    // Drop what we have and skip to the end of the line.
                    self.too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                self.done = true;
                return Ok(if self.too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
        }
    }
}

/// What the reader loop and the request tasks share.
struct Shared {
    out: mpsc::Sender<Vec<u8>>,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    pending: Mutex<Pending>,
    max_pending: usize,
    next_id: AtomicU64,
}

/// Server→client requests awaiting the client's answer.
#[derive(Default)]
struct Pending {
    replies: HashMap<RequestId, Reply>,
    /// Set at end of input: no answer can come any more.
    closed: bool,
}

impl Pending {
    fn close(&mut self) {
        self.closed = true;
        // Dropping the senders fails the waiting handlers at once.
        self.replies.clear();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data stays consistent even if a holder panicked: every update is a single call.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        lock(&self.pending)
    }

    async fn send_line(&self, line: Vec<u8>) {
        // A closed queue means the writer failed; the reader loop reports that.
        let _ = self.out.send(line).await;
    }

    async fn write(&self, response: &McpResponse) {
        if response.is_none() {
            return;
        }
        let mut line = Vec::with_capacity(256);
        response.write_json(&mut line);
        self.send_line(line).await;
    }

    /// Writes a handler's notification or server→client request.
    async fn forward(&self, message: OutboundMessage) {
        let (method, params, reply) = match message {
            OutboundMessage::Notification(bytes) => return self.send_line(bytes).await,
            OutboundMessage::Request {
                method,
                params,
                reply,
            } => (method, params, reply),
            // stdio has no per-request stream to close.
            OutboundMessage::CloseStream => return,
        };
        if reply.is_closed() {
            return;
        }
        let id =
            RequestId::String(format!("s-{}", self.next_id.fetch_add(1, Ordering::Relaxed)).into());
        {
            let mut pending = self.lock_pending();
            if pending.closed {
                let _ = reply.send(Err(ErrorObject::internal_error(
                    "the client's input is closed",
                )));
                return;
            }
            if pending.replies.len() >= self.max_pending {
                // Forget requests whose handler stopped waiting (timed out or cancelled).
                pending.replies.retain(|_, reply| !reply.is_closed());
            }
            if pending.replies.len() >= self.max_pending {
                let error = ErrorObject::internal_error("too many requests await the client");
                let _ = reply.send(Err(error));
                return;
            }
            // Registered before writing so the answer cannot arrive first.
            pending.replies.insert(id.clone(), reply);
        }
        self.send_line(jsonrpc::request_json(&id, method, &params))
            .await;
    }

    fn route_reply(&self, response: ClientResponse) {
        match self.lock_pending().replies.remove(&response.id) {
            Some(reply) => {
                let _ = reply.send(response.result);
            }
            None => tracing::debug!(id = %response.id, "answer to no pending request"),
        }
    }

    fn cancel(&self, params: Option<&RawValue>) {
        #[derive(Deserialize)]
        struct Cancelled {
            #[serde(rename = "requestId")]
            request_id: RequestId,
        }
        let Some(Ok(cancelled)) = params.map(|p| serde_json::from_str::<Cancelled>(p.get())) else {
            return;
        };
        if let Some(token) = lock(&self.in_flight).get(&cancelled.request_id) {
            tracing::debug!(id = %cancelled.request_id, "request cancelled by the client");
            token.cancel();
        }
    }
}

/// Removes a request's ids from the in-flight map however its task ends.
struct InFlight {
    shared: Arc<Shared>,
    ids: Vec<RequestId>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.shared.in_flight);
        for id in &self.ids {
            in_flight.remove(id);
        }
    }
}

/// The state of one stdio connection, owned by the reader loop.
struct Connection<S> {
    shared: Arc<Shared>,
    session: Arc<StdioSession>,
    service: S,
    version: ProtocolVersion,
    admission: Arc<Semaphore>,
    running: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

impl<S> Connection<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    async fn handle(&mut self, line: &[u8]) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        let message = match Message::parse(line) {
            Ok(message) => message,
            Err(response) => return self.shared.write(&McpResponse::Single(response)).await,
        };
        match message {
            Message::Response(response) => self.shared.route_reply(response),
            Message::Batch(items) => {
                // Client answers are the transport's business; the rest goes to the service.
                let mut kept = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Ok(Message::Response(response)) => self.shared.route_reply(response),
                        item => {
                            if let Ok(Message::Notification(n)) = &item
                                && n.method == "notifications/cancelled"
                            {
                                self.shared.cancel(n.params.as_deref());
                            }
                            kept.push(item);
                        }
                    }
                }
                if !kept.is_empty() {
                    self.dispatch(Message::Batch(kept), self.version).await;
                }
            }
            message => {
                if let Message::Notification(n) = &message
                    && n.method == "notifications/cancelled"
                {
                    self.shared.cancel(n.params.as_deref());
                }
                match self.version_of(&message) {
                    Ok(version) => self.dispatch(message, version).await,
                    Err(error) => {
                        self.shared
                            .write(&McpResponse::error_for(&message, error))
                            .await
                    }
                }
            }
        }
    }

    /// The version a request or notification is handled under.
    fn version_of(&mut self, message: &Message) -> Result<ProtocolVersion, ErrorObject> {
        let params = message.params().map(RawValue::get);
        if message.method() == Some("initialize") {
            if let Some(Ok(init)) = params.map(serde_json::from_str::<InitializeRequestParams>) {
                self.version = ProtocolVersion::negotiate(&init.protocol_version);
                self.session.initialize(self.version, init.capabilities);
            }
            return Ok(self.version);
        }
        #[derive(Deserialize)]
        struct Params<'a> {
            #[serde(rename = "_meta", borrow, default)]
            meta: Option<Meta<'a>>,
        }
        #[derive(Deserialize)]
        struct Meta<'a> {
            #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
            version: Option<std::borrow::Cow<'a, str>>,
        }
        let requested = params
            .and_then(|p| serde_json::from_str::<Params<'_>>(p).ok())
            .and_then(|p| p.meta?.version);
        let Some(requested) = requested else {
            return Ok(self.version);
        };
        match ProtocolVersion::parse(&requested) {
            Some(version) if version.is_modern() => Ok(version),
            Some(_) => Ok(self.version),
            None => Err(ErrorObject::new(
                codes::UNSUPPORTED_PROTOCOL_VERSION,
                format!("Unsupported protocol version: {requested}"),
            )
            .with_data(serde_json::json!({
                "supported": ProtocolVersion::supported_strings(None),
                "requested": requested,
            }))),
        }
    }

    async fn dispatch(&mut self, message: Message, version: ProtocolVersion) {
        let Ok(admission) = Arc::clone(&self.admission).try_acquire_owned() else {
            tracing::warn!("stdio: too many requests in flight; refusing one");
            let error = ErrorObject::new(
                codes::SERVER_ERROR,
                "Server busy: too many requests in flight",
            );
            let response = match &message {
                Message::Batch(_) => McpResponse::Single(Response::error(None, error)),
                message => McpResponse::error_for(message, error),
            };
            return self.shared.write(&response).await;
        };
        let token = CancellationToken::new();
        let mut registered = Vec::new();
        let duplicate = {
            let mut in_flight = lock(&self.shared.in_flight);
            match &message {
                Message::Request(request) if in_flight.contains_key(&request.id) => {
                    Some(request.id.clone())
                }
                message => {
                    // A batch shares one token: cancelling one of its requests cancels all.
                    for id in request_ids(message) {
                        if !in_flight.contains_key(&id) {
                            in_flight.insert(id.clone(), token.clone());
                            registered.push(id);
                        }
                    }
                    None
                }
            }
        };
        if let Some(id) = duplicate {
            let error = ErrorObject::invalid_request(format!(
                "Invalid Request: request id {id} is already in use"
            ));
            return self
                .shared
                .write(&McpResponse::error_for(&message, error))
                .await;
        }
        let guard = InFlight {
            shared: Arc::clone(&self.shared),
            ids: registered,
        };
        let (peer, outbound) = ClientPeer::channel(PEER_CAPACITY);
        let mut request = McpRequest::new(message, version);
        request.extensions.insert(token.clone());
        request.extensions.insert(peer);
        if !version.is_modern() {
            let session: SessionHandle = self.session.clone();
            request.extensions.insert(session);
        }
        let task = run(
            Arc::clone(&self.shared),
            self.service.clone(),
            request,
            token,
            outbound,
            Arc::clone(&self.running),
        );
        self.tasks.spawn(async move {
            let _guard = guard;
            let _admission: OwnedSemaphorePermit = admission;
            task.await;
        });
    }

    /// Collects finished tasks so the set does not grow.
    fn reap(&mut self) {
        while let Some(joined) = self.tasks.try_join_next() {
            log_join_error(joined);
        }
    }

    async fn forward_event(
        &self,
        event: Option<ServerEvent>,
        events: &mut Option<broadcast::Receiver<ServerEvent>>,
    ) {
        let Some(event) = event else {
            *events = None;
            return;
        };
        if !lock(&self.session.state).initialized {
            return;
        }
        let line = match &event {
            ServerEvent::ResourceUpdated(uri) if self.session.is_subscribed(uri) => {
                jsonrpc::notification_json(event.method(), &serde_json::json!({ "uri": uri }))
            }
            ServerEvent::ResourceUpdated(_) => return,
            _ => format!(r#"{{"jsonrpc":"2.0","method":"{}"}}"#, event.method()).into_bytes(),
        };
        self.shared.send_line(line).await;
    }
}

fn request_ids(message: &Message) -> Vec<RequestId> {
    match message {
        Message::Request(request) => vec![request.id.clone()],
        Message::Batch(items) => items
            .iter()
            .filter_map(|item| match item {
                Ok(Message::Request(request)) => Some(request.id.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs one message through the service, forwarding the handler's outbound messages, and
/// writes the response unless the request was cancelled.
async fn run<S>(
    shared: Arc<Shared>,
    mut service: S,
    request: McpRequest,
    token: CancellationToken,
    mut outbound: mpsc::Receiver<OutboundMessage>,
    running: Arc<Semaphore>,
) where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Send,
    S::Future: Send,
{
    let _running = tokio::select! {
        () = token.cancelled() => return,
        permit = running.acquire_owned() => permit,
    };
    let request_id = match &request.message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    // A panicking handler must not leave the client waiting forever.
    let mut call = Box::pin(
        AssertUnwindSafe(async move { service.ready().await?.call(request).await }).catch_unwind(),
    );
    let outcome = loop {
        tokio::select! {
            biased;
            () = token.cancelled() => return,
            Some(message) = outbound.recv() => shared.forward(message).await,
            outcome = &mut call => break outcome,
        }
    };
    drop(call);
    // What the handler queued before it finished goes first (progress before the result).
    while let Ok(message) = outbound.try_recv() {
        shared.forward(message).await;
    }
    if token.is_cancelled() {
        return;
    }
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => {
            tracing::error!(id = ?request_id, "handler panicked");
            match request_id {
                Some(id) => McpResponse::Single(Response::error(
                    Some(id),
                    ErrorObject::internal_error("Internal error"),
                )),
                None => McpResponse::None,
            }
        }
    };
    shared.write(&response).await;
}

/// The legacy-era session of a stdio connection: what `initialize` declared, the log level,
/// the subscriptions.
#[derive(Debug, Default)]
struct StdioSession {
    state: Mutex<SessionState>,
}

#[derive(Debug)]
struct SessionState {
    version: ProtocolVersion,
    capabilities: Arc<ClientCapabilities>,
    log_level: Option<LoggingLevel>,
    subscriptions: BTreeSet<String>,
    initialized: bool,
}

impl Default for SessionState {
    fn default() -> Self {
        Self {
            version: ProtocolVersion::V2025_03_26,
            capabilities: Arc::default(),
            log_level: None,
            subscriptions: BTreeSet::new(),
            initialized: false,
        }
    }
}

impl StdioSession {
    fn initialize(&self, version: ProtocolVersion, capabilities: ClientCapabilities) {
        let mut state = lock(&self.state);
        state.version = version;
        state.capabilities = Arc::new(capabilities);
        state.initialized = true;
    }
}

impl Session for StdioSession {
    fn id(&self) -> &str {
        "stdio"
    }

    fn protocol_version(&self) -> ProtocolVersion {
        lock(&self.state).version
    }

    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::clone(&lock(&self.state).capabilities)
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        lock(&self.state).log_level
    }

    fn set_log_level(&self, level: LoggingLevel) {
        lock(&self.state).log_level = Some(level);
    }

    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject> {
        let mut state = lock(&self.state);
        if state.subscriptions.len() >= MAX_SUBSCRIPTIONS && !state.subscriptions.contains(uri) {
            return Err(ErrorObject::new(
                codes::SERVER_ERROR,
                "Too many subscriptions",
            ));
        }
        state.subscriptions.insert(uri.to_owned());
        Ok(())
    }

    fn unsubscribe(&self, uri: &str) {
        lock(&self.state).subscriptions.remove(uri);
    }

    fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.state).subscriptions.contains(uri)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mcp_core::{RequestContext, Router, Tool};
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, DuplexStream, Lines, ReadHalf, WriteHalf};

    use super::*;

    struct Client {
        lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
        writer: WriteHalf<DuplexStream>,
        server: tokio::task::JoinHandle<io::Result<()>>,
        router: Router,
    }

    impl Client {
        fn start(transport: StdioTransport) -> Self {
            Self::start_with(|_| transport)
        }

        fn start_with(transport: impl FnOnce(&Router) -> StdioTransport) -> Self {
            let router = Router::builder()
                .tool(
                    Tool::new("echo").raw_handler(|args, _: RequestContext| async move {
                        Value::Object(args).to_string()
                    }),
                )
                .tool(
                    Tool::new("wait").raw_handler(|_, ctx: RequestContext| async move {
                        ctx.cancelled().await;
                        "cancelled"
                    }),
                )
                .tool(
                    Tool::new("roots").raw_handler(|_, ctx: RequestContext| async move {
                        ctx.progress(1.0, None, None).await;
                        let roots = ctx.list_roots().await?;
                        Ok::<_, ErrorObject>(roots.roots[0].uri.clone())
                    }),
                )
                .build();
            let (client, server) = tokio::io::duplex(64 * 1024);
            let (server_read, server_write) = tokio::io::split(server);
            let server = tokio::spawn(transport(&router).serve_io(
                router.clone(),
                server_read,
                server_write,
            ));
            let (read, writer) = tokio::io::split(client);
            Self {
                lines: BufReader::new(read).lines(),
                writer,
                server,
                router,
            }
        }

        async fn send(&mut self, line: &str) {
            self.writer.write_all(line.as_bytes()).await.unwrap();
            self.writer.write_all(b"\n").await.unwrap();
        }

        async fn recv(&mut self) -> Value {
            let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
                .await
                .expect("a line in time")
                .unwrap()
                .expect("not the end");
            serde_json::from_str(&line).expect("one JSON message per line")
        }

        async fn initialize(&mut self, capabilities: Value) -> Value {
            let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
                "protocolVersion":"2025-06-18","capabilities":capabilities,
                "clientInfo":{"name":"test","version":"1"}}});
            self.send(&init.to_string()).await;
            let response = self.recv().await;
            self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                .await;
            response
        }

        async fn finish(mut self) {
            self.writer.shutdown().await.unwrap();
            drop(self.writer);
            let served = tokio::time::timeout(Duration::from_secs(5), self.server).await;
            served
                .expect("serve_io returns at end of input")
                .unwrap()
                .unwrap();
            assert!(self.lines.next_line().await.unwrap().is_none());
        }
    }

    fn call(id: i64, name: &str, extra: Value) -> String {
        let mut params = json!({"name": name, "arguments": {"x": 1}});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params}).to_string()
    }

    #[tokio::test]
    async fn initialize_then_call_and_notifications_get_no_reply() {
        let mut client = Client::start(StdioTransport::new());
        let init = client.initialize(json!({})).await;
        assert_eq!(init["id"], 0);
        assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
        // The notification above got no reply: the next line answers this call.
        client.send(&call(1, "echo", json!({}))).await;
        let response = client.recv().await;
        assert_eq!(response["id"], 1);
        assert_eq!(response["result"]["content"][0]["text"], r#"{"x":1}"#);
        client.finish().await;
    }

    #[tokio::test]
    async fn bad_lines_get_errors_and_the_connection_goes_on() {
        let mut client = Client::start(StdioTransport::new().max_line_length(1024));
        client.send("{not json").await;
        let response = client.recv().await;
        assert_eq!(response["error"]["code"], codes::PARSE_ERROR);
        assert_eq!(response["id"], Value::Null);
        client
            .send(&format!(
                r#"{{"jsonrpc":"2.0","id":9,"method":"ping","x":"{}"}}"#,
                "a".repeat(5000)
            ))
            .await;
        assert_eq!(client.recv().await["error"]["code"], codes::INVALID_REQUEST);
        client.send("").await;
        client
            .send(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
            .await;
        assert_eq!(
            client.recv().await,
            json!({"jsonrpc":"2.0","id":2,"result":{}})
        );
        client.finish().await;
    }

    #[tokio::test]
    async fn cancelled_requests_get_no_response() {
        let mut client = Client::start(StdioTransport::new());
        client.initialize(json!({})).await;
        client.send(&call(5, "wait", json!({}))).await;
        // A second request with the same id while the first runs is refused.
        client.send(&call(5, "echo", json!({}))).await;
        let duplicate = client.recv().await;
        assert_eq!(duplicate["id"], 5);
        assert_eq!(duplicate["error"]["code"], codes::INVALID_REQUEST);
        client
            .send(
                r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#,
            )
            .await;
        client
            .send(r#"{"jsonrpc":"2.0","id":6,"method":"ping"}"#)
            .await;
        assert_eq!(client.recv().await["id"], 6);
        // Id 5 is free again, and nothing for the cancelled call arrives before this answer.
        client.send(&call(5, "echo", json!({}))).await;
        let response = client.recv().await;
        assert_eq!(response["id"], 5);
        assert_eq!(response["result"]["content"][0]["text"], r#"{"x":1}"#);
        client.finish().await;
    }

    #[tokio::test]
    async fn server_to_client_request_round_trip() {
        let mut client = Client::start(StdioTransport::new());
        client.initialize(json!({"roots": {}})).await;
        client
            .send(&call(3, "roots", json!({"_meta": {"progressToken": "p"}})))
            .await;
        let progress = client.recv().await;
        assert_eq!(progress["method"], "notifications/progress");
        assert_eq!(progress["params"]["progressToken"], "p");
        let request = client.recv().await;
        assert_eq!(request["method"], "roots/list");
        let id = request["id"].as_str().expect("a string id").to_owned();
        assert!(id.starts_with("s-"));
        client
            .send(
                &json!({"jsonrpc":"2.0","id":id,"result":{"roots":[{"uri":"file:///work"}]}})
                    .to_string(),
            )
            .await;
        let response = client.recv().await;
        assert_eq!(response["id"], 3);
        assert_eq!(response["result"]["content"][0]["text"], "file:///work");
        client.finish().await;
    }

    #[tokio::test]
    async fn end_of_input_fails_pending_client_requests() {
        let mut client = Client::start(StdioTransport::new());
        client.initialize(json!({"roots": {}})).await;
        client.send(&call(4, "roots", json!({}))).await;
        assert_eq!(client.recv().await["method"], "roots/list");
        client.writer.shutdown().await.unwrap();
        // The handler's wait ends with an error result instead of the 60 s timeout.
        let response = client.recv().await;
        assert_eq!(response["id"], 4);
        assert!(response.get("result").is_some() || response.get("error").is_some());
        client.finish().await;
    }

    #[tokio::test]
    async fn modern_requests_use_their_own_version() {
        let mut client = Client::start(StdioTransport::new());
        let meta = |v: &str| json!({"_meta": {"io.modelcontextprotocol/protocolVersion": v}});
        client.send(&call(1, "echo", meta("2026-07-28"))).await;
        let response = client.recv().await;
        assert_eq!(response["result"]["resultType"], "complete", "{response}");
        client.send(&call(2, "echo", meta("2099-01-01"))).await;
        let response = client.recv().await;
        assert_eq!(
            response["error"]["code"],
            codes::UNSUPPORTED_PROTOCOL_VERSION
        );
        assert_eq!(response["error"]["data"]["requested"], "2099-01-01");
        client.finish().await;
    }

    #[tokio::test]
    async fn server_events_reach_initialized_clients() {
        let mut client =
            Client::start_with(|router| StdioTransport::new().server_events(router.events()));
        client.initialize(json!({})).await;
        client.send(r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"file:///a"}}"#).await;
        assert_eq!(client.recv().await["id"], 1);
        client.router.notify_resource_updated("file:///other");
        client.router.notify_resource_updated("file:///a");
        client.router.remove_tool("echo");
        let updated = client.recv().await;
        assert_eq!(updated["method"], "notifications/resources/updated");
        assert_eq!(updated["params"]["uri"], "file:///a");
        let changed = client.recv().await;
        assert_eq!(
            changed,
            json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})
        );
        client.finish().await;
    }
}
