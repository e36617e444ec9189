//! A 2025-03-26 batch POSTed in a session: each of its requests is registered with the
//! session as a lone request is, so that every per-session control reaches it
//! (`max_in_flight`, duplicate ids, `notifications/cancelled`, DELETE and expiry, idleness).

use std::collections::HashMap;
use std::sync::Arc;

use http::{Response, StatusCode};
use mcp_core::jsonrpc::{self, Message, RequestId};
use mcp_core::{ClientPeer, McpRequest};
use tower::ServiceExt;

use super::json_answer::json_response;
use super::{RpcService, sse_response};
use crate::batch::ItemPeers;
use crate::body::McpBody;
use crate::session::LiveSession;

/// A batch on its way to the RPC tier, with its requests' registration in their session.
pub(super) struct Batch {
    pub(super) request: McpRequest,
    pub(super) registered: Option<Registered>,
    /// Nothing but notifications: input the server accepts with 202 or refuses with an
    /// HTTP error status.
    pub(super) only_notifications: bool,
}

impl Batch {
    /// `items` (client responses already taken out) on their way to the RPC tier.
    pub(super) fn new(
        mut items: Vec<Result<Message, jsonrpc::Response>>,
        version: mcp_core::ProtocolVersion,
        mut extensions: http::Extensions,
        session: Option<Arc<LiveSession>>,
    ) -> Self {
        let only_notifications = items
            .iter()
            .all(|item| matches!(item, Ok(Message::Notification(_))));
        let registered =
            session.map(|session| Registered::register(session, &mut items, &mut extensions));
        Self {
            request: McpRequest {
                message: Message::Batch(items),
                version,
                extensions,
            },
            registered,
            only_notifications,
        }
    }
}

/// The requests of a batch registered with their session, each under a peer of its own;
/// ended there however the batch ends, and cancelled if it ends unanswered (the client
/// went away), as a lone request is.
pub(super) struct Registered {
    session: Arc<LiveSession>,
    peers: Vec<(RequestId, ClientPeer)>,
    answered: bool,
}

impl Registered {
    /// Registers each request of `items` with `session`, under a peer of its own, and puts
    /// the peers where the batch layer gives each item its own. A request the session
    /// refuses (too many in flight, an id already in flight) is replaced by its refusal,
    /// which keeps its place in the batch's answer. A `notifications/cancelled` item cancels
    /// a request before it in the batch, as it would had it come in a later POST.
    fn register(
        session: Arc<LiveSession>,
        items: &mut [Result<Message, jsonrpc::Response>],
        extensions: &mut http::Extensions,
    ) -> Self {
        let mut peers: Vec<(RequestId, ClientPeer)> = Vec::new();
        for item in items.iter_mut() {
            if let Ok(Message::Notification(notification)) = item
                && notification.method == "notifications/cancelled"
                && let Some(id) = notification
                    .params
                    .as_deref()
                    .and_then(jsonrpc::cancelled_request_id)
                && let Some((_, peer)) = peers.iter().find(|(earlier, _)| *earlier == id)
            {
                peer.cancel();
                continue;
            }
            let Ok(Message::Request(request)) = item else {
                continue;
            };
            // The answer is JSON: nothing carries what a handler sends, whose sends then fail
            // as on a JSON-only endpoint. The peer carries the item's cancellation.
            let (peer, _outbound) = ClientPeer::cancellable_channel(1);
            match session.begin_request(&request.id, &peer) {
                Ok(()) => peers.push((request.id.clone(), peer)),
                Err(error) => {
                    *item = Err(jsonrpc::Response::error(Some(request.id.clone()), error));
                }
            }
        }
        if !peers.is_empty() {
            let by_id: HashMap<RequestId, ClientPeer> = peers.iter().cloned().collect();
            extensions.insert(ItemPeers(Arc::new(by_id)));
        }
        Self {
            session,
            peers,
            answered: false,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        for (id, peer) in &self.peers {
            if !self.answered {
                peer.cancel();
            }
            self.session.end_request(id, peer);
        }
    }
}

impl Batch {
    /// Runs the batch through the RPC tier and answers with JSON; with a stream that ends
    /// without a response when every request of it was cancelled (a request is never
    /// answered with the 202 of a notification).
    pub(super) async fn answer<S: RpcService>(
        self,
        inner: S,
        request_headers: usize,
    ) -> Response<McpBody> {
        let Batch {
            request,
            mut registered,
            only_notifications,
        } = self;
        let version = request.version;
        // Declared after `registered`: dropped first if the client goes away, so that no
        // handler runs once its request has ended in the session.
        let mut call = std::pin::pin!(inner.oneshot(request));
        let response = call.as_mut().await.unwrap_or_default();
        let had_requests = match &mut registered {
            Some(registered) => {
                registered.answered = true;
                !registered.peers.is_empty()
            }
            None => false,
        };
        drop(registered);
        if response.is_none() && had_requests {
            return sse_response(McpBody::empty(), request_headers);
        }
        let mut http = json_response(&response, version, request_headers);
        if only_notifications && http.status() == StatusCode::OK {
            // Answered at all, notifications were refused whole (a batch over the limit):
            // "If the server cannot accept the input, it MUST return an HTTP error status
            // code" (2025-03-26, Streamable HTTP), the JSON-RPC error as its body.
            *http.status_mut() = StatusCode::BAD_REQUEST;
        }
        http
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use http::{Method, StatusCode};
    use mcp_core::Router;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::super::test_support::{Holds, call_hold, cancel, hold_tool, initialize_as, request};
    use crate::body::{McpBody, next_text};
    use crate::session::SessionConfig;
    use crate::{McpHttpService, McpServer};

    const LEGACY: &str = "2025-03-26";

    fn service(holds: &Arc<Holds>, sessions: SessionConfig) -> McpHttpService<McpBody> {
        let router = Router::builder().tool(hold_tool(holds)).build();
        McpServer::builder(router)
            .sessions(sessions)
            .into_http_service()
    }

    async fn send(
        service: &McpHttpService<McpBody>,
        method: Method,
        session: &str,
        body: &str,
    ) -> http::Response<McpBody> {
        let headers = [
            ("mcp-session-id", session),
            ("mcp-protocol-version", LEGACY),
        ];
        let response = service.clone().oneshot(request(method, body, &headers));
        response.await.unwrap()
    }

    /// A batch POSTed in the background; its answer comes when every item has answered.
    fn post_batch(
        service: &McpHttpService<McpBody>,
        session: &str,
        items: &[String],
    ) -> tokio::task::JoinHandle<http::Response<McpBody>> {
        let (service, session) = (service.clone(), session.to_owned());
        let body = format!("[{}]", items.join(","));
        tokio::spawn(async move { send(&service, Method::POST, &session, &body).await })
    }

    /// The answer of a batch POSTed with [`post_batch`], within 5 s: its content type and body.
    async fn answer_of(
        batch: tokio::task::JoinHandle<http::Response<McpBody>>,
    ) -> (String, String) {
        let response = tokio::time::timeout(Duration::from_secs(5), batch)
            .await
            .expect("the batch is answered in time")
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let mut body = response.into_body();
        let mut text = String::new();
        while let Some(frame) = next_text(&mut body).await {
            text.push_str(&frame);
        }
        (content_type, text)
    }

    fn ping(id: u32) -> String {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#)
    }

    async fn error_code(response: http::Response<McpBody>) -> Value {
        let mut body = response.into_body();
        let text = next_text(&mut body).await.expect("an answer");
        let answer: Value = serde_json::from_str(&text).unwrap();
        answer["error"]["code"].clone()
    }

    /// Each request of a batch counts against `max_in_flight` and holds its id while it runs,
    /// as a lone request does; those refused get their error in their place in the answer.
    #[tokio::test]
    async fn batch_requests_count_in_flight_and_hold_their_ids() {
        let holds = Arc::new(Holds::default());
        let service = service(&holds, SessionConfig::default().max_in_flight(2));
        let session = initialize_as(&service, LEGACY).await;
        let items = [1, 2, 3, 1].map(|id| call_hold(id, false));
        let batch = post_batch(&service, &session, &items);
        holds.wait_live(2).await;
        // While the batch runs: the session is full, and its ids are taken.
        let full = send(&service, Method::POST, &session, &ping(9)).await;
        assert_eq!(error_code(full).await, -32000);

        holds.release.cancel();
        let (content_type, answer) = answer_of(batch).await;
        assert_eq!(content_type, "application/json");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let released = json!([{"type":"text","text":"released"}]);
        assert_eq!(answer[0]["id"], 1);
        assert_eq!(answer[0]["result"]["content"], released);
        assert_eq!(answer[1]["id"], 2);
        assert_eq!(answer[1]["result"]["content"], released);
        assert_eq!(answer[2]["id"], 3);
        assert_eq!(answer[2]["error"]["code"], -32000, "{answer}");
        assert_eq!(answer[3]["id"], 1);
        assert_eq!(answer[3]["error"]["code"], -32600, "{answer}");
        assert_eq!(answer.as_array().map(Vec::len), Some(4));
        assert_eq!(holds.most(), 2);

        // Answered, the batch's requests have left the session.
        let again = send(&service, Method::POST, &session, &ping(1)).await;
        let mut body = again.into_body();
        let text = next_text(&mut body).await.unwrap();
        assert_eq!(text, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    }

    /// A batch the batch layer refuses whole (over its limit) is answered with its error:
    /// 200 when it has requests, 400 when it has only notifications, which the server
    /// either accepts (202) or refuses with an HTTP error status (2025-03-26).
    #[tokio::test]
    async fn a_refused_batch_of_notifications_gets_an_http_error_status() {
        let holds = Arc::new(Holds::default());
        let service = service(&holds, SessionConfig::default());
        let session = initialize_as(&service, LEGACY).await;
        let over = crate::batch::DEFAULT_MAX_BATCH_SIZE + 1;
        let progress = |token: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{token},"progress":1}}}}"#
            )
        };
        let notifications: Vec<String> = (0..over).map(progress).collect();
        let body = format!("[{}]", notifications.join(","));
        let refused = send(&service, Method::POST, &session, &body).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_code(refused).await, -32600);

        let within = format!("[{}]", notifications[1..].join(","));
        let accepted = send(&service, Method::POST, &session, &within).await;
        assert_eq!(accepted.status(), StatusCode::ACCEPTED);

        let requests: Vec<String> = (0..over).map(|id| ping(id as u32)).collect();
        let body = format!("[{}]", requests.join(","));
        let refused = send(&service, Method::POST, &session, &body).await;
        assert_eq!(refused.status(), StatusCode::OK);
        assert_eq!(error_code(refused).await, -32600);
    }

    /// `notifications/cancelled` reaches one request of a batch (dropped, it is answered
    /// nothing), and DELETE every request of one (answered with a stream that ends without
    /// a response, as a lone cancelled request is).
    #[tokio::test]
    async fn cancellation_and_delete_reach_batch_requests() {
        let holds = Arc::new(Holds::default());
        let service = service(&holds, SessionConfig::default());
        let session = initialize_as(&service, LEGACY).await;
        let batch = post_batch(&service, &session, &[call_hold(1, false), ping(2)]);
        holds.wait_live(1).await;
        let cancelled = send(&service, Method::POST, &session, &cancel(1)).await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
        let (_, answer) = answer_of(batch).await;
        assert_eq!(answer, r#"[{"jsonrpc":"2.0","id":2,"result":{}}]"#);
        assert_eq!(holds.live(), 0, "the cancelled handler is gone");

        let batch = post_batch(
            &service,
            &session,
            &[call_hold(1, false), call_hold(2, false)],
        );
        holds.wait_live(2).await;
        let deleted = send(&service, Method::DELETE, &session, "").await;
        assert_eq!(deleted.status(), StatusCode::OK);
        let (content_type, answer) = answer_of(batch).await;
        assert_eq!(content_type, "text/event-stream");
        assert_eq!(answer, "", "no response once cancelled");
        assert_eq!(holds.live(), 0);
    }

    /// A `notifications/cancelled` in a batch cancels a request before it in the same batch,
    /// as it would in a later POST; one naming a request after it, or none, changes nothing.
    #[tokio::test]
    async fn a_cancellation_in_a_batch_reaches_a_request_before_it() {
        let holds = Arc::new(Holds::default());
        let service = service(&holds, SessionConfig::default());
        let session = initialize_as(&service, LEGACY).await;
        let batch = post_batch(
            &service,
            &session,
            &[cancel(3), call_hold(1, false), ping(2), cancel(1), ping(3)],
        );
        let (_, answer) = answer_of(batch).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let ids: Vec<&Value> = answer
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["id"])
            .collect();
        assert_eq!(ids, [&json!(2), &json!(3)], "{answer}");
        assert_eq!(holds.live(), 0, "the cancelled handler is gone");
    }

    /// A session whose batch runs is not idle: it outlives its TTL, and then ends once idle.
    #[tokio::test]
    async fn a_running_batch_keeps_its_session_alive() {
        let holds = Arc::new(Holds::default());
        let ttl = Duration::from_millis(40);
        let service = service(&holds, SessionConfig::default().idle_ttl(ttl));
        let session = initialize_as(&service, LEGACY).await;
        let batch = post_batch(&service, &session, &[call_hold(1, false)]);
        holds.wait_live(1).await;
        // Long past the TTL, with the reaper running every quarter of it.
        tokio::time::sleep(ttl * 4).await;
        let alive = send(&service, Method::POST, &session, &ping(2)).await;
        assert_eq!(
            alive.status(),
            StatusCode::OK,
            "not reaped while its batch runs"
        );
        holds.release.cancel();
        let (_, answer) = answer_of(batch).await;
        assert!(answer.contains(r#""id":1,"result""#), "{answer}");
    }
}
