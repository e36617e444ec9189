//! The runner of a task: drives its handler to the end, parks it while it waits for
//! answers (modern: until `tasks/update`; legacy: while `tasks/result` carries its questions,
//! see `task_relay`), and leaves the task in a terminal state however it ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::value::RawValue;

use super::encode::Extras;
use super::task_relay;
use super::tasks::ContextSeed;
use crate::handler::Tool;
use crate::input::InputRound;
use crate::jsonrpc::ErrorObject;
use crate::protocol::TaskStatus;
use crate::tasks::TaskEntry;

/// A handler run already under way when its request became a task.
pub(crate) struct Running {
    pub(super) handler: HandlerFuture,
    pub(super) round: Arc<InputRound>,
}

pub(super) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<crate::protocol::CallToolResult, ErrorObject>> + Send>>;

/// The `statusMessage` of a task whose tool reported an error: the result's first text, as
/// the tool wrote it for its caller.
fn tool_error_message(result: &crate::protocol::CallToolResult) -> String {
    let text = result.content.iter().find_map(|block| match block {
        crate::protocol::ContentBlock::Text(text) => Some(text.text.as_str()),
        _ => None,
    });
    match text {
        Some(text) => format!("The tool reported an error: {text}"),
        None => "The tool reported an error".to_owned(),
    }
}

/// Runs a task's handler until it ends, parking it while it waits for answers.
pub(super) async fn run(
    task: Arc<TaskEntry>,
    tool: Tool,
    arguments: Box<RawValue>,
    seed: ContextSeed,
    version: crate::ProtocolVersion,
    server_info_meta: Option<Box<RawValue>>,
    mut running: Option<Running>,
) {
    let _ends = EndsTask(&task);
    let mut relay = seed.relay;
    loop {
        let (handler, round) = match running.take() {
            Some(Running { handler, round }) => (handler, Some(round)),
            None => {
                let round = version
                    .is_modern()
                    .then(|| Arc::new(InputRound::new(task.state().answers)));
                let ctx = (seed.build)(round.clone(), None);
                let tool = tool.clone();
                let arguments = arguments.clone();
                let handler: HandlerFuture =
                    Box::pin(async move { tool.call(arguments.get(), ctx).await });
                (handler, round)
            }
        };
        // In a block of its own: the futures borrow `round`, which is read after them.
        let outcome = {
            let asked = async {
                match &round {
                    Some(round) => round.asked().await,
                    None => std::future::pending().await,
                }
            };
            // A panicking handler fails the task instead of leaving it `working` forever; the
            // panic's payload stays in the server's log, not in the answer.
            let handler = std::panic::AssertUnwindSafe(handler).catch_unwind();
            tokio::pin!(handler, asked);
            loop {
                tokio::select! {
                    biased;
                    () = task.cancel.cancelled() => return,
                    // A legacy handler's messages to the client wait for tasks/result.
                    Some(message) = relayed(&mut relay) => task_relay::hold(&task, message),
                    result = &mut handler => break Some(result.unwrap_or_else(|_| {
                        Err(ErrorObject::internal_error(format!(
                            "Tool {} failed unexpectedly",
                            tool.name()
                        )))
                    })),
                    () = &mut asked => break None,
                }
            }
        };
        // What the handler sent in its last poll, before its end is recorded: the next
        // tasks/result carries it ahead of the result.
        while let Some(message) = relay.as_mut().and_then(|relay| relay.try_recv().ok()) {
            task_relay::hold(&task, message);
        }
        match outcome {
            Some(Ok(result)) => {
                let encoded = super::encode::encode(
                    version,
                    server_info_meta.as_deref(),
                    &result,
                    Extras::complete().with_meta(result.meta.is_some()),
                );
                // 2025-11-25: a tool result with `isError` fails its task, with a diagnostic
                // message; tasks/result still answers that result. (The 2026-07-28 tasks
                // extension completes such a task: the call itself succeeded.)
                let tool_failed = !version.is_modern() && result.is_error == Some(true);
                task.update(|state| match encoded {
                    Ok(raw) if tool_failed => {
                        state.status = TaskStatus::Failed;
                        state.status_message = Some(tool_error_message(&result));
                        state.result = Some(raw);
                    }
                    Ok(raw) => {
                        state.status = TaskStatus::Completed;
                        state.result = Some(raw);
                    }
                    Err(error) => {
                        state.status = TaskStatus::Failed;
                        state.error = Some(error);
                    }
                });
                return;
            }
            Some(Err(error)) => {
                task.update(|state| {
                    state.status = TaskStatus::Failed;
                    state.status_message = Some(error.message.to_string());
                    state.error = Some(error);
                });
                return;
            }
            None => {
                let (asked, read) = round
                    .map(|r| (r.take_asked(), r.used_answers()))
                    .unwrap_or_default();
                let keys: Vec<String> = asked.iter().map(|a| a.key.clone()).collect();
                task.update(|state| {
                    state.status = TaskStatus::InputRequired;
                    state.asked = asked;
                    // The next run starts from the top: it needs every answer this one read,
                    // including those given before a deferred task was created (asking
                    // again under a key already answered is forbidden).
                    state.answers.extend(read);
                });
                // Wait until every question has an answer (or the task is cancelled).
                loop {
                    let changed = task.changed.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    let answered = {
                        let state = task.state();
                        keys.iter().all(|k| state.answers.contains_key(k))
                    };
                    if answered {
                        break;
                    }
                    tokio::select! {
                        () = changed => {}
                        () = task.cancel.cancelled() => return,
                    }
                }
                task.update(|state| {
                    state.status = TaskStatus::Working;
                    state.asked.clear();
                });
            }
        }
    }
}

/// The next message of a legacy task's handler; never for a modern task.
async fn relayed(
    relay: &mut Option<crate::peer::Outbound>,
) -> Option<crate::peer::OutboundMessage> {
    match relay {
        Some(relay) => relay.recv().await,
        None => std::future::pending().await,
    }
}

/// Leaves the task in a terminal state however its runner ends: cancelled when its token
/// fired (by `tasks/cancel` or expiry, which already say why), failed otherwise (the runtime
/// dropped the runner). Either way waiters such as `tasks/result` wake up.
struct EndsTask<'a>(&'a TaskEntry);

impl Drop for EndsTask<'_> {
    fn drop(&mut self) {
        let task = self.0;
        task.update(|state| {
            if task.cancel.is_cancelled() {
                state.status = TaskStatus::Cancelled;
                state.status_message = Some("Cancelled".to_owned());
            } else {
                state.status = TaskStatus::Failed;
                state.status_message = Some("The task ended unexpectedly".to_owned());
                state.error = Some(ErrorObject::internal_error("The task ended unexpectedly"));
            }
        });
    }
}
