//! [`RpcRateLimitLayer`]: one token per JSON-RPC request; a JSON-RPC error over the limit.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use mcp_core::jsonrpc::{Message, Response};
use mcp_core::{McpRequest, McpResponse};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::limiter::{Limiter, SharedLimiter};
use super::{DEFAULT_MAX_KEYS, Quota, hashed_key, rate_limited};

/// Limits JSON-RPC requests per caller at the RPC tier.
///
/// Each request costs one token; notifications and client responses cost nothing and always
/// pass. Over the limit the request is answered with error `-32000` `"Rate limit exceeded"`
/// and `data: {"retryAfterMs": n}` (rounded up), without reaching the inner service. Below
/// `BatchLayer` every batch item is judged alone; a batch that still reaches this layer costs
/// one token per request in it and is refused whole (each request gets the error) when they
/// do not all fit. Keys as in the [module docs](super).
///
/// ```
/// use std::convert::Infallible;
///
/// use mcp_auth::rate_limit::{Quota, RpcRateLimitLayer};
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::{McpRequest, McpResponse, Principal, ProtocolVersion};
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = ServiceBuilder::new()
///     .layer(RpcRateLimitLayer::new(Quota::per_minute(1)))
///     .service_fn(|_: McpRequest| async { Ok::<_, Infallible>(McpResponse::Batch(Vec::new())) });
///
/// let call = || {
///     let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
///     let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
///     request.extensions.insert(Principal::new("alice"));
///     request
/// };
/// assert!(matches!(service.clone().oneshot(call()).await.unwrap(), McpResponse::Batch(_)));
/// let refused = service.oneshot(call()).await.unwrap();
/// let error = refused.as_single().unwrap().error_object().unwrap();
/// assert_eq!((error.code, &*error.message), (-32000, "Rate limit exceeded"));
/// assert!(error.data.as_ref().unwrap()["retryAfterMs"].as_u64().unwrap() > 59_000);
/// # }
/// ```
#[derive(Clone)]
pub struct RpcRateLimitLayer {
    shared: SharedLimiter,
}

impl RpcRateLimitLayer {
    /// Limits every caller to `quota`, tracking up to [`DEFAULT_MAX_KEYS`] callers.
    pub fn new(quota: Quota) -> Self {
        Self {
            shared: SharedLimiter::new(quota, DEFAULT_MAX_KEYS),
        }
    }

    /// The most callers tracked at once (at least 1). Starts from empty buckets.
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

impl fmt::Debug for RpcRateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcRateLimitLayer")
            .field("quota", &self.shared.quota)
            .field("max_keys", &self.shared.max_keys)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RpcRateLimitLayer {
    type Service = RpcRateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcRateLimit {
            inner,
            limiter: Arc::clone(&self.shared.limiter),
        }
    }
}

/// The service made by [`RpcRateLimitLayer`].
#[derive(Clone)]
pub struct RpcRateLimit<S> {
    inner: S,
    limiter: Arc<Limiter>,
}

impl<S> RpcRateLimit<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for RpcRateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcRateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Tokens `message` costs: its requests.
fn cost(message: &Message) -> u32 {
    match message {
        Message::Request(_) => 1,
        Message::Batch(items) => {
            let requests = items
                .iter()
                .filter(|item| matches!(item, Ok(Message::Request(_))))
                .count();
            u32::try_from(requests).unwrap_or(u32::MAX)
        }
        Message::Notification(_) | Message::Response(_) => 0,
    }
}

/// The answer to `message` when it is over the limit.
fn refusal(message: &Message, wait: Duration) -> McpResponse {
    let error = rate_limited(wait);
    match message {
        Message::Batch(items) => McpResponse::Batch(
            items
                .iter()
                .filter_map(|item| match item {
                    Ok(Message::Request(request)) => {
                        Some(Response::error(Some(request.id.clone()), error.clone()))
                    }
                    Ok(_) => None,
                    // An item that did not parse keeps its own error.
                    Err(response) => Some(response.clone()),
                })
                .collect(),
        ),
        message => McpResponse::error_for(message, error),
    }
}

impl<S> Service<McpRequest> for RpcRateLimit<S>
where
    S: Service<McpRequest, Response = McpResponse>,
{
    type Response = McpResponse;
    type Error = S::Error;
    type Future = RpcResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let key = hashed_key(&self.limiter, &request.extensions);
        match self.limiter.check(key, cost(&request.message)) {
            Ok(()) => RpcResponseFuture::Inner {
                future: self.inner.call(request),
            },
            Err(wait) => {
                tracing::debug!(?wait, method = request.method(), "RPC request rate limited");
                RpcResponseFuture::Limited {
                    response: Some(refusal(&request.message, wait)),
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`RpcRateLimit`].
    // pin-project-lite cannot document variant fields.
    #[allow(missing_docs)]
    #[project = RpcResponseFutureProj]
    pub enum RpcResponseFuture<F> {
        /// The request went to the inner service.
        Inner { #[pin] future: F },
        /// Over the limit: the JSON-RPC error.
        Limited { response: Option<McpResponse> },
    }
}

impl<F, E> Future for RpcResponseFuture<F>
where
    F: Future<Output = Result<McpResponse, E>>,
{
    type Output = Result<McpResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RpcResponseFutureProj::Inner { future } => future.poll(cx),
            RpcResponseFutureProj::Limited { response } => Poll::Ready(Ok(response
                .take()
                .expect("RpcResponseFuture polled after completion"))),
        }
    }
}

impl<F> fmt::Debug for RpcResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self {
            Self::Inner { .. } => "Inner",
            Self::Limited { .. } => "Limited",
        };
        f.debug_tuple("RpcResponseFuture").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use mcp_core::{Principal, ProtocolVersion};
    use tower::ServiceExt;
    use tower_test::mock;

    use super::*;

    fn message(json: &str) -> Message {
        Message::parse(json.as_bytes()).unwrap()
    }

    fn request(json: &str, subject: Option<&str>) -> McpRequest {
        let mut request = McpRequest::new(message(json), ProtocolVersion::V2025_03_26);
        if let Some(subject) = subject {
            request.extensions.insert(Principal::new(subject));
        }
        request
    }

    const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#;
    const NOTE: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

    fn passed() -> McpResponse {
        McpResponse::Batch(Vec::new())
    }

    fn is_passed(response: &McpResponse) -> bool {
        matches!(response, McpResponse::Batch(items) if items.is_empty())
    }

    fn json(response: &McpResponse) -> serde_json::Value {
        let mut out = Vec::new();
        response.write_json(&mut out);
        serde_json::from_slice(&out).unwrap()
    }

    fn layered(
        layer: &RpcRateLimitLayer,
    ) -> RpcRateLimit<
        impl Service<McpRequest, Response = McpResponse, Error = Infallible, Future: Send> + Clone,
    > {
        layer.layer(tower::service_fn(|_: McpRequest| async {
            Ok::<_, Infallible>(passed())
        }))
    }

    #[tokio::test]
    async fn requests_counted_notifications_pass() {
        let layer = RpcRateLimitLayer::new(Quota::per_minute(2));
        let service = layered(&layer);
        for _ in 0..2 {
            let response = service
                .clone()
                .oneshot(request(CALL, Some("a")))
                .await
                .unwrap();
            assert!(is_passed(&response));
        }
        let refused = service
            .clone()
            .oneshot(request(CALL, Some("a")))
            .await
            .unwrap();
        // The HTTP bridge answers 429 with a Retry-After for the same wait.
        let Some(mcp_core::HttpRefusal::RateLimited(after)) = refused.http_refusal().cloned()
        else {
            panic!("no rate-limit refusal: {refused:?}");
        };
        let refused = json(&refused);
        let wait = refused["error"]["data"]["retryAfterMs"].as_u64().unwrap();
        assert!((29_000..=30_000).contains(&wait), "{wait}");
        // `retryAfterMs` is the same wait rounded up to the millisecond.
        let rounded = Duration::from_millis(wait);
        assert!(after <= rounded && rounded - after < Duration::from_millis(1));
        assert_eq!(
            refused,
            serde_json::json!({"jsonrpc": "2.0", "id": 7, "error": {
                "code": -32000, "message": "Rate limit exceeded",
                "data": {"retryAfterMs": wait}}})
        );
        // Notifications are never limited (a refusal could not be sent anyway).
        for _ in 0..5 {
            let response = service
                .clone()
                .oneshot(request(NOTE, Some("a")))
                .await
                .unwrap();
            assert!(is_passed(&response));
        }
        // Another principal, and anonymous callers, have their own buckets.
        let other = service
            .clone()
            .oneshot(request(CALL, Some("b")))
            .await
            .unwrap();
        assert!(is_passed(&other));
        let anonymous = service.oneshot(request(CALL, None)).await.unwrap();
        assert!(is_passed(&anonymous));
        assert_eq!(layer.tracked_keys(), 3);
    }

    #[tokio::test]
    async fn batch_counts_per_request_item() {
        let layer = RpcRateLimitLayer::new(Quota::per_minute(3));
        let service = layered(&layer);
        let batch = format!(r#"[{CALL},{NOTE},{CALL},"bad"]"#);
        // Two requests: two tokens of three.
        let response = service
            .clone()
            .oneshot(request(&batch, Some("a")))
            .await
            .unwrap();
        assert!(is_passed(&response));
        // Two more do not fit in the one left: every request answered with the error, the
        // unparsable item keeps its own.
        let refused = json(
            &service
                .clone()
                .oneshot(request(&batch, Some("a")))
                .await
                .unwrap(),
        );
        let items = refused.as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["error"]["code"], -32000);
        assert_eq!(items[1]["error"]["code"], -32000);
        assert_eq!(items[2]["error"]["code"], -32600);
        // One request still fits.
        let single = service.oneshot(request(CALL, Some("a"))).await.unwrap();
        assert!(is_passed(&single));
    }

    #[tokio::test]
    async fn refused_requests_never_reach_inner() {
        let (mut service, mut handle) = mock::spawn_layer::<McpRequest, McpResponse, _>(
            RpcRateLimitLayer::new(Quota::per_minute(1)),
        );
        handle.allow(0);
        assert!(service.poll_ready().is_pending());
        handle.allow(2);
        assert!(service.poll_ready().is_ready());
        let first = tokio::spawn(service.call(request(CALL, Some("a"))));
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(passed());
        assert!(is_passed(&first.await.unwrap().unwrap()));
        assert!(service.poll_ready().is_ready());
        let refused = service.call(request(CALL, Some("a"))).await.unwrap();
        assert!(refused.as_single().unwrap().is_error());
        assert!(
            tokio::time::timeout(Duration::from_millis(50), handle.next_request())
                .await
                .is_err()
        );
    }
}
