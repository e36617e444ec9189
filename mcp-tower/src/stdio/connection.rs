//! One stdio connection: reading, dispatching, routing answers, writing.

use super::*;
use crate::log_every::LogEvery;
use futures_util::FutureExt;
use mcp_core::jsonrpc::{self, ErrorObject, Member, Message, RequestId, Response, codes};
use mcp_core::protocol::InitializeRequestParams;
use mcp_core::protocol::methods::SUBSCRIPTIONS_LISTEN;
use mcp_core::{
    AllowList, CancellationToken, FromStdio, McpRequest, McpResponse, Outbound, ProtocolVersion,
    ServerEvent, SessionHandle,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_service::Service;

use crate::subscription::Subscription;

use crate::streamable::era::{meta_capabilities_required, meta_version_required};

/// The params members that decide a message's era, as serde reads them (for params with no
/// outline).
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<Meta<'a>>,
}

/// What `_meta` says of the era: the version (raw, to tell a non-string from an absent one)
/// and whether capabilities are declared.
#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    capabilities: Option<&'a RawValue>,
}

/// `_meta`'s version and capabilities as written, when `_meta` is an object: from the params'
/// outline (kept for the router), or serde's reading of params that have none (an escaped
/// key).
fn meta_of(message: &Message) -> Option<(Option<&str>, Option<&str>)> {
    let params = message.params()?;
    let Some(outline) = message.outline() else {
        let meta = serde_json::from_str::<Params<'_>>(params.get())
            .ok()?
            .meta?;
        return Some((
            meta.version.map(RawValue::get),
            meta.capabilities.map(RawValue::get),
        ));
    };
    outline
        .raw(Member::Meta)
        .filter(|meta| meta.starts_with('{'))?;
    // As serde reads an `Option`: a `null` version is none (the request keeps the
    // connection's version, as over HTTP), not a version that is not a string.
    let version = outline
        .raw(Member::MetaProtocolVersion)
        .filter(|raw| *raw != "null");
    Some((version, outline.raw(Member::MetaClientCapabilities)))
}

/// Whether `message` names a 2026-07-28-era version in its `_meta`.
fn names_modern_version(message: &Message) -> bool {
    meta_of(message)
        .and_then(|(version, _)| version)
        .and_then(|raw| serde_json::from_str::<std::borrow::Cow<'_, str>>(raw).ok())
        .and_then(|version| ProtocolVersion::parse(&version))
        .is_some_and(ProtocolVersion::is_modern)
}

/// The state of one stdio connection, owned by the reader loop.
pub(super) struct Connection<S> {
    pub(super) shared: Arc<Shared>,
    pub(super) session: Arc<StdioSession>,
    pub(super) service: S,
    pub(super) version: ProtocolVersion,
    pub(super) admission: Arc<Semaphore>,
    /// The budget of bytes admitted requests hold, in KiB ([`StdioTransport::max_queued_bytes`]).
    pub(super) admitted_kib: Arc<Semaphore>,
    /// The whole of that budget.
    pub(super) max_admitted_kib: usize,
    pub(super) running: Arc<Semaphore>,
    pub(super) tasks: JoinSet<()>,
    pub(super) listens: Listens,
    /// Whether server events still arrive (`subscriptions/listen` needs them).
    pub(super) publishing: bool,
    /// Cancelled when serving ends: the parent of every request's token.
    pub(super) closing: CancellationToken,
    pub(super) allow_list: Option<AllowList>,
}

impl<S> Connection<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    pub(super) async fn handle(&mut self, line: &[u8]) {
        // Blank lines (and a CRLF's `\r`) are skipped; the parser reads JSON's own whitespace
        // around a message, and no other: `trim_ascii` would also pass a form feed.
        if line
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
        {
            return;
        }
        // What dispatching the line takes of the admitted-bytes budget.
        let line_kib = super::kib(line.len());
        let message = match Message::parse(line) {
            Ok(message) => message,
            Err(response) => {
                // A malformed answer to one of the server's requests fails that request now,
                // rather than at its timeout.
                if let (Some(id), Err(error)) = (Message::answered_id(line), &response.body) {
                    self.shared.route_reply(jsonrpc::ClientResponse {
                        id: Some(id),
                        result: Err(jsonrpc::ErrorObject::malformed_answer(error)),
                    });
                }
                return self.shared.write(&McpResponse::Single(response)).await;
            }
        };
        match message {
            Message::Response(response) => self.shared.route_reply(response),
            Message::Batch(items) => {
                // Client answers are the transport's business; the rest goes to the service.
                let mut kept = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Ok(Message::Response(response)) => self.shared.route_reply(response),
                        // A 2026-07-28 message has no batches: a request is refused in its
                        // place (not answered under the connection's version), a
                        // notification dropped (it gets no answer).
                        Ok(item) if names_modern_version(&item) => {
                            if let Message::Request(request) = item {
                                let error = ErrorObject::invalid_request(
                                    "Invalid Request: batches are not accepted under 2026-07-28",
                                );
                                kept.push(Err(Response::error(Some(request.id), error)));
                            }
                        }
                        item => {
                            if let Ok(Message::Notification(n)) = &item
                                && n.method == "notifications/cancelled"
                            {
                                self.cancelled(n.params.as_deref());
                            }
                            kept.push(item);
                        }
                    }
                }
                if !kept.is_empty() {
                    let version = self.version;
                    self.dispatch(Message::Batch(kept), version, line_kib).await;
                }
            }
            message => {
                if let Message::Notification(n) = &message
                    && n.method == "notifications/cancelled"
                {
                    self.cancelled(n.params.as_deref());
                }
                match self.version_of(&message) {
                    Ok(version) => match message {
                        // A subscription is the transport's: it lives as long as the connection.
                        Message::Request(request)
                            if version.is_modern() && request.method == SUBSCRIPTIONS_LISTEN =>
                        {
                            self.listen(request, version).await;
                        }
                        message => self.dispatch(message, version, line_kib).await,
                    },
                    Err(error) => {
                        self.shared
                            .write(&McpResponse::error_for(&message, error))
                            .await
                    }
                }
            }
        }
    }

    /// The client's `notifications/cancelled`: stops a running request or ends a subscription.
    fn cancelled(&mut self, params: Option<&RawValue>) {
        let Some(id) = params.and_then(jsonrpc::cancelled_request_id) else {
            return;
        };
        self.shared.cancel(&id);
        if self.listens.cancel(&id) {
            tracing::debug!(%id, "subscription cancelled by the client");
        }
    }

    /// Opens a `subscriptions/listen` subscription and acknowledges it, or answers why not.
    /// After the transport's own checks, the request passes through the service, as any
    /// request does (scopes, rate limits, telemetry); only the router's acceptance opens the
    /// subscription. It is awaited
    /// here, in the reader loop, so that the acknowledgement precedes the subscription's
    /// events and later requests see it; a router answers it at once.
    async fn listen(&mut self, request: jsonrpc::Request, version: ProtocolVersion) {
        let id = request.id.clone();
        let params = request.params.clone();
        let checked =
            if self.listens.contains(&id) || lock(&self.shared.in_flight).contains_key(&id) {
                Err(in_use(&id))
            } else {
                self.listens.check(params.as_deref(), self.publishing)
            };
        if let Err(error) = checked {
            let response = Response::error(Some(id), error);
            return self.shared.write(&McpResponse::Single(response)).await;
        }
        let mut call = McpRequest::new(Message::Request(request), version);
        call.extensions.insert(FromStdio);
        if let Some(allow_list) = &self.allow_list {
            call.extensions.insert(allow_list.clone());
        }
        let answer = match self.service.clone().oneshot(call).await {
            Ok(answer) => answer,
            Err(never) => match never {},
        };
        let Some(honoured) = Subscription::accepted(&answer) else {
            return self.shared.write(&answer).await;
        };
        match self
            .listens
            .open(&id, params.as_deref(), honoured, self.publishing)
        {
            Ok(acknowledged) => self.shared.send_line(acknowledged).await,
            Err(error) => {
                let response = Response::error(Some(id), error);
                self.shared.write(&McpResponse::Single(response)).await;
            }
        }
    }

    /// Ends every subscription from the server's side (see [`Listens::close_all`]).
    pub(super) async fn close_listens(&mut self, reason: &str) {
        for line in self.listens.close_all(reason) {
            self.shared.send_line(line).await;
        }
    }

    /// The version a request or notification is handled under.
    pub(super) fn version_of(&mut self, message: &Message) -> Result<ProtocolVersion, ErrorObject> {
        let params = message.params().map(RawValue::get);
        // Only the request negotiates: a notification named `initialize` is not a handshake.
        if let Message::Request(request) = message
            && request.method == "initialize"
        {
            // The connection is the session: a second handshake would change its version and
            // capabilities under the requests already running (HTTP refuses it too).
            if lock(&self.session.state).initialized {
                return Err(ErrorObject::invalid_request(
                    "Invalid Request: already initialized; a stdio connection is one session",
                ));
            }
            if let Some(Ok(init)) = params.map(serde_json::from_str::<InitializeRequestParams>) {
                self.version = ProtocolVersion::negotiate(&init.protocol_version);
                self.session.initialize(self.version, init.capabilities);
            }
            return Ok(self.version);
        }
        let Some((Some(requested), capabilities)) = meta_of(message) else {
            return Ok(self.version);
        };
        // A version that is not a string names none: refused, not served under the
        // connection's version (HTTP refuses it the same way).
        let Ok(requested) = serde_json::from_str::<std::borrow::Cow<'_, str>>(requested) else {
            return Err(meta_version_required());
        };
        match ProtocolVersion::parse(&requested) {
            // A modern request carries its capabilities, required on every request (the
            // server must not infer them from earlier ones); a notification has none.
            Some(version)
                if version.is_modern()
                    && matches!(message, Message::Request(_))
                    && !capabilities.is_some_and(|raw| raw.starts_with('{')) =>
            {
                Err(meta_capabilities_required())
            }
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

    /// Runs `message` (read from a line of `line_kib` KiB) in a task of its own, or refuses
    /// it when the admitted requests hold all their slots or bytes.
    pub(super) async fn dispatch(
        &mut self,
        message: Message,
        version: ProtocolVersion,
        line_kib: usize,
    ) {
        let mut admission = self.admit(line_kib);
        if admission.is_none() {
            // The reader may have run ahead of tasks that are done but not yet reaped (those
            // of requests the client cancelled in the same burst): they give their slots
            // back once they run.
            tokio::task::yield_now().await;
            admission = self.admit(line_kib);
        }
        let Some(admission) = admission else {
            static BUSY: LogEvery = LogEvery::new(std::time::Duration::from_secs(60));
            if let Some(held_back) = BUSY.ready() {
                tracing::warn!(
                    refusals_not_logged = held_back,
                    "stdio: too many requests in flight; refusing one \
                     (StdioTransport::max_queued_requests / max_queued_bytes)"
                );
            }
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
        let (cancel, outbound) = Cancel::new(&self.closing, self.shared.outbound_capacity);
        let mut registered = Vec::new();
        let duplicate = {
            let mut in_flight = lock(&self.shared.in_flight);
            match &message {
                Message::Request(request)
                    if in_flight.contains_key(&request.id)
                        || self.listens.contains(&request.id) =>
                {
                    Some(request.id.clone())
                }
                message => {
                    // Registered for duplicate detection; cancellable only alone. `initialize`
                    // MUST NOT be cancelled (the handshake takes effect whether or not its
                    // answer is written), and a batch is one call whose items share one
                    // token: cancelling one item would drop the answers of all the others.
                    // The spec lets a receiver ignore such cancellations.
                    let cancellable = matches!(
                        message,
                        Message::Request(request) if request.method != "initialize"
                    );
                    for id in request_ids(message) {
                        if !in_flight.contains_key(&id) && !self.listens.contains(&id) {
                            in_flight.insert(id.clone(), cancellable.then(|| cancel.clone()));
                            registered.push(id);
                        }
                    }
                    None
                }
            }
        };
        if let Some(id) = duplicate {
            let error = in_use(&id);
            return self
                .shared
                .write(&McpResponse::error_for(&message, error))
                .await;
        }
        let guard = InFlight {
            shared: Arc::clone(&self.shared),
            ids: registered,
        };
        let mut request = McpRequest::new(message, version);
        request.extensions.insert(FromStdio);
        request.extensions.insert(cancel.peer.clone());
        if !self.publishing {
            request.extensions.insert(mcp_core::NoNotificationStream);
        }
        if let Some(allow_list) = &self.allow_list {
            request.extensions.insert(allow_list.clone());
        }
        if !version.is_modern() {
            let session: SessionHandle = self.session.clone();
            request.extensions.insert(session);
        }
        let task = run(
            Arc::clone(&self.shared),
            self.service.clone(),
            request,
            cancel,
            outbound,
            Arc::clone(&self.running),
        );
        self.tasks.spawn(async move {
            let _guard = guard;
            let _admission: (OwnedSemaphorePermit, OwnedSemaphorePermit) = admission;
            task.await;
        });
    }

    /// A slot among the admitted requests and `line_kib` of their bytes, or `None` when
    /// either is used up.
    fn admit(&self, line_kib: usize) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let slot = Arc::clone(&self.admission).try_acquire_owned().ok()?;
        // A line larger than the whole budget takes all of it: admitted when nothing else is.
        let wanted = line_kib.clamp(1, self.max_admitted_kib);
        let bytes = Arc::clone(&self.admitted_kib)
            .try_acquire_many_owned(u32::try_from(wanted).ok()?)
            .ok()?;
        Some((slot, bytes))
    }

    /// Collects finished tasks so the set does not grow.
    pub(super) fn reap(&mut self) {
        while let Some(joined) = self.tasks.try_join_next() {
            log_join_error(joined);
        }
    }

    pub(super) async fn forward_event(
        &mut self,
        received: Received,
        events: &mut Option<broadcast::Receiver<ServerEvent>>,
    ) {
        let event = match received {
            Received::Event(event) => event,
            Received::Missed(missed) => {
                tracing::warn!(missed, "stdio transport missed server events");
                // A legacy session is told that whatever it follows may have changed, as
                // over HTTP (`session::fan_out::resync`).
                let subscriptions = {
                    let state = lock(&self.session.state);
                    state
                        .initialized
                        .then(|| state.subscriptions.iter().cloned().collect::<Vec<_>>())
                };
                if let Some(subscriptions) = subscriptions {
                    for line in crate::session::resync_lines(subscriptions) {
                        self.shared.send_line(line).await;
                    }
                }
                // A subscription would never learn what it missed: it ends as the server
                // ends one, and its client listens again and re-reads what it follows.
                return self
                    .close_listens("the subscription fell behind the server's notifications")
                    .await;
            }
            Received::Closed => {
                *events = None;
                self.publishing = false;
                // Nothing can be delivered any more: end the subscriptions rather than leave
                // the client waiting on them.
                return self
                    .close_listens("the server stopped publishing notifications")
                    .await;
            }
        };
        if lock(&self.session.state).initialized && event.is_wanted_by(&*self.session) {
            self.shared.send_line(event.to_json()).await;
        }
        for line in self.listens.lines_for(&event) {
            self.shared.send_line(line).await;
        }
    }

    /// Ends the connection (end of input, a read error, or shutdown): cancels every request,
    /// fails the server→client requests, ends the subscriptions, gives the requests `grace`
    /// to finish (their answers are still written), then aborts the rest.
    pub(super) async fn finish(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        self.closing.cancel();
        self.shared.lock_pending().close();
        let drained = tokio::time::timeout_at(deadline, async {
            self.close_listens("the connection is closing").await;
            while let Some(joined) = self.tasks.join_next().await {
                log_join_error(joined);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                requests = self.tasks.len(),
                ?grace,
                "stdio: requests still running after the shutdown grace; aborting them"
            );
            self.tasks.abort_all();
            while let Some(joined) = self.tasks.join_next().await {
                if !joined
                    .as_ref()
                    .is_err_and(tokio::task::JoinError::is_cancelled)
                {
                    log_join_error(joined);
                }
            }
        }
    }
}

fn in_use(id: &RequestId) -> ErrorObject {
    ErrorObject::invalid_request(format!(
        "Invalid Request: request id {id} is already in use"
    ))
}

pub(super) fn request_ids(message: &Message) -> Vec<RequestId> {
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
pub(super) async fn run<S>(
    shared: Arc<Shared>,
    mut service: S,
    request: McpRequest,
    cancel: Cancel,
    mut outbound: Outbound,
    running: Arc<Semaphore>,
) where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Send,
    S::Future: Send,
{
    // Cancelled by the client before it started: nothing to finish, nothing to write.
    if cancel.dropped.is_cancelled() {
        return;
    }
    // A request with a free slot runs, even if the input ended since it was read (`echo ... |
    // server`): within the shutdown grace, its answer written (its token is cancelled all
    // the same). One queued behind the concurrency limit when the input ends never starts.
    let _running = match Arc::clone(&running).try_acquire_owned() {
        Ok(permit) => Ok(permit),
        Err(_) => tokio::select! {
            () = cancel.token.cancelled() => return,
            permit = running.acquire_owned() => permit,
        },
    };
    let request_id = match &request.message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    // A panicking handler must not leave the client waiting forever.
    let mut call = Box::pin(
        AssertUnwindSafe(async move { service.ready().await?.call(request).await }).catch_unwind(),
    );
    let mut asked = Vec::new();
    let outcome = loop {
        tokio::select! {
            biased;
            () = cancel.dropped.cancelled() => break None,
            Some(message) = outbound.recv() => asked.extend(shared.forward(message).await),
            outcome = &mut call => break Some(outcome),
        }
    };
    drop(call);
    // What the handler queued before it finished goes first (progress before the result);
    // a dropped request's is not written.
    if outcome.is_some() {
        while let Ok(message) = outbound.try_recv() {
            asked.extend(shared.forward(message).await);
        }
    }
    shared.cancel_unanswered(asked).await;
    let Some(outcome) = outcome else {
        return;
    };
    if cancel.dropped.is_cancelled() {
        return;
    }
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => crate::panicked::answer(request_id),
    };
    shared.write(&response).await;
}
