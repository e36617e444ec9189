//! The tools of the tasks-extension scenarios (`tasks-*`, `io.modelcontextprotocol/tasks`,
//! SEP-2663; docs/conformance-expectations.md §8).
//!
//! They are plain handlers: a tool only declares its task support with
//! `.execution(ToolExecution { task_support: ... })`, and the router decides how a call runs.
//! With the extension in the request's `_meta` client capabilities, a call of a task-supporting
//! tool answers a `CreateTaskResult` at once and runs the handler in the background
//! (`tasks/get`, `tasks/update`, `tasks/cancel`); without it, `Optional` tools run directly and
//! `Required` ones are refused with -32021. A task handler that asks the client something
//! (`ctx.elicit_keyed(..)`) parks the task in `input_required` until `tasks/update` brings the
//! answers, then runs again from the top with them.

use std::time::Duration;

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::protocol::{CallToolResult, ElicitAction, TaskSupport, ToolExecution};
use mcp_core::{RequestContext, Tool, ToolBuilder};
use serde_json::{Value, json};

use crate::tools::{Args, elicit_form_keyed, no_arguments, string_arg};

/// The longest `slow_compute` sleep accepted, in seconds.
const MAX_SECONDS: f64 = 600.0;

/// Declares the tool's task support.
fn task_support(builder: ToolBuilder, support: TaskSupport) -> ToolBuilder {
    builder.execution(ToolExecution {
        task_support: Some(support),
    })
}

/// `{"type":"object","properties":{<field>:{"type":"boolean"}},"required":[<field>]}`.
fn boolean_field(field: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": { field: { "type": "boolean", "description": description } },
        "required": [field]
    })
}

/// `{"type":"object","properties":{<field>:{"type":"string"}},"required":[<field>]}`.
fn string_field(field: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": { field: { "type": "string", "description": description } },
        "required": [field]
    })
}

/// Whether an elicitation answer accepted with `content.<field> == true`.
fn confirmed(result: &mcp_core::protocol::ElicitResult, field: &str) -> bool {
    result.action == ElicitAction::Accept
        && result
            .content
            .as_ref()
            .and_then(|c| c.get(field))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

/// The `content.<field>` string of an accepted elicitation answer.
fn accepted_text(result: &mcp_core::protocol::ElicitResult, field: &str) -> Option<String> {
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

/// The tasks fixtures: `greet` (sync only), `slow_compute`, `failing_job`,
/// `protocol_error_job`, `confirm_delete`, `multi_input` and `test_tool_with_task`.
pub(crate) fn tools() -> Vec<Tool> {
    vec![
        Tool::new("greet")
            .description("Greets someone (synchronous; never becomes a task)")
            .input_schema(string_field("name", "Who to greet"))
            .raw_handler(|args: Args, _: RequestContext| async move {
                format!("Hello, {}!", string_arg(&args, "name"))
            }),
        task_support(
            Tool::new("slow_compute")
                .description("Sleeps `seconds` seconds, then reports; runs as a task when the client negotiated the tasks extension")
                .input_schema(json!({
                    "type": "object",
                    "properties": {
                        "seconds": { "type": "number", "minimum": 0, "description": "How long to work" },
                        "label": { "type": "string", "description": "A label echoed in the result" }
                    },
                    "required": ["seconds"]
                })),
            TaskSupport::Optional,
        )
        .raw_handler(|args: Args, ctx: RequestContext| async move {
            let seconds = args
                .get("seconds")
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite())
                .unwrap_or(0.0)
                .clamp(0.0, MAX_SECONDS);
            let label = string_arg(&args, "label");
            // A cancelled task is dropped by the router; the select serves direct calls.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(seconds)) => {
                    CallToolResult::text(format!("Computed {label} after {seconds}s"))
                }
                () = ctx.cancelled() => CallToolResult::error_text(format!("{label} was cancelled")),
            }
        }),
        task_support(
            Tool::new("failing_job")
                .description("Fails after about a second with a tool execution error (isError); must run as a task")
                .input_schema(no_arguments()),
            TaskSupport::Required,
        )
        .raw_handler(|_: Args, _: RequestContext| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            CallToolResult::error_text("The job failed: the input data set is empty")
        }),
        task_support(
            Tool::new("protocol_error_job")
                .description("Ends with a protocol error (a JSON-RPC error, so a task ends `failed`)")
                .input_schema(no_arguments()),
            TaskSupport::Optional,
        )
        .raw_handler(|_: Args, _: RequestContext| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<CallToolResult, _>(ErrorObject::internal_error(
                "protocol_error_job: internal failure while running the job",
            ))
        }),
        task_support(
            Tool::new("confirm_delete")
                .description("Asks the user to confirm the deletion of a file (one elicitation), then reports")
                .input_schema(string_field("filename", "The file to delete")),
            TaskSupport::Optional,
        )
        .raw_handler(|args: Args, ctx: RequestContext| async move {
            let filename = string_arg(&args, "filename");
            let answer = elicit_form_keyed(
                &ctx,
                Some("confirm"),
                &format!("Delete {filename}?"),
                boolean_field("confirm", "Whether to delete the file"),
            )
            .await?;
            Ok::<_, ErrorObject>(if confirmed(&answer, "confirm") {
                format!("Deleted {filename}")
            } else {
                format!("Kept {filename}")
            })
        }),
        task_support(
            Tool::new("multi_input")
                .description("Asks two questions at once (a name and a confirmation), then reports both")
                .input_schema(no_arguments()),
            TaskSupport::Optional,
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            // Asked concurrently, so both questions are pending together.
            let (name, confirm) = tokio::join!(
                elicit_form_keyed(
                    &ctx,
                    Some("name"),
                    "What is your name?",
                    string_field("name", "Your name"),
                ),
                elicit_form_keyed(
                    &ctx,
                    Some("confirm"),
                    "Do you confirm?",
                    boolean_field("confirm", "Whether to go on"),
                ),
            );
            let name = accepted_text(&name?, "name").unwrap_or_else(|| "stranger".to_owned());
            let confirm = confirmed(&confirm?, "confirm");
            Ok::<_, ErrorObject>(format!("Received name={name}, confirm={confirm}"))
        }),
        // `tasks-mrtr-composition`: round 1 is a plain MRTR `input_required` (no task); the
        // task exists only once `user_name` is answered.
        task_support(
            Tool::new("test_tool_with_task")
                .description("Asks the user's name (MRTR), then greets them from a task")
                .input_schema(no_arguments())
                // The questions come first, as plain input_required rounds; the task starts
                // once they are answered (SEP-2663 MRTR composition).
                .defer_task_creation(),
            TaskSupport::Required,
        )
        .raw_handler(|_: Args, ctx: RequestContext| async move {
            let answer = elicit_form_keyed(
                &ctx,
                Some("user_name"),
                "What is your name?",
                string_field("name", "Your name"),
            )
            .await?;
            let name = accepted_text(&answer, "name").unwrap_or_else(|| "stranger".to_owned());
            ctx.escalate_to_task().await;
            Ok::<_, ErrorObject>(format!("Hello, {name}!"))
        }),
    ]
}
