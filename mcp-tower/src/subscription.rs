//! One 2026-07-28 `subscriptions/listen` subscription, whatever carries it: its params checked,
//! its acknowledgement, the events it asked for tagged with its id, and its closing result.
//! Streamable HTTP gives each its own SSE stream (`streamable/listen.rs`); stdio keeps them
//! all on stdout (`stdio/listen.rs`).

use std::collections::HashSet;

use mcp_core::jsonrpc::{self, ErrorObject, RequestId, notification_json};
use mcp_core::protocol::{
    SubscriptionFilter, SubscriptionIdMeta, SubscriptionsListenRequestParams,
};
use mcp_core::{AllowList, McpResponse, ServerEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// The answer to `subscriptions/listen` where the transport has no server events to carry
/// (-32601, as the router answers it where no stream carries notifications).
pub(crate) fn not_publishing() -> ErrorObject {
    ErrorObject::method_not_served(
        "subscriptions/listen",
        "this server publishes no notifications",
    )
}

/// How much one subscription may name in `resourceSubscriptions`: URIs, and their bytes
/// together (each listener keeps its list for its whole life).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceLimits {
    pub(crate) count: usize,
    pub(crate) bytes: usize,
}

/// What one subscription listens to.
#[derive(Debug)]
pub(crate) struct Subscription {
    id: RequestId,
    /// `{"io.modelcontextprotocol/subscriptionId": id}`, put on every message of it. Text,
    /// not a `Value`: a `Value` holds an id past 64 bits only as the nearest `f64`.
    meta: Box<RawValue>,
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: HashSet<String>,
}

impl Subscription {
    /// Checks the params of a listen request before the RPC tier sees it: `notifications` is
    /// required (a subscription must say what it listens to), with resource URIs within
    /// `limits`.
    pub(crate) fn check_request(
        params: Option<&RawValue>,
        limits: ResourceLimits,
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
        if uris.len() > limits.count {
            return Err(invalid(format!(
                "at most {} resourceSubscriptions per subscription",
                limits.count
            )));
        }
        if uris.iter().map(String::len).sum::<usize>() > limits.bytes {
            return Err(invalid(format!(
                "resourceSubscriptions may name at most {} bytes of URIs",
                limits.bytes
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
        let meta = serde_json::value::to_raw_value(&SubscriptionIdMeta {
            subscription_id: id,
        })
        .expect("request ids serialise");
        let subscription = Self {
            id: id.clone(),
            meta,
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
        #[derive(Serialize)]
        struct Acknowledged<'a> {
            #[serde(rename = "_meta")]
            meta: &'a RawValue,
            notifications: SubscriptionFilter,
        }
        let acknowledgement = notification_json(
            "notifications/subscriptions/acknowledged",
            &Acknowledged {
                meta: &subscription.meta,
                notifications: acknowledged,
            },
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
            ServerEvent::ResourcesListChanged { .. }
            | ServerEvent::ResourceTemplatesListChanged { .. } => self.resources,
            ServerEvent::ResourceUpdated { uri, .. } => self.uris.contains(uri),
            // No filter asks for server-level logs in this era.
            _ => false,
        };
        if !wanted || !event.is_visible_to(allow_list) {
            return None;
        }
        let mut params = event.params();
        if let Value::Object(members) = &mut params {
            members.remove("_meta");
        }
        Some(notification_json(
            event.method(),
            &Tagged {
                params,
                meta: &self.meta,
            },
        ))
    }

    /// The server's `notifications/cancelled` for this subscription, with `reason`.
    pub(crate) fn cancelled(&self, reason: &str) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Cancelled<'a> {
            #[serde(rename = "_meta")]
            meta: &'a RawValue,
            request_id: &'a RequestId,
            reason: &'a str,
        }
        let params = Cancelled {
            meta: &self.meta,
            request_id: &self.id,
            reason,
        };
        notification_json("notifications/cancelled", &params)
    }

    /// The `subscriptions/listen` result that ends the subscription gracefully: empty but
    /// for its `resultType` and the subscription id (`SubscriptionsListenResult`).
    pub(crate) fn closing_result(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Closing<'a> {
            #[serde(rename = "_meta")]
            meta: &'a RawValue,
            result_type: &'static str,
        }
        let result = jsonrpc::to_raw(&Closing {
            meta: &self.meta,
            result_type: "complete",
        })
        .expect("the closing result serialises");
        jsonrpc::Response::result(self.id.clone(), result).to_vec()
    }
}

/// An event's params with the subscription's `_meta` (the params hold none).
#[derive(Serialize)]
struct Tagged<'a> {
    #[serde(flatten)]
    params: Value,
    #[serde(rename = "_meta")]
    meta: &'a RawValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An id no `f64` holds: every message of the subscription must carry its digits.
    const LONG_ID: &str = "123456789012345678901234567891";

    fn subscription() -> (Subscription, Vec<u8>) {
        let id = RequestId::from_json(LONG_ID).unwrap();
        let requested = serde_json::value::to_raw_value(&serde_json::json!({
            "notifications": {"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]}
        }))
        .unwrap();
        let honoured = SubscriptionFilter {
            tools_list_changed: Some(true),
            resource_subscriptions: Some(vec!["file:///a".to_owned()]),
            ..SubscriptionFilter::default()
        };
        Subscription::open(&id, Some(&requested), honoured)
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn every_message_carries_the_ids_digits() {
        let tag = format!(r#""_meta":{{"io.modelcontextprotocol/subscriptionId":{LONG_ID}}}"#);
        let (subscription, acknowledgement) = subscription();
        assert!(
            text(&acknowledgement).contains(&tag),
            "{}",
            text(&acknowledgement)
        );

        let updated = subscription
            .notification(&ServerEvent::resource_updated("file:///a"), None)
            .unwrap();
        let parsed: Value = serde_json::from_slice(&updated).unwrap();
        assert_eq!(parsed["method"], "notifications/resources/updated");
        assert_eq!(parsed["params"]["uri"], "file:///a");
        assert!(text(&updated).contains(&tag), "{}", text(&updated));

        let cancelled = subscription.cancelled("server shutting down");
        assert!(text(&cancelled).contains(&tag), "{}", text(&cancelled));
        assert!(
            text(&cancelled).contains(&format!(r#""requestId":{LONG_ID}"#)),
            "{}",
            text(&cancelled)
        );

        let closing = subscription.closing_result();
        assert!(text(&closing).contains(&tag), "{}", text(&closing));
        assert!(
            text(&closing).starts_with(&format!(r#"{{"jsonrpc":"2.0","id":{LONG_ID},"#)),
            "{}",
            text(&closing)
        );
        let parsed: Value = serde_json::from_slice(&closing).unwrap();
        assert_eq!(parsed["result"]["resultType"], "complete");
    }

    #[test]
    fn events_not_asked_for_are_not_delivered() {
        let (subscription, _) = subscription();
        assert!(
            subscription
                .notification(&ServerEvent::resource_updated("file:///b"), None)
                .is_none()
        );
    }
}
