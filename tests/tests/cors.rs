//! Browser clients over a real socket: CORS preflights and answers their scripts may read,
//! from allowed origins only, in front of authentication too.

use http::Method;
use mcp_auth::{AuthLayer, Rejection, WwwAuthenticate};
use mcp_core::{Principal, Router};
use mcp_e2e::{Reply, TestClient, TestServer};
use mcp_tower::McpServer;
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const APP: &str = "https://app.example.com";

fn router() -> Router {
    Router::builder().name("e2e", "1.0.0").build()
}

/// The preflight a browser sends before a script's `initialize` POST from `origin`.
async fn preflight(client: &TestClient, origin: &str) -> Reply {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization, content-type, mcp-protocol-version",
        ),
    ];
    client.send(Method::OPTIONS, "", &headers).await
}

fn initialize() -> serde_json::Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},
        "clientInfo":{"name":"browser","version":"1.0.0"}}})
}

/// Whether the comma-separated list in header `name` holds `item`.
fn lists(reply: &Reply, name: &str, item: &str) -> bool {
    reply
        .header(name)
        .is_some_and(|list| list.split(',').any(|entry| entry.trim() == item))
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_opens_uses_and_ends_a_session() {
    let service = McpServer::builder(router())
        .allow_browser_origin(APP)
        .into_http_service();
    let server = TestServer::start(service).await;
    let client = TestClient::new(&server);

    let allowed = preflight(&client, APP).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    for method in ["GET", "POST", "DELETE"] {
        assert!(lists(&allowed, "access-control-allow-methods", method));
    }
    for header in ["authorization", "content-type", "mcp-protocol-version"] {
        assert!(lists(&allowed, "access-control-allow-headers", header));
    }
    assert!(allowed.header("access-control-max-age").is_some());

    // The real request: answered, and its script may read the session id.
    let opened = client.post(&initialize(), &[("origin", APP)]).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.header("access-control-allow-origin"), Some(APP));
    assert!(lists(
        &opened,
        "access-control-expose-headers",
        "mcp-session-id"
    ));
    let session = opened
        .header("mcp-session-id")
        .expect("a session")
        .to_owned();
    assert_eq!(opened.json()["result"]["serverInfo"]["name"], "e2e");

    let headers = [
        ("origin", APP),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let listed = client
        .post(
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
            &headers,
        )
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("access-control-allow-origin"), Some(APP));
    let ended = client.send(Method::DELETE, "", &headers).await;
    assert!(ended.status.is_success(), "{:?}", ended.status);
    assert_eq!(ended.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn a_page_of_another_origin_gets_no_grant_and_is_refused() {
    let service = McpServer::builder(router())
        .allow_browser_origin(APP)
        .into_http_service();
    let server = TestServer::start(service).await;
    let client = TestClient::new(&server);

    let evil = "https://evil.example";
    let refused = preflight(&client, evil).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
    // A request sent anyway (a browser would not send it) meets the Host/Origin check.
    let forbidden = client.post(&initialize(), &[("origin", evil)]).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_browser_origins_nothing_is_granted() {
    let server = TestServer::start(McpServer::builder(router()).into_http_service()).await;
    let client = TestClient::new(&server);
    // A page on another port of this machine passes the Host/Origin check (loopback), but
    // without CORS its script may not read anything.
    let page = "http://localhost:6274";
    let preflighted = preflight(&client, page).await;
    assert_eq!(preflighted.header("access-control-allow-origin"), None);
    let answered = client.post(&initialize(), &[("origin", page)]).await;
    assert_eq!(answered.status, 200);
    assert_eq!(answered.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn cors_in_front_of_authentication_lets_a_page_learn_where_to_get_a_token() {
    let served = McpServer::builder(router())
        .host_origin(mcp_tower::HostOriginLayer::new().allow_origin(APP))
        .into_http_service();
    let authenticate = |parts: &http::request::Parts| {
        let token = parts.headers.get("authorization").cloned();
        async move {
            match token {
                Some(token) if token == "Bearer good" => Ok(Principal::new("alice")),
                _ => Err(Rejection::unauthorized(
                    WwwAuthenticate::bearer().resource_metadata(
                        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                    ),
                )),
            }
        }
    };
    let http = ServiceBuilder::new()
        .layer(mcp_tower::mcp_cors([APP]))
        .layer(AuthLayer::new(authenticate))
        .service(served);
    let server = TestServer::start(BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);

    // Browsers send no credentials with a preflight: answered before authentication.
    let allowed = preflight(&client, APP).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));

    // The 401 is readable, challenge included: the page learns where to get a token.
    let challenged = client.post(&initialize(), &[("origin", APP)]).await;
    assert_eq!(challenged.status, 401);
    assert_eq!(challenged.header("access-control-allow-origin"), Some(APP));
    assert!(lists(
        &challenged,
        "access-control-expose-headers",
        "www-authenticate"
    ));
    assert!(
        challenged
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.contains("resource_metadata="))
    );

    let headers = [("origin", APP), ("authorization", "Bearer good")];
    let opened = client.post(&initialize(), &headers).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.header("access-control-allow-origin"), Some(APP));
}
