//! The response future of the [`Router`](super::Router).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::request::McpResponse;

/// The response future of [`Router`](super::Router): the answer itself for methods that run no handler,
/// else the handler's call, boxed.
pub struct RouterFuture {
    kind: RouterFutureKind,
}

enum RouterFutureKind {
    Ready(Option<McpResponse>),
    Pending(Pin<Box<dyn Future<Output = Result<McpResponse, Infallible>> + Send>>),
}

impl RouterFuture {
    pub(crate) fn ready(response: McpResponse) -> Self {
        Self {
            kind: RouterFutureKind::Ready(Some(response)),
        }
    }

    pub(crate) fn pending(
        future: impl Future<Output = Result<McpResponse, Infallible>> + Send + 'static,
    ) -> Self {
        Self {
            kind: RouterFutureKind::Pending(Box::pin(future)),
        }
    }
}

impl std::fmt::Debug for RouterFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterFuture")
    }
}

impl Future for RouterFuture {
    type Output = Result<McpResponse, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            RouterFutureKind::Ready(response) => Poll::Ready(Ok(response
                .take()
                .expect("RouterFuture polled after completion"))),
            RouterFutureKind::Pending(future) => future.as_mut().poll(cx),
        }
    }
}
