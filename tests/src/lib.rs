//! Shared helpers of the end-to-end tests: a server on 127.0.0.1:0 and a hyper client.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::oneshot;

/// A server running on a loopback port until dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves `service` on 127.0.0.1:0.
    pub async fn start(service: mcp_tower::McpHttpService<hyper::body::Incoming>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = mcp_tower::serve_with_shutdown(listener, service, async {
                let _ = stop.await;
            })
            .await;
        });
        Self {
            addr,
            shutdown: Some(shutdown),
        }
    }

    /// Serves `service` behind a stand-in authenticator: each request's principal is what
    /// `authenticate` makes of its headers (anonymous for `None`).
    pub async fn start_authenticated(
        service: mcp_tower::McpHttpService<hyper::body::Incoming>,
        authenticate: impl Fn(&http::HeaderMap) -> Option<mcp_core::Principal>
        + Clone
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let http = tower::ServiceBuilder::new()
            .map_request(move |mut request: Request<hyper::body::Incoming>| {
                if let Some(principal) = authenticate(request.headers()) {
                    request.extensions_mut().insert(principal);
                }
                request
            })
            .service(service);
        Self::start(tower::util::BoxCloneSyncService::new(http)).await
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A small HTTP client for the tests.
#[derive(Clone)]
pub struct TestClient {
    client: Client<HttpConnector, Full<Bytes>>,
    url: String,
}

/// A response read in full.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (for JSON responses).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The JSON messages of an SSE body, in order (events without data skipped); an event's
    /// `data:` lines are joined with newlines, as SSE clients do.
    pub fn sse_messages(&self) -> Vec<serde_json::Value> {
        sse_messages(&String::from_utf8_lossy(&self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Panics unless every message of a JSON or SSE body (each item of a batch) is a
    /// `JSONRPCMessage` of MCP's schema: every reply the tests read in full is checked,
    /// whatever the test itself asserts.
    fn assert_messages_follow_the_schema(&self) {
        let content_type = self.header("content-type").unwrap_or_default();
        let payloads = if content_type.starts_with("application/json") {
            vec![self.json()]
        } else if content_type.starts_with("text/event-stream") {
            self.sse_messages()
        } else {
            return;
        };
        payloads.iter().for_each(schema::assert_jsonrpc_payload);
    }
}

// Its docs are the file's own (an outer doc comment here would not see its items).
#[path = "../../mcp-core/tests/support/schema.rs"]
pub mod schema;

/// The data of one SSE event: its `data:` lines joined with newlines.
fn event_data(event: &str) -> String {
    let lines: Vec<&str> = event
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    lines.join("\n")
}

/// The JSON messages of SSE text, in order (events without data skipped); an event's
/// `data:` lines are joined with newlines, as SSE clients do.
pub fn sse_messages(text: &str) -> Vec<serde_json::Value> {
    text.split("\n\n")
        .map(event_data)
        .filter(|data| !data.trim().is_empty())
        .map(|data| serde_json::from_str(&data).expect("SSE data is JSON"))
        .collect()
}

/// The `(id, data)` of every event of an SSE body that has an id; comments (keep-alives) and
/// id-less blocks are skipped.
pub fn sse_events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|event| event.lines().any(|line| line.starts_with("id: ")))
        .map(|event| {
            let id = event
                .lines()
                .find_map(|line| line.strip_prefix("id: "))
                .unwrap_or_default()
                .to_owned();
            (id, event_data(event))
        })
        .collect()
}

/// Reads a streamed body until its text so far contains `needle`, and returns that text;
/// panics when 5 s pass without a frame or the stream ends first.
pub async fn read_until(body: &mut hyper::body::Incoming, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
            .await
            .expect("a frame in time")
            .expect("stream open")
            .expect("frame");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    seen
}

/// The stream's next frame as text, waiting at most `within`; `None` at its end. Panics when
/// the stream is cut or a frame is not data.
pub async fn next_text(
    body: &mut hyper::body::Incoming,
    within: std::time::Duration,
) -> Option<String> {
    let frame = tokio::time::timeout(within, body.frame())
        .await
        .expect("a frame, or the end, in time")?
        .expect("the stream is not cut");
    let data = frame.into_data().expect("data frames only");
    Some(String::from_utf8(data.to_vec()).expect("UTF-8"))
}

/// The id of the last SSE event in `text` (what a client resumes from).
pub fn last_event_id(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .expect("an event id")
        .to_owned()
}

impl TestClient {
    /// Resumes a stream of `session` with `Last-Event-ID: last_id` (GET).
    pub async fn resume(&self, session: &str, last_id: &str) -> Reply {
        self.send(
            Method::GET,
            "",
            &[
                ("mcp-session-id", session),
                ("accept", "text/event-stream"),
                ("last-event-id", last_id),
            ],
        )
        .await
    }

    /// A client for `server`.
    pub fn new(server: &TestServer) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url: server.url(),
        }
    }

    /// Sends a request with the standard MCP headers plus `extra`.
    pub async fn send(
        &self,
        method: Method,
        body: impl Into<Bytes>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let response = self.send_streaming(method, body, extra).await;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        let reply = Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        };
        reply.assert_messages_follow_the_schema();
        reply
    }

    /// Sends a request and returns the response with its body unread (for streams).
    pub async fn send_streaming(
        &self,
        method: Method,
        body: impl Into<Bytes>,
        extra: &[(&str, &str)],
    ) -> Response<hyper::body::Incoming> {
        let mut builder = Request::builder().method(method).uri(&self.url);
        let has = |name: &str| extra.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if !has("accept") {
            builder = builder.header("accept", "application/json, text/event-stream");
        }
        if !has("content-type") {
            builder = builder.header("content-type", "application/json");
        }
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body.into())).expect("request");
        self.client.request(request).await.expect("send")
    }

    /// POSTs a JSON body.
    pub async fn post(&self, body: &serde_json::Value, extra: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, serde_json::to_vec(body).expect("json"), extra)
            .await
    }

    /// Runs `initialize` + `notifications/initialized`; returns the session id.
    pub async fn initialize(&self, version: &str) -> String {
        let reply = self
            .post(
                &serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
                    "protocolVersion": version,
                    "capabilities": {"sampling": {}, "elicitation": {}, "roots": {}},
                    "clientInfo": {"name": "e2e", "version": "1.0.0"}}}),
                &[],
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let session = reply
            .header("mcp-session-id")
            .expect("session id")
            .to_owned();
        let ack = self
            .post(
                &serde_json::json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
                &[
                    ("mcp-session-id", &session),
                    ("mcp-protocol-version", version),
                ],
            )
            .await;
        assert_eq!(ack.status, 202);
        session
    }
}

/// The headers of a legacy request in `session` under `version`.
pub fn session_headers<'a>(session: &'a str, version: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("mcp-session-id", session),
        ("mcp-protocol-version", version),
    ]
}

/// The README's code, compiled as doc tests so it cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// A tool `forever` that runs until its request or task is cancelled, taking tasks as
/// `support` says.
pub fn forever_tool(support: mcp_core::protocol::TaskSupport) -> mcp_core::Tool {
    use mcp_core::{Json, RequestContext};
    mcp_core::Tool::new("forever")
        .execution(mcp_core::protocol::ToolExecution {
            task_support: Some(support),
        })
        .handler(
            |Json(_): Json<serde_json::Map<String, serde_json::Value>>, ctx: RequestContext| async move {
                ctx.cancelled().await;
                "cancelled"
            },
        )
}
