//! # mcp-core
//!
//! The transport-free heart of mcp-tower: JSON-RPC 2.0 wire types, the Model Context Protocol
//! types of every supported version, the era rules ([`ProtocolVersion`]), the [`Router`]
//! dispatch service and the handler API ([`Tool`], [`Resource`], [`ResourceTemplate`],
//! [`Prompt`], [`RequestContext`]).
//!
//! ```
//! use mcp_core::{Json, RequestContext, Router, Tool};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Echo { message: String }
//!
//! let router = Router::builder()
//!     .name("echo-server", "1.0.0")
//!     .tool(Tool::new("echo").description("Echoes its input").handler(
//!         |Json(args): Json<Echo>, _ctx: RequestContext| async move { args.message },
//!     ))
//!     .build();
//! // `router` is a `tower::Service<McpRequest>`; mcp-tower serves it over HTTP or stdio.
//! # let _ = router;
//! ```

pub mod headers;
pub mod jsonrpc;
pub mod protocol;
pub mod scan;

mod context;
mod event;
mod handler;
mod input;
mod peer;
mod principal;
mod raw_json;
mod request;
mod router;
mod session;
mod tasks;
mod version;

pub use context::{DEFAULT_CLIENT_REQUEST_TIMEOUT, RequestContext, RequestContextBuilder};
pub use event::ServerEvent;
pub use handler::{
    BoxFuture, CompletionFn, Completions, IntoPromptResult, IntoReadResult, IntoToolResult, Json,
    MAX_COMPLETION_VALUES, Prompt, PromptBuilder, Resource, ResourceBuilder, ResourceTemplate,
    ResourceTemplateBuilder, TemplateMatch, Tool, ToolBuilder, ToolError, ToolFailure, UriTemplate,
    schema_of,
};
pub use input::{
    AskedInput, InputRound, MIN_REQUEST_STATE_KEY_BYTES, RequestStateSealer, RoundState, StateError,
};
pub use peer::{ClientPeer, Outbound, OutboundMessage};
pub use principal::{AllowList, Principal, peer_block};
pub use request::{FromStdio, HttpRefusal, McpRequest, McpResponse, RefusedAtRpcTier, RefusedBy};
pub use router::{CachePolicy, DEFAULT_PAGE_SIZE, Router, RouterBuilder, RouterFuture};
pub use session::{NoNotificationStream, Session, SessionHandle, StatelessTransport};
pub use tasks::TaskConfig;
pub use tokio_util::sync::CancellationToken;
pub use version::{Era, ProtocolVersion, ServedEras, UnsupportedVersion};
