//! [`McpServer`]: the default stack, assembled in one documented place.
//!
//! ```text
//! EndpointLayer → [CORS, when browser origins are allowed] → HostOriginLayer
//!   → SessionLayer (unless stateless) → StreamableHttp → BatchLayer → AllowListLayer
//!   → [RpcTimeoutLayer, with a request timeout] → Router
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
use crate::cors::mcp_cors;
use crate::endpoint::EndpointLayer;
use crate::host_origin::HostOriginLayer;
use crate::session::{SessionConfig, SessionLayer};
use crate::streamable::{StreamableHttpConfig, StreamableHttpLayer};
use crate::timeout::RpcTimeoutLayer;

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
            timeout: None,
            browser_origins: Vec::new(),
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
    timeout: Option<RpcTimeoutLayer>,
    browser_origins: Vec<String>,
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

    /// No sessions at all: every legacy request stands alone (one switch). Legacy clients
    /// are then offered only what lives within one request (see
    /// [`StatelessTransport`](mcp_core::StatelessTransport)): no list changes or resource
    /// subscriptions, `logging/setLevel` refused with -32603 and `resources/subscribe` with
    /// -32601, and no `tasks/list` for anonymous clients.
    pub fn stateless(mut self) -> Self {
        self.sessions = None;
        self
    }

    /// The Host/Origin check (loopback by default).
    pub fn host_origin(mut self, layer: HostOriginLayer) -> Self {
        self.host_origin = layer;
        self
    }

    /// Lets MCP clients running in pages of `origin` (e.g. `https://app.example.com`) use the
    /// server: the origin passes the Host/Origin check (whatever layer
    /// [`host_origin`](Self::host_origin) sets), and [`mcp_cors`](crate::mcp_cors) answers its
    /// preflight requests and lets its scripts read the answers. Without it, a browser page
    /// on another origin (another port of `localhost` included) cannot use the server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_tower::{McpBody, McpServer};
    /// use tower::ServiceExt;
    ///
    /// let service = McpServer::builder(mcp_core::Router::builder().build())
    ///     .allow_browser_origin("https://app.example.com")
    ///     .into_http_service::<McpBody>();
    /// let preflight = http::Request::options("http://mcp.example.com/mcp")
    ///     .header("origin", "https://app.example.com")
    ///     .header("access-control-request-method", "POST")
    ///     .body(McpBody::empty())
    ///     .unwrap();
    /// let answer = service.oneshot(preflight).await.unwrap();
    /// assert_eq!(answer.status(), 200);
    /// assert_eq!(answer.headers()["access-control-allow-origin"], "https://app.example.com");
    /// # }
    /// ```
    pub fn allow_browser_origin(mut self, origin: impl Into<String>) -> Self {
        self.browser_origins.push(origin.into());
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

    /// Answers a request still running after `timeout` with -32000 and drops its handler
    /// (default: no timeout); see [`RpcTimeoutLayer`], which `tasks/result` and
    /// `subscriptions/listen` pass untimed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    ///
    /// let router = mcp_core::Router::builder().build();
    /// let service = mcp_tower::McpServer::builder(router)
    ///     .request_timeout(Duration::from_secs(120))
    ///     .into_http_service::<hyper::body::Incoming>();
    /// # let _ = service;
    /// # }
    /// ```
    pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(RpcTimeoutLayer::new(timeout));
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
            .option_layer(self.timeout)
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
        let host_origin = self
            .browser_origins
            .iter()
            .fold(self.host_origin, |layer, origin| layer.allow_origin(origin));
        // Outside the Host/Origin check: a preflight is answered whatever its Host.
        let cors = (!self.browser_origins.is_empty()).then(|| mcp_cors(&self.browser_origins));
        let http = ServiceBuilder::new()
            .option_layer(cors)
            .layer(host_origin)
            .option_layer(sessions)
            .layer(bridge)
            .service(rpc);
        BoxCloneSyncService::new(EndpointLayer::new(self.path).layer(http))
    }
}
