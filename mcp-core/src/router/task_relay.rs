//! 2025-11-25 tasks that ask the client something (elicitation, sampling, roots).
//!
//! A task outlives the request that created it, so its handler has no stream of its own to
//! the client. The tasks page's answer: the task moves to `input_required`, the requestor
//! calls `tasks/result`, and the server sends its requests on that request's stream, with the
//! `io.modelcontextprotocol/related-task` metadata. So a legacy task's handler gets a
//! [`ClientPeer`] of its own; what it sends is held in the task ([`hold`]) and carried by the
//! next `tasks/result` ([`carry`]), each message tagged with the task. The handler waits as
//! it would on any stream (the client-request timeout applies); once the client answers, or
//! the handler stops waiting, the task is `working` again. A question whose `tasks/result`
//! goes away unanswered is held again for the next one.
//!
//! (The 2026-07-28 tasks extension asks through `tasks/get` and `tasks/update` instead.)

use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::jsonrpc::ErrorObject;
use crate::peer::{ClientPeer, Outbound, OutboundMessage};
use crate::protocol::{RELATED_TASK_META_KEY, TaskStatus};
use crate::tasks::{TaskEntry, lock};

/// How many messages a task's handler may have sent that no `tasks/result` has carried yet.
/// Past that, the oldest notification gives way to the new message; a request fails only
/// when every held message is a request.
const HELD_MAX: usize = 64;

/// The peer a legacy task's handler reaches the client through, and its other end.
pub(super) fn task_peer() -> (ClientPeer, Outbound) {
    ClientPeer::channel(HELD_MAX)
}

/// Keeps `message` from the task's handler until a `tasks/result` carries it. A request
/// puts the task in `input_required` until the handler has its answer or stops waiting for
/// it (the client-request timeout): then the task is `working` again, and a question not yet
/// carried is never sent.
pub(super) fn hold(task: &Arc<TaskEntry>, message: OutboundMessage) {
    match message {
        OutboundMessage::Request {
            method,
            params,
            reply,
        } => {
            if reply.is_closed() {
                return;
            }
            // The handler's end stays here, watched; the held request carries another.
            let (held_reply, answered) = oneshot::channel();
            let held = OutboundMessage::Request {
                method,
                params,
                reply: held_reply,
            };
            {
                let mut relay = lock(&task.relay);
                if !has_room(&mut relay.held) {
                    drop(relay);
                    let _ = reply.send(Err(ErrorObject::internal_error(format!(
                        "{method}: too many questions of this task wait for tasks/result"
                    ))));
                    return;
                }
                relay.held.push_back(held);
                relay.open_questions += 1;
            }
            // Watched once counted: its end is what counts the question closed.
            tokio::spawn(watch(Arc::clone(task), reply, answered));
            task.update(|state| {
                state.status = TaskStatus::InputRequired;
                state.status_message = Some(format!(
                    "Waiting for the client to answer {method}: call tasks/result to receive it"
                ));
            });
        }
        // A stream of its own is what a task does not have.
        OutboundMessage::CloseStream => {}
        notification @ OutboundMessage::Notification(_) => {
            {
                let mut relay = lock(&task.relay);
                if !has_room(&mut relay.held) {
                    return;
                }
                relay.held.push_back(notification);
            }
            task.changed.notify_waiters();
        }
    }
}

/// Whether one more message fits in `held`, once the oldest notification made room if need
/// be: a task that logs or reports progress while the client is not reading (it polls
/// `tasks/get`, as the tasks page has it) must still reach `input_required` when it asks.
fn has_room(held: &mut std::collections::VecDeque<OutboundMessage>) -> bool {
    if held.len() < HELD_MAX {
        return true;
    }
    let oldest_notification = held
        .iter()
        .position(|message| matches!(message, OutboundMessage::Notification(_)));
    match oldest_notification {
        Some(index) => {
            held.remove(index);
            true
        }
        None => false,
    }
}

/// Hands the client's answer to the waiting handler, unless it stopped waiting first; either
/// way the question is closed.
async fn watch(
    task: Arc<TaskEntry>,
    mut handler: Reply,
    answered: oneshot::Receiver<Result<Box<RawValue>, ErrorObject>>,
) {
    tokio::select! {
        answer = answered => {
            if let Ok(answer) = answer {
                let _ = handler.send(answer);
            }
        }
        () = handler.closed() => {}
    }
    let still_asking = {
        let mut relay = lock(&task.relay);
        relay.open_questions = relay.open_questions.saturating_sub(1);
        relay.open_questions > 0
    };
    if !still_asking {
        task.update(|state| {
            if state.status == TaskStatus::InputRequired {
                state.status = TaskStatus::Working;
                state.status_message = None;
            }
        });
    }
}

/// Sends what the task's handler has sent so far on `peer`, the stream of a `tasks/result`
/// request for the task, each message tagged with the task. A question whose handler stopped
/// waiting is dropped. One whose stream ends before the client answers (the `tasks/result`
/// was cancelled, or its client left) is held again for the next `tasks/result`.
pub(super) async fn carry(task: &Arc<TaskEntry>, peer: &ClientPeer) {
    loop {
        let Some(message) = lock(&task.relay).held.pop_front() else {
            return;
        };
        match message {
            OutboundMessage::Notification(bytes) => {
                let bytes = notification_with_related_task(bytes, &task.id);
                let _ = peer.forward_notification(bytes).await;
            }
            OutboundMessage::Request {
                method,
                params,
                reply,
            } => {
                if reply.is_closed() {
                    continue;
                }
                tokio::spawn(ask(Arc::clone(task), peer.clone(), method, params, reply));
            }
            OutboundMessage::CloseStream => {}
        }
    }
}

/// Asks `peer`'s client one held question and delivers the answer.
async fn ask(
    task: Arc<TaskEntry>,
    peer: ClientPeer,
    method: &'static str,
    params: Box<RawValue>,
    reply: Reply,
) {
    let (sent, answer) = oneshot::channel();
    let tagged = with_related_task(&params, &task.id);
    if let Err(error) = peer.forward_request(method, tagged, sent).await {
        // This stream carries no requests (a JSON-only endpoint): as on any such stream.
        let _ = reply.send(Err(error));
        return;
    }
    if let Ok(answer) = answer.await {
        let _ = reply.send(answer);
        return;
    }
    if peer.is_cancelled() || peer.is_closed() {
        // The tasks/result went away before the client answered: the next one asks again.
        lock(&task.relay).held.push_front(OutboundMessage::Request {
            method,
            params,
            reply,
        });
        task.changed.notify_waiters();
    }
    // Otherwise the transport dropped the question itself: the handler hears "no answer".
}

type Reply = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;

/// A notification with the related-task metadata in its params.
fn notification_with_related_task(bytes: Vec<u8>, task_id: &str) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return bytes;
    };
    let Some(message) = value.as_object_mut() else {
        return bytes;
    };
    let params = message
        .entry("params")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    tag(params, task_id);
    serde_json::to_vec(&value).unwrap_or(bytes)
}

/// `params` with `_meta["io.modelcontextprotocol/related-task"]` naming the task, which the
/// tasks page says every request and notification associated with a task MUST carry.
fn with_related_task(params: &RawValue, task_id: &str) -> Box<RawValue> {
    let mut value: Value = serde_json::from_str(params.get()).unwrap_or_default();
    tag(&mut value, task_id);
    serde_json::value::to_raw_value(&value).unwrap_or_else(|_| params.to_owned())
}

/// Puts the related-task metadata in the `_meta` of the object `params`.
fn tag(params: &mut Value, task_id: &str) {
    if let Value::Object(object) = params {
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
