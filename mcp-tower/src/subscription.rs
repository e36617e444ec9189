//! One 2026-07-28 `subscriptions/listen` subscription, whatever carries it: its params checked,
//! its acknowledgement, the events it asked for tagged with its id, and its closing result.
//! Streamable HTTP gives each its own SSE stream (`streamable/listen.rs`); stdio keeps them
//! all on stdout (`stdio/listen.rs`).

use std::collections::HashSet;

use mcp_core::jsonrpc::{self, ErrorObject, RequestId, notification_json};
use mcp_core::protocol::{SubscriptionFilter, SubscriptionsListenRequestParams, meta_keys};
use mcp_core::{AllowList, ServerEvent};
use serde_json::Value;
use serde_json::value::RawValue;

/// What one subscription listens to.
#[derive(Debug)]
pub(crate) struct Subscription {
    id: RequestId,
    /// `{"io.modelcontextprotocol/subscriptionId": id}`, put on every message of it.
    meta: Value,
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: HashSet<String>,
}

impl Subscription {
    /// Reads the params of listen request `id`: `notifications` is required (a subscription
    /// must say what it listens to), with at most `max_resources` resource URIs. Returns the
    /// subscription and its `notifications/subscriptions/acknowledged`, which names every
    /// type asked for (all are honoured) and only those.
    pub(crate) fn open(
        id: &RequestId,
        params: Option<&RawValue>,
        max_resources: usize,
    ) -> Result<(Self, Vec<u8>), ErrorObject> {
        let invalid = |detail: String| {
            ErrorObject::invalid_params(format!(
                "Invalid params for subscriptions/listen: {detail}"
            ))
        };
        let params: SubscriptionsListenRequestParams = match params {
            None => return Err(invalid("params are required".into())),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| invalid(e.to_string()))?,
        };
        let filter = params.notifications;
        let uris = filter.resource_subscriptions.unwrap_or_default();
        if uris.len() > max_resources {
            return Err(invalid(format!(
                "at most {max_resources} resourceSubscriptions per subscription"
            )));
        }
        let subscription = Self {
            id: id.clone(),
            meta: serde_json::json!({ meta_keys::SUBSCRIPTION_ID: id }),
            tools: filter.tools_list_changed == Some(true),
            prompts: filter.prompts_list_changed == Some(true),
            resources: filter.resources_list_changed == Some(true),
            uris: uris.iter().cloned().collect(),
        };
        let honoured = SubscriptionFilter {
            tools_list_changed: subscription.tools.then_some(true),
            prompts_list_changed: subscription.prompts.then_some(true),
            resources_list_changed: subscription.resources.then_some(true),
            resource_subscriptions: (!uris.is_empty()).then_some(uris),
        };
        let acknowledgement = notification_json(
            "notifications/subscriptions/acknowledged",
            &serde_json::json!({ "_meta": subscription.meta, "notifications": honoured }),
        );
        Ok((subscription, acknowledgement))
    }

    /// `event` as this subscription delivers it, tagged with its id; `None` when it did not
    /// ask for it or `allow_list` hides it.
    pub(crate) fn notification(
        &self,
        event: &ServerEvent,
        allow_list: Option<&AllowList>,
    ) -> Option<Vec<u8>> {
        let wanted = match event {
            ServerEvent::ToolsListChanged { .. } => self.tools,
            ServerEvent::PromptsListChanged { .. } => self.prompts,
            ServerEvent::ResourcesListChanged { .. } => self.resources,
            ServerEvent::ResourceUpdated { uri, .. } => self.uris.contains(uri),
            // No filter asks for server-level logs in this era.
            _ => false,
        };
        if !wanted || !event.is_visible_to(allow_list) {
            return None;
        }
        let mut params = event.params();
        params["_meta"] = self.meta.clone();
        Some(notification_json(event.method(), &params))
    }

    /// The server's `notifications/cancelled` for this subscription, with `reason`.
    pub(crate) fn cancelled(&self, reason: &str) -> Vec<u8> {
        let params = serde_json::json!({
            "_meta": self.meta,
            "requestId": self.id,
            "reason": reason,
        });
        notification_json("notifications/cancelled", &params)
    }

    /// The `subscriptions/listen` result that ends the subscription gracefully: empty but
    /// for its `resultType` and the subscription id (`SubscriptionsListenResult`).
    pub(crate) fn closing_result(&self) -> Vec<u8> {
        let result = serde_json::json!({ "_meta": self.meta, "resultType": "complete" });
        let result = jsonrpc::to_raw(&result).expect("JSON values serialise");
        jsonrpc::Response::result(self.id.clone(), result).to_vec()
    }
}
