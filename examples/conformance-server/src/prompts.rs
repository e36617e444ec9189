//! Prompts and argument completion of the conformance suites
//! (docs/conformance-expectations.md §3.4, §3.5, §5.5).

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::protocol::{ContentBlock, PromptMessage, ResourceContents, Role};
use mcp_core::{Prompt, RequestContext};
use serde_json::{Value, json};

use crate::TEST_IMAGE_BASE64;
use crate::tools::elicit_form_keyed;

/// Values offered by `completion/complete` for `test_prompt_with_arguments`.
const SUGGESTIONS: &[&str] = &["test", "testValue1", "testValue2", "example", "sample"];

fn user(content: ContentBlock) -> PromptMessage {
    PromptMessage::new(Role::User, content)
}

/// Every prompt, `test_simple_prompt` first.
pub(crate) fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new("test_simple_prompt")
            .description("A simple prompt without arguments")
            .handler(|_args, _: RequestContext| async {
                vec![PromptMessage::user_text(
                    "This is a simple prompt for testing.",
                )]
            }),
        Prompt::new("test_prompt_with_arguments")
            .description("A prompt with required arguments")
            .argument("arg1", "First test argument", true)
            .argument("arg2", "Second test argument", true)
            .complete("arg1", |prefix, _resolved, _: RequestContext| async move {
                complete(&prefix)
            })
            .complete("arg2", |prefix, _resolved, _: RequestContext| async move {
                complete(&prefix)
            })
            .handler(|args, _: RequestContext| async move {
                let arg = |name: &str| args.get(name).cloned().unwrap_or_default();
                vec![PromptMessage::user_text(format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    arg("arg1"),
                    arg("arg2")
                ))]
            }),
        Prompt::new("test_prompt_with_embedded_resource")
            .description("A prompt that embeds a resource")
            .argument("resourceUri", "URI of the resource to embed", true)
            .handler(|args, _: RequestContext| async move {
                let uri = args.get("resourceUri").cloned().unwrap_or_default();
                vec![
                    user(ContentBlock::embedded(ResourceContents::text(
                        uri,
                        "text/plain".to_owned(),
                        "Embedded resource content for testing.",
                    ))),
                    PromptMessage::user_text("Please process the embedded resource above."),
                ]
            }),
        Prompt::new("test_prompt_with_image")
            .description("A prompt that includes an image")
            .handler(|_args, _: RequestContext| async {
                vec![
                    user(ContentBlock::image(TEST_IMAGE_BASE64, "image/png")),
                    PromptMessage::user_text("Please analyze the image above."),
                ]
            }),
        Prompt::new("test_input_required_result_prompt")
            .description("MRTR: prompt that requires elicitation input")
            .handler(|_args, ctx: RequestContext| async move {
                let schema = json!({
                    "type": "object",
                    "properties": { "context": { "type": "string" } },
                    "required": ["context"]
                });
                let answer = elicit_form_keyed(
                    &ctx,
                    Some("user_context"),
                    "What context should the prompt use?",
                    schema,
                )
                .await?;
                let context = answer
                    .content
                    .as_ref()
                    .and_then(|c| c.get("context"))
                    .and_then(Value::as_str)
                    .unwrap_or("none")
                    .to_owned();
                Ok::<_, ErrorObject>(vec![PromptMessage::user_text(format!(
                    "Prompt with context: {context}"
                ))])
            }),
    ]
}

fn complete(prefix: &str) -> Vec<String> {
    SUGGESTIONS
        .iter()
        .filter(|value| value.starts_with(prefix))
        .map(|value| (*value).to_owned())
        .collect()
}
