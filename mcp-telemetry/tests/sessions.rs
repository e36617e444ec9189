//! Session lifecycle metrics and events from the store wrapper.

#![cfg(feature = "sessions")]

mod support;

use std::time::Duration;

use mcp_core::ProtocolVersion;
use mcp_telemetry::TelemetrySessionStore;
use mcp_tower::SessionConfig;
use mcp_tower::session::{InMemorySessionStore, NewSession, SessionStore};
use support::run;
use tracing_subscriber::layer::SubscriberExt;

fn new_session() -> NewSession {
    NewSession {
        principal: Some("alice".into()),
        version: ProtocolVersion::V2025_11_25,
        capabilities: Default::default(),
        allow_list: None,
    }
}

#[test]
fn created_deleted_and_expired_sessions_are_recorded() {
    run(|capture, metrics| async move {
        let config = SessionConfig::default().idle_ttl(Duration::from_millis(20));
        let store = TelemetrySessionStore::new(InMemorySessionStore::new(config))
            .sweep_interval(Duration::from_millis(10));

        let first = store.create(new_session()).unwrap();
        let id = mcp_core::Session::id(&*first).to_owned();
        assert!(store.remove(&id).is_some());
        drop(first);
        let second = store.create(new_session()).unwrap();
        drop(second);
        // The in-memory reaper expires the idle session; the sweeper notices (polled, so a
        // loaded machine only makes the test slower).
        for _ in 0..500 {
            if capture.events_named("session_terminated").len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(store.len(), 0);

        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.counter("mcp.server.sessions.created", &[]), 2);
        assert_eq!(snapshot.gauge("mcp.server.sessions.active", &[]), Some(0.0));
        let deleted = snapshot.histogram("mcp.server.session.duration", &[("reason", "deleted")]);
        assert_eq!(deleted.len(), 1);
        let expired = snapshot.histogram("mcp.server.session.duration", &[("reason", "expired")]);
        assert_eq!(expired.len(), 1);
        assert!(expired[0] >= 0.02, "lived at least its TTL: {expired:?}");

        let created = capture.events_named("session_created");
        assert_eq!(created.len(), 2);
        assert_eq!(created[0].field("mcp.session.id"), Some(id.as_str()));
        assert_eq!(created[0].field("user.id"), Some("alice"));
        let terminated = capture.events_named("session_terminated");
        let reasons: Vec<_> = terminated
            .iter()
            .map(|e| e.field("reason").unwrap())
            .collect();
        assert_eq!(reasons, ["deleted", "expired"]);
    });
}

#[test]
fn a_manual_sweep_finds_expired_sessions_without_a_runtime_task() {
    // A subscriber here too: a callsite first hit on a thread without one can be cached as
    // uninteresting while the other test's subscriber comes and goes.
    let subscriber = tracing_subscriber::registry().with(support::Capture::default());
    tracing::subscriber::with_default(subscriber, || {
        let store = TelemetrySessionStore::new(InMemorySessionStore::new(SessionConfig::default()));
        // Outside a runtime neither the reaper nor the sweeper runs.
        let session = store.create(new_session()).unwrap();
        assert_eq!(store.sweep(), 0);
        session.terminate();
        assert_eq!(store.sweep(), 1);
        assert_eq!(store.sweep(), 0);
    });
}
