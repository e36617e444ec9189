//! JSON-RPC 2.0 wire types: what arrives (requests, notifications, client responses, batches)
//! and what leaves (responses written straight to bytes).
//!
//! Parameters and results stay raw JSON ([`RawValue`]) until a handler deserialises them into
//! its own type, so no `serde_json::Value` tree is built on the hot path.
//!
//! ```
//! use mcp_core::jsonrpc::Message;
//!
//! let message = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
//! let Message::Request(request) = message else { unreachable!() };
//! assert_eq!(request.method, "ping");
//! ```

use std::borrow::Cow;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

mod canonical;
mod error;
mod id;
pub(crate) mod integer;
mod params;

pub(crate) use self::integer::{
    Integer, StringOrInteger, StringOrIntegerVisitor, serialize_digits,
};

pub(crate) use self::canonical::canonical_json;
pub use self::error::serde_message;
pub use self::error::{ErrorObject, codes, prefix_within, quoted};
pub use self::id::{RequestId, cancelled_request_id};
use self::id::{id_the_long_way, plain_id};
pub use self::params::{Member, Outline, Params};
pub use crate::raw_json::RawJson;

/// Why an id is refused.
const INVALID_ID: &str = "Invalid Request: id must be a string or an integer of at most 40 digits";

/// A request from the client: it expects exactly one response.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id the response must carry.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params object (raw), if any.
    pub params: Option<Params>,
}

/// A notification from the client: no response.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params object (raw), if any.
    pub params: Option<Params>,
}

/// The client's answer to a server→client request (sampling, elicitation, roots).
///
/// ```
/// use mcp_core::jsonrpc::Message;
///
/// // An error without an id (2025-11-25: the client could not read the request's id) is
/// // still a response; it answers no request in particular.
/// let body = br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}"#;
/// let Ok(Message::Response(response)) = Message::parse(body) else { panic!() };
/// assert!(response.id.is_none() && response.result.is_err());
/// ```
#[derive(Debug, Clone)]
pub struct ClientResponse {
    /// The id of the server's request; `None` only for an error response without one,
    /// which nothing can be matched to (transports accept and drop it).
    pub id: Option<RequestId>,
    /// The raw result, or the client's error.
    pub result: Result<Box<RawValue>, ErrorObject>,
}

/// One incoming JSON-RPC message.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request (has an id and a method).
    Request(Request),
    /// A notification (a method, no id).
    Notification(Notification),
    /// A response to one of the server's requests.
    Response(ClientResponse),
    /// A JSON-RPC batch (accepted in 2025-03-26 only): each item parsed on its own, so one
    /// bad item does not spoil the rest. `BatchLayer` splits it; the router refuses it.
    Batch(Vec<Result<Message, Response>>),
}

impl Message {
    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) | Message::Batch(_) => None,
        }
    }

    /// The raw params of a request or notification.
    pub fn params(&self) -> Option<&RawValue> {
        match self {
            Message::Request(r) => r.params.as_deref(),
            Message::Notification(n) => n.params.as_deref(),
            Message::Response(_) | Message::Batch(_) => None,
        }
    }

    /// The outline of a request's or notification's params (see [`Params::outline`]): the
    /// members a layer in front of the router usually wants, scanned once for all of them.
    ///
    /// ```
    /// use mcp_core::jsonrpc::{Member, Message};
    ///
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}"#;
    /// let message = Message::parse(body).unwrap();
    /// let outline = message.outline().unwrap();
    /// assert_eq!(outline.plain_string(Member::Name), Some("add"));
    /// ```
    pub fn outline(&self) -> Option<Outline<'_>> {
        match self {
            Message::Request(r) => r.params.as_ref()?.outline(),
            Message::Notification(n) => n.params.as_ref()?.outline(),
            Message::Response(_) | Message::Batch(_) => None,
        }
    }

    /// The id of a request or response.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Message::Request(r) => Some(&r.id),
            Message::Response(r) => r.id.as_ref(),
            Message::Notification(_) | Message::Batch(_) => None,
        }
    }

    /// The id of a message [`parse`](Self::parse) refused that was shaped as the client's
    /// answer to one of the server's requests (a `result` or an `error`, no `method`): the
    /// transport fails that request with the refusal at once, rather than leave its handler
    /// waiting for an answer that came malformed. `None` for anything else.
    ///
    /// ```
    /// use mcp_core::jsonrpc::{Message, RequestId};
    ///
    /// let both = br#"{"jsonrpc":"2.0","id":"s-1","result":{},"error":{"code":1,"message":"x"}}"#;
    /// assert!(Message::parse(both).is_err());
    /// assert_eq!(Message::answered_id(both), Some(RequestId::from("s-1")));
    /// assert_eq!(Message::answered_id(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
    /// ```
    pub fn answered_id(bytes: &[u8]) -> Option<RequestId> {
        let text = std::str::from_utf8(bytes).ok()?;
        let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
        if envelope.method.is_some() || (envelope.result.is_none() && envelope.error.is_none()) {
            return None;
        }
        let id = envelope.id?.get();
        plain_id(id).or_else(|| id_the_long_way(id))
    }

    /// Parses an HTTP body or a stdio line: one message, or a batch for a JSON array.
    ///
    /// Not JSON gives -32700 and no id; JSON that is not a JSON-RPC message gives -32600 (with
    /// the id when it is readable). An empty batch is -32600.
    pub fn parse(bytes: &[u8]) -> Result<Message, Response> {
        // One UTF-8 check up front; the parser then need not check each string and raw value.
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Response::error(None, ErrorObject::parse_error(e)))?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            let items: Vec<&RawValue> = serde_json::from_str(text)
                .map_err(|e| Response::error(None, ErrorObject::parse_error(e)))?;
            if items.is_empty() {
                return Err(Response::error(
                    None,
                    ErrorObject::invalid_request("Invalid Request: empty batch"),
                ));
            }
            return Ok(Message::Batch(
                items.into_iter().map(Message::from_raw).collect(),
            ));
        }
        let envelope: Envelope<'_> = match serde_json::from_str(text) {
            Ok(envelope) => envelope,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(Response::error(None, ErrorObject::parse_error(e)));
            }
            Err(e) => {
                // Serde stops at the first value of the wrong type, which may come before a
                // syntax error further on (`"a" }`): text that is not JSON is a parse error.
                if let Err(syntax) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                    return Err(Response::error(None, ErrorObject::parse_error(syntax)));
                }
                return Err(Response::error(None, invalid_envelope(&e)));
            }
        };
        envelope.into_message()
    }

    /// Parses one message from a JSON value already split out of a batch or a body.
    /// A failure is the error response to send (with the id when it could be read).
    pub fn from_raw(raw: &RawValue) -> Result<Message, Response> {
        // Serde would read a struct from an array by position; a message must be an object.
        if !raw.get().trim_start().starts_with('{') {
            return Err(Response::error(
                None,
                ErrorObject::invalid_request("Invalid Request: expected a JSON-RPC object"),
            ));
        }
        let envelope: Envelope<'_> = match serde_json::from_str(raw.get()) {
            Ok(envelope) => envelope,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(Response::error(None, ErrorObject::parse_error(e)));
            }
            Err(e) => return Err(Response::error(None, invalid_envelope(&e))),
        };
        envelope.into_message()
    }
}

/// -32600 for a JSON value serde could not read as a message: a repeated member is named
/// (the text is an object, and the real fault would be lost); anything else is not a
/// JSON-RPC object.
fn invalid_envelope(error: &serde_json::Error) -> ErrorObject {
    let text = error.to_string();
    match text.strip_prefix("duplicate field ") {
        Some(rest) => {
            let field = rest.split(" at line ").next().unwrap_or(rest);
            ErrorObject::invalid_request(format!("Invalid Request: duplicate member {field}"))
        }
        None => ErrorObject::invalid_request("Invalid Request: expected a JSON-RPC object"),
    }
}

/// The shape every JSON-RPC object is read through; fields borrowed from the input.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<&'a RawValue>,
    // `"id": null` must stay visible (and be refused), not read as "no id".
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// The contents of a JSON string without escapes (the parser already refused control
/// characters); `None` for anything else.
#[inline(always)]
pub(crate) fn plain_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// Reads a member that is present, even when it is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(deserializer).map(Some)
}

impl Envelope<'_> {
    fn into_message(self) -> Result<Message, Response> {
        // The id first, so that every later error can carry it.
        let id = match self.id {
            None => None,
            // The common spellings inline; the rest the long way.
            Some(raw) => match plain_id(raw.get()).or_else(|| id_the_long_way(raw.get())) {
                Some(id) => Some(id),
                None => {
                    return Err(Response::error(
                        None,
                        ErrorObject::invalid_request(INVALID_ID),
                    ));
                }
            },
        };
        // The id of a client's response is the server's own (of its request to the client):
        // an error echoing it would read as the answer to the client's request of that id.
        let shaped_as_response =
            self.method.is_none() && (self.result.is_some() || self.error.is_some());
        let fail = |message: &'static str| -> Result<Message, Response> {
            Err(Response::error(
                id.clone().filter(|_| !shaped_as_response),
                ErrorObject::invalid_request(message),
            ))
        };
        let version_ok = self.jsonrpc.is_some_and(|raw| {
            // The common spelling first; any escaped spelling of the same string is valid too.
            raw.get() == "\"2.0\""
                || serde_json::from_str::<Cow<'_, str>>(raw.get()).is_ok_and(|v| v == "2.0")
        });
        if !version_ok {
            return fail("Invalid Request: jsonrpc must be \"2.0\"");
        }
        if let Some(method) = self.method {
            let method = match plain_string(method.get()) {
                Some(method) => method.to_owned(),
                None => match serde_json::from_str::<String>(method.get()) {
                    Ok(method) => method,
                    Err(_) => return fail("Invalid Request: method must be a string"),
                },
            };
            if self.result.is_some() || self.error.is_some() {
                return fail("Invalid Request: a request cannot carry result or error");
            }
            let params = match self.params {
                None => None,
                Some(raw) if raw.get() == "null" => None,
                Some(raw) if raw.get().starts_with(['{', '[']) => Some(Params::new(raw.to_owned())),
                Some(_) => return fail("Invalid Request: params must be an object"),
            };
            return Ok(match id {
                Some(id) => Message::Request(Request { id, method, params }),
                None => Message::Notification(Notification { method, params }),
            });
        }
        // 2025-11-25 lets an error response leave out its id (the client could not read
        // the request's); every other response, and earlier versions', carries one.
        if id.is_none() && (self.result.is_some() || self.error.is_none()) {
            return fail("Invalid Request: missing method");
        }
        // Neither a result nor an error: a request that lost its method, not a response.
        if self.result.is_none() && self.error.is_none() {
            return fail("Invalid Request: missing method");
        }
        let result = match (self.result, self.error) {
            (Some(result), None) => Ok(result.to_owned()),
            (None, Some(error)) => match serde_json::from_str::<ErrorObject>(error.get()) {
                Ok(error) => Err(error),
                Err(_) => return fail("Invalid Request: malformed error object"),
            },
            _ => return fail("Invalid Request: a response needs exactly one of result or error"),
        };
        Ok(Message::Response(ClientResponse { id, result }))
    }
}

/// A response the server sends: a result or an error, for one request.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request; `None` when it could not be read, or when what is refused is
    /// a response (whose id is the peer's own).
    pub id: Option<RequestId>,
    /// The result (raw JSON) or the error.
    pub body: Result<RawJson, ErrorObject>,
}

impl Response {
    /// A successful response carrying an already-serialised result (a [`RawJson`], or a
    /// `Box<RawValue>`).
    pub fn result(id: RequestId, result: impl Into<RawJson>) -> Self {
        Self {
            id: Some(id),
            body: Ok(result.into()),
        }
    }

    /// An error response.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            id,
            body: Err(error),
        }
    }

    /// Whether this is an error response.
    pub fn is_error(&self) -> bool {
        self.body.is_err()
    }

    /// The error, if this is an error response.
    pub fn error_object(&self) -> Option<&ErrorObject> {
        self.body.as_ref().err()
    }

    /// The length of what [`write_json`](Self::write_json) writes, when it is known without
    /// writing it: a result whose id is a number, or absent. A buffer of exactly this size can
    /// be handed over as it is (`bytes::Bytes` allocates again for a `Vec` with room to spare).
    ///
    /// ```
    /// use mcp_core::jsonrpc::{ErrorObject, RequestId, Response};
    /// use serde_json::value::RawValue;
    ///
    /// let result = RawValue::from_string(r#"{"content":[]}"#.to_owned()).unwrap();
    /// let response = Response::result(RequestId::Number(42), result);
    /// assert_eq!(response.encoded_len(), Some(response.to_vec().len()));
    /// let error = Response::error(None, ErrorObject::internal_error("boom"));
    /// assert_eq!(error.encoded_len(), None);
    /// ```
    pub fn encoded_len(&self) -> Option<usize> {
        let result = self.body.as_ref().ok()?;
        let id = match &self.id {
            None => 0,
            Some(RequestId::Number(n)) => {
                let digits = n
                    .unsigned_abs()
                    .checked_ilog10()
                    .map_or(1, |d| d as usize + 1);
                r#""id":,"#.len() + usize::from(*n < 0) + digits
            }
            Some(RequestId::String(_)) => return None,
            Some(RequestId::BigNumber(digits)) => r#""id":,"#.len() + digits.len(),
        };
        Some(r#"{"jsonrpc":"2.0","result":}"#.len() + id + result.get().len())
    }

    /// Appends the JSON encoding to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
        if let Some(id) = &self.id {
            out.extend_from_slice(br#""id":"#);
            write_id(id, out);
            out.push(b',');
        }
        match &self.body {
            Ok(result) => {
                out.extend_from_slice(br#""result":"#);
                out.extend_from_slice(result.get().as_bytes());
            }
            Err(error) => {
                out.extend_from_slice(br#""error":"#);
                // Writing into a Vec cannot fail and the error type is plain data.
                serde_json::to_writer(&mut *out, error).expect("error objects serialise");
            }
        }
        out.push(b'}');
    }

    /// The JSON encoding as a new buffer, of exactly its size when
    /// [`encoded_len`](Self::encoded_len) knows it.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len().unwrap_or(128));
        self.write_json(&mut out);
        out
    }
}

fn write_id(id: &RequestId, out: &mut Vec<u8>) {
    match id {
        RequestId::Number(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        RequestId::BigNumber(digits) => out.extend_from_slice(digits.as_bytes()),
        RequestId::String(s) => {
            serde_json::to_writer(&mut *out, &**s).expect("strings serialise");
        }
    }
}

/// Reads a request's params as `T`, refusing them as the router does: absent, not an
/// object, or not a `T` is -32602 naming `method`. For layers that read params before the
/// router, so that a client gets the same answer whichever refuses it.
///
/// ```
/// use mcp_core::jsonrpc::parse_params;
/// use serde_json::value::RawValue;
///
/// #[derive(serde::Deserialize)]
/// struct Named {
///     name: String,
/// }
/// let raw = RawValue::from_string(r#"{"name":"add"}"#.to_owned()).unwrap();
/// let named: Named = parse_params("tools/call", Some(&raw)).unwrap();
/// assert_eq!(named.name, "add");
/// let missing = parse_params::<Named>("tools/call", None).err().unwrap();
/// assert_eq!(missing.message, "Invalid params for tools/call: params are required");
/// ```
pub fn parse_params<'a, T: Deserialize<'a>>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    let Some(params) = params else {
        return Err(ErrorObject::invalid_params(format!(
            "Invalid params for {method}: params are required"
        )));
    };
    // Serde would read a struct from an array by position; MCP params are always objects.
    if !params.get().trim_start().starts_with('{') {
        return Err(ErrorObject::invalid_params(format!(
            "Invalid params for {method}: params must be an object"
        )));
    }
    serde_json::from_str(params.get()).map_err(|e| {
        ErrorObject::invalid_params(format!(
            "Invalid params for {method}: {}",
            serde_message(&e)
        ))
    })
}

/// Serialises a server→client notification to bytes.
pub fn notification_json(method: &str, params: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    serde_json::to_writer(&mut out, method).expect("strings serialise");
    out.extend_from_slice(br#","params":"#);
    serde_json::to_writer(&mut out, params).expect("notification params serialise");
    out.push(b'}');
    out
}

/// Serialises `notifications/cancelled` for the server→client request `id`: what a sender
/// SHOULD issue for a request it stopped waiting for (the lifecycle page's timeouts).
///
/// ```
/// use mcp_core::jsonrpc::{RequestId, cancelled_json};
///
/// let line = cancelled_json(&RequestId::Number(7), "timed out");
/// assert_eq!(
///     String::from_utf8(line).unwrap(),
///     r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"timed out"}}"#
/// );
/// ```
pub fn cancelled_json(id: &RequestId, reason: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Cancelled<'a> {
        request_id: &'a RequestId,
        reason: &'a str,
    }
    let params = Cancelled {
        request_id: id,
        reason,
    };
    notification_json("notifications/cancelled", &params)
}

/// Serialises a server→client request to bytes.
pub fn request_json(id: &RequestId, method: &str, params: &RawValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + params.get().len());
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    write_id(id, &mut out);
    out.extend_from_slice(br#","method":"#);
    serde_json::to_writer(&mut out, method).expect("strings serialise");
    out.extend_from_slice(br#","params":"#);
    out.extend_from_slice(params.get().as_bytes());
    out.push(b'}');
    out
}

/// Serialises `value` to a raw JSON value.
pub fn to_raw(value: &impl Serialize) -> Result<Box<RawValue>, ErrorObject> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| ErrorObject::internal_error(format!("result could not be encoded: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        let error = Message::parse(text.as_bytes()).expect_err("refused");
        error.body.expect_err("an error").message.into_owned()
    }

    #[test]
    fn a_refused_response_is_not_answered_under_its_id() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}"#,
            r#"{"jsonrpc":"1.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#,
        ] {
            let refused = Message::parse(text.as_bytes()).expect_err("refused");
            assert_eq!(refused.id, None, "{text}");
        }
        // A request's refusal keeps its id.
        let refused = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"m","params":5}"#)
            .expect_err("refused");
        assert_eq!(refused.id, Some(RequestId::Number(1)));
    }

    #[test]
    fn an_id_without_a_method_is_a_request_missing_its_method() {
        let refused = Message::parse(br#"{"jsonrpc":"2.0","id":4}"#).expect_err("refused");
        assert_eq!(refused.id, Some(RequestId::Number(4)));
        assert_eq!(
            refused.body.expect_err("an error").message,
            "Invalid Request: missing method"
        );
    }

    #[test]
    fn a_repeated_member_is_named() {
        let duplicate = r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#;
        assert_eq!(refusal(duplicate), "Invalid Request: duplicate member `id`");
        let in_batch = format!("[{duplicate}]");
        let Ok(Message::Batch(items)) = Message::parse(in_batch.as_bytes()) else {
            panic!("a batch");
        };
        let item = items.into_iter().next().unwrap().expect_err("refused");
        assert_eq!(
            item.body.expect_err("an error").message,
            "Invalid Request: duplicate member `id`"
        );
    }
}
