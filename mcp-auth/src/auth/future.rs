use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use mcp_core::Principal;
use mcp_core::headers::announces_http1_body;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::rejection::Rejection;

pub(super) type Authenticating =
    Pin<Box<dyn Future<Output = (Result<Principal, Rejection>, Parts)> + Send>>;

pin_project! {
    /// Response future of [`Auth`](super::Auth): first the authentication, then the inner
    /// service's call (or the rejection).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Authenticating {
            authenticating: Authenticating,
            // Taken when authentication succeeds, which is also when this state is left.
            rest: Option<(ReqBody, S)>,
        },
        Calling {
            #[pin]
            future: S::Future,
        },
        // Refused without waiting; taken when answered. `close`: the request's body,
        // announced, is left unread.
        Rejected {
            rejection: Option<Rejection>,
            close: bool,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(super) fn new(authenticating: Authenticating, body: ReqBody, inner: S) -> Self {
        Self {
            state: State::Authenticating {
                authenticating,
                rest: Some((body, inner)),
            },
        }
    }

    /// Authenticated without waiting: the inner service's call.
    pub(super) fn calling(future: S::Future) -> Self {
        Self {
            state: State::Calling { future },
        }
    }

    /// Refused without waiting, the request's body unread.
    pub(super) fn rejected(rejection: Rejection, request: &Parts) -> Self {
        Self {
            state: State::Rejected {
                rejection: Some(rejection),
                close: announces_http1_body(request.version, &request.headers),
            },
        }
    }
}

/// The answer to a refused request; `close` when it leaves an announced body unread (see
/// [`close_if_body_unread`](mcp_core::headers::close_if_body_unread)).
fn refuse<ResBody: From<Bytes>>(rejection: Rejection, close: bool) -> Response<ResBody> {
    tracing::debug!(
        status = %rejection.status(),
        message = rejection.message(),
        "request rejected"
    );
    let mut response = rejection.into_response();
    if close {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Authenticating {
                    authenticating,
                    rest,
                } => {
                    let (outcome, mut parts) = ready!(authenticating.as_mut().poll(cx));
                    let principal = match outcome {
                        Ok(principal) => principal,
                        Err(rejection) => {
                            let close = announces_http1_body(parts.version, &parts.headers);
                            return Poll::Ready(Ok(refuse(rejection, close)));
                        }
                    };
                    // Always Some: it is taken only here, right before the state changes.
                    let Some((body, mut inner)) = rest.take() else {
                        return Poll::Pending;
                    };
                    parts.extensions.insert(principal);
                    let future = inner.call(Request::from_parts(parts, body));
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => return future.poll(cx),
                StateProj::Rejected { rejection, close } => {
                    let rejection = rejection.take().expect("polled after completion");
                    return Poll::Ready(Ok(refuse(rejection, *close)));
                }
            }
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
