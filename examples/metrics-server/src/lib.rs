//! The quickstart's tools served with telemetry: `TelemetryLayer` at the RPC tier,
//! `HttpTelemetryLayer` at the HTTP tier, sessions watched by `TelemetrySessionStore`, and a
//! Prometheus scrape at `/metrics` on the same listener as `/mcp`.
//!
//! ```text
//! every request → HttpTelemetryLayer (outermost: refusals are counted too)
//!   → HostOriginLayer (a foreign Host/Origin gets 403, /metrics included)
//!   GET /metrics  → ScrapeLayer (Prometheus text)
//!   *   /mcp      → SessionLayer(TelemetrySessionStore)
//!                     → StreamableHttp → BatchLayer → TelemetryLayer → AllowListLayer → Router
//!   other paths   → 404
//! ```
//!
//! The HTTP-tier metrics count every HTTP request, scrapes included (`GET` with status
//! `200`; a scrape shows the ones before it), and the Host/Origin check's refusals: a DNS
//! rebinding attempt shows as a `403`.
//!
//! `/metrics` names the server's tools and shows its traffic, and it has no authentication
//! here: Host/Origin validation keeps browsers on other sites (DNS rebinding) out, and the
//! listener is loopback. A server exposed further, or with `AuthLayer` on `/mcp`, should
//! serve the scrape on a listener of its own (or put its own auth in front of it).
//!
//! The binary and the tests build the same stack with [`app`]:
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let handle = mcp_telemetry::prometheus::install().map_err(std::io::Error::other)?;
//! let service = metrics_server::app::<hyper::body::Incoming, _>(metrics_server::router(), move || handle.render());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! mcp_tower::serve(listener, service).await
//! # }
//! ```

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::{Either, Ready, ready};
use http::{HeaderValue, Request, Response, StatusCode, header};
use mcp_core::Router;
use mcp_telemetry::{
    HttpTelemetryLayer, ScrapeLayer, TelemetryBody, TelemetryLayer, TelemetrySessionStore,
};
use mcp_tower::session::InMemorySessionStore;
use mcp_tower::{
    AllowListLayer, BatchLayer, HostOriginLayer, McpBody, SessionConfig, SessionLayer,
    StreamableHttpConfig, StreamableHttpLayer,
};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};

/// The MCP endpoint.
pub const MCP_PATH: &str = "/mcp";
/// The Prometheus scrape endpoint.
pub const METRICS_PATH: &str = "/metrics";

/// The quickstart's tools, resources and prompts (shared with the other examples).
pub fn router() -> Router {
    quickstart::router()
}

/// The response body of [`app`].
pub type AppBody = TelemetryBody<McpBody>;

/// The HTTP service of [`app`].
pub type App<B> = BoxCloneSyncService<Request<B>, Response<AppBody>, Infallible>;

/// The whole HTTP stack (see the crate docs); `render` produces the `/metrics` text. Call it
/// inside the Tokio runtime.
pub fn app<B, F>(router: Router, render: F) -> App<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::new())
        .layer(TelemetryLayer::for_router(&router))
        .layer(AllowListLayer::new())
        .service(router.clone());
    let store = TelemetrySessionStore::new(InMemorySessionStore::new(SessionConfig::default()));
    // The router's events (list changes, resource updates) reach sessions' streams and
    // `subscriptions/listen`, as its declared capabilities promise.
    let mcp = ServiceBuilder::new()
        .layer(SessionLayer::with_store(store).deliver_events_from(&router))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    let http = ServiceBuilder::new()
        .layer(HttpTelemetryLayer::new())
        .layer(HostOriginLayer::new())
        .layer(ScrapeLayer::new(METRICS_PATH, render))
        .service(OnlyPath { inner: mcp });
    BoxCloneSyncService::new(http)
}

/// Answers 404 outside [`MCP_PATH`].
#[derive(Clone)]
struct OnlyPath<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for OnlyPath<S>
where
    S: Service<Request<B>, Response = Response<McpBody>, Error = Infallible>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response<McpBody>, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() == MCP_PATH {
            return Either::Left(self.inner.call(request));
        }
        let body = Bytes::from_static(
            br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Not Found"}}"#,
        );
        let mut response = Response::new(McpBody::from(body));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Either::Right(ready(Ok(response)))
    }
}
