//! Elicitation forms: an accepted answer is checked against the requested schema, and a
//! schema the client's version cannot render is not sent.

use mcp_core::jsonrpc::codes;
use mcp_core::{ClientPeer, Json, ProtocolVersion, RequestContext, Router, SessionHandle, Tool};
use serde_json::{Value, json};

use crate::support::{LEGACY, NoArgs, TestSession, all_client_capabilities, request, respond};

/// A tool that asks for `schema` and answers with what the user accepted.
fn asking(schema: Value) -> Router {
    Router::builder()
        .tool(
            Tool::new("ask").handler(move |Json(_): Json<NoArgs>, ctx: RequestContext| {
                let schema = serde_json::from_value(schema.clone()).unwrap();
                async move {
                    let form = mcp_core::protocol::ElicitRequestFormParams::new("Tell me", schema);
                    let answer = ctx.elicit(form.into()).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(json!(answer.content).to_string())
                }
            }),
        )
        .build()
}

/// Calls `ask` in `version` for a client that answers every elicitation with `answer`;
/// returns the response and whether the question reached the client.
async fn ask_with(router: &Router, version: ProtocolVersion, answer: Value) -> (Value, bool) {
    let (response, sent) = ask_sending(router, version, answer).await;
    (response, sent.is_some())
}

/// [`ask_with`], returning the params of the question the client was sent.
async fn ask_sending(
    router: &Router,
    version: ProtocolVersion,
    answer: Value,
) -> (Value, Option<Value>) {
    let mut call = request(version, 1, "tools/call", json!({ "name": "ask" }));
    let (peer, mut outbound) = ClientPeer::channel(4);
    call.extensions.insert(peer);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(all_client_capabilities()));
    let client = tokio::spawn(async move {
        let mut sent = None;
        while let Some(message) = outbound.recv().await {
            if let mcp_core::OutboundMessage::Request { reply, params, .. } = message {
                sent = Some(serde_json::from_str::<Value>(params.get()).unwrap());
                let _ = reply.send(Ok(serde_json::value::to_raw_value(&answer).unwrap()));
            }
        }
        sent
    });
    let response = respond(router, call).await;
    (response, client.await.unwrap())
}

/// `mode` arrived in 2025-11-25 with URL elicitation: a 2025-06-18 client is sent a form
/// without it.
#[tokio::test]
async fn a_form_is_sent_without_mode_to_clients_that_predate_it() {
    let router = asking(json!({"type":"object","properties":{"name":{"type":"string"}}}));
    let answer = json!({"action":"decline"});
    for (version, mode) in [
        (ProtocolVersion::V2025_06_18, None),
        (ProtocolVersion::V2025_11_25, Some("form")),
    ] {
        let (response, sent) = ask_sending(&router, version, answer.clone()).await;
        let sent = sent.unwrap_or_else(|| panic!("{version}: nothing sent; {response}"));
        assert_eq!(sent["mode"].as_str(), mode, "{version}: {sent}");
        assert_eq!(sent["message"], "Tell me");
    }
}

/// "Servers SHOULD validate received data matches the requested schema": an accepted answer
/// that does not is an error for the handler, not data.
#[tokio::test]
async fn an_accepted_elicitation_answer_must_match_the_requested_schema() {
    let router = asking(json!({"type":"object","required":["name"],
        "properties":{"name":{"type":"string"},"age":{"type":"integer"}}}));
    let good = json!({"action":"accept","content":{"name":"Ada","age":36}});
    let (response, _) = ask_with(&router, LEGACY, good).await;
    assert_eq!(
        response["result"]["content"][0]["text"], r#"{"age":36,"name":"Ada"}"#,
        "{response}"
    );
    for (content, expected) in [
        (json!({"name": 42}), "/name: 42 is not of type \"string\""),
        (json!({"age": 1}), "\"name\" is a required property"),
        (
            json!({"name":"Ada","x":{"nested":[1]}}),
            "/x: answers are strings",
        ),
    ] {
        let answer = json!({"action":"accept","content":content});
        let (response, asked) = ask_with(&router, LEGACY, answer).await;
        assert!(asked);
        let error = &response["error"];
        assert_eq!(error["code"], codes::INTERNAL_ERROR, "{response}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message
                .starts_with("client answered elicitation/create with content that does not match")
                && message.contains(expected),
            "{message}"
        );
    }
    // Declining carries no content to check.
    let (response, _) = ask_with(&router, LEGACY, json!({"action":"decline"})).await;
    assert_eq!(response["result"]["content"][0]["text"], "null");
}

/// Multi-select enums arrived in 2025-11-25: a 2025-06-18 client is not sent one (its schema
/// has no such property type), and no version is sent a nested object.
#[tokio::test]
async fn a_requested_schema_the_clients_version_cannot_render_is_not_sent() {
    let multi = asking(json!({"type":"object","properties":{
        "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}}}));
    let answer = json!({"action":"accept","content":{"tags":["a"]}});
    let (response, asked) = ask_with(&multi, ProtocolVersion::V2025_06_18, answer.clone()).await;
    assert!(!asked);
    assert_eq!(response["error"]["code"], codes::INTERNAL_ERROR);
    let message = response["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`tags`") && message.contains("multi-select"),
        "{message}"
    );
    let (response, asked) = ask_with(&multi, ProtocolVersion::V2025_11_25, answer).await;
    assert!(asked);
    assert_eq!(
        response["result"]["content"][0]["text"],
        r#"{"tags":["a"]}"#
    );

    let nested = asking(json!({"type":"object","properties":{
        "address":{"type":"object","properties":{"city":{"type":"string"}}}}}));
    let answer = json!({"action":"decline"});
    let (response, asked) = ask_with(&nested, ProtocolVersion::V2025_11_25, answer).await;
    assert!(!asked);
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("flat primitives")
    );
}

/// Content comes with `accept` only: what a declining client sends along never reaches the
/// handler.
#[tokio::test]
async fn a_declined_answer_carries_no_content() {
    let schema = json!({"type":"object","properties":{"age":{"type":"integer"}}});
    let router = asking(schema);
    for action in ["decline", "cancel"] {
        let answer = json!({"action": action, "content": {"age": "not a number", "x": {"n": 1}}});
        let (response, sent) = ask_with(&router, ProtocolVersion::V2025_11_25, answer).await;
        assert!(sent);
        assert_eq!(
            response["result"]["content"][0]["text"], "null",
            "{action}: {response}"
        );
    }
}
