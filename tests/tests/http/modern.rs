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
            Some(-32020),
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

/// Arguments annotated with `x-mcp-header`: a `null` one needs no header (the client must
/// omit it), and integers compare by value (`42.0` is `42`), as 2026-07-28 asks.
#[tokio::test]
async fn mirrored_arguments_null_needs_no_header_and_integers_compare_by_value() {
    let (_server, client, router) = start(McpServer::builder).await;
    router.add_tool(
        mcp_core::Tool::new("mirrored")
            .input_schema(json!({
                "type": "object",
                "properties": {
                    "region": {"type": ["string", "null"], "x-mcp-header": "Region"},
                    "count": {"type": "integer", "x-mcp-header": "Count"}
                }
            }))
            .raw_handler(|args, _| async move { Value::Object(args).to_string() }),
    );
    let call = |arguments: Value| {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
            "name":"mirrored","arguments":arguments,"_meta":{
                "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                "io.modelcontextprotocol/clientCapabilities":{}}}})
    };
    let routing = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "mirrored"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut headers = routing.to_vec();
        headers.extend_from_slice(extra);
        headers
    };
    let answered = |reply: &mcp_e2e::Reply| {
        reply.status == 200 && reply.json()["result"]["isError"] != json!(true)
    };

    let null_region = call(json!({"region": null, "count": 42}));
    let reply = client
        .post(&null_region, &with(&[("mcp-param-count", "42")]))
        .await;
    assert!(answered(&reply), "{} {:?}", reply.status, reply.body);

    for spelled in ["42.0", "4.2e1", " 42 "] {
        let reply = client
            .post(
                &call(json!({"count": 42})),
                &with(&[("mcp-param-count", spelled)]),
            )
            .await;
        assert!(
            answered(&reply),
            "{spelled}: {} {:?}",
            reply.status,
            reply.body
        );
    }
    let reply = client
        .post(
            &call(json!({"count": 42.0})),
            &with(&[("mcp-param-count", "42")]),
        )
        .await;
    assert!(answered(&reply), "{} {:?}", reply.status, reply.body);

    // Still refused: another value, and a present argument without its header.
    let reply = client
        .post(
            &call(json!({"count": 42})),
            &with(&[("mcp-param-count", "43")]),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["code"], -32020);
    let reply = client
        .post(
            &call(json!({"region": "eu", "count": 1})),
            &with(&[("mcp-param-count", "1")]),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["code"], -32020);
}

/// An `x-mcp-header` on a nested property mirrors the argument at that path: its header is
/// checked like a top-level one (2026-07-28 allows any depth through `properties`).
#[tokio::test]
async fn nested_mirrored_arguments_are_checked() {
    let (_server, client, router) = start(McpServer::builder).await;
    router.add_tool(
        mcp_core::Tool::new("nested")
            .input_schema(json!({
                "type": "object",
                "properties": {"cfg": {"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"}}}}
            }))
            .raw_handler(|args, _| async move { Value::Object(args).to_string() }),
    );
    let call = |arguments: Value| {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
            "name":"nested","arguments":arguments,"_meta":{
                "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                "io.modelcontextprotocol/clientCapabilities":{}}}})
    };
    let headers = |region: Option<&'static str>| {
        let mut headers = vec![
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "nested"),
        ];
        headers.extend(region.map(|region| ("mcp-param-region", region)));
        headers
    };
    let arguments = json!({"cfg": {"region": "us-west1"}});
    let reply = client
        .post(&call(arguments.clone()), &headers(Some("us-west1")))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    for (sent, says) in [
        (Some("eu-evil"), "does not match argument 'cfg.region'"),
        (None, "required for argument 'cfg.region'"),
    ] {
        let reply = client.post(&call(arguments.clone()), &headers(sent)).await;
        assert_eq!(reply.status, 400, "{sent:?}");
        assert_eq!(reply.json()["error"]["code"], -32020);
        let message = reply.json()["error"]["message"].to_string();
        assert!(message.contains(says), "{message}");
    }
    // No value at the path (its parent object absent): no header expected.
    let reply = client.post(&call(json!({})), &headers(None)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Params with an escaped key are read by serde: when it refuses them (a member of the wrong
/// type), the answer says so, rather than that a present `_meta` is missing.
#[tokio::test]
async fn unreadable_params_are_refused_for_what_is_wrong() {
    let (_server, client, _) = start(McpServer::builder).await;
    // A `tools/call` whose params are `params`, with the routing headers naming `name`; the
    // refusal's message, checked to be -32602 with status 400.
    let refusal = |params: String, name: &'static str| {
        let client = &client;
        async move {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}"#);
            let headers = [
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", name),
            ];
            let reply = client.send(Method::POST, body, &headers).await;
            assert_eq!(reply.status, 400, "{:?}", reply.body);
            assert_eq!(reply.json()["error"]["code"], -32602);
            reply.json()["error"]["message"].to_string()
        }
    };
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let message = refusal(format!(r#"{{"n\u0061me":5,{meta}}}"#), "5").await;
    assert!(message.contains("invalid type"), "{message}");
    assert!(!message.contains("_meta"), "{message}");
    // No Rust type name reaches the client.
    let message = refusal(r#"{"n\u0061me":"x","_meta":5}"#.to_owned(), "x").await;
    assert!(message.contains("_meta to be an object"), "{message}");
    assert!(!message.contains("MetaVersion"), "{message}");
}

/// 2026-07-28 streams cannot be resumed: their events carry no ids, and no priming event
/// (empty data, `retry`) precedes the messages, whether the answer streams (progress) or
/// comes whole (`AlwaysSse`).
#[tokio::test]
async fn modern_sse_answers_carry_no_event_ids_and_no_priming_event() {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "progressToken": "p"
    });
    let call = |name: &str| {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
               "params":{"name":name,"arguments":{"a":1,"b":2},"_meta":meta}})
    };
    let headers = |name: &'static str| {
        [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", name),
        ]
    };
    let only_data = |reply: &mcp_e2e::Reply| {
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.headers["content-type"], "text/event-stream", "{text}");
        for line in text.lines().filter(|line| !line.is_empty()) {
            let data = line.strip_prefix("data: ");
            assert!(data.is_some_and(|d| !d.is_empty()), "{line:?} in {text}");
        }
        reply.sse_messages()
    };

    let (_server, client, _) = start(McpServer::builder).await;
    let messages = only_data(
        &client
            .post(&call("slow_progress"), &headers("slow_progress"))
            .await,
    );
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0]["method"], "notifications/progress");
    assert_eq!(messages[3]["result"]["content"][0]["text"], "done");

    let (_server, client, _) = start(|router| {
        McpServer::builder(router).http_config(
            mcp_tower::StreamableHttpConfig::default()
                .response_mode(mcp_tower::ResponseMode::AlwaysSse),
        )
    })
    .await;
    let messages = only_data(&client.post(&call("add"), &headers("add")).await);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["result"]["content"][0]["text"], "3");
}

/// A DELETE in the 2026-07-28 era is refused with 405, as a GET is, and its
/// `Mcp-Session-Id` is ignored: it cannot end a legacy session.
#[tokio::test]
async fn a_modern_delete_is_405_and_ends_no_session() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let modern = ("mcp-protocol-version", "2026-07-28");
    for headers in [
        vec![modern],
        vec![modern, ("mcp-session-id", session.as_str())],
    ] {
        let reply = client.send(Method::DELETE, "", &headers).await;
        assert_eq!(reply.status, 405, "{headers:?}: {:?}", reply.body);
        assert!(reply.headers.contains_key("allow"));
    }
    // The legacy session lives on.
    let legacy = mcp_e2e::session_headers(&session, "2025-11-25");
    let reply = client.post(&super::call_add(2), &legacy).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["result"]["content"][0]["text"], "5");
}

/// A request made the 2026-07-28 way that names a legacy version is refused with -32022
/// listing only the versions a request may name that way, so that a client retrying with one
/// of them succeeds, and the message says legacy versions come with `initialize`. An
/// unknown version is answered with every supported version.
#[tokio::test]
async fn a_legacy_version_in_meta_is_refused_with_the_per_request_versions() {
    let (_server, client, _) = start(McpServer::builder).await;
    let list = |version: &str| {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {}}}})
    };
    let reply = client
        .post(
            &list("2025-11-25"),
            &[
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32022, "{error}");
    assert_eq!(error["data"]["supported"], json!(["2026-07-28"]));
    assert_eq!(error["data"]["requested"], "2025-11-25");
    assert!(
        error["message"].as_str().unwrap().contains("initialize"),
        "{error}"
    );
    let reply = client
        .post(
            &list("2099-01-01"),
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32022, "{error}");
    assert_eq!(error["data"]["supported"].as_array().unwrap().len(), 4);
}

/// A log level that is not one, or capabilities of the wrong shape, are refused with -32602
/// and 400 by every method, not only by those that run handlers (2026-07-28, basic:
/// per-request protocol fields; logging: error handling).
#[tokio::test]
async fn malformed_reserved_meta_is_refused_by_every_method() {
    let (_server, client, _) = start(McpServer::builder).await;
    let malformed = [
        ("logLevel", json!("verbose")),
        ("clientCapabilities", json!({"sampling": true})),
        (
            "clientCapabilities",
            json!({"roots": {"listChanged": "yes"}}),
        ),
    ];
    for (method, extra) in [
        ("server/discover", json!({})),
        ("tools/list", json!({})),
        ("resources/templates/list", json!({})),
        (
            "subscriptions/listen",
            json!({"notifications": {"toolsListChanged": true}}),
        ),
        (
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        ),
    ] {
        let mut headers = vec![
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
        ];
        if method == "tools/call" {
            headers.push(("mcp-name", "add"));
        }
        let mut params = extra.clone();
        for (field, value) in &malformed {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            });
            params["_meta"][format!("io.modelcontextprotocol/{field}")] = value.clone();
            let body = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params});
            let reply = client.post(&body, &headers).await;
            assert_eq!(reply.status, 400, "{method} {field}: {:?}", reply.body);
            let error = &reply.json()["error"];
            assert_eq!(error["code"], -32602, "{method} {field}: {error}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains(field), "{method}: {message}");
        }
        // Known values are served (a listen stream stays open: its status says it).
        params["_meta"]["io.modelcontextprotocol/logLevel"] = json!("debug");
        params["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
            json!({"sampling": {}, "roots": {"listChanged": true}});
        let body = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params});
        if method == "subscriptions/listen" {
            let response = client
                .send_streaming(Method::POST, serde_json::to_vec(&body).unwrap(), &headers)
                .await;
            assert_eq!(response.status(), 200);
            continue;
        }
        let reply = client.post(&body, &headers).await;
        assert_eq!(reply.status, 200, "{method}: {:?}", reply.body);
        assert!(
            reply.json()["result"].is_object(),
            "{method}: {:?}",
            reply.body
        );
    }
    // Other invalid params keep their 200 (an unknown tool).
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope",
        "arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "nope"),
    ];
    let reply = client.post(&body, &headers).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["error"]["code"], -32602);
}

/// A modern body without `MCP-Protocol-Version` is told the header is missing (not that an
/// empty one differs).
#[tokio::test]
async fn a_missing_version_header_is_named_missing() {
    let (_server, client, _) = start(McpServer::builder).await;
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    let reply = client.post(&body, &[("mcp-method", "tools/list")]).await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32020);
    assert_eq!(
        error["message"],
        "Header mismatch: MCP-Protocol-Version header is required (body value '2026-07-28')"
    );
}

/// An `MCP-Protocol-Version` header that cannot be read (repeated, not ASCII) is a
/// HeaderMismatch for a body that names 2026-07-28 (a modern client fixes its headers rather
/// than fall back to `initialize`), and a Bad Request for a legacy body.
#[tokio::test]
async fn an_unreadable_version_header_is_refused_in_the_body_s_era() {
    let (_server, client, _) = start(McpServer::builder).await;
    let modern = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    let legacy = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
    let repeated = [
        ("mcp-method", "tools/list"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-protocol-version", "2026-07-28"),
    ];
    let not_ascii = [
        ("mcp-method", "tools/list"),
        ("mcp-protocol-version", "2026-07-28\u{e9}"),
    ];
    for (case, headers) in [("repeated", &repeated[..]), ("not ASCII", &not_ascii[..])] {
        let reply = client.post(&modern, headers).await;
        assert_eq!(reply.status, 400, "{case}");
        let error = &reply.json()["error"];
        assert_eq!(error["code"], -32020, "{case}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Header mismatch: "),
            "{case}: {error}"
        );
        let reply = client.post(&legacy, headers).await;
        assert_eq!(reply.status, 400, "{case}");
        assert_eq!(reply.json()["error"]["code"], -32600, "{case}");
    }
}
