//! Task-augmented tool calls and the `tasks/*` methods, in both eras.
//!
//! A task runs the same handler as a plain call. In the modern era a handler's questions
//! park the task in `input_required` (the questions are shown by `tasks/get`), and the
//! handler runs again from the top once `tasks/update` brought the answers, exactly like an
//! `input_required` round of a plain request. In 2025-11-25 the handler waits on its questions
//! as on any stream, and `tasks/result` carries them (`task_relay`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::dispatch::{Call, MethodResult};
use super::encode::{Extras, ResultType};
use super::params::{self, RequestMeta};
use super::task_relay;
use crate::context::Escalation;
use crate::handler::Tool;
use crate::input::InputRound;
use crate::jsonrpc::{ErrorObject, codes};
use crate::principal::Principal;
use crate::protocol::TaskSupport;
use crate::protocol::{TaskStatus, ToolExecution};
use crate::session::SessionHandle;
use crate::tasks::{TaskEntry, TaskOwner, timestamp};
use tokio_util::sync::CancellationToken;

use super::task_run::{HandlerFuture, Running, run};

/// The extension identifier of modern-era tasks.
pub(crate) const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// `params.task` of a legacy task-augmented request.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct TaskParams {
    #[serde(default)]
    pub(crate) ttl: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskIdParams {
    task_id: String,
    #[serde(rename = "_meta", default, deserialize_with = "super::objects::meta")]
    meta: Option<RequestMeta>,
    #[serde(default)]
    input_responses: Option<BTreeMap<String, Box<RawValue>>>,
}

/// How a tool call is to run.
pub(crate) enum Mode {
    /// Now, answering with the result.
    Direct,
    /// As a task, answering with the task.
    Task(Option<Duration>),
}

pub(crate) fn task_support(tool: &Tool) -> TaskSupport {
    tool.definition()
        .execution
        .as_ref()
        .and_then(|e: &ToolExecution| e.task_support)
        .unwrap_or_default()
}

fn missing_extension() -> ErrorObject {
    ErrorObject::new(
        codes::MISSING_REQUIRED_CLIENT_CAPABILITY,
        "This request needs the io.modelcontextprotocol/tasks extension",
    )
    .with_data(json!({ "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } } }))
}

fn has_extension(meta: Option<&RequestMeta>) -> bool {
    meta.and_then(|m| m.client_capabilities.as_ref())
        .and_then(|c| c.get().extensions.as_ref())
        .is_some_and(|e| e.contains_key(TASKS_EXTENSION))
}

impl Call<'_> {
    /// Decides whether a call of `tool` runs directly or as a task.
    pub(crate) fn task_mode(
        &self,
        tool: &Tool,
        meta: Option<&RequestMeta>,
        task: Option<&TaskParams>,
    ) -> Result<Mode, ErrorObject> {
        let support = task_support(tool);
        if support == TaskSupport::Forbidden {
            // 2025-11-25: asking for a task of such a tool SHOULD get -32601 from a server
            // that advertises task-augmented tools/call; one that does not processes the
            // request normally, and so does the modern era (the server decides).
            let asked = task.is_some() && !self.version.is_modern();
            if asked && self.version.has_method("tasks/get") && self.advertises_tool_tasks() {
                return Err(ErrorObject::new(
                    codes::METHOD_NOT_FOUND,
                    format!("Tool {} cannot be called as a task", tool.name()),
                ));
            }
            return Ok(Mode::Direct);
        }
        let (requested, ttl) = if self.version.is_modern() {
            (has_extension(meta), None)
        } else {
            let ttl = task.and_then(|t| t.ttl).map(Duration::from_millis);
            (task.is_some() && self.version.has_method("tasks/get"), ttl)
        };
        match (support, requested) {
            (TaskSupport::Forbidden, _) | (TaskSupport::Optional, false) => Ok(Mode::Direct),
            (_, true) => Ok(Mode::Task(ttl)),
            (TaskSupport::Required, false) if self.version.is_modern() => Err(missing_extension()),
            // 2025-03-26 and 2025-06-18 have no tasks: a receiver without the capability
            // processes the request normally (2025-11-25, tasks), and the tool is listed.
            (TaskSupport::Required, false) if !self.version.has_method("tasks/get") => {
                Ok(Mode::Direct)
            }
            (TaskSupport::Required, false) => Err(ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!("Tool {} must be called as a task", tool.name()),
            )),
        }
    }

    /// Whether this caller is told that the server takes task-augmented `tools/call`: some
    /// tool it may see supports tasks (as `initialize` judges it).
    pub(super) fn advertises_tool_tasks(&self) -> bool {
        let allow = self.allow_list();
        self.inner.tools.load().values().any(|e| {
            task_support(&e.item) != TaskSupport::Forbidden
                && allow.is_none_or(|a| a.allows_tool(e.item.name()))
        })
    }

    /// Whether this caller is served the task methods: the server tells it that it takes
    /// tasks, or it still has tasks of its own (a tool removed since, or hidden from it by a
    /// changed allow-list, does not take its running tasks away).
    fn serves_tasks(&self) -> bool {
        self.advertises_tool_tasks() || self.inner.tasks.has_any(&self.task_owner())
    }

    /// -32601 for a task method this caller is not served (see [`serves_tasks`]), as for
    /// any method the server does not support.
    ///
    /// [`serves_tasks`]: Self::serves_tasks
    fn check_tasks_served(&self, method: &str) -> Result<(), ErrorObject> {
        if self.serves_tasks() {
            return Ok(());
        }
        Err(ErrorObject::method_not_served(
            method,
            "this server runs no tasks for this client",
        ))
    }

    /// Whether the caller can be told apart from other callers: it is authenticated, or its
    /// transport keeps sessions (stdio has one; `initialize` on a server with sessions starts
    /// one). An anonymous caller of a stateless server is not: its tasks are reached by their
    /// unguessable ids alone, and not listed.
    pub(super) fn has_task_owner(&self) -> bool {
        self.extensions.get::<Principal>().is_some() || !self.is_stateless()
    }

    /// Who may see a task: the principal, and in the legacy era also the session.
    fn task_owner(&self) -> String {
        let subject = self.extensions.get::<Principal>().map_or("", Principal::id);
        let session = self
            .extensions
            .get::<SessionHandle>()
            .map_or("", |s| s.id());
        format!("{subject}\u{0}{session}")
    }

    /// The owner of a new task, with the client whose share it counts against (the
    /// principal, across its sessions; else the peer's address block; else the owner) and
    /// the legacy session it ends with.
    fn new_task_owner(&self) -> TaskOwner {
        let owner = self.task_owner();
        let peer = self.extensions.get::<std::net::SocketAddr>();
        let client = match (self.extensions.get::<Principal>(), peer) {
            (Some(principal), _) => format!("{}\u{0}", principal.id()),
            // Principal keys end with a NUL and peer keys do not: the two never meet.
            (None, Some(peer)) => format!("\u{0}{}", crate::peer_block(peer.ip())),
            (None, None) => owner.clone(),
        };
        let handle = self.extensions.get::<SessionHandle>();
        TaskOwner {
            owner,
            client,
            session: handle.map(Arc::downgrade),
            session_end: handle.and_then(|session| session.end_token()),
        }
    }

    /// Starts `tool` as a task and answers with the task.
    pub(crate) fn start_task(
        &self,
        tool: Tool,
        arguments: Box<RawValue>,
        meta: Option<RequestMeta>,
        ttl: Option<Duration>,
    ) -> MethodResult {
        let cancel = CancellationToken::new();
        let seed = self.task_seed(meta, &cancel);
        self.spawn_task(tool, arguments, seed, ttl, cancel, None)
    }

    /// A context seed for a task: its own cancellation, and not this request's stream (the
    /// task outlives it). A legacy task reaches the client through `tasks/result` instead
    /// (see `task_relay`); a modern one asks through `tasks/get`.
    fn task_seed(&self, meta: Option<RequestMeta>, cancel: &CancellationToken) -> ContextSeed {
        let mut extensions = http::Extensions::clone(&self.extensions);
        extensions.insert(cancel.clone());
        let relay = if self.version.is_modern() {
            extensions.remove::<crate::peer::ClientPeer>();
            None
        } else {
            let (peer, relay) = task_relay::task_peer();
            extensions.insert(peer);
            Some(relay)
        };
        let extensions = Arc::new(extensions);
        let mut seed = Call {
            inner: self.inner,
            version: self.version,
            id: self.id.clone(),
            extensions,
        }
        .context_seed(meta);
        seed.relay = relay;
        seed
    }

    /// Creates the task entry, starts its runner (continuing `running` when the handler is
    /// already under way) and answers with the task.
    fn spawn_task(
        &self,
        tool: Tool,
        arguments: Box<RawValue>,
        seed: ContextSeed,
        ttl: Option<Duration>,
        cancel: CancellationToken,
        running: Option<Running>,
    ) -> MethodResult {
        let task = self
            .inner
            .tasks
            .create(&self.new_task_owner(), ttl, cancel)?;
        let runner_task = Arc::clone(&task);
        let version = self.version;
        let server_info_meta = self.inner.server_info_meta.clone();
        tokio::spawn(async move {
            run(
                runner_task,
                tool,
                arguments,
                seed,
                version,
                server_info_meta,
                running,
            )
            .await;
        });
        if self.version.is_modern() {
            let mut body = self.task_fields(&task);
            body.insert("content".into(), json!([]));
            let extras = Extras {
                result_type: ResultType::Task,
                cache: None,
                has_meta: false,
            };
            self.encode(&body, extras)
        } else {
            self.encode(
                &json!({ "task": self.task_fields(&task) }),
                Extras::complete(),
            )
        }
    }

    /// A task-augmented call of a tool that defers task creation: a plain (multi-round)
    /// request until the handler calls `escalate_to_task`, then a task continuing the same
    /// handler run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn call_deferred(
        &self,
        tool: Tool,
        arguments: Box<RawValue>,
        meta: Option<RequestMeta>,
        ttl: Option<Duration>,
        binding: super::dispatch::Binding<'_>,
        input_responses: Option<BTreeMap<String, Box<RawValue>>>,
        request_state: Option<String>,
    ) -> MethodResult {
        let round = self.open_round(binding, input_responses, request_state)?;
        let cancel = CancellationToken::new();
        let seed = self.task_seed(meta, &cancel);
        let escalation = Arc::new(Escalation::default());
        let ctx = (seed.build)(Some(Arc::clone(&round)), Some(Arc::clone(&escalation)));
        let handler_tool = tool.clone();
        let handler_arguments = arguments.clone();
        let mut handler: HandlerFuture =
            Box::pin(async move { handler_tool.call(handler_arguments.get(), ctx).await });
        tokio::select! {
            biased;
            result = &mut handler => {
                let result = result?;
                self.encode(&result, Extras::complete().with_meta(result.meta.is_some()))
            }
            () = round.asked() => self.input_required(binding, &round),
            () = escalation.requested() => {
                self.spawn_task(tool, arguments, seed, ttl, cancel, Some(Running { handler, round }))
            }
        }
    }

    /// The fields describing a task, in this era's shape.
    fn task_fields(&self, task: &TaskEntry) -> serde_json::Map<String, Value> {
        let state = task.state();
        let config = &self.inner.tasks.config;
        let mut fields = serde_json::Map::new();
        fields.insert("taskId".into(), json!(task.id));
        fields.insert("status".into(), json!(state.status));
        if let Some(message) = &state.status_message {
            fields.insert("statusMessage".into(), json!(message));
        }
        fields.insert("createdAt".into(), json!(timestamp(task.created_at)));
        fields.insert("lastUpdatedAt".into(), json!(timestamp(state.last_updated)));
        let ttl = task.ttl.as_millis() as u64;
        let poll = config.poll_interval.as_millis() as u64;
        if self.version.is_modern() {
            fields.insert("ttlMs".into(), json!(ttl));
            fields.insert("pollIntervalMs".into(), json!(poll.max(1)));
        } else {
            fields.insert("ttl".into(), json!(ttl));
            fields.insert("pollInterval".into(), json!(poll));
        }
        fields
    }

    fn find_task(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(Arc<TaskEntry>, TaskIdParams), ErrorObject> {
        self.check_tasks_served(method)?;
        let params: TaskIdParams = params::owned(method, params)?;
        if self.version.is_modern() && !has_extension(params.meta.as_ref()) {
            return Err(missing_extension());
        }
        let task = self
            .inner
            .tasks
            .get(&params.task_id, &self.task_owner())
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!(
                    "Unknown task: {}",
                    crate::jsonrpc::quoted(&params.task_id)
                ))
            })?;
        Ok((task, params))
    }

    /// `tasks/get`.
    pub(crate) fn get_task(&self, params: Option<&RawValue>) -> MethodResult {
        let (task, _) = self.find_task("tasks/get", params)?;
        let mut fields = self.task_fields(&task);
        if self.version.is_modern() {
            let state = task.state();
            match state.status {
                TaskStatus::Completed => {
                    if let Some(result) = &state.result {
                        fields.insert(
                            "result".into(),
                            serde_json::from_str(result.get()).unwrap_or(Value::Null),
                        );
                    }
                }
                TaskStatus::Failed => {
                    fields.insert("error".into(), json!(state.error));
                }
                TaskStatus::InputRequired => {
                    let mut requests = serde_json::Map::new();
                    for input in state
                        .asked
                        .iter()
                        .filter(|i| !state.answers.contains_key(&i.key))
                    {
                        let params: Value =
                            serde_json::from_str(input.params.get()).unwrap_or(Value::Null);
                        requests.insert(
                            input.key.clone(),
                            json!({"method": input.method, "params": params}),
                        );
                    }
                    fields.insert("inputRequests".into(), Value::Object(requests));
                }
                _ => {}
            }
        }
        self.encode(&fields, Extras::complete())
    }

    /// `tasks/update` (modern): answers to the task's questions.
    pub(crate) fn update_task(&self, params: Option<&RawValue>) -> MethodResult {
        let (task, params) = self.find_task("tasks/update", params)?;
        task.answer(params.input_responses.unwrap_or_default());
        self.encode(&Empty {}, Extras::complete())
    }

    /// `tasks/cancel`.
    pub(crate) fn cancel_task(&self, params: Option<&RawValue>) -> MethodResult {
        let (task, _) = self.find_task("tasks/cancel", params)?;
        // Checked and set in one step: a task that completes meanwhile is refused as finished,
        // not answered as cancelled with its completed state.
        let cancelled = task.update(|state| {
            state.status = TaskStatus::Cancelled;
            state.status_message = Some("Cancelled by the client".to_owned());
        });
        if !cancelled && !self.version.is_modern() {
            return Err(ErrorObject::invalid_params(format!(
                "Task {} has already finished",
                task.id
            )));
        }
        task.cancel.cancel();
        if self.version.is_modern() {
            self.encode(&Empty {}, Extras::complete())
        } else {
            self.encode(&self.task_fields(&task), Extras::complete())
        }
    }

    /// `tasks/list` (legacy).
    pub(crate) fn list_tasks(&self, params: Option<&RawValue>) -> MethodResult {
        self.check_tasks_served("tasks/list")?;
        if !self.has_task_owner() {
            // Every anonymous caller would share one list: each would see (and could then
            // cancel) the others' tasks. `initialize` does not offer `tasks.list` to them.
            return Err(ErrorObject::method_not_served(
                "tasks/list",
                "not served to anonymous clients without a session, whose tasks cannot be \
                 told apart",
            ));
        }
        let params: params::ListParams<'_> = params::optional("tasks/list", params)?;
        // Every task is listed on one page, so no cursor was ever issued: 2025-11-25 says an
        // invalid or nonexistent one MUST get -32602.
        if params.cursor.is_some() {
            return Err(ErrorObject::invalid_params("Invalid cursor"));
        }
        let tasks: Vec<_> = self
            .inner
            .tasks
            .list(&self.task_owner())
            .iter()
            .map(|task| Value::Object(self.task_fields(task)))
            .collect();
        self.encode(&json!({ "tasks": tasks }), Extras::complete())
    }

    /// `tasks/result` (legacy): waits for the end of the task and answers with its result.
    pub(crate) async fn task_result(&self, params: Option<&RawValue>) -> MethodResult {
        let (task, _) = self.find_task("tasks/result", params)?;
        let peer = self.extensions.get::<crate::peer::ClientPeer>();
        loop {
            let changed = task.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            // What the task's handler sent the client goes out on this request's stream: a
            // tasks/result that was cancelled (by the client, or as its client left) stops
            // here, and leaves the task's questions to the next. (On a stream that carries no
            // requests, a JSON-only endpoint, the questions fail as they would there.)
            if let Some(peer) = peer {
                if peer.is_cancelled() {
                    return Err(ErrorObject::internal_error("tasks/result was cancelled"));
                }
                task_relay::carry(&task, peer).await;
            }
            let state = task.state();
            match state.status {
                // What the call would have answered: its result (a failed task has one when
                // its tool reported an error), else its error.
                TaskStatus::Completed | TaskStatus::Failed => {
                    let Some(result) = state.result else {
                        return Err(state.error.unwrap_or_else(|| {
                            ErrorObject::internal_error("task failed without an error")
                        }));
                    };
                    let mut value: Value =
                        serde_json::from_str(result.get()).unwrap_or(Value::Null);
                    value["_meta"]["io.modelcontextprotocol/related-task"] =
                        json!({ "taskId": task.id });
                    return self.encode(&value, Extras::complete());
                }
                TaskStatus::Cancelled => {
                    let why = state.status_message.as_deref().unwrap_or("Cancelled");
                    return Err(ErrorObject::invalid_params(format!(
                        "Task {}: {why}",
                        task.id
                    )));
                }
                TaskStatus::Working | TaskStatus::InputRequired => {
                    let cancelled = peer.and_then(crate::peer::ClientPeer::cancellation);
                    tokio::select! {
                        () = changed => {}
                        () = async {
                            match cancelled {
                                Some(token) => token.cancelled().await,
                                None => std::future::pending().await,
                            }
                        } => {}
                    }
                }
            }
        }
    }
}

#[derive(Serialize)]
struct Empty {}

/// Builds a handler context from an input round and an escalation handle.
type BuildContext =
    dyn Fn(Option<Arc<InputRound>>, Option<Arc<Escalation>>) -> crate::RequestContext + Send + Sync;

/// Everything needed to build a handler context after the request is gone.
pub(crate) struct ContextSeed {
    pub(crate) build: Box<BuildContext>,
    /// What a legacy task's handler sends the client (see `task_relay`).
    pub(crate) relay: Option<crate::peer::Outbound>,
}
