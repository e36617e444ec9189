//! Body size and time limits.

use std::time::Duration;

use mcp_tower::McpServer;
use serde_json::json;

use super::start;

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
