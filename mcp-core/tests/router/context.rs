//! `RequestContext` in handlers: progress and log notifications, and server→client requests
//! (roots, elicitation, sampling) over a `ClientPeer` in the legacy era.

use std::time::Duration;

use mcp_core::jsonrpc::codes;
use mcp_core::protocol::{
    ClientCapabilities, CreateMessageRequestParams, ElicitRequestURLParams, ElicitationCapability,
    LoggingLevel, SamplingCapability, SamplingMessage, ToolChoice, ToolChoiceMode,
};
use mcp_core::{
    ClientPeer, Json, ProtocolVersion, RequestContext, Router, Session, SessionHandle, Tool,
};
use serde_json::{Value, json};

use crate::support::{
    LEGACY, MODERN, NoArgs, TestSession, all_client_capabilities, attach_client, error_of,
    form_schema, full_router, modern_error, request, respond, result_of,
};

// ---------------------------------------------------------------------------------------------
// RequestContext: notifications and server→client requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn progress_and_logs_reach_the_client_peer() {
    let router = full_router();
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "progress", "arguments": {}, "_meta": { "progressToken": "tok-1" } }),
    );
    let client = attach_client(&mut call, 16);
    let result = result_of(&router, call).await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "done" }] })
    );
    // The request (and its peer) is gone: the client task ends.
    let seen = client.await.unwrap();
    assert_eq!(
        seen,
        vec![
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": { "progressToken": "tok-1", "progress": 1, "total": 2, "message": "half way" }
            }),
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": { "progressToken": "tok-1", "progress": 1.5 }
            }),
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": { "level": "info", "logger": "worker", "data": { "step": 1 } }
            }),
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": { "progressToken": "tok-1", "progress": 2, "total": 2 }
            }),
        ]
    );
}

/// A progress token is echoed as sent, integers past 64 bits too (serde reads those as the
/// nearest `f64`): the client matches the notifications to its request by it. Both ways the
/// router reads `_meta`: from the transport's scan, and by serde (a key spelled with an escape).
#[tokio::test]
async fn progress_tokens_past_64_bits_are_echoed_exactly() {
    let router = full_router();
    for token in ["99999999999999999999999", "-9223372036854775809"] {
        for name_key in ["name", "n\\u0061me"] {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"{name_key}":"progress","arguments":{{}},"_meta":{{"progressToken":{token}}}}}}}"#
            );
            let message = mcp_core::jsonrpc::Message::parse(body.as_bytes()).unwrap();
            let mut call = mcp_core::McpRequest::new(message, LEGACY);
            let (peer, mut outbound) = ClientPeer::channel(16);
            call.extensions.insert(peer);
            result_of(&router, call).await;
            let mut tokens = Vec::new();
            while let Some(message) = outbound.recv().await {
                if let mcp_core::OutboundMessage::Notification(bytes) = message {
                    let text = String::from_utf8(bytes.to_vec()).unwrap();
                    if text.contains("notifications/progress") {
                        tokens.push(text.contains(&format!(r#""progressToken":{token},"#)));
                    }
                }
            }
            assert_eq!(tokens, [true, true, true], "{token} via {name_key}");
        }
    }
}

/// Progress only increases, and stops with the request: values not greater than the last
/// one sent, and any after the request was cancelled, are not sent (`progress` says so).
#[tokio::test]
async fn progress_is_sent_only_increasing_and_only_while_the_request_runs() {
    let router = Router::builder()
        .tool(
            Tool::new("wobbly").raw_handler(|_, ctx: RequestContext| async move {
                let mut sent = Vec::new();
                for value in [5.0, 3.0, 5.0, 6.0] {
                    sent.push(ctx.progress(value, None, None).await);
                }
                ctx.cancellation_token().cancel();
                sent.push(ctx.progress(7.0, None, None).await);
                format!("{sent:?}")
            }),
        )
        .build();
    let params = json!({ "name": "wobbly", "arguments": {}, "_meta": { "progressToken": 1 } });
    let mut call = request(LEGACY, 1, "tools/call", params);
    let client = attach_client(&mut call, 16);
    let response = respond(&router, call).await;
    let seen = client.await.unwrap();
    let values: Vec<&Value> = seen.iter().map(|m| &m["params"]["progress"]).collect();
    assert_eq!(values, [&json!(5), &json!(6)], "{seen:?}");
    // The router still answers a request its handler finished (transports drop the answer
    // of a cancelled one).
    let text = &response["result"]["content"][0]["text"];
    assert_eq!(text, "[true, false, false, true, false]", "{response}");
}

#[tokio::test]
async fn progress_needs_a_token_and_logs_honour_the_level() {
    let router = full_router();

    // No progress token, session level `error`: nothing is sent.
    let session = TestSession::with_capabilities(ClientCapabilities::default());
    session.set_log_level(LoggingLevel::Error);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "progress", "arguments": {} }),
    );
    let client = attach_client(&mut call, 16);
    call.extensions.insert::<SessionHandle>(session);
    result_of(&router, call).await;
    assert_eq!(client.await.unwrap(), Vec::<Value>::new());

    // Modern era: logs only when the request asks for them, at or above its level.
    for (level, expected) in [(None, 0), (Some("warning"), 0), (Some("debug"), 1)] {
        let mut params = json!({ "name": "progress", "arguments": {} });
        if let Some(level) = level {
            params["_meta"] = json!({ "io.modelcontextprotocol/logLevel": level });
        }
        let mut call = request(MODERN, 1, "tools/call", params);
        let client = attach_client(&mut call, 16);
        result_of(&router, call).await;
        let seen = client.await.unwrap();
        assert_eq!(seen.len(), expected, "level {level:?}: {seen:?}");
    }
}

#[tokio::test]
async fn server_to_client_requests_complete_the_handler_in_the_legacy_era() {
    let router = full_router();
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "interview", "arguments": {} }),
    );
    let client = attach_client(&mut call, 4);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(all_client_capabilities()));
    let result = result_of(&router, call).await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "roots=2 name=Ada reply=Hello, Ada! model=test-model" }] })
    );
    let seen = client.await.unwrap();
    let methods: Vec<&str> = seen
        .iter()
        .map(|m| m["request"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["roots/list", "elicitation/create", "sampling/createMessage"]
    );
    assert_eq!(seen[0]["params"], json!({}));
    assert_eq!(seen[1]["params"]["message"], "Your name?");
    assert_eq!(
        seen[1]["params"]["requestedSchema"],
        Value::Object(form_schema())
    );
    assert_eq!(seen[2]["params"]["maxTokens"], 50);
    assert_eq!(
        seen[2]["params"]["messages"],
        json!([{ "role": "user", "content": { "type": "text", "text": "Greet Ada" } }])
    );
}

#[tokio::test]
async fn server_to_client_requests_fail_cleanly_without_the_capability() {
    let router = full_router();
    let expected = json!({
        "code": codes::INVALID_REQUEST,
        "message": "Client does not support roots",
        "data": { "requiredCapabilities": { "roots": {} } }
    });

    // A session whose client declared nothing.
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    let client = attach_client(&mut call, 4);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(ClientCapabilities::default()));
    assert_eq!(error_of(&router, call).await, expected);
    assert_eq!(
        client.await.unwrap(),
        Vec::<Value>::new(),
        "nothing was sent to the client"
    );

    // No session at all.
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    let client = attach_client(&mut call, 4);
    assert_eq!(error_of(&router, call).await, expected);
    assert_eq!(client.await.unwrap(), Vec::<Value>::new());

    // The capability but no transport for server→client requests.
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(all_client_capabilities()));
    assert_eq!(error_of(&router, call).await["code"], codes::INTERNAL_ERROR);

    // Modern era: the request's `_meta` declares nothing.
    let error = modern_error(
        &router,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    )
    .await;
    assert_eq!(
        error,
        json!({
            "code": codes::MISSING_REQUIRED_CLIENT_CAPABILITY,
            "message": "Client does not support roots",
            "data": { "requiredCapabilities": { "roots": {} } }
        })
    );
}

/// Elicitation arrived in 2025-06-18 and its URL mode in 2025-11-25: a client of an earlier
/// version is not asked, whatever capabilities it declared.
#[tokio::test]
async fn elicitation_is_not_sent_to_clients_of_versions_without_it() {
    let router = Router::builder()
        .tool(
            Tool::new("open").handler(|Json(_): Json<NoArgs>, ctx: RequestContext| async move {
                let question = ElicitRequestURLParams::new("Sign in", "https://example.com/login");
                ctx.elicit(question.into()).await.map(|_| "opened")
            }),
        )
        .build();
    let mut capabilities = all_client_capabilities();
    capabilities.elicitation = Some(ElicitationCapability {
        form: Some(serde_json::Map::new()),
        url: Some(serde_json::Map::new()),
    });
    let refused = json!({
        "code": codes::INVALID_REQUEST,
        "message": "Client does not support elicitation",
        "data": { "requiredCapabilities": { "elicitation": {} } }
    });
    // 2025-06-18 has elicitation, but not its URL mode: that is what is missing.
    let refused_url = json!({
        "code": codes::INVALID_REQUEST,
        "message": "Client does not support elicitation.url",
        "data": { "requiredCapabilities": { "elicitation": { "url": {} } } }
    });
    for (version, router, tool, refused) in [
        (
            ProtocolVersion::V2025_03_26,
            &full_router(),
            "interview",
            &refused,
        ),
        (ProtocolVersion::V2025_06_18, &router, "open", &refused_url),
    ] {
        let mut call = request(version, 1, "tools/call", json!({ "name": tool }));
        let client = attach_client(&mut call, 4);
        call.extensions
            .insert::<SessionHandle>(TestSession::with_capabilities(capabilities.clone()));
        assert_eq!(&error_of(router, call).await, refused, "{version:?}");
        let asked: Vec<Value> = client.await.unwrap();
        assert!(
            asked.iter().all(|m| m["request"] != "elicitation/create"),
            "{version:?}: {asked:?}"
        );
    }

    // From 2025-11-25 on, the same call reaches the client.
    let mut call = request(
        ProtocolVersion::V2025_11_25,
        1,
        "tools/call",
        json!({ "name": "open" }),
    );
    let client = attach_client(&mut call, 4);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(capabilities));
    result_of(&router, call).await;
    let asked = client.await.unwrap();
    assert_eq!(asked[0]["request"], "elicitation/create", "{asked:?}");
    assert_eq!(asked[0]["params"]["mode"], "url");

    // A client that declared the URL mode only is not asked a form, and is told so.
    let mut url_only = all_client_capabilities();
    url_only.elicitation = Some(ElicitationCapability {
        form: None,
        url: Some(serde_json::Map::new()),
    });
    let v = ProtocolVersion::V2025_11_25;
    let mut call = request(v, 1, "tools/call", json!({ "name": "interview" }));
    let client = attach_client(&mut call, 4);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(url_only));
    let refused_form = json!({
        "code": codes::INVALID_REQUEST,
        "message": "Client does not support elicitation.form",
        "data": { "requiredCapabilities": { "elicitation": { "form": {} } } }
    });
    assert_eq!(error_of(&full_router(), call).await, refused_form);
    let asked: Vec<Value> = client.await.unwrap();
    assert!(
        asked.iter().all(|m| m["request"] != "elicitation/create"),
        "{asked:?}"
    );
}

/// Sampling with tools needs a 2025-11-25 client that declared `sampling.tools`. Context
/// inclusion (soft-deprecated) needs `sampling.context` from 2025-11-25 on; earlier clients
/// that declared `sampling` take the whole field.
#[tokio::test]
async fn sampling_needs_the_sampling_members_it_uses() {
    let router = Router::builder()
        .tool(Tool::new("delegate").handler(
            |Json(args): Json<Value>, ctx: RequestContext| async move {
                let mut params = CreateMessageRequestParams::new(
                    vec![SamplingMessage::user_text("Plan the trip")],
                    50,
                );
                params.include_context = serde_json::from_value(args["include"].clone()).ok();
                if args["tools"] == true {
                    params.tool_choice = Some(ToolChoice {
                        mode: Some(ToolChoiceMode::Auto),
                    });
                }
                ctx.sample(params).await.map(|_| "sampled")
            },
        ))
        .build();
    let with = |tools: bool, context: bool| {
        let mut capabilities = all_client_capabilities();
        capabilities.sampling = Some(SamplingCapability {
            tools: tools.then(serde_json::Map::new),
            context: context.then(serde_json::Map::new),
        });
        capabilities
    };
    let (plain, with_tools, with_context) =
        (with(false, false), with(true, false), with(false, true));
    let refused = |parts: &str, required: Value| {
        json!({
            "code": codes::INVALID_REQUEST,
            "message": format!("Client does not support {parts}"),
            "data": { "requiredCapabilities": { "sampling": required } }
        })
    };
    let tools = refused("sampling.tools", json!({ "tools": {} }));
    let context = refused("sampling.context", json!({ "context": {} }));
    let both = refused(
        "sampling.tools and sampling.context",
        json!({ "tools": {}, "context": {} }),
    );
    let (v11, v06) = (ProtocolVersion::V2025_11_25, ProtocolVersion::V2025_06_18);
    for (version, capabilities, arguments, refusal) in [
        (v11, &plain, json!({ "tools": true }), Some(&tools)),
        (v06, &with_tools, json!({ "tools": true }), Some(&tools)),
        (v11, &with_tools, json!({ "tools": true }), None),
        (
            v11,
            &plain,
            json!({ "include": "thisServer" }),
            Some(&context),
        ),
        (
            v11,
            &plain,
            json!({ "include": "allServers" }),
            Some(&context),
        ),
        (
            v11,
            &plain,
            json!({ "include": "allServers", "tools": true }),
            Some(&both),
        ),
        (v11, &plain, json!({ "include": "none" }), None),
        (v11, &with_context, json!({ "include": "thisServer" }), None),
        (v06, &plain, json!({ "include": "thisServer" }), None),
    ] {
        let params = json!({ "name": "delegate", "arguments": arguments });
        let mut call = request(version, 1, "tools/call", params);
        let client = attach_client(&mut call, 4);
        call.extensions
            .insert::<SessionHandle>(TestSession::with_capabilities(capabilities.clone()));
        let answer = respond(&router, call).await;
        let asked = client.await.unwrap();
        let case = format!("{version:?} {arguments}");
        match refusal {
            Some(refusal) => {
                assert_eq!(&answer["error"], refusal, "{case}");
                assert_eq!(asked, Vec::<Value>::new(), "{case}");
            }
            None => {
                assert_eq!(
                    answer["result"]["content"][0]["text"], "sampled",
                    "{case}: {answer}"
                );
                let sent = &asked[0]["params"];
                assert_eq!(sent["includeContext"], arguments["include"], "{case}");
                let choice = arguments["tools"]
                    .as_bool()
                    .map(|_| json!({ "mode": "auto" }));
                assert_eq!(sent["toolChoice"], json!(choice), "{case}");
            }
        }
    }
}

#[tokio::test]
async fn a_client_that_goes_away_fails_the_request_cleanly() {
    let router = Router::builder()
        .client_request_timeout(Duration::from_millis(50))
        .tool(
            Tool::new("roots").handler(|Json(_): Json<NoArgs>, ctx: RequestContext| async move {
                ctx.list_roots().await.map(|r| r.roots.len().to_string())
            }),
        )
        .build();
    let session: SessionHandle = TestSession::with_capabilities(all_client_capabilities());

    // The receiver is dropped: the stream is closed.
    let (peer, outbound) = ClientPeer::channel(4);
    drop(outbound);
    let mut call = request(LEGACY, 1, "tools/call", json!({ "name": "roots" }));
    call.extensions.insert(peer);
    call.extensions.insert(session.clone());
    assert_eq!(error_of(&router, call).await["code"], codes::INTERNAL_ERROR);

    // The client never answers: the timeout fires.
    let (peer, mut outbound) = ClientPeer::channel(4);
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(message) = outbound.recv().await {
            held.push(message);
        }
        held.len()
    });
    let mut call = request(LEGACY, 1, "tools/call", json!({ "name": "roots" }));
    call.extensions.insert(peer);
    call.extensions.insert(session);
    let error = error_of(&router, call).await;
    assert_eq!(error["code"], codes::INTERNAL_ERROR);
    assert!(
        error["message"].as_str().unwrap().contains("in time"),
        "{error}"
    );
    assert_eq!(silent.await.unwrap(), 1);
}

#[tokio::test]
async fn a_modern_completion_handler_gets_its_requests_meta() {
    use mcp_core::Prompt;

    // The completion reports what its context knows, then tries to ask the client.
    let router = Router::builder()
        .prompt(
            Prompt::new("greet")
                .argument("name", "Who", true)
                .complete(
                    "name",
                    |_prefix: String, _resolved, ctx: RequestContext| async move {
                        ctx.progress(1.0, None, None).await;
                        ctx.log(LoggingLevel::Info, None, "completing").await;
                        let declared = ctx
                            .client_capabilities()
                            .is_some_and(|caps| caps.elicitation.is_some());
                        let asked = ctx
                            .list_roots()
                            .await
                            .map_or_else(|e| e.code.to_string(), |_| "answered".to_owned());
                        vec![format!("declared {declared}"), format!("asked {asked}")]
                    },
                )
                .handler(|_, _ctx: RequestContext| async {
                    vec![mcp_core::protocol::PromptMessage::user_text("hi")]
                }),
        )
        .build();
    let params = json!({
        "ref": { "type": "ref/prompt", "name": "greet" },
        "argument": { "name": "name", "value": "A" },
        "_meta": { "progressToken": "c-1", "io.modelcontextprotocol/logLevel": "debug" }
    });
    let mut call = crate::support::request_with_caps(
        MODERN,
        1,
        "completion/complete",
        params,
        json!({ "elicitation": {}, "roots": {} }),
    );
    let client = attach_client(&mut call, 16);
    let result = result_of(&router, call).await;
    // The declared capabilities are the request's; asking is refused as the era has no way
    // for a completion to ask (no input_required), and the client is not blamed (-32021).
    assert_eq!(
        result["completion"]["values"],
        json!(["declared true", format!("asked {}", codes::INTERNAL_ERROR)])
    );
    let seen = client.await.unwrap();
    let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(
        methods,
        ["notifications/progress", "notifications/message"],
        "{seen:?}"
    );
    assert_eq!(seen[0]["params"]["progressToken"], "c-1");
}

/// A legacy client's answer that is not the result asked for fails the handler's call with
/// -32603: the call's own params were valid, so -32602 would blame the wrong message.
#[tokio::test]
async fn a_malformed_client_answer_fails_the_call_as_an_internal_error() {
    let router = full_router();
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    let (peer, mut outbound) = ClientPeer::channel(4);
    call.extensions.insert(peer);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(all_client_capabilities()));
    let client = tokio::spawn(async move {
        while let Some(message) = outbound.recv().await {
            if let mcp_core::OutboundMessage::Request { reply, .. } = message {
                let malformed = serde_json::value::to_raw_value(&json!({ "roots": "none" }));
                let _ = reply.send(Ok(malformed.unwrap()));
            }
        }
    });
    let error = error_of(&router, call).await;
    assert_eq!(error["code"], codes::INTERNAL_ERROR, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("client answered roots/list with bad result"),
        "{error}"
    );
    // serde's place would point into text the client never sent as such.
    assert!(!message.contains(" at line "), "{error}");
    client.abort();
}
