//! What both transports send for a server-to-client request its handler stopped waiting for
//! (it timed out, or ended without the answer): the lifecycle page says the sender SHOULD
//! cancel it, so that the client can close the question's UI.

use mcp_core::jsonrpc::{RequestId, cancelled_json};

/// `notifications/cancelled` for the abandoned request `id`.
pub(crate) fn abandoned_request(id: &RequestId) -> Vec<u8> {
    cancelled_json(id, "the server no longer waits for the answer")
}
