//! The tools of the stateless (2026-07-28) scenarios: capability errors, streaming, logging
//! opt-in, list-changed triggers, a header-mapped parameter and the multi round-trip
//! ("input required", SEP-2322) tools (docs/conformance-expectations.md §3.2, §5).
//!
//! The MRTR tools are plain handlers calling `ctx.elicit_keyed()`, `ctx.sample_keyed()` and
//! `ctx.list_roots_keyed()`: in the modern era the router turns each unanswered question into
//! an `input_required` result (the key names the `inputRequests` entry) and runs the handler
//! again when the client retries with answers under those keys.

use std::sync::OnceLock;

use mcp_core::jsonrpc::{ErrorObject, codes};
use mcp_core::protocol::{
    CreateMessageRequestParams, CreateMessageResult, ElicitAction, ElicitResult, ListRootsResult,
    LoggingLevel, SamplingMessage,
};
use mcp_core::{Prompt, RequestContext, Tool};
use serde_json::{Value, json};

use crate::RouterCell;
use crate::tools::{Args, elicit_form_keyed, simple, string_arg};

/// A prompt kept aside so `test_trigger_prompt_change` can re-register it (same set, same
/// order) and make the router announce `prompts/list_changed`.
static PROMPT: OnceLock<Prompt> = OnceLock::new();

/// Remembers the prompt re-registered by `test_trigger_prompt_change`.
pub(crate) fn remember_prompt(prompt: Prompt) {
    let _ = PROMPT.set(prompt);
}

/// The `content.<field>` string of an accepted elicitation.
fn accepted(result: &ElicitResult, field: &str) -> Option<String> {
    if result.action != ElicitAction::Accept {
        return None;
    }
    result
        .content
        .as_ref()?
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `{"type":"object","properties":{<field>:{"type":<kind>}},"required":[<field>]}`.
fn one_field(field: &str, kind: &str) -> Value {
    json!({
        "type": "object",
        "properties": { field: { "type": kind } },
        "required": [field]
    })
}

/// A one-message `sampling/createMessage`, named `key` in the modern era.
async fn sample(
    ctx: &RequestContext,
    key: Option<&str>,
    text: &str,
    max_tokens: u64,
) -> Result<CreateMessageResult, ErrorObject> {
    ctx.sample_keyed(
        key,
        CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], max_tokens),
    )
    .await
}

fn roots_text(roots: &ListRootsResult) -> String {
    format!("Found {} root(s)", roots.roots.len())
}

/// The modern-era tools.
pub(crate) fn tools(router: &RouterCell) -> Vec<Tool> {
    let tool_cell = router.clone();
    let prompt_cell = router.clone();
    let mut tools = vec![
        simple(
            "test_missing_capability",
            "Requires the client's sampling capability; fails with -32021 without it",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            if ctx.client_capabilities().is_some_and(|c| c.supports_sampling()) {
                return Ok("Success");
            }
            Err(ErrorObject::new(
                codes::MISSING_REQUIRED_CLIENT_CAPABILITY,
                "MissingRequiredClientCapabilityError",
            )
            .with_data(json!({ "requiredCapabilities": { "sampling": {} } })))
        }),
        simple(
            "test_streaming_elicitation",
            "Streams a progress notification before its result (never a request on the stream)",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            ctx.progress(50.0, Some(100.0), Some("Halfway")).await;
            "Streaming complete"
        }),
        simple(
            "test_logging_tool",
            "Logs only when the request's _meta asks for a log level",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            ctx.log(LoggingLevel::Info, Some("conformance"), "Logging tool invoked")
                .await;
            "Logging evaluated"
        }),
        simple(
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed (the tool set stays the same)",
        )
        .raw_handler(move |_: Args, _: RequestContext| {
            let cell = tool_cell.clone();
            async move {
                // Re-registering an existing tool keeps its place and announces the change.
                if let Some(router) = cell.get()
                    && let Some(tool) = router.tool("test_trigger_tool_change")
                {
                    router.add_tool(tool);
                }
                "Mutation triggered"
            }
        }),
        simple(
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed (the prompt set stays the same)",
        )
        .raw_handler(move |_: Args, _: RequestContext| {
            let cell = prompt_cell.clone();
            async move {
                if let (Some(router), Some(prompt)) = (cell.get(), PROMPT.get()) {
                    router.add_prompt(prompt.clone());
                }
                "Mutation triggered"
            }
        }),
        Tool::new("test_header_param")
            .description("Echoes a parameter that clients mirror into the Mcp-Param-Region header (SEP-2243)")
            .input_schema(json!({
                "type": "object",
                "properties": {
                    "region": {
                        "type": "string",
                        "description": "A region; mirrored into the Mcp-Param-Region header",
                        "x-mcp-header": "Region"
                    }
                },
                "required": ["region"]
            }))
            .raw_handler(|args: Args, _: RequestContext| async move {
                format!("region={}", string_arg(&args, "region"))
            }),
    ];
    tools.extend(input_required_tools());
    tools
}

/// The `test_input_required_result_*` tools (§5.5). Every question is named with the key the
/// suite's scenario description uses (`user_name`, `capital_question`, `client_roots`,
/// `confirm`, `greeting`, `step1`, `step2`); the checks that read "the first key" work with any.
fn input_required_tools() -> Vec<Tool> {
    vec![
        simple(
            "test_input_required_result_elicitation",
            "MRTR: asks the user's name through elicitation",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let answer = elicit_form_keyed(
                &ctx,
                Some("user_name"),
                "What is your name?",
                one_field("name", "string"),
            )
            .await?;
            let name = accepted(&answer, "name").unwrap_or_else(|| "stranger".to_owned());
            Ok::<_, ErrorObject>(format!("Hello, {name}!"))
        }),
        simple(
            "test_input_required_result_sampling",
            "MRTR: asks the client's model a question",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let answer = sample(
                &ctx,
                Some("capital_question"),
                "What is the capital of France?",
                100,
            )
            .await?;
            Ok::<_, ErrorObject>(format!("Sampling result: {}", answer.content.text()))
        }),
        simple(
            "test_input_required_result_list_roots",
            "MRTR: asks the client for its roots",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let roots = ctx.list_roots_keyed(Some("client_roots")).await?;
            Ok::<_, ErrorObject>(roots_text(&roots))
        }),
        simple(
            "test_input_required_result_request_state",
            "MRTR: asks for a confirmation; the answer comes back with the sealed requestState",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let answer = elicit_form_keyed(
                &ctx,
                Some("confirm"),
                "Please confirm",
                one_field("ok", "boolean"),
            )
            .await?;
            let ok = answer
                .content
                .as_ref()
                .and_then(|c| c.get("ok"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok::<_, ErrorObject>(if ok {
                "state-ok: requestState validated".to_owned()
            } else {
                format!("state-ok: confirmation was {:?}", answer.action)
            })
        }),
        simple(
            "test_input_required_result_multiple_inputs",
            "MRTR: asks for elicitation, sampling and roots in one round",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            // Asked concurrently, so all three questions go out in the same round.
            let (name, greeting, roots) = tokio::join!(
                elicit_form_keyed(
                    &ctx,
                    Some("user_name"),
                    "What is your name?",
                    one_field("name", "string")
                ),
                sample(&ctx, Some("greeting"), "Generate a greeting", 50),
                ctx.list_roots_keyed(Some("client_roots")),
            );
            let name = accepted(&name?, "name").unwrap_or_else(|| "stranger".to_owned());
            let greeting = greeting?.content.text();
            let roots = roots?;
            Ok::<_, ErrorObject>(format!(
                "Multiple inputs received: name={name}, greeting={greeting}, {}",
                roots_text(&roots)
            ))
        }),
        simple(
            "test_input_required_result_multi_round",
            "MRTR: asks two questions in two successive rounds",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let first = elicit_form_keyed(
                &ctx,
                Some("step1"),
                "Step 1: What is your name?",
                one_field("name", "string"),
            )
            .await?;
            let name = accepted(&first, "name").unwrap_or_else(|| "stranger".to_owned());
            let second = elicit_form_keyed(
                &ctx,
                Some("step2"),
                "Step 2: What is your favorite color?",
                one_field("color", "string"),
            )
            .await?;
            let color = accepted(&second, "color").unwrap_or_else(|| "no color".to_owned());
            Ok::<_, ErrorObject>(format!("Multi-round complete for {name} who likes {color}"))
        }),
        simple(
            "test_input_required_result_tampered_state",
            "MRTR: the requestState is integrity-protected; a tampered one is refused",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let answer = elicit_form_keyed(
                &ctx,
                Some("confirm"),
                "Please confirm",
                one_field("ok", "boolean"),
            )
            .await?;
            Ok::<_, ErrorObject>(format!("State verified: action={:?}", answer.action))
        }),
        simple(
            "test_input_required_result_capabilities",
            "MRTR: asks only for the kinds of input the client declared it supports",
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let caps = ctx.client_capabilities().cloned().unwrap_or_default();
            let sampling = async {
                if caps.supports_sampling() {
                    Some(sample(&ctx, Some("say_something"), "Say something", 50).await)
                } else {
                    None
                }
            };
            let elicitation = async {
                if caps.supports_elicitation_form() {
                    Some(
                        elicit_form_keyed(
                            &ctx,
                            Some("user_name"),
                            "What is your name?",
                            one_field("name", "string"),
                        )
                        .await,
                    )
                } else {
                    None
                }
            };
            let roots = async {
                if caps.supports_roots() {
                    Some(ctx.list_roots_keyed(Some("client_roots")).await)
                } else {
                    None
                }
            };
            let (sampling, elicitation, roots) = tokio::join!(sampling, elicitation, roots);
            let mut parts = Vec::new();
            if let Some(answer) = sampling {
                parts.push(format!("sampling={}", answer?.content.text()));
            }
            if let Some(answer) = elicitation {
                parts.push(format!("elicitation={:?}", answer?.action));
            }
            if let Some(answer) = roots {
                parts.push(roots_text(&answer?));
            }
            if parts.is_empty() {
                parts.push("the client declared no input capability".to_owned());
            }
            Ok::<_, ErrorObject>(format!("Capabilities respected: {}", parts.join(", ")))
        }),
    ]
}
