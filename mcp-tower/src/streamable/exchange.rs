//! One request in flight: its handler driven to an answer, sent as JSON or as an SSE
//! stream with the handler's messages before it, and cancelled when the client goes away.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use mcp_core::{ClientPeer, McpRequest, McpResponse, Outbound, OutboundMessage, ProtocolVersion};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tower::ServiceExt;

use super::event_store::EventStore;
use super::json_answer::{ErrorAnswer, has_error_status, json_response};
use super::pending::Answerer;
use super::resumption::Deliverer;
use super::sse::{SseWriter, complete_stream};
use super::{ResponseMode, RpcService, Shared, sse_response};
use crate::body::McpBody;
use crate::session::LiveSession;

/// The RPC tier's answer, a panic caught (see [`Exchange::answer`]).
type RpcOutcome = std::thread::Result<Result<McpResponse, std::convert::Infallible>>;
type RpcFuture = std::pin::Pin<Box<dyn std::future::Future<Output = RpcOutcome> + Send>>;

/// One request in flight and the ways its answer can travel.
pub(super) struct Exchange {
    pub(super) shared: Arc<Shared>,
    pub(super) version: ProtocolVersion,
    pub(super) id: RequestId,
    /// The request's peer, which carries its cancellation.
    pub(super) peer: ClientPeer,
    pub(super) session: Option<Arc<LiveSession>>,
    /// Without a session, the caller: only they may answer the handler's requests.
    pub(super) principal: Option<mcp_core::Principal>,
    /// The request's header count, the room its response's header map gets.
    pub(super) request_headers: usize,
}

/// Abandons a request when dropped, unless disarmed: dropping the exchange's future (the
/// client went away before the answer) cancels the handler and ends the request in its
/// session, which otherwise would count it in flight, and so never expire, for good.
/// Borrows the exchange, where tokio-util's `DropGuard` needs a clone of the token.
struct AbandonOnDrop<'a>(Option<&'a Exchange>);

impl AbandonOnDrop<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(exchange) = self.0 {
            exchange.peer.cancel();
            exchange.end();
        }
    }
}

/// Ends a streamed request however its task ends, a panicking handler's unwinding included:
/// forgets the server-to-client requests it asked, and ends it in its session, which would
/// otherwise count it in flight (and never idle out) for good.
struct Ending<'a> {
    exchange: &'a Exchange,
    asked: Vec<RequestId>,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        for id in &self.asked {
            self.exchange.shared.pending.forget(id);
        }
        self.exchange.end();
    }
}

/// Completes once the request is cancelled (`notifications/cancelled`, DELETE, expiry, the
/// client gone): the exchange then drops the handler, whose answer would not be sent, as
/// stdio does. Polled after the handler, which may notice its token and end in that poll,
/// and only if the handler did not answer at once: only then is the token made.
async fn cancelled(peer: &ClientPeer) {
    match peer.cancellation() {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Completes once the request's handler has started; never if no one marks it. Checked
/// first, so that a handler that started in the first poll needs no waiter.
async fn handler_started(peer: &ClientPeer) {
    if peer.has_handler_started() {
        return;
    }
    if peer.handler_started().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Exchange {
    pub(super) async fn run<S: RpcService>(
        self,
        inner: S,
        call: McpRequest,
        mut outbound: Outbound,
    ) -> Response<McpBody> {
        // Dropping this future (client gone before we answered) abandons the request.
        let guard = AbandonOnDrop(Some(&self));
        let mut future: RpcFuture = Box::pin(AssertUnwindSafe(inner.oneshot(call)).catch_unwind());
        let mode = self.shared.config.response_mode;
        // A 2026-07-28 answer that is a direct error goes out as JSON with the status it maps
        // to (404, 400, 403, 429), whatever the mode: so the stream starts only with a first
        // message or a non-error answer, as in `Auto`.
        let waits = mode == ResponseMode::Auto || self.version.is_modern();
        // `Ok`: the handler answered; `Err`: it has not yet, maybe with a first message.
        let answered = match mode {
            ResponseMode::JsonOnly => {
                drop(outbound);
                let response = tokio::select! {
                    biased;
                    response = &mut future => self.answer(response),
                    () = cancelled(&self.peer) => McpResponse::None,
                };
                // Gone before the request ends in its session.
                drop(future);
                guard.disarm();
                return self.finish_json(response);
            }
            // Most handlers answer in their first poll (the future is polled first): under
            // `AlwaysSse` the stream is then one body, written with the headers, and needs no
            // task. Legacy `AlwaysSse` otherwise starts its stream once the handler starts,
            // when no layer in front of it can refuse the request with an HTTP status of its
            // own any more: a layer that awaits (a remote rate limit) before refusing still
            // gets its 403 or 429. A handler behind no router, which nobody marks started,
            // starts it with its first message.
            _ => tokio::select! {
                biased;
                response = &mut future => Ok(self.answer(response)),
                message = outbound.recv() => Err(message),
                () = handler_started(&self.peer), if !waits => Err(None),
                () = cancelled(&self.peer) => {
                    // Nothing was sent: the cancelled request's answer is what a cancelled
                    // handler's would be (see `finish_json`), and its messages are dropped.
                    drop(future);
                    guard.disarm();
                    return self.finish_json(McpResponse::None);
                }
            },
        };
        let first = match answered {
            // A handler may have sent messages and finished in the same poll.
            Ok(response) => match outbound.try_recv() {
                Ok(message) => {
                    future = Box::pin(std::future::ready(Ok(Ok(response))));
                    Some(message)
                }
                Err(_) => {
                    guard.disarm();
                    // A modern direct error, or a refusal with an HTTP status of its own in
                    // either era: JSON with that status, as in `Auto`.
                    let direct_error = has_error_status(&response, self.version);
                    return match mode {
                        ResponseMode::AlwaysSse if !direct_error => self.finish_sse(&response),
                        _ => self.finish_json(response),
                    };
                }
            },
            Err(message) => message,
        };
        guard.disarm();
        let (sink, body) = mpsc::channel(self.shared.config.outbound_capacity);
        let stream = self.shared.stream_numbers.next();
        let store = self.event_store().cloned();
        let mut writer = SseWriter::new(stream, self.session_id(), sink, store, self.numbered());
        if let Some(retry_ms) = self.priming() {
            writer.prime(retry_ms);
        }
        // A resumption of the stream takes it over from this writer (see `Resumptions`).
        let deliverer = self
            .resumable()
            .then(|| Deliverer::writer(&self.shared, stream));
        let body = match &deliverer {
            Some(deliverer) => {
                writer.replaceable(deliverer.replaced());
                McpBody::stream_until(body, deliverer.replaced())
            }
            None => McpBody::stream(body),
        };
        let request_headers = self.request_headers;
        tokio::spawn(async move {
            self.stream(&mut writer, future, first, outbound).await;
            // The writer's drop finishes the stream in the store (a panic drops it too).
            drop((writer, deliverer));
        });
        sse_response(body, request_headers)
    }

    /// The handler's answer; a panic becomes -32603 without its message, as over stdio, so
    /// the client is not left waiting on a stream that just ends or a connection that drops.
    /// (A `TelemetryLayer` inside catches it first, and counts it.)
    fn answer(&self, outcome: RpcOutcome) -> McpResponse {
        match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(_) => crate::panicked::answer(Some(self.id.clone())),
        }
    }

    fn session_id(&self) -> &str {
        self.session
            .as_deref()
            .map_or("", |s| mcp_core::Session::id(s))
    }

    /// Who may answer the handler's requests to the client.
    fn answerer(&self) -> Answerer<'_> {
        let session = self.session.as_deref().map(mcp_core::Session::id);
        Answerer::of(session, self.principal.as_ref())
    }

    fn finish_json(&self, response: McpResponse) -> Response<McpBody> {
        if let Some(ended) = self.session_ended() {
            return ended;
        }
        if self.peer.is_cancelled() {
            // A request is answered with JSON or SSE, never a bare 202: a cancelled one gets
            // the stream a streamed answer would have, ending without a response.
            return self.finish_sse(&response);
        }
        self.end();
        let mut http = json_response(&response, self.version, self.request_headers);
        ErrorAnswer::mark(&mut http, &response);
        http
    }

    /// The error of a request cancelled because its session was ended (DELETE) while it ran:
    /// -32001 with its id, as the session's next request gets. A stream ending with no
    /// response would leave the client waiting for its timeout. `None` otherwise (a request
    /// its client cancelled gets no response, as the cancellation rules ask, even when the
    /// session ends after).
    fn session_ended_error(&self) -> Option<ErrorObject> {
        let session = self.session.as_ref()?;
        (self.peer.is_cancelled() && session.ended_request(&self.id)).then(|| {
            ErrorObject::new(
                crate::session::SESSION_NOT_FOUND,
                "Session terminated before the request was answered",
            )
        })
    }

    /// [`session_ended_error`](Self::session_ended_error) before anything was sent: 404.
    fn session_ended(&self) -> Option<Response<McpBody>> {
        let error = self.session_ended_error()?;
        self.end();
        Some(crate::error_body::error_response(
            StatusCode::NOT_FOUND,
            Some(self.id.clone()),
            error,
        ))
    }

    /// The whole SSE stream of a request answered at once: the priming event and the
    /// response (none when cancelled, as on a streamed answer) in one body.
    fn finish_sse(&self, response: &McpResponse) -> Response<McpBody> {
        self.end();
        let data = if self.peer.is_cancelled() {
            None
        } else {
            event_data(response)
        };
        let stream = self.shared.stream_numbers.next();
        let body = complete_stream(
            stream,
            self.session_id(),
            self.event_store().cloned(),
            self.priming(),
            data,
            self.numbered(),
        );
        let mut http = sse_response(McpBody::from(body), self.request_headers);
        ErrorAnswer::mark(&mut http, response);
        http
    }

    fn end(&self) {
        if let Some(session) = &self.session {
            session.end_request(&self.id, &self.peer);
        }
    }

    /// Drives the handler while writing its messages, then the response, as SSE events.
    async fn stream(
        self,
        writer: &mut SseWriter,
        mut future: RpcFuture,
        first: Option<OutboundMessage>,
        mut outbound: Outbound,
    ) {
        let mut ending = Ending {
            exchange: &self,
            asked: Vec::new(),
        };
        if let Some(message) = first {
            self.forward(writer, message, &mut ending.asked).await;
        }
        let mut keep_alive = tokio::time::interval(self.shared.config.keep_alive);
        keep_alive.reset();
        // Armed when the client drops a resumable stream: it has this long to resume.
        let abandoned = tokio::time::sleep(Duration::MAX);
        tokio::pin!(abandoned);
        let mut waiting_for_resume = false;
        // Set when the server cancelled the request itself, its client never having resumed.
        let mut gave_up = false;
        let response = loop {
            tokio::select! {
                biased;
                // A request the handler stopped waiting for is forgotten, and the client
                // told, at once: before its next request, which may need the slot.
                id = self.shared.pending.abandoned(&mut ending.asked), if !ending.asked.is_empty() => {
                    writer.event(Bytes::from(crate::abandoned::abandoned_request(&id))).await;
                }
                // Messages the handler sent go out before its response.
                Some(message) = outbound.recv() => self.forward(writer, message, &mut ending.asked).await,
                response = &mut future => break Some(self.answer(response)),
                () = cancelled(&self.peer) => break None,
                _ = keep_alive.tick(), if writer.is_attached() => { writer.keep_alive().await; }
                // Also when a write found it gone: the stream then no longer watches it.
                () = writer.client_gone(), if writer.watches_client() => {
                    if self.resumable() {
                        // Disconnection is not cancellation (the client may resume with
                        // Last-Event-ID), but a client that never comes back is.
                        waiting_for_resume = true;
                        abandoned.as_mut().reset(Instant::now() + self.shared.config.disconnect_grace);
                    } else {
                        self.peer.cancel();
                    }
                }
                () = &mut abandoned, if waiting_for_resume => {
                    if self.shared.resumptions.is_followed(writer.stream()) {
                        // Look again later: a client may leave the resumed stream too.
                        abandoned.as_mut().reset(Instant::now() + self.shared.config.disconnect_grace);
                    } else {
                        waiting_for_resume = false;
                        gave_up = true;
                        tracing::debug!(request.id = %self.id, "client gone without resuming; cancelling");
                        self.peer.cancel();
                    }
                }
            }
        };
        // Dropped, if cancelled, before the request ends in its session.
        drop(future);
        // What the handler sent before it answered goes first; a dropped handler's is not sent.
        if response.is_some() {
            while let Ok(message) = outbound.try_recv() {
                self.forward(writer, message, &mut ending.asked).await;
            }
        }
        // What the handler asked and stopped waiting for: the client is told.
        for id in std::mem::take(&mut ending.asked) {
            if self.shared.pending.forget(&id) {
                let cancelled = crate::abandoned::abandoned_request(&id);
                writer.event(Bytes::from(cancelled)).await;
            }
        }
        // Ended before the answer is written: the session no longer counts it in flight.
        drop(ending);
        // Once cancelled, what the handler answers (having seen its cancellation, most likely)
        // is not sent.
        if self.peer.is_cancelled() {
            // Only a request its client cancelled goes unanswered; one the server gave up on
            // is answered, for a client that resumes late (the store may still hold the stream).
            let error = self.session_ended_error().or_else(|| {
                gave_up.then(|| {
                    ErrorObject::new(
                        mcp_core::jsonrpc::codes::SERVER_ERROR,
                        "The stream was not resumed in time; the request was cancelled",
                    )
                })
            });
            if let Some(error) = error {
                let ended = mcp_core::jsonrpc::Response::error(Some(self.id.clone()), error);
                writer.event(Bytes::from(ended.to_vec())).await;
            }
            return;
        }
        if let Some(data) = response.as_ref().and_then(event_data) {
            writer.event(data).await;
        }
    }

    fn resumable(&self) -> bool {
        self.event_store().is_some()
    }

    /// Whether the stream's events carry ids: only where a client can resume from one (not
    /// 2026-07-28 streams, nor streams no store keeps), since an id invites a resumption.
    fn numbered(&self) -> bool {
        !self.version.is_modern() && self.resumable()
    }

    /// The `retry` of the priming event, which tells the client to resume the stream when it
    /// ends: only for streams it can resume.
    fn priming(&self) -> Option<u64> {
        self.shared
            .priming(self.version)
            .filter(|_| self.resumable())
    }

    /// Where the stream's events are kept for resumption: nowhere without a session, since
    /// only a session's GET may resume a stream (a stateless one could only be a stranger's),
    /// nor without the GET stream, which resumes it.
    fn event_store(&self) -> Option<&Arc<dyn EventStore>> {
        self.session.as_ref()?;
        self.shared
            .config
            .event_store
            .as_ref()
            .filter(|_| self.shared.config.get_stream)
    }

    async fn forward(
        &self,
        writer: &mut SseWriter,
        message: OutboundMessage,
        asked: &mut Vec<RequestId>,
    ) {
        match message {
            OutboundMessage::Notification(bytes) => {
                writer.event(Bytes::from(bytes)).await;
            }
            OutboundMessage::Request {
                method,
                params,
                reply,
            } => match self.shared.pending.register(self.answerer(), reply) {
                Ok(id) => {
                    let bytes = mcp_core::jsonrpc::request_json(&id, method, &params);
                    asked.push(id);
                    writer.event(Bytes::from(bytes)).await;
                }
                Err(reply) => {
                    let _ = reply.send(Err(ErrorObject::internal_error(
                        "too many server-to-client requests awaiting answers",
                    )));
                }
            },
            OutboundMessage::CloseStream => {
                // Only a client that can resume: one of a version with SSE polling, whose
                // stream's events are kept.
                if self.version.has_sse_polling() && self.resumable() {
                    writer.detach();
                }
            }
        }
    }
}

/// `response` as the data of an SSE event; `None` when there is nothing to send.
fn event_data(response: &McpResponse) -> Option<Bytes> {
    let bytes = response.to_vec();
    (!bytes.is_empty()).then(|| Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use mcp_core::{RequestContext, Router, Tool};

    use super::super::test_support::{
        Holds, call_hold, cancel, event_id, hold_tool, initialize, post_in, resume,
    };
    use crate::body::{McpBody, next_text as next};
    use crate::session::SessionConfig;
    use crate::{McpHttpService, McpServer, ResponseMode, StreamableHttpConfig};

    /// The rest of a response's body, to its end (each frame within 5 s).
    async fn rest_of(body: &mut McpBody) -> String {
        let mut rest = String::new();
        while let Some(frame) = next(body).await {
            rest.push_str(&frame);
        }
        rest
    }

    /// `notifications/cancelled` drops a handler that ignores it, whether its answer was still
    /// to be JSON or already a stream: it no longer runs, uncounted, beside the requests that
    /// took its place in the session, and its id is free once it is gone. Until then the
    /// session keeps counting it (see the session's tests).
    #[tokio::test]
    async fn a_cancelled_handler_is_dropped_before_its_request_ends() {
        for mode in [ResponseMode::Auto, ResponseMode::JsonOnly] {
            let holds = std::sync::Arc::new(Holds::default());
            let router = mcp_core::Router::builder().tool(hold_tool(&holds)).build();
            let service: McpHttpService<McpBody> = McpServer::builder(router)
                .http_config(StreamableHttpConfig::default().response_mode(mode))
                .sessions(SessionConfig::default().max_in_flight(1))
                .into_http_service();
            let session = initialize(&service).await;
            // The same id each time: the id is free again once its request is gone.
            for progress in [false, true] {
                let call = {
                    let (service, session) = (service.clone(), session.clone());
                    tokio::spawn(async move {
                        post_in(&service, &session, &call_hold(1, progress)).await
                    })
                };
                holds.wait_live(1).await;
                let cancelled = post_in(&service, &session, &cancel(1)).await;
                assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
                let answered = tokio::time::timeout(std::time::Duration::from_secs(5), call);
                let response = answered.await.expect("answered once cancelled").unwrap();
                let mut body = response.into_body();
                let rest = rest_of(&mut body).await;
                assert!(
                    !rest.contains(r#""id":1"#),
                    "{mode:?}: not answered: {rest}"
                );
                assert_eq!(holds.live(), 0, "{mode:?}: the handler is gone");
            }
            assert_eq!(holds.most(), 1, "{mode:?}");
        }
    }

    /// A client that stopped reading its connection resumes the stream on another: what the
    /// old connection had queued but not sent goes out on the new one only.
    #[tokio::test]
    async fn a_resumed_stream_leaves_its_queued_frames_to_the_new_connection() {
        let router = Router::builder()
            .tool(
                Tool::new("steps").raw_handler(|_, ctx: RequestContext| async move {
                    ctx.progress(1.0, None, None).await;
                    ctx.progress(2.0, None, None).await;
                    std::future::pending::<&str>().await
                }),
            )
            .build();
        let service: McpHttpService<McpBody> = McpServer::builder(router).into_http_service();
        let session = initialize(&service).await;
        let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"steps","arguments":{},"_meta":{"progressToken":"p"}}}"#;
        let mut original = post_in(&service, &session, call).await.into_body();
        // Read up to the first progress: the second stays queued in the unread body.
        next(&mut original).await.expect("the priming event");
        let first = next(&mut original).await.unwrap();
        assert!(first.contains(r#""progress":1"#), "{first}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;

        let last = event_id(&first);
        let (status, mut resumed) = resume(&service, &session, last).await;
        assert_eq!(status, StatusCode::OK);
        let second = next(&mut resumed).await.unwrap();
        assert!(second.contains(r#""progress":2"#), "{second}");
        assert_eq!(next(&mut original).await, None, "sent on one stream only");
    }

    /// A handler that panics after its answer became a stream is answered -32603, and its
    /// request ends in the session: with one request allowed in flight, the next is served.
    /// One that panics at once is answered -32603 as JSON.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_and_ends_its_request_in_the_session() {
        let router = Router::builder()
            .tool(
                Tool::new("panics").raw_handler(|_, ctx: RequestContext| async move {
                    ctx.progress(1.0, None, None).await;
                    // After the answer has become a stream with a task of its own.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    panic!("a handler bug");
                    #[allow(unreachable_code)]
                    "never"
                }),
            )
            .tool(Tool::new("fine").raw_handler(|_, _: RequestContext| async { "fine" }))
            .tool(Tool::new("boom").raw_handler(|_, _: RequestContext| async {
                panic!("a handler bug");
                #[allow(unreachable_code)]
                "never"
            }))
            .build();
        let service: McpHttpService<McpBody> = McpServer::builder(router)
            .sessions(SessionConfig::default().max_in_flight(1))
            .into_http_service();
        let session = initialize(&service).await;
        let call = |id: u32, tool: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{}},"_meta":{{"progressToken":{id}}}}}}}"#
            )
        };
        let response = post_in(&service, &session, &call(1, "panics")).await;
        let mut stream = response.into_body();
        let mut last = String::new();
        while let Some(event) = next(&mut stream).await {
            last = event;
        }
        assert!(
            last.contains(r#""id":1,"error":{"code":-32603,"message":"Internal error"}"#),
            "the client is answered: {last}"
        );

        let response = post_in(&service, &session, &call(2, "fine")).await;
        let mut body = response.into_body();
        let answer = next(&mut body).await.unwrap();
        assert!(answer.contains(r#""text":"fine""#), "{answer}");

        // One that panics before any message is answered as JSON.
        let response = post_in(&service, &session, &call(3, "boom")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer = next(&mut response.into_body()).await.unwrap();
        let expected =
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"Internal error"}}"#;
        assert_eq!(answer, expected);
    }
}
