//! A legacy session speaks the version it negotiated: the `MCP-Protocol-Version` header may
//! name any supported version without changing the session's, and an unsupported one is
//! refused on POST, GET and DELETE alike (naming the versions served); a 2026-07-28 request is stateless whatever session
//! id it carries; and streams open with a priming event only from 2025-11-25, the version that
//! introduced it.

use http::Method;
use mcp_core::protocol::{TaskSupport, ToolExecution};
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, read_until, sse_events};
use mcp_tower::McpServer;
use serde_json::{Value, json};

fn router() -> Router {
    Router::builder()
        .name("versions", "1.0.0")
        .tool(Tool::new("steps").description("Reports progress").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), None).await;
                "done"
            },
        ))
        .tool(
            Tool::new("later")
                .description("May run as a task (2025-11-25)")
                .execution(ToolExecution {
                    task_support: Some(TaskSupport::Optional),
                })
                .handler(
                    |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                        ""
                    },
                ),
        )
        .tool(Tool::new("spare").description("Removed by the test").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move { "" },
        ))
        .build()
}

async fn start() -> (TestServer, TestClient, Router) {
    let router = router();
    let server = TestServer::start(McpServer::builder(router.clone()).into_http_service()).await;
    let client = TestClient::new(&server);
    (server, client, router)
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

/// The headers of a 2026-07-28 `tools/list`, with a session id it should not carry.
fn modern_headers(session: &str) -> [(&str, &str); 3] {
    [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
        ("mcp-session-id", session),
    ]
}

fn steps(id: i64) -> Value {
    request(
        id,
        "tools/call",
        json!({"name":"steps","arguments":{},"_meta":{"progressToken":1}}),
    )
}

#[tokio::test]
async fn requests_of_a_session_speak_its_version_without_the_header() {
    let (_server, client, _) = start().await;
    let session = client.initialize("2025-11-25").await;
    let only_session = [("mcp-session-id", session.as_str())];
    // tasks/list exists from 2025-11-25: under the spec's 2025-03-26 fallback it would be
    // unknown.
    let tasks = client
        .post(&request(1, "tasks/list", json!({})), &only_session)
        .await;
    assert_eq!(tasks.status, 200, "{:?}", tasks.body);
    assert!(
        tasks.json()["result"]["tasks"].is_array(),
        "{:?}",
        tasks.body
    );
    // And batches, which only 2025-03-26 accepts, are refused.
    let batch = client
        .post(&json!([request(2, "ping", json!({}))]), &only_session)
        .await;
    assert_eq!(batch.status, 400, "{:?}", batch.body);
    assert_eq!(batch.json()["error"]["code"], -32600);

    // A 2025-03-26 client never sends the header, and may batch.
    let old = client.initialize("2025-03-26").await;
    let batch = client
        .post(
            &json!([request(3, "ping", json!({})), request(4, "ping", json!({}))]),
            &[("mcp-session-id", &old)],
        )
        .await;
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    assert_eq!(batch.json().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_header_names_a_supported_version_and_the_session_keeps_its_own() {
    let (_server, client, _) = start().await;
    let session = client.initialize("2025-06-18").await;
    let with = |version: &'static str| {
        vec![
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", version),
        ]
    };
    // Another supported version is accepted, as the reference SDKs accept it, but does not
    // change the session's: no tasks (2025-11-25), no batches (2025-03-26).
    let tasks = client
        .post(&request(1, "tasks/list", json!({})), &with("2025-11-25"))
        .await;
    assert_eq!(tasks.status, 200, "{:?}", tasks.body);
    assert_eq!(tasks.json()["error"]["code"], -32601, "{:?}", tasks.body);
    let batch = client
        .post(&json!([request(2, "ping", json!({}))]), &with("2025-03-26"))
        .await;
    assert_eq!(batch.status, 400, "{:?}", batch.body);

    // An unsupported one is refused on every method, a session's GET and DELETE included.
    let sse = ("accept", "text/event-stream");
    let ping = request(3, "ping", json!({})).to_string();
    let cases = [
        ("POST", Method::POST, ping.clone(), with("1999-01-01")),
        (
            "GET",
            Method::GET,
            String::new(),
            [with("bogus"), vec![sse]].concat(),
        ),
        ("DELETE", Method::DELETE, String::new(), with("bogus")),
    ];
    for (case, method, body, headers) in cases {
        let reply = client.send(method, body, &headers).await;
        assert_eq!(reply.status, 400, "{case}: {:?}", reply.body);
        assert_eq!(reply.json()["error"]["code"], -32022, "{case}");
        assert!(
            reply.json()["error"]["data"]["supported"].is_array(),
            "{case}: {:?}",
            reply.body
        );
    }
    // None of the refusals ended the session.
    let reply = client.send(Method::POST, ping, &with("2025-06-18")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let deleted = client.send(Method::DELETE, "", &with("2025-06-18")).await;
    assert_eq!(deleted.status, 200);
}

#[tokio::test]
async fn a_modern_request_is_stateless_whatever_session_id_it_carries() {
    let (_server, client, _) = start().await;
    let live = client.initialize("2025-11-25").await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    for session in [live.as_str(), "stale-or-made-up"] {
        let listed = client
            .post(
                &request(1, "tools/list", json!({"_meta": meta})),
                &modern_headers(session),
            )
            .await;
        assert_eq!(listed.status, 200, "{session}: {:?}", listed.body);
        assert_eq!(
            listed.json()["result"]["resultType"],
            "complete",
            "{session}"
        );
        // Checked as modern: `_meta` is required, a session does not stand in for it.
        let bare = client
            .post(
                &request(2, "tools/list", json!({})),
                &modern_headers(session),
            )
            .await;
        assert_eq!(bare.status, 400, "{session}: {:?}", bare.body);
        let error = &bare.json()["error"];
        assert_eq!(error["code"], -32602, "{session}");
        // It says why a request with a session is read as modern.
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("header names 2026-07-28") && message.contains("Mcp-Session-Id"),
            "{message}"
        );
    }
    // The legacy session itself is untouched.
    let ping = client
        .post(&request(3, "ping", json!({})), &[("mcp-session-id", &live)])
        .await;
    assert_eq!(ping.status, 200, "{:?}", ping.body);
}

/// The first events of the session's GET stream, up to and including the first message.
async fn get_stream_until_message(
    client: &TestClient,
    session: &str,
    router: &Router,
) -> Vec<(String, String)> {
    let response = client
        .send_streaming(
            Method::GET,
            "",
            &[("mcp-session-id", session), ("accept", "text/event-stream")],
        )
        .await;
    assert_eq!(response.status(), 200);
    // The stream is registered before the response returns; the change comes after it.
    router.remove_tool("spare");
    sse_events(&read_until(&mut response.into_body(), "list_changed").await)
}

#[tokio::test]
async fn streams_open_with_a_priming_event_only_from_2025_11_25() {
    for (version, primed) in [
        ("2025-03-26", false),
        ("2025-06-18", false),
        ("2025-11-25", true),
    ] {
        let (_server, client, router) = start().await;
        let session = client.initialize(version).await;

        // A POST answered as SSE (the handler reports progress).
        let reply = client
            .post(
                &steps(1),
                &[
                    ("mcp-session-id", &session),
                    ("mcp-protocol-version", version),
                ],
            )
            .await;
        assert_eq!(
            reply.header("content-type"),
            Some("text/event-stream"),
            "{version}"
        );
        let posted = sse_events(&String::from_utf8_lossy(&reply.body));
        let stream = get_stream_until_message(&client, &session, &router).await;

        for (what, events) in [("POST", posted), ("GET", stream)] {
            let (first_id, first_data) = events.first().expect("an event");
            assert_eq!(
                first_data.is_empty(),
                primed,
                "{version} {what}: first event {first_id} {first_data:?}"
            );
            if primed {
                assert!(first_id.ends_with("-0"), "{version} {what}: {first_id}");
            }
            // Every other event is a message.
            for (id, data) in events.iter().skip(usize::from(primed)) {
                let message: Value = serde_json::from_str(data)
                    .unwrap_or_else(|e| panic!("{version} {what} {id}: {e}: {data:?}"));
                assert_eq!(message["jsonrpc"], "2.0");
            }
        }
    }
}

/// A 2026-07-28 request of `method`, as a dual-era client first tries it.
fn modern_request(method: &str, version: &str) -> (Value, [(&'static str, String); 2]) {
    let body = request(
        1,
        method,
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": version,
                         "io.modelcontextprotocol/clientCapabilities": {}}}),
    );
    let headers = [
        ("mcp-protocol-version", version.to_owned()),
        ("mcp-method", method.to_owned()),
    ];
    (body, headers)
}

async fn start_with(config: mcp_tower::StreamableHttpConfig) -> (TestServer, TestClient) {
    let service = McpServer::builder(router())
        .http_config(config)
        .into_http_service();
    let server = TestServer::start(service).await;
    let client = TestClient::new(&server);
    (server, client)
}

/// A 400 without a modern error (-32022 would tell the client to retry modern): dual-era
/// clients fall back to initialize. The message names what is spoken.
fn assert_legacy_refusal(refused: &mcp_e2e::Reply, case: &str) {
    assert_eq!(refused.status, 400, "{case}: {:?}", refused.body);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], -32600, "{case}: {error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.ends_with("this server speaks 2025-03-26, 2025-06-18, 2025-11-25"),
        "{case}: {message}"
    );
}

#[tokio::test]
async fn a_legacy_only_server_sends_modern_clients_to_initialize() {
    let config = mcp_tower::StreamableHttpConfig::default().modern(false);
    let (_server, client) = start_with(config).await;
    for version in ["2026-07-28", "2027-01-01"] {
        let (body, headers) = modern_request("server/discover", version);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_legacy_refusal(&client.post(&body, &headers).await, version);
    }
    // And initialize works.
    let session = client.initialize("2025-11-25").await;
    // A session's GET and DELETE, which the bridge and the session layer check, are refused
    // the same way for a version that is not served (GET of a modern one is 405).
    for (method, version) in [
        (Method::GET, "2027-01-01"),
        (Method::DELETE, "2027-01-01"),
        (Method::DELETE, "2026-07-28"),
    ] {
        let headers = mcp_e2e::session_headers(&session, version);
        let refused = client.send(method.clone(), "", &headers).await;
        assert_legacy_refusal(&refused, &format!("{method} {version}"));
    }
    let headers = mcp_e2e::session_headers(&session, "2025-11-25");
    assert_eq!(client.send(Method::DELETE, "", &headers).await.status, 200);
}

#[tokio::test]
async fn a_modern_only_server_advertises_only_the_modern_version() {
    let config = mcp_tower::StreamableHttpConfig::default().legacy(false);
    let (_server, client) = start_with(config).await;
    let initialize = request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "x", "version": "1"}}),
    );
    let refused = client.post(&initialize, &[]).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.json()["error"]["code"], -32022);
    assert_eq!(
        refused.json()["error"]["data"]["supported"],
        json!(["2026-07-28"])
    );
    let (body, headers) = modern_request("server/discover", "2026-07-28");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let discovered = client.post(&body, &headers).await;
    assert_eq!(discovered.status, 200, "{:?}", discovered.body);
    assert_eq!(
        discovered.json()["result"]["supportedVersions"],
        json!(["2026-07-28"])
    );
    // A session id (outlived an upgrade, or guessed) is ignored: a legacy request is told
    // the versions served, GET and DELETE are not allowed, as without the header.
    let session = [
        ("mcp-session-id", "0123456789abcdef0123456789abcdef"),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let tools_list = request(1, "tools/list", json!({}));
    let refused = client.post(&tools_list, &session).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(
        refused.json()["error"]["data"]["supported"],
        json!(["2026-07-28"])
    );
    for method in [Method::GET, Method::DELETE] {
        let refused = client.send(method.clone(), "", &session).await;
        assert_eq!(refused.status, 405, "{method}: {:?}", refused.body);
    }
    // An unknown version is told the same list.
    let (body, headers) = modern_request("server/discover", "2027-01-01");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let unknown = client.post(&body, &headers).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json()["error"]["data"]["supported"],
        json!(["2026-07-28"])
    );
}
