//! Modern-era routing headers: `Mcp-Method` and `Mcp-Name` must repeat what the body says,
//! so that proxies can route on headers without reading bodies (SEP-2243).

use super::era::{Peek, Refusal};
use super::mcp_headers::McpHeaders;
use http::StatusCode;
use mcp_core::headers::{decode_value as decode_header_value, value_is};
use mcp_core::jsonrpc::{ErrorObject, Message, codes};

fn mismatch(message: String) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::new(codes::HEADER_MISMATCH, message),
    )
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
        None => {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Method header is required (body method '{method}')"
            )));
        }
        Some(value) if value_is(value.as_bytes(), method) => {}
        Some(value) => {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Method header value '{}' does not match body value '{method}'",
                decode_header_value(value.as_bytes()).unwrap_or_default()
            )));
        }
    }
    let expected = match method {
        "tools/call" | "prompts/get" => params.name.as_deref(),
        "resources/read" => params.uri.as_deref(),
        "tasks/get" | "tasks/update" | "tasks/cancel" => params.task_id.as_deref(),
        _ => return Ok(()),
    };
    let Some(expected) = expected else {
        // The body lacks the name; the router answers -32602 for that.
        return Ok(());
    };
    match headers.name {
        None => Err(mismatch(format!(
            "Header mismatch: Mcp-Name header is required (body value '{expected}')"
        ))),
        Some(value) if value_is(value.as_bytes(), expected) => Ok(()),
        Some(value) => Err(mismatch(format!(
            "Header mismatch: Mcp-Name header value '{}' does not match body value '{expected}'",
            decode_header_value(value.as_bytes()).unwrap_or_default()
        ))),
    }
}
