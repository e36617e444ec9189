//! Resources (list, read, subscribe), prompts (list, get) and completion/complete of prompt
//! arguments and resource template variables.

use mcp_core::jsonrpc::codes;
use mcp_core::protocol::ClientCapabilities;
use mcp_core::{AllowList, ServerEvent, Session, SessionHandle};
use serde_json::{Value, json};

use crate::support::{
    LEGACY, TestSession, error_of, full_router, legacy, legacy_error, modern_error, request,
    result_of,
};

// ---------------------------------------------------------------------------------------------
// resources
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn resources_list_and_templates_list() {
    let router = full_router();
    assert_eq!(
        legacy(&router, "resources/list", json!({})).await,
        json!({ "resources": [
            { "uri": "test://static/hello", "name": "hello", "mimeType": "text/plain" }
        ] })
    );
    assert_eq!(
        legacy(&router, "resources/templates/list", json!({})).await,
        json!({ "resourceTemplates": [
            { "uriTemplate": "test://template/{id}/data", "name": "data", "mimeType": "application/json" }
        ] })
    );
}

#[tokio::test]
async fn resources_read_static_and_template() {
    let router = full_router();
    assert_eq!(
        legacy(
            &router,
            "resources/read",
            json!({ "uri": "test://static/hello" })
        )
        .await,
        json!({ "contents": [
            { "uri": "test://static/hello", "mimeType": "text/plain", "text": "hello world" }
        ] })
    );

    let uri = "test://template/42/data";
    let result = legacy(&router, "resources/read", json!({ "uri": uri })).await;
    let contents = result["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1);
    assert_eq!(contents[0]["uri"], uri);
    assert_eq!(contents[0]["mimeType"], "application/json");
    let text: Value = serde_json::from_str(contents[0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, json!({ "id": "42", "uri": uri }));

    // `{id}` does not match across '/'.
    let error = legacy_error(
        &router,
        "resources/read",
        json!({ "uri": "test://template/4/2/data" }),
    )
    .await;
    assert_eq!(error["code"], codes::RESOURCE_NOT_FOUND);
}

#[tokio::test]
async fn resource_not_found_code_depends_on_the_era() {
    let router = full_router();
    let error = legacy_error(
        &router,
        "resources/read",
        json!({ "uri": "test://missing" }),
    )
    .await;
    assert_eq!(
        error,
        json!({ "code": -32002, "message": "Resource not found", "data": { "uri": "test://missing" } })
    );
    let error = modern_error(
        &router,
        "resources/read",
        json!({ "uri": "test://missing" }),
    )
    .await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "Resource not found", "data": { "uri": "test://missing" } })
    );
}

#[tokio::test]
async fn resources_subscribe_records_on_the_session() {
    let router = full_router();
    let session = TestSession::with_capabilities(ClientCapabilities::default());
    let handle: SessionHandle = session.clone();
    let mut subscribe = request(
        LEGACY,
        1,
        "resources/subscribe",
        json!({ "uri": "test://static/hello" }),
    );
    subscribe.extensions.insert(handle.clone());
    assert_eq!(result_of(&router, subscribe).await, json!({}));
    assert!(session.is_subscribed("test://static/hello"));

    let mut unsubscribe = request(
        LEGACY,
        2,
        "resources/unsubscribe",
        json!({ "uri": "test://static/hello" }),
    );
    unsubscribe.extensions.insert(handle);
    assert_eq!(result_of(&router, unsubscribe).await, json!({}));
    assert!(!session.is_subscribed("test://static/hello"));
}

#[tokio::test]
async fn a_plan_subscribes_to_and_hears_of_what_it_may_read_templates_included() {
    let router = full_router();
    // This plan reads through the `data` template only, not the static resource.
    let plan = AllowList::new()
        .resources(Vec::<String>::new())
        .resource_templates(["data"]);
    let session = TestSession::with_capabilities(ClientCapabilities::default());
    let handle: SessionHandle = session.clone();
    let subscribe = |id: i64, uri: &str| {
        let mut request = request(LEGACY, id, "resources/subscribe", json!({ "uri": uri }));
        request.extensions.insert(handle.clone());
        request.extensions.insert(plan.clone());
        request
    };
    assert_eq!(
        result_of(&router, subscribe(1, "test://template/7/data")).await,
        json!({})
    );
    assert!(session.is_subscribed("test://template/7/data"));
    // A hidden resource is answered as `resources/read` answers it, and not subscribed.
    let refused = error_of(&router, subscribe(2, "test://static/hello")).await;
    assert_eq!(refused["code"], codes::RESOURCE_NOT_FOUND);
    assert_eq!(refused["data"]["uri"], "test://static/hello");
    assert!(!session.is_subscribed("test://static/hello"));

    // The router's events say what serves each URI, so the plan hears of the templated one.
    let mut events = router.events();
    router.notify_resource_updated("test://template/7/data");
    router.notify_resource_updated("test://static/hello");
    let templated = events.recv().await.unwrap();
    let hidden = events.recv().await.unwrap();
    assert!(templated.is_visible_to(Some(&plan)));
    assert!(!hidden.is_visible_to(Some(&plan)));
    // The other way round: every static resource, no template.
    let statics_only = AllowList::new().resource_templates(Vec::<String>::new());
    assert!(!templated.is_visible_to(Some(&statics_only)));
    assert!(hidden.is_visible_to(Some(&statics_only)));
    assert!(templated.is_visible_to(None));
    // A URI nothing serves is judged by the URI alone.
    let unknown = ServerEvent::resource_updated("test://elsewhere");
    assert!(!unknown.is_visible_to(Some(&plan)));
    assert!(unknown.is_visible_to(Some(&statics_only)));
}

// ---------------------------------------------------------------------------------------------
// prompts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prompts_list_and_get() {
    let router = full_router();
    assert_eq!(
        legacy(&router, "prompts/list", json!({})).await,
        json!({ "prompts": [{
            "name": "greet",
            "description": "Greets someone",
            "arguments": [
                { "name": "name", "description": "Who to greet", "required": true },
                { "name": "style", "description": "How", "required": false }
            ]
        }] })
    );
    assert_eq!(
        legacy(
            &router,
            "prompts/get",
            json!({ "name": "greet", "arguments": { "name": "Ada", "style": "warmly" } })
        )
        .await,
        json!({ "messages": [
            { "role": "user", "content": { "type": "text", "text": "Greet Ada warmly" } }
        ] })
    );
}

#[tokio::test]
async fn prompts_get_without_a_required_argument_is_invalid_params() {
    let router = full_router();
    let error = legacy_error(
        &router,
        "prompts/get",
        json!({ "name": "greet", "arguments": { "style": "warmly" } }),
    )
    .await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
    assert!(
        error["message"].as_str().unwrap().contains("name"),
        "{error}"
    );

    let error = legacy_error(&router, "prompts/get", json!({ "name": "greet" })).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);

    let error = legacy_error(&router, "prompts/get", json!({ "name": "nope" })).await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "Unknown prompt: nope" })
    );
}

// ---------------------------------------------------------------------------------------------
// completion/complete
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn completion_of_a_prompt_argument() {
    let router = full_router();
    let result = legacy(
        &router,
        "completion/complete",
        json!({
            "ref": { "type": "ref/prompt", "name": "greet" },
            "argument": { "name": "name", "value": "al" }
        }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "completion": { "values": ["alice", "albert"], "total": 2, "hasMore": false } })
    );

    // An argument without a completion function completes to nothing.
    let result = legacy(
        &router,
        "completion/complete",
        json!({
            "ref": { "type": "ref/prompt", "name": "greet" },
            "argument": { "name": "style", "value": "w" }
        }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "completion": { "values": [], "total": 0, "hasMore": false } })
    );
}

#[tokio::test]
async fn completion_of_a_template_variable_is_capped_at_100() {
    let router = full_router();
    let result = legacy(
        &router,
        "completion/complete",
        json!({
            "ref": { "type": "ref/resource", "uri": "test://template/{id}/data" },
            "argument": { "name": "id", "value": "7" },
            "context": { "arguments": {} }
        }),
    )
    .await;
    let completion = &result["completion"];
    let values = completion["values"].as_array().unwrap();
    assert_eq!(values.len(), 100);
    assert_eq!(values[0], "70");
    assert_eq!(values[99], "799");
    assert_eq!(completion["total"], 150);
    assert_eq!(completion["hasMore"], true);

    let error = legacy_error(
        &router,
        "completion/complete",
        json!({
            "ref": { "type": "ref/resource", "uri": "test://nope/{id}" },
            "argument": { "name": "id", "value": "" }
        }),
    )
    .await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
}

/// A server with no completion handlers declares no `completions` and does not serve
/// `completion/complete`: -32601, as for any method it does not have.
#[tokio::test]
async fn completion_without_the_capability_is_method_not_found() {
    let router = mcp_core::Router::builder()
        .tool(crate::support::tool_add())
        .build();
    let params = json!({
        "ref": { "type": "ref/prompt", "name": "greet" },
        "argument": { "name": "name", "value": "A" }
    });
    let error = legacy_error(&router, "completion/complete", params).await;
    assert_eq!(error["code"], codes::METHOD_NOT_FOUND, "{error}");
}

// ---------------------------------------------------------------------------------------------
// definitions refused at startup
// ---------------------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "prompt review: argument `code` is declared twice")]
fn a_prompt_argument_declared_twice_is_refused() {
    let _ = mcp_core::Prompt::new("review")
        .argument("code", "the code", true)
        .argument("code", "the code again", false)
        .handler(|_, _: mcp_core::RequestContext| async {
            Vec::<mcp_core::protocol::PromptMessage>::new()
        });
}

#[test]
#[should_panic(
    expected = "prompt review: completion for `langauge`, which is not a declared argument"
)]
fn a_completion_for_an_undeclared_prompt_argument_is_refused() {
    let _ = mcp_core::Prompt::new("review")
        .argument("language", "the language", true)
        .complete("langauge", |_, _, _| async { vec![] })
        .handler(|_, _: mcp_core::RequestContext| async {
            Vec::<mcp_core::protocol::PromptMessage>::new()
        });
}

#[test]
#[should_panic(
    expected = "resource template data: completion for `ID`, which is not a declared variable"
)]
fn a_completion_for_an_undeclared_template_variable_is_refused() {
    let _ = mcp_core::ResourceTemplate::new("test://{id}{?q}", "data")
        .complete("q", |_, _, _| async { vec![] })
        .complete("ID", |_, _, _| async { vec![] })
        .handler(|m: mcp_core::TemplateMatch, _: mcp_core::RequestContext| async move { m.uri });
}

#[tokio::test]
async fn resource_templates_are_added_and_removed_at_runtime() {
    let router = mcp_core::Router::builder().build();
    let mut events = router.events();
    router.add_resource_template(
        mcp_core::ResourceTemplate::new("logs://{day}{?level}", "logs").handler(
            |m: mcp_core::TemplateMatch, _: mcp_core::RequestContext| async move {
                format!("{} at {:?}", m.variables["day"], m.variables.get("level"))
            },
        ),
    );
    let read = legacy(
        &router,
        "resources/read",
        json!({"uri":"logs://monday?level=warn"}),
    )
    .await;
    assert_eq!(read["contents"][0]["text"], r#"monday at Some("warn")"#);
    let listed = legacy(&router, "resources/templates/list", json!({})).await;
    assert_eq!(
        listed["resourceTemplates"][0]["uriTemplate"],
        "logs://{day}{?level}"
    );
    assert!(router.remove_resource_template("logs://{day}{?level}"));
    let gone = legacy_error(&router, "resources/read", json!({"uri":"logs://monday"})).await;
    assert_eq!(gone["code"], codes::RESOURCE_NOT_FOUND, "{gone}");
    // Both changes were announced, as resources/list_changed.
    for _ in 0..2 {
        let event = events.recv().await.unwrap();
        assert_eq!(event.method(), "notifications/resources/list_changed");
    }
}
