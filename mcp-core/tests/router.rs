//! The `Router` dispatch service, driven through `tower::ServiceExt::oneshot` with requests
//! parsed from raw JSON, in both eras (2025-11-25 and 2026-07-28).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_core::jsonrpc::{ErrorObject, Message, codes};
use mcp_core::protocol::{
    ClientCapabilities, CreateMessageRequestParams, ElicitAction, ElicitRequestFormParams,
    ElicitationCapability, LoggingLevel, PromptMessage, RootsCapability, SamplingCapability,
    SamplingMessage,
};
use mcp_core::{
    AllowList, ClientPeer, Json, McpRequest, McpResponse, Outbound, OutboundMessage, Principal,
    Prompt, ProtocolVersion, RequestContext, Resource, ResourceTemplate, Router, ServerEvent,
    Session, SessionHandle, TemplateMatch, Tool,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

const LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;

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
struct NoArgs {}

/// Structured output of `sum`.
#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

fn raw_schema() -> Value {
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

fn form_schema() -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "type": "object",
        "properties": { "name": { "type": "string" } },
        "required": ["name"]
    }) else {
        unreachable!()
    };
    map
}

fn tool_add() -> Tool {
    Tool::new("add")
        .description("Adds two integers")
        .handler(|Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
            (args.a + args.b).to_string()
        })
}

fn tool_named(name: &str) -> Tool {
    Tool::new(name).handler(|Json(_): Json<NoArgs>, _ctx: RequestContext| async move { "ok" })
}

/// The server used by most tests: every kind of handler.
fn full_router() -> Router {
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
fn parse(body: &Value) -> Message {
    let bytes = serde_json::to_vec(body).unwrap();
    Message::parse(&bytes).expect("a valid JSON-RPC message")
}

/// A request with `params`; in the modern era the required `_meta` keys are added.
fn request(version: ProtocolVersion, id: i64, method: &str, params: Value) -> McpRequest {
    request_with_caps(version, id, method, params, json!({}))
}

fn request_with_caps(
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

async fn send(router: &Router, request: McpRequest) -> McpResponse {
    router.clone().oneshot(request).await.unwrap()
}

/// The response's bytes as JSON.
fn to_json(response: &McpResponse) -> Value {
    let mut out = Vec::new();
    response.write_json(&mut out);
    serde_json::from_slice(&out).expect("the response is JSON")
}

/// Sends and returns the whole response object.
async fn respond(router: &Router, request: McpRequest) -> Value {
    let response = send(router, request).await;
    assert!(matches!(response, McpResponse::Single(_)), "{response:?}");
    to_json(&response)
}

/// Sends and returns `result`, failing on an error response.
async fn result_of(router: &Router, request: McpRequest) -> Value {
    let response = respond(router, request).await;
    assert_eq!(response["jsonrpc"], "2.0");
    match response.get("result") {
        Some(result) => result.clone(),
        None => panic!("expected a result, got {response}"),
    }
}

/// Sends and returns `error`, failing on a result.
async fn error_of(router: &Router, request: McpRequest) -> Value {
    let response = respond(router, request).await;
    assert!(
        response.get("result").is_none(),
        "expected an error, got {response}"
    );
    response["error"].clone()
}

async fn legacy(router: &Router, method: &str, params: Value) -> Value {
    result_of(router, request(LEGACY, 1, method, params)).await
}

async fn legacy_error(router: &Router, method: &str, params: Value) -> Value {
    error_of(router, request(LEGACY, 1, method, params)).await
}

async fn modern(router: &Router, method: &str, params: Value) -> Value {
    result_of(router, request(MODERN, 1, method, params)).await
}

async fn modern_error(router: &Router, method: &str, params: Value) -> Value {
    error_of(router, request(MODERN, 1, method, params)).await
}

fn names(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array in {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

fn server_info_meta() -> Value {
    json!({ "io.modelcontextprotocol/serverInfo": { "name": "test-server", "version": "1.2.3" } })
}

/// A legacy session for the tests: client capabilities, log level, subscriptions.
#[derive(Debug, Default)]
struct TestSession {
    capabilities: Arc<ClientCapabilities>,
    level: Mutex<Option<LoggingLevel>>,
    subscriptions: Mutex<BTreeSet<String>>,
}

impl TestSession {
    fn with_capabilities(capabilities: ClientCapabilities) -> Arc<Self> {
        Arc::new(Self {
            capabilities: Arc::new(capabilities),
            ..Self::default()
        })
    }
}

impl Session for TestSession {
    fn id(&self) -> &str {
        "session-1"
    }
    fn protocol_version(&self) -> ProtocolVersion {
        LEGACY
    }
    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::clone(&self.capabilities)
    }
    fn log_level(&self) -> Option<LoggingLevel> {
        *self.level.lock().unwrap()
    }
    fn set_log_level(&self, level: LoggingLevel) {
        *self.level.lock().unwrap() = Some(level);
    }
    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject> {
        self.subscriptions.lock().unwrap().insert(uri.to_owned());
        Ok(())
    }
    fn unsubscribe(&self, uri: &str) {
        self.subscriptions.lock().unwrap().remove(uri);
    }
    fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions.lock().unwrap().contains(uri)
    }
}

fn all_client_capabilities() -> ClientCapabilities {
    ClientCapabilities {
        roots: Some(RootsCapability::default()),
        sampling: Some(SamplingCapability::default()),
        elicitation: Some(ElicitationCapability::default()),
        ..ClientCapabilities::default()
    }
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
fn client_answer(method: &str) -> Value {
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

// ---------------------------------------------------------------------------------------------
// initialize, ping, capabilities
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn initialize_echoes_a_supported_version_with_derived_capabilities() {
    let router = full_router();
    let params = json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": { "name": "client", "version": "0.1" }
    });
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
    let params = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": { "name": "client", "version": "0.1" }
    });
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
        let params = json!({
            "protocolVersion": requested,
            "capabilities": {},
            "clientInfo": { "name": "client", "version": "0.1" }
        });
        let result = legacy(&router, "initialize", params).await;
        assert_eq!(
            result["protocolVersion"], "2025-11-25",
            "requested {requested:?}"
        );
    }
    for supported in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let params = json!({
            "protocolVersion": supported,
            "capabilities": {},
            "clientInfo": { "name": "client", "version": "0.1" }
        });
        let result = legacy(&router, "initialize", params).await;
        assert_eq!(result["protocolVersion"], supported);
    }
}

#[tokio::test]
async fn capabilities_follow_what_is_registered() {
    let init = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": { "name": "client", "version": "0.1" }
    });

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
// tools/list
// ---------------------------------------------------------------------------------------------

fn router_with_tools(count: usize, page_size: Option<usize>) -> Router {
    let mut builder = Router::builder();
    for i in 0..count {
        builder = builder.tool(tool_named(&format!("tool-{i:03}")));
    }
    if let Some(page_size) = page_size {
        builder = builder.page_size(page_size);
    }
    builder.build()
}

/// Lists every page, returning the names per page and the cursors seen.
async fn list_all(router: &Router, version: ProtocolVersion) -> (Vec<Vec<String>>, Vec<String>) {
    let mut pages = Vec::new();
    let mut cursors = Vec::new();
    let mut params = json!({});
    loop {
        let result = result_of(router, request(version, 1, "tools/list", params.clone())).await;
        pages.push(names(&result, "tools", "name"));
        match result.get("nextCursor") {
            Some(Value::String(cursor)) => {
                cursors.push(cursor.clone());
                params = json!({ "cursor": cursor });
            }
            Some(other) => panic!("nextCursor is not a string: {other}"),
            None => break,
        }
        assert!(pages.len() < 100, "the listing never ends");
    }
    (pages, cursors)
}

#[tokio::test]
async fn tools_list_pages_250_tools_by_100() {
    let router = router_with_tools(250, None);
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    let all: Vec<String> = pages.concat();
    let expected: Vec<String> = (0..250).map(|i| format!("tool-{i:03}")).collect();
    assert_eq!(all, expected, "sorted, complete, no duplicates");
    assert_eq!(cursors.len(), 2);
    for cursor in &cursors {
        assert!(
            !cursor.contains("tool"),
            "cursor {cursor} leaks a tool name"
        );
        assert!(!cursor.is_empty());
    }
    // Deterministic: the same walk gives the same pages and cursors.
    assert_eq!(list_all(&router, LEGACY).await, (pages.clone(), cursors));
    // And the modern era pages the same way.
    assert_eq!(list_all(&router, MODERN).await.0, pages);
}

#[tokio::test]
async fn tools_list_page_size_is_configurable() {
    let router = router_with_tools(20, Some(7));
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 6]);
    assert_eq!(cursors.len(), 2);

    // Exactly one page full: no cursor.
    let router = router_with_tools(7, Some(7));
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7]);
    assert!(cursors.is_empty());

    // page_size(0) is clamped to 1.
    let router = router_with_tools(3, Some(0));
    let (pages, _) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
}

#[tokio::test]
async fn tools_list_refuses_an_invalid_cursor() {
    let router = router_with_tools(5, None);
    for cursor in ["!!not base64!!", "gA", "%%%"] {
        let error = legacy_error(&router, "tools/list", json!({ "cursor": cursor })).await;
        assert_eq!(error["code"], codes::INVALID_PARAMS, "cursor {cursor:?}");
        assert_eq!(error["message"], "Invalid cursor");
    }
    let error = legacy_error(&router, "tools/list", json!({ "cursor": 42 })).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
}

// ---------------------------------------------------------------------------------------------
// tools/call
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typed_tool_schema_is_listed_and_the_tool_is_called() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let add = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "add")
        .unwrap();
    assert_eq!(
        add,
        &json!({
            "name": "add",
            "description": "Adds two integers",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "description": "Arguments of `add`.",
                "type": "object",
                "properties": {
                    "a": { "description": "The first addend.", "type": "integer", "format": "int64" },
                    "b": { "description": "The second addend.", "type": "integer", "format": "int64" }
                },
                "required": ["a", "b"]
            }
        })
    );

    let response = respond(
        &router,
        request(
            LEGACY,
            11,
            "tools/call",
            json!({ "name": "add", "arguments": { "a": 2, "b": 40 } }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 11,
            "result": { "content": [{ "type": "text", "text": "42" }] }
        })
    );
}

#[tokio::test]
async fn raw_schema_passes_through_untouched() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let distance = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "distance")
        .unwrap();
    assert_eq!(
        distance,
        &json!({ "name": "distance", "inputSchema": raw_schema() })
    );

    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "distance", "arguments": { "from": { "x": 0, "y": 0 }, "to": { "x": 3, "y": 4 } } }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "5" }] })
    );

    // `additionalProperties: false` inside `$defs` is enforced.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "distance", "arguments": { "from": { "x": 0, "y": 0, "z": 1 }, "to": { "x": 3, "y": 4 } } }),
    )
    .await;
    assert_eq!(result["isError"], true);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("/from"),
        "{result}"
    );
}

#[tokio::test]
async fn argument_validation_lists_every_error_with_its_path() {
    let router = full_router();
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": "two", "b": [40] } }),
    )
    .await;
    assert_eq!(result["isError"], true, "{result}");
    let content = result["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "text");
    let text = content[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Invalid arguments for tool add:"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- /a: ") && l.contains("\"two\"")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- /b: ") && l.contains("[40]")),
        "{text}"
    );

    // A missing required field is reported at the root.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1 } }),
    )
    .await;
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("- /: ") && text.contains("\"b\""), "{text}");

    // No arguments at all is the empty object: both required fields missing.
    let result = legacy(&router, "tools/call", json!({ "name": "add" })).await;
    assert_eq!(result["isError"], true);
}

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let router = full_router();
    let response = respond(
        &router,
        request(
            LEGACY,
            5,
            "tools/call",
            json!({ "name": "nope", "arguments": {} }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 5,
            "error": { "code": -32602, "message": "Unknown tool: nope" }
        })
    );
}

#[tokio::test]
async fn structured_output_has_a_text_mirror() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let sum = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sum")
        .unwrap();
    assert_eq!(sum["outputSchema"]["type"], "object");
    assert_eq!(sum["outputSchema"]["properties"]["sum"]["type"], "integer");

    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "sum", "arguments": { "a": 1, "b": 2 } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "content": [{ "type": "text", "text": "{\"sum\":3}" }],
            "structuredContent": { "sum": 3 }
        })
    );
}

#[tokio::test]
async fn output_not_matching_the_output_schema_is_an_error() {
    let router = full_router();
    let error = legacy_error(&router, "tools/call", json!({ "name": "bad_output" })).await;
    assert_eq!(error["code"], codes::INTERNAL_ERROR);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("outputSchema") && message.contains("/sum"),
        "{message}"
    );
}

#[tokio::test]
async fn a_handler_error_is_an_is_error_result() {
    let router = full_router();
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "fails", "arguments": {} }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "the disk is full" }], "isError": true })
    );
}

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

// ---------------------------------------------------------------------------------------------
// logging/setLevel, unknown methods, era gating, notifications
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logging_set_level() {
    let router = full_router();
    // No session: accepted, nothing to record.
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
    let init = json!({
        "protocolVersion": "2026-07-28",
        "capabilities": {},
        "clientInfo": { "name": "client", "version": "0.1" }
    });
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

// ---------------------------------------------------------------------------------------------
// The modern era's result decorations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn modern_results_carry_result_type_and_server_info() {
    let router = full_router();
    let response = respond(
        &router,
        request(
            MODERN,
            21,
            "tools/call",
            json!({ "name": "add", "arguments": { "a": 1, "b": 1 } }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 21,
            "result": {
                "resultType": "complete",
                "_meta": server_info_meta(),
                "content": [{ "type": "text", "text": "2" }]
            }
        })
    );

    let result = modern(
        &router,
        "prompts/get",
        json!({ "name": "greet", "arguments": { "name": "Ada" } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "messages": [{ "role": "user", "content": { "type": "text", "text": "Greet Ada plainly" } }]
        })
    );

    let result = modern(
        &router,
        "completion/complete",
        json!({ "ref": { "type": "ref/prompt", "name": "greet" }, "argument": { "name": "name", "value": "b" } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "completion": { "values": ["bob"], "total": 1, "hasMore": false }
        })
    );

    // Legacy results have none of it.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 1 } }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "2" }] })
    );
}

#[tokio::test]
async fn modern_lists_and_reads_carry_cache_hints() {
    let router = full_router();
    let result = modern(&router, "resources/list", json!({})).await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 300_000,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "resources": [{ "uri": "test://static/hello", "name": "hello", "mimeType": "text/plain" }]
        })
    );
    let result = modern(
        &router,
        "resources/read",
        json!({ "uri": "test://static/hello" }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 0,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "contents": [{ "uri": "test://static/hello", "mimeType": "text/plain", "text": "hello world" }]
        })
    );
    for (method, field) in [
        ("tools/list", "tools"),
        ("prompts/list", "prompts"),
        ("resources/templates/list", "resourceTemplates"),
    ] {
        let result = modern(&router, method, json!({})).await;
        assert_eq!(result["resultType"], "complete", "{method}");
        assert_eq!(result["ttlMs"], 300_000, "{method}");
        assert_eq!(result["cacheScope"], "public", "{method}");
        assert_eq!(result["_meta"], server_info_meta(), "{method}");
        assert!(result[field].is_array(), "{method}");
    }

    let result = modern(&router, "server/discover", json!({})).await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 3_600_000,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "supportedVersions": ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"],
            "capabilities": {
                "logging": {},
                "completions": {},
                "prompts": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "tools": { "listChanged": true }
            },
            "instructions": "Use the tools."
        })
    );

    // A list that depends on who asks is private.
    let mut list = request(MODERN, 1, "tools/list", json!({}));
    list.extensions.insert(AllowList::new().tools(["add"]));
    let result = result_of(&router, list).await;
    assert_eq!(result["cacheScope"], "private");
    assert_eq!(names(&result, "tools", "name"), ["add"]);
}

// ---------------------------------------------------------------------------------------------
// Runtime changes and allow-lists
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn adding_and_removing_tools_at_runtime() {
    let router = Router::builder().tool(tool_add()).build();
    let mut events = router.events();

    router.add_tool(tool_named("late"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    let list = legacy(&router, "tools/list", json!({})).await;
    assert_eq!(names(&list, "tools", "name"), ["add", "late"]);
    assert_eq!(
        legacy(&router, "tools/call", json!({ "name": "late" })).await["content"][0]["text"],
        "ok"
    );

    assert!(router.remove_tool("add"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    let list = legacy(&router, "tools/list", json!({})).await;
    assert_eq!(names(&list, "tools", "name"), ["late"]);
    let error = legacy_error(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
    )
    .await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);

    // Removing what is not there changes nothing and says nothing.
    assert!(!router.remove_tool("add"));
    assert!(events.try_recv().is_err());

    // Clones share the registry.
    let clone = router.clone();
    clone.add_tool(tool_named("from-clone"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    assert!(router.has_tool("from-clone"));
}

#[tokio::test]
async fn an_allow_list_hides_a_tool_like_an_unknown_one() {
    let router = full_router();
    let restricted = || AllowList::new().tools(["add"]);

    let mut list = request(LEGACY, 1, "tools/list", json!({}));
    list.extensions.insert(restricted());
    let result = result_of(&router, list).await;
    assert_eq!(names(&result, "tools", "name"), ["add"]);

    // Calling a hidden tool answers byte-for-byte like calling one that does not exist.
    let call = |name: &str| {
        request(
            LEGACY,
            77,
            "tools/call",
            json!({ "name": name, "arguments": {} }),
        )
    };
    let mut hidden = call("fails");
    hidden.extensions.insert(restricted());
    let hidden = send(&router, hidden).await;
    let without = Router::builder().tool(tool_add()).build();
    let unknown = send(&without, call("fails")).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    hidden.write_json(&mut a);
    unknown.write_json(&mut b);
    assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());

    // The same through a principal's allow-list.
    let mut by_principal = call("fails");
    by_principal
        .extensions
        .insert(Principal::new("alice").with_allow_list(restricted()));
    let error = error_of(&router, by_principal).await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "Unknown tool: fails" })
    );

    // The allowed tool still works.
    let mut allowed = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
    );
    allowed.extensions.insert(restricted());
    assert_eq!(result_of(&router, allowed).await["content"][0]["text"], "3");
}

// ---------------------------------------------------------------------------------------------
// RequestContext: notifications and server→client requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn progress_and_logs_reach_the_client_peer() {
    let router = full_router();
    let (peer, outbound) = ClientPeer::channel(16);
    let client = spawn_client(outbound);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "progress", "arguments": {}, "_meta": { "progressToken": "tok-1" } }),
    );
    call.extensions.insert(peer);
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

#[tokio::test]
async fn progress_needs_a_token_and_logs_honour_the_level() {
    let router = full_router();

    // No progress token, session level `error`: nothing is sent.
    let (peer, outbound) = ClientPeer::channel(16);
    let client = spawn_client(outbound);
    let session = TestSession::with_capabilities(ClientCapabilities::default());
    session.set_log_level(LoggingLevel::Error);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "progress", "arguments": {} }),
    );
    call.extensions.insert(peer);
    call.extensions.insert::<SessionHandle>(session);
    result_of(&router, call).await;
    assert_eq!(client.await.unwrap(), Vec::<Value>::new());

    // Modern era: logs only when the request asks for them, at or above its level.
    for (level, expected) in [(None, 0), (Some("warning"), 0), (Some("debug"), 1)] {
        let (peer, outbound) = ClientPeer::channel(16);
        let client = spawn_client(outbound);
        let mut params = json!({ "name": "progress", "arguments": {} });
        if let Some(level) = level {
            params["_meta"] = json!({ "io.modelcontextprotocol/logLevel": level });
        }
        let mut call = request(MODERN, 1, "tools/call", params);
        call.extensions.insert(peer);
        result_of(&router, call).await;
        let seen = client.await.unwrap();
        assert_eq!(seen.len(), expected, "level {level:?}: {seen:?}");
    }
}

#[tokio::test]
async fn server_to_client_requests_complete_the_handler_in_the_legacy_era() {
    let router = full_router();
    let (peer, outbound) = ClientPeer::channel(4);
    let client = spawn_client(outbound);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "interview", "arguments": {} }),
    );
    call.extensions.insert(peer);
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
    let (peer, outbound) = ClientPeer::channel(4);
    let client = spawn_client(outbound);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    call.extensions.insert(peer);
    call.extensions
        .insert::<SessionHandle>(TestSession::with_capabilities(ClientCapabilities::default()));
    assert_eq!(error_of(&router, call).await, expected);
    assert_eq!(
        client.await.unwrap(),
        Vec::<Value>::new(),
        "nothing was sent to the client"
    );

    // No session at all.
    let (peer, outbound) = ClientPeer::channel(4);
    let client = spawn_client(outbound);
    let mut call = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "roots", "arguments": {} }),
    );
    call.extensions.insert(peer);
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

// ---------------------------------------------------------------------------------------------
// The modern era's multi round-trip requests
// ---------------------------------------------------------------------------------------------

/// One `input_required` round: checks the shape and returns (key, method, params, state).
fn input_required(result: &Value) -> (String, String, Value, String) {
    assert_eq!(result["resultType"], "input_required", "{result}");
    assert_eq!(result["_meta"], server_info_meta());
    let requests = result["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{result}");
    let (key, request) = requests.iter().next().unwrap();
    let state = result["requestState"].as_str().unwrap().to_owned();
    assert!(!state.is_empty());
    let object = result.as_object().unwrap();
    assert_eq!(
        object.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["resultType", "_meta", "inputRequests", "requestState"])
    );
    (
        key.clone(),
        request["method"].as_str().unwrap().to_owned(),
        request["params"].clone(),
        state,
    )
}

fn interview_request(principal: &str, retry: Option<(&str, Value, &str)>) -> McpRequest {
    let mut params = json!({ "name": "interview", "arguments": {} });
    if let Some((key, answer, state)) = retry {
        params["inputResponses"] = json!({ key: answer });
        params["requestState"] = json!(state);
    }
    let caps = json!({ "roots": {}, "sampling": {}, "elicitation": {} });
    let mut request = request_with_caps(MODERN, 1, "tools/call", params, caps);
    request.extensions.insert(Principal::new(principal));
    request
}

#[tokio::test]
async fn input_required_rounds_complete_the_handler_in_the_modern_era() {
    let router = full_router();

    let round1 = result_of(&router, interview_request("alice", None)).await;
    let (key, method, params, state) = input_required(&round1);
    assert_eq!((key.as_str(), method.as_str()), ("input-0", "roots/list"));
    assert_eq!(params, json!({}));

    let answer = client_answer(&method);
    let round2 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    let (key, method, params, state) = input_required(&round2);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-1", "elicitation/create")
    );
    assert_eq!(params["message"], "Your name?");

    // Only the newest answer is sent: the earlier one travels in the sealed state.
    let answer = client_answer(&method);
    let round3 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    let (key, method, params, state) = input_required(&round3);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-2", "sampling/createMessage")
    );
    assert_eq!(params["maxTokens"], 50);

    let answer = client_answer(&method);
    let done = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    assert_eq!(
        done,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "content": [{ "type": "text", "text": "roots=2 name=Ada reply=Hello, Ada! model=test-model" }]
        })
    );
}

#[tokio::test]
async fn a_forged_or_tampered_request_state_is_refused() {
    let router = Router::builder()
        .name("test-server", "1.2.3")
        .request_state_key(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
        .tool(tool_roots_count())
        .build();
    let ask = |state: Option<&str>| {
        let mut params = json!({ "name": "roots", "arguments": {} });
        if let Some(state) = state {
            params["requestState"] = json!(state);
            params["inputResponses"] = json!({ "input-0": client_answer("roots/list") });
        }
        let mut request =
            request_with_caps(MODERN, 1, "tools/call", params, json!({ "roots": {} }));
        request.extensions.insert(Principal::new("alice"));
        request
    };
    let (_, _, _, state) = input_required(&result_of(&router, ask(None)).await);

    // The genuine state works.
    let done = result_of(&router, ask(Some(&state))).await;
    assert_eq!(done["content"][0]["text"], "2");

    // Every single-character change of the state is refused.
    let (payload, tag) = state.split_once('.').unwrap();
    let flip = |s: &str, i: usize| {
        let mut bytes = s.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let mut tampered = vec![
        format!("{}.{tag}", flip(payload, 0)),
        format!("{}.{tag}", flip(payload, payload.len() / 2)),
        format!("{payload}.{}", flip(tag, 3)),
        format!("{payload}."),
        payload.to_owned(),
        String::new(),
        "not-a-state".to_owned(),
        "e30.AAAA".to_owned(),
    ];
    // A state sealed by another server (another key).
    let other = Router::builder()
        .name("test-server", "1.2.3")
        .tool(tool_roots_count())
        .build();
    let (_, _, _, foreign) = input_required(&result_of(&other, ask(None)).await);
    tampered.push(foreign);
    for forged in &tampered {
        let error = error_of(&router, ask(Some(forged))).await;
        assert_eq!(
            error,
            json!({ "code": -32602, "message": "requestState is not valid" }),
            "state {forged:?}"
        );
    }
}

fn tool_roots_count() -> Tool {
    Tool::new("roots").handler(|Json(_): Json<NoArgs>, ctx: RequestContext| async move {
        ctx.list_roots().await.map(|r| r.roots.len().to_string())
    })
}

#[tokio::test]
async fn a_request_state_is_bound_to_its_principal_and_request() {
    let router = full_router();
    let round1 = result_of(&router, interview_request("alice", None)).await;
    let (key, method, _, state) = input_required(&round1);
    let answer = client_answer(&method);

    // Replayed by another principal.
    let error = error_of(
        &router,
        interview_request("mallory", Some((&key, answer.clone(), &state))),
    )
    .await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "requestState belongs to another request" })
    );

    // Replayed by no principal at all.
    let mut anonymous = interview_request("alice", Some((&key, answer.clone(), &state)));
    anonymous.extensions.remove::<Principal>();
    assert_eq!(
        error_of(&router, anonymous).await["code"],
        codes::INVALID_PARAMS
    );

    // Replayed against other arguments or another tool.
    let caps = json!({ "roots": {}, "sampling": {}, "elicitation": {} });
    let other_args = json!({
        "name": "interview",
        "arguments": { "extra": true },
        "inputResponses": { key.clone(): answer.clone() },
        "requestState": state
    });
    let mut request = request_with_caps(MODERN, 1, "tools/call", other_args, caps.clone());
    request.extensions.insert(Principal::new("alice"));
    assert_eq!(
        error_of(&router, request).await["code"],
        codes::INVALID_PARAMS
    );
    let other_tool = json!({
        "name": "roots",
        "arguments": {},
        "inputResponses": { key.clone(): answer.clone() },
        "requestState": state
    });
    let mut request = request_with_caps(MODERN, 1, "tools/call", other_tool, caps);
    request.extensions.insert(Principal::new("alice"));
    assert_eq!(
        error_of(&router, request).await["code"],
        codes::INVALID_PARAMS
    );

    // The rightful owner may still continue.
    let round2 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    assert_eq!(round2["resultType"], "input_required");
}

/// Modern requests carry the client's capabilities in `_meta`; an empty declaration, a real
/// one and none at all each reach the handler as declared.
#[tokio::test]
async fn modern_client_capabilities_reach_the_handler() {
    let router = Router::builder()
        .tool(
            Tool::new("caps").handler(|_: Json<Value>, ctx: RequestContext| async move {
                let caps = ctx.client_capabilities().cloned();
                serde_json::to_string(&caps).unwrap()
            }),
        )
        .build();
    let v = ProtocolVersion::V2026_07_28;
    let call = json!({ "name": "caps", "arguments": {} });
    for (declared, seen) in [
        (json!({}), json!({})),
        (json!({ "roots": {} }), json!({ "roots": {} })),
        (json!({ "unknownCapability": {} }), json!({})),
        (json!(null), json!({})),
    ] {
        let response = send(
            &router,
            request_with_caps(v, 1, "tools/call", call.clone(), declared.clone()),
        )
        .await;
        let text = to_json(&response)["result"]["content"][0]["text"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("a text result for {declared}: {}", to_json(&response)));
        let got: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got, seen, "declared {declared}");
    }
}
