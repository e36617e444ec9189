//! `subscriptions/listen` (2026-07-28) on stdio: every subscription shares stdout, so a
//! subscription is an entry here, not a stream. Opening one writes
//! `notifications/subscriptions/acknowledged`; then each server event the filter asks for is
//! written tagged with `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen
//! request's id. The client ends one with `notifications/cancelled` (no answer follows). When
//! the server ends them (end of input, shutdown, no more events) each gets the server's
//! `notifications/cancelled` for its id and then its closing result.
//!
//! This mirrors `streamable/listen.rs` (checks, errors, acknowledgement, closing result); its
//! pieces are bound to HTTP streams and private there, so the little logic is repeated here.

use std::collections::{HashMap, HashSet};

use mcp_core::jsonrpc::{self, ErrorObject, RequestId, codes, notification_json};
use mcp_core::protocol::{SubscriptionFilter, SubscriptionsListenRequestParams, meta_keys};
use mcp_core::{AllowList, ServerEvent};
use serde_json::Value;
use serde_json::value::RawValue;

/// The open subscriptions of one connection, bounded in number and in resources each.
#[derive(Debug)]
pub(super) struct Listens {
    open: HashMap<RequestId, Listen>,
    max: usize,
    max_resources: usize,
    allow_list: Option<AllowList>,
}

#[derive(Debug)]
struct Listen {
    /// `{"io.modelcontextprotocol/subscriptionId": id}`, put on every message of it.
    meta: Value,
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: HashSet<String>,
}

impl Listens {
    pub(super) fn new(max: usize, max_resources: usize, allow_list: Option<AllowList>) -> Self {
        Self {
            open: HashMap::new(),
            max,
            max_resources,
            allow_list,
        }
    }

    pub(super) fn contains(&self, id: &RequestId) -> bool {
        self.open.contains_key(id)
    }

    /// Opens the subscription `id` and returns its acknowledgement, or the error to answer.
    /// `publishing`: whether the server has events to deliver at all.
    pub(super) fn open(
        &mut self,
        id: &RequestId,
        params: Option<&RawValue>,
        publishing: bool,
    ) -> Result<Vec<u8>, ErrorObject> {
        let invalid =
            |detail: String| ErrorObject::invalid_params(format!("Invalid params for {detail}"));
        // The schema requires `notifications`: a subscription must say what it listens to.
        let params: SubscriptionsListenRequestParams = match params {
            None => return Err(invalid("subscriptions/listen: params are required".into())),
            Some(raw) => serde_json::from_str(raw.get())
                .map_err(|e| invalid(format!("subscriptions/listen: {e}")))?,
        };
        let filter = params.notifications;
        let uris = filter.resource_subscriptions.unwrap_or_default();
        if uris.len() > self.max_resources {
            return Err(invalid(format!(
                "subscriptions/listen: at most {} resourceSubscriptions per subscription",
                self.max_resources
            )));
        }
        if !publishing {
            return Err(ErrorObject::invalid_request(
                "This server publishes no notifications",
            ));
        }
        if self.open.len() >= self.max {
            return Err(ErrorObject::new(codes::SERVER_ERROR, "Too many listeners"));
        }
        let meta = serde_json::json!({ meta_keys::SUBSCRIPTION_ID: id });
        let listen = Listen {
            meta: meta.clone(),
            tools: filter.tools_list_changed == Some(true),
            prompts: filter.prompts_list_changed == Some(true),
            resources: filter.resources_list_changed == Some(true),
            uris: uris.iter().cloned().collect(),
        };
        // Every type asked for is honoured; the acknowledgement names only those.
        let honoured = SubscriptionFilter {
            tools_list_changed: listen.tools.then_some(true),
            prompts_list_changed: listen.prompts.then_some(true),
            resources_list_changed: listen.resources.then_some(true),
            resource_subscriptions: (!uris.is_empty()).then_some(uris),
        };
        self.open.insert(id.clone(), listen);
        Ok(notification_json(
            "notifications/subscriptions/acknowledged",
            &serde_json::json!({ "_meta": meta, "notifications": honoured }),
        ))
    }

    /// Forgets the subscription `id` (the client cancelled it): nothing more is written for it.
    pub(super) fn cancel(&mut self, id: &RequestId) -> bool {
        self.open.remove(id).is_some()
    }

    /// The lines `event` becomes: one per subscription that asked for it and may see it.
    pub(super) fn lines_for(&self, event: &ServerEvent) -> Vec<Vec<u8>> {
        if !event.is_visible_to(self.allow_list.as_ref()) {
            return Vec::new();
        }
        self.open
            .values()
            .filter(|listen| listen.wants(event))
            .map(|listen| {
                let mut params = event.params();
                params["_meta"] = listen.meta.clone();
                notification_json(event.method(), &params)
            })
            .collect()
    }

    /// Ends every subscription from the server's side and returns what to write for each:
    /// `notifications/cancelled` for its id, then its closing result.
    ///
    /// The 2026-07-28 pages differ here (modelcontextprotocol issue #3348): Cancellation says
    /// a server MUST send `notifications/cancelled` referencing the listen request when it
    /// tears the subscription down, and only for a request still in progress; Subscriptions
    /// says it SHOULD send the (empty) `subscriptions/listen` result. Both are sent, the
    /// notification first, while the request is still in progress.
    pub(super) fn close_all(&mut self, reason: &str) -> Vec<Vec<u8>> {
        let mut lines = Vec::with_capacity(2 * self.open.len());
        for (id, listen) in self.open.drain() {
            let params = serde_json::json!({
                "_meta": listen.meta,
                "requestId": id,
                "reason": reason,
            });
            lines.push(notification_json("notifications/cancelled", &params));
            lines.push(closing_result(&id, &listen.meta));
        }
        lines
    }
}

impl Listen {
    fn wants(&self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::ToolsListChanged { .. } => self.tools,
            ServerEvent::PromptsListChanged { .. } => self.prompts,
            ServerEvent::ResourcesListChanged { .. } => self.resources,
            ServerEvent::ResourceUpdated(uri) => self.uris.contains(uri),
            // No filter asks for server-level logs in this era.
            _ => false,
        }
    }
}

/// The `subscriptions/listen` result that ends a subscription gracefully: empty but for its
/// `resultType` and the subscription id (`SubscriptionsListenResult`).
fn closing_result(id: &RequestId, meta: &Value) -> Vec<u8> {
    let result = serde_json::json!({ "_meta": meta, "resultType": "complete" });
    let result = jsonrpc::to_raw(&result).expect("JSON values serialise");
    jsonrpc::Response::result(id.clone(), result).to_vec()
}
