//! A legacy session follows its principal's current plan: when a new token of the same
//! principal carries another allow-list, the notifications of its GET stream are filtered by
//! that plan, as its calls are, and not by the plan it had at `initialize`.

use http::{Method, Request};
use mcp_core::{AllowList, Principal, RequestContext, Resource, Router};
use mcp_e2e::{TestClient, TestServer, read_until};
use mcp_tower::McpServer;
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const VERSION: &str = "2025-11-25";

fn router() -> Router {
    let resource = |uri: &str| {
        Resource::new(uri, uri).handler(|uri: String, _: RequestContext| async move { uri })
    };
    Router::builder()
        .resource(resource("test://basic"))
        .resource(resource("test://premium"))
        .build()
}

/// The quickstart stack behind a stand-in authenticator: `alice`, whose token's plan is the
/// `x-plan` header (`pro` reads both resources, `free` the basic one).
async fn start(router: &Router) -> (TestServer, TestClient) {
    let served = McpServer::builder(router.clone()).into_http_service();
    let http = ServiceBuilder::new()
        .map_request(|mut request: Request<hyper::body::Incoming>| {
            let plan = match request.headers().get("x-plan").map(|v| v.as_bytes()) {
                Some(b"pro") => AllowList::new().resources(["test://basic", "test://premium"]),
                _ => AllowList::new().resources(["test://basic"]),
            };
            let alice = Principal::new("alice").with_allow_list(plan);
            request.extensions_mut().insert(alice);
            request
        })
        .service(served);
    let server = TestServer::start(BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    (server, client)
}

#[tokio::test]
async fn a_downgraded_session_hears_only_of_what_its_new_plan_shows() {
    let router = router();
    let (_server, client) = start(&router).await;
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
    let read =
        json!({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"test://premium"}});
    let refused = client.post(&read, &free).await.json();
    assert_eq!(refused["error"]["code"], -32002, "{refused}");

    // ...and neither does her stream.
    router.notify_resource_updated("test://premium");
    router.notify_resource_updated("test://basic");
    let seen = read_until(&mut stream, "test://basic").await;
    assert!(!seen.contains("test://premium"), "{seen}");
}
