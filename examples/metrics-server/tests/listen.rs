//! The server's declared capabilities hold: a 2026-07-28 `subscriptions/listen` for list
//! changes opens a stream and is acknowledged (it was refused with -32600 when the stack did
//! not deliver the router's events).

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn subscriptions_listen_is_acknowledged() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = metrics_server::app(metrics_server::router(), String::new);
    let server = tokio::spawn(mcp_tower::serve(listener, service));

    let listen = r#"{"jsonrpc":"2.0","id":7,"method":"subscriptions/listen","params":{
        "notifications":{"toolsListChanged":true},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(Full::new(bytes::Bytes::from(listen)))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(
        first.contains("notifications/subscriptions/acknowledged")
            && first.contains(r#""toolsListChanged":true"#),
        "{first}"
    );
    server.abort();
}
