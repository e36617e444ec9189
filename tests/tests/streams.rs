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

type Args = Json<serde_json::Map<String, Value>>;

struct Probe {
    cancelled: AtomicUsize,
    started: Notify,
    /// Lets the `gated` tool go on to its second step.
    proceed: Notify,
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

#[tokio::test]
async fn cancelled_notification_stops_the_handler_and_suppresses_the_response() {
    let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let headers = [("mcp-session-id", session.as_str())];
    let pending = {
        let client = client.clone();
        let session = session.clone();
        tokio::spawn(async move {
            client
                .post(&call(5, "wait"), &[("mcp-session-id", session.as_str())])
                .await
        })
    };
    probe.started.notified().await;
    // The same id again while it runs: refused.
    let duplicate = client.post(&call(5, "fast"), &headers).await;
    assert_eq!(duplicate.json()["error"]["code"], -32600);
    let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user"}});
    assert_eq!(client.post(&cancel, &headers).await.status, 202);
    let reply = pending.await.expect("join");
    wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
    assert!(
        !reply.sse_messages().iter().any(|m| m["id"] == 5),
        "no response for a cancelled request: {:?}",
        reply.body
    );
}

#[tokio::test]
async fn client_disconnect_cancels_the_handler() {
    let (_server, client, probe) = start(StreamableHttpConfig::default().event_store(None)).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(6, "wait")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    probe.started.notified().await;
    drop(response);
    wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
}

/// Before anything was sent the answer would be plain JSON: no stream notices the client
/// leaving, the dropped request does. The request is written on a raw socket, closed while
/// the handler waits (a pooled client would keep its connection open).
#[tokio::test]
async fn client_disconnect_before_any_message_cancels_the_handler() {
    let (server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    disconnect_while_quiet(&server, &probe, &format!("mcp-session-id: {session}\r\n")).await;
    // The abandoned request has left the session: its id is free again (a request still
    // counted in flight would also keep the session from ever expiring).
    let again = client
        .post(&call(7, "fast"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(
        again.json()["result"]["content"][0]["text"],
        "fast",
        "{:?}",
        again.body
    );
}

/// The same without a session: the request's token is then made only when asked for (here by
/// the handler, after or before the disconnect: either way it fires).
#[tokio::test]
async fn client_disconnect_cancels_a_stateless_handler() {
    let probe = Arc::new(Probe {
        cancelled: AtomicUsize::new(0),
        started: Notify::new(),
        proceed: Notify::new(),
    });
    let service = McpServer::builder(router(Arc::clone(&probe)))
        .stateless()
        .into_http_service();
    let server = TestServer::start(service).await;
    disconnect_while_quiet(&server, &probe, "").await;
}

/// Posts a call of `quiet` on a raw socket and closes it once the handler runs.
async fn disconnect_while_quiet(server: &TestServer, probe: &Probe, extra_headers: &str) {
    use tokio::io::AsyncWriteExt;

    let body = serde_json::to_vec(&call(7, "quiet")).unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\n\
         {extra_headers}content-length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body).await.unwrap();
    probe.started.notified().await;
    drop(socket);
    wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test]
async fn resumption_replays_the_closed_stream() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let reply = client
        .post(&call(8, "polling"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8_lossy(&reply.body).to_string();
    assert!(
        reply.sse_messages().is_empty(),
        "closed before the answer: {text}"
    );
    let last_id = last_event_id(&text);
    let resumed = client.resume(&session, &last_id).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    assert_eq!(messages.len(), 1, "{:?}", resumed.body);
    assert_eq!(messages[0]["id"], 8);
    assert_eq!(
        messages[0]["result"]["content"][0]["text"],
        "after reconnection"
    );
    // Another session cannot resume this stream; a cursor the server does not know is
    // refused with 400, not the 404 that would tell the client its session is gone.
    let other = client.initialize("2025-11-25").await;
    let stolen = client.resume(&other, &last_id).await;
    assert_eq!(stolen.status, 400);
    for unknown in ["garbage", "999999-1"] {
        let reply = client.resume(&session, unknown).await;
        assert_eq!(reply.status, 400, "{unknown}");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Last-Event-ID")),
            "{unknown}: {:?}",
            reply.body
        );
    }
    let still_alive = client
        .post(&call(9, "fast"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(still_alive.status, 200, "{:?}", still_alive.body);
}

/// Clients of versions before SSE polling (2025-11-25) got no priming event and are not told
/// to resume: a handler's request to close their stream is declined, and the answer comes on
/// the stream that is open.
#[tokio::test]
async fn streams_of_clients_without_sse_polling_stay_open() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    for version in ["2025-03-26", "2025-06-18"] {
        let session = client.initialize(version).await;
        let reply = client
            .post(
                &call(8, "polling"),
                &[
                    ("mcp-session-id", &session),
                    ("mcp-protocol-version", version),
                ],
            )
            .await;
        // Nothing was sent before the answer, so it may come as plain JSON.
        let messages = match reply.header("content-type") {
            Some("text/event-stream") => reply.sse_messages(),
            _ => vec![reply.json()],
        };
        assert!(
            messages
                .iter()
                .any(|m| m["id"] == 8 && m["result"]["content"][0]["text"] == "after reconnection"),
            "{version}: {:?}",
            String::from_utf8_lossy(&reply.body)
        );
    }
}

#[tokio::test]
async fn a_stalled_stream_does_not_block_other_requests() {
    let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    // An SSE response nobody reads.
    let stalled = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(1, "wait")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
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
    let first = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(1, "roots")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
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

#[tokio::test]
async fn a_resumable_stream_is_cancelled_only_after_the_grace_period() {
    let config = StreamableHttpConfig::default().disconnect_grace(Duration::from_millis(300));
    let (_server, client, probe) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(6, "wait")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    probe.started.notified().await;
    drop(response);
    // Disconnection is not cancellation: the client may still resume...
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(probe.cancelled.load(Ordering::SeqCst), 0);
    // ...but a client that never comes back cancels the handler after the grace period.
    wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test]
async fn a_dropped_connection_resumes_where_it_stopped() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(11, "steps")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    // Read up to the first progress event, remember its id, then drop the connection.
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    let resumed = client.resume(&session, &last_event_id(&seen)).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    // Only what came after the last event seen: the second step, then the result.
    assert_eq!(messages.len(), 2, "{:?}", resumed.body);
    assert_eq!(messages[0]["params"]["progress"], 2.0);
    assert_eq!(messages[1]["id"], 11);
    assert_eq!(
        messages[1]["result"]["content"][0]["text"],
        "both steps done"
    );
}

/// A client that leaves while the handler keeps writing is noticed by the failed write,
/// not only by the stream's watch on the connection (which stopped once a write failed).
#[tokio::test]
async fn a_client_gone_mid_write_cancels_the_handler() {
    let grace = Duration::from_millis(100);
    for config in [
        StreamableHttpConfig::default().event_store(None),
        StreamableHttpConfig::default().disconnect_grace(grace),
    ] {
        let (_server, client, probe) = start(config).await;
        let session = client.initialize("2025-11-25").await;
        let response = client
            .send_streaming(
                Method::POST,
                serde_json::to_vec(&call(3, "chatter")).unwrap(),
                &[("mcp-session-id", &session)],
            )
            .await;
        let mut body = response.into_body();
        read_until(&mut body, "notifications/progress").await;
        drop(body);
        wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
    }
}

/// Resumes a stream of `session` from `last_id` (GET), its body unread.
async fn resume_streaming(
    client: &TestClient,
    session: &str,
    last_id: &str,
) -> http::Response<hyper::body::Incoming> {
    let headers = [
        ("mcp-session-id", session),
        ("accept", "text/event-stream"),
        ("last-event-id", last_id),
    ];
    client.send_streaming(Method::GET, "", &headers).await
}

/// The rest of a streamed body, up to its end; panics if it has not ended in 5 s.
async fn rest_of(body: hyper::body::Incoming) -> String {
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .expect("the stream ends")
        .expect("body");
    String::from_utf8_lossy(&rest.to_bytes()).into_owned()
}

/// The spec: a server MUST NOT send a message on more than one stream. A client that
/// resumes a stream whose connection the server still holds gets the stream on the new
/// connection, and the old one ends; a second resumption replaces the first in turn.
#[tokio::test]
async fn resuming_a_connected_stream_moves_it_to_the_new_connection() {
    let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(12, "gated")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    let mut original = response.into_body();
    let seen = read_until(&mut original, "notifications/progress").await;
    let last = last_event_id(&seen);
    let first = resume_streaming(&client, &session, &last).await;
    assert_eq!(first.status(), 200);
    let second = resume_streaming(&client, &session, &last).await;
    assert_eq!(second.status(), 200);
    probe.proceed.notify_one();

    // The replaced connections end with nothing more on them.
    assert_eq!(sse_events(&rest_of(original).await), []);
    assert_eq!(sse_events(&rest_of(first.into_body()).await), []);
    let events = sse_events(&rest_of(second.into_body()).await);
    let messages: Vec<Value> = events
        .iter()
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{events:?}");
    assert_eq!(messages[0]["params"]["progress"], 2.0);
    assert_eq!(messages[1]["id"], 12);
    assert_eq!(
        messages[1]["result"]["content"][0]["text"],
        "both steps done"
    );
}

/// The store's maximum age applies to streams that ended: a session stream that is merely
/// quiet stays resumable.
#[tokio::test]
async fn a_quiet_session_stream_is_resumable_after_the_maximum_age() {
    let max_age = Duration::from_millis(100);
    let store = Arc::new(InMemoryEventStore::new(16, 100, max_age));
    let config = StreamableHttpConfig::default().event_store(Some(store));
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("accept", "text/event-stream"),
    ];
    let stream = client.send_streaming(Method::GET, "", &headers).await;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body();
    let priming = read_until(&mut body, "retry: ").await;
    drop(body);
    tokio::time::sleep(max_age * 3).await;
    let resumed = resume_streaming(&client, &session, &last_event_id(&priming)).await;
    assert_eq!(resumed.status(), 200);
}

/// A cursor from before the events the store kept (here at most 2 per stream) would skip
/// what was trimmed after it without the client knowing: refused, as an unknown one is.
#[tokio::test]
async fn a_last_event_id_older_than_the_kept_events_is_refused() {
    let store = Arc::new(InMemoryEventStore::new(2, 100, Duration::from_secs(60)));
    let config = StreamableHttpConfig::default().event_store(Some(store));
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(13, "steps")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    // Three events (two steps, the answer): the first is trimmed, and the stream finishes.
    let last = last_event_id(&seen);
    let resumed = client.resume(&session, &last).await;
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.sse_messages().len(), 2, "{:?}", resumed.body);
    let (stream, _) = last.split_once('-').unwrap();
    let refused = client.resume(&session, &format!("{stream}-0")).await;
    assert_eq!(refused.status, 400);
    let message = refused.json()["error"]["message"].clone();
    assert!(
        message.as_str().is_some_and(|m| m.contains("older than")),
        "{message}"
    );
}

/// A client that resumed and then left the resumed stream too, for good, cancels the handler
/// as one that never resumed does, a grace period after.
#[tokio::test]
async fn leaving_the_resumed_stream_too_cancels_the_handler() {
    let grace = Duration::from_millis(200);
    let config = StreamableHttpConfig::default().disconnect_grace(grace);
    let (_server, client, probe) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(14, "wait")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    let resumed = resume_streaming(&client, &session, &last_event_id(&seen)).await;
    assert_eq!(resumed.status(), 200);
    // Followed past the grace period: not cancelled.
    tokio::time::sleep(grace * 2).await;
    assert_eq!(probe.cancelled.load(Ordering::SeqCst), 0);
    drop(resumed);
    wait_for(|| probe.cancelled.load(Ordering::SeqCst) == 1).await;
}

/// A handler that panics mid-stream is answered -32603 and its stream finishes in the store:
/// a resumption replays what it sent and ends, instead of waiting for a stream that never ends.
#[tokio::test]
async fn a_panicking_handler_finishes_its_stream() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call(15, "panics")).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    let last = last_event_id(&seen);
    let (stream, _) = last.split_once('-').unwrap();
    // The connection ends with the answer to the panic.
    rest_of(body).await;
    let resumed = resume_streaming(&client, &session, &format!("{stream}-0")).await;
    assert_eq!(resumed.status(), 200);
    let events = sse_events(&rest_of(resumed.into_body()).await);
    assert_eq!(
        events.len(),
        2,
        "the progress, the error, then the end: {events:?}"
    );
    let answer: Value = serde_json::from_str(&events[1].1).unwrap();
    assert_eq!(answer["id"], 15);
    assert_eq!(answer["error"]["code"], -32603);
}
