//! A 2026-07-28 `subscriptions/listen` request passes through the RPC tier before its stream
//! opens, as any request does: with the auth example's layout (scopes and rate limit in the
//! RPC tier), a principal lacking a resource's scope is refused 403 insufficient_scope, as
//! for `resources/subscribe` of the same URI; one holding it gets the stream; and a layer of
//! the RPC tier counts every listen request. A scope on a resource template guards the
//! concrete URIs it serves, for reads and listens alike.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use mcp_auth::rate_limit::{Quota, RpcRateLimitLayer};
use mcp_auth::{AuthLayer, Rejection, RequiredScopes, ScopeLayer, WwwAuthenticate};
use mcp_core::{
    McpRequest, McpResponse, Principal, RequestContext, Resource, ResourceTemplate, Router,
    TemplateMatch,
};
use mcp_e2e::{TestClient, TestServer, read_until};
use mcp_tower::{
    AllowListLayer, BatchLayer, SessionConfig, SessionLayer, StreamableHttpConfig,
    StreamableHttpLayer,
};
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};

const SECRET: &str = "test://static/secret";
/// A template serving many files, all behind one scope.
const FILES: &str = "test://files/{name}";

/// The methods the RPC tier saw, in order.
type Seen = Arc<Mutex<Vec<String>>>;

type RpcTier = BoxCloneSyncService<McpRequest, McpResponse, Infallible>;

/// The auth example's stack around a router with one protected resource: the principal is
/// whoever `x-user` names, with the scopes `x-scopes` lists; `secret` and every file the
/// `files` template serves need the `files` scope. A counting layer stands where telemetry would, above the scope check, and the
/// RPC-tier rate limit is `limit`.
async fn start(seen: &Seen, limit: Option<RpcRateLimitLayer>) -> (TestServer, TestClient, Router) {
    let router = Router::builder()
        .resource(
            Resource::new(SECRET, "secret")
                .handler(|_uri: String, _ctx: RequestContext| async { "secret" }),
        )
        .resource_template(
            ResourceTemplate::new(FILES, "files")
                .handler(|m: TemplateMatch, _ctx: RequestContext| async move { m.uri }),
        )
        .build();
    let counted = Arc::clone(seen);
    let count = tower::layer::layer_fn(move |inner: RpcTier| {
        let seen = Arc::clone(&counted);
        tower::service_fn(move |request: McpRequest| {
            if let Some(method) = request.method() {
                seen.lock().unwrap().push(method.to_owned());
            }
            let mut inner = inner.clone();
            async move { inner.call(request).await }
        })
    });
    let below = ServiceBuilder::new()
        .layer(AllowListLayer::new())
        .layer(ScopeLayer::new(
            RequiredScopes::new()
                .resource(SECRET, ["files"])
                .resource(FILES, ["files"]),
        ))
        .option_layer(limit)
        .service(router.clone());
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(count)
        .service(RpcTier::new(below));
    let authenticate = |parts: &http::request::Parts| {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (user, scopes) = (header("x-user"), header("x-scopes").unwrap_or_default());
        async move {
            match user {
                None => Err(Rejection::unauthorized(WwwAuthenticate::bearer())),
                Some(user) => Ok(Principal::new(user).with_scopes(scopes.split_whitespace())),
            }
        }
    };
    let http = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticate))
        .layer(SessionLayer::new(SessionConfig::default()).deliver_events_from(&router))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    let server = TestServer::start(BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    (server, client, router)
}

fn listen(id: u32, uris: &[&str]) -> Vec<u8> {
    let body = json!({"jsonrpc":"2.0","id":id,"method":"subscriptions/listen","params":{
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}},
        "notifications": {"resourceSubscriptions": uris, "promptsListChanged": true}}});
    serde_json::to_vec(&body).unwrap()
}

/// The headers of a listen request by `user` holding `scopes` (space-separated).
fn listen_as<'a>(user: &'a str, scopes: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
        ("x-user", user),
        ("x-scopes", scopes),
    ]
}

#[tokio::test]
async fn a_listen_request_is_gated_by_the_rpc_tier_scopes() {
    let seen = Seen::default();
    let (_server, client, router) = start(&seen, None).await;

    // Without the resource's scope: refused as resources/subscribe of it is.
    let headers = listen_as("alice", "mcp");
    let refused = client
        .send(Method::POST, listen(1, &[SECRET]), &headers)
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let challenge = refused.header("www-authenticate").expect("a challenge");
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains("files"), "{challenge}");
    assert_eq!(refused.json()["id"], 1);
    assert_eq!(
        refused.json()["error"]["data"]["error"],
        "insufficient_scope"
    );

    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "1.0.0"}}});
    let alice = [("x-user", "alice"), ("x-scopes", "mcp")];
    let initialized = client.post(&initialize, &alice).await;
    let session = initialized.header("mcp-session-id").unwrap().to_owned();
    let subscribe = json!({"jsonrpc":"2.0","id":2,"method":"resources/subscribe",
        "params":{"uri": SECRET}});
    let legacy = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
        ("x-user", "alice"),
        ("x-scopes", "mcp"),
    ];
    let legacy_refusal = client.post(&subscribe, &legacy).await;
    assert_eq!(legacy_refusal.status, refused.status);
    assert_eq!(
        legacy_refusal.json()["error"]["code"],
        refused.json()["error"]["code"]
    );

    // With it: the stream opens and carries the resource's updates.
    let headers = listen_as("bob", "files");
    let response = client
        .send_streaming(Method::POST, listen(3, &[SECRET]), &headers)
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let acknowledged = read_until(&mut body, "acknowledged").await;
    let ack: Value = acknowledged
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .expect("an acknowledgement");
    // The router has no prompts: promptsListChanged is not honoured.
    assert_eq!(
        ack["params"]["notifications"],
        json!({"resourceSubscriptions": [SECRET]})
    );
    router.notify_resource_updated(SECRET);
    let updated = tokio::time::timeout(
        Duration::from_secs(5),
        read_until(&mut body, "resources/updated"),
    )
    .await
    .expect("the update in time");
    assert!(updated.contains(SECRET));

    // A layer of the RPC tier saw both listen requests.
    let listens = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|m| *m == "subscriptions/listen")
        .count();
    assert_eq!(listens, 2);
}

#[tokio::test]
async fn a_template_scope_guards_the_uris_it_matches() {
    let seen = Seen::default();
    let (_server, client, _router) = start(&seen, None).await;
    const FILE: &str = "test://files/a.txt";
    let read = json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri": FILE,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let as_user = |user, scopes| {
        [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "resources/read"),
            ("mcp-name", FILE),
            ("x-user", user),
            ("x-scopes", scopes),
        ]
    };

    let refused = client.post(&read, &as_user("alice", "mcp")).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let challenge = refused.header("www-authenticate").expect("a challenge");
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert_eq!(refused.json()["error"]["data"]["scope"], "mcp files");

    let served = client.post(&read, &as_user("bob", "files")).await;
    assert_eq!(served.status, 200, "{:?}", served.body);
    assert_eq!(served.json()["result"]["contents"][0]["text"], FILE);

    // A listen naming the file is a standing read of it: refused alike.
    let headers = listen_as("alice", "mcp");
    let refused = client
        .send(Method::POST, listen(2, &[FILE]), &headers)
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
}

#[tokio::test]
async fn an_rpc_tier_rate_limit_refuses_a_listen_request() {
    let seen = Seen::default();
    let limit = RpcRateLimitLayer::new(Quota::per_minute(1));
    let (_server, client, _router) = start(&seen, Some(limit)).await;
    let headers = listen_as("bob", "files");
    let first = client
        .send_streaming(Method::POST, listen(1, &[SECRET]), &headers)
        .await;
    assert_eq!(first.status(), 200);
    let second = client
        .send(Method::POST, listen(2, &[SECRET]), &headers)
        .await;
    assert_eq!(second.status, 429, "{:?}", second.body);
    assert!(second.header("retry-after").is_some());
    assert_eq!(second.json()["id"], 2);
}
