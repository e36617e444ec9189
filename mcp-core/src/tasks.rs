//! Tasks: tool calls that run in the background and are polled (2025-11-25 experimental
//! tasks; the `io.modelcontextprotocol/tasks` extension of 2026-07-28).
//!
//! Storage is bounded (a maximum count, a share per client, a TTL per task) and every task
//! belongs to the principal (and legacy session) that created it: nobody else can see it.
//! An anonymous client of a stateless server has neither: its tasks are reached by their ids
//! alone (128 random bits, as the spec asks when tasks cannot be bound to a context), and
//! `tasks/list` is not served to it.
//! A full store makes room by dropping ended tasks (oldest first), never running ones, and a
//! legacy session's tasks go when the session ends (nobody can reach them then): a session
//! that gives an [end token](crate::Session::end_token), as `SessionLayer`'s do, has them
//! cancelled and their handlers stopped at its DELETE or expiry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::input::AskedInput;
use crate::jsonrpc::{ErrorObject, RawJson};
use crate::protocol::TaskStatus;
use crate::session::Session;

/// Limits of the task store.
///
/// ```
/// use std::time::Duration;
/// use mcp_core::TaskConfig;
///
/// let config = TaskConfig::default()
///     .max_tasks(500)
///     .max_tasks_per_client(20)
///     .default_ttl(Duration::from_secs(60));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct TaskConfig {
    pub(crate) max_tasks: usize,
    pub(crate) max_tasks_per_client: usize,
    pub(crate) default_ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) poll_interval: Duration,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            max_tasks: 1_000,
            max_tasks_per_client: 100,
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(1),
            max_ttl: Duration::from_secs(3_600),
            poll_interval: Duration::from_millis(500),
        }
    }
}

impl TaskConfig {
    /// The most tasks kept at once (default 1 000). When the store is full, an ended task
    /// (completed, failed or cancelled) is dropped before its TTL to make room: the creator's
    /// oldest if it has one, else its client's, else the oldest of all; when all are running,
    /// creating more fails with -32000.
    pub fn max_tasks(mut self, max: usize) -> Self {
        self.max_tasks = max.max(1);
        self
    }

    /// The most tasks one client keeps at once (default 100, a tenth of the default
    /// [`max_tasks`](Self::max_tasks)), so that one client cannot take every slot. At its
    /// share, a client's new task replaces one of its oldest ended tasks (the creator's own
    /// first); when all of its tasks are running, creating more fails with -32000. A client
    /// is an authenticated principal (by [`Principal::id`](crate::Principal::id), across its
    /// sessions), else the peer's address ([`peer_block`](crate::peer_block) of the
    /// `SocketAddr` `mcp_tower::serve` puts in the extensions), else the legacy session.
    /// Behind a reverse proxy every anonymous client has the proxy's address and so one
    /// share: authenticate clients there, or raise this.
    pub fn max_tasks_per_client(mut self, max: usize) -> Self {
        self.max_tasks_per_client = max.max(1);
        self
    }

    /// How long a task is kept when the client does not ask (default 10 min).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The shortest TTL a task is kept for, whatever the client asks (default 1 s): a task
    /// gone before its creator can poll it once loses its result. The task's answer reports
    /// the TTL kept, as the spec lets a receiver override the one requested.
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }

    /// The longest TTL a client may ask for (default 1 h).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// The polling interval suggested to clients (default 500 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// What a task has produced so far.
#[derive(Debug, Clone)]
pub(crate) struct TaskState {
    pub(crate) status: TaskStatus,
    pub(crate) status_message: Option<String>,
    pub(crate) last_updated: SystemTime,
    /// The encoded `CallToolResult`, once completed.
    pub(crate) result: Option<RawJson>,
    /// The protocol error, once failed.
    pub(crate) error: Option<ErrorObject>,
    /// The unanswered questions, while `input_required`.
    pub(crate) asked: Vec<AskedInput>,
    /// Every answer received so far, by key.
    pub(crate) answers: BTreeMap<String, Box<RawValue>>,
}

/// One task.
#[derive(Debug)]
pub(crate) struct TaskEntry {
    pub(crate) id: String,
    pub(crate) owner: String,
    /// Whose share of the store the task counts against (see `TaskOwner`).
    client: String,
    /// The legacy session that owns it: the task goes when the session ends.
    session: Option<Weak<dyn Session>>,
    pub(crate) created_at: SystemTime,
    pub(crate) created: Instant,
    pub(crate) ttl: Duration,
    pub(crate) cancel: CancellationToken,
    /// Fires on every state change and on new answers.
    pub(crate) changed: Notify,
    pub(crate) state: Mutex<TaskState>,
    /// 2025-11-25: what the task's handler sent the client, until a `tasks/result` request
    /// carries it (see `router/task_relay.rs`).
    pub(crate) relay: Mutex<Relayed>,
}

/// A legacy task's messages to the client.
#[derive(Debug, Default)]
pub(crate) struct Relayed {
    /// Requests and notifications no `tasks/result` has carried yet.
    pub(crate) held: std::collections::VecDeque<crate::peer::OutboundMessage>,
    /// Requests the handler still waits on, carried or not: the task is `input_required`
    /// while there are any.
    pub(crate) open_questions: usize,
}

impl TaskEntry {
    pub(crate) fn state(&self) -> TaskState {
        lock(&self.state).clone()
    }

    /// Updates the state unless the task already ended, and wakes waiters; whether it did
    /// (the check and the change are one step: nothing ends the task in between).
    pub(crate) fn update(&self, change: impl FnOnce(&mut TaskState)) -> bool {
        {
            let mut state = lock(&self.state);
            if state.status.is_terminal() {
                return false;
            }
            change(&mut state);
            state.last_updated = SystemTime::now();
        }
        self.changed.notify_waiters();
        true
    }

    /// Adds answers (from `tasks/update`) and wakes the runner. Only answers to outstanding
    /// questions (asked, not yet answered) are kept: any other key is ignored, so a client
    /// cannot answer a question before it is asked nor change an answer already given.
    pub(crate) fn answer(&self, answers: BTreeMap<String, Box<RawValue>>) {
        {
            let mut state = lock(&self.state);
            if state.status.is_terminal() {
                return;
            }
            let mut kept = false;
            for (key, answer) in answers {
                let outstanding = state.asked.iter().any(|asked| asked.key == key)
                    && !state.answers.contains_key(&key);
                if outstanding {
                    state.answers.insert(key, answer);
                    kept = true;
                }
            }
            // `lastUpdatedAt` moves only when the task did: ignored answers change nothing.
            if !kept {
                return;
            }
            state.last_updated = SystemTime::now();
        }
        self.changed.notify_waiters();
    }

    /// Ends the task because its TTL ran out: marks it cancelled (unless it already ended),
    /// wakes waiters and stops its runner, so nothing outlives the TTL.
    pub(crate) fn expire(&self) {
        self.end("Expired: its TTL ran out");
    }

    /// Ends the task for the reason `why` (its TTL, its session's end): marks it cancelled
    /// unless it already ended, wakes waiters and stops its runner.
    fn end(&self, why: &str) {
        self.update(|state| {
            state.status = TaskStatus::Cancelled;
            state.status_message = Some(why.to_owned());
        });
        self.cancel.cancel();
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.created) > self.ttl
    }

    /// Whether the task is past its TTL or its session has ended: then nobody can reach it.
    fn gone(&self, now: Instant) -> bool {
        self.expired(now)
            || self
                .session
                .as_ref()
                .is_some_and(|session| session.upgrade().is_none_or(|s| s.is_terminated()))
    }

    fn has_ended(&self) -> bool {
        lock(&self.state).status.is_terminal()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Who a new task belongs to: who may see it (`owner`), whose share of the store it counts
/// against (`client`), and the legacy session it ends with.
#[derive(Debug, Clone)]
pub(crate) struct TaskOwner {
    pub(crate) owner: String,
    pub(crate) client: String,
    pub(crate) session: Option<Weak<dyn Session>>,
    /// Cancelled when that session ends (see [`Session::end_token`]).
    pub(crate) session_end: Option<CancellationToken>,
}

/// The tasks by id.
type TaskMap = Mutex<HashMap<String, Arc<TaskEntry>>>;

/// The bounded task table.
#[derive(Debug, Default)]
pub(crate) struct TaskStore {
    /// Shared (weakly) with each task's expiry timer.
    tasks: Arc<TaskMap>,
    pub(crate) config: TaskConfig,
}

impl TaskStore {
    pub(crate) fn new(config: TaskConfig) -> Self {
        Self {
            tasks: Arc::new(Mutex::new(HashMap::new())),
            config,
        }
    }

    /// Creates a task for `owner`. When the store, or the share of the owner's client, is
    /// full, an ended task makes room, oldest first: the owner's own if it has one, else its
    /// client's (another session from the same address, say), else (the store full) anyone's;
    /// when all are running, creation fails.
    ///
    /// A timer removes and ends the task when its TTL runs out, or when its legacy session
    /// ends, even if nobody asks about it again (a task the client abandoned, or can no longer
    /// reach, must not keep its runner).
    pub(crate) fn create(
        &self,
        owner: &TaskOwner,
        ttl: Option<Duration>,
        cancel: CancellationToken,
    ) -> Result<Arc<TaskEntry>, ErrorObject> {
        let now = Instant::now();
        let mut tasks = lock(&self.tasks);
        let mut expired = Vec::new();
        // One pass (the table is bounded) drops the tasks nobody can reach any more, counts
        // the client's, and finds the oldest ended ones: the owner's, the client's, anybody's.
        let mut held_by_client = 0;
        let mut oldest_ended: Option<Arc<TaskEntry>> = None;
        let mut clients_oldest_ended: Option<Arc<TaskEntry>> = None;
        let mut owners_oldest_ended: Option<Arc<TaskEntry>> = None;
        let older = |candidate: &Option<Arc<TaskEntry>>, task: &TaskEntry| {
            candidate.as_ref().is_none_or(|c| task.created < c.created)
        };
        tasks.retain(|_, task| {
            if task.gone(now) {
                expired.push(Arc::clone(task));
                return false;
            }
            let ours = task.client == owner.client;
            held_by_client += usize::from(ours);
            if task.has_ended() {
                if older(&oldest_ended, task) {
                    oldest_ended = Some(Arc::clone(task));
                }
                if ours && older(&clients_oldest_ended, task) {
                    clients_oldest_ended = Some(Arc::clone(task));
                }
                // The owner's own, counted in this client's share (an anonymous session's
                // tasks count against the address each was made from).
                if ours && task.owner == owner.owner && older(&owners_oldest_ended, task) {
                    owners_oldest_ended = Some(Arc::clone(task));
                }
            }
            true
        });
        // Room is made by dropping an ended task, the owner's own first; running ones stay.
        let mut refusal = None;
        let own_first = owners_oldest_ended.or(clients_oldest_ended);
        if held_by_client >= self.config.max_tasks_per_client {
            match own_first {
                Some(task) => {
                    tasks.remove(&task.id);
                }
                None => {
                    refusal = Some("Too many running tasks of this client; try again later");
                }
            }
        } else if tasks.len() >= self.config.max_tasks {
            match own_first.or(oldest_ended) {
                Some(task) => {
                    tasks.remove(&task.id);
                }
                None => refusal = Some("Too many running tasks; try again later"),
            }
        }
        if let Some(message) = refusal {
            drop(tasks);
            expired.iter().for_each(|task| task.expire());
            return Err(ErrorObject::new(
                crate::jsonrpc::codes::SERVER_ERROR,
                message,
            ));
        }
        let bytes: [u8; 16] = rand::random();
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let max = self.config.max_ttl;
        let ttl = ttl
            .unwrap_or(self.config.default_ttl)
            .min(max)
            .max(self.config.min_ttl.min(max));
        let entry = Arc::new(TaskEntry {
            id: id.clone(),
            owner: owner.owner.clone(),
            client: owner.client.clone(),
            session: owner.session.clone(),
            created_at: SystemTime::now(),
            created: now,
            ttl,
            cancel,
            changed: Notify::new(),
            relay: Mutex::new(Relayed::default()),
            state: Mutex::new(TaskState {
                status: TaskStatus::Working,
                status_message: None,
                last_updated: SystemTime::now(),
                result: None,
                error: None,
                asked: Vec::new(),
                answers: BTreeMap::new(),
            }),
        });
        tasks.insert(id.clone(), Arc::clone(&entry));
        drop(tasks);
        expired.iter().for_each(|task| task.expire());
        let store = Arc::downgrade(&self.tasks);
        let deadline = tokio::time::Instant::from_std(now + ttl);
        let session_end = owner.session_end.clone();
        tokio::spawn(async move {
            let session_ended = async {
                match session_end {
                    Some(token) => token.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let why = tokio::select! {
                () = tokio::time::sleep_until(deadline) => "Expired: its TTL ran out",
                () = session_ended => "Cancelled: its session ended",
            };
            let removed = store.upgrade().and_then(|tasks| lock(&tasks).remove(&id));
            if let Some(task) = removed {
                task.end(why);
            }
        });
        Ok(entry)
    }

    /// Finds a live task of `owner`.
    pub(crate) fn get(&self, id: &str, owner: &str) -> Option<Arc<TaskEntry>> {
        let now = Instant::now();
        let mut tasks = lock(&self.tasks);
        let expired = tasks.get(id).is_some_and(|task| task.expired(now));
        if expired {
            let removed = tasks.remove(id);
            drop(tasks);
            if let Some(task) = removed {
                task.expire();
            }
            return None;
        }
        tasks.get(id).filter(|task| task.owner == owner).cloned()
    }

    /// Whether `owner` has a live task.
    pub(crate) fn has_any(&self, owner: &str) -> bool {
        let now = Instant::now();
        lock(&self.tasks)
            .values()
            .any(|task| task.owner == owner && !task.expired(now))
    }

    /// The live tasks of `owner`, oldest first.
    pub(crate) fn list(&self, owner: &str) -> Vec<Arc<TaskEntry>> {
        let now = Instant::now();
        let mut tasks: Vec<_> = lock(&self.tasks)
            .values()
            .filter(|task| task.owner == owner && !task.expired(now))
            .cloned()
            .collect();
        tasks.sort_by_key(|task| task.created);
        tasks
    }
}

/// RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}
