use std::time::Duration;

use mcp_core::{RequestContext, Router, Tool};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, DuplexStream, Lines, ReadHalf, WriteHalf};

use super::*;
use mcp_core::jsonrpc::codes;
use tokio::io::BufReader;

mod ending;
mod listen;
mod plans;

struct Client {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    writer: WriteHalf<DuplexStream>,
    server: tokio::task::JoinHandle<io::Result<()>>,
    router: Router,
}

/// The tools and resource every `Client::start` test serves.
fn test_router() -> Router {
    Router::builder()
        .tool(
            Tool::new("echo").raw_handler(|args, _: RequestContext| async move {
                Value::Object(args).to_string()
            }),
        )
        .tool(
            Tool::new("wait").raw_handler(|_, ctx: RequestContext| async move {
                // Progress (when asked for) tells the test that the handler runs.
                ctx.progress(0.0, None, None).await;
                ctx.cancelled().await;
                "cancelled"
            }),
        )
        .tool(
            // A handler that ignores its cancellation token.
            Tool::new("sleep").raw_handler(|_, ctx: RequestContext| async move {
                ctx.progress(0.0, None, None).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                "slept"
            }),
        )
        .tool(
            // Long enough for a cancellation to arrive while it runs.
            Tool::new("nap").raw_handler(|_, _: RequestContext| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "rested"
            }),
        )
        .tool(
            Tool::new("version").raw_handler(|_, ctx: RequestContext| async move {
                ctx.protocol_version().to_string()
            }),
        )
        .tool(
            Tool::new("roots").raw_handler(|_, ctx: RequestContext| async move {
                ctx.progress(1.0, None, None).await;
                let roots = ctx.list_roots().await?;
                Ok::<_, ErrorObject>(roots.roots[0].uri.clone())
            }),
        )
        .resource(
            mcp_core::Resource::new("file:///a", "a")
                .handler(|_uri: String, _ctx: RequestContext| async { "a" }),
        )
        .build()
}

impl Client {
    fn start(transport: StdioTransport) -> Self {
        Self::start_with(|_| transport)
    }

    fn start_with(transport: impl FnOnce(&Router) -> StdioTransport) -> Self {
        let router = test_router();
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (server_read, server_write) = tokio::io::split(server);
        let server =
            tokio::spawn(transport(&router).serve_io(router.clone(), server_read, server_write));
        let (read, writer) = tokio::io::split(client);
        Self {
            lines: BufReader::new(read).lines(),
            writer,
            server,
            router,
        }
    }

    async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.write_all(b"\n").await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("not the end");
        serde_json::from_str(&line).expect("one JSON message per line")
    }

    async fn initialize(&mut self, capabilities: Value) -> Value {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":capabilities,
            "clientInfo":{"name":"test","version":"1"}}});
        self.send(&init.to_string()).await;
        let response = self.recv().await;
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
        response
    }

    /// Ends the server's input (the client closed its stdin).
    async fn close_input(&mut self) {
        self.writer.shutdown().await.unwrap();
    }

    /// Closes the input, checks that serving ends in time and that nothing more was written.
    async fn finish(mut self) {
        self.close_input().await;
        drop(self.writer);
        let served = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        served
            .expect("serve_io returns at end of input")
            .unwrap()
            .unwrap();
        assert!(self.lines.next_line().await.unwrap().is_none());
    }
}

/// A client of `service` served with `router`'s events.
fn serve<S>(router: Router, service: S) -> Client
where
    S: tower_service::Service<McpRequest, Response = McpResponse, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let transport = StdioTransport::new().server_events(router.events());
    serve_with(transport, router, service)
}

/// A client of `service` served by `transport`; `router` is the one the test changes.
fn serve_with<S>(transport: StdioTransport, router: Router, service: S) -> Client
where
    S: tower_service::Service<McpRequest, Response = McpResponse, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server);
    let server = tokio::spawn(transport.serve_io(service, server_read, server_write));
    let (read, writer) = tokio::io::split(client);
    Client {
        lines: tokio::io::BufReader::new(read).lines(),
        writer,
        server,
        router,
    }
}

fn call(id: i64, name: &str, extra: Value) -> String {
    let mut params = json!({"name": name, "arguments": {"x": 1}});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params}).to_string()
}

#[tokio::test]
async fn initialize_then_call_and_notifications_get_no_reply() {
    let mut client = Client::start(StdioTransport::new());
    let init = client.initialize(json!({})).await;
    assert_eq!(init["id"], 0);
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    // The notification above got no reply: the next line answers this call.
    client.send(&call(1, "echo", json!({}))).await;
    let response = client.recv().await;
    assert_eq!(response["id"], 1);
    assert_eq!(response["result"]["content"][0]["text"], r#"{"x":1}"#);
    client.finish().await;
}

#[tokio::test]
async fn bad_lines_get_errors_and_the_connection_goes_on() {
    let mut client = Client::start(StdioTransport::new().max_line_length(1024));
    client.send("{not json").await;
    let response = client.recv().await;
    assert_eq!(response["error"]["code"], codes::PARSE_ERROR);
    assert_eq!(response["id"], Value::Null);
    client
        .send(&format!(
            r#"{{"jsonrpc":"2.0","id":9,"method":"ping","x":"{}"}}"#,
            "a".repeat(5000)
        ))
        .await;
    assert_eq!(client.recv().await["error"]["code"], codes::INVALID_REQUEST);
    client.send("").await;
    client.send(" \t\r").await;
    // A form feed is not JSON whitespace (found by the stdio fuzz target).
    client
        .send("\x0c{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}")
        .await;
    assert_eq!(client.recv().await["error"]["code"], codes::PARSE_ERROR);
    client
        .send(" {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\r")
        .await;
    assert_eq!(
        client.recv().await,
        json!({"jsonrpc":"2.0","id":2,"result":{}})
    );
    client.finish().await;
}

#[tokio::test]
async fn cancelled_requests_get_no_response() {
    let mut client = Client::start(StdioTransport::new());
    client.initialize(json!({})).await;
    client.send(&call(5, "wait", json!({}))).await;
    // A second request with the same id while the first runs is refused.
    client.send(&call(5, "echo", json!({}))).await;
    let duplicate = client.recv().await;
    assert_eq!(duplicate["id"], 5);
    assert_eq!(duplicate["error"]["code"], codes::INVALID_REQUEST);
    client
        .send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#)
        .await;
    client
        .send(r#"{"jsonrpc":"2.0","id":6,"method":"ping"}"#)
        .await;
    assert_eq!(client.recv().await["id"], 6);
    // Id 5 is free again, and nothing for the cancelled call arrives before this answer.
    client.send(&call(5, "echo", json!({}))).await;
    let response = client.recv().await;
    assert_eq!(response["id"], 5);
    assert_eq!(response["result"]["content"][0]["text"], r#"{"x":1}"#);
    client.finish().await;
}

#[tokio::test]
async fn batch_items_and_initialize_cannot_be_cancelled() {
    let router = test_router();
    let batches = tower::ServiceBuilder::new()
        .layer(crate::BatchLayer::default())
        .service(router.clone());
    // `initialize` takes a while, so that its cancellation arrives while it runs.
    let service = tower::service_fn(move |request: McpRequest| {
        let slow = request.message.method() == Some("initialize");
        let batches = batches.clone();
        async move {
            if slow {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tower::ServiceExt::oneshot(batches, request).await
        }
    });
    let mut client = serve(router, service);
    // `initialize` MUST NOT be cancelled: its answer is written, as the handshake holds.
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-03-26","capabilities":{},
        "clientInfo":{"name":"test","version":"1"}}});
    client.send(&init.to_string()).await;
    client.send(&cancel_request(0)).await;
    let answer = client.recv().await;
    assert_eq!(
        answer["result"]["protocolVersion"], "2025-03-26",
        "{answer}"
    );
    client
        .send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    // Cancelling one item of a batch does not cost the others their answers (the batch is
    // one call): the cancellation is ignored and the whole batch answered.
    let batch = format!(
        "[{},{}]",
        call(1, "nap", json!({})),
        call(2, "echo", json!({}))
    );
    client.send(&batch).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.send(&cancel_request(1)).await;
    let answers = client.recv().await;
    let ids: Vec<&Value> = answers
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer: {answers}"))
        .iter()
        .map(|answer| &answer["id"])
        .collect();
    assert_eq!(ids, [1, 2], "{answers}");
    assert_eq!(answers[0]["result"]["content"][0]["text"], "rested");
    client.finish().await;
}

fn cancel_request(id: i64) -> String {
    json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":id}})
        .to_string()
}

#[tokio::test]
async fn server_to_client_request_round_trip() {
    let mut client = Client::start(StdioTransport::new());
    client.initialize(json!({"roots": {}})).await;
    client
        .send(&call(3, "roots", json!({"_meta": {"progressToken": "p"}})))
        .await;
    let progress = client.recv().await;
    assert_eq!(progress["method"], "notifications/progress");
    assert_eq!(progress["params"]["progressToken"], "p");
    let request = client.recv().await;
    assert_eq!(request["method"], "roots/list");
    let id = request["id"].as_str().expect("a string id").to_owned();
    assert!(id.starts_with("s-"));
    client
        .send(
            &json!({"jsonrpc":"2.0","id":id,"result":{"roots":[{"uri":"file:///work"}]}})
                .to_string(),
        )
        .await;
    let response = client.recv().await;
    assert_eq!(response["id"], 3);
    assert_eq!(response["result"]["content"][0]["text"], "file:///work");
    client.finish().await;
}

/// An answer with both `result` and `error` is refused (without the server's id), and fails
/// the handler's request at once rather than at its timeout.
#[tokio::test]
async fn a_malformed_answer_fails_the_request_at_once() {
    let mut client = Client::start(StdioTransport::new());
    client.initialize(json!({"roots": {}})).await;
    client.send(&call(3, "roots", json!({}))).await;
    let request = client.recv().await;
    assert_eq!(request["method"], "roots/list");
    let both = json!({"jsonrpc":"2.0","id":request["id"],"result":{"roots":[]},
        "error":{"code":1,"message":"x"}});
    client.send(&both.to_string()).await;
    let mut answers = [client.recv().await, client.recv().await];
    answers.sort_by_key(|answer| answer["id"].is_null());
    assert_eq!(answers[0]["id"], 3, "{answers:?}");
    // The call failed on the client's answer (-32603); it was no invalid request (-32600).
    assert_eq!(
        answers[0]["error"]["code"],
        codes::INTERNAL_ERROR,
        "{answers:?}"
    );
    assert_eq!(
        answers[1]["error"]["code"],
        codes::INVALID_REQUEST,
        "{answers:?}"
    );
    client.finish().await;
}

/// A server→client request the handler stopped waiting for is cancelled: "the sender SHOULD
/// issue a cancellation notification for that request" (the lifecycle page's timeouts).
#[tokio::test]
async fn a_client_request_that_times_out_is_cancelled() {
    let router = Router::builder()
        .client_request_timeout(Duration::from_millis(100))
        .tool(
            Tool::new("roots").raw_handler(|_, ctx: RequestContext| async move {
                let roots = ctx.list_roots().await?;
                Ok::<_, ErrorObject>(roots.roots.len().to_string())
            }),
        )
        .build();
    let mut client = serve(router.clone(), router);
    client.initialize(json!({"roots": {}})).await;
    client.send(&call(3, "roots", json!({}))).await;
    let request = client.recv().await;
    assert_eq!(request["method"], "roots/list");
    // Not answered: the handler gives up after 100 ms.
    let cancelled = client.recv().await;
    assert_eq!(
        cancelled["method"], "notifications/cancelled",
        "{cancelled}"
    );
    assert_eq!(cancelled["params"]["requestId"], request["id"]);
    let response = client.recv().await;
    assert_eq!(response["id"], 3);
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in time"),
        "{response}"
    );
    // An answer that comes after all is ignored, and nothing else is written for it.
    let late = json!({"jsonrpc":"2.0","id":request["id"],"result":{"roots":[]}});
    client.send(&late.to_string()).await;
    client
        .send(r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#)
        .await;
    assert_eq!(client.recv().await["id"], 9);
    client.finish().await;
}

#[tokio::test]
async fn modern_requests_use_their_own_version() {
    let mut client = Client::start(StdioTransport::new());
    let meta = |v: Value| {
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": v,
                         "io.modelcontextprotocol/clientCapabilities": {}}})
    };
    client
        .send(&call(1, "echo", meta(json!("2026-07-28"))))
        .await;
    let response = client.recv().await;
    assert_eq!(response["result"]["resultType"], "complete", "{response}");
    client
        .send(&call(2, "echo", meta(json!("2099-01-01"))))
        .await;
    let response = client.recv().await;
    assert_eq!(
        response["error"]["code"],
        codes::UNSUPPORTED_PROTOCOL_VERSION
    );
    assert_eq!(response["error"]["data"]["requested"], "2099-01-01");
    // A version that is not a string names none: refused, not served as the connection's.
    client.send(&call(3, "echo", meta(json!(2026)))).await;
    let response = client.recv().await;
    assert_eq!(
        response["error"]["code"],
        codes::INVALID_PARAMS,
        "{response}"
    );
    // Every modern request declares its capabilities, as over HTTP.
    let no_capabilities =
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
    client.send(&call(4, "echo", no_capabilities)).await;
    let response = client.recv().await;
    assert_eq!(
        response["error"]["code"],
        codes::INVALID_PARAMS,
        "{response}"
    );
    // A `null` version is none, as over HTTP: served under the connection's version.
    client.send(&call(6, "echo", meta(Value::Null))).await;
    let response = client.recv().await;
    assert!(response["result"].is_object(), "{response}");
    // A key spelled with an escape is the same key: such params have no outline, and serde
    // reads them (here: modern, and the unknown version refused as above).
    let escaped = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersi\u006fn":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    client.send(escaped).await;
    let response = client.recv().await;
    assert_eq!(
        response["error"]["data"]["requested"], "2099-01-01",
        "{response}"
    );
    client.finish().await;
}

#[tokio::test]
async fn a_modern_request_in_a_batch_is_refused_in_its_place() {
    let router = Router::builder()
        .tool(
            Tool::new("echo").raw_handler(|args, _: RequestContext| async move {
                Value::Object(args).to_string()
            }),
        )
        .build();
    let service = tower::ServiceBuilder::new()
        .layer(crate::BatchLayer::default())
        .service(router.clone());
    let mut client = serve(router, service);
    let meta = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                "io.modelcontextprotocol/clientCapabilities": {}}});
    // The era has no batches: its request is refused in its place (not answered as the
    // connection's 2025-03-26), a legacy one served.
    let batch = format!("[{},{}]", call(5, "echo", meta), call(6, "echo", json!({})));
    client.send(&batch).await;
    let answers = client.recv().await;
    let answers = answers
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer: {answers}"));
    assert_eq!(answers.len(), 2, "{answers:?}");
    let by_id = |id: i64| answers.iter().find(|a| a["id"] == id).expect("answered");
    assert_eq!(by_id(5)["error"]["code"], codes::INVALID_REQUEST);
    assert!(by_id(6)["result"].is_object(), "{answers:?}");
    client.finish().await;
}

#[tokio::test]
async fn server_events_reach_initialized_clients() {
    let mut client =
        Client::start_with(|router| StdioTransport::new().server_events(router.events()));
    client.initialize(json!({})).await;
    client.send(r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"file:///a"}}"#).await;
    assert_eq!(client.recv().await["id"], 1);
    client.router.notify_resource_updated("file:///other");
    client.router.notify_resource_updated("file:///a");
    client.router.remove_tool("echo");
    let updated = client.recv().await;
    assert_eq!(updated["method"], "notifications/resources/updated");
    assert_eq!(updated["params"]["uri"], "file:///a");
    let changed = client.recv().await;
    assert_eq!(
        changed,
        json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})
    );
    client.finish().await;
}

#[tokio::test]
async fn a_second_initialize_is_refused_and_changes_nothing() {
    let mut client = Client::start(StdioTransport::new());
    client.initialize(json!({})).await;
    let again = json!({"jsonrpc":"2.0","id":5,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},
        "clientInfo":{"name":"test","version":"1"}}});
    client.send(&again.to_string()).await;
    let refused = client.recv().await;
    assert_eq!(refused["id"], 5, "{refused}");
    assert_eq!(
        refused["error"]["code"],
        codes::INVALID_REQUEST,
        "{refused}"
    );
    client.send(&call(6, "version", json!({}))).await;
    assert_eq!(
        client.recv().await["result"]["content"][0]["text"],
        "2025-06-18"
    );
    client.finish().await;
}

#[tokio::test]
async fn a_notification_named_initialize_negotiates_nothing() {
    let mut client = Client::start(StdioTransport::new());
    let init = json!({"jsonrpc":"2.0","method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"test","version":"1"}}});
    client.send(&init.to_string()).await;
    client.send(&call(1, "version", json!({}))).await;
    let response = client.recv().await;
    assert_eq!(
        response["id"], 1,
        "the notification got no answer: {response}"
    );
    assert_eq!(response["result"]["content"][0]["text"], "2025-03-26");
    // The request still negotiates.
    client.initialize(json!({})).await;
    client.send(&call(2, "version", json!({}))).await;
    assert_eq!(
        client.recv().await["result"]["content"][0]["text"],
        "2025-06-18"
    );
    client.finish().await;
}

#[tokio::test]
async fn legacy_subscriptions_are_capped_as_configured() {
    let mut client = Client::start_with(|router| {
        router.add_resource(
            mcp_core::Resource::new("file:///b", "b")
                .handler(|_uri: String, _ctx: RequestContext| async { "b" }),
        );
        // Events: without them nothing would carry updates, and subscribing is refused.
        StdioTransport::new()
            .server_events(router.events())
            .max_subscriptions(1)
    });
    client.initialize(json!({})).await;
    let subscribe = |id: i64, uri: &str| {
        json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":uri}})
            .to_string()
    };
    client.send(&subscribe(1, "file:///a")).await;
    assert!(client.recv().await["result"].is_object());
    // The same URI again is no new subscription.
    client.send(&subscribe(2, "file:///a")).await;
    assert!(client.recv().await["result"].is_object());
    client.send(&subscribe(3, "file:///b")).await;
    let refused = client.recv().await;
    assert_eq!(refused["error"]["code"], codes::SERVER_ERROR, "{refused}");
    assert_eq!(refused["error"]["message"], "Too many subscriptions");
    client.finish().await;
}

#[tokio::test]
async fn legacy_subscriptions_are_bounded_in_bytes() {
    let mut client = Client::start_with(|router| {
        StdioTransport::new()
            .server_events(router.events())
            .max_subscription_bytes(20)
    });
    client.initialize(json!({})).await;
    let subscribe = |id: i64, uri: &str| {
        json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":uri}})
            .to_string()
    };
    client.send(&subscribe(1, "file:///0123456789")).await; // 18 bytes
    assert!(client.recv().await["result"].is_object());
    client.send(&subscribe(2, "file:///abc")).await;
    let refused = client.recv().await;
    assert_eq!(refused["error"]["code"], codes::SERVER_ERROR, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "The subscriptions would exceed their byte limit"
    );
    // Unsubscribing gives the bytes back.
    client
        .send(&json!({"jsonrpc":"2.0","id":3,"method":"resources/unsubscribe","params":{"uri":"file:///0123456789"}}).to_string())
        .await;
    assert!(client.recv().await["result"].is_object());
    client.send(&subscribe(4, "file:///abc")).await;
    assert!(client.recv().await["result"].is_object());
    client.finish().await;
}

#[tokio::test]
async fn a_handler_queue_of_one_still_delivers_everything_in_order() {
    let mut client = Client::start_with(|router| {
        router.add_tool(
            Tool::new("chatty").raw_handler(|_, ctx: RequestContext| async move {
                for step in 0..3 {
                    ctx.progress(f64::from(step), None, None).await;
                }
                "done"
            }),
        );
        StdioTransport::new().outbound_capacity(1)
    });
    client.initialize(json!({})).await;
    client
        .send(&call(1, "chatty", json!({"_meta": {"progressToken": "p"}})))
        .await;
    for step in 0..3 {
        let progress = client.recv().await;
        assert_eq!(progress["method"], "notifications/progress");
        assert_eq!(progress["params"]["progress"], step);
    }
    assert_eq!(client.recv().await["result"]["content"][0]["text"], "done");
    client.finish().await;
}
