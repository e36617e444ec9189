//! [`RpcTimeoutLayer`]: a request that takes too long is answered with an error and its
//! handler dropped.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use mcp_core::jsonrpc::{ErrorObject, Message, RequestId, Response, codes};
use mcp_core::{McpRequest, McpResponse};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_layer::Layer;
use tower_service::Service;

/// Methods that wait by design for as long as their subject lasts, never timed out:
/// `tasks/result` until its task is done, `subscriptions/listen` for the subscription's life.
const LONG_LIVED: [&str; 2] = ["tasks/result", "subscriptions/listen"];

/// Bounds how long the RPC tier below takes to answer a request: past `timeout`, the client
/// gets -32000 "Request timed out" with the request's id, and the handler's future is dropped
/// (so is whatever it awaited). Notifications are bounded too and get nothing.
///
/// tower's own `TimeoutLayer` does not fit the RPC tier, whose error type is `Infallible`:
/// a timeout there must be an answer to the client, not an error. Put it below
/// [`BatchLayer`](crate::BatchLayer), which hands it each item of a batch (a whole batch is
/// passed through untimed), and below the layers whose work should not count (telemetry then
/// records the timeout as the call's -32000). `tasks/result` and `subscriptions/listen`,
/// which wait by design, are never cut. Requests that ask the client something (sampling,
/// elicitation) wait for a person: give them time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
///
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::{McpRequest, ProtocolVersion, RequestContext, Router, Tool};
/// use mcp_tower::RpcTimeoutLayer;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let router = Router::builder()
///     .tool(Tool::new("stuck").raw_handler(|_, _: RequestContext| async {
///         std::future::pending::<String>().await
///     }))
///     .build();
/// let service = ServiceBuilder::new()
///     .layer(RpcTimeoutLayer::new(Duration::from_millis(50)))
///     .service(router);
/// let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"stuck"}}"#;
/// let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// let answer = service.oneshot(request).await.unwrap();
/// let answer: serde_json::Value = serde_json::from_slice(&answer.to_vec()).unwrap();
/// assert_eq!(answer["id"], 7);
/// assert_eq!(answer["error"]["code"], -32000);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RpcTimeoutLayer {
    timeout: Duration,
}

impl RpcTimeoutLayer {
    /// Requests answered within `timeout`, or with an error.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for RpcTimeoutLayer {
    type Service = RpcTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTimeout {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service made by [`RpcTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct RpcTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Service<McpRequest> for RpcTimeout<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    type Response = McpResponse;
    type Error = Infallible;
    type Future = RpcTimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let (timed, id) = match &request.message {
            Message::Request(r) => (!LONG_LIVED.contains(&r.method.as_str()), Some(r.id.clone())),
            Message::Notification(_) => (true, None),
            Message::Response(_) | Message::Batch(_) => (false, None),
        };
        let timeout = self.timeout;
        RpcTimeoutFuture {
            inner: self.inner.call(request),
            sleep: timed.then(|| Box::pin(tokio::time::sleep(timeout))),
            id,
            timeout,
        }
    }
}

pin_project! {
    /// The response future of [`RpcTimeout`].
    pub struct RpcTimeoutFuture<F> {
        #[pin]
        inner: F,
        // Boxed: a `Sleep` is large, and most requests answer before it is ever polled twice.
        sleep: Option<Pin<Box<Sleep>>>,
        id: Option<RequestId>,
        timeout: Duration,
    }
}

impl<F> std::fmt::Debug for RpcTimeoutFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcTimeoutFuture")
            .field("id", &self.id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<F> Future for RpcTimeoutFuture<F>
where
    F: Future<Output = Result<McpResponse, Infallible>>,
{
    type Output = Result<McpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        let Some(sleep) = this.sleep else {
            return Poll::Pending;
        };
        ready!(sleep.as_mut().poll(cx));
        tracing::debug!(request.id = ?this.id, timeout = ?this.timeout, "request timed out");
        let answer = match this.id.take() {
            Some(id) => McpResponse::Single(Response::error(
                Some(id),
                ErrorObject::new(
                    codes::SERVER_ERROR,
                    format!("Request timed out after {:?}", this.timeout),
                ),
            )),
            None => McpResponse::None,
        };
        Poll::Ready(Ok(answer))
    }
}

#[cfg(test)]
mod tests {
    use mcp_core::{ProtocolVersion, RequestContext, Router, Tool};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    fn service() -> RpcTimeout<Router> {
        let router = Router::builder()
            .tool(
                Tool::new("stuck").raw_handler(|_, _: RequestContext| async {
                    std::future::pending::<String>().await
                }),
            )
            .tool(Tool::new("quick").raw_handler(|_, _: RequestContext| async { "done" }))
            .build();
        RpcTimeoutLayer::new(Duration::from_millis(50)).layer(router)
    }

    async fn send(body: &str) -> McpResponse {
        let message = Message::parse(body.as_bytes()).unwrap();
        let request = McpRequest::new(message, ProtocolVersion::V2025_11_25);
        service().oneshot(request).await.unwrap()
    }

    fn json(answer: &McpResponse) -> Value {
        serde_json::from_slice(&answer.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn in_time_answers_pass_and_late_ones_are_errors() {
        let quick =
            send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"quick"}}"#);
        assert_eq!(json(&quick.await)["result"]["content"][0]["text"], "done");
        let stuck =
            send(r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"stuck"}}"#);
        let answer = json(&stuck.await);
        assert_eq!(answer["id"], "s");
        assert_eq!(answer["error"]["code"], codes::SERVER_ERROR);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("timed out")
        );
    }

    #[tokio::test]
    async fn long_lived_methods_are_not_cut() {
        // An inner service that never answers: long-lived methods still wait past the
        // timeout, others are cut.
        let waits = |method: &str| {
            let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{}}}}"#);
            let message = Message::parse(body.as_bytes()).unwrap();
            let request = McpRequest::new(message, ProtocolVersion::V2025_11_25);
            let never = tower::service_fn(|_: McpRequest| std::future::pending());
            RpcTimeoutLayer::new(Duration::from_millis(20))
                .layer(never)
                .oneshot(request)
        };
        for method in LONG_LIVED {
            let answered = tokio::time::timeout(Duration::from_millis(100), waits(method)).await;
            assert!(answered.is_err(), "{method} was cut");
        }
        let cut = tokio::time::timeout(Duration::from_millis(100), waits("tools/call")).await;
        assert!(cut.is_ok(), "other methods are cut");
    }
}
