//! 2025-11-25 tasks that ask the client something (elicitation, sampling, roots).
//!
//! A task outlives the request that created it, so its handler has no stream of its own to
//! the client. The tasks page's answer: the task moves to `input_required`, the requestor
//! calls `tasks/result`, and the server sends its requests on that request's stream, with the
//! `io.modelcontextprotocol/related-task` metadata. So a legacy task's handler gets a
//! [`ClientPeer`] of its own; what it sends is held in the task ([`hold`]) and carried by the
//! next `tasks/result` ([`carry`]). The handler waits as it would on any stream (the
//! client-request timeout applies); once the client answers, the task is `working` again.
//!
//! (The 2026-07-28 tasks extension asks through `tasks/get` and `tasks/update` instead.)

use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::jsonrpc::ErrorObject;
use crate::peer::{ClientPeer, Outbound, OutboundMessage};
use crate::protocol::{RELATED_TASK_META_KEY, TaskStatus};
use crate::tasks::{TaskEntry, lock};

/// How many messages a task's handler may have sent that no `tasks/result` has carried yet.
/// Past that, notifications are dropped and requests fail.
const HELD_MAX: usize = 64;

/// The peer a legacy task's handler reaches the client through, and its other end.
pub(super) fn task_peer() -> (ClientPeer, Outbound) {
    ClientPeer::channel(HELD_MAX)
}

/// Keeps `message` from the task's handler until a `tasks/result` carries it; a request
/// puts the task in `input_required`.
pub(super) fn hold(task: &TaskEntry, message: OutboundMessage) {
    let asking = match &message {
        OutboundMessage::Request { method, .. } => Some(*method),
        // A stream of its own is what a task does not have.
        OutboundMessage::CloseStream => return,
        OutboundMessage::Notification(_) => None,
    };
    {
        let mut held = lock(&task.relay);
        if held.len() >= HELD_MAX {
            if let OutboundMessage::Request { reply, method, .. } = message {
                let _ = reply.send(Err(ErrorObject::internal_error(format!(
                    "{method}: too many messages of this task wait for tasks/result"
                ))));
            }
            return;
        }
        held.push_back(message);
    }
    if let Some(method) = asking {
        task.update(|state| {
            state.status = TaskStatus::InputRequired;
            state.status_message = Some(format!(
                "Waiting for the client to answer {method}: call tasks/result to receive it"
            ));
        });
    } else {
        task.changed.notify_waiters();
    }
}

/// Sends what the task's handler has sent so far on `peer`, the stream of a `tasks/result`
/// request for the task. Each request waits for its answer on a task of its own, then hands
/// it to the handler and puts the task back to `working`.
pub(super) async fn carry(task: &Arc<TaskEntry>, peer: &ClientPeer) {
    loop {
        let Some(message) = lock(&task.relay).pop_front() else {
            return;
        };
        match message {
            OutboundMessage::Notification(bytes) => {
                let _ = peer.forward_notification(bytes).await;
            }
            OutboundMessage::Request {
                method,
                params,
                reply,
            } => {
                let params = with_related_task(&params, &task.id);
                let peer = peer.clone();
                let task = Arc::clone(task);
                tokio::spawn(async move {
                    let answer = peer.request(method, params).await;
                    task.update(|state| {
                        if state.status == TaskStatus::InputRequired {
                            state.status = TaskStatus::Working;
                            state.status_message = None;
                        }
                    });
                    let _ = reply.send(answer);
                });
            }
            OutboundMessage::CloseStream => {}
        }
    }
}

/// `params` with `_meta["io.modelcontextprotocol/related-task"]` naming the task, which the
/// tasks page says a request associated with a task MUST carry.
fn with_related_task(params: &RawValue, task_id: &str) -> Box<RawValue> {
    let mut value: Value = serde_json::from_str(params.get()).unwrap_or_default();
    if let Value::Object(object) = &mut value {
        let meta = object
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert(
                RELATED_TASK_META_KEY.to_owned(),
                serde_json::json!({ "taskId": task_id }),
            );
        }
    }
    serde_json::value::to_raw_value(&value).unwrap_or_else(|_| params.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_task_metadata_is_added_to_what_is_there() {
        let params = RawValue::from_string(r#"{"message":"m","_meta":{"k":1}}"#.into()).unwrap();
        let value: Value = serde_json::from_str(with_related_task(&params, "t1").get()).unwrap();
        assert_eq!(value["_meta"]["k"], 1);
        assert_eq!(value["_meta"][RELATED_TASK_META_KEY]["taskId"], "t1");
        assert_eq!(value["message"], "m");
    }
}
