//! `mcp_tower::serve` shuts down gracefully on SIGTERM, the stop signal of process
//! supervisors, as on Ctrl-C: a child process serving a `subscriptions/listen` stream is sent
//! the signal, and the stream gets its cancellation and closing result before the process
//! exits with success.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_e2e::sse_messages;
use serde_json::{Value, json};

/// Plenty for a loaded test machine; the graceful path takes milliseconds.
const PROMPTLY: Duration = Duration::from_secs(10);

/// Kills the child if the test fails before it exits.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The stream's next frame, as text; `None` at its end.
async fn next(body: &mut Incoming) -> Option<String> {
    mcp_e2e::next_text(body, PROMPTLY).await
}

async fn a_signal_ends_the_server_gracefully(signal: &str) {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_serve_until_signal"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the server"),
    );
    let mut stdout = BufReader::new(server.0.stdout.take().expect("piped"));
    let mut address = String::new();
    stdout.read_line(&mut address).expect("the address");

    let listen = json!({"jsonrpc":"2.0","id":"listen-1","method":"subscriptions/listen","params":{
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        },
        "notifications": {"toolsListChanged": true}}});
    let request = Request::post(format!("http://{}/mcp", address.trim()))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(Full::new(Bytes::from(listen.to_string())))
        .expect("request");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut before = String::new();
    while !before.contains("acknowledged") {
        before.push_str(&next(&mut body).await.expect("the acknowledgement"));
    }

    let killed = Command::new("kill")
        .args([signal, &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let mut after = String::new();
    while let Some(text) = next(&mut body).await {
        after.push_str(&text);
    }
    let methods: Vec<Value> = sse_messages(&after)
        .iter()
        .map(|message| message.get("method").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        methods,
        [json!("notifications/cancelled"), Value::Null],
        "the cancellation, then the closing result: {after:?}"
    );
    assert_eq!(sse_messages(&after)[1]["id"], "listen-1");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < PROMPTLY, "still running after {signal}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{signal}: {status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    assert_eq!(rest, "served\n", "serve returned");
}

#[tokio::test]
async fn sigterm_shuts_serve_down_gracefully() {
    a_signal_ends_the_server_gracefully("-TERM").await;
}

#[tokio::test]
async fn sigint_shuts_serve_down_gracefully() {
    a_signal_ends_the_server_gracefully("-INT").await;
}
