//! Server→client requests waiting for the client's answer, which arrives as a separate POST.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mcp_core::jsonrpc::{ClientResponse, ErrorObject, RequestId};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::session::lock;

type Reply = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;

/// Bounded map of awaited answers, keyed by the server-assigned id; each entry remembers the
/// session that may answer it.
#[derive(Debug)]
pub(crate) struct PendingRequests {
    next: AtomicU64,
    waiting: Mutex<HashMap<i64, (String, Reply)>>,
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

    /// Registers `reply`; the id to put on the request, or the reply back when full.
    pub(crate) fn register(&self, session: &str, reply: Reply) -> Result<RequestId, Reply> {
        let mut waiting = lock(&self.waiting);
        if waiting.len() >= self.max {
            return Err(reply);
        }
        let id = (self.next.fetch_add(1, Ordering::Relaxed) & (i64::MAX as u64)) as i64;
        waiting.insert(id, (session.to_owned(), reply));
        Ok(RequestId::Number(id))
    }

    /// Delivers a client's answer; false when nobody waits for it (or another session).
    pub(crate) fn complete(&self, session: &str, response: ClientResponse) -> bool {
        let Some(RequestId::Number(id)) = response.id else {
            return false;
        };
        let mut waiting = lock(&self.waiting);
        match waiting.get(&id) {
            Some((owner, _)) if owner == session => {}
            _ => return false,
        }
        let Some((_, reply)) = waiting.remove(&id) else {
            return false;
        };
        drop(waiting);
        reply.send(response.result).is_ok()
    }

    /// Forgets a request whose stream ended (the awaiting handler sees "no answer").
    pub(crate) fn forget(&self, id: &RequestId) {
        if let RequestId::Number(id) = id {
            lock(&self.waiting).remove(id);
        }
    }
}
