//! JSON-RPC error bodies for HTTP-tier refusals.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use mcp_core::jsonrpc::{ErrorObject, RequestId};

/// An HTTP response carrying a JSON-RPC error (no id: the body may not have been read).
pub(crate) fn json_rpc_error_response<B: From<Bytes>>(
    status: StatusCode,
    code: i32,
    message: &'static str,
) -> Response<B> {
    error_response(status, None, ErrorObject::new(code, message))
}

/// An HTTP response carrying a JSON-RPC error object.
pub(crate) fn error_response<B: From<Bytes>>(
    status: StatusCode,
    id: Option<RequestId>,
    error: ErrorObject,
) -> Response<B> {
    let body = mcp_core::jsonrpc::Response::error(id, error).to_vec();
    let mut response = Response::new(B::from(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
