//! JSON-RPC error objects, the codes this crate uses, and how messages quote client text.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::request::HttpRefusal;

/// The standard JSON-RPC error codes and the MCP-specific ones.
pub mod codes {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist or is not available in this protocol version.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Resource not found (legacy era, 2025-03-26 up to 2025-11-25).
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// URL elicitation required (2025-11-25).
    pub const URL_ELICITATION_REQUIRED: i32 = -32042;
    /// An HTTP header does not match the body (2026-07-28).
    pub const HEADER_MISMATCH: i32 = -32020;
    /// The request needs a client capability the client did not declare (2026-07-28).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
    /// The protocol version is not supported (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
    /// Generic server-defined error (used for rate limits and refusals at the RPC tier).
    pub const SERVER_ERROR: i32 = -32000;
}

/// A JSON-RPC error object.
///
/// Returned from a handler, it is the request's error answer (a tool's own failures are
/// better reported as an `isError` result: see [`ToolFailure`](crate::ToolFailure)).
/// `data` carries machine-readable detail.
///
/// ```
/// use mcp_core::jsonrpc::{ErrorObject, codes};
///
/// let error = ErrorObject::invalid_params("unknown city").with_data(serde_json::json!({"city": "Atlantis"}));
/// assert_eq!(error.code, codes::INVALID_PARAMS);
/// let wire = serde_json::to_value(&error).unwrap();
/// assert_eq!(wire, serde_json::json!({"code": -32602, "message": "unknown city", "data": {"city": "Atlantis"}}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code (see [`codes`]).
    pub code: i32,
    /// A short description.
    pub message: Cow<'static, str>,
    /// Extra machine-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// How HTTP restates this error; set in code only, never on the wire (so boxed: most
    /// errors have none, and it costs them a pointer).
    #[serde(skip)]
    http_refusal: Option<Box<HttpRefusal>>,
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: i32, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
            http_refusal: None,
        }
    }

    /// Attaches `data`.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Asks the HTTP transport to restate this error as `refusal` (see [`HttpRefusal`]).
    /// Nothing changes on the wire.
    pub fn with_http_refusal(mut self, refusal: HttpRefusal) -> Self {
        self.http_refusal = Some(Box::new(refusal));
        self
    }

    /// The refusal attached with [`with_http_refusal`](Self::with_http_refusal); `None` for
    /// every error read from JSON.
    pub fn http_refusal(&self) -> Option<&HttpRefusal> {
        self.http_refusal.as_deref()
    }

    /// -32700: the body is not JSON.
    pub fn parse_error(detail: impl fmt::Display) -> Self {
        Self::new(codes::PARSE_ERROR, format!("Parse error: {detail}"))
    }

    /// -32600: the message is JSON but not a valid JSON-RPC message.
    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(codes::INVALID_REQUEST, message)
    }

    /// -32601: the method does not exist (in this protocol version).
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            codes::METHOD_NOT_FOUND,
            format!("Method not found: {}", quoted(method)),
        )
    }

    /// -32601 for a method this server does not serve to this caller, saying `why`.
    ///
    /// ```
    /// use mcp_core::jsonrpc::{ErrorObject, codes};
    ///
    /// let error = ErrorObject::method_not_served("subscriptions/listen", "no events here");
    /// assert_eq!(error.code, codes::METHOD_NOT_FOUND);
    /// assert_eq!(error.message, "Method not found: subscriptions/listen (no events here)");
    /// ```
    pub fn method_not_served(method: &str, why: &str) -> Self {
        Self::new(
            codes::METHOD_NOT_FOUND,
            format!("Method not found: {} ({why})", quoted(method)),
        )
    }

    /// -32602: the parameters are invalid.
    pub fn invalid_params(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(codes::INVALID_PARAMS, message)
    }

    /// -32603: something failed inside the server. Say what, never how.
    pub fn internal_error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(codes::INTERNAL_ERROR, message)
    }

    /// What a handler gets when the client's answer to its request was malformed and the
    /// transport refused it with `refusal` (an Invalid Request): -32603, as the call failed
    /// on the client's answer. The refusal's -32600 would tell the client that its own
    /// request (`tools/call`, say) was invalid.
    ///
    /// ```
    /// use mcp_core::jsonrpc::{ErrorObject, codes};
    ///
    /// let refusal = ErrorObject::invalid_request("Invalid Request: a response needs exactly one of result or error");
    /// let failed = ErrorObject::malformed_answer(&refusal);
    /// assert_eq!(failed.code, codes::INTERNAL_ERROR);
    /// assert_eq!(failed.message, "the client's answer was malformed: a response needs exactly one of result or error");
    /// ```
    pub fn malformed_answer(refusal: &ErrorObject) -> Self {
        let why = refusal.message.trim_start_matches("Invalid Request: ");
        Self::internal_error(format!("the client's answer was malformed: {why}"))
    }
}

/// The most of a client's text that an error message quotes.
const MAX_QUOTED_BYTES: usize = 200;

/// `text` as an error message quotes it: cut after 200 bytes (at a character boundary), with
/// an ellipsis, so that an error never grows with what the client sent.
///
/// ```
/// use mcp_core::jsonrpc::quoted;
///
/// assert_eq!(quoted("tools/call"), "tools/call");
/// let long = "é".repeat(1_000);
/// assert_eq!(quoted(&long), format!("{}…", "é".repeat(100)));
/// ```
pub fn quoted(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_QUOTED_BYTES {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{}…", prefix_within(text, MAX_QUOTED_BYTES)))
}

/// The longest start of `text` of at most `max_bytes` bytes that ends at a character boundary:
/// how client text is cut wherever its length must be bounded.
///
/// ```
/// use mcp_core::jsonrpc::prefix_within;
///
/// assert_eq!(prefix_within("add", 10), "add");
/// assert_eq!(prefix_within("é✓x", 4), "é"); // `✓` takes bytes 2 to 4
/// ```
pub fn prefix_within(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    // (`str::floor_char_boundary` is newer than the workspace's minimum Rust.)
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// What serde_json says went wrong, without its "at line L column C": serde counts from the
/// start of the text it read, a fragment (`params`, `arguments`), so the place would point
/// into the wrong part of the client's body.
///
/// ```
/// let error = serde_json::from_str::<u8>("\n 300").unwrap_err();
/// assert_eq!(mcp_core::jsonrpc::serde_message(&error), "invalid value: integer `300`, expected u8");
/// ```
pub fn serde_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let place = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&place) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod serde_message_tests {
    #[test]
    fn the_place_is_left_out() {
        let error = serde_json::from_str::<Vec<u8>>("[1, \"x\"]").unwrap_err();
        assert!(error.to_string().ends_with("at line 1 column 7"), "{error}");
        assert_eq!(
            super::serde_message(&error),
            "invalid type: string \"x\", expected u8"
        );
    }
}
