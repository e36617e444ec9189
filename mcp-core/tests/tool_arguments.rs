//! How a tool's arguments are checked: typed handlers deserialise straight from the request,
//! the schema validator runs first when the schema says more than the type, and explains
//! every refusal either way.

use mcp_core::jsonrpc::{Message, codes};
use mcp_core::{Json, McpRequest, ProtocolVersion, RequestContext, Router, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Only the types constrain these: serde's check is the whole check.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

/// A range serde does not know about: the validator must run before the handler.
#[derive(Deserialize, JsonSchema)]
struct PageArgs {
    #[schemars(range(min = 1, max = 100))]
    size: u32,
}

#[derive(Deserialize, JsonSchema)]
struct CountArgs {
    count: u32,
    offset: i32,
}

fn router() -> Router {
    Router::builder()
        .name("args", "1.0.0")
        .tool(Tool::new("count").handler(
            |Json(args): Json<CountArgs>, _: RequestContext| async move {
                format!("{} from {}", args.count, args.offset)
            },
        ))
        .tool(
            Tool::new("add").handler(|Json(args): Json<AddArgs>, _: RequestContext| async move {
                (args.a + args.b).to_string()
            }),
        )
        .tool(Tool::new("page").handler(
            |Json(args): Json<PageArgs>, _: RequestContext| async move {
                format!("page of {}", args.size)
            },
        ))
        .tool(
            Tool::new("echo")
                .input_schema(json!({
                    "type": "object",
                    "properties": {"word": {"type": "string", "minLength": 2}},
                    "required": ["word"]
                }))
                .raw_handler(|args, _: RequestContext| async move {
                    args["word"].as_str().unwrap_or_default().to_owned()
                }),
        )
        .build()
}

/// Sends a tools/call with `arguments` spelled exactly as given; returns the response object.
async fn call(router: &Router, tool: &str, arguments: &str) -> Value {
    call_in(ProtocolVersion::V2025_11_25, router, tool, arguments).await
}

/// [`call`] under `version`.
async fn call_in(version: ProtocolVersion, router: &Router, tool: &str, arguments: &str) -> Value {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    );
    let message = Message::parse(body.as_bytes()).expect("a JSON-RPC request");
    let request = McpRequest::new(message, version);
    let response = router.clone().oneshot(request).await.unwrap();
    let mut out = Vec::new();
    response.write_json(&mut out);
    serde_json::from_slice(&out).unwrap()
}

fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {response}"))
}

#[tokio::test]
async fn valid_arguments_reach_the_handler() {
    let router = router();
    assert_eq!(text(&call(&router, "add", r#"{"a":2,"b":3}"#).await), "5");
    assert_eq!(
        text(&call(&router, "page", r#"{"size":10}"#).await),
        "page of 10"
    );
    assert_eq!(text(&call(&router, "echo", r#"{"word":"hi"}"#).await), "hi");
}

#[tokio::test]
async fn a_type_mismatch_is_explained_by_the_schema() {
    let response = call(&router(), "add", r#"{"a":"two","b":3}"#).await;
    assert_violation(&response, "add", "/a");
}

/// An `isError` result naming the tool and listing a violation at `path`.
fn assert_violation(response: &Value, tool: &str, path: &str) {
    let text = text_of_error(response);
    assert!(
        text.starts_with(&format!("Invalid arguments for tool {tool}:")),
        "{text}"
    );
    assert!(text.contains(&format!("- {path}: ")), "{text}");
}

/// Before SEP-1303 (2025-11-25) the tool pages listed invalid arguments among the protocol
/// errors: those clients get -32602, with the same list of violations.
#[tokio::test]
async fn clients_before_2025_11_25_get_invalid_params() {
    for version in [ProtocolVersion::V2025_03_26, ProtocolVersion::V2025_06_18] {
        for (tool, arguments, expected) in [
            ("add", r#"{"a":"two","b":3}"#, "- /a: "),
            ("page", r#"{"size":0}"#, "- /size: "),
            (
                "add",
                r#"{"a":1,"a":2,"b":3}"#,
                "Invalid arguments for tool add: duplicate field",
            ),
        ] {
            let response = call_in(version, &router(), tool, arguments).await;
            assert_eq!(response["error"]["code"], -32602, "{version}: {response}");
            let message = response["error"]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{version}: {message}");
        }
        let fine = call_in(version, &router(), "add", r#"{"a":2,"b":3}"#).await;
        assert_eq!(text(&fine), "5");
    }
    let modern = call_in(
        ProtocolVersion::V2025_11_25,
        &router(),
        "page",
        r#"{"size":0}"#,
    )
    .await;
    assert_violation(&modern, "page", "/size");
}

#[tokio::test]
async fn a_constraint_beyond_the_type_is_enforced() {
    let response = call(&router(), "page", r#"{"size":0}"#).await;
    assert_violation(&response, "page", "/size");
    let response = call(&router(), "echo", r#"{"word":"x"}"#).await;
    assert_violation(&response, "echo", "/word");
}

fn text_of_error(response: &Value) -> &str {
    assert_eq!(response["result"]["isError"], true, "{response}");
    text(response)
}

#[tokio::test]
async fn what_the_schema_allows_but_the_type_refuses_says_why() {
    // The schema has nothing against a repeated key; serde refuses it.
    let response = call(&router(), "add", r#"{"a":1,"a":2,"b":3}"#).await;
    let text = text_of_error(&response);
    assert!(
        text.starts_with("Invalid arguments for tool add: duplicate field"),
        "{text}"
    );
}

/// Arguments too large or too deep to read are invalid arguments like any other: a tool
/// error from 2025-11-25 (SEP-1303), -32602 before.
#[tokio::test]
async fn unreadable_numbers_and_depth_are_invalid_arguments() {
    let router = router();
    let deep = format!("{{\"a\":{}1{},\"b\":1}}", "[".repeat(500), "]".repeat(500));
    for (tool, arguments) in [
        ("add", r#"{"a":1e400,"b":3}"#),
        ("add", deep.as_str()),
        ("echo", r#"{"word":"ok","n":-1e400}"#),
    ] {
        let response = call(&router, tool, arguments).await;
        let text = text_of_error(&response);
        assert!(
            text.starts_with(&format!("Invalid arguments for tool {tool}: ")),
            "{text}"
        );
        let response = call_in(ProtocolVersion::V2025_06_18, &router, tool, arguments).await;
        assert_eq!(
            response["error"]["code"],
            codes::INVALID_PARAMS,
            "{response}"
        );
    }
}

/// A message about invalid arguments stays short whatever they are: the first violations,
/// each cut short, not one line per item of a huge array nor a huge value repeated back.
#[tokio::test]
async fn messages_about_invalid_arguments_are_bounded() {
    let router = router();
    let many = format!(r#"{{"word":[{}]}}"#, vec!["1"; 2000].join(","));
    let text = text_of_error(&call(&router, "echo", &many).await).to_owned();
    assert!(text.lines().count() <= 12, "{} lines", text.lines().count());
    let wrong_items = Tool::new("tags")
        .input_schema(json!({
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}}}
        }))
        .raw_handler(|_, _: RequestContext| async { "ok" });
    let tags = Router::builder().tool(wrong_items).build();
    let arguments = format!(r#"{{"tags":[{}]}}"#, vec!["1"; 2000].join(","));
    let text = text_of_error(&call(&tags, "tags", &arguments).await).to_owned();
    assert_eq!(text.lines().count(), 12, "{text}");
    assert!(text.ends_with("(only the first 10 are listed)"), "{text}");
    // Large arguments: the first violation only, found without collecting every other.
    let arguments = format!(r#"{{"tags":[{}]}}"#, vec!["1"; 50_000].join(","));
    let text = text_of_error(&call(&tags, "tags", &arguments).await).to_owned();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.ends_with("only the first violation is listed)"),
        "{text}"
    );
    let huge = format!(r#"{{"a":"{}","b":1}}"#, "x".repeat(100_000));
    let text = text_of_error(&call(&router, "add", &huge).await).to_owned();
    assert!(text.len() < 2_000, "{} bytes", text.len());
}

/// MCP requires an object schema for arguments in every version: anything else is refused
/// when the tool is built, not discovered in each `tools/list`.
#[test]
#[should_panic(expected = "tool list: the input schema must have \"type\": \"object\" at its root")]
fn an_input_schema_that_is_not_an_object_schema_is_refused() {
    let _ = Tool::new("list")
        .input_schema(json!({"type": "array"}))
        .raw_handler(|_, _: RequestContext| async { "never" });
}

/// What the advertised schema accepts, the typed handler takes: JSON Schema's `integer` is any
/// number without a fraction (`5.0`), and `u32`/`i32` state their ranges, so an argument out
/// of range is told with its path, not as a Rust type.
#[tokio::test]
async fn integer_arguments_follow_the_schema() {
    let router = router();
    let fine = call(&router, "count", r#"{"count":5.0,"offset":-2e1}"#).await;
    assert_eq!(text(&fine), "5 from -20", "{fine}");
    let list = {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
        let response = router.clone().oneshot(request).await.unwrap();
        let mut out = Vec::new();
        response.write_json(&mut out);
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let count = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "count")
        .unwrap();
    let properties = &count["inputSchema"]["properties"];
    assert_eq!(properties["count"]["maximum"], u32::MAX, "{count}");
    assert_eq!(properties["offset"]["minimum"], i32::MIN, "{count}");
    for (arguments, path) in [
        (r#"{"count":1099511627776,"offset":0}"#, "/count"),
        (r#"{"count":1,"offset":3000000000}"#, "/offset"),
        (r#"{"count":5.5,"offset":0}"#, "/count"),
    ] {
        let response = call(&router, "count", arguments).await;
        assert_violation(&response, "count", path);
        let text = text_of_error(&response);
        assert!(!text.contains("u32") && !text.contains("i32"), "{text}");
    }
}
