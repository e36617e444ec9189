//! Notifications: progress, cancellation, list changes, and the typed unions of everything a
//! server or a client may notify (`{"method": ..., "params": ...}`, without `jsonrpc`).

use serde::{Deserialize, Serialize};

use super::common::{Meta, ProgressToken};
use super::elicitation::ElicitationCompleteNotificationParams;
use super::logging::LoggingMessageNotificationParams;
use super::methods;
use super::modern::SubscriptionsAcknowledgedNotificationParams;
use super::resources::ResourceUpdatedNotificationParams;
use super::tasks::TaskStatusNotificationParams;

/// Params that carry nothing but `_meta` (list-changed notifications, `initialized`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationParams {
    /// Notification metadata (`io.modelcontextprotocol/subscriptionId` in 2026-07-28).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: ProgressToken,
    /// Progress so far; increases with every notification.
    #[serde(serialize_with = "super::common::number::one")]
    pub progress: f64,
    /// Total to reach, if known.
    #[serde(
        default,
        skip_serializing_if = "super::common::number::absent",
        serialize_with = "super::common::number::opt"
    )]
    pub total: Option<f64>,
    /// Human-readable progress message (2025-03-26+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ProgressNotificationParams {
    /// Progress for `progress_token`, without total or message.
    pub fn new(progress_token: ProgressToken, progress: f64) -> Self {
        Self {
            meta: None,
            progress_token,
            progress,
            total: None,
            message: None,
        }
    }

    /// Sets the total.
    pub fn with_total(mut self, total: f64) -> Self {
        self.total = Some(total);
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// Params of `notifications/cancelled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Id of the request to cancel (optional only in 2025-11-25, where tasks are cancelled
    /// with `tasks/cancel` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<ProgressToken>,
    /// Why the request was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A notification a server sends, tagged by `"method"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum ServerNotification {
    /// `notifications/cancelled`.
    #[serde(rename = "notifications/cancelled")]
    Cancelled {
        /// The params.
        params: CancelledNotificationParams,
    },
    /// `notifications/progress`.
    #[serde(rename = "notifications/progress")]
    Progress {
        /// The params.
        params: ProgressNotificationParams,
    },
    /// `notifications/message`.
    #[serde(rename = "notifications/message")]
    LoggingMessage {
        /// The params.
        params: LoggingMessageNotificationParams,
    },
    /// `notifications/resources/updated`.
    #[serde(rename = "notifications/resources/updated")]
    ResourceUpdated {
        /// The params.
        params: ResourceUpdatedNotificationParams,
    },
    /// `notifications/resources/list_changed`.
    #[serde(rename = "notifications/resources/list_changed")]
    ResourceListChanged {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<NotificationParams>,
    },
    /// `notifications/prompts/list_changed`.
    #[serde(rename = "notifications/prompts/list_changed")]
    PromptListChanged {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<NotificationParams>,
    },
    /// `notifications/tools/list_changed`.
    #[serde(rename = "notifications/tools/list_changed")]
    ToolListChanged {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<NotificationParams>,
    },
    /// `notifications/elicitation/complete` (2025-11-25).
    #[serde(rename = "notifications/elicitation/complete")]
    ElicitationComplete {
        /// The params.
        params: ElicitationCompleteNotificationParams,
    },
    /// `notifications/tasks/status` (2025-11-25).
    #[serde(rename = "notifications/tasks/status")]
    TaskStatus {
        /// The params.
        params: TaskStatusNotificationParams,
    },
    /// `notifications/subscriptions/acknowledged` (2026-07-28).
    #[serde(rename = "notifications/subscriptions/acknowledged")]
    SubscriptionsAcknowledged {
        /// The params.
        params: SubscriptionsAcknowledgedNotificationParams,
    },
}

impl ServerNotification {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            ServerNotification::Cancelled { .. } => methods::NOTIFICATION_CANCELLED,
            ServerNotification::Progress { .. } => methods::NOTIFICATION_PROGRESS,
            ServerNotification::LoggingMessage { .. } => methods::NOTIFICATION_MESSAGE,
            ServerNotification::ResourceUpdated { .. } => methods::NOTIFICATION_RESOURCES_UPDATED,
            ServerNotification::ResourceListChanged { .. } => {
                methods::NOTIFICATION_RESOURCES_LIST_CHANGED
            }
            ServerNotification::PromptListChanged { .. } => {
                methods::NOTIFICATION_PROMPTS_LIST_CHANGED
            }
            ServerNotification::ToolListChanged { .. } => methods::NOTIFICATION_TOOLS_LIST_CHANGED,
            ServerNotification::ElicitationComplete { .. } => {
                methods::NOTIFICATION_ELICITATION_COMPLETE
            }
            ServerNotification::TaskStatus { .. } => methods::NOTIFICATION_TASKS_STATUS,
            ServerNotification::SubscriptionsAcknowledged { .. } => {
                methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED
            }
        }
    }

    /// `notifications/tools/list_changed` without params.
    pub fn tool_list_changed() -> Self {
        ServerNotification::ToolListChanged { params: None }
    }

    /// `notifications/prompts/list_changed` without params.
    pub fn prompt_list_changed() -> Self {
        ServerNotification::PromptListChanged { params: None }
    }

    /// `notifications/resources/list_changed` without params.
    pub fn resource_list_changed() -> Self {
        ServerNotification::ResourceListChanged { params: None }
    }

    /// The `_meta` of the params, created if needed (e.g. to add a subscription id).
    pub fn meta_mut(&mut self) -> &mut Meta {
        let slot = match self {
            ServerNotification::Cancelled { params } => &mut params.meta,
            ServerNotification::Progress { params } => &mut params.meta,
            ServerNotification::LoggingMessage { params } => &mut params.meta,
            ServerNotification::ResourceUpdated { params } => &mut params.meta,
            ServerNotification::ResourceListChanged { params }
            | ServerNotification::PromptListChanged { params }
            | ServerNotification::ToolListChanged { params } => {
                &mut params.get_or_insert_with(NotificationParams::default).meta
            }
            ServerNotification::ElicitationComplete { params } => &mut params.meta,
            ServerNotification::TaskStatus { params } => &mut params.meta,
            ServerNotification::SubscriptionsAcknowledged { params } => &mut params.meta,
        };
        slot.get_or_insert_with(Meta::new)
    }
}

impl From<ProgressNotificationParams> for ServerNotification {
    fn from(params: ProgressNotificationParams) -> Self {
        ServerNotification::Progress { params }
    }
}

impl From<LoggingMessageNotificationParams> for ServerNotification {
    fn from(params: LoggingMessageNotificationParams) -> Self {
        ServerNotification::LoggingMessage { params }
    }
}

impl From<ResourceUpdatedNotificationParams> for ServerNotification {
    fn from(params: ResourceUpdatedNotificationParams) -> Self {
        ServerNotification::ResourceUpdated { params }
    }
}

/// A notification a client sends, tagged by `"method"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum ClientNotification {
    /// `notifications/cancelled`.
    #[serde(rename = "notifications/cancelled")]
    Cancelled {
        /// The params.
        params: CancelledNotificationParams,
    },
    /// `notifications/initialized` (legacy era).
    #[serde(rename = "notifications/initialized")]
    Initialized {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<NotificationParams>,
    },
    /// `notifications/progress`.
    #[serde(rename = "notifications/progress")]
    Progress {
        /// The params.
        params: ProgressNotificationParams,
    },
    /// `notifications/roots/list_changed` (legacy era).
    #[serde(rename = "notifications/roots/list_changed")]
    RootsListChanged {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<NotificationParams>,
    },
    /// `notifications/tasks/status` (2025-11-25).
    #[serde(rename = "notifications/tasks/status")]
    TaskStatus {
        /// The params.
        params: TaskStatusNotificationParams,
    },
}

impl ClientNotification {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            ClientNotification::Cancelled { .. } => methods::NOTIFICATION_CANCELLED,
            ClientNotification::Initialized { .. } => methods::NOTIFICATION_INITIALIZED,
            ClientNotification::Progress { .. } => methods::NOTIFICATION_PROGRESS,
            ClientNotification::RootsListChanged { .. } => methods::NOTIFICATION_ROOTS_LIST_CHANGED,
            ClientNotification::TaskStatus { .. } => methods::NOTIFICATION_TASKS_STATUS,
        }
    }
}
