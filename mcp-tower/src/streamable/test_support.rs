//! Helpers of the transport's in-process tests: requests through the HTTP service, without a
//! socket, so that a test can leave a response body unread (a client that stopped reading).

use http::{Method, Request, StatusCode};
use tower::ServiceExt;

use crate::McpHttpService;
use crate::body::McpBody;

pub(super) fn request(method: Method, body: &str, headers: &[(&str, &str)]) -> Request<McpBody> {
    let mut builder = Request::builder()
        .method(method)
        .uri("http://localhost/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(McpBody::from(body.to_owned())).unwrap()
}

pub(super) async fn initialize(service: &McpHttpService<McpBody>) -> String {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let response = service
        .clone()
        .oneshot(request(Method::POST, init, &[]))
        .await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let done = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let headers = [("mcp-session-id", session.as_str())];
    let response = service
        .clone()
        .oneshot(request(Method::POST, done, &headers));
    assert_eq!(response.await.unwrap().status(), StatusCode::ACCEPTED);
    session
}

/// The id of an SSE event frame.
pub(super) fn event_id(frame: &str) -> &str {
    let line = frame.lines().next().unwrap_or_default();
    line.strip_prefix("id: ").expect("an event id first")
}

pub(super) async fn get(
    service: &McpHttpService<McpBody>,
    headers: &[(&str, &str)],
) -> (StatusCode, McpBody) {
    let mut all = vec![("accept", "text/event-stream")];
    all.extend_from_slice(headers);
    let response = service
        .clone()
        .oneshot(request(Method::GET, "", &all))
        .await;
    let (parts, body) = response.unwrap().into_parts();
    (parts.status, body)
}

/// A GET resuming `session`'s stream after the event `last`.
pub(super) async fn resume(
    service: &McpHttpService<McpBody>,
    session: &str,
    last: &str,
) -> (StatusCode, McpBody) {
    get(
        service,
        &[("mcp-session-id", session), ("last-event-id", last)],
    )
    .await
}

/// A POST of `body` in `session`.
pub(super) async fn post_in(
    service: &McpHttpService<McpBody>,
    session: &str,
    body: &str,
) -> http::Response<McpBody> {
    let headers = [("mcp-session-id", session)];
    let response = service
        .clone()
        .oneshot(request(Method::POST, body, &headers));
    response.await.unwrap()
}
