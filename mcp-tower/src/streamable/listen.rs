//! `subscriptions/listen` (2026-07-28): a long-lived POST stream carrying the list-changed and
//! resource-updated notifications the client opted in to, each tagged with the subscription
//! id (the listen request's id), after an acknowledgement of what is honoured.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, RequestId, notification_json};
use mcp_core::{AllowList, ServerEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};

use super::{Shared, sse_response};
use crate::body::McpBody;
use crate::error_body::error_response;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tools_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    prompts_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    resources_list_changed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_subscriptions: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ListenParams {
    #[serde(default)]
    notifications: Filter,
}

/// Decrements the listener count when the stream ends.
struct ListenerSlot(Arc<Shared>);

impl Drop for ListenerSlot {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) fn handle(
    shared: Arc<Shared>,
    id: RequestId,
    params: Option<&RawValue>,
    allow_list: Option<AllowList>,
) -> Response<McpBody> {
    let params: ListenParams = match params.map(|raw| serde_json::from_str(raw.get())) {
        None => ListenParams::default(),
        Some(Ok(params)) => params,
        Some(Err(e)) => {
            return error_response(
                StatusCode::OK,
                Some(id),
                ErrorObject::invalid_params(format!(
                    "Invalid params for subscriptions/listen: {e}"
                )),
            );
        }
    };
    let Some(events) = shared.config.events.as_ref().map(|source| source()) else {
        return error_response(
            StatusCode::OK,
            Some(id),
            ErrorObject::invalid_request("This server publishes no notifications"),
        );
    };
    if shared.listeners.fetch_add(1, Ordering::Relaxed) >= shared.config.max_listeners {
        shared.listeners.fetch_sub(1, Ordering::Relaxed);
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(id),
            ErrorObject::new(mcp_core::jsonrpc::codes::SERVER_ERROR, "Too many listeners"),
        );
    }
    let slot = ListenerSlot(Arc::clone(&shared));
    let filter = params.notifications;
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    tokio::spawn(run(shared, slot, id, filter, allow_list, events, sink));
    sse_response(McpBody::stream(body), 0)
}

async fn run(
    shared: Arc<Shared>,
    _slot: ListenerSlot,
    id: RequestId,
    filter: Filter,
    allow_list: Option<AllowList>,
    mut events: broadcast::Receiver<ServerEvent>,
    sink: mpsc::Sender<Bytes>,
) {
    let meta = serde_json::json!({ SUBSCRIPTION_ID: id });
    let ack = notification_json(
        "notifications/subscriptions/acknowledged",
        &serde_json::json!({ "_meta": meta, "notifications": filter }),
    );
    if sink.send(frame(&ack)).await.is_err() {
        return;
    }
    let uris: HashSet<&str> = filter
        .resource_subscriptions
        .iter()
        .map(String::as_str)
        .collect();
    let mut keep_alive = tokio::time::interval(shared.config.keep_alive);
    keep_alive.reset();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = keep_alive.tick() => {
                if sink.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return;
                }
                continue;
            }
            () = sink.closed() => return,
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a subscriptions/listen stream missed notifications");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let wanted = match &event {
            ServerEvent::ToolsListChanged { .. } => filter.tools_list_changed,
            ServerEvent::PromptsListChanged { .. } => filter.prompts_list_changed,
            ServerEvent::ResourcesListChanged { .. } => filter.resources_list_changed,
            ServerEvent::ResourceUpdated(uri) => uris.contains(uri.as_str()),
            // No filter asks for server-level logs in this era.
            _ => false,
        };
        if !wanted || !event.is_visible_to(allow_list.as_ref()) {
            continue;
        }
        let mut params = event.params();
        params["_meta"] = meta.clone();
        let bytes = notification_json(event.method(), &params);
        if sink.send(frame(&bytes)).await.is_err() {
            return;
        }
    }
}

fn frame(json: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(json.len() + 8);
    frame.extend_from_slice(b"data: ");
    frame.extend_from_slice(json);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}
