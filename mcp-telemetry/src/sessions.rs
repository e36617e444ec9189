//! [`TelemetrySessionStore`]: session lifecycle metrics and events, by wrapping the
//! [`SessionStore`] that mcp-tower's `SessionLayer` keeps sessions in.
//!
//! ```
//! use mcp_telemetry::TelemetrySessionStore;
//! use mcp_tower::session::InMemorySessionStore;
//! use mcp_tower::{SessionConfig, SessionLayer};
//! # use mcp_tower::{McpBody, StreamableHttpConfig, StreamableHttpLayer};
//! # use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! # use tower::{Layer, ServiceExt};
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # let _in_runtime = runtime.enter();
//! let store = TelemetrySessionStore::new(InMemorySessionStore::new(SessionConfig::default()));
//! let sessions = SessionLayer::with_store(store);
//! # let router = mcp_core::Router::builder().build();
//! # let bridge = StreamableHttpLayer::new(StreamableHttpConfig::default()).layer(router);
//! let service = sessions.layer(bridge);
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! # let initialize = http::Request::post("/mcp")
//! #     .header("accept", "application/json, text/event-stream")
//! #     .header("content-type", "application/json")
//! #     .body(McpBody::from(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
//! #         "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#))
//! #     .unwrap();
//! let response =
//!     metrics::with_local_recorder(&recorder, || runtime.block_on(service.oneshot(initialize)));
//! assert!(response.unwrap().headers().contains_key("mcp-session-id"));
//! let snapshot = snapshotter.snapshot().into_vec();
//! let (.., created) =
//!     snapshot.iter().find(|(key, ..)| key.key().name() == "mcp.server.sessions.created").unwrap();
//! assert_eq!(created, &DebugValue::Counter(1));
//! ```
//!
//! Records `mcp.server.sessions.active`, `mcp.server.sessions.created` and
//! `mcp.server.session.duration` (by `reason`: `deleted` for a DELETE, `expired` for the
//! idle reaper), and emits `session_created` / `session_terminated` events (target
//! `mcp_telemetry`, INFO). A store that expires sessions by itself (the in-memory one does)
//! is watched: a background task notices the expired ones every
//! [`sweep_interval`](TelemetrySessionStore::sweep_interval), once the store has removed them
//! (the in-memory store's reaper runs every quarter of the idle TTL, at most every 30 s): an
//! expired session's recorded duration runs until then, up to that much past its expiry.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use mcp_tower::session::{LiveSession, NewSession, SessionStore, StoreFull};

use crate::keys::{gauge_add, increment, key, record};
use crate::names::{self, label};

/// A session being watched.
struct Tracked {
    created: Instant,
    session: Weak<LiveSession>,
}

struct Watch {
    sessions: Mutex<HashMap<Arc<str>, Tracked>>,
    sweeper: std::sync::Once,
}

/// Wraps a [`SessionStore`] to record the life of its sessions; see the
/// [module docs](self).
pub struct TelemetrySessionStore<S> {
    inner: S,
    watch: Arc<Watch>,
    sweep_interval: Duration,
}

impl<S> std::fmt::Debug for TelemetrySessionStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetrySessionStore")
            .field("sweep_interval", &self.sweep_interval)
            .finish_non_exhaustive()
    }
}

struct SessionKeys {
    active: metrics::Key,
    created: metrics::Key,
    deleted: metrics::Key,
    expired: metrics::Key,
}

static KEYS: LazyLock<SessionKeys> = LazyLock::new(|| SessionKeys {
    active: key(names::SESSIONS_ACTIVE, &[]),
    created: key(names::SESSIONS_CREATED, &[]),
    deleted: key(names::SESSION_DURATION, &[(label::REASON, "deleted")]),
    expired: key(names::SESSION_DURATION, &[(label::REASON, "expired")]),
});

#[derive(Debug, Clone, Copy)]
enum Ended {
    Deleted,
    Expired,
}

impl<S: SessionStore> TelemetrySessionStore<S> {
    /// Watches `inner`, noticing sessions it expired within a second of their removal (see
    /// the [module docs](self) for when the in-memory store removes them).
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            watch: Arc::new(Watch {
                sessions: Mutex::new(HashMap::new()),
                sweeper: std::sync::Once::new(),
            }),
            sweep_interval: Duration::from_secs(1),
        }
    }

    /// How often expired sessions are looked for (default 1 s, at least 10 ms): the
    /// precision of the `expired` durations.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Records the sessions that ended without passing through this wrapper (expired) now;
    /// returns how many. The background task calls this.
    pub fn sweep(&self) -> usize {
        sweep(&self.watch)
    }

    fn start_sweeper(&self) {
        // Started by the first `create`, which runs inside the runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.watch.sweeper.call_once(|| {
            let watch: Weak<Watch> = Arc::downgrade(&self.watch);
            let period = self.sweep_interval;
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Some(watch) = watch.upgrade() else { return };
                    sweep(&watch);
                }
            });
        });
    }
}

fn lock(watch: &Watch) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Tracked>> {
    // Single inserts and removals: the map is consistent at every panic point.
    watch.sessions.lock().unwrap_or_else(|p| p.into_inner())
}

fn sweep(watch: &Watch) -> usize {
    let ended: Vec<(Arc<str>, Tracked)> = {
        let mut sessions = lock(watch);
        let gone: Vec<Arc<str>> = sessions
            .iter()
            .filter(|(_, t)| t.session.upgrade().is_none_or(|s| s.is_terminated()))
            .map(|(id, _)| Arc::clone(id))
            .collect();
        gone.into_iter()
            .filter_map(|id| sessions.remove_entry(&id))
            .collect()
    };
    for (id, tracked) in &ended {
        finish(id, tracked, Ended::Expired);
    }
    ended.len()
}

fn finish(id: &str, tracked: &Tracked, how: Ended) {
    let lifetime = tracked.created.elapsed();
    let (key, reason) = match how {
        Ended::Deleted => (&KEYS.deleted, "deleted"),
        Ended::Expired => (&KEYS.expired, "expired"),
    };
    gauge_add(&KEYS.active, -1.0);
    record(key, lifetime.as_secs_f64());
    tracing::info!(
        target: "mcp_telemetry",
        {
            mcp.event = "session_terminated",
            mcp.session.id = id,
            reason,
            duration_s = lifetime.as_secs_f64(),
        },
        "session terminated"
    );
}

impl<S: SessionStore> SessionStore for TelemetrySessionStore<S> {
    fn create(&self, new: NewSession) -> Result<Arc<LiveSession>, StoreFull> {
        let version = new.version;
        let session = self.inner.create(new)?;
        self.start_sweeper();
        let id: Arc<str> = Arc::from(mcp_core::Session::id(&*session));
        increment(&KEYS.created);
        gauge_add(&KEYS.active, 1.0);
        tracing::info!(
            target: "mcp_telemetry",
            {
                mcp.event = "session_created",
                mcp.session.id = &*id,
                mcp.protocol.version = version.as_str(),
                user.id = session.principal(),
            },
            "session created"
        );
        lock(&self.watch).insert(
            id,
            Tracked {
                created: Instant::now(),
                session: Arc::downgrade(&session),
            },
        );
        Ok(session)
    }

    fn get(&self, id: &str) -> Option<Arc<LiveSession>> {
        self.inner.get(id)
    }

    fn remove(&self, id: &str) -> Option<Arc<LiveSession>> {
        // Claim the entry first, so that a concurrent sweep cannot report it as expired.
        let tracked = lock(&self.watch).remove(id);
        let removed = self.inner.remove(id);
        if let Some(tracked) = &tracked {
            finish(id, tracked, Ended::Deleted);
        }
        removed
    }

    fn for_each(&self, visit: &mut dyn FnMut(&Arc<LiveSession>)) {
        self.inner.for_each(visit);
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}
