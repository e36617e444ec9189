//! The view of a legacy session that the RPC tier needs. The HTTP tier's `SessionLayer` owns
//! the storage (a `SessionStore`; in memory by default) and puts a [`SessionHandle`] into the
//! request extensions.

use std::sync::Arc;

use crate::jsonrpc::ErrorObject;
use crate::principal::AllowList;
use crate::protocol::{ClientCapabilities, LoggingLevel};
use crate::version::ProtocolVersion;

/// A legacy-era session as handlers and the router see it.
///
/// Implementations keep every collection bounded (e.g. the number of subscriptions).
pub trait Session: Send + Sync + std::fmt::Debug + 'static {
    /// The `Mcp-Session-Id`.
    fn id(&self) -> &str;
    /// The version negotiated by `initialize`.
    fn protocol_version(&self) -> ProtocolVersion;
    /// What the client declared in `initialize`.
    fn client_capabilities(&self) -> Arc<ClientCapabilities>;
    /// The level set by `logging/setLevel`, if any.
    fn log_level(&self) -> Option<LoggingLevel>;
    /// Records `logging/setLevel`.
    fn set_log_level(&self, level: LoggingLevel);
    /// Records `resources/subscribe`; fails when the subscription limit is reached.
    fn subscribe(&self, uri: &str) -> Result<(), ErrorObject>;
    /// Records `resources/unsubscribe`.
    fn unsubscribe(&self, uri: &str);
    /// Whether the session is subscribed to `uri`.
    fn is_subscribed(&self, uri: &str) -> bool;
    /// What the session's principal may see, as of the session's latest request (filters
    /// the notifications it gets). Owned: a session's plan can change with its token.
    fn allow_list(&self) -> Option<AllowList> {
        None
    }
    /// Keeps `allow_list` as what the session's principal may see: the router calls it with
    /// each request of the session, whatever layer set the list (a plan in the principal's
    /// token, `AllowListLayer`'s resolver...), so that the notifications the session gets
    /// follow the plan its requests are served under. Ignored by default.
    fn set_allow_list(&self, allow_list: Option<&AllowList>) {
        let _ = allow_list;
    }
    /// Whether the session has ended (DELETE, expiry): what it owns (its tasks) can be let go.
    fn is_terminated(&self) -> bool {
        false
    }
    /// A token cancelled when the session ends (already cancelled if it has), so that what
    /// it owns ends with it: its tasks are cancelled then, their handlers stopped. `None` (the
    /// default): they run on until their TTL, or until the task store next sees the session
    /// [terminated](Self::is_terminated).
    fn end_token(&self) -> Option<tokio_util::sync::CancellationToken> {
        None
    }
}

/// How a session travels in request extensions.
pub type SessionHandle = Arc<dyn Session>;

/// Put in a legacy request's extensions by a transport that keeps no sessions (a stateless
/// server): the request has none and `initialize` starts none, so nothing the client sets
/// (a log level, subscriptions) outlives the request, and no stream carries list changes.
/// The router then does not advertise those.
///
/// ```
/// use mcp_core::{McpRequest, ProtocolVersion, StatelessTransport};
/// use mcp_core::jsonrpc::Message;
///
/// let ping = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
/// let mut request = McpRequest::new(ping, ProtocolVersion::V2025_11_25);
/// request.extensions.insert(StatelessTransport);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatelessTransport;

/// Put in a request's extensions by a transport that has no stream on which list changes
/// and resource updates could reach this caller: a legacy server whose GET stream is turned
/// off or whose sessions get no router events, a 2026-07-28 endpoint or a stdio transport
/// given no server events. The router then
/// advertises neither (`listChanged: false`, no `subscribe`) and refuses
/// `resources/subscribe` and `subscriptions/listen` (-32601), so that no client waits for
/// updates that cannot come. [`StatelessTransport`] implies it.
///
/// ```
/// use mcp_core::{McpRequest, NoNotificationStream, ProtocolVersion};
/// use mcp_core::jsonrpc::Message;
///
/// let ping = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
/// let mut request = McpRequest::new(ping, ProtocolVersion::V2025_11_25);
/// request.extensions.insert(NoNotificationStream);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoNotificationStream;
