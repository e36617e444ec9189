//! MCP protocol types: one superset type per schema definition, covering every supported
//! protocol version (2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28).
//!
//! Type names follow the official schema's definition names. Fields that exist only in later
//! versions are `Option`s and are left out of the JSON when `None`, so a value built for an
//! older version serialises without them. The modern era's result fields (`resultType`,
//! `ttlMs`, `cacheScope`, `_meta` server info) are optional here too: the server adds them
//! when it writes a modern-era response.
//!
//! ```
//! use mcp_core::protocol::{CallToolResult, ContentBlock};
//!
//! let result = CallToolResult::new(vec![ContentBlock::text("hello")]);
//! let json = serde_json::to_value(&result).unwrap();
//! assert_eq!(json, serde_json::json!({"content": [{"type": "text", "text": "hello"}]}));
//! ```

mod capabilities;
mod common;
mod completion;
mod content;
mod elicitation;
mod lifecycle;
mod logging;
pub mod methods;
mod modern;
mod notifications;
mod prompts;
mod resources;
mod roots;
mod sampling;
mod tasks;
mod tools;

pub use capabilities::*;
pub use common::{
    Annotations, Cursor, EmptyResult, Icon, IconTheme, Icons, Implementation, JsonObject, Meta,
    PaginatedRequestParams, ProgressToken, RequestMetaExt, RequestParams, Role,
};
pub use completion::*;
pub use content::*;
pub use elicitation::*;
pub use lifecycle::*;
pub use logging::*;
pub use modern::*;
pub use notifications::*;
pub use prompts::*;
pub use resources::*;
pub use roots::*;
pub use sampling::*;
pub use tasks::*;
pub use tools::*;
