//! Body size, time and session-count limits.

use std::time::Duration;

use http::Method;
use mcp_e2e::TestClient;
use mcp_tower::{McpServer, SessionConfig};
use serde_json::json;

use super::{router, start, start_as_x_user};

#[tokio::test]
async fn body_over_limit_is_413() {
    let (server, client, _) = start(|r| {
        McpServer::builder(r)
            .http_config(mcp_tower::StreamableHttpConfig::default().max_body_bytes(1024))
    })
    .await;
    let big = json!({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"x".repeat(4096)}});
    let reply = client.post(&big, &[]).await;
    assert_eq!(reply.status, 413);
    // A declared length over the limit is refused from the head alone: no 100 Continue, no
    // wait for a body (the body timeout is 30 s here).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nexpect: 100-continue\r\n\
         content-length: 100000000\r\n\r\n",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut received))
        .await
        .expect("answered and closed without the body")
        .expect("read");
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_the_connection_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, client, _) = start(|r| {
        McpServer::builder(r).http_config(
            mcp_tower::StreamableHttpConfig::default().body_timeout(Duration::from_millis(300)),
        )
    })
    .await;
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let started = std::time::Instant::now();
    // Half of the announced body, then nothing.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: 40\r\n\r\n\
         {{\"jsonrpc\":\"2.0\",",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut received))
        .await
        .expect("the server answers and closes");
    assert!(read.is_ok());
    let waited = started.elapsed();
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("Request Timeout"), "{received}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    // The endpoint still serves everyone else.
    assert!(!client.initialize("2025-11-25").await.is_empty());
}

/// Bodies still arriving share a budget: with two of them held open, a third that would pass
/// it gets 503 and its connection closes, and once they end the budget is free again.
#[tokio::test]
async fn bodies_still_arriving_are_bounded_in_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, client, _) = start(|r| {
        McpServer::builder(r)
            .http_config(mcp_tower::StreamableHttpConfig::default().max_arriving_body_bytes(50))
    })
    .await;
    // 20 bytes of an announced 40 each, then nothing.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: 40\r\n\r\n\
         {{\"jsonrpc\":\"2.0\",\"id\":",
        server.addr
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        held.push(socket);
    }
    // Each held body is charged once the server has read it and waits for more.
    let mut received = String::new();
    for _ in 0..50 {
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_millis(200), socket.read_to_end(&mut answer));
        if read.await.is_ok() {
            received = String::from_utf8_lossy(&answer).into_owned();
            break;
        }
    }
    assert!(received.starts_with("HTTP/1.1 503"), "{received}");
    assert!(
        received.to_ascii_lowercase().contains("retry-after: 1"),
        "{received}"
    );
    drop(held);
    // Once the server sees the held connections end, their bytes are back: a body arriving in
    // parts is read again.
    let mut answer = String::new();
    for _ in 0..50 {
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A closed connection (503) may refuse the rest.
        let _ = socket.write_all(br#"1,"method":"ping"}"#).await;
        let mut buffer = vec![0; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer));
        let n = read.await.expect("answered").unwrap_or(0);
        answer = String::from_utf8_lossy(&buffer[..n]).into_owned();
        if !answer.starts_with("HTTP/1.1 503") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Read and answered (without a session, the answer asks for one).
    assert!(answer.contains(r#""id":1"#), "{answer}");
    assert!(!client.initialize("2025-11-25").await.is_empty());
}

/// With a request timeout, a request still running past it is answered -32000 with its id,
/// and the session goes on.
#[tokio::test]
async fn a_request_past_the_timeout_is_answered_with_an_error() {
    use mcp_core::{RequestContext, Tool};
    let (_server, client, router) =
        start(|r| McpServer::builder(r).request_timeout(Duration::from_millis(200))).await;
    router.add_tool(
        Tool::new("stuck")
            .raw_handler(|_, _: RequestContext| async { std::future::pending::<String>().await }),
    );
    let session = client.initialize("2025-11-25").await;
    let headers = mcp_e2e::session_headers(&session, "2025-11-25");
    let stuck = json!({"jsonrpc":"2.0","id":9,"method":"tools/call",
                       "params":{"name":"stuck","arguments":{}}});
    let reply = client.post(&stuck, &headers).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["id"], 9, "{answer}");
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    let add = client.post(&super::call_add(10), &headers).await.json();
    assert_eq!(add["result"]["content"][0]["text"], "5", "{add}");
}

/// `initialize` as the principal named in `x-user` (none without it).
async fn initialize_as(client: &TestClient, user: Option<&str>) -> mcp_e2e::Reply {
    let headers: Vec<(&str, &str)> = user.map(|user| ("x-user", user)).into_iter().collect();
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
    client.post(&body, &headers).await
}

#[tokio::test]
async fn one_principal_cannot_take_every_session() {
    // A stand-in authenticator: the principal is whoever `x-user` names.
    let served = McpServer::builder(router())
        .sessions(
            SessionConfig::default()
                .max_sessions(5)
                .max_sessions_per_principal(2),
        )
        .into_http_service();
    let (_server, client) = start_as_x_user(served).await;

    let first = initialize_as(&client, Some("alice")).await;
    assert_eq!(first.status, 200);
    assert_eq!(initialize_as(&client, Some("alice")).await.status, 200);
    let refused = initialize_as(&client, Some("alice")).await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.json()["id"],
        0,
        "the refusal answers the initialize request"
    );
    assert_eq!(refused.json()["error"]["code"], -32000);
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("this principal"), "{message}");
    assert!(refused.header("mcp-session-id").is_none());

    // Others are not held back by alice's cap; unauthenticated clients only by the server's.
    assert_eq!(initialize_as(&client, Some("bob")).await.status, 200);
    assert_eq!(initialize_as(&client, None).await.status, 200);
    assert_eq!(initialize_as(&client, None).await.status, 200);
    assert_eq!(initialize_as(&client, Some("bob")).await.status, 503);

    // Ending one of alice's sessions gives her its slot back (and one of the server's).
    let alice = first.header("mcp-session-id").unwrap().to_owned();
    let deleted = client
        .send(
            Method::DELETE,
            "",
            &[("mcp-session-id", &alice), ("x-user", "alice")],
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(initialize_as(&client, Some("alice")).await.status, 200);
}

#[tokio::test]
async fn a_session_cap_refusal_is_marked_as_one_for_telemetry() {
    use tower::ServiceExt;
    let served = McpServer::builder(router())
        .sessions(
            SessionConfig::default()
                .max_sessions(2)
                .max_sessions_per_principal(1),
        )
        .into_http_service::<http_body_util::Full<bytes::Bytes>>();
    let initialize = |user: &str| {
        let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
        let mut request = http::Request::post("http://localhost/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(http_body_util::Full::from(body.to_string()))
            .unwrap();
        request
            .extensions_mut()
            .insert(mcp_core::Principal::new(user));
        served.clone().oneshot(request)
    };
    let first = initialize("alice").await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.extensions().get::<mcp_core::RefusedBy>().is_none());
    // The principal's cap (429: not a rate limit) and the server's (503).
    let refused = initialize("alice").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused.extensions().get::<mcp_core::RefusedBy>(),
        Some(&mcp_core::RefusedBy::SessionLimit)
    );
    assert_eq!(initialize("bob").await.unwrap().status(), 200);
    let full = initialize("carol").await.unwrap();
    assert_eq!(full.status(), 503);
    assert_eq!(
        full.extensions().get::<mcp_core::RefusedBy>(),
        Some(&mcp_core::RefusedBy::SessionLimit)
    );
}

/// A session keeps its client's capabilities for its life: an `initialize` declaring more
/// than the limit is refused (-32602) and opens no session; one within it opens one.
#[tokio::test]
async fn declared_capabilities_are_bounded() {
    let (_server, client, _) = start(|r| {
        McpServer::builder(r)
            .http_config(mcp_tower::StreamableHttpConfig::default().max_capabilities_bytes(64))
    })
    .await;
    let initialize = |capabilities: serde_json::Value| {
        json!({"jsonrpc":"2.0","id":7,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":capabilities,
            "clientInfo":{"name":"x","version":"1"}}})
    };
    let zeros = json!({"experimental":{"x":vec![0; 100]}});
    let refused = client.post(&initialize(zeros), &[]).await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.json()["id"], 7);
    assert_eq!(refused.json()["error"]["code"], -32602);
    let message = refused.json()["error"]["message"].to_string();
    assert!(message.contains("limit of 64 bytes"), "{message}");
    assert!(refused.header("mcp-session-id").is_none());
    let usual = json!({"sampling":{},"elicitation":{},"roots":{"listChanged":true}});
    let opened = client.post(&initialize(usual), &[]).await;
    assert_eq!(opened.json()["result"]["protocolVersion"], "2025-11-25");
    assert!(opened.header("mcp-session-id").is_some());
}

/// A refusal sent before the request's body is read says that the connection closes after
/// it (hyper would otherwise close it unannounced when the body is larger than what it
/// buffered, and the client's next request on it would be lost); one to a request without a
/// body keeps the connection.
#[tokio::test]
async fn a_refusal_that_leaves_the_body_unread_closes_the_connection() {
    let (_server, client, _) = start(McpServer::builder).await;
    let big = json!({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"x".repeat(200_000)}});
    let body = serde_json::to_vec(&big).unwrap();
    for (case, extra) in [
        ("415", vec![("content-type", "text/plain")]),
        ("406", vec![("accept", "application/json")]),
        ("404 session", vec![("mcp-session-id", "no-such-session")]),
    ] {
        let reply = client.send(Method::POST, body.clone(), &extra).await;
        assert!(reply.status.is_client_error(), "{case}: {}", reply.status);
        assert_eq!(reply.header("connection"), Some("close"), "{case}");
    }
    let reply = client.send(Method::PUT, body.clone(), &[]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("connection"), Some("close"));
    // No body announced: the connection stays.
    let reply = client
        .send(Method::GET, "", &[("accept", "application/json")])
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    assert_eq!(reply.header("connection"), None);
}

/// `Content-Type` is single-valued: sent twice, the request is refused whatever the order,
/// rather than served on the first value.
#[tokio::test]
async fn a_repeated_content_type_is_refused() {
    let (_server, client, _) = start(McpServer::builder).await;
    let ping = serde_json::to_vec(&json!({"jsonrpc":"2.0","id":1,"method":"ping"})).unwrap();
    for types in [
        [
            ("content-type", "application/json"),
            ("content-type", "text/plain"),
        ],
        [
            ("content-type", "text/plain"),
            ("content-type", "application/json"),
        ],
        [
            ("content-type", "application/json"),
            ("content-type", "application/json"),
        ],
    ] {
        let reply = client.send(Method::POST, ping.clone(), &types).await;
        assert_eq!(reply.status, 400, "{types:?}");
        assert_eq!(reply.json()["error"]["code"], -32600);
    }
}
