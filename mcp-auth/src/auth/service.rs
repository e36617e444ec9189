use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use crate::authenticate::Authenticate;

/// Authenticates every request with an [`Authenticate`] before calling the inner service.
///
/// Built by [`AuthLayer`](super::AuthLayer). The principal is inserted into the request
/// extensions; rejections are answered with `ResBody::from(bytes)`.
pub struct Auth<S, A> {
    inner: S,
    authenticator: Arc<A>,
}

impl<S, A> Auth<S, A> {
    /// Wraps `inner`.
    pub fn new(inner: S, authenticator: A) -> Self {
        Self::from_arc(inner, Arc::new(authenticator))
    }

    pub(crate) fn from_arc(inner: S, authenticator: Arc<A>) -> Self {
        Self {
            inner,
            authenticator,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &A {
        &self.authenticator
    }
}

impl<S: Clone, A> Clone for Auth<S, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            authenticator: Arc::clone(&self.authenticator),
        }
    }
}

impl<S: fmt::Debug, A> fmt::Debug for Auth<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("inner", &self.inner)
            .field("authenticator", &std::any::type_name::<A>())
            .finish()
    }
}

impl<S, A, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S, A>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    A: Authenticate,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        match self.authenticator.authenticate_now(&parts) {
            Some(Ok(principal)) => {
                parts.extensions.insert(principal);
                // Decided at once: the ready inner service takes the request now.
                return ResponseFuture::calling(self.inner.call(Request::from_parts(parts, body)));
            }
            Some(Err(rejection)) => return ResponseFuture::rejected(rejection, &parts),
            None => {}
        }
        // The ready inner service goes with the future (a fresh clone stays behind for the
        // next poll_ready), as tower's docs recommend.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = Arc::clone(&self.authenticator);
        // Boxed because the authenticator's future borrows the parts it is given, and the
        // future must own them; one allocation per request.
        let authenticating = Box::pin(async move {
            let outcome = authenticator.authenticate(&parts).await;
            (outcome, parts)
        });
        ResponseFuture::new(authenticating, body, inner)
    }
}
