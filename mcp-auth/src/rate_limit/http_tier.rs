//! [`RateLimitLayer`]: one token per HTTP request; 429 + `Retry-After` over the limit.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::limiter::{Limiter, SharedLimiter, ceil_secs};
use super::{DEFAULT_MAX_KEYS, Quota, hashed_key, rate_limited};

/// Limits HTTP requests per caller; see the [module docs](super) for the keys and an
/// example.
///
/// Cheap to clone; clones (and every service they make) share the buckets.
#[derive(Clone)]
pub struct RateLimitLayer {
    shared: SharedLimiter,
}

impl RateLimitLayer {
    /// Limits every caller to `quota`, tracking up to [`DEFAULT_MAX_KEYS`] callers.
    pub fn new(quota: Quota) -> Self {
        Self {
            shared: SharedLimiter::new(quota, DEFAULT_MAX_KEYS),
        }
    }

    /// The most callers tracked at once (at least 1); see the [module docs](super).
    /// Starts from empty buckets.
    pub fn max_keys(self, max: usize) -> Self {
        Self {
            shared: SharedLimiter::new(self.shared.quota, max),
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.shared.quota
    }

    /// How many callers have a bucket right now (for metrics).
    pub fn tracked_keys(&self) -> usize {
        self.shared.limiter.len()
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("quota", &self.shared.quota)
            .field("max_keys", &self.shared.max_keys)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: Arc::clone(&self.shared.limiter),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    limiter: Arc<Limiter>,
}

impl<S> RateLimit<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let key = hashed_key(&self.limiter, request.extensions());
        match self.limiter.check(key, 1) {
            // The decision is synchronous, so the readied inner service is called in place.
            Ok(()) => ResponseFuture::Inner {
                future: self.inner.call(request),
            },
            Err(wait) => {
                tracing::debug!(?wait, "HTTP request rate limited");
                let mut response = too_many_requests(wait);
                mcp_core::headers::close_if_body_unread(
                    request.version(),
                    request.headers(),
                    response.headers_mut(),
                );
                ResponseFuture::Limited {
                    response: Some(response),
                }
            }
        }
    }
}

/// `429` with `Retry-After` and the JSON-RPC error body.
fn too_many_requests<B: From<Bytes>>(wait: Duration) -> Response<B> {
    // No id: the request is refused before its body is read (as `Rejection::body`).
    let body = mcp_core::jsonrpc::Response::error(None, rate_limited(wait)).to_vec();
    let mut response = Response::new(B::from(Bytes::from(body)));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(wait)));
    response
}

pin_project! {
    /// The response future of [`RateLimit`].
    // pin-project-lite cannot document variant fields.
    #[allow(missing_docs)]
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F, ResBody> {
        /// The request went to the inner service.
        Inner { #[pin] future: F },
        /// Over the limit: the 429 answer.
        Limited { response: Option<Response<ResBody>> },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Inner { future } => future.poll(cx),
            ResponseFutureProj::Limited { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F, ResBody> fmt::Debug for ResponseFuture<F, ResBody> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self {
            Self::Inner { .. } => "Inner",
            Self::Limited { .. } => "Limited",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http_body_util::{BodyExt, Full};
    use mcp_core::Principal;
    use tower::ServiceExt;
    use tower_test::mock;

    use super::*;

    type Body = Full<Bytes>;

    fn request(principal: Option<&str>, peer: Option<[u8; 4]>) -> Request<&'static str> {
        let mut request = Request::post("/mcp").body("body").unwrap();
        if let Some(subject) = principal {
            request.extensions_mut().insert(Principal::new(subject));
        }
        if let Some(ip) = peer {
            request
                .extensions_mut()
                .insert(SocketAddr::from((ip, 1234)));
        }
        request
    }

    #[tokio::test]
    async fn forwards_readiness_then_refuses_without_calling_inner() {
        let layer = RateLimitLayer::new(Quota::per_minute(2));
        let (mut service, mut handle) =
            mock::spawn_layer::<Request<&'static str>, Response<Body>, _>(layer.clone());
        handle.allow(0);
        assert!(service.poll_ready().is_pending());
        handle.allow(10);
        for _ in 0..2 {
            assert!(service.poll_ready().is_ready());
            let response = tokio::spawn(service.call(request(Some("alice"), None)));
            let (seen, send) = handle.next_request().await.unwrap();
            assert_eq!(*seen.body(), "body");
            send.send_response(Response::new(Body::from("ok")));
            assert_eq!(response.await.unwrap().unwrap().status(), 200);
        }
        assert!(service.poll_ready().is_ready());
        let response = service.call(request(Some("alice"), None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["content-type"], "application/json");
        // 30 s per token at 2/min, minus the few milliseconds the test took: rounded up.
        assert_eq!(response.headers()["retry-after"], "30");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let wait = body["error"]["data"]["retryAfterMs"].as_u64().unwrap();
        assert!((29_000..=30_000).contains(&wait), "{wait}");
        assert_eq!(
            body,
            serde_json::json!({"jsonrpc": "2.0", "error": {
                "code": -32000, "message": "Rate limit exceeded",
                "data": {"retryAfterMs": wait}}})
        );
        // The inner mock never saw the refused request.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), handle.next_request())
                .await
                .is_err()
        );
        assert_eq!(layer.tracked_keys(), 1);
    }

    /// The refusal leaves the body unread: announced, the connection is said to close.
    #[tokio::test]
    async fn a_refusal_of_a_request_with_a_body_closes_the_connection() {
        let layer = RateLimitLayer::new(Quota::per_minute(1));
        let service = layer.layer(tower::service_fn(|_: Request<&'static str>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::from("ok")))
        }));
        let with_body = || {
            let mut request = request(Some("alice"), None);
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(4));
            request
        };
        let served = service.clone().oneshot(with_body()).await.unwrap();
        assert!(!served.headers().contains_key(header::CONNECTION));
        let refused = service.clone().oneshot(with_body()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::CONNECTION], "close");
        let refused = service.oneshot(request(Some("alice"), None)).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(!refused.headers().contains_key(header::CONNECTION));
    }

    async fn status<S>(service: &mut S, request: Request<&'static str>) -> u16
    where
        S: Service<Request<&'static str>, Response = Response<Body>>,
        S::Error: fmt::Debug,
    {
        service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn buckets_per_principal_peer_and_anonymous() {
        let mut service = RateLimitLayer::new(Quota::per_minute(1)).layer(tower::service_fn(
            |_: Request<&'static str>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::default()))
            },
        ));
        let s = &mut service;
        assert_eq!(status(s, request(Some("alice"), None)).await, 200);
        assert_eq!(
            status(s, request(Some("alice"), Some([10, 0, 0, 1]))).await,
            429
        );
        // The principal wins over the address: bob from alice's address is bob.
        assert_eq!(
            status(s, request(Some("bob"), Some([10, 0, 0, 1]))).await,
            200
        );
        assert_eq!(status(s, request(None, Some([10, 0, 0, 1]))).await, 200);
        assert_eq!(status(s, request(None, Some([10, 0, 0, 1]))).await, 429);
        assert_eq!(status(s, request(None, Some([10, 0, 0, 2]))).await, 200);
        // No principal, no address: one shared bucket.
        assert_eq!(status(s, request(None, None)).await, 200);
        assert_eq!(status(s, request(None, None)).await, 429);
    }

    #[tokio::test]
    async fn clones_share_buckets_and_max_keys_bounds_them() {
        let layer = RateLimitLayer::new(Quota::per_minute(1)).max_keys(8);
        let ok = |_: Request<&'static str>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::default()))
        };
        let mut a = layer.layer(tower::service_fn(ok));
        let mut b = layer.clone().layer(tower::service_fn(ok));
        assert_eq!(status(&mut a, request(Some("x"), None)).await, 200);
        assert_eq!(status(&mut b, request(Some("x"), None)).await, 429);
        for i in 0..100 {
            let subject: &'static str = Box::leak(format!("user-{i}").into_boxed_str());
            assert_eq!(status(&mut a, request(Some(subject), None)).await, 200);
        }
        assert!(layer.tracked_keys() <= 8);
        assert!(format!("{layer:?}").contains("max_keys: 8"));
    }

    #[tokio::test]
    async fn any_response_body_type() {
        let service = RateLimitLayer::new(Quota::per_second(1)).layer(tower::service_fn(
            |_: Request<()>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(b"hi")))
            },
        ));
        let response = service.oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.body(), "hi");
    }
}
