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

/// Decodes a header value: optional whitespace trimmed, `=?base64?...?=` decoded strictly.
/// `None` when the encoded form is not valid base64 or the value is not UTF-8.
pub fn decode_value(raw: &[u8]) -> Option<Cow<'_, str>> {
    let text = std::str::from_utf8(raw).ok()?.trim_matches([' ', '\t']);
    match text
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?)
            .ok()
            .map(Cow::Owned),
        // The usual case: plain text, borrowed from the header.
        None => Some(Cow::Borrowed(text)),
    }
}

/// The text form an argument must have in its `Mcp-Param-*` header.
pub fn argument_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
