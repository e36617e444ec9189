//! The tools of the stateful (legacy-era) scenarios: content kinds, logging, progress, errors,
//! sampling, elicitation, SSE polling and the JSON Schema 2020-12 tool
//! (docs/conformance-expectations.md §3.2, §4).

use std::time::Duration;

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::protocol::{
    CallToolResult, ContentBlock, CreateMessageRequestParams, ElicitRequestFormParams,
    ElicitResult, JsonObject, LoggingLevel, ResourceContents, SamplingMessage,
};
use mcp_core::{RequestContext, Tool, ToolBuilder};
use serde_json::{Value, json};

use crate::{TEST_AUDIO_BASE64, TEST_IMAGE_BASE64};

/// The raw arguments object a `raw_handler` receives.
pub(crate) type Args = serde_json::Map<String, Value>;

/// `{"type":"object","properties":{}}`: the schema of every tool without arguments.
pub(crate) fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

/// A tool without arguments.
pub(crate) fn simple(name: &str, description: &str) -> ToolBuilder {
    Tool::new(name)
        .description(description)
        .input_schema(no_arguments())
}

/// A JSON object literal as the map the protocol types want.
pub(crate) fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// A string argument (empty when absent).
pub(crate) fn string_arg(args: &Args, name: &str) -> String {
    args.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `action=<action>, content=<json>` for an elicitation answer.
pub(crate) fn describe(result: &ElicitResult) -> String {
    let action = serde_json::to_value(result.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let content = result.content.as_ref().map_or_else(
        || "null".to_owned(),
        |c| Value::Object(c.clone()).to_string(),
    );
    format!("action={action}, content={content}")
}

/// Sends a form-mode `elicitation/create`.
pub(crate) async fn elicit_form(
    ctx: &RequestContext,
    message: &str,
    schema: Value,
) -> Result<ElicitResult, ErrorObject> {
    elicit_form_keyed(ctx, None, message, schema).await
}

/// Sends a form-mode `elicitation/create` as a named question: in the modern era `key` names
/// the `inputRequests` entry and the `inputResponses` answer (positional `input-N` if `None`).
pub(crate) async fn elicit_form_keyed(
    ctx: &RequestContext,
    key: Option<&str>,
    message: &str,
    schema: Value,
) -> Result<ElicitResult, ErrorObject> {
    ctx.elicit_keyed(
        key,
        ElicitRequestFormParams::new(message, object(schema)).into(),
    )
    .await
}

/// The tools of §3.2 used by the stateful scenarios, `test_simple_text` first.
pub(crate) fn tools() -> Vec<Tool> {
    vec![
        simple("test_simple_text", "Tests simple text content response").raw_handler(
            |_: Args, _: RequestContext| async {
                CallToolResult::text("This is a simple text response for testing.")
            },
        ),
        simple("test_image_content", "Tests image content response").raw_handler(
            |_: Args, _: RequestContext| async {
                ContentBlock::image(TEST_IMAGE_BASE64, "image/png")
            },
        ),
        simple("test_audio_content", "Tests audio content response").raw_handler(
            |_: Args, _: RequestContext| async {
                ContentBlock::audio(TEST_AUDIO_BASE64, "audio/wav")
            },
        ),
        simple("test_embedded_resource", "Tests embedded resource content response")
            .raw_handler(|_: Args, _: RequestContext| async {
                ContentBlock::embedded(ResourceContents::text(
                    "test://embedded-resource",
                    "text/plain".to_owned(),
                    "This is an embedded resource content.",
                ))
            }),
        simple(
            "test_multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
        )
        .raw_handler(|_: Args, _: RequestContext| async {
            vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(TEST_IMAGE_BASE64, "image/png"),
                ContentBlock::embedded(ResourceContents::text(
                    "test://mixed-content-resource",
                    "application/json".to_owned(),
                    r#"{"test":"data","value":123}"#,
                )),
            ]
        }),
        simple(
            "test_tool_with_logging",
            "Tests tool that emits log messages during execution",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            ctx.log(LoggingLevel::Info, None, "Tool execution started").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.log(LoggingLevel::Info, None, "Tool processing data").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.log(LoggingLevel::Info, None, "Tool execution completed").await;
            "Tool with logging executed successfully"
        }),
        simple(
            "test_tool_with_progress",
            "Tests tool that reports progress notifications",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if step > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let message = format!("Completed step {progress} of 100");
                ctx.progress(progress, Some(100.0), Some(&message)).await;
            }
            "Progress test completed"
        }),
        simple(
            "test_error_handling",
            "Tests error response handling (always returns a tool error)",
        )
        .raw_handler(|_: Args, _: RequestContext| async {
            CallToolResult::error_text("This tool intentionally returns an error for testing")
        }),
        Tool::new("test_sampling")
            .description("Tests server-initiated sampling (LLM completion request)")
            .input_schema(json!({
                "type": "object",
                "properties": {
                    "prompt": { "type": "string", "description": "The prompt to send to the LLM" }
                },
                "required": ["prompt"]
            }))
            .raw_handler(|args: Args, ctx: RequestContext| async move {
                let prompt = string_arg(&args, "prompt");
                let params =
                    CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
                let result = ctx.sample(params).await?;
                Ok::<_, ErrorObject>(format!("LLM response: {}", result.content.text()))
            }),
        Tool::new("test_elicitation")
            .description("Tests server-initiated elicitation (user input request)")
            .input_schema(json!({
                "type": "object",
                "properties": {
                    "message": { "type": "string", "description": "The message to show the user" }
                },
                "required": ["message"]
            }))
            .raw_handler(|args: Args, ctx: RequestContext| async move {
                let message = string_arg(&args, "message");
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" }
                    },
                    "required": ["username", "email"]
                });
                let result = elicit_form(&ctx, &message, schema).await?;
                Ok::<_, ErrorObject>(format!("User response: {}", describe(&result)))
            }),
        simple(
            "test_elicitation_sep1034_defaults",
            "Tests elicitation with default values for every primitive type (SEP-1034)",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let schema = json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "User name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "User age", "default": 30 },
                    "score": { "type": "number", "description": "User score", "default": 95.5 },
                    "status": {
                        "type": "string",
                        "description": "User status",
                        "enum": ["active", "inactive", "pending"],
                        "default": "active"
                    },
                    "verified": { "type": "boolean", "description": "Verification status", "default": true }
                },
                "required": []
            });
            let message = "Please review and update the form fields with defaults";
            let result = elicit_form(&ctx, message, schema).await?;
            Ok::<_, ErrorObject>(format!("Elicitation completed: {}", describe(&result)))
        }),
        simple(
            "test_elicitation_sep1330_enums",
            "Tests elicitation with every enum schema variant (SEP-1330)",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let result =
                elicit_form(&ctx, "Please select options from the enum fields", sep1330_schema())
                    .await?;
            Ok::<_, ErrorObject>(format!("Elicitation completed: {}", describe(&result)))
        }),
        simple(
            "test_reconnection",
            "Tests SSE polling: closes the stream early and delivers the result on resumption (SEP-1699)",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            // The priming event (id + retry) is already out; closing now makes the client
            // reconnect with GET + Last-Event-ID, where the result below is replayed.
            ctx.close_sse_stream().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure."
        }),
        Tool::new("json_schema_2020_12_tool")
            .description("Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)")
            .input_schema(json_schema_2020_12())
            .raw_handler(|args: Args, _: RequestContext| async move {
                format!(
                    "JSON Schema 2020-12 tool called with: {}",
                    Value::Object(args)
                )
            }),
    ]
}

/// The `requestedSchema` of `test_elicitation_sep1330_enums` (§4.10).
fn sep1330_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option with titles",
                "oneOf": [
                    { "const": "value1", "title": "First Option" },
                    { "const": "value2", "title": "Second Option" },
                    { "const": "value3", "title": "Third Option" }
                ]
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select multiple options",
                "minItems": 1,
                "maxItems": 3,
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
            },
            "titledMulti": {
                "type": "array",
                "description": "Select multiple options with titles",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" }
                    ]
                }
            }
        },
        "required": []
    })
}

/// The suite's `JSON_SCHEMA_2020_12_FIXTURE`, advertised verbatim (§4.8).
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" }
                }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": {
            "properties": { "contactMethod": { "const": "phone" } },
            "required": ["contactMethod"]
        },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    })
}
