//! Server→client requests waiting for the client's answer, which arrives as a separate POST.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mcp_core::jsonrpc::{ClientResponse, ErrorObject, RequestId};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

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

/// An [`Answerer`] kept with its request.
#[derive(Debug)]
enum Owner {
    Session(Box<str>),
    Principal(Box<str>),
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
/// may answer it.
#[derive(Debug)]
pub(crate) struct PendingRequests {
    next: AtomicU64,
    waiting: Mutex<HashMap<RequestId, (Owner, Reply)>>,
    max: usize,
}

impl PendingRequests {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            // Random start so ids are not guessable across restarts.
            next: AtomicU64::new(u64::from(rand::random::<u32>())),
            waiting: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// Registers `reply`, to be answered by `answerer`; the id to put on the request, or the
    /// reply back when full.
    pub(crate) fn register(
        &self,
        answerer: Answerer<'_>,
        reply: Reply,
    ) -> Result<RequestId, Reply> {
        let mut waiting = lock(&self.waiting);
        if waiting.len() >= self.max {
            return Err(reply);
        }
        let id = match answerer {
            // Only the session's own client can answer: a counter will do.
            Answerer::Session(_) => {
                let id = self.next.fetch_add(1, Ordering::Relaxed) & (i64::MAX as u64);
                RequestId::Number(id as i64)
            }
            // Without a session the id is the only secret between the server and the client
            // asked (the only one, when anonymous): 128 random bits, as a string, which
            // clients echo exactly where a JavaScript client would round a large number.
            Answerer::Principal(_) | Answerer::Anyone => {
                let bytes: [u8; 16] = rand::random();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                RequestId::String(Arc::from(hex))
            }
        };
        waiting.insert(id.clone(), (answerer.owned(), reply));
        Ok(id)
    }

    /// Delivers a client's answer; false when nobody waits for it, or not from `answerer`.
    pub(crate) fn complete(&self, answerer: Answerer<'_>, response: ClientResponse) -> bool {
        let Some(id) = &response.id else {
            return false;
        };
        let mut waiting = lock(&self.waiting);
        match waiting.get(id) {
            Some((owner, _)) if owner.is(answerer) => {}
            _ => return false,
        }
        let Some((_, reply)) = waiting.remove(id) else {
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
        let pending = PendingRequests::new(10);
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
        let pending = PendingRequests::new(10);
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
        let pending = PendingRequests::new(10);
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
}
