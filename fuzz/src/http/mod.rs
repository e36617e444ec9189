//! The quickstart's whole HTTP service, as `McpServer` builds it or as the load kit's
//! production stack, called with any method, MCP headers and body.

mod stacks;

use std::time::Duration;

use arbitrary::Unstructured;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use tower::ServiceExt;

use self::stacks::{DEFAULT, PRODUCTION, SESSION_ID, Stack, open_session};
use crate::RUNTIME;

const METHODS: [Method; 5] = [
    Method::POST,
    Method::GET,
    Method::DELETE,
    Method::PUT,
    Method::OPTIONS,
];
const PATHS: [&str; 4] = ["/mcp", "/mcp?x=1", "/mcp/", "/"];

/// Each header the transport reads, with values it accepts and values it must refuse; the
/// fuzzer also sends any bytes a header value can hold.
const HEADERS: [(&str, &[&str]); 10] = [
    ("host", &["127.0.0.1:3000", "localhost", "evil.example"]),
    (
        "origin",
        &["http://127.0.0.1:3000", "https://evil.example", "null"],
    ),
    (
        "accept",
        &[
            "application/json, text/event-stream",
            "application/json",
            "text/event-stream",
        ],
    ),
    (
        "content-type",
        &[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
        ],
    ),
    (
        "mcp-protocol-version",
        &[
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28",
            "1.0",
        ],
    ),
    // The first is replaced by the id of a live session (see `LIVE_SESSION`).
    ("mcp-session-id", &[LIVE_SESSION, "0", "not-a-session"]),
    (
        "mcp-method",
        &[
            "tools/call",
            "tools/list",
            "initialize",
            "server/discover",
            "resources/read",
            "subscriptions/listen",
        ],
    ),
    (
        "mcp-name",
        &["add", "echo", "quickstart://about", "=?base64?YWRk?="],
    ),
    ("last-event-id", &["0", "1-1", "x"]),
    ("authorization", &[VALID_TOKEN, "Bearer token"]),
];

/// Stands for the id of a session opened by `initialize` when the service is built, so that
/// requests reach a session's methods and streams.
const LIVE_SESSION: &str = "live";

/// Stands for a token the production stack accepts (`crate::auth::VALID_BEARER`).
const VALID_TOKEN: &str = "valid";

/// The longest answer read: the quickstart's answers are far shorter.
const MAX_ANSWER: usize = 1 << 20;
/// Whatever the request, the answer's head and a POST's whole body come before this.
const PATIENCE: Duration = Duration::from_secs(10);

/// Builds a request from `data` (the stack: the default one or, when the first byte is
/// odd, the production one; then method, path, headers and the body) and checks the answer:
/// no server error, JSON where the content type says JSON, and every message of a JSON body
/// or of a POST's SSE stream a JSON-RPC message of MCP's schema, all within ten seconds.
///
/// ```
/// // Default stack, POST /mcp, Host, no Origin, Accept, Content-Type, version 2025-11-25,
/// // no other header.
/// let head = b"\0\0\0\0\xff\0\0\x02\xff\xff\xff\xff\xff";
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"doc","version":"1"}}}"#;
/// mcp_fuzz::http(&[head.as_slice(), body].concat());
/// ```
pub fn http(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let Ok(production) = input.arbitrary::<bool>() else {
        return;
    };
    let Ok(request) = request(&mut input) else {
        return;
    };
    let stack: &Stack = if production { &PRODUCTION } else { &DEFAULT };
    let method = request.method().clone();
    RUNTIME.block_on(async {
        tokio::time::timeout(PATIENCE, check(stack.clone(), request, method))
            .await
            .expect("the server answered in time");
    });
}

fn request(input: &mut Unstructured<'_>) -> arbitrary::Result<Request<Full<Bytes>>> {
    let method = input.choose(&METHODS)?.clone();
    let path = *input.choose(&PATHS)?;
    let mut request = Request::builder().method(method.clone()).uri(path);
    for (name, values) in HEADERS {
        let pick = usize::from(input.arbitrary::<u8>()?);
        let value = match pick {
            // A valid value more often than not, so that requests get past the checks.
            _ if pick < 3 * values.len() => match values[pick % values.len()] {
                // A DELETE ends the session it names: not the one the other inputs share.
                LIVE_SESSION if method == Method::DELETE => match open_session() {
                    Some(id) => id,
                    None => HeaderValue::from_static("gone"),
                },
                LIVE_SESSION => SESSION_ID.clone(),
                VALID_TOKEN => crate::auth::VALID_BEARER.clone(),
                value => HeaderValue::from_static(value),
            },
            _ if pick < 3 * values.len() + 16 => {
                let bytes: &[u8] = input.arbitrary()?;
                let Ok(value) = HeaderValue::from_bytes(bytes) else {
                    continue;
                };
                value
            }
            _ => continue,
        };
        request = request.header(HeaderName::from_static(name), value);
    }
    let body = Bytes::copy_from_slice(input.bytes(input.len())?);
    Ok(request.body(Full::new(body)).expect("a valid request"))
}

async fn check(stack: Stack, request: Request<Full<Bytes>>, method: Method) {
    let Ok(response) = stack.oneshot(request).await;
    let status = response.status();
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "a server error for a client's request: {status}"
    );
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("text/event-stream") {
        if method != Method::GET {
            read_events(response.into_body()).await;
        }
        // A GET's listening stream stays open: its head is the answer.
        return;
    }
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .expect("the answer's body")
        .to_bytes();
    if content_type.starts_with("application/json") {
        let answer: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|error| panic!("a JSON answer that is not JSON ({error}): {body:?}"));
        crate::schema::assert_jsonrpc_payload(&answer);
    }
}

/// Reads a POST's SSE stream, checking that each event is a JSON-RPC message, until it ends
/// or has said what it was opened for: a response, or the acknowledgement that opens a
/// `subscriptions/listen` stream (which then stays open).
async fn read_events<B: Body<Data = Bytes>>(body: B)
where
    B::Error: std::fmt::Debug,
{
    let mut body = std::pin::pin!(body);
    let mut text = String::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("an SSE frame");
        let Ok(data) = frame.into_data() else {
            continue;
        };
        text.push_str(std::str::from_utf8(&data).expect("an SSE stream is UTF-8"));
        assert!(
            text.len() <= MAX_ANSWER,
            "an SSE stream past {MAX_ANSWER} bytes"
        );
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            for data in event.lines().filter_map(|line| line.strip_prefix("data:")) {
                let message: Value = serde_json::from_str(data.trim_start())
                    .unwrap_or_else(|error| panic!("an SSE event that is not JSON ({error})"));
                crate::schema::assert_jsonrpc_message(&message);
                if message.get("id").is_some() && message.get("method").is_none()
                    || message["method"] == "notifications/subscriptions/acknowledged"
                {
                    return;
                }
            }
        }
    }
}
