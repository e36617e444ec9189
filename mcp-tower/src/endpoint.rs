//! [`EndpointLayer`]: the MCP endpoint answers on one path; anything else is 404.
//!
//! ```
//! use mcp_tower::EndpointLayer;
//!
//! // In a written-out stack, as the outermost layer.
//! let layer = EndpointLayer::new("/mcp");
//! # let _ = layer;
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error_body::json_rpc_error_response;
use crate::future::ResponseFuture;

/// Restricts a service to one path.
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
            return ResponseFuture::answer(json_rpc_error_response(
                StatusCode::NOT_FOUND,
                -32600,
                "Not Found",
            ));
        }
        ResponseFuture::inner(self.inner.call(request))
    }
}
