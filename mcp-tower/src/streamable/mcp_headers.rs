//! The MCP headers of a POST, found in one pass over its headers.

use http::{HeaderMap, HeaderValue};

/// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`, each its first value, and which of
/// them were repeated: none may be (a proxy routing on one value while the server reads
/// another is what the routing headers must rule out).
///
/// One pass: a lookup by name hashes the name and probes the map, about three times what
/// comparing the names of a request's handful of headers costs, and a modern request has
/// all three.
#[derive(Debug, Default)]
pub(crate) struct McpHeaders<'h> {
    pub(crate) version: Option<&'h HeaderValue>,
    pub(crate) method: Option<&'h HeaderValue>,
    pub(crate) name: Option<&'h HeaderValue>,
    /// The name of the first header found twice.
    pub(crate) repeated: Option<&'static str>,
}

impl<'h> McpHeaders<'h> {
    pub(crate) fn read(headers: &'h HeaderMap) -> Self {
        let mut found = Self::default();
        for (name, value) in headers {
            // The names of `mcp_core::headers` spelled out: a `match` on the text is about half
            // the cost of comparing with the `HeaderName`s (measured), and the test below
            // checks the spellings against them.
            let (slot, spelled) = match name.as_str() {
                "mcp-protocol-version" => (&mut found.version, "MCP-Protocol-Version"),
                "mcp-method" => (&mut found.method, "Mcp-Method"),
                "mcp-name" => (&mut found.name, "Mcp-Name"),
                _ => continue,
            };
            if slot.is_some() {
                found.repeated.get_or_insert(spelled);
            } else {
                *slot = Some(value);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_core::headers::{MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION};

    #[test]
    fn finds_what_lookups_find() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
        headers.insert(
            &MCP_PROTOCOL_VERSION,
            HeaderValue::from_static("2026-07-28"),
        );
        headers.append(&MCP_NAME, HeaderValue::from_static("add"));
        headers.append(&MCP_NAME, HeaderValue::from_static("second"));
        let found = McpHeaders::read(&headers);
        assert_eq!(found.version, headers.get(&MCP_PROTOCOL_VERSION));
        assert_eq!(found.name, headers.get(&MCP_NAME));
        assert_eq!(found.name.map(HeaderValue::as_bytes), Some(&b"add"[..]));
        assert_eq!(found.method, None);
        assert_eq!(found.repeated, Some("Mcp-Name"));
        headers.insert(&MCP_NAME, HeaderValue::from_static("add"));
        headers.insert(&MCP_METHOD, HeaderValue::from_static("tools/call"));
        let found = McpHeaders::read(&headers);
        assert_eq!(found.method, headers.get(&MCP_METHOD));
        assert_eq!(found.repeated, None);
        headers.append(
            &MCP_PROTOCOL_VERSION,
            HeaderValue::from_static("2025-06-18"),
        );
        assert_eq!(
            McpHeaders::read(&headers).repeated,
            Some("MCP-Protocol-Version")
        );
    }
}
