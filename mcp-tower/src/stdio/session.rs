//! The legacy session of a stdio connection.

use super::*;
use mcp_core::jsonrpc::{ErrorObject, codes};
use mcp_core::protocol::{ClientCapabilities, LoggingLevel};
use mcp_core::{AllowList, ProtocolVersion, Session};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The legacy-era session of a stdio connection: what `initialize` declared, the log level,
/// the subscriptions, and what the transport's allow-list lets the client see.
#[derive(Debug)]
pub(super) struct StdioSession {
    pub(super) state: Mutex<SessionState>,
    max_subscriptions: usize,
    max_subscription_bytes: usize,
}

#[derive(Debug)]
pub(super) struct SessionState {
    pub(super) version: ProtocolVersion,
    pub(super) capabilities: Arc<ClientCapabilities>,
    pub(super) log_level: Option<LoggingLevel>,
    pub(super) subscriptions: BTreeSet<String>,
    /// The bytes of the URIs in `subscriptions`.
    subscription_bytes: usize,
    pub(super) initialized: bool,
    /// The latest request's (the router records it: `AllowListLayer`'s resolver may choose
    /// another list than the transport's).
    allow_list: Option<AllowList>,
}

impl Default for SessionState {
    fn default() -> Self {
        Self {
            version: ProtocolVersion::V2025_03_26,
            capabilities: Arc::default(),
            log_level: None,
            subscriptions: BTreeSet::new(),
            subscription_bytes: 0,
            initialized: false,
            allow_list: None,
        }
    }
}

impl StdioSession {
    pub(super) fn new(
        allow_list: Option<AllowList>,
        max_subscriptions: usize,
        max_subscription_bytes: usize,
    ) -> Self {
        Self {
            state: Mutex::new(SessionState {
                allow_list,
                ..SessionState::default()
            }),
            max_subscriptions,
            max_subscription_bytes,
        }
    }

    pub(super) fn initialize(&self, version: ProtocolVersion, capabilities: ClientCapabilities) {
        let mut state = lock(&self.state);
        state.version = version;
        state.capabilities = Arc::new(capabilities);
        state.initialized = true;
    }
}

impl Session for StdioSession {
    fn id(&self) -> &str {
        "stdio"
    }

    fn protocol_version(&self) -> ProtocolVersion {
        lock(&self.state).version
    }

    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::clone(&lock(&self.state).capabilities)
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        lock(&self.state).log_level
    }

    fn set_log_level(&self, level: LoggingLevel) {
        lock(&self.state).log_level = Some(level);
    }

    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject> {
        let mut state = lock(&self.state);
        if state.subscriptions.contains(uri) {
            return Ok(());
        }
        // As over HTTP: bounded in count and in bytes (a URI may be as long as a line).
        let refusal = if state.subscriptions.len() >= self.max_subscriptions {
            "Too many subscriptions"
        } else if state.subscription_bytes + uri.len() > self.max_subscription_bytes {
            "The subscriptions would exceed their byte limit"
        } else {
            state.subscription_bytes += uri.len();
            state.subscriptions.insert(uri.to_owned());
            return Ok(());
        };
        Err(ErrorObject::new(codes::SERVER_ERROR, refusal))
    }

    fn unsubscribe(&self, uri: &str) {
        let mut state = lock(&self.state);
        if state.subscriptions.remove(uri) {
            state.subscription_bytes -= uri.len();
        }
    }

    fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.state).subscriptions.contains(uri)
    }

    fn allow_list(&self) -> Option<AllowList> {
        lock(&self.state).allow_list.clone()
    }

    fn set_allow_list(&self, current: Option<&AllowList>) {
        let mut state = lock(&self.state);
        if state.allow_list.as_ref() != current {
            state.allow_list = current.cloned();
        }
    }
}
