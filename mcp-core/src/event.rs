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
/// let event = ServerEvent::resource_updated("file:///a");
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
    /// `notifications/resources/list_changed` for the resource template `name` (templates are
    /// listed with the resources).
    ResourceTemplatesListChanged {
        /// The template that changed.
        name: String,
    },
    /// `notifications/resources/updated` for `uri`: only to its subscribers, and only to those
    /// whose allow-list would let them read it. Made by
    /// [`Router::notify_resource_updated`](crate::Router::notify_resource_updated), which knows
    /// what serves the URI, or by [`ServerEvent::resource_updated`].
    #[non_exhaustive]
    ResourceUpdated {
        /// The resource that changed.
        uri: String,
        /// Whether a static resource has this URI.
        is_static: bool,
        /// The names of the resource templates whose pattern matches the URI.
        templates: Vec<String>,
    },
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
    /// `notifications/resources/updated` for `uri`, when what serves it is not known: an
    /// allow-list then shows it only if it allows `uri` itself.
    ///
    /// ```
    /// use mcp_core::{AllowList, ServerEvent};
    ///
    /// let event = ServerEvent::resource_updated("file:///a");
    /// assert!(event.is_visible_to(Some(&AllowList::new().resources(["file:///a"]))));
    /// assert!(!event.is_visible_to(Some(&AllowList::new().resources(["file:///b"]))));
    /// ```
    pub fn resource_updated(uri: impl Into<String>) -> Self {
        ServerEvent::ResourceUpdated {
            uri: uri.into(),
            is_static: false,
            templates: Vec::new(),
        }
    }

    /// The notification's method name.
    pub fn method(&self) -> &'static str {
        match self {
            ServerEvent::ToolsListChanged { .. } => "notifications/tools/list_changed",
            ServerEvent::PromptsListChanged { .. } => "notifications/prompts/list_changed",
            ServerEvent::ResourcesListChanged { .. }
            | ServerEvent::ResourceTemplatesListChanged { .. } => {
                "notifications/resources/list_changed"
            }
            ServerEvent::ResourceUpdated { .. } => "notifications/resources/updated",
            ServerEvent::Log { .. } => "notifications/message",
        }
    }

    /// The notification's params.
    pub fn params(&self) -> Value {
        match self {
            ServerEvent::ResourceUpdated { uri, .. } => json!({ "uri": uri }),
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
            ServerEvent::ResourceUpdated { .. } | ServerEvent::Log { .. } => {
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
            ServerEvent::ResourceUpdated { uri, .. } => {
                session.is_subscribed(uri) && self.is_visible_to(session.allow_list().as_ref())
            }
            ServerEvent::Log { level, .. } => session.log_level().is_none_or(|min| *level >= min),
            _ => self.is_visible_to(session.allow_list().as_ref()),
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
            ServerEvent::ResourcesListChanged { uri } => allow.allows_resource(uri),
            ServerEvent::ResourceTemplatesListChanged { name } => {
                allow.allows_resource_template(name)
            }
            ServerEvent::ResourceUpdated {
                uri,
                is_static,
                templates,
            } => may_read(allow, uri, *is_static, templates),
            ServerEvent::Log { .. } => true,
        }
    }
}

/// Whether `allow` lets its principal read `uri`, which a static resource serves when
/// `is_static` and these `templates` (by name) match; decided as `resources/read` decides:
/// the static resource if it is allowed, else any allowed template that matches, and a URI
/// nothing serves by the URI alone.
pub(crate) fn may_read(
    allow: &AllowList,
    uri: &str,
    is_static: bool,
    templates: &[String],
) -> bool {
    let unknown = !is_static && templates.is_empty();
    ((is_static || unknown) && allow.allows_resource(uri))
        || templates.iter().any(|t| allow.allows_resource_template(t))
}
