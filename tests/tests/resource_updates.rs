//! `notifications/resources/updated` over a real socket, for a principal whose allow-list
//! shows resources through a template: it subscribes and hears of what it may read, and of
//! nothing else.

use std::time::Duration;

use http::Method;
use mcp_core::{AllowList, Principal, RequestContext, Resource, ResourceTemplate, Router};
use mcp_e2e::{TestClient, TestServer, read_until};
use mcp_tower::McpServer;
use serde_json::{Value, json};

fn router() -> Router {
    Router::builder()
        .resource(
            Resource::new("test://static/secret", "secret")
                .handler(|_uri: String, _ctx: RequestContext| async { "secret" }),
        )
        .resource_template(
            ResourceTemplate::new("test://data/{id}", "data")
                .handler(|m: mcp_core::TemplateMatch, _ctx: RequestContext| async move { m.uri }),
        )
        .build()
}

/// The quickstart stack behind a stand-in authenticator: `x-user: reader` is a principal
/// that may read the `data` template and no static resource.
async fn start(router: &Router) -> (TestServer, TestClient) {
    let served = McpServer::builder(router.clone()).into_http_service();
    let server = TestServer::start_authenticated(served, |headers| {
        headers.contains_key("x-user").then(|| {
            let plan = AllowList::new()
                .resources(Vec::<String>::new())
                .resource_templates(["data"]);
            Principal::new("reader").with_allow_list(plan)
        })
    })
    .await;
    let client = TestClient::new(&server);
    (server, client)
}

/// The session's GET stream (the session and its caller in `headers`), open.
async fn open_stream(client: &TestClient, headers: &[(&str, &str)]) -> hyper::body::Incoming {
    let stream = client
        .send_streaming(
            Method::GET,
            "",
            &[headers, &[("accept", "text/event-stream")]].concat(),
        )
        .await;
    assert_eq!(stream.status(), 200);
    stream.into_body()
}

#[tokio::test]
async fn a_plan_hears_of_templated_resources_it_may_read_and_of_nothing_hidden() {
    let router = router();
    let (_server, client) = start(&router).await;
    let body = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
    let initialized = client.post(&body, &[("x-user", "reader")]).await;
    assert_eq!(initialized.status, 200);
    let session = initialized.header("mcp-session-id").unwrap().to_owned();
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
        ("x-user", "reader"),
    ];
    let subscribe = |id: i64, uri: &str| json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":uri}});
    let allowed = client.post(&subscribe(1, "test://data/7"), &headers).await;
    assert_eq!(allowed.json()["result"], json!({}));
    let hidden = client
        .post(&subscribe(2, "test://static/secret"), &headers)
        .await;
    assert_eq!(hidden.json()["error"]["code"], -32002, "{:?}", hidden.body);

    let mut body = open_stream(&client, &headers).await;
    // Hidden first: had it been delivered, it would arrive before the allowed one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.notify_resource_updated("test://static/secret");
    router.notify_resource_updated("test://data/7");
    let seen = read_until(&mut body, "test://data/7").await;
    let updates: Vec<Value> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        updates,
        [
            json!({"jsonrpc":"2.0","method":"notifications/resources/updated",
                "params":{"uri":"test://data/7"}})
        ]
    );
}

/// One burst of events past the router's event capacity makes the shared fan-out to legacy
/// sessions miss some, for every session at once: each is then told that what it follows may
/// have changed, so a subscribed update missed is re-announced rather than lost without a sign.
#[tokio::test]
async fn a_session_that_missed_events_is_told_to_refresh() {
    let router = Router::builder()
        .event_capacity(4)
        .resource_template(
            ResourceTemplate::new("test://data/{id}", "data")
                .handler(|m: mcp_core::TemplateMatch, _ctx: RequestContext| async move { m.uri }),
        )
        .build();
    let (_server, client) = start(&router).await;
    let session = client.initialize("2025-11-25").await;
    let headers = mcp_e2e::session_headers(&session, "2025-11-25");
    let subscribe = json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe",
        "params":{"uri":"test://data/7"}});
    assert_eq!(
        client.post(&subscribe, &headers).await.json()["result"],
        json!({})
    );
    let mut body = open_stream(&client, &headers).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // No await in between: the fan-out (on this test's one thread) runs only after the burst,
    // and finds the update overwritten in the ring.
    router.notify_resource_updated("test://data/7");
    for i in 0..100 {
        router.add_tool(
            mcp_core::Tool::new(format!("t{i}")).raw_handler(|_, _: RequestContext| async { "" }),
        );
    }
    let seen = read_until(&mut body, "test://data/7").await;
    assert!(seen.contains("notifications/resources/updated"), "{seen}");
    // The lists may have changed too (they did: the tools).
    assert!(seen.contains("notifications/tools/list_changed"), "{seen}");
}
