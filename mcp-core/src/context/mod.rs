//! What a handler can see and do while it runs: the request's extensions (principal, session,
//! HTTP parts), progress and log notifications, cancellation, and server→client requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::input::InputRound;
use crate::jsonrpc::RequestId;
use crate::peer::ClientPeer;
use crate::principal::Principal;
use crate::protocol::{
    ClientCapabilities, LoggingLevel, LoggingMessageNotificationParams, ProgressNotificationParams,
    ProgressToken,
};
use crate::session::SessionHandle;
use crate::version::ProtocolVersion;

mod ask;
mod elicit_form;

/// The context handed to every handler.
///
/// Cheap to clone. A handler asks the client things ([`sample`](Self::sample),
/// [`elicit`](Self::elicit), [`list_roots`](Self::list_roots), [`request`](Self::request))
/// with the same code in every era, but it does not run the same way. Under 2025-11-25 and
/// earlier it runs once: the question travels on the request's SSE stream and the handler
/// waits for the answer. Under 2026-07-28 the request ends with an `input_required` result,
/// the client retries it with the answers, and **the handler runs again from the top on every
/// round**: side effects before a question repeat, so put them after the questions or make
/// them idempotent ([`list_roots`](Self::list_roots) shows the two rounds).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::protocol::CallToolResult;
/// use mcp_core::{Json, McpRequest, Principal, ProtocolVersion, RequestContext, Router, Tool};
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { steps: u32 }
///
/// let router = Router::builder()
///     .tool(Tool::new("work").handler(|Json(args): Json<Args>, ctx: RequestContext| async move {
///         for step in 0..args.steps {
///             if ctx.is_cancelled() { break; }
///             // Sends nothing unless the client asked for progress (sent a token).
///             ctx.progress(f64::from(step), Some(f64::from(args.steps)), None).await;
///         }
///         let who = ctx.principal().map(|p| p.subject().to_owned());
///         CallToolResult::text(format!("done for {}", who.as_deref().unwrap_or("anonymous")))
///     }))
///     .build();
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"work","arguments":{"steps":3}}}"#;
/// let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// request.extensions.insert(Principal::new("alice")); // what an auth layer attaches
/// let response = router.oneshot(request).await.unwrap();
/// let answer: serde_json::Value = serde_json::from_slice(&response.to_vec()).unwrap();
/// assert_eq!(answer["result"]["content"][0]["text"], "done for alice");
/// # }
/// ```
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<ContextInner>,
}

/// Client capabilities as a context holds them: most clients declare none (`{}`), which is
/// then a shared empty value instead of an allocation per request.
#[derive(Debug, Clone, Default)]
pub(crate) enum SharedCapabilities {
    /// Nothing declared.
    #[default]
    Empty,
    /// Something declared.
    Declared(Arc<ClientCapabilities>),
}

impl SharedCapabilities {
    pub(crate) fn new(capabilities: ClientCapabilities) -> Self {
        if capabilities == ClientCapabilities::default() {
            SharedCapabilities::Empty
        } else {
            SharedCapabilities::Declared(Arc::new(capabilities))
        }
    }

    pub(crate) fn get(&self) -> &ClientCapabilities {
        static EMPTY: std::sync::LazyLock<ClientCapabilities> =
            std::sync::LazyLock::new(ClientCapabilities::default);
        match self {
            SharedCapabilities::Empty => &EMPTY,
            SharedCapabilities::Declared(capabilities) => capabilities,
        }
    }
}

struct ContextInner {
    request_id: RequestId,
    version: ProtocolVersion,
    // Shared, not cloned: extensions hold the request head, which is costly to copy.
    extensions: Arc<http::Extensions>,
    progress_token: Option<ProgressToken>,
    log_level: Option<LoggingLevel>,
    client_capabilities: Option<SharedCapabilities>,
    /// A token from the extensions (tasks) or, without one or the peer's, made on first use
    /// (most handlers never look, and a token costs an allocation). The peer's own token is
    /// read through `peer`.
    cancellation: std::sync::OnceLock<CancellationToken>,
    peer: Option<ClientPeer>,
    input: Option<HeldRound>,
    input_sequence: AtomicUsize,
    /// The last progress value sent (`f64` bits; `-inf` before the first): each must be
    /// greater.
    last_progress: AtomicU64,
    request_timeout: Duration,
    escalation: Option<Arc<Escalation>>,
}

/// The input round of a modern request's context: its own, or one shared with a task runner
/// that outlives the context.
#[derive(Debug)]
pub(crate) enum HeldRound {
    /// Held in the context's allocation: the router reaches it through a clone of the
    /// context, so a request's round costs no allocation of its own.
    Own(InputRound),
    Shared(Arc<InputRound>),
}

impl std::ops::Deref for HeldRound {
    type Target = InputRound;

    fn deref(&self) -> &InputRound {
        match self {
            HeldRound::Own(round) => round,
            HeldRound::Shared(round) => round,
        }
    }
}

/// A handler's request to continue as a task (see [`RequestContext::escalate_to_task`]).
#[derive(Debug, Default)]
pub(crate) struct Escalation {
    requested: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Escalation {
    fn request(&self) {
        if !self.requested.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Resolves once the handler asked to become a task.
    pub(crate) async fn requested(&self) {
        while !self.requested.load(Ordering::Acquire) {
            self.notify.notified().await;
        }
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.inner.request_id)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RequestContext`]; used by the router and by tests of handlers.
#[derive(Debug)]
pub struct RequestContextBuilder {
    request_id: RequestId,
    version: ProtocolVersion,
    /// `None` until set: an empty map is made at `build` only if none was given (the router
    /// always gives one, and an `Arc` made here would be dropped unused).
    extensions: Option<Arc<http::Extensions>>,
    progress_token: Option<ProgressToken>,
    log_level: Option<LoggingLevel>,
    client_capabilities: Option<SharedCapabilities>,
    input: Option<HeldRound>,
    request_timeout: Duration,
    escalation: Option<Arc<Escalation>>,
}

impl RequestContextBuilder {
    /// Sets the extensions (principal, session, HTTP parts, peer, cancellation token).
    pub fn extensions(mut self, extensions: http::Extensions) -> Self {
        self.extensions = Some(Arc::new(extensions));
        self
    }

    /// Sets extensions already shared with the router.
    pub(crate) fn shared_extensions(mut self, extensions: Arc<http::Extensions>) -> Self {
        self.extensions = Some(extensions);
        self
    }

    /// Sets the progress token the client sent in `_meta.progressToken`.
    pub fn progress_token(mut self, token: Option<ProgressToken>) -> Self {
        self.progress_token = token;
        self
    }

    /// Sets the minimum level of log notifications the client wants (none: no logs).
    pub fn log_level(mut self, level: Option<LoggingLevel>) -> Self {
        self.log_level = level;
        self
    }

    /// Sets what the client declared it can do.
    pub fn client_capabilities(mut self, capabilities: Option<Arc<ClientCapabilities>>) -> Self {
        self.client_capabilities = capabilities.map(SharedCapabilities::Declared);
        self
    }

    /// Sets what the client declared, empty capabilities without an allocation.
    pub(crate) fn shared_client_capabilities(
        mut self,
        capabilities: Option<SharedCapabilities>,
    ) -> Self {
        self.client_capabilities = capabilities;
        self
    }

    /// Makes server→client requests become `input_required` rounds (modern era).
    pub fn input_round(mut self, round: Option<Arc<InputRound>>) -> Self {
        self.input = round.map(HeldRound::Shared);
        self
    }

    /// Sets the round, shared or the context's own
    /// ([`RequestContext::input`] reaches it).
    pub(crate) fn held_round(mut self, round: Option<HeldRound>) -> Self {
        self.input = round;
        self
    }

    /// How long a server→client request waits for the client's answer.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Lets the handler turn the request into a task (deferred task creation).
    pub(crate) fn escalation(mut self, escalation: Option<Arc<Escalation>>) -> Self {
        self.escalation = escalation;
        self
    }

    /// Finishes the context.
    pub fn build(self) -> RequestContext {
        let cancellation = std::sync::OnceLock::new();
        let extensions = self.extensions.unwrap_or_default();
        let peer = extensions.get::<ClientPeer>().cloned();
        // A context is built for a handler about to run: past every layer that could refuse.
        if let Some(peer) = &peer {
            peer.mark_handler_started();
        }
        // The peer's token is read through the peer: a token clone (and its drop) takes the
        // token's lock, on every request.
        if let Some(token) = extensions.get::<CancellationToken>() {
            let _ = cancellation.set(token.clone());
        }
        RequestContext {
            inner: Arc::new(ContextInner {
                request_id: self.request_id,
                version: self.version,
                extensions,
                progress_token: self.progress_token,
                log_level: self.log_level,
                client_capabilities: self.client_capabilities,
                cancellation,
                peer,
                input: self.input,
                input_sequence: AtomicUsize::new(0),
                last_progress: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
                request_timeout: self.request_timeout,
                escalation: self.escalation,
            }),
        }
    }
}

/// The default time a server→client request waits for the client.
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl RequestContext {
    /// Starts a context for the request `id` handled under `version`.
    pub fn builder(id: RequestId, version: ProtocolVersion) -> RequestContextBuilder {
        RequestContextBuilder {
            request_id: id,
            version,
            extensions: None,
            progress_token: None,
            log_level: None,
            client_capabilities: None,
            input: None,
            request_timeout: DEFAULT_CLIENT_REQUEST_TIMEOUT,
            escalation: None,
        }
    }

    /// The input round this context asks through (modern era).
    pub(crate) fn input(&self) -> Option<&InputRound> {
        self.inner.input.as_deref()
    }

    /// The JSON-RPC id of the request being handled.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The protocol version of the request.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// Everything the transport and the layers attached to the request, the HTTP request's
    /// own extensions included (those HTTP layers inserted).
    pub fn extensions(&self) -> &http::Extensions {
        &self.inner.extensions
    }

    /// The authenticated caller, when an auth layer ran.
    pub fn principal(&self) -> Option<&Principal> {
        self.inner.extensions.get::<Principal>()
    }

    /// The legacy session of the request, when there is one.
    pub fn session(&self) -> Option<&SessionHandle> {
        self.inner.extensions.get::<SessionHandle>()
    }

    /// The HTTP request head, when the request came over HTTP: method, URI, version and
    /// headers. Its own `extensions` are empty: what HTTP layers inserted into the request
    /// (an axum `Extension`, a `map_request` value) was moved to
    /// [`extensions`](Self::extensions), where every layer of the RPC tier sees it too.
    pub fn http_parts(&self) -> Option<&http::request::Parts> {
        self.inner.extensions.get::<http::request::Parts>()
    }

    /// What the client declared it can do (from the session or the request's `_meta`).
    pub fn client_capabilities(&self) -> Option<&ClientCapabilities> {
        self.inner
            .client_capabilities
            .as_ref()
            .map(SharedCapabilities::get)
    }

    /// The token that fires on `notifications/cancelled` or when the client goes away.
    pub fn cancellation_token(&self) -> &CancellationToken {
        if let Some(token) = self.inner.cancellation.get() {
            return token;
        }
        match self.inner.peer.as_ref().and_then(ClientPeer::cancellation) {
            Some(token) => token,
            None => self.inner.cancellation.get_or_init(CancellationToken::new),
        }
    }

    /// Whether the request was cancelled.
    pub fn is_cancelled(&self) -> bool {
        match (self.inner.cancellation.get(), &self.inner.peer) {
            (Some(token), _) => token.is_cancelled(),
            // Without making the peer's token when it has not been made yet.
            (None, Some(peer)) => peer.is_cancelled(),
            (None, None) => false,
        }
    }

    /// Resolves when the request is cancelled.
    pub async fn cancelled(&self) {
        self.cancellation_token().cancelled().await
    }

    /// Sends `notifications/progress` when the client asked for progress (sent a token).
    /// Returns whether a notification was sent. Nothing is sent for a `progress` that is not
    /// a finite number (NaN, infinity: JSON cannot carry it; such a `total` is left out), nor
    /// one not greater than the last sent (the spec: progress MUST increase), nor once the
    /// request is cancelled (progress names operations in progress).
    ///
    /// The transport carries these notifications: here a [`ClientPeer`] plays it, as in a
    /// test. The same handler also logs (see [`log`](Self::log)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::jsonrpc::Message;
    /// use mcp_core::protocol::LoggingLevel;
    /// use mcp_core::{ClientPeer, McpRequest, OutboundMessage, ProtocolVersion, RequestContext, Router, Tool};
    /// use serde_json::{Value, json};
    /// use tower::ServiceExt;
    ///
    /// let router = Router::builder()
    ///     .tool(Tool::new("copy").raw_handler(|_, ctx: RequestContext| async move {
    ///         ctx.log(LoggingLevel::Info, Some("copy"), "starting").await;
    ///         ctx.progress(1.0, Some(2.0), Some("half way")).await;
    ///         "copied"
    ///     }))
    ///     .build();
    ///
    /// // The client asks for progress by sending a token.
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call",
    ///     "params":{"name":"copy","arguments":{},"_meta":{"progressToken":"p1"}}}"#;
    /// let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
    /// let (peer, mut outbound) = ClientPeer::channel(8);
    /// request.extensions.insert(peer);
    /// router.oneshot(request).await.unwrap();
    ///
    /// let mut sent = Vec::new();
    /// while let Some(OutboundMessage::Notification(bytes)) = outbound.recv().await {
    ///     sent.push(serde_json::from_slice::<Value>(&bytes).unwrap());
    /// }
    /// assert_eq!(sent[0]["method"], "notifications/message");
    /// assert_eq!(sent[0]["params"], json!({"level": "info", "logger": "copy", "data": "starting"}));
    /// assert_eq!(sent[1]["method"], "notifications/progress");
    /// assert_eq!(sent[1]["params"], json!({"progressToken": "p1", "progress": 1, "total": 2, "message": "half way"}));
    /// # }
    /// ```
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> bool {
        let (Some(token), Some(peer)) = (&self.inner.progress_token, &self.inner.peer) else {
            return false;
        };
        if !progress.is_finite() || self.is_cancelled() || !self.advance_progress(progress) {
            return false;
        }
        let mut params = ProgressNotificationParams::new(token.clone(), progress);
        params.total = total;
        params.message = message.map(str::to_owned);
        peer.notify("notifications/progress", &params).await.is_ok()
    }

    /// Records `progress` as the last sent if it is greater than the last; whether it was.
    fn advance_progress(&self, progress: f64) -> bool {
        self.inner
            .last_progress
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                (progress > f64::from_bits(last)).then_some(progress.to_bits())
            })
            .is_ok()
    }

    /// Sends a `notifications/message` log entry when `level` is at or above the level the
    /// client set (`logging/setLevel`, or `_meta` log level in the modern era).
    /// A legacy client that set no level gets every entry (the spec leaves that default to
    /// the server); a modern one only what its request's `_meta` asks for. Returns whether an
    /// entry was sent.
    /// [`progress`](Self::progress) shows one sent.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: impl Serialize,
    ) -> bool {
        let Some(peer) = &self.inner.peer else {
            return false;
        };
        let threshold = self
            .session()
            .and_then(|session| session.log_level())
            .or(self.inner.log_level);
        match threshold {
            Some(threshold) if level >= threshold => {}
            // Legacy clients that never set a level still get logs: the spec lets the server
            // choose a default. Modern clients opt in per request.
            None if !self.inner.version.is_modern() => {}
            _ => return false,
        }
        let Ok(data) = serde_json::to_value(data) else {
            return false;
        };
        let mut params = LoggingMessageNotificationParams::new(level, data);
        params.logger = logger.map(str::to_owned);
        peer.notify("notifications/message", &params).await.is_ok()
    }

    /// Turns the request into a task now, for tools registered with
    /// [`ToolBuilder::defer_task_creation`](crate::ToolBuilder::defer_task_creation) and
    /// called by a client that accepts tasks: the client gets the task at once and this
    /// handler keeps running in the background. Typically called after the questions
    /// (`elicit` ...) were answered and before the long work. Returns whether the request
    /// became a task; otherwise the handler simply goes on as a plain request.
    pub async fn escalate_to_task(&self) -> bool {
        match &self.inner.escalation {
            Some(escalation) => {
                escalation.request();
                // Let the router see the request before the long work starts.
                tokio::task::yield_now().await;
                true
            }
            None => false,
        }
    }

    /// Closes the request's SSE stream early (legacy SSE polling, 2025-11-25): the handler
    /// keeps running, and the rest of its messages wait in the event store until the client
    /// resumes with `Last-Event-ID`. Returns whether the stream is closed: not for clients of
    /// earlier versions, which cannot resume (the stream then stays open), nor in the
    /// stateless 2026-07-28 era.
    pub async fn close_sse_stream(&self) -> bool {
        let version = self.inner.version;
        match &self.inner.peer {
            Some(peer) if version.has_sse_polling() && !version.is_modern() => {
                peer.close_stream().await.is_ok()
            }
            _ => false,
        }
    }
}
