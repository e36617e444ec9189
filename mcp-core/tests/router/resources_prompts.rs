//! Resources (list, read, subscribe), prompts (list, get) and completion/complete of prompt
//! arguments and resource template variables.

use mcp_core::jsonrpc::codes;
use mcp_core::protocol::ClientCapabilities;
use mcp_core::{Session, SessionHandle};
use serde_json::{Value, json};

use crate::support::{
    LEGACY, TestSession, full_router, legacy, legacy_error, modern_error, request, result_of,
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
