//! Malformed and hostile messages through `Message::parse` and the `Router`: each one gets the
//! right JSON-RPC error (or tool error), with or without an id, and nothing panics.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use mcp_core::jsonrpc::{Message, codes};
use mcp_core::protocol::PromptMessage;
use mcp_core::{
    Json, McpRequest, McpResponse, Prompt, ProtocolVersion, RequestContext, Resource,
    ResourceTemplate, Router, TemplateMatch, Tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

const LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;

/// What a case must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A JSON-RPC error with this code; `true` when the response must carry the request's id.
    Error(i32, bool),
    /// A result that is a tool failure (`isError: true`).
    ToolError,
    /// A successful result.
    Ok,
    /// No response at all (a notification).
    Nothing,
}

use Expect::{Error, Nothing, Ok, ToolError};

const PARSE: i32 = codes::PARSE_ERROR;
const INVALID_REQUEST: i32 = codes::INVALID_REQUEST;
const NOT_FOUND: i32 = codes::METHOD_NOT_FOUND;
const INVALID_PARAMS: i32 = codes::INVALID_PARAMS;

/// The most an error response may take whatever the input: quoted client text is cut short.
const MAX_ERROR_BYTES: usize = 2048;

struct Case {
    name: String,
    body: Vec<u8>,
    version: ProtocolVersion,
    expect: Expect,
}

fn case(name: impl Into<String>, body: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        body: body.into(),
        version: LEGACY,
        expect,
    }
}

fn modern_case(name: impl Into<String>, body: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        version: MODERN,
        ..case(name, body, expect)
    }
}

/// A `tools/call` of `tool` with `arguments` given as raw JSON text.
fn call(tool: &str, arguments: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    )
}

/// A request of `method` with `params` given as raw JSON text.
fn req(method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct AddArgs {
    a: i32,
    b: i32,
}

fn router() -> Router {
    Router::builder()
        .name("bad-input", "0")
        .tool(Tool::new("add").handler(
            |Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
                (i64::from(args.a) + i64::from(args.b)).to_string()
            },
        ))
        .tool(
            Tool::new("strict")
                .input_schema(json!({
                    "type": "object",
                    "properties": { "q": { "type": "string", "maxLength": 100 } },
                    "required": ["q"],
                    "additionalProperties": false
                }))
                .raw_handler(|args, _ctx: RequestContext| async move {
                    args["q"].as_str().unwrap_or_default().len().to_string()
                }),
        )
        .resource(
            Resource::new("test://static", "static")
                .handler(|_uri: String, _ctx: RequestContext| async { "static" }),
        )
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "data")
                .complete("id", |_prefix, _resolved, _ctx| async {
                    vec!["1".to_owned()]
                })
                .handler(|m: TemplateMatch, _ctx: RequestContext| async move {
                    m.variables["id"].clone()
                }),
        )
        .prompt(
            Prompt::new("greet")
                .argument("name", "Who", true)
                .complete("name", |_prefix, _resolved, _ctx| async {
                    vec!["Ada".to_owned()]
                })
                .handler(
                    |args: BTreeMap<String, String>, _ctx: RequestContext| async move {
                        vec![PromptMessage::user_text(format!("Hi {}", args["name"]))]
                    },
                ),
        )
        .build()
}

fn cases() -> Vec<Case> {
    let long = "x".repeat(1 << 20);
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let mut cases = vec![
        // --- Not JSON at all -------------------------------------------------------------
        case("not JSON", "hello", Error(PARSE, false)),
        case("truncated JSON", r#"{"jsonrpc":"2.0","id":1,"method":"pi"#, Error(PARSE, false)),
        case("truncated after a key", r#"{"jsonrpc":"2.0","id""#, Error(PARSE, false)),
        case("empty body", "", Error(PARSE, false)),
        case("whitespace only", " \r\n\t ", Error(PARSE, false)),
        case("single quotes", "{'jsonrpc':'2.0','id':1,'method':'ping'}", Error(PARSE, false)),
        case("trailing comma", r#"{"jsonrpc":"2.0","id":1,"method":"ping",}"#, Error(PARSE, false)),
        case("comment", r#"{"jsonrpc":"2.0","id":1,/* hi */"method":"ping"}"#, Error(PARSE, false)),
        case("NaN literal", r#"{"jsonrpc":"2.0","id":NaN,"method":"ping"}"#, Error(PARSE, false)),
        case("trailing garbage", format!("{ping}xyz"), Error(PARSE, false)),
        case("two objects", format!("{ping}{ping}"), Error(PARSE, false)),
        case("BOM before the object", [b"\xEF\xBB\xBF".as_slice(), ping.as_bytes()].concat(), Error(PARSE, false)),
        case(
            "invalid UTF-8 in the method",
            [br#"{"jsonrpc":"2.0","id":1,"method":"pi"#.as_slice(), b"\xFF\xFE", br#"ng"}"#].concat(),
            Error(PARSE, false),
        ),
        case(
            "invalid UTF-8 inside params",
            [br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":""#.as_slice(), b"\xC3\x28", br#""}}}"#].concat(),
            Error(PARSE, false),
        ),
        case(
            "invalid UTF-8 in an unknown key",
            [br#"{"jsonrpc":"2.0","id":1,"method":"ping",""#.as_slice(), b"\x80", br#"":1}"#].concat(),
            Error(PARSE, false),
        ),
        // Found by fuzzing (fuzz/corpus/message): serde meets the wrong type before the bad
        // syntax after it.
        case("a string then garbage", r#"":2,"method":"tools/list"}"#, Error(PARSE, false)),
        case("a wrongly typed member then garbage", r#"{"jsonrpc":2,"id":1,]"#, Error(PARSE, false)),
        case("a raw control character in a string", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\u{1}ng\"}", Error(PARSE, false)),
        // --- JSON, but not a JSON-RPC object ---------------------------------------------
        case("a number", "42", Error(INVALID_REQUEST, false)),
        case("a string", r#""ping""#, Error(INVALID_REQUEST, false)),
        case("null", "null", Error(INVALID_REQUEST, false)),
        case("true", "true", Error(INVALID_REQUEST, false)),
        case("empty batch", "[]", Error(INVALID_REQUEST, false)),
        case("empty batch with spaces", " [ ] ", Error(INVALID_REQUEST, false)),
        case("batch of numbers (not in 2025-11-25)", "[1,2]", Error(INVALID_REQUEST, false)),
        case("batch of requests (not in 2025-11-25)", format!("[{ping},{ping}]"), Error(INVALID_REQUEST, false)),
        case("empty object", "{}", Error(INVALID_REQUEST, false)),
        // --- The jsonrpc member ----------------------------------------------------------
        case("jsonrpc 1.0", r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc a number", r#"{"jsonrpc":2,"id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc 2.0 as a float", r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc missing", r#"{"id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc null", r#"{"jsonrpc":null,"id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc with a trailing space", r#"{"jsonrpc":"2.0 ","id":1,"method":"ping"}"#, Error(INVALID_REQUEST, true)),
        case("jsonrpc with an escape", r#"{"jsonrpc":"2\u002e0","id":1,"method":"ping"}"#, Ok),
        // --- The id ----------------------------------------------------------------------
        case("null id", r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("null id on tools/call", r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#, Error(INVALID_REQUEST, false)),
        case("float id", r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        // JSON Schema's `integer` (MCP's id type): any number without a fraction, any size.
        case("integral float id", r#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#, Ok),
        case("exponent id", r#"{"jsonrpc":"2.0","id":1e2,"method":"ping"}"#, Ok),
        case("negative exponent id with a fraction", r#"{"jsonrpc":"2.0","id":15e-1,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("boolean id", r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("object id", r#"{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("array id", r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("id just above i64::MAX", r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#, Ok),
        case("id far above u64::MAX", r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#, Ok),
        case("id of 41 digits", format!(r#"{{"jsonrpc":"2.0","id":1{},"method":"ping"}}"#, "0".repeat(40)), Error(INVALID_REQUEST, false)),
        case("id with a huge exponent", r#"{"jsonrpc":"2.0","id":1e999999999,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("id with a lone surrogate", r#"{"jsonrpc":"2.0","id":"\ud800","method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("deeply nested id", format!(r#"{{"jsonrpc":"2.0","id":{},"method":"ping"}}"#, nested_arrays(10_000)), Error(INVALID_REQUEST, false)),
        case("id i64::MIN", r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}"#, Ok),
        case("empty string id", r#"{"jsonrpc":"2.0","id":"","method":"ping"}"#, Ok),
        case("a 1 MiB string id", format!(r#"{{"jsonrpc":"2.0","id":"{long}","method":"ping"}}"#), Ok),
        // --- The method ------------------------------------------------------------------
        case("method a number", r#"{"jsonrpc":"2.0","id":1,"method":5}"#, Error(INVALID_REQUEST, true)),
        case("method an object", r#"{"jsonrpc":"2.0","id":1,"method":{"name":"ping"}}"#, Error(INVALID_REQUEST, true)),
        case("method null", r#"{"jsonrpc":"2.0","id":1,"method":null}"#, Error(INVALID_REQUEST, true)),
        case("method missing with an id", r#"{"jsonrpc":"2.0","id":1}"#, Error(INVALID_REQUEST, true)),
        case("method missing without an id", r#"{"jsonrpc":"2.0","params":{}}"#, Error(INVALID_REQUEST, false)),
        case("method with a lone surrogate", r#"{"jsonrpc":"2.0","id":1,"method":"\udc00"}"#, Error(INVALID_REQUEST, true)),
        case("empty method", r#"{"jsonrpc":"2.0","id":1,"method":""}"#, Error(NOT_FOUND, true)),
        case("unknown method", r#"{"jsonrpc":"2.0","id":1,"method":"tools/destroy"}"#, Error(NOT_FOUND, true)),
        case("unknown 1 MB method", format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#, "m".repeat(1 << 20)), Error(NOT_FOUND, true)),
        case("method with a NUL", r#"{"jsonrpc":"2.0","id":1,"method":"ping\u0000"}"#, Error(NOT_FOUND, true)),
        case("a 1 MiB method name", format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{long}"}}"#), Error(NOT_FOUND, true)),
        // --- params ----------------------------------------------------------------------
        case("params a string", req("ping", r#""x""#), Error(INVALID_REQUEST, true)),
        case("params a number", req("ping", "3"), Error(INVALID_REQUEST, true)),
        case("params true", req("ping", "true"), Error(INVALID_REQUEST, true)),
        case("params an array (by position)", req("tools/call", r#"["add",{"a":1,"b":2}]"#), Error(INVALID_PARAMS, true)),
        case("params an empty array on tools/list", req("tools/list", "[]"), Error(INVALID_PARAMS, true)),
        case("notification with params a string", r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":"x"}"#, Error(INVALID_REQUEST, false)),
        case("notification with bad tools/call params", r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":5}}"#, Nothing),
        // --- Responses from the client ---------------------------------------------------
        // Refused without their id: it is the server's own, and an error under it would read
        // as the answer to the client's request of that id.
        case("result and error both present", r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}"#, Error(INVALID_REQUEST, false)),
        case("a request carrying a result", r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#, Error(INVALID_REQUEST, true)),
        case("an error that is a string", r#"{"jsonrpc":"2.0","id":1,"error":"bad"}"#, Error(INVALID_REQUEST, false)),
        case("an error without a message", r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#, Error(INVALID_REQUEST, false)),
        case("a result without an id", r#"{"jsonrpc":"2.0","result":{}}"#, Error(INVALID_REQUEST, false)),
        case("a well-formed client response", r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, Nothing),
        // 2025-11-25: an error response may leave out its id (the client could not read it).
        case("an error without an id", r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}"#, Nothing),
        case("an empty object without an id", r#"{"jsonrpc":"2.0"}"#, Error(INVALID_REQUEST, false)),
        // --- Duplicate keys --------------------------------------------------------------
        case("duplicate id", r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#, Error(INVALID_REQUEST, false)),
        case("duplicate method", r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/list"}"#, Error(INVALID_REQUEST, false)),
        case("duplicate name in params", req("tools/call", r#"{"name":"add","name":"strict","arguments":{}}"#), Error(INVALID_PARAMS, true)),
        case("duplicate argument (refused like a duplicate param)", call("add", r#"{"a":100,"a":1,"b":2}"#), ToolError),
        // --- tools/call ------------------------------------------------------------------
        case("tools/call without params", r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#, Error(INVALID_PARAMS, true)),
        case("tools/call with null params", r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}"#, Error(INVALID_PARAMS, true)),
        case("tools/call without a name", req("tools/call", r#"{"arguments":{}}"#), Error(INVALID_PARAMS, true)),
        case("tools/call name a number", req("tools/call", r#"{"name":5,"arguments":{}}"#), Error(INVALID_PARAMS, true)),
        case("tools/call name null", req("tools/call", r#"{"name":null}"#), Error(INVALID_PARAMS, true)),
        case("tools/call arguments an array", call("add", "[1,2]"), Error(INVALID_PARAMS, true)),
        case("tools/call arguments a string", call("add", r#""a=1,b=2""#), Error(INVALID_PARAMS, true)),
        case("tools/call arguments a number", call("add", "3"), Error(INVALID_PARAMS, true)),
        case("tools/call arguments null (no arguments)", call("add", "null"), ToolError),
        case("tools/call _meta a string", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"_meta":"x"}"#), Error(INVALID_PARAMS, true)),
        case("tools/call progressToken an object", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":{}}}"#), Error(INVALID_PARAMS, true)),
        case("tools/call unknown tool", call("nope", "{}"), Error(INVALID_PARAMS, true)),
        // Echoed names are cut short: an error must not grow with the input (checked in `run`).
        case("tools/call unknown 1 MB tool name", call(&"n".repeat(1 << 20), "{}"), Error(INVALID_PARAMS, true)),
        case("tools/call a 1 MiB tool name", call(&long, "{}"), Error(INVALID_PARAMS, true)),
        case("unknown field where additionalProperties is false", call("strict", r#"{"q":"x","extra":1}"#), ToolError),
        case("a 1 MiB string over maxLength", call("strict", &format!(r#"{{"q":"{long}"}}"#)), ToolError),
        case("wrong argument types", call("add", r#"{"a":"1","b":true}"#), ToolError),
        case("missing arguments", call("add", r#"{"a":1}"#), ToolError),
        case("1e400 as an argument", call("add", r#"{"a":1e400,"b":1}"#), ToolError),
        case("-1e400 as an argument", call("add", r#"{"a":-1e400,"b":1}"#), ToolError),
        case("a huge integer for an i32", call("add", r#"{"a":99999999999999999999999,"b":1}"#), ToolError),
        case("i32::MAX + 1 for an i32", call("add", r#"{"a":2147483648,"b":1}"#), ToolError),
        case("a fraction for an i32", call("add", r#"{"a":1.5,"b":1}"#), ToolError),
        case("i32 extremes", call("add", r#"{"a":2147483647,"b":2147483647}"#), Ok),
        case("10 000 nested arrays in arguments", call("add", &format!(r#"{{"a":{},"b":1}}"#, nested_arrays(10_000))), ToolError),
        case("10 000 nested objects in arguments", call("add", &format!(r#"{{"a":{},"b":1}}"#, nested_objects(10_000))), ToolError),
        case("100 nested arrays in arguments (within limits)", call("add", &format!(r#"{{"a":{},"b":1}}"#, nested_arrays(100))), ToolError),
        // --- Deep nesting elsewhere ------------------------------------------------------
        case("10 000 nested arrays as the body", nested_arrays(10_000), Error(INVALID_REQUEST, false)),
        case("10 000 nested objects as the body", nested_objects(10_000), Error(INVALID_REQUEST, false)),
        case("10 000 nested arrays in ignored params", req("ping", &format!(r#"{{"x":{}}}"#, nested_arrays(10_000))), Ok),
        case("10 000 nested arrays in an unknown field of tools/list", req("tools/list", &format!(r#"{{"x":{}}}"#, nested_arrays(10_000))), Ok),
        case("unclosed 10 000 nested arrays", "[".repeat(10_000), Error(PARSE, false)),
        // --- Other methods ---------------------------------------------------------------
        case("resources/read without params", r#"{"jsonrpc":"2.0","id":1,"method":"resources/read"}"#, Error(INVALID_PARAMS, true)),
        case("resources/read without uri", req("resources/read", "{}"), Error(INVALID_PARAMS, true)),
        case("resources/read uri a number", req("resources/read", r#"{"uri":7}"#), Error(INVALID_PARAMS, true)),
        case("resources/read unknown uri", req("resources/read", r#"{"uri":"test://nope"}"#), Error(codes::RESOURCE_NOT_FOUND, true)),
        modern_case("resources/read unknown uri (2026-07-28)", req("resources/read", r#"{"uri":"test://nope"}"#), Error(INVALID_PARAMS, true)),
        case("resources/read a 1 MiB uri", req("resources/read", &format!(r#"{{"uri":"test://template/{long}/data"}}"#)), Ok),
        case("resources/subscribe without uri", req("resources/subscribe", "{}"), Error(INVALID_PARAMS, true)),
        case("prompts/get without name", req("prompts/get", "{}"), Error(INVALID_PARAMS, true)),
        case("prompts/get with a number argument", req("prompts/get", r#"{"name":"greet","arguments":{"name":42}}"#), Error(INVALID_PARAMS, true)),
        case("prompts/get with a null argument", req("prompts/get", r#"{"name":"greet","arguments":{"name":null}}"#), Error(INVALID_PARAMS, true)),
        case("prompts/get with an object argument", req("prompts/get", r#"{"name":"greet","arguments":{"name":{"first":"Ada"}}}"#), Error(INVALID_PARAMS, true)),
        case("prompts/get arguments an array", req("prompts/get", r#"{"name":"greet","arguments":["Ada"]}"#), Error(INVALID_PARAMS, true)),
        case("prompts/get missing a required argument", req("prompts/get", r#"{"name":"greet","arguments":{}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete with a bad ref type", req("completion/complete", r#"{"ref":{"type":"ref/tool","name":"add"},"argument":{"name":"a","value":""}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete ref an array", req("completion/complete", r#"{"ref":["ref/prompt","greet"],"argument":{"name":"name","value":""}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete argument an array", req("completion/complete", r#"{"ref":{"type":"ref/prompt","name":"greet"},"argument":["name",""]}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete context a number", req("completion/complete", r#"{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":""},"context":5}"#), Error(INVALID_PARAMS, true)),
        case("tools/call task an array", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"task":[60000]}"#), Error(INVALID_PARAMS, true)),
        case("tools/call _meta a number", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"_meta":5}"#), Error(INVALID_PARAMS, true)),
        case("tools/call _meta an array", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"_meta":[]}"#), Error(INVALID_PARAMS, true)),
        case("logging/setLevel _meta a number", req("logging/setLevel", r#"{"level":"info","_meta":1}"#), Error(INVALID_PARAMS, true)),
        case("resources/subscribe _meta an array", req("resources/subscribe", r#"{"uri":"test://static","_meta":[]}"#), Error(INVALID_PARAMS, true)),
        case("tools/list _meta an array", req("tools/list", r#"{"_meta":[1]}"#), Error(INVALID_PARAMS, true)),
        case("ping _meta a string", req("ping", r#"{"_meta":"x"}"#), Error(INVALID_PARAMS, true)),
        case("ping params an array", req("ping", r#"[1]"#), Error(INVALID_PARAMS, true)),
        case("resources/read _meta an array", req("resources/read", r#"{"uri":"test://static","_meta":[null]}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete ref a string", req("completion/complete", r#"{"ref":"greet","argument":{"name":"name","value":""}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete without argument", req("completion/complete", r#"{"ref":{"type":"ref/prompt","name":"greet"}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete argument value a number", req("completion/complete", r#"{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":1}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete unknown prompt", req("completion/complete", r#"{"ref":{"type":"ref/prompt","name":"nope"},"argument":{"name":"name","value":""}}"#), Error(INVALID_PARAMS, true)),
        case("completion/complete unknown template", req("completion/complete", r#"{"ref":{"type":"ref/resource","uri":"test://nope/{id}"},"argument":{"name":"id","value":""}}"#), Error(INVALID_PARAMS, true)),
        case("logging/setLevel with an unknown level", req("logging/setLevel", r#"{"level":"verbose"}"#), Error(INVALID_PARAMS, true)),
        case("logging/setLevel with a number level", req("logging/setLevel", r#"{"level":3}"#), Error(INVALID_PARAMS, true)),
        case("logging/setLevel without params", r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel"}"#, Error(INVALID_PARAMS, true)),
        case("tools/list with an invalid cursor", req("tools/list", r#"{"cursor":"***"}"#), Error(INVALID_PARAMS, true)),
        case("tools/list with a numeric cursor", req("tools/list", r#"{"cursor":7}"#), Error(INVALID_PARAMS, true)),
        case("prompts/list with an invalid cursor", req("prompts/list", r#"{"cursor":"\u0000"}"#), Error(INVALID_PARAMS, true)),
        case("initialize without clientInfo", req("initialize", r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#), Error(INVALID_PARAMS, true)),
        case("initialize with a numeric version", req("initialize", r#"{"protocolVersion":20251125,"capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#), Error(INVALID_PARAMS, true)),
        case("initialize without params", r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#, Error(INVALID_PARAMS, true)),
        // --- Era rules -------------------------------------------------------------------
        modern_case("initialize in 2026-07-28", req("initialize", r#"{"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#), Error(NOT_FOUND, true)),
        case("server/discover in 2025-11-25", req("server/discover", "{}"), Error(NOT_FOUND, true)),
        modern_case("inputResponses not an object", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"inputResponses":[1]}"#), Error(INVALID_PARAMS, true)),
        modern_case("requestState not a string", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"requestState":{}}"#), Error(INVALID_PARAMS, true)),
        modern_case("a forged requestState", req("tools/call", r#"{"name":"add","arguments":{"a":1,"b":2},"requestState":"Zm9yZ2Vk.AAAA"}"#), Error(INVALID_PARAMS, true)),
        modern_case("batch in 2026-07-28", format!("[{ping}]"), Error(INVALID_REQUEST, false)),
        // --- Controls: well-formed requests still work -----------------------------------
        case("control: ping", ping, Ok),
        case("control: ping with spaces and newlines", " \n{ \"jsonrpc\" : \"2.0\" ,\n \"id\" : 1 , \"method\" : \"ping\" }\n ", Ok),
        case("control: escaped key names", r#"{"json\u0072pc":"2.0","\u0069d":1,"method":"ping"}"#, Ok),
        case("control: unknown top-level member", r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":[1,2,3]}"#, Ok),
        case("control: tools/call", call("add", r#"{"a":1,"b":2}"#), Ok),
        case("control: a notification", r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, Nothing),
    ];
    for (i, case) in cases.iter_mut().enumerate() {
        case.name = format!("#{i:03} {}", case.name);
    }
    cases
}

/// Runs one case: parse, dispatch, serialise. `Err` describes a mismatch or a panic.
async fn run(router: &Router, case: &Case) -> Result<(), String> {
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| Message::parse(&case.body)))
        .map_err(|_| "Message::parse panicked".to_owned())?;
    let response = match parsed {
        Err(response) => McpResponse::Single(response),
        Result::Ok(message) => {
            let request = McpRequest::new(message, case.version);
            let service = router.clone();
            // A task of its own, so that a panic in the router is caught and reported.
            tokio::spawn(async move { service.oneshot(request).await })
                .await
                .map_err(|e| format!("the router panicked: {e}"))?
                .unwrap_or_else(|never| match never {})
        }
    };
    let mut bytes = Vec::new();
    std::panic::catch_unwind(AssertUnwindSafe(|| response.write_json(&mut bytes)))
        .map_err(|_| "serialising the response panicked".to_owned())?;

    if case.expect == Nothing {
        return if response.is_none() && bytes.is_empty() {
            Result::Ok(())
        } else {
            Err(format!(
                "expected no response, got {}",
                String::from_utf8_lossy(&bytes)
            ))
        };
    }
    let McpResponse::Single(_) = response else {
        return Err(format!("expected one response, got {response:?}"));
    };
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "the response is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    let shown = || {
        let text = json.to_string();
        if text.len() > 300 {
            format!("{}…", &text[..300])
        } else {
            text
        }
    };
    if json["jsonrpc"] != "2.0" {
        return Err(format!("no jsonrpc 2.0 in {}", shown()));
    }
    match case.expect {
        Error(code, with_id) => {
            let Some(error) = json.get("error") else {
                return Err(format!("expected error {code}, got {}", shown()));
            };
            if json.get("result").is_some() {
                return Err(format!("both result and error in {}", shown()));
            }
            if error["code"] != code {
                return Err(format!("expected error {code}, got {}", shown()));
            }
            let Some(message) = error["message"].as_str() else {
                return Err(format!("error without a message: {}", shown()));
            };
            // serde names the Rust type it wanted; clients know none of ours.
            if ["struct ", "enum ", "mcp_core"]
                .iter()
                .any(|rust| message.contains(rust))
            {
                return Err(format!("a Rust name in {}", shown()));
            }
            if bytes.len() > MAX_ERROR_BYTES {
                return Err(format!("an error of {} bytes: {}", bytes.len(), shown()));
            }
            match (with_id, json.get("id")) {
                (true, Some(id)) if id.is_number() || id.is_string() => {}
                (false, None) => {}
                (true, _) => return Err(format!("expected the request's id in {}", shown())),
                (false, Some(_)) => return Err(format!("expected no id in {}", shown())),
            }
        }
        ToolError | Ok => {
            let Some(result) = json.get("result") else {
                return Err(format!("expected a result, got {}", shown()));
            };
            if json.get("id").is_none() {
                return Err(format!("a result without an id: {}", shown()));
            }
            let is_error = result.get("isError") == Some(&Value::Bool(true));
            if is_error != (case.expect == ToolError) {
                return Err(format!("expected {:?}, got {}", case.expect, shown()));
            }
        }
        Nothing => unreachable!(),
    }
    Result::Ok(())
}

#[tokio::test]
async fn malformed_messages_get_the_right_error() {
    let router = router();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(problem) = run(&router, case).await {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| &c.name[5..]).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

#[tokio::test]
async fn every_error_response_keeps_the_id_it_could_read() {
    let router = router();
    // A string id survives every kind of failure after it was read.
    for body in [
        r#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":5}}"#,
        r#"{"jsonrpc":"2.0","id":"abc","method":"tools/destroy"}"#,
        r#"{"jsonrpc":"2.0","id":"abc","method":"ping","params":"x"}"#,
    ] {
        let response = match Message::parse(body.as_bytes()) {
            Err(response) => McpResponse::Single(response),
            Result::Ok(message) => router
                .clone()
                .oneshot(McpRequest::new(message, LEGACY))
                .await
                .unwrap(),
        };
        let mut bytes = Vec::new();
        response.write_json(&mut bytes);
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["id"], "abc", "{body} → {json}");
        assert!(json["error"]["code"].is_i64(), "{json}");
    }
}

#[test]
fn batch_items_are_parsed_one_by_one_and_must_be_objects() {
    let body = br#"[
        {"jsonrpc":"2.0","id":1,"method":"ping"},
        ["2.0", 2, "ping"],
        {"jsonrpc":"2.0","id":null,"method":"ping"},
        {"jsonrpc":"1.0","id":4,"method":"ping"},
        7,
        {"jsonrpc":"2.0","method":"notifications/initialized"}
    ]"#;
    let Result::Ok(Message::Batch(items)) = Message::parse(body) else {
        panic!("a batch");
    };
    /// The id of a parsed item, or the code and id of its error response.
    type Parsed = Result<Option<String>, (i32, Option<String>)>;
    let summary: Vec<Parsed> = items
        .iter()
        .map(|item| match item {
            Result::Ok(message) => Result::Ok(message.id().map(ToString::to_string)),
            Err(response) => Err((
                response.error_object().unwrap().code,
                response.id.as_ref().map(ToString::to_string),
            )),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            Result::Ok(Some("1".to_owned())),
            // By position, serde would have read this as a ping with id 2.
            Err((INVALID_REQUEST, None)),
            Err((INVALID_REQUEST, None)),
            Err((INVALID_REQUEST, Some("4".to_owned()))),
            Err((INVALID_REQUEST, None)),
            Result::Ok(None),
        ]
    );
}
