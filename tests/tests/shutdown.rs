//! Graceful shutdown over a real socket: open streams end as soon as it begins (a
//! `subscriptions/listen` stream after its cancellation and closing result), so the serve
//! future returns at once rather than after the grace period.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_core::Router;
use mcp_e2e::schema::SchemaSet;
use mcp_e2e::sse_messages;
use mcp_tower::McpServer;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Well under the 30 s grace period, and plenty for a loaded test machine.
const PROMPTLY: Duration = Duration::from_secs(5);

/// A server run by `serve_with_shutdown`, with its shutdown in the test's hands.
struct Server {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    served: JoinHandle<io::Result<()>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Server {
    async fn start(http2: bool) -> Self {
        let router = Router::builder().name("e2e", "1.0.0").build();
        let service = McpServer::builder(router).into_http_service();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let (shutdown, stop) = oneshot::channel::<()>();
        let served = tokio::spawn(mcp_tower::serve_with_shutdown(listener, service, async {
            let _ = stop.await;
        }));
        let client = Client::builder(TokioExecutor::new())
            .http2_only(http2)
            .build_http();
        Self {
            url,
            shutdown: Some(shutdown),
            served,
            client,
        }
    }

    async fn send(
        &self,
        method: Method,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Response<Incoming> {
        let mut request = Request::builder()
            .method(method)
            .uri(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Value::Null => Bytes::new(),
            body => Bytes::from(serde_json::to_vec(body).expect("JSON")),
        };
        let request = request.body(Full::new(body)).expect("request");
        self.client.request(request).await.expect("send")
    }

    /// Runs `initialize` and `notifications/initialized`; the session id.
    async fn initialize(&self) -> String {
        let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1.0.0"}}});
        let response = self.send(Method::POST, &initialize, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .expect("visible ASCII")
            .to_owned();
        let _ = response.into_body().collect().await.expect("body");
        let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        let headers = mcp_e2e::session_headers(&session, "2025-11-25");
        let response = self.send(Method::POST, &initialized, &headers).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        session
    }

    /// Fires the shutdown future, then waits for the serve future to return.
    async fn shut_down(mut self) {
        let _ = self.shutdown.take().expect("once").send(());
        tokio::time::timeout(PROMPTLY, self.served)
            .await
            .expect("the serve future returns well within the grace period")
            .expect("the serve task did not panic")
            .expect("serving ended without an error");
    }
}

/// The stream's next frame, as text; `None` at its end.
async fn next(body: &mut Incoming) -> Option<String> {
    mcp_e2e::next_text(body, PROMPTLY).await
}

/// Validates `value` against a definition of the 2026-07-28 schema.
fn assert_valid(definition: &str, value: &Value) {
    if let Err(errors) = SchemaSet::load("2026-07-28").validate(definition, value) {
        panic!("{definition}: {errors:?} in {value}");
    }
}

/// Opens a listen stream, shuts the server down once it is acknowledged, and checks that the
/// stream ends with the listen request's cancellation (2026-07-28 Cancellation: a server
/// MUST send it when it tears a subscription down) and result, and that the serve future
/// returns promptly.
async fn listen_stream_ends_with_its_result(http2: bool) {
    let server = Server::start(http2).await;
    let listen = json!({"jsonrpc":"2.0","id":"listen-1","method":"subscriptions/listen","params":{
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        },
        "notifications": {"toolsListChanged": true}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    let response = server.send(Method::POST, &listen, &headers).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut before = String::new();
    while !before.contains("acknowledged") {
        before.push_str(&next(&mut body).await.expect("the acknowledgement"));
    }

    let stop = tokio::spawn(server.shut_down());
    let mut after = String::new();
    while let Some(text) = next(&mut body).await {
        after.push_str(&text);
    }
    let cancelled = json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {
            "requestId": "listen-1",
            "reason": "the server is shutting down",
            "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}
        }
    });
    let closing = json!({
        "jsonrpc": "2.0",
        "id": "listen-1",
        "result": {
            "resultType": "complete",
            "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}
        }
    });
    assert_eq!(
        sse_messages(&after),
        [cancelled.clone(), closing.clone()],
        "the cancellation, then the result, last: {after:?}"
    );
    assert!(after.ends_with("\n\n"), "a whole event: {after:?}");
    assert_valid("CancelledNotification", &cancelled);
    assert_valid("SubscriptionsListenResultResponse", &closing);
    stop.await.expect("the serve future returned promptly");
}

#[tokio::test]
async fn a_listen_stream_gets_its_result_and_ends_at_shutdown() {
    listen_stream_ends_with_its_result(false).await;
}

#[tokio::test]
async fn a_listen_stream_on_http2_gets_its_result_and_ends_at_shutdown() {
    listen_stream_ends_with_its_result(true).await;
}

#[tokio::test]
async fn a_session_stream_ends_at_shutdown() {
    let server = Server::start(false).await;
    let session = server.initialize().await;
    let headers = mcp_e2e::session_headers(&session, "2025-11-25");
    let response = server.send(Method::GET, &Value::Null, &headers).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let priming = next(&mut body).await.expect("the priming event");
    assert!(priming.contains("retry: "), "{priming:?}");

    let stop = tokio::spawn(server.shut_down());
    // Ends without another message: the client resumes from what it has.
    let mut after = String::new();
    while let Some(text) = next(&mut body).await {
        after.push_str(&text);
    }
    assert!(sse_messages(&after).is_empty(), "{after:?}");
    stop.await.expect("the serve future returned promptly");
}
