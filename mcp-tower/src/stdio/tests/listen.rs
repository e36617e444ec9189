//! `subscriptions/listen` over stdio.

use super::*;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// A 2026-07-28 `subscriptions/listen` request with id `id` and filter `notifications`.
fn listen(id: Value, notifications: Value) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"subscriptions/listen","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{}},
        "notifications":notifications}})
    .to_string()
}

fn cancel(id: Value) -> String {
    json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":id}})
        .to_string()
}

fn with_events(transport: StdioTransport) -> impl FnOnce(&Router) -> StdioTransport {
    |router| transport.server_events(router.events())
}

impl Client {
    /// Sends a ping and expects its answer next: nothing else was written before it.
    async fn ping(&mut self, id: i64) {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":"ping"}).to_string())
            .await;
        let answer = self.recv().await;
        assert_eq!(answer["id"], id, "expected the ping's answer, got {answer}");
    }
}

#[tokio::test]
async fn listen_acknowledges_then_tags_what_each_subscription_asked_for() {
    let mut client = Client::start_with(with_events(StdioTransport::new()));
    client
        .send(&listen(json!("tools"), json!({"toolsListChanged": true})))
        .await;
    assert_eq!(
        client.recv().await,
        json!({"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{
            "_meta":{SUBSCRIPTION_ID:"tools"},"notifications":{"toolsListChanged":true}}})
    );
    let filter = json!({"promptsListChanged": false, "resourceSubscriptions": ["file:///a"]});
    client.send(&listen(json!(2), filter)).await;
    let acknowledged = client.recv().await;
    assert_eq!(acknowledged["params"]["_meta"][SUBSCRIPTION_ID], 2);
    // What was not asked for (or asked for with `false`) is not acknowledged.
    assert_eq!(
        acknowledged["params"]["notifications"],
        json!({"resourceSubscriptions": ["file:///a"]})
    );

    client.router.notify_resource_updated("file:///other");
    client.router.notify_resource_updated("file:///a");
    let updated = client.recv().await;
    assert_eq!(
        updated,
        json!({"jsonrpc":"2.0","method":"notifications/resources/updated",
               "params":{"_meta":{SUBSCRIPTION_ID:2},"uri":"file:///a"}})
    );
    client.router.remove_tool("echo");
    assert_eq!(
        client.recv().await,
        json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed",
               "params":{"_meta":{SUBSCRIPTION_ID:"tools"}}})
    );
    // Only the resource subscription hears this one, once.
    client.router.notify_resource_updated("file:///a");
    assert_eq!(client.recv().await["params"]["_meta"][SUBSCRIPTION_ID], 2);
    client.ping(9).await;

    // The client cancels one: nothing more for it, and no answer to the listen request.
    client.send(&cancel(json!("tools"))).await;
    client.ping(10).await;
    client.router.remove_tool("wait");
    client.ping(11).await;
    // Its id is free again.
    client
        .send(&listen(json!("tools"), json!({"toolsListChanged": true})))
        .await;
    assert_eq!(
        client.recv().await["params"]["_meta"][SUBSCRIPTION_ID],
        "tools"
    );
    client.send(&cancel(json!("tools"))).await;
    client.send(&cancel(json!(2))).await;
    client.ping(12).await;
    client.finish().await;
}

#[tokio::test]
async fn listen_requests_are_checked_and_bounded() {
    let transport = StdioTransport::new().max_listens(1).max_listen_resources(2);
    let mut client = Client::start_with(with_events(transport));
    let mut refused = async |line: String| {
        client.send(&line).await;
        let answer = client.recv().await;
        assert_eq!(answer["id"], 3, "{answer}");
        answer["error"]["code"].clone()
    };
    let no_params = json!({"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}});
    assert_eq!(refused(no_params.to_string()).await, codes::INVALID_PARAMS);
    let three = json!({"resourceSubscriptions": ["a://1", "a://2", "a://3"]});
    assert_eq!(
        refused(listen(json!(3), three)).await,
        codes::INVALID_PARAMS
    );
    // Without the modern `_meta` the method does not exist (2025 era).
    let legacy = json!({"jsonrpc":"2.0","id":3,"method":"subscriptions/listen",
                        "params":{"notifications":{}}});
    assert_eq!(refused(legacy.to_string()).await, codes::METHOD_NOT_FOUND);

    let two = json!({"resourceSubscriptions": ["a://1", "a://2"]});
    listen_acknowledged(&mut client, json!(1), two).await;
    let mut refused = async |line: String| {
        client.send(&line).await;
        let answer = client.recv().await;
        answer["error"]["code"].clone()
    };
    // One subscription at most.
    let code = refused(listen(json!(3), json!({"toolsListChanged": true}))).await;
    assert_eq!(code, codes::SERVER_ERROR);
    // Its id is in use, for a subscription and for a request alike.
    assert_eq!(
        refused(listen(json!(1), json!({}))).await,
        codes::INVALID_REQUEST
    );
    assert_eq!(
        refused(call(1, "echo", json!({}))).await,
        codes::INVALID_REQUEST
    );
    client.send(&cancel(json!(1))).await;
    client.ping(4).await;
    client.finish().await;
}

/// Without server events, nothing carries list changes: `subscriptions/listen` is not served
/// and discovery does not offer them.
#[tokio::test]
async fn listen_needs_server_events() {
    let discover = json!({"jsonrpc":"2.0","id":2,"method":"server/discover","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{}}}})
    .to_string();
    let mut client = Client::start(StdioTransport::new());
    client
        .send(&listen(json!(1), json!({"toolsListChanged": true})))
        .await;
    let answer = client.recv().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], codes::METHOD_NOT_FOUND);
    client.send(&discover).await;
    let capabilities = client.recv().await["result"]["capabilities"].clone();
    assert_eq!(
        capabilities["tools"]["listChanged"], false,
        "{capabilities}"
    );
    assert_eq!(capabilities["resources"]["subscribe"], Value::Null);
    client.finish().await;

    let mut client =
        Client::start_with(|router| StdioTransport::new().server_events(router.events()));
    client.send(&discover).await;
    let capabilities = client.recv().await["result"]["capabilities"].clone();
    assert_eq!(capabilities["tools"]["listChanged"], true, "{capabilities}");
    client.finish().await;
}

#[tokio::test]
async fn the_service_never_sees_a_listen_request_the_transport_refuses() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    // The service stands for the RPC tier: telemetry there must not count as answered a
    // request the transport refuses.
    let router = test_router();
    let seen = Arc::new(AtomicUsize::new(0));
    let (counted, inner) = (Arc::clone(&seen), router.clone());
    let service = tower::service_fn(move |request: McpRequest| {
        if request.method() == Some("subscriptions/listen") {
            counted.fetch_add(1, Ordering::Relaxed);
        }
        inner.clone().oneshot(request)
    });

    // No events to deliver.
    let mut client = serve_with(StdioTransport::new(), router.clone(), service.clone());
    client
        .send(&listen(json!(1), json!({"toolsListChanged": true})))
        .await;
    assert_eq!(
        client.recv().await["error"]["code"],
        codes::METHOD_NOT_FOUND
    );
    client.finish().await;
    assert_eq!(seen.load(Ordering::Relaxed), 0);

    // Every slot taken.
    let transport = StdioTransport::new()
        .max_listens(1)
        .server_events(router.events());
    let mut client = serve_with(transport, router, service);
    listen_acknowledged(&mut client, json!(1), json!({"toolsListChanged": true})).await;
    client
        .send(&listen(json!(2), json!({"toolsListChanged": true})))
        .await;
    let refused = client.recv().await;
    assert_eq!(refused["id"], 2);
    assert_eq!(refused["error"]["code"], codes::SERVER_ERROR);
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    client.send(&cancel(json!(1))).await;
    client.finish().await;
}

/// Sends a listen request and reads its acknowledgement.
async fn listen_acknowledged(client: &mut Client, id: Value, notifications: Value) {
    client.send(&listen(id, notifications)).await;
    assert_eq!(
        client.recv().await["method"],
        "notifications/subscriptions/acknowledged"
    );
}

/// Reads what the server writes when it ends the subscription `id` itself.
async fn expect_server_end(client: &mut Client, id: Value) {
    let cancelled = client.recv().await;
    assert_eq!(
        cancelled["method"], "notifications/cancelled",
        "{cancelled}"
    );
    assert_eq!(cancelled["params"]["requestId"], id);
    assert_eq!(cancelled["params"]["_meta"][SUBSCRIPTION_ID], id);
    assert_eq!(
        client.recv().await,
        json!({"jsonrpc":"2.0","id":id,"result":{
            "_meta":{SUBSCRIPTION_ID:id},"resultType":"complete"}})
    );
}

#[tokio::test]
async fn end_of_input_ends_subscriptions_from_the_server_side() {
    let mut client = Client::start_with(with_events(StdioTransport::new()));
    listen_acknowledged(&mut client, json!("l"), json!({"toolsListChanged": true})).await;
    client.close_input().await;
    expect_server_end(&mut client, json!("l")).await;
    client.finish().await;
}

#[tokio::test]
async fn the_shutdown_token_ends_subscriptions_and_serving() {
    let shutdown = CancellationToken::new();
    let transport = StdioTransport::new().shutdown_token(shutdown.clone());
    let mut client = Client::start_with(with_events(transport));
    listen_acknowledged(&mut client, json!(5), json!({"resourcesListChanged": true})).await;
    shutdown.cancel();
    expect_server_end(&mut client, json!(5)).await;
    client.finish().await;
}

#[tokio::test]
async fn the_allow_list_hides_requests_and_notifications() {
    let allow = mcp_core::AllowList::new().tools(["echo", "version"]);
    let mut client = Client::start_with(with_events(StdioTransport::new().allow_list(allow)));
    client
        .send(&listen(json!(1), json!({"toolsListChanged": true})))
        .await;
    client.recv().await;
    // The router sees the allow-list in the request's extensions.
    client
        .send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .await;
    let listed = client.recv().await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "version"]);
    // A hidden tool changes: the subscription is not told.
    client.router.remove_tool("wait");
    client.router.remove_tool("echo");
    assert_eq!(
        client.recv().await["method"],
        "notifications/tools/list_changed"
    );
    client.ping(3).await;
    client.send(&cancel(json!(1))).await;
    client.finish().await;
}

#[tokio::test]
async fn listen_requests_pass_through_the_service_and_hear_what_it_accepts() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    // A layer standing for a scope check: it refuses subscriptions to `file:///a`, and
    // counts the listen requests it sees.
    let router = Router::builder()
        .resource(
            mcp_core::Resource::new("file:///a", "a")
                .handler(|_uri: String, _ctx: RequestContext| async { "a" }),
        )
        .build();
    let seen = Arc::new(AtomicUsize::new(0));
    let (counted, inner) = (Arc::clone(&seen), router.clone());
    let service = tower::service_fn(move |request: McpRequest| {
        let inner = inner.clone();
        let listen = request.method() == Some("subscriptions/listen");
        let guarded = request
            .message
            .params()
            .is_some_and(|params| params.get().contains("file:///a"));
        if listen {
            counted.fetch_add(1, Ordering::Relaxed);
        }
        async move {
            if listen && guarded {
                let error = ErrorObject::new(-32003, "missing scope: files");
                return Ok(McpResponse::error_for(&request.message, error));
            }
            inner.oneshot(request).await
        }
    });
    let mut client = serve(router, service);

    client
        .send(&listen(
            json!(1),
            json!({"resourceSubscriptions": ["file:///a"]}),
        ))
        .await;
    let refused = client.recv().await;
    assert_eq!(refused["id"], 1);
    assert_eq!(refused["error"]["code"], -32003);
    // Nothing was opened: the resource's update reaches no one.
    client.router.notify_resource_updated("file:///a");
    client.ping(2).await;

    // The router acknowledges only what it supports: it has no tools or prompts.
    let filter = json!({"resourcesListChanged": true, "toolsListChanged": true,
                        "promptsListChanged": true});
    client.send(&listen(json!(3), filter)).await;
    assert_eq!(
        client.recv().await["params"]["notifications"],
        json!({"resourcesListChanged": true})
    );
    assert_eq!(seen.load(Ordering::Relaxed), 2);
    client.send(&cancel(json!(3))).await;
    client.finish().await;
}

#[tokio::test]
async fn a_subscription_that_falls_behind_is_ended_by_the_server() {
    // Room for one undelivered event.
    let mut router = Router::builder().event_capacity(1);
    for name in ["a", "b", "c"] {
        router = router.tool(Tool::new(name).raw_handler(|_, _: RequestContext| async { "" }));
    }
    let router = router.build();
    let mut client = serve(router.clone(), router);
    listen_acknowledged(&mut client, json!("l"), json!({"toolsListChanged": true})).await;
    // Three changes before the connection reads any: it misses two, and says so by ending
    // the subscription (the client listens again and re-reads the list).
    for name in ["a", "b", "c"] {
        client.router.remove_tool(name);
    }
    expect_server_end(&mut client, json!("l")).await;
    client.ping(2).await;
    client.finish().await;
}

#[tokio::test]
async fn a_legacy_session_that_falls_behind_is_told_to_refresh() {
    let router = Router::builder()
        .event_capacity(1)
        .resource(
            mcp_core::Resource::new("file:///a", "a")
                .handler(|_uri: String, _ctx: RequestContext| async { "a" }),
        )
        .tool(Tool::new("t").raw_handler(|_, _: RequestContext| async { "" }))
        .build();
    let mut client = serve(router.clone(), router);
    client.initialize(json!({})).await;
    let subscribe = json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe",
        "params":{"uri":"file:///a"}});
    client.send(&subscribe.to_string()).await;
    assert!(client.recv().await["result"].is_object());
    // The update and a change after it, before the connection reads either: the update is
    // missed, and the session hears of everything it follows again.
    client.router.notify_resource_updated("file:///a");
    client.router.remove_tool("t");
    client.router.remove_resource("file:///a");
    let mut methods = Vec::new();
    while methods.last() != Some(&json!("notifications/resources/updated")) {
        methods.push(client.recv().await["method"].clone());
    }
    for refreshed in [
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    ] {
        assert!(methods.contains(&json!(refreshed)), "{methods:?}");
    }
    // The change events still in the ring come after.
    client.close_input().await;
    while client.lines.next_line().await.unwrap().is_some() {}
}
