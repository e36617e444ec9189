//! Server→client requests waiting for the client's answer, which arrives as a separate POST.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use mcp_core::jsonrpc::{ClientResponse, ErrorObject, RequestId};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::counts::CountsPerKey;
use crate::session::lock;

type Reply = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;

/// Who may answer a server→client request: the client that was asked, as far as the server
/// can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answerer<'a> {
    /// The session the request was sent in (its id is a secret of that client).
    Session(&'a str),
    /// Stateless, authenticated: the principal whose request sent it, by
    /// [`Principal::id`](mcp_core::Principal::id), as sessions are bound.
    Principal(&'a str),
    /// Stateless and anonymous: whoever holds the request's id, which is then unguessable.
    Anyone,
}

impl<'a> Answerer<'a> {
    /// The answerer of a message that came with `session`, else with `principal`.
    pub(crate) fn of(session: Option<&'a str>, principal: Option<&'a mcp_core::Principal>) -> Self {
        match (session, principal) {
            (Some(session), _) => Self::Session(session),
            (None, Some(principal)) => Self::Principal(principal.id()),
            (None, None) => Self::Anyone,
        }
    }

    fn owned(self) -> Owner {
        match self {
            Self::Session(id) => Owner::Session(id.into()),
            Self::Principal(id) => Owner::Principal(id.into()),
            Self::Anyone => Owner::Anyone,
        }
    }
}

/// An [`Answerer`] kept with its request, and the key of what it has waiting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Session(Arc<str>),
    Principal(Arc<str>),
    Anyone,
}

impl Owner {
    fn is(&self, answerer: Answerer<'_>) -> bool {
        match (self, answerer) {
            (Self::Session(a), Answerer::Session(b))
            | (Self::Principal(a), Answerer::Principal(b)) => **a == *b,
            (Self::Anyone, Answerer::Anyone) => true,
            _ => false,
        }
    }
}

/// Bounded map of awaited answers, keyed by the server-assigned id; each entry remembers who
/// may answer it. Bounded in all, and per session (or, without one, per principal) so that
/// one client cannot take every slot.
#[derive(Debug)]
pub(crate) struct PendingRequests {
    waiting: Mutex<Waiting>,
    max: usize,
    max_per_client: usize,
}

#[derive(Debug, Default)]
struct Waiting {
    replies: HashMap<RequestId, (Owner, Reply)>,
    /// How many each session or principal has waiting; anonymous stateless clients, who
    /// cannot be told apart, count only in the total.
    per_client: CountsPerKey<Owner>,
}

impl Waiting {
    fn remove(&mut self, id: &RequestId) -> Option<Reply> {
        let (owner, reply) = self.replies.remove(id)?;
        self.per_client.give_back(&owner);
        Some(reply)
    }
}

impl PendingRequests {
    /// At most `max` awaited answers, at most `max_per_client` of one session or principal.
    pub(crate) fn new(max: usize, max_per_client: usize) -> Self {
        Self {
            waiting: Mutex::new(Waiting::default()),
            max: max.max(1),
            max_per_client: max_per_client.max(1),
        }
    }

    /// Registers `reply`, to be answered by `answerer`; the id to put on the request, or the
    /// reply back when full, in all or for this client.
    pub(crate) fn register(
        &self,
        answerer: Answerer<'_>,
        reply: Reply,
    ) -> Result<RequestId, Reply> {
        let owner = answerer.owned();
        let mut waiting = lock(&self.waiting);
        if waiting.replies.len() >= self.max {
            return Err(reply);
        }
        if owner != Owner::Anyone && !waiting.per_client.take(&owner, self.max_per_client) {
            return Err(reply);
        }
        let id = match answerer {
            // Only the session's own client can answer, but a counter shared by every
            // session would tell each client how many requests the others were sent: a random
            // number instead, of 53 bits (a JavaScript client keeps it exact), unused.
            Answerer::Session(_) => loop {
                let id = RequestId::Number((rand::random::<u64>() >> 11) as i64);
                if !waiting.replies.contains_key(&id) {
                    break id;
                }
            },
            // Without a session the id is the only secret between the server and the client
            // asked (the only one, when anonymous): 128 random bits, as a string, which
            // clients echo exactly where a JavaScript client would round a large number.
            Answerer::Principal(_) | Answerer::Anyone => {
                let bytes: [u8; 16] = rand::random();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                RequestId::String(Arc::from(hex))
            }
        };
        waiting.replies.insert(id.clone(), (owner, reply));
        Ok(id)
    }

    /// Delivers a client's answer; false when nobody waits for it, or not from `answerer`.
    pub(crate) fn complete(&self, answerer: Answerer<'_>, response: ClientResponse) -> bool {
        let Some(id) = &response.id else {
            return false;
        };
        let mut waiting = lock(&self.waiting);
        match waiting.replies.get(id) {
            Some((owner, _)) if owner.is(answerer) => {}
            _ => return false,
        }
        let Some(reply) = waiting.remove(id) else {
            return false;
        };
        drop(waiting);
        reply.send(response.result).is_ok()
    }

    /// Forgets a request whose stream ended (the awaiting handler sees "no answer"); whether
    /// it was still unanswered.
    pub(crate) fn forget(&self, id: &RequestId) -> bool {
        lock(&self.waiting).remove(id).is_some()
    }

    /// Completes with the first request of `asked` whose asker stopped waiting (it timed
    /// out, or was cancelled), forgotten now so that its slot is free and the client can be
    /// told; drops from `asked` the requests answered meanwhile.
    pub(crate) async fn abandoned(&self, asked: &mut Vec<RequestId>) -> RequestId {
        std::future::poll_fn(|cx| {
            let mut waiting = lock(&self.waiting);
            let mut gone = None;
            asked.retain(|id| {
                if gone.is_some() {
                    return true;
                }
                let Some((_, reply)) = waiting.replies.get_mut(id) else {
                    return false;
                };
                // Wakes this task when the asker drops its end.
                if reply.poll_closed(cx).is_pending() {
                    return true;
                }
                gone = Some(id.clone());
                false
            });
            match gone {
                Some(id) => {
                    waiting.remove(&id);
                    Poll::Ready(id)
                }
                None => Poll::Pending,
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(id: RequestId) -> ClientResponse {
        ClientResponse {
            id: Some(id),
            result: Ok(RawValue::from_string("{}".to_owned()).unwrap()),
        }
    }

    #[test]
    fn only_the_client_asked_can_answer() {
        let pending = PendingRequests::new(10, 10);
        for (asked, others) in [
            (
                Answerer::Session("a"),
                [Answerer::Session("b"), Answerer::Anyone],
            ),
            (
                Answerer::Principal("alice"),
                [Answerer::Principal("bob"), Answerer::Anyone],
            ),
            (
                Answerer::Principal("a"),
                [Answerer::Session("a"), Answerer::Anyone],
            ),
        ] {
            let (reply, mut answered) = oneshot::channel();
            let id = pending.register(asked, reply).unwrap();
            for other in others {
                assert!(!pending.complete(other, answer(id.clone())), "{other:?}");
            }
            assert!(answered.try_recv().is_err());
            assert!(pending.complete(asked, answer(id)));
            assert!(answered.try_recv().unwrap().is_ok());
        }
    }

    /// The same subject from two issuers is two callers, as for sessions: one cannot answer
    /// the other's request.
    #[test]
    fn a_stateless_answer_is_bound_to_the_issuer_qualified_principal() {
        let pending = PendingRequests::new(10, 10);
        let alice_a = mcp_core::Principal::new("alice").with_issuer("https://a.example");
        let alice_b = mcp_core::Principal::new("alice").with_issuer("https://b.example");
        let asked = Answerer::of(None, Some(&alice_a));
        let (reply, mut answered) = oneshot::channel();
        let id = pending.register(asked, reply).unwrap();
        let other = Answerer::of(None, Some(&alice_b));
        assert!(!pending.complete(other, answer(id.clone())));
        assert!(answered.try_recv().is_err());
        assert!(pending.complete(asked, answer(id)));
        assert!(answered.try_recv().unwrap().is_ok());
    }

    #[test]
    fn ids_without_a_session_are_not_sequential() {
        let pending = PendingRequests::new(10, 10);
        let (reply, _answered) = oneshot::channel();
        let first = pending.register(Answerer::Anyone, reply).unwrap();
        let RequestId::String(first) = first else {
            panic!("a random string id: {first:?}");
        };
        assert_eq!(first.len(), 32);
        let (reply, _answered) = oneshot::channel();
        let second = pending.register(Answerer::Anyone, reply).unwrap();
        assert_ne!(RequestId::String(first), second);
    }

    /// A counter shared by every session would tell one session's client how many requests
    /// the others were sent between its own.
    #[test]
    fn session_ids_tell_nothing_of_other_sessions() {
        let pending = PendingRequests::new(100, 100);
        let mut replies = Vec::new();
        let mut ids = Vec::new();
        for session in ["a", "b", "a", "b", "a", "b", "a", "b"] {
            let (reply, answered) = oneshot::channel();
            replies.push(answered);
            match pending.register(Answerer::Session(session), reply).unwrap() {
                // Exact in a JavaScript client.
                RequestId::Number(id) => {
                    assert!((0..1 << 53).contains(&id), "{id}");
                    ids.push(id);
                }
                other => panic!("a number id: {other:?}"),
            }
        }
        let steps: Vec<i64> = ids.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            steps.iter().any(|&step| step != 1),
            "sequential ids: {ids:?}"
        );
    }

    #[test]
    fn one_session_or_principal_cannot_take_every_slot() {
        let pending = PendingRequests::new(5, 2);
        let mut kept = Vec::new();
        let mut register = |answerer| {
            let (reply, answered) = oneshot::channel();
            let id = pending.register(answerer, reply).ok();
            kept.push(answered);
            id
        };
        let first = register(Answerer::Session("a")).unwrap();
        assert!(register(Answerer::Session("a")).is_some());
        assert!(
            register(Answerer::Session("a")).is_none(),
            "a's share is full"
        );
        assert!(
            register(Answerer::Principal("a")).is_some(),
            "not the same client"
        );
        assert!(register(Answerer::Session("b")).is_some());
        // Anonymous stateless clients count in the total only.
        assert!(register(Answerer::Anyone).is_some());
        assert!(
            register(Answerer::Principal("c")).is_none(),
            "the total is full"
        );
        // An answered request frees its slot in both.
        assert!(pending.complete(Answerer::Session("a"), answer(first)));
        assert!(register(Answerer::Session("a")).is_some());
    }

    #[tokio::test]
    async fn a_request_whose_asker_stopped_waiting_is_forgotten_at_once() {
        let pending = PendingRequests::new(10, 2);
        let (reply, answered) = oneshot::channel();
        let answered_id = pending.register(Answerer::Session("a"), reply).unwrap();
        let (reply, kept) = oneshot::channel();
        let kept_id = pending.register(Answerer::Session("a"), reply).unwrap();
        let (reply, given_up) = oneshot::channel();
        assert!(pending.register(Answerer::Session("a"), reply).is_err());
        drop(given_up);
        let mut asked = vec![answered_id.clone(), kept_id.clone()];
        assert!(pending.complete(Answerer::Session("a"), answer(answered_id)));
        drop(answered);
        let abandoned = {
            let waiting = pending.abandoned(&mut asked);
            tokio::pin!(waiting);
            let first_poll = std::future::poll_fn(|cx| Poll::Ready(waiting.as_mut().poll(cx)));
            assert!(first_poll.await.is_pending());
            // Timed out, or cancelled: the asker drops its end.
            drop(kept);
            waiting.await
        };
        assert_eq!(abandoned, kept_id);
        assert!(
            asked.is_empty(),
            "neither answered nor abandoned ones are kept"
        );
        assert!(!pending.forget(&kept_id), "forgotten already");
        let (reply, _answered) = oneshot::channel();
        assert!(pending.register(Answerer::Session("a"), reply).is_ok());
    }
}

/// Server→client requests through the whole bridge.
#[cfg(test)]
mod bridge_tests {
    use std::pin::Pin;
    use std::time::Duration;

    use mcp_core::jsonrpc::ErrorObject;
    use mcp_core::{RequestContext, Router, Tool};
    use serde_json::{Value, json};

    use super::super::test_support::{initialize, post_in};
    use crate::body::{McpBody, next_text as next};
    use crate::{McpHttpService, McpServer, StreamableHttpConfig};

    type Ask<'a> = Pin<Box<dyn Future<Output = Result<Value, ErrorObject>> + Send + 'a>>;

    fn call(id: u32, tool: &str, arguments: Value) -> String {
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":tool,"arguments":arguments,"_meta":{"progressToken":id}}})
        .to_string()
    }

    /// Reads `body` up to its progress notification; the `ping` requests before it. (A
    /// frame may carry several events.)
    async fn pings_before_progress(body: &mut McpBody) -> usize {
        let mut pings = 0;
        loop {
            let frame = next(body).await.expect("the stream goes on");
            let (before, progress) = match frame.split_once("notifications/progress") {
                Some((before, _)) => (before, true),
                None => (frame.as_str(), false),
            };
            pings += before.matches(r#""method":"ping""#).count();
            if progress {
                return pings;
            }
        }
    }

    /// About 40 sessions asking 256 questions each no longer leave every other session
    /// unable to ask: a session's share of the pending requests is its own.
    #[tokio::test]
    async fn one_session_cannot_take_every_pending_slot() {
        // Asks `n` pings at once, says so with a progress notification, then waits.
        let ask = Tool::new("ask").raw_handler(|arguments, ctx: RequestContext| async move {
            let n = arguments["n"].as_u64().unwrap();
            let params = json!({});
            let mut asks: Vec<Ask<'_>> = (0..n)
                .map(|_| Box::pin(ctx.request::<_, Value>("ping", &params)) as Ask<'_>)
                .collect();
            // One poll each sends every request before the progress: the queue has room,
            // and tokio's cooperative budget would stop the sends after 128.
            tokio::task::unconstrained(std::future::poll_fn(|cx| {
                for ask in &mut asks {
                    assert!(ask.as_mut().poll(cx).is_pending(), "refused only once sent");
                }
                std::task::Poll::Ready(())
            }))
            .await;
            ctx.progress(1.0, None, Some("asked")).await;
            std::future::pending::<&str>().await
        });
        let config = StreamableHttpConfig::default()
            .max_pending_client_requests(300)
            .outbound_capacity(400);
        let service: McpHttpService<McpBody> =
            McpServer::builder(Router::builder().tool(ask).build())
                .http_config(config)
                .into_http_service();
        let greedy = initialize(&service).await;
        let response = post_in(&service, &greedy, &call(1, "ask", json!({"n": 300}))).await;
        let mut greedy_stream = response.into_body();
        assert_eq!(pings_before_progress(&mut greedy_stream).await, 256);

        let other = initialize(&service).await;
        let response = post_in(&service, &other, &call(1, "ask", json!({"n": 1}))).await;
        let mut other_stream = response.into_body();
        assert_eq!(
            pings_before_progress(&mut other_stream).await,
            1,
            "not refused"
        );
    }

    /// When the handler gives up on an answer (`client_request_timeout`), the client is told
    /// at once, not when the handler ends, and the request's slot is free for the next.
    #[tokio::test]
    async fn a_timed_out_request_is_cancelled_and_forgotten_at_once() {
        let patient = Tool::new("patient").raw_handler(|_, ctx: RequestContext| async move {
            let first = ctx.request::<_, Value>("ping", &json!({})).await;
            assert!(first.is_err(), "never answered");
            match ctx.request::<_, Value>("ping", &json!({})).await {
                Ok(_) => "answered".to_owned(),
                Err(error) => error.message.into_owned(),
            }
        });
        let router = Router::builder()
            .tool(patient)
            .client_request_timeout(Duration::from_millis(100))
            .build();
        // One slot: the second request needs the first one's.
        let config = StreamableHttpConfig::default().max_pending_client_requests(1);
        let service: McpHttpService<McpBody> = McpServer::builder(router)
            .http_config(config)
            .into_http_service();
        let session = initialize(&service).await;
        let response = post_in(&service, &session, &call(1, "patient", json!({}))).await;
        let mut stream = response.into_body();
        next(&mut stream).await.expect("the priming event");
        let first = next(&mut stream).await.unwrap();
        assert!(first.contains(r#""method":"ping""#), "{first}");
        let cancelled = next(&mut stream).await.unwrap();
        assert!(cancelled.contains("notifications/cancelled"), "{cancelled}");
        let asked = first
            .split(r#""id":"#)
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert!(
            cancelled.contains(&format!(r#""requestId":{asked}"#)),
            "{cancelled}"
        );
        let second = next(&mut stream).await.unwrap();
        assert!(
            second.contains(r#""method":"ping""#),
            "sent, not refused: {second}"
        );
        let mut last = String::new();
        while let Some(frame) = next(&mut stream).await {
            last = frame;
        }
        assert!(last.contains("did not answer ping in time"), "{last}");
    }
}
