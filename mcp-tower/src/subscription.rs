//! One 2026-07-28 `subscriptions/listen` subscription, whatever carries it: its params checked,
//! its acknowledgement, the events it asked for tagged with its id, and its closing result.
//! Streamable HTTP gives each its own SSE stream (`streamable/listen.rs`); stdio keeps them
//! all on stdout (`stdio/listen.rs`).

use std::collections::HashSet;

use mcp_core::jsonrpc::{self, ErrorObject, RequestId, notification_json};
use mcp_core::protocol::{SubscriptionFilter, SubscriptionsListenRequestParams, meta_keys};
use mcp_core::{AllowList, McpResponse, ServerEvent};
use serde::Deserialize;
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
    /// Checks the params of a listen request before the RPC tier sees it: `notifications` is
    /// required (a subscription must say what it listens to), with at most `max_resources`
    /// resource URIs (each listener keeps its list for its whole life).
    pub(crate) fn check_request(
        params: Option<&RawValue>,
        max_resources: usize,
    ) -> Result<(), ErrorObject> {
        let invalid = |detail: String| {
            ErrorObject::invalid_params(format!(
                "Invalid params for subscriptions/listen: {detail}"
            ))
        };
        let params: SubscriptionsListenRequestParams = match params {
            None => return Err(invalid("params are required".into())),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| invalid(e.to_string()))?,
        };
        let uris = params
            .notifications
            .resource_subscriptions
            .unwrap_or_default();
        if uris.len() > max_resources {
            return Err(invalid(format!(
                "at most {max_resources} resourceSubscriptions per subscription"
            )));
        }
        Ok(())
    }

    /// What the RPC tier agreed to deliver: the `notifications` of its successful answer to
    /// the listen request (the router's, see `Router`'s `subscriptions/listen`). `None` for
    /// any other answer (a layer's refusal, a closing result): that answer is then the
    /// request's response and no subscription opens.
    pub(crate) fn accepted(answer: &McpResponse) -> Option<SubscriptionFilter> {
        #[derive(Deserialize)]
        struct Accepted {
            notifications: SubscriptionFilter,
        }
        let result = answer.as_single()?.body.as_ref().ok()?;
        serde_json::from_str::<Accepted>(result.get())
            .ok()
            .map(|accepted| accepted.notifications)
    }

    /// Opens the subscription of listen request `id` carrying what the RPC tier `honoured`
    /// (the `requested` types it supports: see [`Subscription::accepted`]), and never more
    /// than was `requested`. Returns it and its `notifications/subscriptions/acknowledged`,
    /// which names exactly what it carries.
    pub(crate) fn open(
        id: &RequestId,
        requested: Option<&RawValue>,
        honoured: SubscriptionFilter,
    ) -> (Self, Vec<u8>) {
        // The RPC tier may be the user's: it cannot widen what the client asked for.
        let requested: SubscriptionFilter = requested
            .and_then(|raw| {
                serde_json::from_str::<SubscriptionsListenRequestParams>(raw.get()).ok()
            })
            .map(|params| params.notifications)
            .unwrap_or_default();
        let both =
            |asked: Option<bool>, agreed: Option<bool>| asked == Some(true) && agreed == Some(true);
        let asked_uris: HashSet<String> = requested
            .resource_subscriptions
            .unwrap_or_default()
            .into_iter()
            .collect();
        let uris: Vec<String> = honoured
            .resource_subscriptions
            .unwrap_or_default()
            .into_iter()
            .filter(|uri| asked_uris.contains(uri))
            .collect();
        let subscription = Self {
            id: id.clone(),
            meta: serde_json::json!({ meta_keys::SUBSCRIPTION_ID: id }),
            tools: both(requested.tools_list_changed, honoured.tools_list_changed),
            prompts: both(
                requested.prompts_list_changed,
                honoured.prompts_list_changed,
            ),
            resources: both(
                requested.resources_list_changed,
                honoured.resources_list_changed,
            ),
            uris: uris.iter().cloned().collect(),
        };
        let acknowledged = SubscriptionFilter {
            tools_list_changed: subscription.tools.then_some(true),
            prompts_list_changed: subscription.prompts.then_some(true),
            resources_list_changed: subscription.resources.then_some(true),
            resource_subscriptions: (!uris.is_empty()).then_some(uris),
        };
        let acknowledgement = notification_json(
            "notifications/subscriptions/acknowledged",
            &serde_json::json!({ "_meta": subscription.meta, "notifications": acknowledged }),
        );
        (subscription, acknowledgement)
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
