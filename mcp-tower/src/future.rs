//! The response future shared by the HTTP-tier layers that either answer a request
//! themselves (a refusal, a 404) or pass it to the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`HostOrigin`](crate::HostOrigin),
    /// [`SessionService`](crate::session::SessionService) and
    /// [`Endpoint`](crate::Endpoint): the inner service's future, or an answer made by the
    /// layer.
    pub struct ResponseFuture<F, ResBody> {
        #[pin]
        inner: Option<F>,
        answer: Option<Response<ResBody>>,
    }
}

impl<F, ResBody> ResponseFuture<F, ResBody> {
    /// Waits for the inner service.
    pub(crate) fn inner(future: F) -> Self {
        Self {
            inner: Some(future),
            answer: None,
        }
    }

    /// Answers `request` without the inner service, its body unread (so the connection
    /// closes after the answer when a body was announced: see
    /// [`close_if_body_unread`](mcp_core::headers::close_if_body_unread)).
    pub(crate) fn answer_unread<B>(request: &Request<B>, mut response: Response<ResBody>) -> Self {
        mcp_core::headers::close_if_body_unread(
            request.version(),
            request.headers(),
            response.headers_mut(),
        );
        Self {
            inner: None,
            answer: Some(response),
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.as_pin_mut() {
            Some(future) => future.poll(cx),
            None => Poll::Ready(Ok(this.answer.take().expect("polled after completion"))),
        }
    }
}
