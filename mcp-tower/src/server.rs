//! [`McpServer`]: the default stack, assembled in one documented place.
//!
//! ```text
//! HostOriginLayer → SessionLayer (unless stateless) → StreamableHttp
//!   → BatchLayer → AllowListLayer → Router
//! ```
//!
//! The same stack written out with a `tower::ServiceBuilder` is in the README; use that form
//! to reorder layers or insert your own.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use mcp_core::Router;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_service::Service;

use crate::allow_list::AllowListLayer;
use crate::batch::BatchLayer;
use crate::body::McpBody;
use crate::error_body::json_rpc_error_response;
use crate::host_origin::HostOriginLayer;
use crate::session::{SessionConfig, SessionLayer, SessionStore};
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
        let bridge = StreamableHttpLayer::new(http_config);
        let sessions = self.sessions.map(SessionLayer::new);
        if let Some(sessions) = &sessions {
            spawn_fan_out(&self.router, Arc::clone(sessions.store()));
        }
        let http = ServiceBuilder::new()
            .layer(self.host_origin)
            .option_layer(sessions)
            .layer(bridge)
            .service(rpc);
        BoxCloneSyncService::new(Endpoint {
            path: Arc::from(self.path),
            inner: http,
        })
    }
}

/// Delivers router events to the GET streams of the sessions that should see them.
fn spawn_fan_out(router: &Router, store: Arc<dyn SessionStore>) {
    if tokio::runtime::Handle::try_current().is_err() {
        tracing::warn!("no Tokio runtime: list changes will not reach session streams");
        return;
    }
    let mut events = router.events();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "session streams missed server events");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let bytes = Bytes::from(event.to_json());
            store.for_each(&mut |session| {
                if !event.is_wanted_by(&**session) {
                    return;
                }
                if let Some(stream) = session.stream_sender() {
                    // A full stream means a stalled client: drop rather than grow.
                    if stream.try_send(bytes.clone()).is_err() {
                        tracing::debug!("session stream full; notification dropped");
                    }
                }
            });
        }
    });
}

/// Answers only on the endpoint path.
#[derive(Clone)]
struct Endpoint<S> {
    path: Arc<str>,
    inner: S,
}

impl<S, B> Service<Request<B>> for Endpoint<S>
where
    S: Service<Request<B>, Response = Response<McpBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<McpBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() != &*self.path {
            let response = json_rpc_error_response(StatusCode::NOT_FOUND, -32600, "Not Found");
            return Box::pin(std::future::ready(Ok(response)));
        }
        Box::pin(self.inner.call(request))
    }
}
