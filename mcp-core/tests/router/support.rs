//! The fixtures and plumbing the router tests share: the `full_router` every kind of handler
//! is registered on, request builders for both eras, response helpers, a test session and a
//! test client for server→client requests.

use std::collections::BTreeMap;

use mcp_core::jsonrpc::{ErrorObject, Message};
use mcp_core::protocol::{
    ClientCapabilities, CreateMessageRequestParams, ElicitAction, ElicitRequestFormParams,
    ElicitationCapability, LoggingLevel, PromptMessage, RootsCapability, SamplingCapability,
    SamplingMessage,
};
use mcp_core::{
    ClientPeer, Json, McpRequest, McpResponse, Outbound, OutboundMessage, Prompt, ProtocolVersion,
    RequestContext, Resource, ResourceTemplate, Router, TemplateMatch, Tool,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

pub(crate) use crate::session::TestSession;

pub(crate) const LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
pub(crate) const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Arguments of `add`.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

/// No arguments.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct NoArgs {}

/// Structured output of `sum`.
#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

pub(crate) fn raw_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "point": {
                "type": "object",
                "properties": { "x": { "type": "number" }, "y": { "type": "number" } },
                "required": ["x", "y"],
                "additionalProperties": false
            }
        },
        "properties": {
            "from": { "$ref": "#/$defs/point" },
            "to": { "$ref": "#/$defs/point" }
        },
        "required": ["from", "to"],
        "additionalProperties": false
    })
}

pub(crate) fn form_schema() -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "type": "object",
        "properties": { "name": { "type": "string" } },
        "required": ["name"]
    }) else {
        unreachable!()
    };
    map
}

pub(crate) fn tool_add() -> Tool {
    Tool::new("add")
        .description("Adds two integers")
        .handler(|Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
            (args.a + args.b).to_string()
        })
}

pub(crate) fn tool_named(name: &str) -> Tool {
    Tool::new(name).handler(|Json(_): Json<NoArgs>, _ctx: RequestContext| async move { "ok" })
}

/// The server used by most tests: every kind of handler.
pub(crate) fn full_router() -> Router {
    Router::builder()
        .name("test-server", "1.2.3")
        .instructions("Use the tools.")
        .tool(tool_add())
        .tool(
            Tool::new("distance")
                .input_schema(raw_schema())
                .raw_handler(|args, _ctx: RequestContext| async move {
                    let coord = |p: &str, c: &str| args[p][c].as_f64().unwrap_or_default();
                    let dx = coord("to", "x") - coord("from", "x");
                    let dy = coord("to", "y") - coord("from", "y");
                    (dx * dx + dy * dy).sqrt().to_string()
                }),
        )
        .tool(Tool::new("sum").output_schema_of::<Sum>().handler(
            |Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
                Json(Sum {
                    sum: args.a + args.b,
                })
            },
        ))
        .tool(
            Tool::new("bad_output")
                .output_schema(json!({
                    "type": "object",
                    "properties": { "sum": { "type": "integer" } },
                    "required": ["sum"]
                }))
                .handler(|Json(_): Json<NoArgs>, _ctx: RequestContext| async move {
                    Json(json!({ "sum": "not a number" }))
                }),
        )
        .tool(Tool::new("fails").handler(
            |Json(_): Json<NoArgs>, _ctx: RequestContext| async move {
                Err::<String, String>("the disk is full".to_owned())
            },
        ))
        .tool(Tool::new("progress").handler(
            |Json(_): Json<NoArgs>, ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), Some("half way")).await;
                // JSON has no NaN or infinity: nothing is sent, and the total is left out.
                ctx.progress(f64::NAN, Some(2.0), None).await;
                ctx.progress(1.5, Some(f64::INFINITY), None).await;
                ctx.log(LoggingLevel::Info, Some("worker"), json!({ "step": 1 }))
                    .await;
                ctx.progress(2.0, Some(2.0), None).await;
                "done"
            },
        ))
        .tool(
            Tool::new("roots").handler(|Json(_): Json<NoArgs>, ctx: RequestContext| async move {
                let roots = ctx.list_roots().await?;
                let uris: Vec<String> = roots.roots.into_iter().map(|r| r.uri).collect();
                Ok::<_, ErrorObject>(uris.join(","))
            }),
        )
        .tool(Tool::new("interview").handler(
            |Json(_): Json<NoArgs>, ctx: RequestContext| async move {
                let roots = ctx.list_roots().await?;
                let form = ElicitRequestFormParams::new("Your name?", form_schema());
                let answer = ctx.elicit(form.into()).await?;
                let name = match (answer.action, &answer.content) {
                    (ElicitAction::Accept, Some(content)) => {
                        content["name"].as_str().unwrap_or("?").to_owned()
                    }
                    _ => "nobody".to_owned(),
                };
                let sample = ctx
                    .sample(CreateMessageRequestParams::new(
                        vec![SamplingMessage::user_text(format!("Greet {name}"))],
                        50,
                    ))
                    .await?;
                Ok::<_, ErrorObject>(format!(
                    "roots={} name={} reply={} model={}",
                    roots.roots.len(),
                    name,
                    sample.content.text(),
                    sample.model
                ))
            },
        ))
        .resource(
            Resource::new("test://static/hello", "hello")
                .mime_type("text/plain")
                .handler(|_uri: String, _ctx: RequestContext| async { "hello world" }),
        )
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "data")
                .mime_type("application/json")
                .complete("id", |prefix: String, _resolved, _ctx| async move {
                    (0..150).map(|i| format!("{prefix}{i}")).collect()
                })
                .handler(|m: TemplateMatch, _ctx: RequestContext| async move {
                    json!({ "id": m.variables["id"], "uri": m.uri }).to_string()
                }),
        )
        .prompt(
            Prompt::new("greet")
                .description("Greets someone")
                .argument("name", "Who to greet", true)
                .argument("style", "How", false)
                .complete("name", |prefix: String, _resolved, _ctx| async move {
                    ["alice", "albert", "bob"]
                        .into_iter()
                        .filter(|n| n.starts_with(&prefix))
                        .map(str::to_owned)
                        .collect()
                })
                .handler(
                    |args: BTreeMap<String, String>, _ctx: RequestContext| async move {
                        let style = args.get("style").map_or("plainly", String::as_str);
                        vec![PromptMessage::user_text(format!(
                            "Greet {} {style}",
                            args["name"]
                        ))]
                    },
                ),
        )
        .build()
}

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

/// Parses a JSON body the way a transport does.
pub(crate) fn parse(body: &Value) -> Message {
    let bytes = serde_json::to_vec(body).unwrap();
    Message::parse(&bytes).expect("a valid JSON-RPC message")
}

/// A request with `params`; in the modern era the required `_meta` keys are added.
pub(crate) fn request(
    version: ProtocolVersion,
    id: i64,
    method: &str,
    params: Value,
) -> McpRequest {
    request_with_caps(version, id, method, params, json!({}))
}

pub(crate) fn request_with_caps(
    version: ProtocolVersion,
    id: i64,
    method: &str,
    mut params: Value,
    client_capabilities: Value,
) -> McpRequest {
    if version.is_modern() {
        let meta = params
            .as_object_mut()
            .expect("params are an object")
            .entry("_meta")
            .or_insert_with(|| json!({}));
        meta["io.modelcontextprotocol/protocolVersion"] = json!(version.as_str());
        meta["io.modelcontextprotocol/clientCapabilities"] = client_capabilities;
    }
    let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    McpRequest::new(parse(&body), version)
}

pub(crate) async fn send(router: &Router, request: McpRequest) -> McpResponse {
    router.clone().oneshot(request).await.unwrap()
}

/// The response's bytes as JSON.
pub(crate) fn to_json(response: &McpResponse) -> Value {
    let mut out = Vec::new();
    response.write_json(&mut out);
    serde_json::from_slice(&out).expect("the response is JSON")
}

/// Sends and returns the whole response object.
pub(crate) async fn respond(router: &Router, request: McpRequest) -> Value {
    let response = send(router, request).await;
    assert!(matches!(response, McpResponse::Single(_)), "{response:?}");
    to_json(&response)
}

/// Sends and returns `result`, failing on an error response.
pub(crate) async fn result_of(router: &Router, request: McpRequest) -> Value {
    let response = respond(router, request).await;
    assert_eq!(response["jsonrpc"], "2.0");
    match response.get("result") {
        Some(result) => result.clone(),
        None => panic!("expected a result, got {response}"),
    }
}

/// Sends and returns `error`, failing on a result.
pub(crate) async fn error_of(router: &Router, request: McpRequest) -> Value {
    let response = respond(router, request).await;
    assert!(
        response.get("result").is_none(),
        "expected an error, got {response}"
    );
    response["error"].clone()
}

pub(crate) async fn legacy(router: &Router, method: &str, params: Value) -> Value {
    result_of(router, request(LEGACY, 1, method, params)).await
}

pub(crate) async fn legacy_error(router: &Router, method: &str, params: Value) -> Value {
    error_of(router, request(LEGACY, 1, method, params)).await
}

pub(crate) async fn modern(router: &Router, method: &str, params: Value) -> Value {
    result_of(router, request(MODERN, 1, method, params)).await
}

pub(crate) async fn modern_error(router: &Router, method: &str, params: Value) -> Value {
    error_of(router, request(MODERN, 1, method, params)).await
}

pub(crate) fn names(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array in {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn server_info_meta() -> Value {
    json!({ "io.modelcontextprotocol/serverInfo": { "name": "test-server", "version": "1.2.3" } })
}

pub(crate) fn all_client_capabilities() -> ClientCapabilities {
    ClientCapabilities {
        roots: Some(RootsCapability::default()),
        sampling: Some(SamplingCapability::default()),
        elicitation: Some(ElicitationCapability::default()),
        ..ClientCapabilities::default()
    }
}

/// Gives `call` a [`ClientPeer`] (a queue of `capacity` messages) with the test client on its
/// other end; the handle yields what the client received once the call and its peer are gone.
pub(crate) fn attach_client(
    call: &mut McpRequest,
    capacity: usize,
) -> tokio::task::JoinHandle<Vec<Value>> {
    let (peer, outbound) = ClientPeer::channel(capacity);
    call.extensions.insert(peer);
    spawn_client(outbound)
}

/// Plays the client on the other end of a [`ClientPeer`]: answers server→client requests
/// and records everything it received as JSON.
fn spawn_client(mut outbound: Outbound) -> tokio::task::JoinHandle<Vec<Value>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(message) = outbound.recv().await {
            match message {
                OutboundMessage::Notification(bytes) => {
                    seen.push(serde_json::from_slice(&bytes).unwrap());
                }
                OutboundMessage::Request {
                    method,
                    params,
                    reply,
                } => {
                    let params: Value = serde_json::from_str(params.get()).unwrap();
                    seen.push(json!({ "request": method, "params": params }));
                    let answer = client_answer(method);
                    let _ = reply.send(Ok(serde_json::value::to_raw_value(&answer).unwrap()));
                }
                other => seen.push(json!({ "other": format!("{other:?}") })),
            }
        }
        seen
    })
}

/// What the test client answers to each server→client request.
pub(crate) fn client_answer(method: &str) -> Value {
    match method {
        "roots/list" => json!({ "roots": [
            { "uri": "file:///work", "name": "work" },
            { "uri": "file:///home" }
        ] }),
        "elicitation/create" => json!({ "action": "accept", "content": { "name": "Ada" } }),
        "sampling/createMessage" => json!({
            "role": "assistant",
            "content": { "type": "text", "text": "Hello, Ada!" },
            "model": "test-model",
            "stopReason": "endTurn"
        }),
        other => panic!("unexpected server request {other}"),
    }
}
