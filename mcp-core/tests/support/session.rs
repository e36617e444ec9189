//! A legacy session for the tests: client capabilities, log level, subscriptions.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::protocol::{ClientCapabilities, LoggingLevel};
use mcp_core::{ProtocolVersion, Session};

/// A 2025-11-25 session.
#[derive(Debug, Default)]
pub(crate) struct TestSession {
    capabilities: Arc<ClientCapabilities>,
    level: Mutex<Option<LoggingLevel>>,
    subscriptions: Mutex<BTreeSet<String>>,
}

impl TestSession {
    pub(crate) fn with_capabilities(capabilities: ClientCapabilities) -> Arc<Self> {
        Arc::new(Self {
            capabilities: Arc::new(capabilities),
            ..Self::default()
        })
    }
}

impl Session for TestSession {
    fn id(&self) -> &str {
        "session-1"
    }
    fn protocol_version(&self) -> ProtocolVersion {
        ProtocolVersion::V2025_11_25
    }
    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::clone(&self.capabilities)
    }
    fn log_level(&self) -> Option<LoggingLevel> {
        *self.level.lock().unwrap()
    }
    fn set_log_level(&self, level: LoggingLevel) {
        *self.level.lock().unwrap() = Some(level);
    }
    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject> {
        self.subscriptions.lock().unwrap().insert(uri.to_owned());
        Ok(())
    }
    fn unsubscribe(&self, uri: &str) {
        self.subscriptions.lock().unwrap().remove(uri);
    }
    fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions.lock().unwrap().contains(uri)
    }
}
