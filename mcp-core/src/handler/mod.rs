//! The handler API: tools, resources, resource templates, prompts and completions, built with
//! builders and registered on a [`Router`](crate::Router).

pub(crate) mod completion;
mod prompt;
mod resource;
mod schema;
mod serde_checked;
mod tool;
mod uri_template;

use std::future::Future;
use std::pin::Pin;

pub use completion::{CompletionFn, Completions, MAX_COMPLETION_VALUES};
pub use prompt::{Prompt, PromptBuilder};
pub use resource::{
    IntoReadResult, Resource, ResourceBuilder, ResourceTemplate, ResourceTemplateBuilder,
    TemplateMatch,
};
pub use schema::schema_of;
pub use tool::{IntoToolResult, Tool, ToolBuilder, ToolError, ToolFailure};
pub use uri_template::UriTemplate;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Typed JSON: as a handler argument, the arguments deserialised into `T` (schema derived from
/// `T`); as a tool's return value, structured content (mirrored as a text block).
///
/// ```
/// use mcp_core::{Json, RequestContext, Tool};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Query { city: String }
/// #[derive(serde::Serialize)]
/// struct Weather { celsius: f64 }
///
/// let tool = Tool::new("weather")
///     .output_schema(serde_json::json!({"type": "object", "properties": {"celsius": {"type": "number"}}}))
///     .handler(|Json(q): Json<Query>, _ctx: RequestContext| async move {
///         let _ = q.city;
///         Json(Weather { celsius: 21.5 })
///     });
/// # let _ = tool;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);
