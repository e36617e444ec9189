//! Values of the modern era's routing headers (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`).
//!
//! ```
//! use mcp_core::headers::decode_value;
//!
//! assert_eq!(decode_value(b"  add ").as_deref(), Some("add"));          // OWS trimmed
//! assert_eq!(decode_value(b"=?base64?SGVsbG8=?=").as_deref(), Some("Hello"));
//! assert_eq!(decode_value(b"=?base64?SGVsbG8?="), None);                // strict padding
//! ```

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, Version, header};

// Looking a header up by `&str` parses and lower-cases the name on every request; these
// names are parsed once.

/// `MCP-Protocol-Version`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert(&mcp_core::headers::MCP_PROTOCOL_VERSION, "2025-11-25".parse().unwrap());
/// assert!(headers.contains_key("MCP-Protocol-Version"));
/// ```
pub static MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Session-Id` (legacy era).
pub static MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `Mcp-Method` (2026-07-28 routing header).
pub static MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name` (2026-07-28 routing header).
pub static MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `Last-Event-ID` (SSE resumption).
pub static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Asks to close the connection after a refusal sent before the request's body was read,
/// when the request announced one (`Content-Length` above zero, or `Transfer-Encoding`) over
/// HTTP/1. hyper passes such a body on to the next request only when it has already buffered
/// all of it; otherwise it closes the connection unannounced, and the client's next request
/// on it (a pipelined one, or one sent as the refusal arrives) is lost. `Connection: close`
/// says so first (RFC 9112 §9.6). HTTP/2 ends the stream alone.
///
/// ```
/// use http::{HeaderMap, Version, header};
///
/// let mut request = HeaderMap::new();
/// request.insert(header::CONTENT_LENGTH, "70000".parse().unwrap());
/// let mut response = HeaderMap::new();
/// mcp_core::headers::close_if_body_unread(Version::HTTP_11, &request, &mut response);
/// assert_eq!(response[header::CONNECTION], "close");
///
/// let mut response = HeaderMap::new();
/// mcp_core::headers::close_if_body_unread(Version::HTTP_2, &request, &mut response);
/// assert!(response.is_empty());
/// ```
pub fn close_if_body_unread(version: Version, request: &HeaderMap, response: &mut HeaderMap) {
    if announces_http1_body(version, request) {
        response.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Whether an HTTP/1 request announced a body (see [`close_if_body_unread`]).
///
/// ```
/// use http::{HeaderMap, Version, header};
///
/// let mut request = HeaderMap::new();
/// assert!(!mcp_core::headers::announces_http1_body(Version::HTTP_11, &request));
/// request.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
/// assert!(mcp_core::headers::announces_http1_body(Version::HTTP_11, &request));
/// ```
pub fn announces_http1_body(version: Version, request: &HeaderMap) -> bool {
    version <= Version::HTTP_11
        && (request.contains_key(header::TRANSFER_ENCODING)
            || request
                .get(header::CONTENT_LENGTH)
                .is_some_and(|length| length.as_bytes() != b"0"))
}

/// Decodes a header value: optional whitespace trimmed, `=?base64?...?=` decoded strictly.
/// `None` when the encoded form is not valid base64 of UTF-8 text, or when a plain value holds
/// anything but visible ASCII and spaces: the spec has clients send such values encoded, so
/// raw bytes there are invalid characters.
pub fn decode_value(raw: &[u8]) -> Option<Cow<'_, str>> {
    // Bytes first: trimming by `char` costs several times more on these short values.
    let trimmed = trim_blanks(raw);
    match trimmed
        .strip_prefix(b"=?base64?")
        .and_then(|rest| rest.strip_suffix(b"?="))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?)
            .ok()
            .map(Cow::Owned),
        // The usual case: plain text, borrowed from the header.
        None if is_plain_text(trimmed) => std::str::from_utf8(trimmed).ok().map(Cow::Borrowed),
        None => None,
    }
}

/// Whether `bytes` may travel in a header as they are: visible ASCII and spaces.
fn is_plain_text(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' '..=b'~'))
}

/// Whether the header value `raw` decodes to `expected`.
///
/// ```
/// use mcp_core::headers::value_is;
///
/// assert!(value_is(b"tools/call", "tools/call"));
/// assert!(value_is(b" =?base64?YWRk?=", "add"));
/// assert!(!value_is(b"=?base64?YWRk?=", "=?base64?YWRk?="));
/// ```
#[inline]
pub fn value_is(raw: &[u8], expected: &str) -> bool {
    // The usual case, a plain value equal to the expected text, needs no decoding: equal bytes
    // decode to the same text unless decoding would trim or base64-decode them.
    let plain = !raw.starts_with(b"=?")
        && !matches!(raw.first(), Some(b' ' | b'\t'))
        && !matches!(raw.last(), Some(b' ' | b'\t'));
    if plain && raw == expected.as_bytes() {
        return is_plain_text(raw);
    }
    decode_value(raw).is_some_and(|value| value == expected)
}

/// `raw` without leading and trailing spaces and tabs (HTTP's optional whitespace).
fn trim_blanks(mut raw: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = raw {
        raw = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = raw {
        raw = rest;
    }
    raw
}

/// The text form an argument must have in its `Mcp-Param-*` header.
pub fn argument_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether the integer argument `value` and the header text `sent` name the same integer,
/// however each is spelled (`42`, `42.0`, `4.2e1`): the spec asks servers to compare
/// integers numerically rather than as strings.
pub(crate) fn same_integer(value: &serde_json::Value, sent: &str) -> bool {
    use crate::jsonrpc::integer::read;
    value.is_number()
        && read(sent.trim()).is_some_and(|sent| read(&value.to_string()) == Some(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_compare_by_value() {
        let forty_two = serde_json::json!(42);
        assert!(same_integer(&forty_two, "42.0"));
        assert!(same_integer(&forty_two, "4.2e1"));
        assert!(same_integer(&serde_json::json!(42.0), "42"));
        assert!(!same_integer(&forty_two, "43"));
        assert!(!same_integer(&forty_two, "42.5"));
        assert!(!same_integer(&serde_json::json!("42"), "42.0"));
        assert!(!same_integer(&serde_json::json!(1.5), "1.5"));
    }

    #[test]
    fn only_outer_spaces_and_tabs_are_trimmed() {
        assert_eq!(
            decode_value(b" \t tools/call\t ").as_deref(),
            Some("tools/call")
        );
        assert_eq!(decode_value(b"a b").as_deref(), Some("a b"));
        assert_eq!(decode_value(b" \t ").as_deref(), Some(""));
        assert_eq!(decode_value(b"").as_deref(), Some(""));
        // Raw bytes outside ASCII, and control characters, must come base64-encoded.
        assert_eq!(decode_value(" é ".as_bytes()), None);
        assert_eq!(decode_value(b"a\tb"), None);
        assert_eq!(decode_value(b"=?base64?w6k=?=").as_deref(), Some("é"));
        assert_eq!(decode_value(b"\xff"), None);
        assert_eq!(
            decode_value(b" =?base64?SGVsbG8=?= ").as_deref(),
            Some("Hello")
        );
    }

    #[test]
    fn value_is_agrees_with_decoding() {
        let raws: [&[u8]; 10] = [
            b"add",
            b" add",
            b"add\t",
            b"=?base64?YWRk?=",
            b"=?base64?YWRk?",
            b"=?x",
            b"",
            b" ",
            b"\xff",
            "é".as_bytes(),
        ];
        let expected = [
            "add",
            " add",
            "add\t",
            "=?base64?YWRk?=",
            "=?base64?YWRk?",
            "=?x",
            "",
            " ",
            "é",
        ];
        for raw in raws {
            for text in expected {
                let decoded = decode_value(raw);
                assert_eq!(
                    value_is(raw, text),
                    decoded.as_deref() == Some(text),
                    "{raw:?} {text:?}"
                );
            }
        }
    }
}
