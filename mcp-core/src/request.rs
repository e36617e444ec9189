//! The request and response types of the RPC tier: what every RPC-tier layer and the
//! [`Router`](crate::Router) take and return.

use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode, header};

use crate::jsonrpc::{ErrorObject, Message, Response};
use crate::version::ProtocolVersion;

/// One JSON-RPC message on its way to the [`Router`](crate::Router), with what the transport
/// learned about it.
///
/// `extensions` carries the HTTP tier's findings: the [`Principal`](crate::Principal), the
/// session ([`SessionHandle`](crate::SessionHandle)), the `http::request::Parts`, the outbound
/// channel ([`ClientPeer`](crate::ClientPeer)) and the cancellation token of this request.
///
/// ```
/// use mcp_core::{McpRequest, ProtocolVersion};
/// use mcp_core::jsonrpc::{Message, Request};
///
/// let request = McpRequest::new(
///     Message::Request(Request { id: 1.into(), method: "ping".into(), params: None }),
///     ProtocolVersion::V2025_11_25,
/// );
/// assert_eq!(request.message.method(), Some("ping"));
/// ```
#[derive(Debug)]
pub struct McpRequest {
    /// The message itself.
    pub message: Message,
    /// The protocol version this message is handled under.
    pub version: ProtocolVersion,
    /// What the transport and the outer layers attached.
    pub extensions: http::Extensions,
}

impl McpRequest {
    /// A request with empty extensions.
    pub fn new(message: Message, version: ProtocolVersion) -> Self {
        Self {
            message,
            version,
            extensions: http::Extensions::new(),
        }
    }

    /// The method name, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        self.message.method()
    }
}

/// What the RPC tier answers: nothing (notifications, client responses, cancelled requests),
/// one JSON-RPC response, or a batch of them.
#[derive(Debug, Clone, Default)]
pub enum McpResponse {
    /// No response is sent (HTTP 202 for a POST).
    #[default]
    None,
    /// One response.
    Single(Response),
    /// The responses of a batch, in the order of its requests.
    Batch(Vec<Response>),
}

impl McpResponse {
    /// An error response to `request` (or nothing when `request` is not a request).
    pub fn error_for(message: &Message, error: ErrorObject) -> Self {
        match message {
            Message::Request(request) => {
                McpResponse::Single(Response::error(Some(request.id.clone()), error))
            }
            _ => McpResponse::None,
        }
    }

    /// Whether there is anything to send.
    pub fn is_none(&self) -> bool {
        matches!(self, McpResponse::None)
    }

    /// The single response, if this is one.
    pub fn as_single(&self) -> Option<&Response> {
        match self {
            McpResponse::Single(response) => Some(response),
            _ => None,
        }
    }

    /// The [`HttpRefusal`] of a single error response, which the HTTP transport restates as
    /// its status and header. A batch has none: its answers share one HTTP response.
    pub fn http_refusal(&self) -> Option<&HttpRefusal> {
        self.as_single()?.error_object()?.http_refusal()
    }

    /// The length of what [`write_json`](Self::write_json) writes, when it is known without
    /// writing it (see [`Response::encoded_len`]).
    ///
    /// ```
    /// use mcp_core::McpResponse;
    /// use mcp_core::jsonrpc::{RequestId, Response};
    /// use serde_json::value::RawValue;
    ///
    /// let result = || RawValue::from_string("{}".to_owned()).unwrap();
    /// let batch = McpResponse::Batch(vec![
    ///     Response::result(RequestId::Number(1), result()),
    ///     Response::result(RequestId::Number(20), result()),
    /// ]);
    /// let mut encoded = Vec::new();
    /// batch.write_json(&mut encoded);
    /// assert_eq!(batch.encoded_len(), Some(encoded.len()));
    /// ```
    pub fn encoded_len(&self) -> Option<usize> {
        match self {
            McpResponse::None => Some(0),
            McpResponse::Single(response) => response.encoded_len(),
            McpResponse::Batch(responses) => responses.iter().try_fold(
                // The brackets, and a comma between two responses.
                1 + responses.len().max(1),
                |len, response| Some(len + response.encoded_len()?),
            ),
        }
    }

    /// The JSON encoding as a new buffer (empty for [`McpResponse::None`]), of exactly the
    /// encoding's size when [`encoded_len`](Self::encoded_len) knows it: `bytes::Bytes` then
    /// takes it over without allocating again, which it does for a `Vec` with room to spare.
    ///
    /// ```
    /// use mcp_core::McpResponse;
    /// use mcp_core::jsonrpc::{RequestId, Response};
    /// use serde_json::value::RawValue;
    ///
    /// let result = RawValue::from_string("{}".to_owned()).unwrap();
    /// let response = McpResponse::Single(Response::result(RequestId::Number(7), result));
    /// let encoded = response.to_vec();
    /// assert_eq!(encoded, br#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
    /// assert_eq!(encoded.capacity(), encoded.len());
    /// ```
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len().unwrap_or(256));
        self.write_json(&mut out);
        out
    }

    /// Appends the JSON encoding (an object, or an array for a batch) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            McpResponse::None => {}
            McpResponse::Single(response) => response.write_json(out),
            McpResponse::Batch(responses) => {
                out.push(b'[');
                for (i, response) in responses.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    response.write_json(out);
                }
                out.push(b']');
            }
        }
    }
}

/// How the HTTP transport restates a refusal made at the RPC tier: the status and header
/// HTTP clients, proxies and HTTP-tier telemetry understand, beside the JSON-RPC error that
/// says the same to MCP clients.
///
/// An RPC-tier layer attaches it to its error with
/// [`ErrorObject::with_http_refusal`]. It is not part of the JSON: it is never serialised
/// and never read from the wire, so an error's `data` (a handler's, or one relayed from an
/// upstream server) cannot pick an HTTP status or header, whatever keys it holds. `mcp_auth`'s
/// `ScopeLayer` (403 step-up) and `RpcRateLimitLayer` (429) set it. Over streamable HTTP only a
/// single error response is restated (a batch shares one HTTP response); under
/// `ResponseMode::AlwaysSse` a legacy-era refusal keeps its status when the RPC tier answers in
/// its first poll, as a layer that refuses without awaiting anything does (the stream of a
/// slower answer has begun by then).
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
///
/// use mcp_core::jsonrpc::{ErrorObject, Message};
/// use mcp_core::{HttpRefusal, McpRequest, McpResponse};
///
/// // A third-party RPC-tier layer refusing a call: a JSON-RPC error for MCP clients, and
/// // `429 Too Many Requests` with `Retry-After: 30` for HTTP.
/// let refuse = |request: McpRequest| async move {
///     let error = ErrorObject::new(-32000, "Try again later")
///         .with_http_refusal(HttpRefusal::RateLimited(Duration::from_secs(30)));
///     Ok::<_, Infallible>(McpResponse::error_for(&request.message, error))
/// };
/// # let request = McpRequest::new(
/// #     Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap(),
/// #     mcp_core::ProtocolVersion::V2025_11_25,
/// # );
/// # let response = futures_util::FutureExt::now_or_never(refuse(request)).unwrap().unwrap();
/// let refusal = response.http_refusal().unwrap();
/// assert_eq!(refusal.status(), http::StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!(refusal.header(), Some((http::header::RETRY_AFTER, http::HeaderValue::from(30))));
/// // The wire sees only the JSON-RPC error, and data read from it carries no refusal.
/// let json = response.to_vec();
/// assert_eq!(json, br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Try again later"}}"#);
/// let relayed: ErrorObject = serde_json::from_str(r#"{"code":-32000,"message":"x"}"#).unwrap();
/// assert!(relayed.http_refusal().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpRefusal {
    /// `403 Forbidden` with this `WWW-Authenticate` challenge: the caller lacks a scope and
    /// may step up (RFC 6750 §3.1, `insufficient_scope`).
    InsufficientScope(HeaderValue),
    /// `429 Too Many Requests` with `Retry-After`: this wait, in whole seconds rounded up and
    /// at least 1.
    RateLimited(Duration),
    /// `400 Bad Request`: a malformed request the transport could not tell apart, such as a
    /// 2026-07-28 request whose reserved `_meta` fields do not read (the era answers those
    /// with 400, as it answers missing ones).
    MalformedRequest,
}

impl HttpRefusal {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpRefusal::InsufficientScope(_) => StatusCode::FORBIDDEN,
            HttpRefusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            HttpRefusal::MalformedRequest => StatusCode::BAD_REQUEST,
        }
    }

    /// The header that goes with the status, if any.
    pub fn header(&self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            HttpRefusal::InsufficientScope(challenge) => {
                Some((header::WWW_AUTHENTICATE, challenge.clone()))
            }
            HttpRefusal::RateLimited(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Some((header::RETRY_AFTER, HeaderValue::from(seconds.max(1))))
            }
            HttpRefusal::MalformedRequest => None,
        }
    }
}

/// A response extension the HTTP transport sets when an HTTP status only restates a refusal
/// made at the RPC tier (a rate limit's 429), which RPC-tier telemetry has counted already:
/// HTTP-tier telemetry reads it so that one refusal is not counted twice.
///
/// ```
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(mcp_core::RefusedAtRpcTier);
/// assert!(response.extensions().get::<mcp_core::RefusedAtRpcTier>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedAtRpcTier;

/// A response extension naming what refused a request at the HTTP tier, so that HTTP-tier
/// telemetry counts refusals by their cause rather than guess it from the status: mcp-auth's
/// 403 without a challenge ("this API key is suspended") and its 400 `invalid_request` are
/// authentication refusals too, and a 429 at a session cap is not a rate limit.
///
/// ```
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(mcp_core::RefusedBy::Authentication);
/// assert_eq!(
///     response.extensions().get::<mcp_core::RefusedBy>(),
///     Some(&mcp_core::RefusedBy::Authentication)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedBy {
    /// Authentication or authorization (a 401, 403 or 400 of an auth layer).
    Authentication,
    /// A cap on what is open at once: sessions (`initialize` answered 429 or 503), or one
    /// principal's `subscriptions/listen` streams (429).
    SessionLimit,
}

/// Marks, in [`McpRequest::extensions`], a message that came over stdio, as the stdio
/// transport does. HTTP requests are known by the `http::request::Parts` they carry instead.
/// Telemetry reads both to report the transport (`network.transport`: `pipe` or `tcp`).
///
/// ```
/// use mcp_core::{FromStdio, McpRequest, ProtocolVersion};
/// use mcp_core::jsonrpc::Message;
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
/// let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// request.extensions.insert(FromStdio);
/// assert!(request.extensions.get::<FromStdio>().is_some());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FromStdio;
