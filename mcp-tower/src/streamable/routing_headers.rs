//! Modern-era routing headers: `Mcp-Method` and `Mcp-Name` must repeat what the body says,
//! so that proxies can route on headers without reading bodies (SEP-2243).

use super::era::{Peek, Refusal};
use super::mcp_headers::McpHeaders;
use http::StatusCode;
use mcp_core::headers::{decode_value as decode_header_value, value_is};
use mcp_core::jsonrpc::{ErrorObject, Member, Message, codes, quoted};

fn mismatch(message: String) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::new(codes::HEADER_MISMATCH, message),
    )
}

/// Refuses a request that repeats one of the MCP headers: which of the values a proxy routes on
/// is anybody's guess.
pub(crate) fn check_not_repeated(headers: &McpHeaders<'_>) -> Result<(), Refusal> {
    match headers.repeated {
        None => Ok(()),
        Some(name @ "MCP-Protocol-Version") => Err((
            StatusCode::BAD_REQUEST,
            ErrorObject::invalid_request(format!("Bad Request: the {name} header is repeated")),
        )),
        Some(name) => Err(mismatch(format!(
            "Header mismatch: the {name} header is repeated"
        ))),
    }
}

/// Checks `Mcp-Method` (always) and `Mcp-Name` (for the methods that name a target).
pub(crate) fn check(
    headers: &McpHeaders<'_>,
    message: &Message,
    params: &Peek<'_>,
) -> Result<(), Refusal> {
    let Some(method) = message.method() else {
        return Ok(());
    };
    match headers.method {
        // This revision sets no header requirements for notifications; one sent must match.
        None if matches!(message, Message::Notification(_)) => return Ok(()),
        None => {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Method header is required (body method '{}')",
                quoted(method)
            )));
        }
        // Exactly: only `Mcp-Name` and `Mcp-Param-*` may carry the base64 form.
        Some(value) if value.as_bytes() == method.as_bytes() => {}
        Some(value) => {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Method header value '{}' does not match body value '{}'",
                quoted(&String::from_utf8_lossy(value.as_bytes())),
                quoted(method)
            )));
        }
    }
    let expected = match method {
        "tools/call" | "prompts/get" => Member::Name,
        "resources/read" => Member::Uri,
        "tasks/get" | "tasks/update" | "tasks/cancel" => Member::TaskId,
        _ => return Ok(()),
    };
    let Some(expected) = params.string(expected) else {
        // The body lacks the name; the router answers -32602 for that.
        return Ok(());
    };
    let expected = expected.as_ref();
    match headers.name {
        None => Err(mismatch(format!(
            "Header mismatch: Mcp-Name header is required (body value '{}')",
            quoted(expected)
        ))),
        Some(value) if value_is(value.as_bytes(), expected) => Ok(()),
        Some(value) => Err(mismatch(match decode_header_value(value.as_bytes()) {
            Some(sent) => format!(
                "Header mismatch: Mcp-Name header value '{}' does not match body value '{}'",
                quoted(&sent),
                quoted(expected)
            ),
            None => "Header mismatch: Mcp-Name header is not valid base64, or holds characters \
                     that must be base64-encoded"
                .to_owned(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};
    use mcp_core::headers::{MCP_METHOD, MCP_NAME};

    use super::*;
    use crate::streamable::era::VersionHeader;

    /// The code `check` answers for a `resources/read` of `uri` whose `Mcp-Name` is `name`.
    fn code_for(uri: &str, name: HeaderValue) -> Option<i32> {
        refusal_for(uri, name).map(|error| error.code)
    }

    /// The error `check` answers for a `resources/read` of `uri` whose `Mcp-Name` is `name`.
    fn refusal_for(uri: &str, name: HeaderValue) -> Option<mcp_core::jsonrpc::ErrorObject> {
        let body = serde_json::json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":uri}});
        let message = Message::parse(body.to_string().as_bytes()).expect("a request");
        let mut headers = HeaderMap::new();
        headers.insert(&MCP_METHOD, HeaderValue::from_static("resources/read"));
        headers.insert(&MCP_NAME, name);
        let modern = HeaderValue::from_static("2026-07-28");
        let version = VersionHeader::read(Some(&modern), mcp_core::ServedEras::BOTH)
            .unwrap_or_else(|_| unreachable!("an ASCII header"));
        let peek = Peek::of(&message, &version);
        check(&McpHeaders::read(&headers), &message, &peek)
            .err()
            .map(|(_, error)| error)
    }

    #[test]
    fn an_undecodable_name_is_refused_for_what_it_is() {
        for name in [
            HeaderValue::from_bytes("gréet".as_bytes()).expect("obs-text"),
            HeaderValue::from_static("=?base64?@@@?="),
        ] {
            let error = refusal_for("greet", name).expect("refused");
            assert_eq!(error.code, codes::HEADER_MISMATCH);
            assert!(
                error.message.contains("not valid base64"),
                "{}",
                error.message
            );
        }
        let error = refusal_for("greet", HeaderValue::from_static("other")).expect("refused");
        assert!(error.message.contains("value 'other'"), "{}", error.message);
    }

    #[test]
    fn a_name_outside_ascii_must_come_base64_encoded() {
        let uri = "file:///café";
        let raw = HeaderValue::from_bytes(uri.as_bytes()).expect("obs-text is a valid value");
        assert_eq!(code_for(uri, raw), Some(codes::HEADER_MISMATCH));
        let encoded = HeaderValue::from_static("=?base64?ZmlsZTovLy9jYWbDqQ==?=");
        assert_eq!(code_for(uri, encoded), None);
        assert_eq!(
            code_for("file:///cafe", HeaderValue::from_static("file:///cafe")),
            None
        );
    }
}
