//! Both eras on one endpoint: a legacy client and a modern client interleaved on the same
//! server, the same handler asking for input in each era's way, and sealed `requestState`.

use http::Request;
use mcp_core::protocol::{ElicitAction, ElicitRequestFormParams, ElicitRequestParams};
use mcp_core::{Json, Principal, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer};
use mcp_tower::{
    AllowListLayer, BatchLayer, HostOriginLayer, SessionConfig, SessionLayer, StreamableHttpConfig,
    StreamableHttpLayer,
};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

type Args = Json<serde_json::Map<String, Value>>;

/// One handler, both eras: it asks the user for a name and greets them.
fn router() -> Router {
    Router::builder()
        .name("eras", "1.0.0")
        .tool(Tool::new("greet").description("Asks for a name, then greets").handler(
            |Json(_): Args, ctx: RequestContext| async move {
                let schema = json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]});
                let params = ElicitRequestParams::Form(ElicitRequestFormParams::new(
                    "Your name?",
                    serde_json::from_value(schema).expect("schema"),
                ));
                match ctx.elicit(params).await {
                    Ok(answer) if answer.action == ElicitAction::Accept => {
                        let name = answer
                            .content
                            .and_then(|c| c.get("name").and_then(|n| n.as_str().map(str::to_owned)))
                            .unwrap_or_default();
                        Ok(format!("Hello, {name}!"))
                    }
                    Ok(_) => Ok("No name given".to_owned()),
                    Err(error) => Err(error),
                }
            },
        ))
        .build()
}

/// The stack written out, with a test authenticator that trusts an `x-user` header.
async fn start() -> (TestServer, TestClient) {
    start_with(router()).await
}

async fn start_with(router: Router) -> (TestServer, TestClient) {
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(AllowListLayer::new())
        .service(router.clone());
    let http = ServiceBuilder::new()
        .layer(HostOriginLayer::new())
        .map_request(|mut request: Request<hyper::body::Incoming>| {
            let user = request
                .headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(|user| match user {
                    // The free plan sees `greet` only.
                    "free" => Principal::new(user)
                        .with_allow_list(mcp_core::AllowList::new().tools(["greet"])),
                    _ => Principal::new(user),
                });
            if let Some(principal) = user {
                request.extensions_mut().insert(principal);
            }
            request
        })
        .layer(SessionLayer::new(SessionConfig::default()).deliver_events_from(&router))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    let server = TestServer::start(BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    (server, client)
}

fn modern_call(id: i64, extra: Value) -> Value {
    let mut params = json!({
        "name": "greet",
        "arguments": {},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}
        }
    });
    if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
        params.extend(extra.clone());
    }
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params})
}

const MODERN: [(&str, &str); 3] = [
    ("mcp-protocol-version", "2026-07-28"),
    ("mcp-method", "tools/call"),
    ("mcp-name", "greet"),
];

fn with_user(user: &str) -> Vec<(&str, &str)> {
    let mut headers = MODERN.to_vec();
    headers.push(("x-user", user));
    headers
}

#[tokio::test]
async fn the_same_handler_asks_for_input_in_both_eras_on_one_endpoint() {
    let (_server, client) = start().await;

    // Modern round 1: the handler's question becomes an input_required result.
    let first = client
        .post(&modern_call(1, json!({})), &with_user("alice"))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let result = first.json()["result"].clone();
    assert_eq!(result["resultType"], "input_required");
    let requests = result["inputRequests"]
        .as_object()
        .expect("inputRequests")
        .clone();
    assert_eq!(requests.len(), 1);
    let (key, request) = requests.into_iter().next().unwrap();
    assert_eq!(request["method"], "elicitation/create");
    let state = result["requestState"]
        .as_str()
        .expect("requestState")
        .to_owned();

    // A legacy client in the middle, on the same endpoint, gets the same question on its
    // stream and answers it with a POST.
    let session = client.initialize("2025-11-25").await;
    let legacy = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"greet","arguments":{}}});
    let response = client
        .send_streaming(
            http::Method::POST,
            serde_json::to_vec(&legacy).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    let mut body = response.into_body();
    let mut seen = String::new();
    let mut answered = false;
    use http_body_util::BodyExt;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame.expect("frame").data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
        if !answered && let Some(line) = seen.lines().find(|l| l.contains("elicitation/create")) {
            let request: Value = serde_json::from_str(line.trim_start_matches("data: ")).unwrap();
            let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"action":"accept","content":{"name":"Lee"}}});
            assert_eq!(
                client
                    .post(&answer, &[("mcp-session-id", &session)])
                    .await
                    .status,
                202
            );
            answered = true;
        }
    }
    assert!(seen.contains("Hello, Lee!"), "{seen}");

    // Modern round 2: the retry carries the answer and the sealed state.
    let answers = json!({ key.clone(): {"action":"accept","content":{"name":"Ada"}} });
    let retry = modern_call(2, json!({"inputResponses": answers, "requestState": state}));
    let second = client.post(&retry, &with_user("alice")).await;
    let result = &second.json()["result"];
    assert_eq!(result["resultType"], "complete", "{result}");
    assert_eq!(result["content"][0]["text"], "Hello, Ada!");

    // The state is bound to its principal: mallory cannot replay alice's.
    let replayed = client.post(&retry, &with_user("mallory")).await;
    assert_eq!(
        replayed.json()["error"]["code"],
        -32602,
        "{:?}",
        replayed.body
    );

    // A forged state is refused.
    let mut forged_state = state.clone();
    forged_state.replace_range(0..4, "AAAA");
    let forged = modern_call(
        3,
        json!({"inputResponses": answers, "requestState": forged_state}),
    );
    let refused = client.post(&forged, &with_user("alice")).await;
    assert_eq!(refused.json()["error"]["code"], -32602);
}

#[tokio::test]
async fn input_responses_no_question_asked_for_are_ignored() {
    let (_server, client) = start().await;
    let ada = json!({"action":"accept","content":{"name":"Ada"}});
    let bob = json!({"action":"accept","content":{"name":"Bob"}});

    // The first call asks; the retry answers with the state, plus a key never asked: the
    // extra one is ignored, not an error.
    let first = client
        .post(&modern_call(1, json!({})), &with_user("alice"))
        .await;
    let result = first.json()["result"].clone();
    assert_eq!(result["resultType"], "input_required", "{result}");
    let requests = result["inputRequests"].as_object().expect("inputRequests");
    let key = requests.keys().next().expect("a question").clone();
    let state = result["requestState"].as_str().expect("requestState");
    let answers = json!({ key.clone(): ada, "not-asked": {"action":"decline"} });
    let retry = modern_call(2, json!({"inputResponses": answers, "requestState": state}));
    let second = client.post(&retry, &with_user("alice")).await;
    let result = &second.json()["result"];
    assert_eq!(result["resultType"], "complete", "{result}");
    assert_eq!(result["content"][0]["text"], "Hello, Ada!");

    // An answer ready before its question, with extras, on a first call: taken, as the
    // conformance suite's `ignore-extra-params` expects.
    let ready = json!({"inputResponses": { key: bob, "unknown_extra_key": {"x": 1} }});
    let third = client
        .post(&modern_call(3, ready), &with_user("alice"))
        .await;
    let result = &third.json()["result"];
    assert_eq!(result["resultType"], "complete", "{result}");
    assert_eq!(result["content"][0]["text"], "Hello, Bob!");
}

#[tokio::test]
async fn a_modern_client_without_the_capability_gets_32021_and_400() {
    let (_server, client) = start().await;
    let mut call = modern_call(1, json!({}));
    call["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let reply = client.post(&call, &with_user("alice")).await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32021);
    assert_eq!(
        error["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
}

#[tokio::test]
async fn list_changes_of_hidden_tools_are_not_announced() {
    let router = router();
    let (_server, client) = start_with(router.clone()).await;
    // A free-plan legacy session with its GET stream, and a modern free-plan listener.
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let reply = client.post(&init, &[("x-user", "free")]).await;
    let session = reply.header("mcp-session-id").unwrap().to_owned();
    let stream = client
        .send_streaming(
            http::Method::GET,
            "",
            &[
                ("mcp-session-id", &session),
                ("accept", "text/event-stream"),
                ("x-user", "free"),
            ],
        )
        .await;
    let listen = json!({"jsonrpc":"2.0","id":9,"method":"subscriptions/listen","params":{
        "_meta": {"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities":{}},
        "notifications": {"toolsListChanged": true}}});
    let listener = client
        .send_streaming(
            http::Method::POST,
            serde_json::to_vec(&listen).unwrap(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "subscriptions/listen"),
                ("x-user", "free"),
            ],
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // A hidden tool changes, then a visible one.
    let hidden = Tool::new("admin_only").handler(|Json(_): Args, _: RequestContext| async { "x" });
    router.add_tool(hidden);
    router.remove_tool("greet");
    use http_body_util::BodyExt;
    for response in [stream, listener] {
        let mut body = response.into_body();
        let mut seen = String::new();
        // Collect everything that arrives until the stream has been quiet for a while.
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(std::time::Duration::from_millis(300), body.frame()).await
        {
            if let Some(data) = frame.data_ref() {
                seen.push_str(&String::from_utf8_lossy(data));
            }
        }
        // Exactly one list change reached the free plan: the visible one.
        assert_eq!(
            seen.matches("notifications/tools/list_changed").count(),
            1,
            "{seen}"
        );
    }
}

#[tokio::test]
async fn the_modern_era_names_its_version_where_its_messages_carry_it() {
    let (_server, client) = start().await;
    let version = ("mcp-protocol-version", "2026-07-28");
    // A notification's `_meta` has no version (NotificationMetaObject): the header names it,
    // and this revision sets no routing-header requirements for notifications.
    let cancelled =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}});
    for headers in [
        vec![version],
        vec![version, ("mcp-method", "notifications/cancelled")],
    ] {
        let reply = client.post(&cancelled, &headers).await;
        assert_eq!(reply.status, 202, "{headers:?}: {:?}", reply.body);
    }
    let wrong_method = client
        .post(&cancelled, &[version, ("mcp-method", "tools/call")])
        .await;
    assert_eq!(wrong_method.status, 400, "{:?}", wrong_method.body);
    assert_eq!(wrong_method.json()["error"]["code"], -32020);

    // The era has no server-to-client requests, so no client responses either.
    let response = json!({"jsonrpc":"2.0","id":3,"result":{}});
    let reply = client.post(&response, &[version]).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.json()["error"]["code"], -32600);

    // A legacy version named the modern way, or an unknown version in the header alone, is
    // an unsupported version (-32022, with the supported ones), which a client that speaks
    // both eras recognises.
    let mut legacy_meta = modern_call(4, json!({}));
    legacy_meta["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2025-11-25");
    let unknown = json!({"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}});
    let cases = [
        (
            legacy_meta,
            vec![
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "greet"),
            ],
        ),
        (
            unknown,
            vec![
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
        ),
    ];
    for (body, headers) in cases {
        let reply = client.post(&body, &headers).await;
        assert_eq!(reply.status, 400, "{headers:?}: {:?}", reply.body);
        assert_eq!(reply.json()["error"]["code"], -32022, "{headers:?}");
        assert!(reply.json()["error"]["data"]["supported"].is_array());
        assert_eq!(reply.json()["id"], body["id"], "the id is echoed");
    }
}
