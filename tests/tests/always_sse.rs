//! `ResponseMode::AlwaysSse` over a real socket: a request answered in its handler's first
//! poll is one complete SSE body (priming event, then the response), recorded for resumption
//! when a session could resume it;
//! messages sent before the answer, and handlers that wait, still stream in order. A
//! 2026-07-28 answer that is a direct error keeps its status, as JSON; an `initialize`
//! answered with an error opens no session.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, sse_events};
use mcp_tower::streamable::{EventStore, InMemoryEventStore, Replay, StoredEvent};
use mcp_tower::{McpServer, ResponseMode, StreamableHttpConfig};
use serde_json::{Value, json};

type Args = Json<serde_json::Map<String, Value>>;

fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("fast")
                .description("Answers at once")
                .handler(|Json(_): Args, _: RequestContext| async move { "fast" }),
        )
        .tool(
            Tool::new("tell_then_answer")
                .description("Sends progress and answers in the same poll")
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    ctx.progress(1.0, Some(1.0), None).await;
                    "told"
                }),
        )
        .tool(
            Tool::new("slow")
                .description("Answers after a while")
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    ctx.progress(0.5, Some(1.0), None).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    "slow"
                }),
        )
        .tool(
            Tool::new("roots_later")
                .description("Asks for the client's roots after a while")
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    ctx.list_roots()
                        .await
                        .map(|roots| roots.roots.len().to_string())
                }),
        )
        .build()
}

async fn start(stateless: bool) -> (TestServer, TestClient) {
    start_with(stateless, StreamableHttpConfig::default()).await
}

async fn start_with(stateless: bool, config: StreamableHttpConfig) -> (TestServer, TestClient) {
    let mut builder =
        McpServer::builder(router()).http_config(config.response_mode(ResponseMode::AlwaysSse));
    if stateless {
        builder = builder.stateless();
    }
    let service = builder.into_http_service();
    let server = TestServer::start(service).await;
    let client = TestClient::new(&server);
    (server, client)
}

fn call(id: i64, tool: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{},"_meta":{"progressToken":id}}})
}

/// The `(id, data)` of every event of an SSE body.
fn events(body: &[u8]) -> Vec<(String, String)> {
    sse_events(&String::from_utf8_lossy(body))
}

/// The stream part of an event id (`<stream>-<sequence>`).
fn stream_of(id: &str) -> &str {
    id.rsplit_once('-').expect("a stream event id").0
}

#[tokio::test]
async fn an_immediate_answer_is_one_complete_stream() {
    let (_server, client) = start(false).await;
    let session = client.initialize("2025-11-25").await;
    let reply = client
        .post(&call(1, "fast"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    // Known in full when the headers were written.
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    let stream = events(&reply.body);
    assert_eq!(stream.len(), 2, "{:?}", reply.body);
    let (prime_id, prime_data) = &stream[0];
    assert!(prime_id.ends_with("-0"), "{prime_id}");
    assert!(prime_data.is_empty());
    assert!(String::from_utf8_lossy(&reply.body).contains("retry: "));
    let (answer_id, answer) = &stream[1];
    assert_eq!(answer_id, &format!("{}-1", stream_of(prime_id)));
    let answer: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["content"][0]["text"], "fast");

    // Recorded like any stream: a client that lost it after the priming event gets the rest.
    let resumed = client.resume(&session, prime_id).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    assert_eq!(messages.len(), 1, "{:?}", resumed.body);
    assert_eq!(messages[0]["result"]["content"][0]["text"], "fast");

    // Each request has its own stream.
    let again = client
        .post(&call(2, "fast"), &[("mcp-session-id", &session)])
        .await;
    let again = events(&again.body);
    assert_ne!(stream_of(&again[0].0), stream_of(prime_id));
}

#[tokio::test]
async fn an_immediate_answer_without_a_session_is_one_stream_too() {
    let (_server, client) = start(true).await;
    let reply = client
        .post(&call(3, "fast"), &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let messages = reply.sse_messages();
    assert_eq!(messages.len(), 1, "{:?}", reply.body);
    assert_eq!(messages[0]["id"], 3);
    assert_eq!(messages[0]["result"]["content"][0]["text"], "fast");
}

/// An event store that counts the streams opened in it.
struct CountingStore {
    opened: Arc<AtomicUsize>,
    inner: InMemoryEventStore,
}

impl EventStore for CountingStore {
    fn open_stream(&self, stream: u64, session: &str) {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.inner.open_stream(stream, session);
    }
    fn append(&self, stream: u64, event: StoredEvent) {
        self.inner.append(stream, event);
    }
    fn finish(&self, stream: u64) {
        self.inner.finish(stream);
    }
    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay> {
        self.inner.replay(stream, session, after)
    }
}

#[tokio::test]
async fn only_streams_a_session_could_resume_are_recorded() {
    // Resumable only with a session and the GET stream that resumes.
    for (stateless, get_stream) in [(true, true), (false, false), (false, true)] {
        let resumable = !stateless && get_stream;
        let opened = Arc::new(AtomicUsize::new(0));
        let store = CountingStore {
            opened: Arc::clone(&opened),
            inner: InMemoryEventStore::default(),
        };
        let config = StreamableHttpConfig::default()
            .event_store(Some(Arc::new(store)))
            .get_stream(get_stream);
        let (_server, client) = start_with(stateless, config).await;
        let headers = if stateless {
            vec![("mcp-protocol-version", "2025-11-25".to_owned())]
        } else {
            let session = client.initialize("2025-11-25").await;
            vec![
                ("mcp-protocol-version", "2025-11-25".to_owned()),
                ("mcp-session-id", session),
            ]
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (id, tool) in [(1, "fast"), (2, "slow")] {
            let reply = client.post(&call(id, tool), &headers).await;
            assert_eq!(reply.status, 200);
            assert_eq!(reply.sse_messages().last().unwrap()["id"], id);
            // Event ids and the priming event's `retry` invite a resumption: only a stream
            // that can be resumed has them.
            let text = String::from_utf8_lossy(&reply.body);
            let invites = text
                .lines()
                .any(|l| l.starts_with("id:") || l.starts_with("retry:"));
            assert_eq!(
                invites, resumable,
                "stateless {stateless}, GET {get_stream}: {text}"
            );
        }
        // What no GET may resume is not recorded: it would only cost.
        let expected = if resumable { 2 } else { 0 };
        assert_eq!(
            opened.load(Ordering::SeqCst),
            expected,
            "stateless {stateless}, GET {get_stream}"
        );
    }
}

#[tokio::test]
async fn messages_sent_before_the_answer_come_first() {
    let (_server, client) = start(false).await;
    let session = client.initialize("2025-11-25").await;
    for (id, tool, text) in [(4, "tell_then_answer", "told"), (5, "slow", "slow")] {
        let reply = client
            .post(&call(id, tool), &[("mcp-session-id", &session)])
            .await;
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        let stream = events(&reply.body);
        assert!(stream[0].0.ends_with("-0") && stream[0].1.is_empty());
        let messages = reply.sse_messages();
        assert_eq!(messages.len(), 2, "{tool}: {:?}", reply.body);
        assert_eq!(messages[0]["method"], "notifications/progress");
        assert_eq!(messages[0]["params"]["progressToken"], id);
        assert_eq!(messages[1]["id"], id);
        assert_eq!(messages[1]["result"]["content"][0]["text"], text);
    }
}

/// A 2026-07-28 request of `method` with `params`, its `_meta` and routing headers.
fn modern(id: i64, method: &str, mut params: Value) -> (Value, Vec<(&'static str, String)>) {
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                             "io.modelcontextprotocol/clientCapabilities": {}});
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28".to_owned()),
        ("mcp-method", method.to_owned()),
    ];
    if let Some(name) = params["name"].as_str() {
        headers.push(("mcp-name", name.to_owned()));
    }
    let body = json!({"jsonrpc":"2.0","id":id,"method":method,"params":params});
    (body, headers)
}

#[tokio::test]
async fn modern_errors_keep_their_status_as_json() {
    let (_server, client) = start(false).await;
    let post = async |(body, headers): (Value, Vec<(&'static str, String)>)| {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        client.post(&body, &headers).await
    };
    let initialize = json!({"protocolVersion": "2026-07-28", "capabilities": {},
                            "clientInfo": {"name": "x", "version": "1"}});
    for (case, request, status, code) in [
        (
            "unknown method",
            modern(1, "nothing/here", json!({})),
            404,
            -32601,
        ),
        // A modern-shaped initialize: no such method, and no session either.
        (
            "initialize",
            modern(2, "initialize", initialize),
            404,
            -32601,
        ),
        // The handler fails after its first poll, before sending anything.
        (
            "missing capability",
            modern(
                3,
                "tools/call",
                json!({"name": "roots_later", "arguments": {}}),
            ),
            400,
            -32021,
        ),
    ] {
        let reply = post(request).await;
        assert_eq!(reply.status, status, "{case}: {:?}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{case}"
        );
        assert_eq!(reply.json()["error"]["code"], code, "{case}");
        assert!(reply.header("mcp-session-id").is_none(), "{case}");
    }
    // A modern answer that is not an error is still a stream.
    let reply = post(modern(
        4,
        "tools/call",
        json!({"name": "fast", "arguments": {}}),
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        reply.sse_messages()[0]["result"]["content"][0]["text"],
        "fast"
    );
}

#[tokio::test]
async fn a_refused_initialize_opens_no_session() {
    use mcp_core::jsonrpc::ErrorObject;
    use mcp_core::{McpRequest, McpResponse};
    use tower::ServiceExt;

    // A layer refusing every initialize with an error: legacy answers stay 200 SSE.
    let router = router();
    let refuse = tower::service_fn(move |request: McpRequest| {
        let router = router.clone();
        async move {
            if request.method() == Some("initialize") {
                let error = ErrorObject::new(-32003, "not you");
                return Ok(McpResponse::error_for(&request.message, error));
            }
            router.oneshot(request).await
        }
    });
    let http = tower::Layer::layer(
        &mcp_tower::SessionLayer::new(mcp_tower::SessionConfig::default()),
        tower::Layer::layer(
            &mcp_tower::StreamableHttpLayer::new(
                StreamableHttpConfig::default().response_mode(ResponseMode::AlwaysSse),
            ),
            refuse,
        ),
    );
    let server = TestServer::start(tower::util::BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
    let reply = client.post(&body, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.sse_messages()[0]["error"]["code"], -32003);
    assert!(reply.header("mcp-session-id").is_none());
}

/// A result written by hand, pretty-printed (a custom RPC-tier service), keeps its line
/// breaks on the wire: each line is a `data:` line of its own, and the client reads the
/// message whole, whether it is answered at once or after waiting.
#[tokio::test]
async fn a_result_with_line_breaks_stays_one_event() {
    use mcp_core::jsonrpc::{Message, RawJson, Response};
    use mcp_core::{McpRequest, McpResponse};
    use tower::Layer;

    let rpc = tower::service_fn(|request: McpRequest| async move {
        let Message::Request(request) = request.message else {
            return Ok::<_, std::convert::Infallible>(McpResponse::None);
        };
        if request.id == 2.into() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pretty = "{\n  \"content\": [\r\n    {\"type\": \"text\", \"text\": \"a\\nb\"}\n  ]\n}";
        let result = RawJson::parse(pretty.to_owned()).expect("json");
        Ok(McpResponse::Single(Response::result(request.id, result)))
    });
    let config = StreamableHttpConfig::default().response_mode(ResponseMode::AlwaysSse);
    let http = mcp_tower::StreamableHttpLayer::new(config).layer(rpc);
    let server = TestServer::start(tower::util::BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    for id in [1, 2] {
        let reply = client
            .post(&call(id, "any"), &[("mcp-protocol-version", "2025-11-25")])
            .await;
        let text = String::from_utf8_lossy(&reply.body);
        assert!(text.contains("\ndata:     {\"type\""), "{text}");
        let messages = reply.sse_messages();
        assert_eq!(messages.len(), 1, "{text}");
        assert_eq!(messages[0]["id"], id);
        assert_eq!(messages[0]["result"]["content"][0]["text"], "a\nb");
    }
}
