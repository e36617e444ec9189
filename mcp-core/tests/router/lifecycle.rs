//! The handshake and the protocol-level methods: initialize, ping, capabilities,
//! logging/setLevel, unknown and era-gated methods, notifications.

use mcp_core::jsonrpc::codes;
use mcp_core::protocol::{ClientCapabilities, LoggingLevel, PromptMessage};
use mcp_core::{
    McpRequest, NoNotificationStream, Prompt, RequestContext, Router, Session, SessionHandle,
    StatelessTransport,
};
use serde_json::json;

use crate::support::{
    LEGACY, MODERN, TestSession, full_router, legacy, legacy_error, modern, modern_error, parse,
    request, respond, result_of, send, server_info_meta, tool_add,
};

// ---------------------------------------------------------------------------------------------
// initialize, ping, capabilities
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn initialize_echoes_a_supported_version_with_derived_capabilities() {
    let router = full_router();
    let params = initialize_params("2025-06-18");
    let response = respond(&router, request(LEGACY, 7, "initialize", params)).await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 7,
            "result": {
                "protocolVersion": "2025-06-18",
                "capabilities": {
                    "logging": {},
                    "completions": {},
                    "prompts": { "listChanged": true },
                    "resources": { "subscribe": true, "listChanged": true },
                    "tools": { "listChanged": true }
                },
                "serverInfo": { "name": "test-server", "version": "1.2.3" },
                "instructions": "Use the tools."
            }
        })
    );
}

#[tokio::test]
async fn server_info_can_be_kept_out_of_modern_results() {
    let router = |include| {
        Router::builder()
            .name("test-server", "1.2.3")
            .tool(tool_add())
            .server_info_in_results(include)
            .build()
    };
    let add = json!({ "name": "add", "arguments": { "a": 1, "b": 2 } });
    let router_without = router(false);
    let called = modern(&router_without, "tools/call", add.clone()).await;
    assert_eq!(called["resultType"], "complete");
    assert!(called["content"].is_array(), "{called}");
    assert!(called.get("_meta").is_none(), "{called}");
    let discovered = modern(&router_without, "server/discover", json!({})).await;
    assert_eq!(discovered["resultType"], "complete");
    assert!(discovered.get("_meta").is_none(), "{discovered}");
    // The legacy handshake's result requires `serverInfo`: it stays.
    let params = initialize_params("2025-11-25");
    let initialized = legacy(&router_without, "initialize", params).await;
    assert_eq!(initialized["serverInfo"]["name"], "test-server");
    // With it on (the default, which the modern tools/call tests below see), every modern
    // result names the server.
    let called = modern(&router(true), "tools/call", add).await;
    assert_eq!(called["_meta"], server_info_meta());
}

#[tokio::test]
async fn initialize_offers_the_latest_legacy_version_for_unknown_ones() {
    let router = full_router();
    for requested in ["1999-01-01", "2026-07-28", "latest", ""] {
        let params = initialize_params(requested);
        let result = legacy(&router, "initialize", params).await;
        assert_eq!(
            result["protocolVersion"], "2025-11-25",
            "requested {requested:?}"
        );
    }
    for supported in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let params = initialize_params(supported);
        let result = legacy(&router, "initialize", params).await;
        assert_eq!(result["protocolVersion"], supported);
    }
}

#[tokio::test]
async fn capabilities_follow_what_is_registered() {
    let init = initialize_params("2025-11-25");

    let empty = Router::builder().name("empty", "0").build();
    let result = legacy(&empty, "initialize", init.clone()).await;
    assert_eq!(result["capabilities"], json!({ "logging": {} }));

    let tools_only = Router::builder()
        .name("tools", "0")
        .tool(tool_add())
        .build();
    let result = legacy(&tools_only, "initialize", init.clone()).await;
    assert_eq!(
        result["capabilities"],
        json!({ "logging": {}, "tools": { "listChanged": true } })
    );
    assert!(result["capabilities"].get("prompts").is_none());
    assert!(result.get("instructions").is_none());

    // A prompt without completions: prompts, but no completions capability.
    let prompts_only = Router::builder()
        .prompt(
            Prompt::new("p").handler(|_args, _ctx: RequestContext| async {
                vec![PromptMessage::user_text("hi")]
            }),
        )
        .build();
    let result = legacy(&prompts_only, "initialize", init.clone()).await;
    assert_eq!(
        result["capabilities"],
        json!({ "logging": {}, "prompts": { "listChanged": true } })
    );

    // Capabilities follow runtime changes too.
    tools_only.remove_tool("add");
    let result = legacy(&tools_only, "initialize", init).await;
    assert_eq!(result["capabilities"], json!({ "logging": {} }));
}

#[tokio::test]
async fn ping_answers_an_empty_result() {
    let router = full_router();
    let response = respond(&router, request(LEGACY, 3, "ping", json!({}))).await;
    assert_eq!(response, json!({ "jsonrpc": "2.0", "id": 3, "result": {} }));

    // Without params at all.
    let body = json!({ "jsonrpc": "2.0", "id": "p-1", "method": "ping" });
    let response = respond(&router, McpRequest::new(parse(&body), LEGACY)).await;
    assert_eq!(
        response,
        json!({ "jsonrpc": "2.0", "id": "p-1", "result": {} })
    );
}

// ---------------------------------------------------------------------------------------------
// logging/setLevel, unknown methods, era gating, notifications
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logging_set_level() {
    let router = full_router();
    // No session from a transport that has none: nowhere to keep the level, and a success
    // would tell the client its logs are filtered when they are not.
    let mut stateless = request(LEGACY, 1, "logging/setLevel", json!({ "level": "warning" }));
    stateless.extensions.insert(StatelessTransport);
    let refused = respond(&router, stateless).await;
    assert_eq!(refused["error"]["code"], -32603, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stateless")),
        "{refused}"
    );
    // No session and no word from the transport (the router called as it is): accepted,
    // nothing to record.
    assert_eq!(
        legacy(&router, "logging/setLevel", json!({ "level": "warning" })).await,
        json!({})
    );

    let session = TestSession::with_capabilities(ClientCapabilities::default());
    let mut set = request(LEGACY, 1, "logging/setLevel", json!({ "level": "error" }));
    set.extensions.insert::<SessionHandle>(session.clone());
    assert_eq!(result_of(&router, set).await, json!({}));
    assert_eq!(session.log_level(), Some(LoggingLevel::Error));
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let router = full_router();
    for version in [LEGACY, MODERN] {
        let response = respond(&router, request(version, 9, "tools/explode", json!({}))).await;
        assert_eq!(
            response,
            json!({
                "jsonrpc": "2.0",
                "id": 9,
                "error": { "code": -32601, "message": "Method not found: tools/explode" }
            })
        );
    }
}

#[tokio::test]
async fn methods_are_gated_by_era() {
    let router = full_router();
    let init = initialize_params("2026-07-28");
    let error = modern_error(&router, "initialize", init).await;
    assert_eq!(
        error,
        json!({ "code": -32601, "message": "Method not found: initialize" })
    );
    for method in ["ping", "logging/setLevel", "resources/subscribe"] {
        let error = modern_error(&router, method, json!({})).await;
        assert_eq!(error["code"], codes::METHOD_NOT_FOUND, "{method}");
    }

    let error = legacy_error(&router, "server/discover", json!({})).await;
    assert_eq!(
        error,
        json!({ "code": -32601, "message": "Method not found: server/discover" })
    );
    let error = legacy_error(&router, "subscriptions/listen", json!({})).await;
    assert_eq!(error["code"], codes::METHOD_NOT_FOUND);
}

#[tokio::test]
async fn subscriptions_listen_is_answered_with_the_supported_types_it_asked_for() {
    let tools_only = Router::builder().tool(tool_add()).build();
    let everything = json!({ "notifications": {
        "toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true,
        "resourceSubscriptions": ["test://a"] } });
    let answer = modern(&tools_only, "subscriptions/listen", everything.clone()).await;
    // The closing result's shape, plus what the transport's stream would carry.
    assert_eq!(
        answer,
        json!({ "resultType": "complete",
                "_meta": { "io.modelcontextprotocol/subscriptionId": 1 },
                "notifications": { "toolsListChanged": true } })
    );
    let answer = modern(&full_router(), "subscriptions/listen", everything).await;
    assert_eq!(
        answer["notifications"],
        json!({ "toolsListChanged": true, "promptsListChanged": true,
                "resourcesListChanged": true, "resourceSubscriptions": ["test://a"] })
    );
    // What was not asked for (or asked for with `false`) is not carried.
    let some = json!({ "notifications": { "toolsListChanged": false } });
    let answer = modern(&full_router(), "subscriptions/listen", some).await;
    assert_eq!(answer["notifications"], json!({}));
    let error = modern_error(&full_router(), "subscriptions/listen", json!({})).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
    // The filter is an object: serde would read an array by position.
    let array = json!({ "notifications": [true, true, true] });
    let error = modern_error(&full_router(), "subscriptions/listen", array).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("`notifications` to be an object")
    );
}

/// A transport with no stream for list changes and updates says so; the router then offers
/// neither and refuses to subscribe, in both eras.
#[tokio::test]
async fn without_a_notification_stream_no_updates_are_offered() {
    let router = full_router();
    let marked = |mut request: McpRequest| {
        request.extensions.insert(NoNotificationStream);
        request
    };
    let session = TestSession::with_capabilities(ClientCapabilities::default());
    let mut init = marked(request(
        LEGACY,
        1,
        "initialize",
        initialize_params("2025-11-25"),
    ));
    init.extensions.insert::<SessionHandle>(session.clone());
    let capabilities = result_of(&router, init).await["capabilities"].clone();
    assert_eq!(capabilities["tools"], json!({ "listChanged": false }));
    assert_eq!(capabilities["resources"], json!({ "listChanged": false }));
    let mut subscribe = marked(request(
        LEGACY,
        2,
        "resources/subscribe",
        json!({ "uri": "test://a" }),
    ));
    subscribe.extensions.insert::<SessionHandle>(session);
    let error = respond(&router, subscribe).await["error"].clone();
    assert_eq!(error["code"], codes::METHOD_NOT_FOUND, "{error}");

    let discover = marked(request(MODERN, 3, "server/discover", json!({})));
    let capabilities = result_of(&router, discover).await["capabilities"].clone();
    assert_eq!(capabilities["prompts"], json!({ "listChanged": false }));
    let listen = json!({ "notifications": { "toolsListChanged": true } });
    let error = respond(
        &router,
        marked(request(MODERN, 4, "subscriptions/listen", listen)),
    )
    .await;
    assert_eq!(error["error"]["code"], codes::METHOD_NOT_FOUND, "{error}");
}

#[tokio::test]
async fn notifications_and_client_responses_get_no_response() {
    let router = full_router();
    for body in [
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 1 } }),
        json!({ "jsonrpc": "2.0", "method": "tools/call", "params": { "name": "add" } }),
        json!({ "jsonrpc": "2.0", "method": "no/such/notification" }),
        json!({ "jsonrpc": "2.0", "id": 4, "result": {} }),
        json!({ "jsonrpc": "2.0", "id": 4, "error": { "code": -1, "message": "no" } }),
    ] {
        for version in [LEGACY, MODERN] {
            let response = send(&router, McpRequest::new(parse(&body), version)).await;
            assert!(response.is_none(), "{body} → {response:?}");
            let mut out = Vec::new();
            response.write_json(&mut out);
            assert!(out.is_empty());
        }
    }
}

#[tokio::test]
async fn capabilities_follow_what_the_caller_may_see() {
    let router = full_router();
    let init = initialize_params("2025-11-25");
    let everything = legacy(&router, "initialize", init.clone()).await;
    for capability in ["tools", "prompts", "resources", "completions"] {
        assert!(
            everything["capabilities"].get(capability).is_some(),
            "{capability}: {everything}"
        );
    }
    // A plan that sees one tool learns nothing of the prompts, resources and completions it
    // cannot see, not even that they exist.
    let mut initialize = request(LEGACY, 1, "initialize", init);
    initialize.extensions.insert(
        mcp_core::AllowList::new()
            .tools(["add"])
            .prompts(Vec::<String>::new())
            .resources(Vec::<String>::new())
            .resource_templates(Vec::<String>::new()),
    );
    let restricted = result_of(&router, initialize).await;
    assert_eq!(
        restricted["capabilities"],
        json!({ "logging": {}, "tools": { "listChanged": true } })
    );
}

/// `initialize` params of a client with no capabilities asking for `version`.
fn initialize_params(version: impl serde::Serialize) -> serde_json::Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": { "name": "client", "version": "0.1" }
    })
}
