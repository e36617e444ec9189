//! DNS-rebinding protection over a real socket: request targets and Host lines that a client
//! library would not send, so they are written by hand.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mcp_core::Router;
use mcp_e2e::{TestClient, TestServer};
use mcp_tower::McpServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1.0.0"}}}"#;

async fn start() -> TestServer {
    let router = Router::builder().name("e2e", "1.0.0").build();
    TestServer::start(McpServer::builder(router).into_http_service()).await
}

/// Writes `POST {target}` with these Host lines and an `initialize` body; returns the status
/// and the body (the connection is closed after one response).
async fn raw_post(server: &TestServer, target: &str, hosts: &[&str]) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut head = format!("POST {target} HTTP/1.1\r\n");
    for host in hosts {
        head.push_str(&format!("host: {host}\r\n"));
    }
    head.push_str(&format!(
        "content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{INITIALIZE}",
        INITIALIZE.len()
    ));
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut received))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let received = String::from_utf8(received).expect("utf-8");
    let status = received
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {received}"));
    let body = received
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}

fn error_code(body: &str) -> Value {
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("json: {body}"));
    body["error"]["code"].clone()
}

#[tokio::test]
async fn absolute_form_target_is_checked_instead_of_host() {
    let server = start().await;
    let loopback = server.addr.to_string();
    // The Host is ignored when the target is absolute (RFC 9112 §3.2.2).
    let (status, body) = raw_post(&server, "http://evil.example/mcp", &["127.0.0.1"]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(&body), json!(-32000));
    let target = "http://localhost:80@evil.example/mcp";
    let (status, body) = raw_post(&server, target, &[&loopback]).await;
    assert_eq!(status, 403, "{body}");
    // A loopback target is served, and so is the usual origin-form request.
    let target = format!("http://{loopback}/mcp");
    let (status, body) = raw_post(&server, &target, &[&loopback]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw_post(&server, "/mcp", &[&loopback]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_http11_request_without_host_is_a_bad_request() {
    let server = start().await;
    let (status, body) = raw_post(&server, "/mcp", &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), json!(-32600));
}

#[tokio::test]
async fn a_host_that_is_not_a_host_and_port_is_a_bad_request() {
    let server = start().await;
    for host in ["localhost:80@evil.example.com", "127.0.0.1:8o", "[::1"] {
        let (status, body) = raw_post(&server, "/mcp", &[host]).await;
        assert_eq!(status, 400, "{host}: {body}");
        assert_eq!(error_code(&body), json!(-32600));
    }
}

#[tokio::test]
async fn two_host_lines_are_a_bad_request() {
    let server = start().await;
    let (status, body) = raw_post(&server, "/mcp", &["127.0.0.1", "evil.example.com"]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), json!(-32600));
}

#[tokio::test]
async fn origin_with_userinfo_is_refused() {
    let server = start().await;
    let client = TestClient::new(&server);
    let body = serde_json::from_str::<Value>(INITIALIZE).unwrap();
    let reply = client
        .post(&body, &[("origin", "http://localhost:80@evil.com")])
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    let reply = client.post(&body, &[("origin", "http://[::1]:8080")]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

#[tokio::test]
async fn http2_authority_is_checked() {
    let server = start().await;
    let socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(socket))
            .await
            .expect("h2c handshake");
    tokio::spawn(connection);
    // HTTP/2 has no Host line here: `:authority` is the host.
    let loopback = format!("http://{}/mcp", server.addr);
    for (uri, status) in [(loopback.as_str(), 200), ("http://evil.example/mcp", 403)] {
        let request = Request::post(uri)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Full::new(Bytes::from_static(INITIALIZE.as_bytes())))
            .unwrap();
        let response = sender.send_request(request).await.expect("response");
        let got = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(got, status, "{uri}: {body:?}");
    }
}
