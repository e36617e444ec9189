//! Everything the Router writes, for every method and every protocol version, validated
//! against the official `schema.json` of that version: the JSON-RPC envelope
//! (`JSONRPCMessage`) and the method's result type.

#[path = "support/schema.rs"]
mod schema;
#[path = "support/session.rs"]
mod session;

use mcp_core::jsonrpc::Message;
use mcp_core::protocol::{ContentBlock, PromptMessage, ResourceLink, Role};
use mcp_core::{
    Json, McpRequest, McpResponse, Prompt, ProtocolVersion, RequestContext, Resource,
    ResourceTemplate, Router, SessionHandle, TemplateMatch, Tool,
};
use schema::SchemaSet;
use serde_json::{Value, json};
use session::TestSession;
use tower::ServiceExt;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: f64,
    b: f64,
}

/// schemars writes `true` as the schema of a `Value` field.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Store {
    value: Value,
}

#[derive(serde::Serialize)]
struct Sum {
    sum: f64,
}

fn router() -> Router {
    Router::builder()
        .name("schema-test", "1.0.0")
        .instructions("Validated against every schema.")
        .tool(Tool::new("add").description("Adds").handler(
            |Json(x): Json<Add>, _: RequestContext| async move { (x.a + x.b).to_string() },
        ))
        .tool(
            Tool::new("add_structured")
                .description("Adds, with structured output")
                .output_schema(json!({"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]}))
                .handler(|Json(x): Json<Add>, _: RequestContext| async move {
                    Json(Sum { sum: x.a + x.b })
                }),
        )
        .tool(Tool::new("store").description("Stores any JSON").handler(
            |Json(x): Json<Store>, _: RequestContext| async move { x.value.to_string() },
        ))
        .tool(Tool::new("fails").description("Always fails").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                Err::<String, _>("it failed".to_owned())
            },
        ))
        .resource(
            Resource::new("test://static", "static")
                .mime_type("text/plain")
                .handler(|_: String, _: RequestContext| async { "static text" }),
        )
        .resource_template(
            ResourceTemplate::new("test://item/{id}", "item")
                .mime_type("application/json")
                .complete("id", |_, _, _| async { vec!["1".to_owned(), "2".to_owned()] })
                .handler(|m: TemplateMatch, _: RequestContext| async move {
                    format!(r#"{{"id":"{}"}}"#, m.variables["id"])
                }),
        )
        .prompt(
            Prompt::new("greet")
                .description("Greets")
                .argument("name", "Who", true)
                .complete("name", |_, _, _| async { vec!["Ada".to_owned()] })
                .handler(|args, _: RequestContext| async move {
                    vec![PromptMessage::user_text(format!("Hello {}", args["name"]))]
                }),
        )
        .build()
}

/// (method, params, result definition) for every method the router answers.
fn cases(version: ProtocolVersion) -> Vec<(&'static str, Value, &'static str)> {
    let mut cases = vec![
        ("tools/list", json!({}), "ListToolsResult"),
        (
            "tools/call",
            json!({"name":"add","arguments":{"a":1,"b":2}}),
            "CallToolResult",
        ),
        (
            "tools/call",
            json!({"name":"fails","arguments":{}}),
            "CallToolResult",
        ),
        (
            "tools/call",
            json!({"name":"store","arguments":{"value":[1, {"a": null}]}}),
            "CallToolResult",
        ),
        ("resources/list", json!({}), "ListResourcesResult"),
        (
            "resources/templates/list",
            json!({}),
            "ListResourceTemplatesResult",
        ),
        (
            "resources/read",
            json!({"uri":"test://static"}),
            "ReadResourceResult",
        ),
        (
            "resources/read",
            json!({"uri":"test://item/7"}),
            "ReadResourceResult",
        ),
        ("prompts/list", json!({}), "ListPromptsResult"),
        (
            "prompts/get",
            json!({"name":"greet","arguments":{"name":"Ada"}}),
            "GetPromptResult",
        ),
        (
            "completion/complete",
            json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":"A"}}),
            "CompleteResult",
        ),
        (
            "completion/complete",
            json!({"ref":{"type":"ref/resource","uri":"test://item/{id}"},"argument":{"name":"id","value":""}}),
            "CompleteResult",
        ),
    ];
    // Invalid arguments are a tool error from 2025-11-25 on, -32602 before (see below).
    if version.has_argument_errors_as_results() {
        cases.push((
            "tools/call",
            json!({"name":"add","arguments":{"a":"x"}}),
            "CallToolResult",
        ));
    }
    if version.has_structured_output() {
        cases.push((
            "tools/call",
            json!({"name":"add_structured","arguments":{"a":1,"b":2}}),
            "CallToolResult",
        ));
    }
    if version.is_modern() {
        cases.push(("server/discover", json!({}), "DiscoverResult"));
    } else {
        cases.push((
            "initialize",
            json!({"protocolVersion": version.as_str(), "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}),
            "InitializeResult",
        ));
        cases.push(("ping", json!({}), "EmptyResult"));
        cases.push(("logging/setLevel", json!({"level":"info"}), "EmptyResult"));
        cases.push((
            "resources/subscribe",
            json!({"uri":"test://static"}),
            "EmptyResult",
        ));
    }
    cases
}

async fn call(router: &Router, version: ProtocolVersion, method: &str, mut params: Value) -> Value {
    if version.is_modern() {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": version.as_str(),
            "io.modelcontextprotocol/clientCapabilities": {}
        });
    }
    let body = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}).to_string();
    let message = Message::parse(body.as_bytes()).expect("valid request");
    let mut request = McpRequest::new(message, version);
    if !version.is_modern() {
        // As a legacy server with sessions serves it (a level needs a session to live in).
        let session: SessionHandle = TestSession::with_capabilities(Default::default());
        request.extensions.insert(session);
    }
    let response = router.clone().oneshot(request).await.expect("infallible");
    let McpResponse::Single(response) = response else {
        panic!("{method}: expected one response");
    };
    serde_json::from_slice(&response.to_vec()).expect("response is JSON")
}

/// [`call`], failing unless the result is a valid `definition` of `schema`'s version; returns
/// the whole response.
async fn valid_result(
    router: &Router,
    schema: &SchemaSet,
    version: ProtocolVersion,
    (method, params): (&str, Value),
    definition: &str,
) -> Value {
    let response = call(router, version, method, params).await;
    if let Err(errors) = schema.validate(definition, &response["result"]) {
        panic!("{version} {method} invalid: {errors:?}\n{response}");
    }
    response
}

#[tokio::test]
async fn every_result_matches_the_schema_of_its_version() {
    let router = router();
    for version in ProtocolVersion::ALL {
        let schema = SchemaSet::load(version.as_str());
        for (method, params, definition) in cases(version) {
            let response = call(&router, version, method, params.clone()).await;
            assert!(
                response.get("result").is_some(),
                "{version} {method} {params}: {response}"
            );
            if let Err(errors) = schema.validate("JSONRPCMessage", &response) {
                panic!("{version} {method}: envelope invalid: {errors:?}\n{response}");
            }
            if let Err(errors) = schema.validate(definition, &response["result"]) {
                panic!("{version} {method}: {definition} invalid: {errors:?}\n{response}");
            }
        }
    }
}

#[tokio::test]
async fn errors_match_the_schema_of_their_version() {
    let router = router();
    for version in ProtocolVersion::ALL {
        let schema = SchemaSet::load(version.as_str());
        let mut cases = vec![
            ("tools/call", json!({"name":"nope"})),
            ("resources/read", json!({"uri":"test://missing"})),
            ("nope/nope", json!({})),
            ("tools/list", json!({"cursor":"!!"})),
        ];
        if !version.has_argument_errors_as_results() {
            cases.push(("tools/call", json!({"name":"add","arguments":{"a":"x"}})));
        }
        for (method, params) in cases {
            let response = call(&router, version, method, params).await;
            assert!(
                response.get("error").is_some(),
                "{version} {method}: {response}"
            );
            if let Err(errors) = schema.validate("JSONRPCMessage", &response) {
                panic!("{version} {method}: error envelope invalid: {errors:?}\n{response}");
            }
        }
    }
}

/// A reading: a number, or an object with its unit. Its derived schema has no root `type`.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Reading {
    Plain(f64),
    #[allow(dead_code)]
    Detailed {
        value: f64,
        unit: String,
    },
}

/// 2026-07-28 lets a tool's output be any JSON value; the earlier versions require an object
/// (`outputSchema` with `"type": "object"`, `structuredContent` an object). A tool whose
/// output is not an object keeps its schema and structured content from legacy clients,
/// which still get the output as the mirrored text block. So does a schema derived from a
/// type whose values are not all objects.
#[tokio::test]
async fn non_object_structured_output_is_modern_only() {
    let router = Router::builder()
        .name("schema-test", "1.0.0")
        .tool(
            Tool::new("primes")
                .description("The first primes")
                .output_schema(json!({"type": "array", "items": {"type": "integer"}}))
                .handler(
                    |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                        Json(vec![2, 3, 5])
                    },
                ),
        )
        .tool(
            Tool::new("reading")
                .description("The temperature")
                .output_schema_of::<Reading>()
                .handler(
                    |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                        Json(Reading::Plain(21.5))
                    },
                ),
        )
        .build();
    for version in ProtocolVersion::ALL {
        let schema = SchemaSet::load(version.as_str());
        let list = ("tools/list", json!({}));
        let listed = valid_result(&router, &schema, version, list, "ListToolsResult").await;
        for (index, name, output) in [(0, "primes", json!([2, 3, 5])), (1, "reading", json!(21.5))]
        {
            let tool = &listed["result"]["tools"][index];
            assert_eq!(tool["name"], name);
            let call = ("tools/call", json!({"name": name, "arguments": {}}));
            let called = valid_result(&router, &schema, version, call, "CallToolResult").await;
            let result = &called["result"];
            assert_eq!(
                result["content"][0]["text"],
                output.to_string(),
                "{version}: {called}"
            );
            if version.is_modern() {
                assert!(tool["outputSchema"].is_object(), "{version}: {listed}");
                assert_eq!(result["structuredContent"], output, "{version}: {called}");
            } else {
                assert!(tool.get("outputSchema").is_none(), "{version}: {listed}");
                assert!(
                    result.get("structuredContent").is_none(),
                    "{version}: {called}"
                );
            }
        }
    }
}

/// A tool that declares an output schema must return structured content to every client it
/// was shown to (-32603 otherwise, as for output that does not match): to all clients with
/// output schemas (2025-06-18 on) for an object schema, to 2026-07-28 clients only for any
/// other. 2025-03-26 has no structured output: its clients are owed none, and get none. An
/// `isError` result needs none.
#[tokio::test]
async fn output_schema_without_structured_content_is_an_error_where_the_schema_was_shown() {
    let text_only = |_: Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
        "just text".to_owned()
    };
    let router = Router::builder()
        .tool(
            Tool::new("object_text")
                .output_schema(json!({"type": "object", "properties": {"sum": {"type": "number"}}}))
                .handler(text_only),
        )
        .tool(
            Tool::new("array_text")
                .output_schema(json!({"type": "array", "items": {"type": "integer"}}))
                .handler(text_only),
        )
        .tool(
            Tool::new("object_fails")
                .output_schema(json!({"type": "object"}))
                .handler(
                    |_: Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                        Err::<String, _>("it failed".to_owned())
                    },
                ),
        )
        .build();
    for version in ProtocolVersion::ALL {
        let owed = [
            ("object_text", version.has_structured_output()),
            ("array_text", version.is_modern()),
        ];
        for (name, shown) in owed {
            let params = json!({"name": name, "arguments": {}});
            let response = call(&router, version, "tools/call", params).await;
            if shown {
                assert_eq!(
                    response["error"]["code"], -32603,
                    "{version} {name}: {response}"
                );
            } else {
                assert_eq!(
                    response["result"]["content"][0]["text"], "just text",
                    "{version}"
                );
            }
        }
        let params = json!({"name": "object_fails", "arguments": {}});
        let response = call(&router, version, "tools/call", params).await;
        assert_eq!(response["result"]["isError"], true, "{version}: {response}");
    }
}

/// Resource links arrived in 2025-06-18: a 2025-03-26 client gets each as a text block naming
/// the resource (its schema has no other place for one), later clients get the link.
#[tokio::test]
async fn resource_links_reach_2025_03_26_clients_as_text() {
    fn link() -> ContentBlock {
        let mut link = ResourceLink::new("test://report/7", "report-7");
        link.title = Some("Report 7".to_owned());
        ContentBlock::resource_link(link)
    }
    let router = Router::builder()
        .name("schema-test", "1.0.0")
        .tool(Tool::new("find").description("Finds a report").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                vec![ContentBlock::text("Found:"), link()]
            },
        ))
        .prompt(
            Prompt::new("review")
                .description("Reviews a report")
                .handler(|_, _: RequestContext| async move {
                    vec![PromptMessage::new(Role::User, link())]
                }),
        )
        .build();
    for version in ProtocolVersion::ALL {
        let schema = SchemaSet::load(version.as_str());
        let find = ("tools/call", json!({"name": "find", "arguments": {}}));
        let called = valid_result(&router, &schema, version, find, "CallToolResult").await;
        let review = ("prompts/get", json!({"name": "review"}));
        let prompt = valid_result(&router, &schema, version, review, "GetPromptResult").await;
        let from_tool = &called["result"]["content"][1];
        let from_prompt = &prompt["result"]["messages"][0]["content"];
        for block in [from_tool, from_prompt] {
            if version.has_resource_links() {
                assert_eq!(block["type"], "resource_link", "{version}: {block}");
                assert_eq!(block["uri"], "test://report/7", "{version}: {block}");
            } else {
                assert_eq!(
                    block,
                    &json!({"type": "text", "text": "Report 7 (test://report/7)"}),
                    "{version}"
                );
            }
        }
    }
}

/// 2025-03-26 has no `structuredContent`: its clients get the text alone.
#[tokio::test]
async fn clients_of_2025_03_26_get_no_structured_content() {
    let router = Router::builder()
        .tool(
            Tool::new("sum")
                .output_schema(json!({"type": "object", "properties": {"sum": {"type": "number"}}}))
                .handler(
                    |_: Json<serde_json::Map<String, Value>>, _: RequestContext| async move {
                        Json(json!({"sum": 3}))
                    },
                ),
        )
        .build();
    let params = json!({"name": "sum", "arguments": {}});
    let old = call(
        &router,
        ProtocolVersion::V2025_03_26,
        "tools/call",
        params.clone(),
    )
    .await;
    assert!(old["result"].get("structuredContent").is_none(), "{old}");
    assert_eq!(old["result"]["content"][0]["text"], r#"{"sum":3}"#, "{old}");
    let newer = call(&router, ProtocolVersion::V2025_06_18, "tools/call", params).await;
    assert_eq!(
        newer["result"]["structuredContent"],
        json!({"sum": 3}),
        "{newer}"
    );
}
