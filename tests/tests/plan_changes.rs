//! A legacy session follows its principal's current plan: when a new token of the same
//! principal carries another allow-list (or `AllowListLayer`'s resolver decides another),
//! the notifications of its GET stream are filtered by that plan, as its calls are, and not by
//! the plan it had at `initialize`.

use http::Method;
use mcp_core::{AllowList, McpRequest, Principal, RequestContext, Resource, Router, Tool};
use mcp_e2e::{TestClient, TestServer, read_until};
use mcp_tower::{AllowListLayer, McpServer};
use serde_json::json;

const VERSION: &str = "2025-11-25";

fn router() -> Router {
    let resource = |uri: &str| {
        Resource::new(uri, uri).handler(|uri: String, _: RequestContext| async move { uri })
    };
    Router::builder()
        .resource(resource("test://basic"))
        .resource(resource("test://premium"))
        .tool(Tool::new("premium_report").raw_handler(|_, _: RequestContext| async { "" }))
        .build()
}

/// A plan by the `x-plan` header: `pro` reads both resources and calls the report, anything
/// else reads the basic one.
fn plan_of(headers: &http::HeaderMap) -> AllowList {
    match headers.get("x-plan").map(|v| v.as_bytes()) {
        Some(b"pro") => AllowList::new()
            .resources(["test://basic", "test://premium"])
            .tools(["premium_report"]),
        _ => AllowList::new()
            .resources(["test://basic"])
            .tools(Vec::<String>::new()),
    }
}

/// Where the plan is set.
#[derive(Clone, Copy)]
enum PlanFrom {
    /// The principal's token (the HTTP tier).
    Token,
    /// `AllowListLayer`'s resolver (the RPC tier).
    Resolver,
}

/// The quickstart stack behind a stand-in authenticator (`alice`), whose plan comes from
/// `from`.
async fn start(router: &Router, from: PlanFrom) -> (TestServer, TestClient) {
    let mut builder = McpServer::builder(router.clone());
    if let PlanFrom::Resolver = from {
        builder = builder.allow_list(AllowListLayer::with_resolver(|request: &McpRequest| {
            let parts = request.extensions.get::<http::request::Parts>()?;
            Some(plan_of(&parts.headers))
        }));
    }
    let server = TestServer::start_authenticated(builder.into_http_service(), move |headers| {
        Some(match from {
            PlanFrom::Token => Principal::new("alice").with_allow_list(plan_of(headers)),
            PlanFrom::Resolver => Principal::new("alice"),
        })
    })
    .await;
    let client = TestClient::new(&server);
    (server, client)
}

#[tokio::test]
async fn a_downgraded_token_s_session_hears_only_of_what_its_new_plan_shows() {
    downgrade_then_listen(PlanFrom::Token, read_premium()).await;
}

#[tokio::test]
async fn a_session_downgraded_by_a_resolver_hears_only_of_what_its_new_plan_shows() {
    downgrade_then_listen(PlanFrom::Resolver, read_premium()).await;
}

/// The downgrade seen only by `AllowListLayer`, which refuses the call before the router.
#[tokio::test]
async fn a_session_downgraded_by_a_refused_call_hears_only_of_what_its_new_plan_shows() {
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
        "params":{"name":"premium_report","arguments":{}}});
    downgrade_then_listen(PlanFrom::Token, (call, -32602)).await;
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
        "params":{"name":"premium_report","arguments":{}}});
    downgrade_then_listen(PlanFrom::Resolver, (call, -32602)).await;
}

/// A read of the premium resource, and the error a free plan gets.
fn read_premium() -> (serde_json::Value, i64) {
    let read =
        json!({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"test://premium"}});
    (read, -32002)
}

/// Subscribes on the pro plan, then sends `downgrade` (refused with its code) on the free
/// plan: the session's stream then hears only of the basic resource.
async fn downgrade_then_listen(from: PlanFrom, downgrade: (serde_json::Value, i64)) {
    let router = router();
    let (_server, client) = start(&router, from).await;
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name":"x","version":"1"}}});
    let initialized = client.post(&initialize, &[("x-plan", "pro")]).await;
    let session = initialized.header("mcp-session-id").unwrap().to_owned();
    let with_plan = |plan| {
        [
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", VERSION),
            ("x-plan", plan),
        ]
    };
    let pro = with_plan("pro");
    for (id, uri) in [(1, "test://basic"), (2, "test://premium")] {
        let subscribe =
            json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":uri}});
        assert_eq!(
            client.post(&subscribe, &pro).await.json()["result"],
            json!({})
        );
    }
    let stream = client
        .send_streaming(
            Method::GET,
            "",
            &[&pro[..], &[("accept", "text/event-stream")]].concat(),
        )
        .await;
    assert_eq!(stream.status(), 200);
    let mut stream = stream.into_body();

    // Alice's next token is on the free plan: her calls no longer see the premium resource...
    let free = with_plan("free");
    let (request, code) = downgrade;
    let refused = client.post(&request, &free).await.json();
    assert_eq!(refused["error"]["code"], code, "{refused}");

    // ...and neither does her stream.
    router.notify_resource_updated("test://premium");
    router.notify_resource_updated("test://basic");
    let seen = read_until(&mut stream, "test://basic").await;
    assert!(!seen.contains("test://premium"), "{seen}");
}
