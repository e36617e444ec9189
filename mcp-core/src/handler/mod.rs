//! The handler API: tools, resources, resource templates, prompts and completions, built with
//! builders and registered on a [`Router`](crate::Router).

pub(crate) mod completion;
mod header_params;
mod integral;
mod prompt;
mod resource;
mod schema;
mod serde_checked;
mod tool;
mod tool_result;
mod uri_template;
mod violations;

use std::future::Future;
use std::pin::Pin;

pub use completion::{CompletionFn, Completions, MAX_COMPLETION_VALUES};
pub use prompt::{IntoPromptResult, Prompt, PromptBuilder};
pub use resource::{
    IntoReadResult, Resource, ResourceBuilder, ResourceTemplate, ResourceTemplateBuilder,
    TemplateMatch,
};
pub use schema::schema_of;
pub use tool::{Tool, ToolBuilder};
pub use tool_result::{IntoToolResult, ToolError, ToolFailure};
pub use uri_template::UriTemplate;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Typed JSON: as a handler argument, the arguments deserialised into `T` (schema derived from
/// `T`); as a tool's return value, structured content (mirrored as a text block).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::{Json, McpRequest, ProtocolVersion, RequestContext, Router, Tool};
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Query { city: String }
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Weather { city: String, celsius: f64 }
///
/// let tool = Tool::new("weather")
///     .output_schema_of::<Weather>()
///     .handler(|Json(q): Json<Query>, _ctx: RequestContext| async move {
///         Json(Weather { city: q.city, celsius: 21.5 })
///     });
/// let router = Router::builder().tool(tool).build();
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":{"city":"Oslo"}}}"#;
/// let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// let response = router.oneshot(request).await.unwrap();
/// let answer: serde_json::Value = serde_json::from_slice(&response.to_vec()).unwrap();
/// let result = &answer["result"];
/// assert_eq!(result["structuredContent"], serde_json::json!({"city": "Oslo", "celsius": 21.5}));
/// // The same value as text, for clients that read only `content`.
/// let text = result["content"][0]["text"].as_str().unwrap();
/// assert_eq!(serde_json::from_str::<serde_json::Value>(text).unwrap(), result["structuredContent"]);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);
