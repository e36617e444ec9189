//! The server over a real socket: MCP calls on `/mcp`, then `/metrics` scraped over HTTP shows
//! the expected series and counts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Server {
    addr: SocketAddr,
    client: HttpClient,
    session: Option<String>,
    /// The bytes of every POST body sent so far.
    posted: std::cell::Cell<usize>,
}

impl Server {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        if request.method_ref() == Some(&Method::POST) {
            self.posted
                .set(self.posted.get() + body.map_or(0, str::len));
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let response = self
            .client
            .request(request.body(body).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    async fn rpc(&self, id: u32, method: &str, params: serde_json::Value) -> serde_json::Value {
        let body =
            serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let (status, _, text) = self
            .send(Method::POST, "/mcp", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn scrape(&self) -> Scrape {
        let (status, headers, text) = self.send(Method::GET, "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        Scrape(text)
    }
}

/// A Prometheus text page.
struct Scrape(String);

impl Scrape {
    /// The value of the series `name{labels}` (labels in any order, all of them).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<&str, &str> = labels.iter().copied().collect();
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (series_name, have) = match series.split_once('{') {
                    Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}')?)),
                    None => (series, BTreeMap::new()),
                };
                (series_name == name && have == want).then(|| value.parse().unwrap())
            })
    }

    #[track_caller]
    fn assert(&self, name: &str, labels: &[(&str, &str)], expected: f64) {
        assert_eq!(
            self.value(name, labels),
            Some(expected),
            "{name}{labels:?} in\n{}",
            self.0
        );
    }
}

fn parse_labels(text: &str) -> BTreeMap<&str, &str> {
    text.split("\",")
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once("=\"")?;
            Some((key, value.trim_end_matches('"')))
        })
        .collect()
}

/// This process's thread names, as the kernel keeps them (cut to 15 bytes).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .map(|name| name.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_reports_real_calls() {
    // The only test in this binary: it owns the global recorder.
    let handle = mcp_telemetry::prometheus::install().unwrap();
    // A new thread names itself once it runs: until then it has its parent's name.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !thread_names().iter().any(|name| name == "mcp-telemetry-u") {
        assert!(
            std::time::Instant::now() < deadline,
            "install() starts the upkeep thread (threads: {:?})",
            thread_names()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = metrics_server::app(metrics_server::router(), move || handle.render());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_task = tokio::spawn(mcp_tower::serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    let mut server_handle = Server {
        addr,
        client: Client::builder(TokioExecutor::new()).build_http(),
        session: None,
        posted: std::cell::Cell::new(0),
    };

    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": { "name": "scrape-test", "version": "1.0.0" }
        }
    });
    let (status, headers, text) = server_handle
        .send(Method::POST, "/mcp", Some(&initialize.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    server_handle.session = Some(session);
    let server = server_handle;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let (status, _, _) = server.send(Method::POST, "/mcp", Some(initialized)).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let added = server
        .rpc(
            2,
            "tools/call",
            serde_json::json!({ "name": "add", "arguments": { "a": 2, "b": 3 } }),
        )
        .await;
    assert_eq!(added["result"]["content"][0]["text"], "5");
    server
        .rpc(
            3,
            "tools/call",
            serde_json::json!({ "name": "echo", "arguments": { "message": "hi" } }),
        )
        .await;
    // Invalid arguments: an `isError` result, a tool error.
    let invalid = server
        .rpc(
            4,
            "tools/call",
            serde_json::json!({ "name": "add", "arguments": { "a": "x", "b": 1 } }),
        )
        .await;
    assert_eq!(invalid["result"]["isError"], true, "{invalid}");
    // An unknown tool: a protocol error, its name folded.
    let unknown = server
        .rpc(
            5,
            "tools/call",
            serde_json::json!({ "name": "no-such-tool", "arguments": {} }),
        )
        .await;
    assert_eq!(unknown["error"]["code"], -32602);
    server
        .rpc(
            6,
            "prompts/get",
            serde_json::json!({ "name": "greet", "arguments": { "name": "Ada" } }),
        )
        .await;
    let (status, _, _) = server.send(Method::GET, "/elsewhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let scrape = server.scrape().await;
    let duration = "mcp_server_operation_duration_seconds_count";
    let version = ("protocol_version", "2025-11-25");
    let call = |target, outcome| {
        [
            ("method", "tools/call"),
            ("target", target),
            ("outcome", outcome),
            version,
        ]
    };
    scrape.assert(duration, &call("add", "ok"), 1.0);
    scrape.assert(duration, &call("echo", "ok"), 1.0);
    scrape.assert(duration, &call("add", "tool_error"), 1.0);
    let folded = [
        ("method", "tools/call"),
        ("target", "_other"),
        ("outcome", "protocol_error"),
        ("code", "-32602"),
        version,
    ];
    scrape.assert(duration, &folded, 1.0);
    scrape.assert(
        duration,
        &[
            ("method", "prompts/get"),
            ("target", "greet"),
            ("outcome", "ok"),
            version,
        ],
        1.0,
    );
    scrape.assert(
        duration,
        &[("method", "initialize"), ("outcome", "ok"), version],
        1.0,
    );
    let requests = "mcp_server_requests_total";
    scrape.assert(
        requests,
        &[("method", "tools/call"), ("target", "add")],
        2.0,
    );
    scrape.assert(requests, &[("method", "notifications/initialized")], 1.0);
    scrape.assert(
        "mcp_server_requests_in_flight",
        &[("method", "tools/call")],
        0.0,
    );
    scrape.assert("mcp_server_sessions_active", &[], 1.0);
    scrape.assert("mcp_server_sessions_created_total", &[], 1.0);
    // Buckets, not a summary.
    let bucket = [
        ("method", "tools/call"),
        ("target", "add"),
        ("outcome", "ok"),
        version,
        ("le", "+Inf"),
    ];
    scrape.assert("mcp_server_operation_duration_seconds_bucket", &bucket, 1.0);
    let http = "http_server_request_duration_seconds_count";
    scrape.assert(http, &[("method", "POST"), ("status", "200")], 6.0);
    scrape.assert(http, &[("method", "POST"), ("status", "202")], 1.0);
    scrape.assert(http, &[("method", "GET"), ("status", "404")], 1.0);
    // Request bodies as their length was declared, of accepted requests: every POST; not the
    // refused GET (404), and the scrape is counted once it has rendered.
    let body_size = "http_server_request_body_size_bytes";
    scrape.assert(&format!("{body_size}_count"), &[("method", "POST")], 7.0);
    let posted = server.posted.get() as f64;
    scrape.assert(&format!("{body_size}_sum"), &[("method", "POST")], posted);
    assert_eq!(
        scrape.value(&format!("{body_size}_count"), &[("method", "GET")]),
        None
    );
    assert!(
        scrape
            .0
            .contains("# HELP mcp_server_operation_duration_seconds "),
        "{}",
        scrape.0
    );

    let (status, _, _) = server.send(Method::DELETE, "/mcp", None).await;
    assert_eq!(status, StatusCode::OK);
    let scrape = server.scrape().await;
    scrape.assert("mcp_server_sessions_active", &[], 0.0);
    scrape.assert(
        "mcp_server_session_duration_seconds_count",
        &[("reason", "deleted")],
        1.0,
    );
    scrape.assert(http, &[("method", "DELETE"), ("status", "200")], 1.0);
    // Scrapes are HTTP requests too: this one shows the one before it.
    scrape.assert(http, &[("method", "GET"), ("status", "200")], 1.0);
    // The scrape is behind the same Host/Origin check as /mcp (DNS rebinding).
    for (name, value) in [
        ("host", "evil.example.com"),
        ("origin", "http://evil.example.com"),
    ] {
        let request = Request::builder()
            .uri(format!("http://{}/metrics", server.addr))
            .header(name, value)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = server.client.request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // Refused at the Host/Origin check, and counted (a DNS rebinding attempt is visible).
    let scrape = server.scrape().await;
    scrape.assert(http, &[("method", "GET"), ("status", "403")], 2.0);

    // Idle keep-alive connections would hold the graceful shutdown up.
    drop(server);
    stop.send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(20), server_task)
        .await
        .expect("the server stops")
        .unwrap();
    assert!(served.is_ok());
}
