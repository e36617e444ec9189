//! How a call ended: [`Outcome`] for answered calls, [`Failure`] for the ones that failed.

use mcp_core::jsonrpc::{ErrorObject, codes};

/// The error codes that get their own `code` label value; every other code is `_OTHER`
/// (handlers may return any integer, and label values must stay few).
const KNOWN_CODES: [(i32, &str); 12] = [
    (codes::PARSE_ERROR, "-32700"),
    (codes::INVALID_REQUEST, "-32600"),
    (codes::METHOD_NOT_FOUND, "-32601"),
    (codes::INVALID_PARAMS, "-32602"),
    (codes::INTERNAL_ERROR, "-32603"),
    (codes::SERVER_ERROR, "-32000"),
    (-32001, "-32001"),
    (codes::RESOURCE_NOT_FOUND, "-32002"),
    (codes::HEADER_MISMATCH, "-32020"),
    (codes::MISSING_REQUIRED_CLIENT_CAPABILITY, "-32021"),
    (codes::UNSUPPORTED_PROTOCOL_VERSION, "-32022"),
    (codes::URL_ELICITATION_REQUIRED, "-32042"),
];

/// The `code` / `error.type` value of codes outside the known list (OpenTelemetry's fallback).
pub const OTHER_CODE: &str = "_OTHER";

/// The number of distinct outcomes as metric label sets: ok, tool error, each known code,
/// and the fallback.
pub(crate) const OUTCOME_SLOTS: usize = 3 + KNOWN_CODES.len();

/// How an answered JSON-RPC message ended.
///
/// A `tools/call` result with `isError: true` is a [`ToolError`](Outcome::ToolError): the
/// protocol worked, the tool failed. Only a JSON-RPC error object is a
/// [`ProtocolError`](Outcome::ProtocolError).
///
/// ```
/// use mcp_telemetry::Outcome;
///
/// assert_eq!(Outcome::Ok.as_str(), "ok");
/// assert_eq!(Outcome::ToolError.error_type(), Some("tool_error"));
/// assert_eq!(Outcome::ProtocolError(-32602).error_type(), Some("-32602"));
/// assert_eq!(Outcome::ProtocolError(7).error_type(), Some("_OTHER"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A result (or a notification handled).
    Ok,
    /// A `tools/call` result with `isError: true`.
    ToolError,
    /// A JSON-RPC error response with this code.
    ProtocolError(i32),
}

impl Outcome {
    /// The `outcome` label value: `ok`, `tool_error` or `protocol_error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::ProtocolError(_) => "protocol_error",
        }
    }

    /// The OpenTelemetry `error.type`: `tool_error`, the JSON-RPC code, or nothing when ok.
    pub fn error_type(self) -> Option<&'static str> {
        match self {
            Outcome::Ok => None,
            Outcome::ToolError => Some("tool_error"),
            Outcome::ProtocolError(code) => Some(code_label(code)),
        }
    }

    /// Whether the call failed in either way.
    pub const fn is_error(self) -> bool {
        !matches!(self, Outcome::Ok)
    }

    /// The `code` label value of a protocol error.
    pub(crate) fn code_label(self) -> Option<&'static str> {
        match self {
            Outcome::ProtocolError(code) => Some(code_label(code)),
            _ => None,
        }
    }

    /// The index of this outcome's label set in a per-target key table.
    pub(crate) fn slot(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::ToolError => 1,
            Outcome::ProtocolError(code) => {
                2 + KNOWN_CODES
                    .iter()
                    .position(|(known, _)| *known == code)
                    .unwrap_or(KNOWN_CODES.len())
            }
        }
    }
}

/// The label value of a JSON-RPC error code: the number for known codes, else `_OTHER`.
pub(crate) fn code_label(code: i32) -> &'static str {
    KNOWN_CODES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(OTHER_CODE, |(_, label)| label)
}

/// Why a call counts as failed; given to [`OnFailure`](crate::OnFailure).
///
/// `ToolError`, `ProtocolError` and `RateLimited` come after the response hook (the call was
/// answered); `Panicked` too (it was answered with -32603); `Disconnected` and `Cancelled`
/// have no response.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The tool ran and reported `isError: true`.
    ToolError,
    /// The call was answered with a JSON-RPC error.
    ProtocolError(&'a ErrorObject),
    /// The call was refused by a rate limit (a protocol error the layer's rate-limit
    /// predicate recognised).
    RateLimited(&'a ErrorObject),
    /// The handler panicked; the message is the panic payload when it was a string. The
    /// client got -32603 "Internal error" and nothing of this.
    Panicked(Option<&'a str>),
    /// The response future was dropped before it finished: the client went away (or an
    /// outer layer gave up on the call).
    Disconnected,
    /// The request's cancellation fired before it finished: the client sent
    /// `notifications/cancelled`, or left a streamed answer (SSE) without resuming it. The
    /// HTTP transport does not send the answer of a cancelled request (stdio still writes
    /// the answers of requests it cancelled at end of input).
    Cancelled,
}

/// The default rate-limit predicate: an error an RPC-tier layer marked as a rate limit for
/// HTTP (its 429 is then not counted again at the HTTP tier), or a -32000 error whose message
/// mentions a rate limit or whose data carries `retryAfterMs` / `retryAfter` (mcp-auth's
/// `RateLimitLayer` answers -32000 "Rate limit exceeded" with `retryAfterMs`, and marks it).
pub(crate) fn default_is_rate_limited(error: &ErrorObject) -> bool {
    if matches!(
        error.http_refusal(),
        Some(mcp_core::HttpRefusal::RateLimited(_))
    ) {
        return true;
    }
    if error.code != codes::SERVER_ERROR {
        return false;
    }
    let mentions = error
        .message
        .as_bytes()
        .windows(10)
        .any(|w| w.eq_ignore_ascii_case(b"rate limit"));
    mentions
        || error
            .data
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .is_some_and(|data| {
                data.contains_key("retryAfterMs") || data.contains_key("retryAfter")
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_distinct_and_in_range() {
        let mut seen = std::collections::HashSet::new();
        for outcome in [Outcome::Ok, Outcome::ToolError, Outcome::ProtocolError(1)]
            .into_iter()
            .chain(
                KNOWN_CODES
                    .iter()
                    .map(|(code, _)| Outcome::ProtocolError(*code)),
            )
        {
            assert!(outcome.slot() < OUTCOME_SLOTS);
            assert!(seen.insert(outcome.slot()));
        }
    }

    #[test]
    fn rate_limit_predicate() {
        let limited = ErrorObject::new(codes::SERVER_ERROR, "Rate limit exceeded");
        assert!(default_is_rate_limited(&limited));
        let with_data = ErrorObject::new(codes::SERVER_ERROR, "Too many requests")
            .with_data(serde_json::json!({ "retryAfter": 3 }));
        assert!(default_is_rate_limited(&with_data));
        let other = ErrorObject::new(codes::SERVER_ERROR, "Too many sessions");
        assert!(!default_is_rate_limited(&other));
        let wrong_code = ErrorObject::new(codes::INVALID_PARAMS, "rate limit");
        assert!(!default_is_rate_limited(&wrong_code));
        // A third-party limiter's own code and message, marked for HTTP.
        let marked = ErrorObject::new(-32099, "Slow down").with_http_refusal(
            mcp_core::HttpRefusal::RateLimited(std::time::Duration::from_secs(1)),
        );
        assert!(default_is_rate_limited(&marked));
    }
}
