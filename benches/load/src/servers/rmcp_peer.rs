//! The peer: rmcp 3.x (the official Rust SDK) with the same two tools and the about
//! resource, mounted as its documentation shows (`StreamableHttpService` nested in an axum
//! router, `axum::serve`), at its best: the tool router built once and shared, `TCP_NODELAY`
//! on, JSON answers in stateless mode.

use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use tokio::net::TcpListener;

use crate::proto::{ABOUT_TEXT, ABOUT_URI};
use crate::scenario::Variant;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// What to say back.
    message: String,
}

/// The handler; cloned per session (or per request when stateless), so the router is shared.
#[derive(Clone)]
struct Calculator {
    tool_router: Arc<ToolRouter<Self>>,
}

#[tool_router]
impl Calculator {
    #[tool(description = "Adds two numbers")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "Echoes the message back")]
    fn echo(&self, Parameters(EchoArgs { message }): Parameters<EchoArgs>) -> String {
        message
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Calculator {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_instructions("A calculator and an echo, to try rmcp.")
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let about = Resource::new(ABOUT_URI, "about").with_mime_type("text/plain");
        Ok(ListResourcesResult::with_all_items(vec![about]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != ABOUT_URI {
            return Err(ErrorData::resource_not_found("unknown resource", None));
        }
        Ok(ReadResourceResult::new(vec![ResourceContents::text(ABOUT_TEXT, ABOUT_URI)]).into())
    }
}

pub(crate) async fn serve(listener: TcpListener, variant: Variant) -> std::io::Result<()> {
    let calculator = Calculator {
        tool_router: Arc::new(Calculator::tool_router()),
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(variant == Variant::Sessions)
        .with_json_response(variant == Variant::Stateless);
    let service: StreamableHttpService<Calculator, LocalSessionManager> =
        StreamableHttpService::new(
            move || Ok(calculator.clone()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
    let app = axum::Router::new().nest_service("/mcp", service);
    super::announce(listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
