//! `subscriptions/listen` (2026-07-28): a long-lived POST stream carrying the list-changed and
//! resource-updated notifications the client opted in to, each tagged with the subscription
//! id (the listen request's id), after an acknowledgement of what is honoured. The request
//! first goes through the RPC tier like any other (scopes, rate limits, telemetry): only the
//! router's acceptance, which names the types it supports, opens the stream; any other answer
//! is sent as the response, with the status it maps to. At shutdown the server tears the
//! subscription down as the spec asks: `notifications/cancelled` for the listen request, its
//! (empty) result, then the end. A stream that falls behind the server's events ends the same
//! way, rather than skip some.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use mcp_core::{AllowList, McpRequest, McpResponse, ProtocolVersion, ServerEvent};
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::json_answer::json_response;
use super::sse::data_event;
use super::{RpcService, Shared, streamed_response};
use crate::body::McpBody;
use crate::error_body::error_response;
use crate::subscription::Subscription;

/// Decrements the listener count when the stream ends.
struct ListenerSlot(Arc<Shared>);

impl Drop for ListenerSlot {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A listen request ready for the RPC tier, and what opening its stream needs.
pub(super) struct Listen {
    pub(super) shared: Arc<Shared>,
    pub(super) request: McpRequest,
    pub(super) id: RequestId,
    pub(super) params: Option<Box<RawValue>>,
    pub(super) allow_list: Option<AllowList>,
}

impl Listen {
    /// Passes the request through the RPC tier, which gates the stream as it gates any
    /// request (scopes, rate limits, telemetry, allow-lists), and opens the stream on the
    /// router's acceptance; any other answer is the response, with the status it maps to.
    pub(super) async fn open<S: RpcService>(
        self,
        inner: S,
        request_headers: usize,
    ) -> Response<McpBody> {
        let version = self.request.version;
        let answer = inner.oneshot(self.request).await.unwrap_or_default();
        let answered = Answered {
            id: self.id,
            params: self.params,
            answer,
            allow_list: self.allow_list,
            version,
            request_headers,
        };
        handle(self.shared, answered)
    }
}

/// A listen request the RPC tier has answered.
struct Answered {
    id: RequestId,
    params: Option<Box<RawValue>>,
    answer: McpResponse,
    allow_list: Option<AllowList>,
    version: ProtocolVersion,
    request_headers: usize,
}

fn handle(shared: Arc<Shared>, answered: Answered) -> Response<McpBody> {
    let Answered {
        id,
        params,
        answer,
        allow_list,
        version,
        request_headers,
    } = answered;
    let Some(honoured) = Subscription::accepted(&answer) else {
        return json_response(&answer, version, request_headers);
    };
    let (subscription, acknowledgement) = Subscription::open(&id, params.as_deref(), honoured);
    let Some(events) = shared.config.events.as_ref().map(|source| source()) else {
        return error_response(
            StatusCode::OK,
            Some(id),
            ErrorObject::invalid_request("This server publishes no notifications"),
        );
    };
    if shared.listeners.fetch_add(1, Ordering::Relaxed) >= shared.config.max_listeners {
        shared.listeners.fetch_sub(1, Ordering::Relaxed);
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(id),
            ErrorObject::new(mcp_core::jsonrpc::codes::SERVER_ERROR, "Too many listeners"),
        );
    }
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    let end = shared.stream_end();
    let slot = ListenerSlot(shared);
    tokio::spawn(run(
        slot,
        subscription,
        acknowledgement,
        allow_list,
        events,
        sink,
        end.clone(),
    ));
    streamed_response(McpBody::stream(body), end)
}

async fn run(
    slot: ListenerSlot,
    subscription: Subscription,
    acknowledgement: Vec<u8>,
    allow_list: Option<AllowList>,
    mut events: broadcast::Receiver<ServerEvent>,
    sink: mpsc::Sender<Bytes>,
    end: CancellationToken,
) {
    let shared = &slot.0;
    // However the stream ends, its token is cancelled, so that the server forgets it.
    let _forget = end.clone().drop_guard();
    let ended = end.cancelled();
    tokio::pin!(ended);
    if sink.send(data_event(&acknowledgement)).await.is_err() {
        return;
    }
    let mut keep_alive = tokio::time::interval(shared.config.keep_alive);
    keep_alive.reset();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = keep_alive.tick() => {
                if sink.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return;
                }
                continue;
            }
            () = sink.closed() => return,
            () = &mut ended => {
                // A full queue means a client that is not reading: it would not read this
                // either, and waiting for room would hold the shutdown up.
                let _ = sink.try_send(teardown(&subscription, "the server is shutting down"));
                return;
            }
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Its client would never learn what it missed. The subscription ends as the
                // server ends one: the client listens again and re-reads what it follows.
                // (The router's `event_capacity` bounds how far behind a stream may fall.)
                tracing::warn!(
                    missed,
                    "a subscriptions/listen stream fell behind; ending it"
                );
                let reason = "the subscription fell behind its notifications";
                tokio::select! {
                    _ = sink.send(teardown(&subscription, reason)) => {}
                    () = &mut ended => {}
                }
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(bytes) = subscription.notification(&event, allow_list.as_ref()) else {
            continue;
        };
        if sink.send(data_event(&bytes)).await.is_err() {
            return;
        }
    }
}

/// The events that end a subscription from the server's side, in one chunk so that a full
/// queue takes both or neither: `notifications/cancelled` for the listen request, which the
/// 2026-07-28 Cancellation page requires when a server tears a subscription down, then the
/// closing result the Subscriptions page asks for (stdio does the same, see `close_all`).
fn teardown(subscription: &Subscription, reason: &str) -> Bytes {
    let cancelled = data_event(&subscription.cancelled(reason));
    let closing = data_event(&subscription.closing_result());
    [cancelled, closing].concat().into()
}

#[cfg(test)]
mod tests {

    use http::{Method, Request, StatusCode};
    use mcp_core::{CancellationToken, Router};
    use tower::ServiceExt;

    use crate::body::{McpBody, next_text as next};
    use crate::{McpHttpService, McpServer, StreamableHttpConfig};

    /// A 2026-07-28 `subscriptions/listen` POST of `body`.
    fn listen_request(body: String) -> Request<McpBody> {
        Request::builder()
            .method(Method::POST)
            .uri("http://localhost/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "subscriptions/listen")
            .body(McpBody::from(body))
            .unwrap()
    }

    /// Opens a listen stream with request id `id`.
    async fn listen(service: &McpHttpService<McpBody>, id: u32) -> McpBody {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
        );
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body()
    }

    /// The JSON answer to a listen request with `params` that is refused at once.
    async fn refused(service: &McpHttpService<McpBody>, params: &str) -> serde_json::Value {
        let body = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen"{params}}}"#);
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn listen_params_are_required_and_bounded() {
        let config = StreamableHttpConfig::default().max_listen_resources(2);
        let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
            .http_config(config)
            .into_http_service();
        let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        let three = r#"{"resourceSubscriptions":["a://1","a://2","a://3"]}"#;
        for (case, params) in [
            ("no notifications", format!(r#","params":{{{meta}}}"#)),
            (
                "too many resources",
                format!(r#","params":{{{meta},"notifications":{three}}}"#),
            ),
        ] {
            let answer = refused(&service, &params).await;
            assert_eq!(answer["id"], 3, "{case}: {answer}");
            assert_eq!(answer["error"]["code"], -32602, "{case}: {answer}");
        }
        // Two are within the limit: the stream opens (and is acknowledged).
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"subscriptions/listen","params":{{{meta},"notifications":{{"resourceSubscriptions":["a://1","a://2"]}}}}}}"#
        );
        let request = listen_request(body);
        let response = service.clone().oneshot(request).await.unwrap();
        let mut stream = response.into_body();
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_is_torn_down() {
        // Room for one undelivered event.
        let mut router = Router::builder().event_capacity(1);
        for name in ["a", "b", "c", "d"] {
            router = router.tool(
                mcp_core::Tool::new(name)
                    .raw_handler(|_, _: mcp_core::RequestContext| async { "" }),
            );
        }
        let router = router.build();
        let service: McpHttpService<McpBody> =
            McpServer::builder(router.clone()).into_http_service();
        let mut stream = listen(&service, 9).await;
        // Three changes before the stream reads any: it misses two.
        for name in ["a", "b", "c"] {
            router.remove_tool(name);
        }
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
        let reason = "the subscription fell behind its notifications";
        assert_eq!(next(&mut stream).await.unwrap(), torn_down(9, reason));
        assert_eq!(next(&mut stream).await, None);
    }

    /// What ends the subscription `id` from the server's side, as SSE events: the
    /// cancellation of the listen request, then its closing result.
    fn torn_down(id: i64, reason: &str) -> String {
        format!(
            "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":\
             {{\"_meta\":{{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"requestId\":{id},\
             \"reason\":\"{reason}\"}}}}\n\n\
             data: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"_meta\":\
             {{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"resultType\":\"complete\"}}}}\n\n"
        )
    }

    #[tokio::test]
    async fn the_shutdown_token_tears_listen_streams_down() {
        let shutdown = CancellationToken::new();
        let config = StreamableHttpConfig::default().shutdown_token(shutdown.clone());
        let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
            .http_config(config)
            .into_http_service();
        let mut stream = listen(&service, 7).await;
        assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
        shutdown.cancel();
        let reason = "the server is shutting down";
        assert_eq!(next(&mut stream).await.unwrap(), torn_down(7, reason));
        assert_eq!(next(&mut stream).await, None);

        // A stream opened later is acknowledged, then closed at once.
        let mut late = listen(&service, 8).await;
        assert!(next(&mut late).await.unwrap().contains("acknowledged"));
        assert!(
            next(&mut late)
                .await
                .unwrap()
                .contains(r#""id":8,"result""#)
        );
        assert_eq!(next(&mut late).await, None);
    }
}
