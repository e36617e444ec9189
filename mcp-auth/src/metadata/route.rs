use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::MetadataService;

/// Answers the RFC 9728 metadata paths with a [`MetadataService`] and passes every other
/// request to the inner service. Put it outside [`AuthLayer`](crate::AuthLayer) so the
/// metadata needs no token. See the [module docs](crate::metadata) for an example.
#[derive(Debug, Clone)]
pub struct MetadataLayer {
    metadata: MetadataService,
}

impl MetadataLayer {
    /// A layer serving `metadata`.
    pub fn new(metadata: MetadataService) -> Self {
        Self { metadata }
    }
}

impl<S> Layer<S> for MetadataLayer {
    type Service = WithMetadata<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithMetadata::new(inner, self.metadata.clone())
    }
}

/// The service built by [`MetadataLayer`].
#[derive(Debug, Clone)]
pub struct WithMetadata<S> {
    inner: S,
    metadata: MetadataService,
}

impl<S> WithMetadata<S> {
    /// Routes metadata requests to `metadata`, the rest to `inner`.
    pub fn new(inner: S, metadata: MetadataService) -> Self {
        Self { inner, metadata }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WithMetadata<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RouteFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if self.metadata.matches(request.uri().path()) {
            let response = self
                .metadata
                .respond(request.method(), request.uri().path());
            return RouteFuture {
                kind: Kind::Metadata {
                    response: Some(response),
                },
            };
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        RouteFuture {
            kind: Kind::Inner {
                future: inner.call(request),
            },
        }
    }
}

pin_project! {
    /// Response future of [`WithMetadata`].
    pub struct RouteFuture<F, ResBody> {
        #[pin]
        kind: Kind<F, ResBody>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, ResBody> {
        Metadata { response: Option<Response<ResBody>> },
        Inner { #[pin] future: F },
    }
}

impl<F, ResBody, E> Future for RouteFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Metadata { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after completion: stay pending rather than panic.
                None => Poll::Pending,
            },
            KindProj::Inner { future } => future.poll(cx),
        }
    }
}

impl<F, ResBody> fmt::Debug for RouteFuture<F, ResBody> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteFuture").finish_non_exhaustive()
    }
}
