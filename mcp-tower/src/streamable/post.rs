//! POST: decode, pick the era, hand the message to the RPC tier, answer with JSON or SSE.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, header};
use mcp_core::headers::close_if_body_unread;
use mcp_core::jsonrpc::{ErrorObject, Message, Params, RequestId};
use mcp_core::{AllowList, ClientPeer, McpRequest, Outbound, Principal, ServedEras};
use tower::ServiceExt;

use super::batch_items::Batch;
use super::era::{self, Refusal};
use super::exchange::Exchange;
use super::json_answer::{ErrorAnswer, accepted, json_body};
use super::mcp_headers::McpHeaders;
use super::pending::Answerer;
use super::request_body::read_body;
use super::{Accepts, RpcService, Shared};
use crate::body::McpBody;
use crate::error_body::{error_response, json_rpc_error_response};
use crate::log_every::LogEvery;
use crate::session::{LiveSession, NewSession, SessionManager, StoreFull};
use crate::subscription::{ResourceLimits, Subscription};

pub(crate) fn handle<S, B>(
    shared: Arc<Shared>,
    inner: S,
    request: Request<B>,
) -> impl Future<Output = Response<McpBody>> + Send + 'static
where
    S: RpcService,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Split here, not in the future: an `async fn` would keep the whole request in its state
    // for its whole life, beside the parts taken from it.
    let (parts, body) = request.into_parts();
    // The work between the awaits is done in plain functions, so that this future holds
    // across an await only what the next step needs. As one `async fn` with every branch
    // inline it was 2 KiB, past malloc's fast paths, on every request.
    let request_headers = parts.headers.len();
    async move {
        if let Err(mut refusal) = check_headers(&parts.headers) {
            close_if_body_unread(parts.version, &parts.headers, refusal.headers_mut());
            return refusal;
        }
        let config = &shared.config;
        let limit = config.max_body_bytes;
        let step = match read_body(body, limit, config.body_timeout, &shared.arriving).await {
            // The body is dropped here: the message owns what it needs.
            Ok(bytes) => prepare(shared, parts, &bytes),
            Err(refusal) => return refusal,
        };
        match step {
            Step::Answer(response) => response,
            Step::Notify(request) => {
                // Layers below may observe notifications (telemetry); there is nothing to send.
                let _ = inner.oneshot(request).await;
                accepted()
            }
            // Boxed, as rare (a listen request opens a long-lived stream): inline, its state
            // (the RPC call, the stream's slot and events) made every request's future pass
            // 1 032 bytes, malloc's fast path.
            Step::Listen(listen) => Box::pin(listen.open(inner, request_headers)).await,
            Step::Batch(batch) => batch.answer(inner, request_headers).await,
            Step::Call(call) => {
                // Fields moved out of the box one by one: destructured, they would all be held
                // across the await.
                let new_session = call.new_session;
                let mut response = call.exchange.run(inner, call.request, call.outbound).await;
                if let Some(new_session) = new_session {
                    let (manager, new, id) = *new_session;
                    attach_new_session(&mut response, &manager, new, id);
                }
                response
            }
        }
    }
}

/// Accept and Content-Type, before the body is read.
#[allow(clippy::result_large_err)] // the error is the response itself
fn check_headers(headers: &http::HeaderMap) -> Result<(), Response<McpBody>> {
    // One pass over the headers rather than a lookup per name: a lookup hashes and probes,
    // and costs more than comparing a request's handful of (standard) names.
    let mut media = Accepts::default();
    let mut content_type = None;
    for (name, value) in headers {
        if name == header::ACCEPT {
            media.add(value);
        } else if name == header::CONTENT_TYPE && content_type.replace(value).is_some() {
            // A single-valued field (RFC 9110 §8.3): which one a proxy in front read is
            // anybody's guess.
            return Err(json_rpc_error_response(
                StatusCode::BAD_REQUEST,
                -32600,
                "Bad Request: the Content-Type header is repeated",
            ));
        }
    }
    if !(media.json && media.event_stream) {
        return Err(json_rpc_error_response(
            StatusCode::NOT_ACCEPTABLE,
            -32600,
            "Not Acceptable: Accept must list application/json and text/event-stream",
        ));
    }
    let is_json = content_type.is_some_and(|v| {
        // As clients send it, compared as bytes; anything else (parameters, case, spaces)
        // is parsed.
        v.as_bytes() == b"application/json"
            || v.to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(json_rpc_error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            -32600,
            "Unsupported Media Type: Content-Type must be application/json",
        ));
    }
    Ok(())
}

/// What a POST does once its body is read.
enum Step {
    /// Answered without the RPC tier.
    Answer(Response<McpBody>),
    /// A notification for the RPC tier; answered 202.
    Notify(McpRequest),
    /// A batch (2025-03-26) for the RPC tier (boxed: the other steps are small).
    Batch(Box<Batch>),
    /// A request for the RPC tier (boxed: the other steps are small).
    Call(Box<Call>),
    /// A `subscriptions/listen` request (2026-07-28): the RPC tier's answer decides whether
    /// its stream opens.
    Listen(Box<super::listen::Listen>),
}

/// A request ready for the RPC tier.
struct Call {
    exchange: Exchange,
    request: McpRequest,
    outbound: Outbound,
    /// Boxed: only `initialize` has one, and client capabilities are large.
    new_session: Option<Box<(SessionManager, NewSession, RequestId)>>,
}

/// A malformed answer to one of the server's requests (both `result` and `error`, say) fails
/// that request now; its handler would otherwise wait for its timeout. The handler gets
/// -32603 (its own request was valid: the client's answer was not, so the call failed), not
/// the POST's -32600, which would tell the client its `tools/call` was invalid.
#[cold]
fn fail_malformed_answer(
    shared: &Shared,
    parts: &http::request::Parts,
    bytes: &[u8],
    refusal: &mcp_core::jsonrpc::Response,
) {
    let (Some(id), Err(error)) = (Message::answered_id(bytes), &refusal.body) else {
        return;
    };
    let session = parts.extensions.get::<Arc<LiveSession>>();
    let session_id = session.map(|session| mcp_core::Session::id(&**session));
    let answerer = Answerer::of(session_id, parts.extensions.get::<Principal>());
    let failed = mcp_core::jsonrpc::ClientResponse {
        id: Some(id),
        result: Err(ErrorObject::malformed_answer(error)),
    };
    shared.pending.complete(answerer, failed);
}

/// Decodes the body, picks the era, checks what the era requires and decides the step.
fn prepare(shared: Arc<Shared>, mut parts: http::request::Parts, bytes: &[u8]) -> Step {
    let message = match Message::parse(bytes) {
        Ok(message) => message,
        Err(response) => {
            fail_malformed_answer(&shared, &parts, bytes, &response);
            return Step::Answer(json_body(StatusCode::BAD_REQUEST, response.to_vec(), 0));
        }
    };
    let refused = |refusal, id: Option<&RequestId>| Step::Answer(refuse(refusal, id.cloned()));
    // Refusals echo the id of a request only: a client's response carries the server's own
    // id, and an error under it would read as the answer to the client's request of that id.
    let request_id = match &message {
        Message::Request(request) => Some(&request.id),
        _ => None,
    };
    let session = parts.extensions.get::<Arc<LiveSession>>().cloned();
    let mcp_headers = McpHeaders::read(&parts.headers);
    if let Err(refusal) = super::routing_headers::check_not_repeated(&mcp_headers) {
        return refused(era::in_body_era(refusal, &message), request_id);
    }
    let served = ServedEras {
        legacy: shared.config.legacy,
        modern: shared.config.modern,
    };
    let header = match era::VersionHeader::read(mcp_headers.version, served) {
        Ok(header) => header,
        Err(refusal) => return refused(era::in_body_era(refusal, &message), request_id),
    };
    let peek = era::Peek::of(&message, &header);
    let version = match era::classify(
        &header,
        &message,
        &peek,
        session.as_deref().map(mcp_core::Session::protocol_version),
    ) {
        Ok(version) => version,
        Err(refusal) => return refused(refusal, request_id),
    };
    if !served.serves(version) {
        return refused(era::unsupported(version.as_str(), served), request_id);
    }
    if version.is_modern() && matches!(message, Message::Response(_)) {
        // The era has no server-to-client requests (input_required replaced them).
        let error = ErrorObject::invalid_request(format!(
            "Invalid Request: {version} clients send no JSON-RPC responses"
        ));
        return refused((StatusCode::BAD_REQUEST, error), None);
    }
    if version.is_modern()
        && let Err(refusal) = super::routing_headers::check(&mcp_headers, &message, &peek)
    {
        return refused(refusal, request_id);
    }
    let manager = parts.extensions.get::<SessionManager>().cloned();
    // Only a request opens a session: a notification named `initialize` needs one like any.
    let is_initialize =
        matches!(&message, Message::Request(request) if request.method == "initialize");
    // Legacy requests need their session when the server keeps sessions.
    if !version.is_modern() && manager.is_some() && session.is_none() && !is_initialize {
        let error = ErrorObject::invalid_request("Bad Request: Mcp-Session-Id header is required");
        return refused((StatusCode::BAD_REQUEST, error), request_id);
    }
    // `initialize` starts a session: one sent in a live session would leave that session
    // running, and counting against the cap, next to a new one. Refused, as the reference
    // SDK refuses it; a client that wants a new session sends `initialize` without the header.
    if is_initialize && session.is_some() {
        let error = ErrorObject::invalid_request(
            "Invalid Request: this session is already initialized; send initialize without \
             Mcp-Session-Id to start a new session",
        );
        return refused((StatusCode::BAD_REQUEST, error), request_id);
    }
    if matches!(message, Message::Batch(_)) && !version.allows_batches() {
        let error = ErrorObject::invalid_request(format!(
            "Invalid Request: batches are not accepted under {version}"
        ));
        return refused((StatusCode::BAD_REQUEST, error), None);
    }
    let request_headers = parts.headers.len();
    let mut extensions = std::mem::take(&mut parts.extensions);
    extensions.insert(parts);
    if manager.is_none() && !version.is_modern() {
        // No `SessionLayer` above: the router must not offer what only a session keeps.
        extensions.insert(mcp_core::StatelessTransport);
    } else if !shared.carries_notifications(version, manager.as_ref()) {
        // Nor list changes and updates that nothing would carry to the client.
        extensions.insert(mcp_core::NoNotificationStream);
    }
    if served != ServedEras::BOTH {
        // For `server/discover`, which lists what is served.
        extensions.insert(served);
    }

    match message {
        Message::Response(response) => {
            let session_id = session.as_deref().map(mcp_core::Session::id);
            let answerer = Answerer::of(session_id, extensions.get::<Principal>());
            shared.pending.complete(answerer, response);
            Step::Answer(accepted())
        }
        Message::Notification(notification) => {
            if notification.method == "notifications/cancelled" {
                cancel(session.as_deref(), notification.params.as_deref());
            }
            Step::Notify(McpRequest {
                message: Message::Notification(notification),
                version,
                extensions,
            })
        }
        Message::Batch(items) => {
            let session_id = session.as_deref().map(mcp_core::Session::id);
            let answerer = Answerer::of(session_id, extensions.get::<Principal>());
            let items = take_answers(&shared, answerer, session.as_deref(), items);
            if items.is_empty() {
                return Step::Answer(accepted());
            }
            Step::Batch(Box::new(Batch::new(items, version, extensions, session)))
        }
        Message::Request(request)
            if version.is_modern() && request.method == "subscriptions/listen" =>
        {
            let limits = ResourceLimits {
                count: shared.config.max_listen_resources,
                bytes: shared.config.max_listen_resource_bytes,
            };
            if let Err(error) = Subscription::check_request(request.params.as_deref(), limits) {
                return refused((StatusCode::OK, error), Some(&request.id));
            }
            let allow_list = AllowList::of(&extensions).cloned();
            Step::Listen(Box::new(super::listen::Listen {
                shared,
                id: request.id.clone(),
                params: request.params.clone().map(Params::into_raw),
                allow_list,
                request: McpRequest {
                    message: Message::Request(request),
                    version,
                    extensions,
                },
            }))
        }
        Message::Request(request) => {
            let id = request.id.clone();
            // The modern era has no `initialize` (the router answers -32601) and no sessions.
            // Read before the request is admitted: a refused `initialize` holds nothing.
            let new_session = match manager.filter(|_| is_initialize && !version.is_modern()) {
                None => None,
                Some(manager) => {
                    let limit = shared.config.max_capabilities_bytes;
                    match initialize_params(&request, &extensions, limit) {
                        Ok(new) => new.map(|new| Box::new((manager, new, id.clone()))),
                        Err(error) => return refused((StatusCode::OK, error), Some(&id)),
                    }
                }
            };
            let capacity = shared.config.outbound_capacity;
            // Its token is made only if the handler asks for it; in a session,
            // `notifications/cancelled` finds the peer in the session's requests.
            let (peer, outbound) = ClientPeer::cancellable_channel(capacity);
            if let Some(session) = &session
                && let Err(error) = session.begin_request(&id, &peer)
            {
                return refused((StatusCode::OK, error), Some(&id));
            }
            // The exchange cancels through the peer: a token clone (and its drop) takes the
            // token's lock, a peer clone is one reference count.
            extensions.insert(peer.clone());
            Step::Call(Box::new(Call {
                exchange: Exchange {
                    shared,
                    version,
                    id,
                    peer,
                    principal: session
                        .is_none()
                        .then(|| extensions.get::<Principal>().cloned())
                        .flatten(),
                    session,
                    request_headers,
                },
                request: McpRequest {
                    message: Message::Request(request),
                    version,
                    extensions,
                },
                outbound,
                new_session,
            }))
        }
    }
}

/// Reads what `initialize` declares, for the session about to be created: `None` when the
/// params do not read as `initialize`'s (the router refuses them, and an error answer opens no
/// session), an error when the declared capabilities, which the session keeps for its life,
/// exceed `max_capabilities` bytes. Their text is measured before it is parsed.
fn initialize_params(
    request: &mcp_core::jsonrpc::Request,
    extensions: &http::Extensions,
    max_capabilities: usize,
) -> Result<Option<NewSession>, ErrorObject> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Declared<'a> {
        #[serde(borrow)]
        protocol_version: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        capabilities: &'a serde_json::value::RawValue,
    }
    let Some(declared) = request
        .params
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Declared<'_>>(raw.get()).ok())
    else {
        return Ok(None);
    };
    let size = declared.capabilities.get().len();
    if size > max_capabilities {
        return Err(ErrorObject::invalid_params(format!(
            "Invalid params: the capabilities declared ({size} bytes) exceed this \
             server's limit of {max_capabilities} bytes"
        )));
    }
    let Ok(capabilities) = serde_json::from_str(declared.capabilities.get()) else {
        return Ok(None);
    };
    Ok(Some(NewSession {
        allow_list: AllowList::of(extensions).cloned(),
        principal: extensions.get::<Principal>().map(|p| p.id().to_owned()),
        version: mcp_core::ProtocolVersion::negotiate(&declared.protocol_version),
        capabilities,
    }))
}

/// Creates the session of a successful `initialize` (request `id`) and names it in the
/// response header; at a session cap, the answer becomes the refusal.
fn attach_new_session(
    response: &mut Response<McpBody>,
    manager: &SessionManager,
    new: NewSession,
    id: RequestId,
) {
    // An `initialize` refused with an error (under `AlwaysSse` a 200 SSE body) opens nothing.
    if response.status() != StatusCode::OK || response.extensions().get::<ErrorAnswer>().is_some() {
        return;
    }
    let (status, message) = match manager.create(new) {
        Ok(session) => {
            let session_id = mcp_core::Session::id(&*session);
            // DEBUG: mcp-telemetry's `session_created` is the INFO lifecycle event.
            tracing::debug!(session.id = session_id, "session created");
            if let Ok(value) = HeaderValue::from_str(session_id) {
                response
                    .headers_mut()
                    .insert(&mcp_core::headers::MCP_SESSION_ID, value);
            }
            return;
        }
        Err(StoreFull::Principal) => {
            static FULL: LogEvery = LogEvery::new(Duration::from_secs(60));
            if let Some(held_back) = FULL.ready() {
                tracing::warn!(
                    refusals_not_logged = held_back,
                    "a principal reached its session cap; initialize refused with 429 \
                     (SessionConfig::max_sessions_per_principal)"
                );
            }
            (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests: too many open sessions for this principal; \
                 end one (DELETE) or let one expire",
            )
        }
        Err(_) => {
            static FULL: LogEvery = LogEvery::new(Duration::from_secs(60));
            if let Some(held_back) = FULL.ready() {
                tracing::warn!(
                    refusals_not_logged = held_back,
                    "session cap reached; initialize refused with 503 until sessions end \
                     (SessionConfig::max_sessions)"
                );
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable: too many sessions",
            )
        }
    };
    *response = error_response(status, Some(id), ErrorObject::new(-32000, message));
    // A 429 here is a cap on open sessions, not a rate limit.
    response
        .extensions_mut()
        .insert(mcp_core::RefusedBy::SessionLimit);
}

/// Does what the bridge does for single messages to the items of a batch (2025-03-26:
/// "an array batching one or more responses" or notifications): client answers go to the
/// requests awaiting them, and are taken out (the RPC tier has nothing to do with them);
/// `notifications/cancelled` cancels, and goes on like any notification.
fn take_answers(
    shared: &Shared,
    answerer: Answerer<'_>,
    session: Option<&LiveSession>,
    items: Vec<Result<Message, mcp_core::jsonrpc::Response>>,
) -> Vec<Result<Message, mcp_core::jsonrpc::Response>> {
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(Message::Response(response)) => {
                shared.pending.complete(answerer, response);
            }
            item => {
                if let Ok(Message::Notification(notification)) = &item
                    && notification.method == "notifications/cancelled"
                {
                    cancel(session, notification.params.as_deref());
                }
                kept.push(item);
            }
        }
    }
    kept
}

fn cancel(session: Option<&LiveSession>, params: Option<&serde_json::value::RawValue>) {
    if let (Some(session), Some(params)) = (session, params)
        && let Some(id) = mcp_core::jsonrpc::cancelled_request_id(params)
    {
        session.cancel_request(&id);
    }
}

fn refuse((status, error): Refusal, id: Option<RequestId>) -> Response<McpBody> {
    error_response(status, id, error)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, header};

    use super::check_headers;

    fn status(accept: &[&[u8]], content_type: Option<&[u8]>) -> u16 {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(
                header::ACCEPT,
                HeaderValue::from_bytes(value).expect("value"),
            );
        }
        if let Some(value) = content_type {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_bytes(value).expect("value"),
            );
        }
        check_headers(&headers).map_or_else(|refusal| refusal.status().as_u16(), |()| 200)
    }

    #[test]
    fn accept_must_list_both_media_types() {
        let json = Some(&b"application/json"[..]);
        for accepted in [
            &[&b"application/json, text/event-stream"[..]][..],
            &[b"text/event-stream, application/json"],
            &[b"text/event-stream,application/json"],
            &[b"Application/JSON;q=0.9 , text/event-stream;q=1"],
            &[b"application/json", b"text/event-stream"],
            &[b"*/*"],
            &[b"application/*, text/*"],
            &[b"application/json;q=0.5, text/event-stream;q=0.001"],
            // The more specific range decides (RFC 9110 12.5.1).
            &[b"*/*;q=0, application/json, text/event-stream"],
            &[b"application/*;q=0, text/*, application/json"],
        ] {
            assert_eq!(status(accepted, json), 200, "{accepted:?}");
        }
        for refused in [
            &[&b"application/json"[..]][..],
            &[b"text/event-stream"],
            &[b"text/html, application/json"],
            &[b"application/json, text/event-stream\xff"],
            &[],
            // `q=0`: "not acceptable".
            &[b"application/json;q=0, text/event-stream"],
            &[b"text/event-stream, application/json; Q = 0.000"],
            &[b"*/*, application/json;q=0"],
            &[b"text/*;q=0.0, application/json, */*"],
        ] {
            assert_eq!(status(refused, json), 406, "{refused:?}");
        }
    }

    #[test]
    fn content_type_must_be_json_with_any_parameters() {
        let accept = &[&b"application/json, text/event-stream"[..]][..];
        for accepted in [
            &b"application/json"[..],
            b"application/json; charset=utf-8",
            b"Application/Json",
            b" application/json ;charset=UTF-8",
        ] {
            assert_eq!(status(accept, Some(accepted)), 200, "{accepted:?}");
        }
        for refused in [
            &b"text/plain"[..],
            b"application/jsonx",
            b"application/json\xff",
            b"",
        ] {
            assert_eq!(status(accept, Some(refused)), 415, "{refused:?}");
        }
        assert_eq!(status(accept, None), 415);
    }
}
