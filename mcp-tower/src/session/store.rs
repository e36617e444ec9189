//! Where sessions live: the [`SessionStore`] trait and its in-memory default.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use super::{LiveSession, NewSession, SessionConfig};

/// A session count cap was reached.
///
/// ```
/// use mcp_tower::session::StoreFull;
///
/// assert_eq!(StoreFull::Principal.to_string(), "too many sessions for this principal");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFull {
    /// The server's cap ([`SessionConfig::max_sessions`]): `initialize` gets 503.
    Server,
    /// The cap of the principal that ran `initialize`
    /// ([`SessionConfig::max_sessions_per_principal`]): 429.
    Principal,
}

impl std::fmt::Display for StoreFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreFull::Server => "too many sessions",
            StoreFull::Principal => "too many sessions for this principal",
        })
    }
}

impl std::error::Error for StoreFull {}

/// Keeps sessions by id.
///
/// A session holds live state (its GET stream, requests waiting for the client's answers),
/// so a store hands out [`LiveSession`]s, which only [`InMemorySessionStore`] makes: a store
/// of your own wraps one and adds to it (counting, logging, an index), as
/// `mcp_telemetry::TelemetrySessionStore` does. A store shared between nodes is not possible
/// through this trait yet (see the README on scaling out).
///
/// Expiry does not go through [`remove`](Self::remove): the in-memory store reaps idle
/// sessions itself. A wrapper that keeps something per session must notice those ends on its
/// own, by sweeping what it keeps for sessions that [`LiveSession::is_terminated`] (or that
/// are gone, through a `Weak`), as `TelemetrySessionStore` does; otherwise what it kept for
/// expired sessions stays.
pub trait SessionStore: Send + Sync + 'static {
    /// Creates and stores a session; fails at a count cap.
    fn create(&self, new: NewSession) -> Result<Arc<LiveSession>, StoreFull>;
    /// Finds a live session.
    fn get(&self, id: &str) -> Option<Arc<LiveSession>>;
    /// Removes a session (DELETE) and returns it.
    fn remove(&self, id: &str) -> Option<Arc<LiveSession>>;
    /// Visits every live session (notification fan-out).
    fn for_each(&self, visit: &mut dyn FnMut(&Arc<LiveSession>));
    /// How many sessions are alive.
    fn len(&self) -> usize;
    /// Whether no session is alive.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The default store: a map in memory, capped in size (in all, and per principal), reaped in
/// the background.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_tower::SessionConfig;
/// use mcp_tower::session::{InMemorySessionStore, NewSession, SessionStore, StoreFull};
///
/// let store = InMemorySessionStore::new(SessionConfig::default().max_sessions(1));
/// let new = NewSession {
///     principal: None,
///     version: mcp_core::ProtocolVersion::V2025_11_25,
///     capabilities: Default::default(),
///     allow_list: None,
/// };
/// assert!(store.create(new.clone()).is_ok());
/// assert_eq!(store.create(new).unwrap_err(), StoreFull::Server); // the cap holds
/// # }
/// ```
#[derive(Clone)]
pub struct InMemorySessionStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    /// foldhash, seeded per process: only ids this server generated are ever inserted, so a
    /// client cannot choose colliding keys, and SipHash of the id on every request cost more.
    sessions: RwLock<Sessions>,
    config: Arc<SessionConfig>,
    epoch: Instant,
    reaper_started: std::sync::Once,
}

/// The sessions, and how many each principal holds (for its cap), under one lock.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<Arc<str>, Arc<LiveSession>, foldhash::fast::RandomState>,
    per_principal: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl Sessions {
    fn insert(&mut self, session: Arc<LiveSession>) {
        if let Some(principal) = session.principal() {
            *self.per_principal.entry(principal.to_owned()).or_default() += 1;
        }
        self.by_id.insert(Arc::clone(&session.id), session);
    }

    fn remove(&mut self, id: &str) -> Option<Arc<LiveSession>> {
        let session = self.by_id.remove(id)?;
        if let Some(principal) = session.principal()
            && let Some(count) = self.per_principal.get_mut(principal)
        {
            *count -= 1;
            if *count == 0 {
                self.per_principal.remove(principal);
            }
        }
        Some(session)
    }

    fn held_by(&self, principal: &str) -> usize {
        self.per_principal.get(principal).copied().unwrap_or(0)
    }
}

impl std::fmt::Debug for InMemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySessionStore")
            .field("sessions", &self.len())
            .finish_non_exhaustive()
    }
}

impl InMemorySessionStore {
    /// A store with these limits.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            inner: Arc::new(StoreInner {
                sessions: RwLock::new(Sessions::default()),
                config: Arc::new(config),
                epoch: Instant::now(),
                reaper_started: std::sync::Once::new(),
            }),
        }
    }

    /// Removes idle sessions now; returns how many.
    pub fn reap(&self) -> usize {
        reap(&self.inner)
    }

    fn start_reaper(&self) {
        // Started from the first `create`, which runs inside the runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.inner.reaper_started.call_once(|| {
            let weak: Weak<StoreInner> = Arc::downgrade(&self.inner);
            let period = (self.inner.config.idle_ttl / 4)
                .clamp(Duration::from_millis(5), Duration::from_secs(30));
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    let reaped = reap(&inner);
                    if reaped > 0 {
                        tracing::debug!(reaped, "expired idle sessions");
                    }
                }
            });
        });
    }
}

fn reap(inner: &StoreInner) -> usize {
    let now = Instant::now();
    let expired: Vec<Arc<LiveSession>> = {
        let sessions = inner.sessions.read().unwrap_or_else(|p| p.into_inner());
        sessions
            .by_id
            .values()
            .filter(|s| s.is_idle(now))
            .cloned()
            .collect()
    };
    if expired.is_empty() {
        return 0;
    }
    let mut sessions = inner.sessions.write().unwrap_or_else(|p| p.into_inner());
    for session in &expired {
        sessions.remove(mcp_core::Session::id(&**session));
        session.terminate();
        // DEBUG, as the other session logs of this crate: mcp-telemetry's
        // `session_terminated` is the INFO lifecycle event.
        tracing::debug!(
            session.id = mcp_core::Session::id(&**session),
            "session expired"
        );
    }
    expired.len()
}

impl SessionStore for InMemorySessionStore {
    fn create(&self, new: NewSession) -> Result<Arc<LiveSession>, StoreFull> {
        self.start_reaper();
        let session = Arc::new(LiveSession::new(
            new,
            Arc::clone(&self.inner.config),
            self.inner.epoch,
        ));
        let mut sessions = self
            .inner
            .sessions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if sessions.by_id.len() >= self.inner.config.max_sessions {
            return Err(StoreFull::Server);
        }
        if let Some(principal) = session.principal()
            && sessions.held_by(principal) >= self.inner.config.max_sessions_per_principal
        {
            return Err(StoreFull::Principal);
        }
        sessions.insert(Arc::clone(&session));
        Ok(session)
    }

    fn get(&self, id: &str) -> Option<Arc<LiveSession>> {
        self.inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .get(id)
            .cloned()
    }

    fn remove(&self, id: &str) -> Option<Arc<LiveSession>> {
        let removed = self
            .inner
            .sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(session) = &removed {
            session.terminate();
        }
        removed
    }

    fn for_each(&self, visit: &mut dyn FnMut(&Arc<LiveSession>)) {
        let sessions: Vec<Arc<LiveSession>> = self
            .inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .values()
            .cloned()
            .collect();
        for session in &sessions {
            visit(session);
        }
    }

    fn len(&self) -> usize {
        self.inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(principal: Option<&str>) -> NewSession {
        NewSession {
            principal: principal.map(str::to_owned),
            version: mcp_core::ProtocolVersion::V2025_11_25,
            capabilities: Default::default(),
            allow_list: None,
        }
    }

    #[test]
    fn each_principal_has_its_own_cap_and_ending_a_session_frees_its_slot() {
        let config = SessionConfig::default()
            .max_sessions(6)
            .max_sessions_per_principal(2)
            .idle_ttl(Duration::from_millis(10));
        let store = InMemorySessionStore::new(config);
        let first = store.create(new(Some("alice"))).unwrap();
        store.create(new(Some("alice"))).unwrap();
        assert_eq!(
            store.create(new(Some("alice"))).unwrap_err(),
            StoreFull::Principal
        );
        store.create(new(Some("bob"))).unwrap();
        // Unauthenticated sessions only count against the server's cap.
        store.create(new(None)).unwrap();
        store.create(new(None)).unwrap();
        store.create(new(None)).unwrap();
        assert_eq!(store.len(), 6);
        assert_eq!(
            store.create(new(Some("carol"))).unwrap_err(),
            StoreFull::Server
        );

        store.remove(mcp_core::Session::id(&*first)).unwrap();
        store.create(new(Some("alice"))).unwrap();
        assert_eq!(
            store.create(new(Some("alice"))).unwrap_err(),
            StoreFull::Server
        );

        // Expiry frees slots too, and forgets the principals it leaves with none.
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(store.reap(), 6);
        let sessions = store.inner.sessions.read().unwrap();
        assert!(sessions.by_id.is_empty() && sessions.per_principal.is_empty());
        drop(sessions);
        store.create(new(Some("alice"))).unwrap();
        store.create(new(Some("alice"))).unwrap();
        assert_eq!(
            store.create(new(Some("alice"))).unwrap_err(),
            StoreFull::Principal
        );
    }
}
