//! The response future shared by the HTTP-tier layers that either answer a request
//! themselves (a refusal, a 404) or pass it to the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
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

    /// Answers without the inner service.
    pub(crate) fn answer(response: Response<ResBody>) -> Self {
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
