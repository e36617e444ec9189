//! JSON-RPC batches (protocol version 2025-03-26 only): a [`Message::Batch`] is split into
//! single messages, each sent through the whole inner stack as its own [`McpRequest`], so
//! every layer below (telemetry, allow-lists, rate limits) sees every item.
//!
//! Items run concurrently; the answers keep the order of the requests; an item that could
//! not be parsed keeps its error response in place; notifications and client responses add
//! nothing to the answer (a batch of only those is answered with [`McpResponse::None`]).
//! Other messages pass straight through.
//!
//! In a session, the HTTP transport gives each request of a batch a
//! [`ClientPeer`] of its own, so that `notifications/cancelled`, DELETE
//! and expiry reach it alone: a cancelled item is dropped and adds nothing to the answer, as
//! a lone cancelled request gets none.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use mcp_core::jsonrpc::Message;
//! use mcp_core::{McpRequest, McpResponse, ProtocolVersion, Router};
//! use mcp_tower::BatchLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let service = ServiceBuilder::new()
//!     .layer(BatchLayer::new().max_batch_size(50))
//!     .service(Router::builder().build());
//!
//! let body = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
//! let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_03_26);
//! let McpResponse::Batch(responses) = service.oneshot(request).await.unwrap() else { panic!() };
//! assert_eq!(responses.len(), 2);
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::mem;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{CatchUnwind, Either, JoinAll, Ready, join_all, ready};
use mcp_core::jsonrpc::{ErrorObject, Message, RequestId, Response};
use mcp_core::{ClientPeer, McpRequest, McpResponse};
use pin_project_lite::pin_project;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_layer::Layer;
use tower_service::Service;

/// The default maximum number of messages in one batch.
pub const DEFAULT_MAX_BATCH_SIZE: usize = 100;

/// Splits JSON-RPC batches into single calls of the inner service; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct BatchLayer {
    max_batch_size: usize,
}

impl Default for BatchLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchLayer {
    /// Batches of up to [`DEFAULT_MAX_BATCH_SIZE`] messages.
    pub fn new() -> Self {
        Self {
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
        }
    }

    /// The largest batch accepted (at least 1); a larger one is answered with one -32600
    /// error without running any of its items.
    pub fn max_batch_size(mut self, max: usize) -> Self {
        self.max_batch_size = max.max(1);
        self
    }
}

impl<S> Layer<S> for BatchLayer {
    type Service = Batch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Batch {
            inner,
            max_batch_size: self.max_batch_size,
        }
    }
}

/// The service made by [`BatchLayer`].
#[derive(Debug, Clone)]
pub struct Batch<S> {
    inner: S,
    max_batch_size: usize,
}

/// One item of a batch: answered on the spot, by the readied inner service, or by a clone.
type ItemFuture<S> = Either<
    Ready<Result<McpResponse, Infallible>>,
    ItemAnswer<Either<<S as Service<McpRequest>>::Future, Oneshot<S, McpRequest>>>,
>;

/// The peers a transport gave the requests of a batch, by id (in the batch's extensions):
/// each such request runs with its own, whose cancellation is its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemPeers(pub(crate) Arc<HashMap<RequestId, ClientPeer>>);

pin_project! {
    /// A batch item's answer from the inner service. A panic answers that item -32603 (see
    /// `panicked`), and the other items theirs, as a lone request's panic is answered.
    struct ItemAnswer<F> {
        #[pin]
        future: CatchUnwind<AssertUnwindSafe<F>>,
        id: Option<RequestId>,
        // The item's own peer, when the transport gave it one: once it is cancelled, the
        // item is answered nothing, and dropped with this future.
        peer: Option<ClientPeer>,
        #[pin]
        cancelled: Option<WaitForCancellationFutureOwned>,
    }
}

impl<F: Future> ItemAnswer<F> {
    fn new(future: F, id: Option<RequestId>, peer: Option<ClientPeer>) -> Self {
        let cancelled = peer
            .as_ref()
            .and_then(ClientPeer::cancellation)
            .map(|token| token.clone().cancelled_owned());
        Self {
            future: AssertUnwindSafe(future).catch_unwind(),
            id,
            peer,
            cancelled,
        }
    }
}

impl<F> Future for ItemAnswer<F>
where
    F: Future<Output = Result<McpResponse, Infallible>>,
{
    type Output = Result<McpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The handler first: one that watches its token may end in the poll after its
        // cancellation; one that does not is dropped then.
        if let Poll::Ready(outcome) = this.future.poll(cx) {
            if this.peer.as_ref().is_some_and(ClientPeer::is_cancelled) {
                return Poll::Ready(Ok(McpResponse::None));
            }
            return Poll::Ready(match outcome {
                Ok(answer) => answer,
                Err(_) => Ok(crate::panicked::answer(this.id.take())),
            });
        }
        match this
            .cancelled
            .as_pin_mut()
            .map(|cancelled| cancelled.poll(cx))
        {
            Some(Poll::Ready(())) => Poll::Ready(Ok(McpResponse::None)),
            _ => Poll::Pending,
        }
    }
}

fn refuse(id: Option<mcp_core::jsonrpc::RequestId>, message: String) -> McpResponse {
    McpResponse::Single(Response::error(id, ErrorObject::invalid_request(message)))
}

fn answered<S>(response: McpResponse) -> ItemFuture<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    Either::Left(ready(Ok(response)))
}

impl<S> Service<McpRequest> for Batch<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone,
{
    type Response = McpResponse;
    type Error = Infallible;
    type Future = ResponseFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        if !matches!(request.message, Message::Batch(_)) {
            return ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                },
            };
        }
        let McpRequest {
            message: Message::Batch(items),
            version,
            mut extensions,
        } = request
        else {
            unreachable!("checked above");
        };
        let peers = extensions.remove::<ItemPeers>().unwrap_or_default();
        let refusal = if !version.allows_batches() {
            Some(format!(
                "Invalid Request: batches are not supported in protocol version {version}"
            ))
        } else if items.is_empty() {
            Some("Invalid Request: empty batch".to_owned())
        } else if items.len() > self.max_batch_size {
            Some(format!(
                "Invalid Request: a batch of {} messages exceeds the limit of {}",
                items.len(),
                self.max_batch_size
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            return ResponseFuture {
                state: State::Refused {
                    response: Some(refuse(None, message)),
                },
            };
        }

        // `poll_ready` readied `self.inner`: the first item uses it, the others use clones
        // that become ready on their own (`oneshot`).
        let clone = self.inner.clone();
        let mut readied = Some(mem::replace(&mut self.inner, clone));
        let mut futures: Vec<ItemFuture<S>> = Vec::with_capacity(items.len());
        for item in items {
            let future = match item {
                Err(response) => answered::<S>(McpResponse::Single(response)),
                Ok(Message::Batch(_)) => answered::<S>(refuse(
                    None,
                    "Invalid Request: batches cannot be nested".to_owned(),
                )),
                // The handshake fixes the session's version; it must stand alone (2025-03-26).
                Ok(Message::Request(request)) if request.method == "initialize" => {
                    answered::<S>(refuse(
                        Some(request.id),
                        "Invalid Request: initialize must not be part of a batch".to_owned(),
                    ))
                }
                Ok(message) => {
                    let id = match &message {
                        Message::Request(request) => Some(request.id.clone()),
                        _ => None,
                    };
                    let peer = id.as_ref().and_then(|id| peers.0.get(id)).cloned();
                    let mut extensions = extensions.clone();
                    if let Some(peer) = &peer {
                        extensions.insert(peer.clone());
                    }
                    let request = McpRequest {
                        message,
                        version,
                        extensions,
                    };
                    let future = match readied.take() {
                        Some(mut service) => Either::Left(service.call(request)),
                        None => Either::Right(self.inner.clone().oneshot(request)),
                    };
                    Either::Right(ItemAnswer::new(future, id, peer))
                }
            };
            futures.push(future);
        }
        ResponseFuture {
            state: State::Batch {
                items: join_all(futures),
            },
        }
    }
}

pin_project! {
    /// The response future of [`Batch`].
    pub struct ResponseFuture<S>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
    {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S>
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
    {
        /// A single message, passed to the inner service.
        Inner {
            #[pin]
            future: S::Future,
        },
        /// The batch as a whole was refused.
        Refused {
            response: Option<McpResponse>,
        },
        /// The items of a batch, in order.
        Batch {
            #[pin]
            items: JoinAll<ItemFuture<S>>,
        },
    }
}

impl<S> std::fmt::Debug for ResponseFuture<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "Inner",
            State::Refused { .. } => "Refused",
            State::Batch { .. } => "Batch",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

impl<S> Future for ResponseFuture<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    type Output = Result<McpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => Poll::Ready(Ok(response.take().unwrap_or_default())),
            StateProj::Batch { items } => {
                let results = std::task::ready!(items.poll(cx));
                let mut responses = Vec::with_capacity(results.len());
                for result in results {
                    match result {
                        Ok(McpResponse::None) => {}
                        Ok(McpResponse::Single(response)) => responses.push(response),
                        Ok(McpResponse::Batch(more)) => responses.extend(more),
                        Err(never) => match never {},
                    }
                }
                Poll::Ready(Ok(if responses.is_empty() {
                    McpResponse::None
                } else {
                    McpResponse::Batch(responses)
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use mcp_core::jsonrpc::{RequestId, codes};
    use mcp_core::{ProtocolVersion, RequestContext, Router, Tool};
    use tower::{ServiceBuilder, service_fn};

    use super::*;

    fn parse(body: &str, version: ProtocolVersion) -> McpRequest {
        McpRequest::new(Message::parse(body.as_bytes()).expect("valid"), version)
    }

    /// Answers each request with its method name; records every message it sees.
    fn echo(
        seen: Arc<Mutex<Vec<String>>>,
    ) -> impl Service<
        McpRequest,
        Response = McpResponse,
        Error = Infallible,
        Future = impl Future<Output = Result<McpResponse, Infallible>>,
    > + Clone {
        service_fn(move |request: McpRequest| {
            let seen = Arc::clone(&seen);
            async move {
                let method = request.method().unwrap_or("response").to_owned();
                seen.lock().unwrap().push(method.clone());
                // Later items finish first: the order must still be the request order.
                if let Message::Request(r) = &request.message
                    && let RequestId::Number(n) = r.id
                {
                    tokio::time::sleep(Duration::from_millis(50 - 10 * n as u64)).await;
                }
                let raw = mcp_core::jsonrpc::to_raw(&method).expect("string");
                Ok(match request.message {
                    Message::Request(r) => McpResponse::Single(Response::result(r.id, raw)),
                    _ => McpResponse::None,
                })
            }
        })
    }

    fn ids(response: &McpResponse) -> Vec<Option<RequestId>> {
        match response {
            McpResponse::Batch(responses) => responses.iter().map(|r| r.id.clone()).collect(),
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    fn single_error(response: &McpResponse) -> &ErrorObject {
        response
            .as_single()
            .and_then(Response::error_object)
            .expect("single error")
    }

    #[tokio::test]
    async fn items_run_through_inner_in_order_and_errors_stay_in_place() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let service = BatchLayer::new().layer(echo(Arc::clone(&seen)));
        let body = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},
            {"jsonrpc":"2.0","method":"notifications/x"},
            {"jsonrpc":"1.0","id":7,"method":"bad"},
            {"jsonrpc":"2.0","id":2,"method":"b"},
            {"jsonrpc":"2.0","id":3,"method":"initialize","params":{}},
            {"jsonrpc":"2.0","id":4,"method":"c"}]"#;
        let response = service
            .oneshot(parse(body, ProtocolVersion::V2025_03_26))
            .await
            .unwrap();
        assert_eq!(
            ids(&response),
            [1, 7, 2, 3, 4].map(|n| Some(RequestId::Number(n)))
        );
        let McpResponse::Batch(responses) = &response else {
            unreachable!()
        };
        assert_eq!(responses[0].body.as_ref().unwrap().get(), r#""a""#);
        assert_eq!(
            responses[1].error_object().unwrap().code,
            codes::INVALID_REQUEST
        );
        assert_eq!(
            responses[3].error_object().unwrap().code,
            codes::INVALID_REQUEST
        );
        assert_eq!(responses[4].body.as_ref().unwrap().get(), r#""c""#);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "notifications/x"]);
    }

    #[tokio::test]
    async fn batch_refusals() {
        let service = BatchLayer::new()
            .max_batch_size(2)
            .layer(echo(Default::default()));
        let body = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}]"#;
        for version in [ProtocolVersion::V2025_06_18, ProtocolVersion::V2026_07_28] {
            let response = service.clone().oneshot(parse(body, version)).await.unwrap();
            assert_eq!(single_error(&response).code, codes::INVALID_REQUEST);
            assert_eq!(response.as_single().unwrap().id, None);
        }
        let three = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"a"},
            {"jsonrpc":"2.0","id":3,"method":"a"}]"#;
        let response = service
            .clone()
            .oneshot(parse(three, ProtocolVersion::V2025_03_26))
            .await
            .unwrap();
        assert_eq!(single_error(&response).code, codes::INVALID_REQUEST);
        let empty = McpRequest::new(Message::Batch(Vec::new()), ProtocolVersion::V2025_03_26);
        let response = service.clone().oneshot(empty).await.unwrap();
        assert_eq!(single_error(&response).code, codes::INVALID_REQUEST);
    }

    #[tokio::test]
    async fn only_notifications_and_responses_yield_nothing() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let service = BatchLayer::new().layer(echo(Arc::clone(&seen)));
        let body = r#"[{"jsonrpc":"2.0","method":"notifications/initialized"},
            {"jsonrpc":"2.0","id":"s-1","result":{}}]"#;
        let response = service
            .oneshot(parse(body, ProtocolVersion::V2025_03_26))
            .await
            .unwrap();
        assert!(response.is_none());
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn single_messages_pass_through() {
        let mut mock_service = BatchLayer::new().layer(echo(Default::default()));
        let request = parse(
            r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#,
            ProtocolVersion::V2025_11_25,
        );
        let response = mock_service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
        assert_eq!(
            response.as_single().unwrap().body.as_ref().unwrap().get(),
            r#""x""#
        );
    }

    #[tokio::test]
    async fn readiness_is_forwarded() {
        let (service, mut handle) = tower_test::mock::pair::<McpRequest, McpResponse>();
        // The mock's error type is not `Infallible`; this test never makes it fail.
        let service = service.map_err(|_| -> Infallible { unreachable!("mock never fails") });
        let mut service = tower_test::mock::Spawn::new(BatchLayer::new().layer(service));
        handle.allow(0);
        assert!(service.poll_ready().is_pending());
        handle.allow(1);
        assert!(service.poll_ready().is_ready());
    }

    #[tokio::test]
    async fn through_the_router() {
        let router = Router::builder()
            .tool(
                Tool::new("add").raw_handler(|args, _: RequestContext| async move {
                    let arg = |name: &str| args.get(name).and_then(serde_json::Value::as_i64);
                    (arg("a").unwrap_or(0) + arg("b").unwrap_or(0)).to_string()
                }),
            )
            .build();
        let service = ServiceBuilder::new()
            .layer(BatchLayer::new())
            .service(router);
        let body = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}},
            {"jsonrpc":"2.0","id":2,"method":"ping"},
            {"jsonrpc":"2.0","id":3,"method":"nope"}]"#;
        let response = service
            .oneshot(parse(body, ProtocolVersion::V2025_03_26))
            .await
            .unwrap();
        let mut out = Vec::new();
        response.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"3"}]}},{"jsonrpc":"2.0","id":2,"result":{}},{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found: nope"}}]"#
        );
    }

    /// A panicking item is answered -32603, and the others as usual: the client is not left
    /// without its answers, whichever item (first, served by the readied service, or later).
    #[tokio::test]
    async fn a_panicking_item_is_answered_and_the_others_too() {
        let router = Router::builder()
            .tool(Tool::new("boom").raw_handler(|_, _: RequestContext| async {
                panic!("a handler bug");
                #[allow(unreachable_code)]
                "never"
            }))
            .build();
        let service = ServiceBuilder::new()
            .layer(BatchLayer::new())
            .service(router);
        let boom = |id: u32| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"boom","arguments":{{}}}}}}"#
            )
        };
        let body = format!(
            r#"[{},{{"jsonrpc":"2.0","id":2,"method":"ping"}},{}]"#,
            boom(1),
            boom(3)
        );
        let response = service
            .oneshot(parse(&body, ProtocolVersion::V2025_03_26))
            .await
            .unwrap();
        let mut out = Vec::new();
        response.write_json(&mut out);
        let internal = r#""error":{"code":-32603,"message":"Internal error"}"#;
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                r#"[{{"jsonrpc":"2.0","id":1,{internal}}},{{"jsonrpc":"2.0","id":2,"result":{{}}}},{{"jsonrpc":"2.0","id":3,{internal}}}]"#
            )
        );
    }
}
