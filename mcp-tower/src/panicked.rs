//! The answer to a request whose handler panicked, wherever the transport catches it (a lone
//! HTTP request, a batch item, a stdio message): the client is answered instead of waiting.

use mcp_core::McpResponse;
use mcp_core::jsonrpc::{ErrorObject, RequestId, Response};

/// -32603 for request `id` (nothing for a notification), without the panic's message, which
/// may hold internals; the panic itself is logged.
pub(crate) fn answer(id: Option<RequestId>) -> McpResponse {
    tracing::error!(request.id = ?id, "handler panicked");
    match id {
        Some(id) => McpResponse::Single(Response::error(
            Some(id),
            ErrorObject::internal_error("Internal error"),
        )),
        None => McpResponse::None,
    }
}
