//! The 2026-07-28 era on the same endpoint: routing headers, subscriptions/listen.

use std::time::Duration;

use http::Method;
use mcp_e2e::TestClient;
use mcp_tower::McpServer;
use serde_json::{Value, json};

use super::start;

#[tokio::test]
async fn modern_request_on_the_same_endpoint() {
    let (_server, client, _) = start(McpServer::builder).await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":1},"_meta":meta}});
    let reply = client
        .post(
            &call,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "add"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let result = &reply.json()["result"];
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["content"][0]["text"], "2");
    // Header and body disagree: 400 with -32020.
    let reply = client
        .post(&call, &[("mcp-protocol-version", "2025-11-25-x")])
        .await;
    assert_eq!(reply.status, 400);
    // Legacy-only method in the modern era: 404 with -32601.
    let ping = json!({"jsonrpc":"2.0","id":2,"method":"ping","params":{"_meta":meta}});
    let reply = client
        .post(
            &ping,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "ping"),
            ],
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], -32601);
    routing_headers(&client, &call).await;
}

/// Routing headers must repeat the body: method and name, trimmed, case-sensitive values,
/// each sent once; only `Mcp-Name` may come base64-encoded.
async fn routing_headers(client: &TestClient, call: &Value) {
    let version = ("mcp-protocol-version", "2026-07-28");
    let method = |m| ("mcp-method", m);
    let name = |n| ("mcp-name", n);
    let cases = [
        (vec![method("tools/call"), name("add")], 200, None),
        (vec![method("tools/call"), name("  add\t")], 200, None),
        (
            vec![method("tools/call"), name("=?base64?YWRk?=")],
            200,
            None,
        ),
        (vec![method("TOOLS/CALL"), name("add")], 400, Some(-32020)),
        (vec![name("add")], 400, Some(-32020)),
        (vec![method("tools/call")], 400, Some(-32020)),
        (vec![method("tools/call"), name("other")], 400, Some(-32020)),
        // A gateway reading `Mcp-Method` sees no decoded value.
        (
            vec![method("=?base64?dG9vbHMvY2FsbA==?="), name("add")],
            400,
            Some(-32020),
        ),
        // Repeated: which one a proxy routes on is anybody's guess.
        (
            vec![method("tools/call"), name("add"), name("echo")],
            400,
            Some(-32020),
        ),
        (
            vec![method("tools/call"), method("tools/list"), name("add")],
            400,
            Some(-32020),
        ),
        (
            vec![
                method("tools/call"),
                name("add"),
                ("mcp-protocol-version", "2025-06-18"),
            ],
            400,
            Some(-32600),
        ),
    ];
    for (headers, status, code) in cases {
        let headers = [vec![version], headers].concat();
        let reply = client.post(call, &headers).await;
        assert_eq!(reply.status, status, "{headers:?}: {:?}", reply.body);
        if let Some(code) = code {
            assert_eq!(reply.json()["error"]["code"], code, "{headers:?}");
            assert_eq!(reply.json()["id"], 1, "errors echo the request id");
        }
    }
}

/// Opens a `subscriptions/listen` stream for tool changes with request id `id` (JSON text),
/// changes a resource and a tool once it is acknowledged, and returns the stream's first two
/// messages as sent: the acknowledgement and the one notification it asked for.
async fn listen_for_tool_changes(id: &str) -> Vec<String> {
    let (_server, client, router) = start(McpServer::builder).await;
    let listen = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{
            "_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities":{{}}}},
            "notifications":{{"toolsListChanged":true}}}}}}"#
    );
    let response = client
        .send_streaming(
            Method::POST,
            listen.into_bytes(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "subscriptions/listen"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    use http_body_util::BodyExt;
    let mut seen = String::new();
    let mut changed = false;
    while seen.matches("data: ").count() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("frame in time")
            .expect("stream open")
            .expect("frame");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
        if !changed && seen.contains("acknowledged") {
            // Only tool changes were asked for: other events must not appear.
            router.notify_resource_updated("file:///x");
            router.remove_tool("roots");
            changed = true;
        }
    }
    seen.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn subscriptions_listen_streams_tagged_notifications() {
    let messages: Vec<Value> = listen_for_tool_changes("42")
        .await
        .iter()
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(
        messages[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        messages[0]["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    assert_eq!(messages[1]["method"], "notifications/tools/list_changed");
    for message in &messages {
        assert_eq!(
            message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            42
        );
    }
}

#[tokio::test]
async fn a_subscription_id_past_64_bits_is_echoed_digit_for_digit() {
    // No `f64` holds it: a server that passes the id through one answers 1.2345…e29.
    let id = "123456789012345678901234567891";
    let messages = listen_for_tool_changes(id).await;
    let tag = format!(r#""io.modelcontextprotocol/subscriptionId":{id}}}"#);
    assert!(messages[0].contains("acknowledged"), "{}", messages[0]);
    assert!(
        messages[1].contains("tools/list_changed"),
        "{}",
        messages[1]
    );
    for message in &messages {
        assert!(message.contains(&tag), "{message}");
    }
}

#[tokio::test]
async fn listeners_are_capped() {
    let (_server, client, _) = start(|r| {
        McpServer::builder(r)
            .http_config(mcp_tower::StreamableHttpConfig::default().max_listeners(1))
    })
    .await;
    let listen = json!({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}},
        "notifications": {"toolsListChanged": true}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    let first = client
        .send_streaming(Method::POST, serde_json::to_vec(&listen).unwrap(), &headers)
        .await;
    assert_eq!(first.status(), 200);
    let second = client.post(&listen, &headers).await;
    assert_eq!(second.status, 503);
    assert_eq!(second.json()["error"]["code"], -32000);
    // Closing the first frees its slot.
    drop(first);
    let mut reopened = false;
    for _ in 0..100 {
        let again = client
            .send_streaming(Method::POST, serde_json::to_vec(&listen).unwrap(), &headers)
            .await;
        if again.status() == 200 {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reopened);
}
