//! [`EndpointLayer`]: the MCP endpoint answers on one path.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error_body::json_rpc_error_response;
use crate::future::ResponseFuture;

/// Restricts a service to one path: a request for any other path gets **404** (with a
/// JSON-RPC error body) and never reaches the service.
///
/// [`McpServer`](crate::McpServer) puts it outermost, on `/mcp` unless told otherwise; a
/// written-out stack should do the same, or MCP answers on every path. The query string does
/// not count.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use mcp_tower::EndpointLayer;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let service = ServiceBuilder::new()
///     .layer(EndpointLayer::new("/mcp"))
///     .service_fn(|_: http::Request<Full<Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
///     });
/// let status = |uri: &str| {
///     let request = http::Request::post(uri).body(Full::default()).unwrap();
///     let response = service.clone().oneshot(request);
///     async move { response.await.unwrap().status() }
/// };
/// assert_eq!(status("/mcp").await, 200);
/// assert_eq!(status("/mcp?session=1").await, 200);
/// assert_eq!(status("/").await, 404);
/// assert_eq!(status("/mcp/").await, 404);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EndpointLayer {
    path: Arc<str>,
}

impl EndpointLayer {
    /// Answers on `path` only (e.g. `/mcp`; `/` under axum's `nest_service`).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: Arc::from(path.into()),
        }
    }
}

impl<S> Layer<S> for EndpointLayer {
    type Service = Endpoint<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Endpoint {
            inner,
            path: Arc::clone(&self.path),
        }
    }
}

/// The service made by [`EndpointLayer`].
#[derive(Debug, Clone)]
pub struct Endpoint<S> {
    inner: S,
    path: Arc<str>,
}

impl<S, B, ResBody> Service<Request<B>> for Endpoint<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() != &*self.path {
            return ResponseFuture::answer_unread(
                &request,
                json_rpc_error_response(StatusCode::NOT_FOUND, -32600, "Not Found"),
            );
        }
        ResponseFuture::inner(self.inner.call(request))
    }
}
