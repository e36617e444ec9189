//! One clone of the service per connection, reused by each of its requests.
//!
//! hyper-util's `TowerToHyperService` (and `oneshot` on a clone, as `serve` did) clones the
//! whole tower stack for every request and drops it when the response is ready. For a stack
//! of layers holding `Arc`s that is an allocation (the boxed service) and a dozen atomic
//! increments and decrements per request, on counters every connection shares, so their cache
//! lines move between cores. A connection here keeps one clone: a request takes it, readies
//! it, calls it, and puts it back as soon as the call is made (the response future does not
//! borrow the service), so the next request on the connection finds it. Only requests that
//! overlap on one connection (HTTP/2) clone again.
//!
//! Each request is counted in flight on its connection until its response body is done, for
//! the idle sweep ([`idle`](super::idle)); a response that opens a long-lived stream leaves
//! what ends it with the connection, for shutdown ([`streams`](super::streams)).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::idle::{Activity, CountedBody, InFlight};

/// The hyper service of one connection.
pub(crate) struct ConnectionService<S> {
    /// What a request clones when the connection's clone is in use.
    template: S,
    /// The connection's clone, when no request holds it.
    spare: Arc<Mutex<Option<S>>>,
    remote: SocketAddr,
    activity: Arc<Activity>,
}

impl<S: Clone> ConnectionService<S> {
    pub(crate) fn new(service: &S, remote: SocketAddr, activity: Arc<Activity>) -> Self {
        Self {
            template: service.clone(),
            spare: Arc::new(Mutex::new(Some(service.clone()))),
            remote,
            activity,
        }
    }
}

impl<S, B, ResBody> hyper::service::Service<Request<B>> for ConnectionService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<CountedBody<ResBody>>;
    type Error = S::Error;
    type Future = Reused<S, B>;

    fn call(&self, mut request: Request<B>) -> Self::Future {
        let mut in_flight = self.activity.start();
        if request.version() == http::Version::HTTP_2 {
            in_flight.watch_frames();
        }
        // The peer address rides along for per-IP limits and logs.
        request.extensions_mut().insert(self.remote);
        let service = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| self.template.clone());
        Reused {
            state: State::Readying {
                service: Some(service),
                request: Some(request),
            },
            spare: Arc::clone(&self.spare),
            in_flight: Some(in_flight),
        }
    }
}

pin_project! {
    /// Readies the service, calls it, returns it to its connection, then answers.
    pub(crate) struct Reused<S: Service<Request<B>>, B> {
        #[pin]
        state: State<S, B>,
        spare: Arc<Mutex<Option<S>>>,
        // Moves into the response body; dropped with the future when there is none.
        in_flight: Option<InFlight>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Request<B>>, B> {
        Readying { service: Option<S>, request: Option<Request<B>> },
        Called { #[pin] future: S::Future },
    }
}

impl<S, B, ResBody> Future for Reused<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<CountedBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Readying { service, request } => {
                    let ready_service = service.as_mut().expect("polled after the call");
                    ready!(ready_service.poll_ready(cx))?;
                    let mut called = service.take().expect("polled after the call");
                    let future = called.call(request.take().expect("called once"));
                    let mut spare = this.spare.lock().unwrap_or_else(PoisonError::into_inner);
                    if spare.is_none() {
                        *spare = Some(called);
                    }
                    drop(spare);
                    this.state.set(State::Called { future });
                }
                StateProj::Called { future } => {
                    let mut response = ready!(future.poll(cx))?;
                    let in_flight = this.in_flight.take();
                    if let Some(in_flight) = &in_flight {
                        // A long-lived stream's response hands over what ends it at shutdown.
                        super::streams::adopt(&mut response, in_flight.activity().streams());
                    }
                    return Poll::Ready(Ok(response.map(|body| CountedBody::new(body, in_flight))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::service::Service as _;

    use super::*;

    /// Counts its clones and answers with its readiness count.
    struct Counting {
        clones: Arc<AtomicUsize>,
        readied: usize,
    }

    impl Clone for Counting {
        fn clone(&self) -> Self {
            self.clones.fetch_add(1, Ordering::SeqCst);
            Self {
                clones: Arc::clone(&self.clones),
                readied: 0,
            }
        }
    }

    impl Service<Request<()>> for Counting {
        type Response = Response<usize>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<usize>, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.readied += 1;
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: Request<()>) -> Self::Future {
            std::future::ready(Ok(Response::new(self.readied)))
        }
    }

    /// A connection of a [`Counting`] service, its clone count and its activity.
    fn counting_connection() -> (ConnectionService<Counting>, Arc<AtomicUsize>, Arc<Activity>) {
        let clones = Arc::new(AtomicUsize::new(0));
        let service = Counting {
            clones: Arc::clone(&clones),
            readied: 0,
        };
        let activity = Arc::<Activity>::default();
        let connection = ConnectionService::new(
            &service,
            "127.0.0.1:1".parse().unwrap(),
            Arc::clone(&activity),
        );
        (connection, clones, activity)
    }

    /// The readiness count a [`Counting`] connection answered.
    async fn readied(future: Reused<Counting, ()>) -> usize {
        *future.await.unwrap().body().get_ref()
    }

    #[tokio::test]
    async fn sequential_requests_reuse_the_connection_clone() {
        let (connection, clones, _) = counting_connection();
        assert_eq!(clones.load(Ordering::SeqCst), 2);
        for expected in 1..=3 {
            // The same instance is readied again before each call.
            assert_eq!(readied(connection.call(Request::new(()))).await, expected);
        }
        assert_eq!(clones.load(Ordering::SeqCst), 2, "no clone per request");
    }

    #[tokio::test]
    async fn a_request_is_in_flight_until_its_response_body_is_dropped() {
        let (connection, _, activity) = counting_connection();
        let future = connection.call(Request::new(()));
        assert_eq!(activity.in_flight(), 1);
        let response = future.await.unwrap();
        assert_eq!(activity.in_flight(), 1, "the body is still to be written");
        drop(response);
        assert_eq!(activity.in_flight(), 0);
        drop(connection.call(Request::new(())));
        assert_eq!(activity.in_flight(), 0, "a dropped call is not in flight");
    }

    #[tokio::test]
    async fn a_stream_response_leaves_its_end_with_the_connection() {
        use tokio_util::sync::CancellationToken;

        use super::super::streams::EndStream;

        let token = CancellationToken::new();
        let end = token.clone();
        let service = tower::service_fn(move |_request: Request<()>| {
            let mut response = Response::new(());
            response.extensions_mut().insert(EndStream(end.clone()));
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let activity = Arc::<Activity>::default();
        let connection = ConnectionService::new(
            &service,
            "127.0.0.1:1".parse().unwrap(),
            Arc::clone(&activity),
        );
        let response = connection.call(Request::new(())).await.unwrap();
        assert!(response.extensions().get::<EndStream>().is_none());
        assert_eq!(activity.streams().len(), 1);
        activity.streams().end();
        assert!(token.is_cancelled());
    }

    #[tokio::test]
    async fn overlapping_requests_clone_and_the_address_rides_along() {
        let (connection, clones, _) = counting_connection();
        // Both taken before either is polled: the second finds no spare.
        let first = connection.call(Request::new(()));
        let second = connection.call(Request::new(()));
        assert_eq!(clones.load(Ordering::SeqCst), 3);
        assert_eq!(readied(first).await, 1);
        assert_eq!(readied(second).await, 1);

        let seen = Arc::new(Mutex::new(None));
        let recorded = Arc::clone(&seen);
        let service = tower::service_fn(move |request: Request<()>| {
            *recorded.lock().unwrap() = request.extensions().get::<SocketAddr>().copied();
            std::future::ready(Ok::<_, Infallible>(Response::new(())))
        });
        let connection =
            ConnectionService::new(&service, "127.0.0.1:7".parse().unwrap(), Arc::default());
        connection.call(Request::new(())).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), Some("127.0.0.1:7".parse().unwrap()));
    }
}
