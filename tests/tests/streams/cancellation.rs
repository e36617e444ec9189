//! Cancellation: by `notifications/cancelled`, and by a client that disconnects (before any
//! message, while quiet, mid-write, stateless).

use super::*;

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
    probe.cancelled_reaches(1).await;
    // A request is answered with JSON or SSE, never with the 202 of a notification: here
    // with a stream that ends without a response.
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
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
    let response = post_streaming(&client, &session, call(6, "wait")).await;
    probe.started.notified().await;
    drop(response);
    probe.cancelled_reaches(1).await;
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
    probe.cancelled_reaches(1).await;
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
        let response = post_streaming(&client, &session, call(3, "chatter")).await;
        let mut body = response.into_body();
        read_until(&mut body, "notifications/progress").await;
        drop(body);
        probe.cancelled_reaches(1).await;
    }
}

/// A session ended by its client (DELETE) while a request runs: the handler is cancelled,
/// and the request is answered with its id and -32001, as the session's next request is
/// (404 when nothing was sent yet; on the request's stream when its handler had started
/// one), rather than with a stream that ends with no response, which left the client
/// waiting for its timeout.
#[tokio::test]
async fn a_request_of_a_deleted_session_is_answered_session_not_found() {
    for (version, tool) in [
        ("2025-06-18", "quiet"),
        ("2025-06-18", "wait"),
        ("2025-11-25", "quiet"),
        ("2025-11-25", "wait"),
    ] {
        let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
        let session = client.initialize(version).await;
        let pending = {
            let client = client.clone();
            let session = session.clone();
            tokio::spawn(async move {
                let headers = mcp_e2e::session_headers(&session, version);
                client.post(&call(5, tool), &headers).await
            })
        };
        probe.started.notified().await;
        let deleted = client
            .send(Method::DELETE, "", &[("mcp-session-id", &session)])
            .await;
        assert_eq!(deleted.status, 200);
        let reply = pending.await.expect("join");
        probe.cancelled_reaches(1).await;
        let case = format!("{version} {tool}: {:?}", reply.body);
        let answer = if tool == "quiet" {
            assert_eq!(reply.status, 404, "{case}");
            reply.json()
        } else {
            assert_eq!(reply.status, 200, "{case}");
            let answer = reply.sse_messages().into_iter().find(|m| m["id"] == 5);
            answer.unwrap_or_else(|| panic!("no answer: {case}"))
        };
        assert_eq!(answer["id"], 5, "{case}");
        assert_eq!(answer["error"]["code"], -32001, "{case}");
    }
}

/// A request its client cancelled gets no answer, as the cancellation rules ask, even when
/// the session then ends before the request's stream does.
#[tokio::test]
async fn a_request_cancelled_before_its_session_ends_gets_no_answer() {
    for tool in ["quiet", "wait"] {
        let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
        let session = client.initialize("2025-11-25").await;
        let headers = mcp_e2e::session_headers(&session, "2025-11-25");
        let pending = {
            let client = client.clone();
            let headers = headers.map(|(k, v)| (k, v.to_owned()));
            tokio::spawn(async move {
                let headers = headers.each_ref().map(|(k, v)| (*k, v.as_str()));
                client.post(&call(5, tool), &headers).await
            })
        };
        probe.started.notified().await;
        let cancel =
            json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}});
        assert_eq!(client.post(&cancel, &headers).await.status, 202);
        let deleted = client.send(Method::DELETE, "", &headers).await;
        assert_eq!(deleted.status, 200);
        let reply = pending.await.expect("join");
        assert_eq!(reply.status, 200, "{tool}: {:?}", reply.body);
        assert!(
            !reply.sse_messages().iter().any(|m| m["id"] == 5),
            "{tool}: answered {:?}",
            reply.body
        );
    }
}
