//! Legacy-era sessions (`Mcp-Session-Id`): the store, its limits, and the [`SessionLayer`].
//!
//! A session is created by the bridge when an `initialize` succeeds, bound to the principal
//! that created it, found again by its id on later requests, ended by DELETE or by being idle
//! longer than the TTL. The modern era (2026-07-28) has no sessions.

mod fan_out;
mod layer;
mod store;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use mcp_core::protocol::{ClientCapabilities, LoggingLevel};
use mcp_core::{ClientPeer, ProtocolVersion};
use tokio_util::sync::CancellationToken;

#[cfg(test)]
pub(crate) use fan_out::deliver;
pub(crate) use fan_out::{Delivery, EventSink, resync_lines};

pub use layer::{SessionLayer, SessionService};
pub use store::{InMemorySessionStore, SessionStore, StoreFull};

/// The JSON-RPC code of "Session not found" (and of a request whose session ended while it
/// ran), as the reference SDK answers it.
pub(crate) const SESSION_NOT_FOUND: i32 = -32001;

/// Limits and timings of sessions. Every collection a session holds is bounded here.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower::SessionConfig;
///
/// let config = SessionConfig::default().idle_ttl(Duration::from_secs(600)).max_sessions(50_000);
/// assert_eq!(config.max_sessions_value(), 50_000);
/// ```
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub(crate) idle_ttl: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_principal: usize,
    pub(crate) max_subscriptions: usize,
    pub(crate) max_subscription_bytes: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) stream_capacity: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_ttl: Duration::from_secs(30 * 60),
            max_sessions: 10_000,
            max_sessions_per_principal: 1_000,
            max_subscriptions: 1_000,
            max_subscription_bytes: 256 * 1024,
            max_in_flight: 256,
            stream_capacity: 256,
        }
    }
}

impl SessionConfig {
    /// How long a session may stay unused before it is reaped (default 30 min).
    pub fn idle_ttl(mut self, ttl: Duration) -> Self {
        self.idle_ttl = ttl.max(Duration::from_millis(10));
        self
    }

    /// The most sessions alive at once (default 10 000); `initialize` beyond it gets 503.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// The most sessions one principal (an authenticated subject) may hold at once (default
    /// 1 000, a tenth of the default [`max_sessions`](Self::max_sessions)), so that one client
    /// cannot take the whole server's sessions; `initialize` beyond it gets 429. Sessions of
    /// unauthenticated clients count only against `max_sessions`.
    ///
    /// ```
    /// let config = mcp_tower::SessionConfig::default().max_sessions_per_principal(20);
    /// # let _ = config;
    /// ```
    pub fn max_sessions_per_principal(mut self, max: usize) -> Self {
        self.max_sessions_per_principal = max.max(1);
        self
    }

    /// The configured maximum number of sessions.
    pub fn max_sessions_value(&self) -> usize {
        self.max_sessions
    }

    /// The most resource subscriptions per session (default 1 000).
    pub fn max_subscriptions(mut self, max: usize) -> Self {
        self.max_subscriptions = max;
        self
    }

    /// The most bytes of URIs a session's resource subscriptions may hold together (default
    /// 256 KiB): the count alone does not bound them, a URI being as long as a request body.
    /// A `resources/subscribe` beyond it is answered -32000.
    ///
    /// ```
    /// let config = mcp_tower::SessionConfig::default().max_subscription_bytes(64 * 1024);
    /// # let _ = config;
    /// ```
    pub fn max_subscription_bytes(mut self, max: usize) -> Self {
        self.max_subscription_bytes = max;
        self
    }

    /// The most concurrent requests per session (default 256); each request of a batch
    /// counts as one, and a request the client cancelled counts until its handler is gone.
    /// A request beyond it is answered -32000.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// How many messages the session's GET stream may queue for a slow client (default 256).
    /// A message that finds the queue full is still recorded in the event store, and the
    /// stream's connection ends once it has written what it queued, so that the client
    /// resumes from the last event it read (`Last-Event-ID`) and misses nothing the store
    /// still holds.
    pub fn stream_capacity(mut self, capacity: usize) -> Self {
        self.stream_capacity = capacity.max(1);
        self
    }
}

/// One live legacy session.
#[derive(Debug)]
pub struct LiveSession {
    id: Arc<str>,
    principal: Option<String>,
    /// The latest request's: a new token of the same principal may carry another plan.
    allow_list: ArcSwapOption<mcp_core::AllowList>,
    version: ProtocolVersion,
    capabilities: Arc<ClientCapabilities>,
    log_level: Mutex<Option<LoggingLevel>>,
    subscriptions: Mutex<Subscriptions>,
    /// foldhash, seeded per process: SipHash of the id was a tenth of a session request's
    /// routing cost, and the map is capped (`max_in_flight`), so flooding it gains nothing.
    in_flight: Mutex<HashMap<RequestId, ClientPeer, foldhash::fast::RandomState>>,
    /// The requests the session's end cancelled (not those their client had cancelled): they
    /// are told the session ended.
    ended_requests: Mutex<Vec<RequestId>>,
    /// The GET stream, written straight into by the fan-out; kept after its client leaves,
    /// recording for the client to resume it, until replaced or the session ends.
    stream: Mutex<Option<Box<dyn EventSink>>>,
    last_seen: AtomicU64,
    terminated: AtomicBool,
    /// Cancelled by [`terminate`](Self::terminate); made only when something (a task) asks
    /// to end with the session, so that sessions without tasks pay nothing for it. Behind a
    /// lock with the flag's check, so that a token made as the session ends is cancelled.
    end: Mutex<Option<CancellationToken>>,
    epoch: Instant,
    config: Arc<SessionConfig>,
}

/// A session's resource subscriptions, bounded in count and in bytes.
#[derive(Debug, Default)]
struct Subscriptions {
    /// foldhash, seeded per process: a fan-out looks the URI up in every session's set, and
    /// SipHash of it was a twelfth of the user-space instructions per stream (callgrind,
    /// `load run` fan-out). The set is capped (`max_subscriptions`), as `in_flight` is.
    uris: HashSet<String, foldhash::fast::RandomState>,
    /// The length of the URIs together.
    bytes: usize,
}

/// What a new session starts with.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The identity ([`Principal::id`](mcp_core::Principal::id)) of the principal that ran
    /// `initialize` (`None`: unauthenticated).
    pub principal: Option<String>,
    /// The negotiated version.
    pub version: ProtocolVersion,
    /// What the client declared.
    pub capabilities: ClientCapabilities,
    /// What the principal may see (filters the notifications the session gets).
    pub allow_list: Option<mcp_core::AllowList>,
}

fn new_session_id() -> String {
    // 128 bits from the OS-seeded CSPRNG, as hex: visible ASCII, safe in a header.
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl LiveSession {
    pub(crate) fn new(new: NewSession, config: Arc<SessionConfig>, epoch: Instant) -> Self {
        let session = Self {
            id: Arc::from(new_session_id()),
            principal: new.principal,
            allow_list: ArcSwapOption::from(new.allow_list.map(Arc::new)),
            version: new.version,
            capabilities: Arc::new(new.capabilities),
            log_level: Mutex::new(None),
            subscriptions: Mutex::new(Subscriptions::default()),
            in_flight: Mutex::new(HashMap::default()),
            ended_requests: Mutex::new(Vec::new()),
            stream: Mutex::new(None),
            last_seen: AtomicU64::new(0),
            terminated: AtomicBool::new(false),
            end: Mutex::new(None),
            epoch,
            config,
        };
        session.touch();
        session
    }

    /// The identity ([`Principal::id`](mcp_core::Principal::id)) of the principal the session
    /// is bound to.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// Marks the session as used now.
    pub fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        // Written only when it moved on by a 64th of the TTL: every request of a session
        // touches it, and a write to a line both cores read makes the other core fetch it
        // again. Expiry is then early by at most that 64th.
        let slack = (self.config.idle_ttl.as_millis() / 64) as u64;
        if now.saturating_sub(self.last_seen.load(Ordering::Relaxed)) > slack {
            self.last_seen.store(now, Ordering::Relaxed);
        }
    }

    /// Whether the session has been idle longer than its TTL.
    pub fn is_idle(&self, now: Instant) -> bool {
        let idle_for = now
            .duration_since(self.epoch)
            .as_millis()
            .saturating_sub(u128::from(self.last_seen.load(Ordering::Relaxed)));
        let busy = !lock(&self.in_flight).is_empty() || self.has_stream();
        !busy && idle_for > self.config.idle_ttl.as_millis()
    }

    /// Ends the session: cancels its requests and its tasks, and closes its stream.
    pub fn terminate(&self) {
        {
            let end = lock(&self.end);
            self.terminated.store(true, Ordering::Release);
            if let Some(end) = &*end {
                end.cancel();
            }
        }
        // Recorded before each cancellation, which its request may see at once.
        let mut ended = lock(&self.ended_requests);
        for (id, peer) in lock(&self.in_flight).drain() {
            if !peer.is_cancelled() {
                ended.push(id);
                peer.cancel();
            }
        }
        drop(ended);
        lock(&self.stream).take();
    }

    /// Whether the session's end cancelled the request `id` (rather than its client).
    pub(crate) fn ended_request(&self, id: &RequestId) -> bool {
        self.is_terminated() && lock(&self.ended_requests).contains(id)
    }

    /// Whether DELETE or expiry ended the session.
    pub fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Registers an in-flight request and the peer that cancels it; refuses a duplicate id
    /// (-32600) or too many requests. The peer, not a token of its own: a cancellation token
    /// is an allocation whose clones and drops take a lock, and a peer made with
    /// [`ClientPeer::cancellable_channel`] makes one only if the handler asks.
    pub fn begin_request(&self, id: &RequestId, peer: &ClientPeer) -> Result<(), ErrorObject> {
        let mut in_flight = lock(&self.in_flight);
        // Under the lock `terminate` drains: a request that raced it in is refused here
        // rather than left registered, uncancelled, on an ended session.
        if self.is_terminated() {
            return Err(ErrorObject::invalid_request(
                "Invalid Request: the session has ended",
            ));
        }
        if in_flight.contains_key(id) {
            return Err(ErrorObject::invalid_request(format!(
                "Invalid Request: request id {id} is already in flight in this session"
            )));
        }
        if in_flight.len() >= self.config.max_in_flight {
            return Err(ErrorObject::new(
                mcp_core::jsonrpc::codes::SERVER_ERROR,
                "Too many concurrent requests in this session",
            ));
        }
        in_flight.insert(id.clone(), peer.clone());
        Ok(())
    }

    /// Forgets a finished request: the one `peer` (given to
    /// [`begin_request`](Self::begin_request)) belongs to, so that a request that ends late
    /// cannot forget a later one registered under the same id.
    pub fn end_request(&self, id: &RequestId, peer: &ClientPeer) {
        {
            let mut in_flight = lock(&self.in_flight);
            if in_flight
                .get(id)
                .is_some_and(|own| own.is_same_request(peer))
            {
                in_flight.remove(id);
            }
        }
        self.touch();
    }

    /// Cancels an in-flight request (`notifications/cancelled`); whether one has that id.
    /// The request stays registered until it ends: a handler that goes on regardless still
    /// counts against [`max_in_flight`](SessionConfig::max_in_flight), still holds its id,
    /// and is still cancelled with the session.
    pub fn cancel_request(&self, id: &RequestId) -> bool {
        match lock(&self.in_flight).get(id) {
            Some(peer) => {
                peer.cancel();
                true
            }
            None => false,
        }
    }

    /// Opens the session's standalone stream with the sink `open` makes from the stream's
    /// queue capacity, and returns what `open` returned alongside. A stream open before is
    /// replaced: its sink is dropped, which finishes it, and its connection ends once it has
    /// written what it queued. So each message still goes out on one connection, and a
    /// client that lost its connection unnoticed (a half-open one) is never locked out.
    pub(crate) fn open_stream<T>(&self, open: impl FnOnce(usize) -> (Box<dyn EventSink>, T)) -> T {
        let (sink, opened) = open(self.config.stream_capacity);
        let mut stream = lock(&self.stream);
        // A GET that raced `terminate` in gets a stream that ends at once, as the session's
        // would have.
        let replaced = if self.is_terminated() {
            Some(sink)
        } else {
            stream.replace(sink)
        };
        drop(stream);
        // Dropped outside the lock: finishing it touches the event store.
        drop(replaced);
        opened
    }

    /// Runs `resume` on the standalone stream, with the stream's queue capacity, when the
    /// session has one (attached or not); `None` otherwise. Holds the stream's lock
    /// throughout, so that no event is delivered meanwhile.
    pub(crate) fn resume_stream<T>(
        &self,
        resume: impl FnOnce(&mut dyn EventSink, usize) -> T,
    ) -> Option<T> {
        let mut stream = lock(&self.stream);
        let sink = stream.as_deref_mut()?;
        Some(resume(sink, self.config.stream_capacity))
    }

    /// Drops the standalone stream if it has closed (its client left, or the server ended
    /// it): its queue's writing end goes with it, so the body ends once drained. A stream
    /// opened since is kept.
    pub(crate) fn drop_closed_stream(&self) {
        let mut stream = lock(&self.stream);
        if stream.as_ref().is_some_and(|s| s.is_closed()) {
            *stream = None;
        }
    }

    /// Queues a server event on the standalone stream, when one is open.
    pub(crate) fn deliver(&self, data: &Bytes) -> Option<Delivery> {
        lock(&self.stream).as_mut().map(|sink| sink.try_event(data))
    }

    /// The URIs the session is subscribed to.
    pub(crate) fn subscribed_uris(&self) -> Vec<String> {
        lock(&self.subscriptions).uris.iter().cloned().collect()
    }

    /// Whether the standalone stream is open.
    pub(crate) fn has_stream(&self) -> bool {
        lock(&self.stream).as_ref().is_some_and(|s| !s.is_closed())
    }
}

impl mcp_core::Session for LiveSession {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::clone(&self.capabilities)
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        *lock(&self.log_level)
    }

    fn set_log_level(&self, level: LoggingLevel) {
        *lock(&self.log_level) = Some(level);
    }

    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject> {
        let mut subscriptions = lock(&self.subscriptions);
        if subscriptions.uris.contains(uri) {
            return Ok(());
        }
        let refusal = if subscriptions.uris.len() >= self.config.max_subscriptions {
            "Too many subscriptions in this session"
        } else if subscriptions.bytes + uri.len() > self.config.max_subscription_bytes {
            "The subscriptions of this session would exceed their byte limit"
        } else {
            subscriptions.bytes += uri.len();
            subscriptions.uris.insert(uri.to_owned());
            return Ok(());
        };
        Err(ErrorObject::new(
            mcp_core::jsonrpc::codes::SERVER_ERROR,
            refusal,
        ))
    }

    fn unsubscribe(&self, uri: &str) {
        let mut subscriptions = lock(&self.subscriptions);
        if subscriptions.uris.remove(uri) {
            subscriptions.bytes -= uri.len();
        }
    }

    fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.subscriptions).uris.contains(uri)
    }

    fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    fn end_token(&self) -> Option<CancellationToken> {
        let mut end = lock(&self.end);
        let end = end.get_or_insert_with(CancellationToken::new);
        // Under the lock `terminate` sets the flag under: a session that already ended did
        // not cancel a token made after it.
        if self.terminated.load(Ordering::Acquire) {
            end.cancel();
        }
        Some(end.child_token())
    }

    fn allow_list(&self) -> Option<mcp_core::AllowList> {
        self.allow_list.load().as_deref().cloned()
    }

    /// Written only on a change, so that requests sharing a session do not contend on it.
    fn set_allow_list(&self, current: Option<&mcp_core::AllowList>) {
        if self.allow_list.load().as_deref() != current {
            self.allow_list.store(current.cloned().map(Arc::new));
        }
    }
}

/// Locks a mutex, shrugging off poisoning: the data stays consistent under every panic
/// point in this module (single inserts and removals).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the bridge needs to create sessions: put into the request extensions by
/// [`SessionLayer`].
#[derive(Clone)]
pub struct SessionManager {
    pub(crate) store: Arc<dyn SessionStore>,
    /// Whether a router's events reach these sessions' GET streams
    /// ([`SessionLayer::deliver_events_from`](crate::SessionLayer::deliver_events_from)):
    /// without them, no list changes or resource updates are offered.
    pub(crate) delivers_events: bool,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager").finish_non_exhaustive()
    }
}

impl SessionManager {
    /// Creates a session.
    pub fn create(&self, new: NewSession) -> Result<Arc<LiveSession>, StoreFull> {
        self.store.create(new)
    }

    /// The store behind the manager.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }
}

#[cfg(test)]
mod tests;
