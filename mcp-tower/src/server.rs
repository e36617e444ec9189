//! [`McpServer`]: the default stack, assembled in one documented place.
//!
//! ```text
//! EndpointLayer → HostOriginLayer → SessionLayer (unless stateless) → StreamableHttp
//!   → BatchLayer → AllowListLayer → Router
//! ```
//!
//! The same stack written out with a `tower::ServiceBuilder` is in the README; use that form
//! to reorder layers or insert your own.

use std::convert::Infallible;

use http::{Request, Response};
use mcp_core::{Router, ServedEras};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;

use crate::allow_list::AllowListLayer;
use crate::batch::BatchLayer;
use crate::body::McpBody;
use crate::endpoint::EndpointLayer;
use crate::host_origin::HostOriginLayer;
use crate::session::{SessionConfig, SessionLayer};
use crate::streamable::{StreamableHttpConfig, StreamableHttpLayer};

/// The HTTP service [`McpServerBuilder::into_http_service`] returns.
pub type McpHttpService<B> = BoxCloneSyncService<Request<B>, Response<McpBody>, Infallible>;

/// Entry point of the default stack.
#[derive(Debug, Clone, Copy)]
pub struct McpServer;

impl McpServer {
    /// Starts a server around `router`: loopback Host/Origin check, sessions in memory,
    /// both spec eras, endpoint `/mcp`.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// let router = mcp_core::Router::builder().name("demo", "1.0.0").build();
    /// let service = mcp_tower::McpServer::builder(router).into_http_service();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// mcp_tower::serve(listener, service).await
    /// # }
    /// ```
    pub fn builder(router: Router) -> McpServerBuilder {
        McpServerBuilder {
            router,
            path: "/mcp".to_owned(),
            http: StreamableHttpConfig::default(),
            sessions: Some(SessionConfig::default()),
            host_origin: HostOriginLayer::new(),
            batch: BatchLayer::default(),
            allow_list: AllowListLayer::new(),
        }
    }
}

/// Configures the default stack.
#[derive(Debug)]
pub struct McpServerBuilder {
    router: Router,
    path: String,
    http: StreamableHttpConfig,
    sessions: Option<SessionConfig>,
    host_origin: HostOriginLayer,
    batch: BatchLayer,
    allow_list: AllowListLayer,
}

impl McpServerBuilder {
    /// The endpoint path (default `/mcp`); other paths get 404.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Settings of the Streamable HTTP bridge.
    pub fn http_config(mut self, config: StreamableHttpConfig) -> Self {
        self.http = config;
        self
    }

    /// Session limits (legacy era).
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = Some(config);
        self
    }

    /// No sessions at all: every legacy request stands alone (one switch).
    pub fn stateless(mut self) -> Self {
        self.sessions = None;
        self
    }

    /// The Host/Origin check (loopback by default).
    pub fn host_origin(mut self, layer: HostOriginLayer) -> Self {
        self.host_origin = layer;
        self
    }

    /// The batch layer (maximum batch size).
    pub fn batch(mut self, layer: BatchLayer) -> Self {
        self.batch = layer;
        self
    }

    /// The allow-list layer (how a principal's visible tools are chosen).
    pub fn allow_list(mut self, layer: AllowListLayer) -> Self {
        self.allow_list = layer;
        self
    }

    /// Builds the HTTP service. Call it inside the Tokio runtime: it starts the task that
    /// delivers list changes and resource updates to session streams.
    pub fn into_http_service<B>(self) -> McpHttpService<B>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let rpc = ServiceBuilder::new()
            .layer(self.batch)
            .layer(self.allow_list)
            .service(self.router.clone());
        let http_config = match self.http.events {
            Some(_) => self.http,
            None => self.http.events_from(&self.router),
        };
        // The session layer answers DELETE itself: it must refuse what the bridge refuses.
        let served = ServedEras {
            legacy: http_config.legacy,
            modern: http_config.modern,
        };
        let bridge = StreamableHttpLayer::new(http_config);
        let sessions = self.sessions.map(|config| {
            SessionLayer::new(config)
                .served_eras(served)
                .deliver_events_from(&self.router)
        });
        let http = ServiceBuilder::new()
            .layer(self.host_origin)
            .option_layer(sessions)
            .layer(bridge)
            .service(rpc);
        BoxCloneSyncService::new(EndpointLayer::new(self.path).layer(http))
    }
}
