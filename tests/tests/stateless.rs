//! A stateless legacy server (no sessions) offers only what lives within one request: it
//! advertises no list changes or resource subscriptions (no stream would carry them), and
//! refuses to set a log level (-32603) or subscribe (-32601: not advertised), as nothing
//! would keep them, where a success would tell the client something that is not so.

use mcp_core::{Json, RequestContext, Resource, Router, Tool};
use mcp_e2e::{TestClient, TestServer};
use mcp_tower::McpServer;
use serde_json::{Value, json};

const VERSION: &str = "2025-11-25";

fn router() -> Router {
    Router::builder()
        .tool(Tool::new("noop").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move { "" },
        ))
        .resource(
            Resource::new("test://about", "about")
                .handler(|_, _: RequestContext| async { "about" }),
        )
        .build()
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

fn initialize() -> Value {
    request(
        0,
        "initialize",
        json!({"protocolVersion": VERSION, "capabilities": {},
               "clientInfo": {"name": "e2e", "version": "1"}}),
    )
}

#[tokio::test]
async fn a_stateless_server_offers_only_what_a_request_holds() {
    let served = McpServer::builder(router()).stateless().into_http_service();
    let server = TestServer::start(served).await;
    let client = TestClient::new(&server);
    let initialized = client.post(&initialize(), &[]).await;
    assert!(initialized.header("mcp-session-id").is_none());
    let capabilities = initialized.json()["result"]["capabilities"].clone();
    assert_eq!(capabilities["tools"], json!({"listChanged": false}));
    assert_eq!(capabilities["resources"], json!({"listChanged": false}));
    assert!(capabilities["logging"].is_object(), "{capabilities}");

    let headers = [("mcp-protocol-version", VERSION)];
    for (method, params, code) in [
        // The logging page's answer to a level that cannot be configured.
        ("logging/setLevel", json!({"level": "error"}), -32603),
        // Not advertised: not served.
        (
            "resources/subscribe",
            json!({"uri": "test://about"}),
            -32601,
        ),
        (
            "resources/unsubscribe",
            json!({"uri": "test://about"}),
            -32601,
        ),
    ] {
        let refused = client
            .post(&request(1, method, params), &headers)
            .await
            .json();
        assert_eq!(refused["error"]["code"], code, "{method}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("stateless"), "{method}: {refused}");
    }
    // What needs no session is served as before.
    let read = request(2, "resources/read", json!({"uri": "test://about"}));
    let read = client.post(&read, &headers).await.json();
    assert_eq!(read["result"]["contents"][0]["text"], "about", "{read}");
}

#[tokio::test]
async fn a_server_with_sessions_offers_them() {
    let server = TestServer::start(McpServer::builder(router()).into_http_service()).await;
    let client = TestClient::new(&server);
    let capabilities =
        client.post(&initialize(), &[]).await.json()["result"]["capabilities"].clone();
    assert_eq!(capabilities["tools"], json!({"listChanged": true}));
    assert_eq!(
        capabilities["resources"],
        json!({"listChanged": true, "subscribe": true})
    );

    let session = client.initialize(VERSION).await;
    let headers = mcp_e2e::session_headers(&session, VERSION);
    for (method, params) in [
        ("logging/setLevel", json!({"level": "error"})),
        ("resources/subscribe", json!({"uri": "test://about"})),
    ] {
        let done = client
            .post(&request(1, method, params), &headers)
            .await
            .json();
        assert_eq!(done["result"], json!({}), "{method}: {done}");
    }
}
