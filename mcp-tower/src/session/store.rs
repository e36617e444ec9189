//! Where sessions live: the [`SessionStore`] trait and its in-memory default.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use super::{LiveSession, NewSession, SessionConfig};

/// The session count cap was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFull;

impl std::fmt::Display for StoreFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("too many sessions")
    }
}

impl std::error::Error for StoreFull {}

/// Keeps sessions by id.
pub trait SessionStore: Send + Sync + 'static {
    /// Creates and stores a session; fails at the count cap.
    fn create(&self, new: NewSession) -> Result<Arc<LiveSession>, StoreFull>;
    /// Finds a live session.
    fn get(&self, id: &str) -> Option<Arc<LiveSession>>;
    /// Removes a session (DELETE or expiry) and returns it.
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

/// The default store: a map in memory, capped in size, reaped in the background.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_tower::SessionConfig;
/// use mcp_tower::session::{InMemorySessionStore, NewSession, SessionStore};
///
/// let store = InMemorySessionStore::new(SessionConfig::default().max_sessions(1));
/// let new = NewSession {
///     principal: None,
///     version: mcp_core::ProtocolVersion::V2025_11_25,
///     capabilities: Default::default(),
///     allow_list: None,
/// };
/// assert!(store.create(new.clone()).is_ok());
/// assert!(store.create(new).is_err()); // the cap holds
/// # }
/// ```
#[derive(Clone)]
pub struct InMemorySessionStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    /// foldhash, seeded per process: only ids this server generated are ever inserted, so a
    /// client cannot choose colliding keys, and SipHash of the id on every request cost more.
    sessions: RwLock<HashMap<Arc<str>, Arc<LiveSession>, foldhash::fast::RandomState>>,
    config: Arc<SessionConfig>,
    epoch: Instant,
    reaper_started: std::sync::Once,
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
                sessions: RwLock::new(HashMap::default()),
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
        tracing::info!(
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
        if sessions.len() >= self.inner.config.max_sessions {
            return Err(StoreFull);
        }
        sessions.insert(Arc::clone(&session.id), Arc::clone(&session));
        Ok(session)
    }

    fn get(&self, id: &str) -> Option<Arc<LiveSession>> {
        self.inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
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
            .len()
    }
}
