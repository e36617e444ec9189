//! # mcp-tower
//!
//! The Model Context Protocol over Streamable HTTP (and stdio), as composable tower layers
//! around the [`mcp_core::Router`] dispatch service.
//!
//! ```no_run
//! use mcp_core::{Json, RequestContext, Router, Tool};
//! use mcp_tower::McpServer;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Add { a: f64, b: f64 }
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let router = Router::builder()
//!     .name("calculator", "1.0.0")
//!     .tool(Tool::new("add").handler(|Json(x): Json<Add>, _: RequestContext| async move {
//!         (x.a + x.b).to_string()
//!     }))
//!     .build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! mcp_tower::serve(listener, McpServer::builder(router).into_http_service()).await
//! # }
//! ```

mod abandoned;
pub mod allow_list;
pub mod batch;
mod body;
mod cors;
mod counts;
mod endpoint;
mod error_body;
pub mod future;
mod host_origin;
mod log_every;

/// The longest grace a setting takes: past a year is for ever to a server, and durations far
/// longer overflow `Instant` arithmetic.
const LONGEST_GRACE: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);
mod panicked;
pub mod serve;
mod server;
pub mod session;
pub mod stdio;
pub mod streamable;
mod subscription;
mod timeout;

pub use allow_list::AllowListLayer;
pub use batch::BatchLayer;
pub use body::McpBody;
pub use cors::mcp_cors;
pub use endpoint::{Endpoint, EndpointLayer};
pub use future::ResponseFuture;
pub use host_origin::{HostOrigin, HostOriginLayer};
pub use serve::{ServeOptions, ServedService, serve, serve_with_options, serve_with_shutdown};
pub use server::{McpHttpService, McpServer, McpServerBuilder};
pub use session::{SessionConfig, SessionLayer};
pub use stdio::{StdioTransport, serve_io, serve_stdio};
pub use streamable::{ResponseMode, StreamableHttp, StreamableHttpConfig, StreamableHttpLayer};
pub use timeout::{RpcTimeout, RpcTimeoutFuture, RpcTimeoutLayer};
