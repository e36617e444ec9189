//! Streams over a real socket: cancellation (notification and disconnect), duplicate ids,
//! resumption with Last-Event-ID (of a connected stream too, after the store's maximum age,
//! from before what the store kept), slow clients, bounded pending requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use http_body_util::BodyExt;
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, last_event_id, read_until, sse_events};
use mcp_tower::streamable::InMemoryEventStore;
use mcp_tower::{McpServer, StreamableHttpConfig};
use serde_json::{Value, json};
use tokio::sync::Notify;

mod cancellation;
mod resumption;

type Args = Json<serde_json::Map<String, Value>>;

struct Probe {
    cancelled: AtomicUsize,
    started: Notify,
    /// Lets the `gated` tool go on to its second step.
    proceed: Notify,
}

impl Probe {
    /// Waits until `count` handlers saw their cancellation.
    async fn cancelled_reaches(&self, count: usize) {
        wait_for(|| self.cancelled.load(Ordering::SeqCst) == count).await;
    }
}

fn router(probe: Arc<Probe>) -> Router {
    let wait_probe = Arc::clone(&probe);
    Router::builder()
        .tool(Tool::new("wait").description("Waits until cancelled").handler(
            move |Json(_): Args, ctx: RequestContext| {
                let probe = Arc::clone(&wait_probe);
                async move {
                    // Send something first so the answer becomes an SSE stream.
                    ctx.progress(0.0, None, None).await;
                    probe.started.notify_one();
                    tokio::select! {
                        () = ctx.cancelled() => {
                            probe.cancelled.fetch_add(1, Ordering::SeqCst);
                            "cancelled".to_owned()
                        }
                        () = tokio::time::sleep(Duration::from_secs(10)) => "timed out".to_owned(),
                    }
                }
            },
        ))
        .tool(Tool::new("polling").description("Closes its stream, answers later").handler(
            |Json(_): Args, ctx: RequestContext| async move {
                ctx.close_sse_stream().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                "after reconnection"
            },
        ))
        .tool(Tool::new("steps").description("Two steps, some time apart").handler(
            |Json(_): Args, ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), None).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                ctx.progress(2.0, Some(2.0), None).await;
                "both steps done"
            },
        ))
        .tool(Tool::new("gated").description("Two steps, the second when let go").handler({
            let probe = Arc::clone(&probe);
            move |Json(_): Args, ctx: RequestContext| {
                let probe = Arc::clone(&probe);
                async move {
                    ctx.progress(1.0, Some(2.0), None).await;
                    probe.proceed.notified().await;
                    ctx.progress(2.0, Some(2.0), None).await;
                    "both steps done"
                }
            }
        }))
        .tool(Tool::new("panics").description("Sends progress, then panics").handler(
            |Json(_): Args, ctx: RequestContext| async move {
                ctx.progress(1.0, None, None).await;
                // After the answer has become a stream with a task of its own.
                tokio::time::sleep(Duration::from_millis(50)).await;
                panic!("a handler bug");
                #[allow(unreachable_code)]
                "never"
            },
        ))
        .tool(Tool::new("quiet").description("Waits, sending nothing").handler({
            let probe = Arc::clone(&probe);
            move |Json(_): Args, ctx: RequestContext| {
                let probe = Arc::clone(&probe);
                async move {
                    // A dropped handler observes nothing: work it spawned sees the token.
                    let watcher = Arc::clone(&probe);
                    let token = ctx.cancellation_token().clone();
                    tokio::spawn(async move {
                        token.cancelled().await;
                        watcher.cancelled.fetch_add(1, Ordering::SeqCst);
                    });
                    probe.started.notify_one();
                    std::future::pending::<&str>().await
                }
            }
        }))
        .tool(Tool::new("chatter").description("Reports progress until cancelled").handler({
            let probe = Arc::clone(&probe);
            move |Json(_): Args, ctx: RequestContext| {
                let probe = Arc::clone(&probe);
                async move {
                    // As fast as the stream takes them: the writer is always busy writing.
                    let mut step = 0.0;
                    while !ctx.is_cancelled() {
                        ctx.progress(step, None, None).await;
                        step += 1.0;
                        tokio::task::yield_now().await;
                    }
                    probe.cancelled.fetch_add(1, Ordering::SeqCst);
                    "cancelled"
                }
            }
        }))
        .tool(Tool::new("fast").description("Answers at once").handler(
            |Json(_): Args, _: RequestContext| async move { "fast" },
        ))
        .tool(Tool::new("roots").description("Asks for roots").handler(
            |Json(_): Args, ctx: RequestContext| async move {
                match ctx.list_roots().await {
                    Ok(_) => "answered".to_owned(),
                    Err(e) => e.message.into_owned(),
                }
            },
        ))
        .build()
}

async fn start(config: StreamableHttpConfig) -> (TestServer, TestClient, Arc<Probe>) {
    let probe = Arc::new(Probe {
        cancelled: AtomicUsize::new(0),
        started: Notify::new(),
        proceed: Notify::new(),
    });
    let service = McpServer::builder(router(Arc::clone(&probe)))
        .http_config(config)
        .into_http_service();
    let server = TestServer::start(service).await;
    let client = TestClient::new(&server);
    (server, client, probe)
}

fn call(id: i64, tool: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{},"_meta":{"progressToken":id}}})
}

async fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 2 s");
}

/// POSTs `message` in `session`; the response with its body unread (for streams).
async fn post_streaming(
    client: &TestClient,
    session: &str,
    message: Value,
) -> http::Response<hyper::body::Incoming> {
    let body = serde_json::to_vec(&message).unwrap();
    client
        .send_streaming(Method::POST, body, &[("mcp-session-id", session)])
        .await
}

/// The rest of a streamed body, up to its end; panics if it has not ended in 5 s.
async fn rest_of(body: hyper::body::Incoming) -> String {
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .expect("the stream ends")
        .expect("body");
    String::from_utf8_lossy(&rest.to_bytes()).into_owned()
}

#[tokio::test]
async fn a_stalled_stream_does_not_block_other_requests() {
    let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    // An SSE response nobody reads.
    let stalled = post_streaming(&client, &session, call(1, "wait")).await;
    probe.started.notified().await;
    for id in 2..20 {
        let reply = tokio::time::timeout(
            Duration::from_secs(5),
            client.post(&call(id, "fast"), &[("mcp-session-id", &session)]),
        )
        .await
        .expect("not blocked by the stalled stream");
        assert_eq!(reply.json()["result"]["content"][0]["text"], "fast");
    }
    drop(stalled);
}

#[tokio::test]
async fn pending_client_requests_are_bounded() {
    let config = StreamableHttpConfig::default().max_pending_client_requests(1);
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    // The first roots/list request waits for an answer that never comes.
    let first = post_streaming(&client, &session, call(1, "roots")).await;
    let mut body = first.into_body();
    read_until(&mut body, "roots/list").await;
    // The second finds the table full and fails cleanly instead of queueing.
    let second = client
        .post(&call(2, "roots"), &[("mcp-session-id", &session)])
        .await;
    let last = second.sse_messages().pop().expect("response");
    assert_eq!(
        last["result"]["content"][0]["text"],
        "too many server-to-client requests awaiting answers"
    );
}
