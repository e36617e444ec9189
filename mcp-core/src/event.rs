//! What the server tells clients without being asked, and who should hear it. Every
//! transport (GET streams, `subscriptions/listen`, stdio) encodes and filters events here.

use serde_json::{Value, json};

use crate::jsonrpc::notification_json;
use crate::principal::AllowList;
use crate::protocol::LoggingLevel;
use crate::session::Session;

/// A server-initiated notification, published on [`Router::events`](crate::Router::events).
///
/// ```
/// use mcp_core::ServerEvent;
///
/// let event = ServerEvent::ResourceUpdated("file:///a".into());
/// assert_eq!(
///     String::from_utf8(event.to_json()).unwrap(),
///     r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// `notifications/tools/list_changed`: the tool `name` was added, replaced or removed
    /// (principals whose allow-list hides it are not told).
    ToolsListChanged {
        /// The tool that changed.
        name: String,
    },
    /// `notifications/prompts/list_changed` for the prompt `name`.
    PromptsListChanged {
        /// The prompt that changed.
        name: String,
    },
    /// `notifications/resources/list_changed` for the resource `uri`.
    ResourcesListChanged {
        /// The resource that changed.
        uri: String,
    },
    /// `notifications/resources/updated` for this URI (only to its subscribers).
    ResourceUpdated(String),
    /// A server-level `notifications/message` (only to sessions whose level admits it).
    Log {
        /// The severity.
        level: LoggingLevel,
        /// The logger name.
        logger: Option<String>,
        /// The payload.
        data: Value,
    },
}

impl ServerEvent {
    /// The notification's method name.
    pub fn method(&self) -> &'static str {
        match self {
            ServerEvent::ToolsListChanged { .. } => "notifications/tools/list_changed",
            ServerEvent::PromptsListChanged { .. } => "notifications/prompts/list_changed",
            ServerEvent::ResourcesListChanged { .. } => "notifications/resources/list_changed",
            ServerEvent::ResourceUpdated(_) => "notifications/resources/updated",
            ServerEvent::Log { .. } => "notifications/message",
        }
    }

    /// The notification's params.
    pub fn params(&self) -> Value {
        match self {
            ServerEvent::ResourceUpdated(uri) => json!({ "uri": uri }),
            ServerEvent::Log {
                level,
                logger: Some(logger),
                data,
            } => json!({ "level": level, "logger": logger, "data": data }),
            ServerEvent::Log { level, data, .. } => json!({ "level": level, "data": data }),
            _ => json!({}),
        }
    }

    /// The whole JSON-RPC notification (list changes carry no params).
    pub fn to_json(&self) -> Vec<u8> {
        match self {
            ServerEvent::ResourceUpdated(_) | ServerEvent::Log { .. } => {
                notification_json(self.method(), &self.params())
            }
            _ => format!(r#"{{"jsonrpc":"2.0","method":"{}"}}"#, self.method()).into_bytes(),
        }
    }

    /// Whether a legacy session should receive this event: resource updates go to
    /// subscribers only, logs only at or above the session's level, list changes only
    /// when the session's allow-list shows the item.
    pub fn is_wanted_by(&self, session: &dyn Session) -> bool {
        match self {
            ServerEvent::ResourceUpdated(uri) => {
                session.is_subscribed(uri) && self.is_visible_to(session.allow_list())
            }
            ServerEvent::Log { level, .. } => session.log_level().is_none_or(|min| *level >= min),
            _ => self.is_visible_to(session.allow_list()),
        }
    }

    /// Whether a principal restricted by `allow_list` may learn of this event.
    pub fn is_visible_to(&self, allow_list: Option<&AllowList>) -> bool {
        let Some(allow) = allow_list else {
            return true;
        };
        match self {
            ServerEvent::ToolsListChanged { name } => allow.allows_tool(name),
            ServerEvent::PromptsListChanged { name } => allow.allows_prompt(name),
            ServerEvent::ResourcesListChanged { uri } | ServerEvent::ResourceUpdated(uri) => {
                allow.allows_resource(uri)
            }
            ServerEvent::Log { .. } => true,
        }
    }
}
