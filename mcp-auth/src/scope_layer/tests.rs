//! Tests of the scope check: targets per method, refusals and their challenge.

use std::convert::Infallible;

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{Notification, Request};
use tower::ServiceExt;

use super::*;

fn request(method: &str, params: serde_json::Value) -> Message {
    Message::Request(Request {
        id: 7.into(),
        method: method.into(),
        params: Some(serde_json::value::to_raw_value(&params).unwrap().into()),
    })
}

async fn run(message: Message, principal: Option<Principal>) -> McpResponse {
    let policy = RequiredScopes::new()
        .global(["mcp"])
        .tool("admin", ["admin"])
        .prompt("secret", ["prompts:secret"])
        .resource("file:///etc", ["files"])
        .resource("file:///etc/{name}", ["files"])
        .resource("file:///etc/motd", Vec::<String>::new());
    let service = ScopeLayer::new(policy)
        .resource_metadata("http://x/.well-known/oauth-protected-resource")
        .layer(tower::service_fn(|_: McpRequest| async {
            Ok::<_, Infallible>(McpResponse::Batch(Vec::new()))
        }));
    let mut request = McpRequest::new(message, ProtocolVersion::V2025_11_25);
    if let Some(principal) = principal {
        request.extensions.insert(principal);
    }
    service.oneshot(request).await.unwrap()
}

fn passed(response: &McpResponse) -> bool {
    matches!(response, McpResponse::Batch(items) if items.is_empty())
}

#[tokio::test]
async fn checks_per_target() {
    let alice = || Some(Principal::new("alice").with_scopes(["mcp"]));
    assert!(passed(
        &run(
            request("tools/call", serde_json::json!({"name": "echo"})),
            alice()
        )
        .await
    ));
    assert!(passed(
        &run(request("tools/list", serde_json::json!({})), alice()).await
    ));
    let open_prompt = serde_json::json!({"ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "who", "value": "a"}});
    assert!(passed(
        &run(request("completion/complete", open_prompt), alice()).await
    ));
    let holder = || Some(Principal::new("bob").with_scopes(["mcp", "prompts:secret", "files"]));
    for reference in [
        serde_json::json!({"type": "ref/prompt", "name": "secret"}),
        serde_json::json!({"type": "ref/resource", "uri": "file:///etc/{name}"}),
    ] {
        let params = serde_json::json!({"ref": reference,
            "argument": {"name": "x", "value": ""}});
        let response = run(request("completion/complete", params), holder()).await;
        assert!(passed(&response), "{reference}");
    }
    for message in [
        request("tools/call", serde_json::json!({"name": "admin"})),
        request("prompts/get", serde_json::json!({"name": "secret"})),
        request("resources/read", serde_json::json!({"uri": "file:///etc"})),
        // Completing a prompt's or a template's arguments runs its completion handler.
        request(
            "completion/complete",
            serde_json::json!({"ref": {"type": "ref/prompt", "name": "secret"},
                "argument": {"name": "customer", "value": "a"}}),
        ),
        request(
            "completion/complete",
            serde_json::json!({"ref": {"type": "ref/resource", "uri": "file:///etc/{name}"},
                "argument": {"name": "name", "value": "pa"}}),
        ),
    ] {
        let response = run(message, alice()).await;
        let error = response
            .as_single()
            .unwrap()
            .error_object()
            .unwrap()
            .clone();
        assert_eq!(error.code, codes::FORBIDDEN);
        // The HTTP bridge's 403 carries the challenge the data shows clients.
        let Some(mcp_core::HttpRefusal::InsufficientScope(challenge)) = error.http_refusal() else {
            panic!("no step-up refusal: {error:?}");
        };
        let challenge = challenge.to_str().unwrap().to_owned();
        let data = error.data.unwrap();
        assert_eq!(data["error"], "insufficient_scope");
        assert!(data["scope"].as_str().unwrap().starts_with("mcp "));
        assert_eq!(data["www_authenticate"], challenge);
        assert!(
            challenge
                .starts_with("Bearer resource_metadata=\"http://x/.well-known/oauth-protected-resource\", scope=\"mcp ")
        );
    }
}

#[tokio::test]
async fn a_guarded_call_with_unreadable_params_is_refused_not_waved_through() {
    let alice = || Some(Principal::new("alice").with_scopes(["mcp"]));
    // Stray members of any type are ignored, as the router ignores them: the target is
    // still checked.
    for params in [
        serde_json::json!({"name": "admin", "uri": 0}),
        serde_json::json!({"name": "admin", "uri": {"a": 1}}),
    ] {
        let response = run(request("tools/call", params.clone()), alice()).await;
        let error = response.as_single().unwrap().error_object().unwrap();
        assert_eq!(error.code, codes::FORBIDDEN, "{params}");
    }
    let read = serde_json::json!({"uri": "file:///etc", "name": 5});
    let response = run(request("resources/read", read), alice()).await;
    let error = response.as_single().unwrap().error_object().unwrap();
    assert_eq!(error.code, codes::FORBIDDEN);
    // A target that cannot be read is an invalid request, never a call of nothing.
    for (method, params) in [
        ("tools/call", serde_json::json!({"name": 5})),
        ("tools/call", serde_json::json!({"arguments": {}})),
        ("prompts/get", serde_json::json!([])),
        ("resources/read", serde_json::json!({"uri": null})),
        ("completion/complete", serde_json::json!({"argument": {}})),
        (
            "completion/complete",
            serde_json::json!({"ref": {"type": "ref/tool", "name": "admin"}}),
        ),
        (
            "completion/complete",
            serde_json::json!({"ref": {"type": "ref/prompt", "uri": "secret"}}),
        ),
    ] {
        let response = run(request(method, params.clone()), alice()).await;
        let error = response.as_single().unwrap().error_object().unwrap();
        assert_eq!(error.code, -32602, "{method} {params}");
    }
    let no_params = Message::Request(Request {
        id: 8.into(),
        method: "tools/call".into(),
        params: None,
    });
    let response = run(no_params, alice()).await;
    let error = response.as_single().unwrap().error_object().unwrap();
    assert_eq!(error.code, -32602);
    // Worded as the router words it, without this crate's private type names.
    assert_eq!(
        error.message,
        "Invalid params for tools/call: params are required"
    );
    let response = run(request("prompts/get", serde_json::json!([])), alice()).await;
    let error = response.as_single().unwrap().error_object().unwrap();
    assert_eq!(
        error.message,
        "Invalid params for prompts/get: params must be an object"
    );
}

#[tokio::test]
async fn a_listen_request_needs_the_scopes_of_every_resource_it_names() {
    let alice = || Some(Principal::new("alice").with_scopes(["mcp"]));
    let listen = |uris: serde_json::Value| {
        request(
            "subscriptions/listen",
            serde_json::json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": uris}}),
        )
    };
    let response = run(
        listen(serde_json::json!(["file:///a", "file:///etc"])),
        alice(),
    )
    .await;
    let error = response.as_single().unwrap().error_object().unwrap();
    assert_eq!(error.code, codes::FORBIDDEN);
    assert_eq!(error.data.as_ref().unwrap()["scope"], "mcp files");
    assert!(passed(
        &run(listen(serde_json::json!(["file:///a"])), alice()).await
    ));
    let files = Principal::new("bob").with_scopes(["mcp", "files"]);
    assert!(passed(
        &run(listen(serde_json::json!(["file:///etc"])), Some(files)).await
    ));
    // The global scopes, whatever it names.
    let none = Principal::new("carol");
    let response = run(listen(serde_json::json!([])), Some(none)).await;
    assert!(response.as_single().unwrap().is_error());
    let malformed = request(
        "subscriptions/listen",
        serde_json::json!({"notifications": 1}),
    );
    let response = run(malformed, alice()).await;
    assert_eq!(
        response.as_single().unwrap().error_object().unwrap().code,
        -32602
    );
}

#[tokio::test]
async fn a_uri_a_guarded_template_matches_needs_its_scopes() {
    let alice = || Some(Principal::new("alice").with_scopes(["mcp"]));
    let bob = || Some(Principal::new("bob").with_scopes(["mcp", "files"]));
    let uri = |uri: &str| serde_json::json!({"uri": uri});
    let through_the_template = [
        request("resources/read", uri("file:///etc/passwd")),
        request("resources/subscribe", uri("file:///etc/passwd")),
        request("resources/unsubscribe", uri("file:///etc/passwd")),
        request(
            "subscriptions/listen",
            serde_json::json!({"notifications": {"resourceSubscriptions": ["file:///etc/passwd"]}}),
        ),
        request(
            "completion/complete",
            serde_json::json!({"ref": {"type": "ref/resource", "uri": "file:///etc/passwd"},
                "argument": {"name": "name", "value": ""}}),
        ),
    ];
    for message in through_the_template {
        let response = run(message.clone(), alice()).await;
        let error = response.as_single().unwrap().error_object().unwrap();
        assert_eq!(error.code, codes::FORBIDDEN, "{message:?}");
        assert_eq!(error.data.as_ref().unwrap()["scope"], "mcp files");
        assert!(passed(&run(message, bob()).await));
    }
    // A URI named on its own wins over the template; one the template does not match (its
    // `{name}` stops at '/') needs the global scopes only.
    for open in ["file:///etc/motd", "file:///etc/a/b", "file:///etcetera"] {
        let response = run(request("resources/read", uri(open)), alice()).await;
        assert!(passed(&response), "{open}");
    }
}

/// A target the caller's allow-list hides gets no step-up naming its scope, even when the
/// allow-list layer passed the call on (its params are malformed elsewhere): the router then
/// refuses it as it refuses an unknown name, and nothing tells the caller it exists.
#[tokio::test]
async fn a_hidden_target_gets_no_step_up_that_would_reveal_it() {
    let free = |scopes: &[&str]| {
        let allow = mcp_core::AllowList::new()
            .tools(["echo"])
            .prompts(["greet"]);
        Some(
            Principal::new("alice")
                .with_scopes(scopes.iter().copied())
                .with_allow_list(allow),
        )
    };
    let malformed = serde_json::json!({"name": "admin", "arguments": {}, "requestState": 5});
    assert!(passed(
        &run(request("tools/call", malformed.clone()), free(&["mcp"])).await
    ));
    let secret = serde_json::json!({"name": "secret", "arguments": {"a": 1}});
    assert!(passed(
        &run(request("prompts/get", secret), free(&["mcp"])).await
    ));
    // The global scopes still apply, to hidden and unknown names alike.
    let refused = run(request("tools/call", malformed), free(&[])).await;
    assert!(!passed(&refused));
    // Without an allow-list hiding it, the tool's own scope is asked for.
    let visible = Some(Principal::new("alice").with_scopes(["mcp"]));
    let stepped_up = run(
        request("tools/call", serde_json::json!({"name": "admin"})),
        visible,
    )
    .await;
    let error = stepped_up
        .as_single()
        .and_then(|r| r.error_object())
        .unwrap();
    assert_eq!(error.code, codes::FORBIDDEN, "{stepped_up:?}");
}

#[tokio::test]
async fn exact_step_up_error() {
    let response = run(
        request("tools/call", serde_json::json!({"name": "admin"})),
        Some(Principal::new("a").with_scopes(["mcp", "read"])),
    )
    .await;
    let mut json = Vec::new();
    response.write_json(&mut json);
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json["error"],
        serde_json::json!({
            "code": -32003,
            "message": "missing scope: admin",
            "data": {
                "error": "insufficient_scope",
                "scope": "mcp read admin",
                "www_authenticate": "Bearer resource_metadata=\"http://x/.well-known/oauth-protected-resource\", scope=\"mcp read admin\", error=\"insufficient_scope\""
            }
        })
    );
}

#[tokio::test]
async fn no_principal_and_notifications() {
    let response = run(request("tools/list", serde_json::json!({})), None).await;
    assert!(response.as_single().unwrap().is_error());
    let notification = Message::Notification(Notification {
        method: "notifications/initialized".into(),
        params: None,
    });
    assert!(passed(&run(notification, None).await));
}

#[tokio::test]
async fn batch_refused_whole() {
    let alice = Principal::new("alice").with_scopes(["mcp"]);
    let batch = Message::Batch(vec![
        Ok(request("tools/call", serde_json::json!({"name": "echo"}))),
        Ok(request("tools/call", serde_json::json!({"name": "admin"}))),
    ]);
    let McpResponse::Batch(responses) = run(batch, Some(alice.clone())).await else {
        panic!("expected a batch answer");
    };
    assert_eq!(responses.len(), 2);
    assert!(responses.iter().all(Response::is_error));
    let fine = Message::Batch(vec![Ok(request("tools/list", serde_json::json!({})))]);
    assert!(passed(&run(fine, Some(alice)).await));
}
