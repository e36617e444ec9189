//! JSON answers to a POST: 202 for nothing to say, the status each era gives an error, and
//! refusals an RPC-tier layer asked HTTP to restate.

use http::{HeaderValue, Response, StatusCode, header};
use mcp_core::{HttpRefusal, McpResponse, ProtocolVersion};

use super::sized_response;
use crate::body::McpBody;

pub(super) fn accepted() -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// A JSON response; `request_headers` as for [`sized_response`].
pub(super) fn json_body(
    status: StatusCode,
    bytes: Vec<u8>,
    request_headers: usize,
) -> Response<McpBody> {
    let mut response = sized_response(McpBody::from(bytes), request_headers);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(super) fn json_response(
    response: &McpResponse,
    version: ProtocolVersion,
    request_headers: usize,
) -> Response<McpBody> {
    if response.is_none() {
        return accepted();
    }
    let bytes = response.to_vec();
    let mut http = json_body(status_of(response, version), bytes, request_headers);
    // An RPC-tier layer refused the call and said how HTTP restates it (a scope check's 403
    // step-up, RFC 6750 §3.1; a rate limit's 429 for HTTP clients and proxies). Only the
    // typed hint counts: keys in the error's data are the handler's (or an upstream's) text.
    if let Some(refusal) = response.http_refusal() {
        *http.status_mut() = refusal.status();
        if let Some((name, value)) = refusal.header() {
            http.headers_mut().insert(name, value);
        }
        if matches!(refusal, HttpRefusal::RateLimited(_)) {
            http.extensions_mut().insert(mcp_core::RefusedAtRpcTier);
        }
    }
    http
}

/// Marks an HTTP response whose JSON-RPC answer is a single error, whatever its status or
/// framing: `initialize` creates no session on it.
#[derive(Clone, Copy, Debug)]
pub(super) struct ErrorAnswer;

impl ErrorAnswer {
    pub(super) fn mark(http: &mut Response<McpBody>, response: &McpResponse) {
        if response.as_single().is_some_and(|r| r.is_error()) {
            http.extensions_mut().insert(ErrorAnswer);
        }
    }
}

/// Whether [`json_response`] answers `response` with a status other than 200: an error the
/// modern era maps, or a refusal an RPC-tier layer marked with an [`HttpRefusal`].
pub(super) fn has_error_status(response: &McpResponse, version: ProtocolVersion) -> bool {
    response.http_refusal().is_some() || status_of(response, version) != StatusCode::OK
}

/// The modern era maps some JSON-RPC errors to HTTP statuses; the legacy era always uses 200.
fn status_of(response: &McpResponse, version: ProtocolVersion) -> StatusCode {
    use mcp_core::jsonrpc::codes;
    if !version.is_modern() {
        return StatusCode::OK;
    }
    match response
        .as_single()
        .and_then(|r| r.error_object())
        .map(|e| e.code)
    {
        Some(codes::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(
            codes::HEADER_MISMATCH
            | codes::MISSING_REQUIRED_CLIENT_CAPABILITY
            | codes::UNSUPPORTED_PROTOCOL_VERSION,
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use http::header;

    #[test]
    fn an_rpc_rate_limit_is_a_429_marked_as_restated() {
        use std::time::Duration;

        use mcp_core::jsonrpc::{ErrorObject, Response};
        use mcp_core::{HttpRefusal, McpResponse, ProtocolVersion, RefusedAtRpcTier};

        let refusal = ErrorObject::new(-32029, "rate limited")
            .with_http_refusal(HttpRefusal::RateLimited(Duration::from_millis(1500)));
        let response = McpResponse::Single(Response::error(Some(1.into()), refusal));
        let http = super::json_response(&response, ProtocolVersion::V2025_11_25, 0);
        assert_eq!(http.status(), 429);
        assert_eq!(http.headers()[header::RETRY_AFTER], "2");
        // HTTP-tier telemetry does not count it again.
        assert!(http.extensions().get::<RefusedAtRpcTier>().is_some());
        let answer = McpResponse::Single(Response::result(
            1.into(),
            mcp_core::jsonrpc::to_raw(&serde_json::json!({})).unwrap(),
        ));
        let http = super::json_response(&answer, ProtocolVersion::V2025_11_25, 0);
        assert!(http.extensions().get::<RefusedAtRpcTier>().is_none());
    }
}
