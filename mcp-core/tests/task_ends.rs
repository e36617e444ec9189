//! How task runners end: a panicking handler fails its task, an expired task stops its
//! handler, and `tasks/result` answers either way.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Args, execution, modern, poll_until, send};
use mcp_core::protocol::TaskSupport;
use mcp_core::{Json, ProtocolVersion, RequestContext, Router, TaskConfig, Tool};
use serde_json::json;

/// Sets its flag when dropped: the handler holding it was stopped.
struct Stopped(Arc<AtomicBool>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A router whose tasks live `ttl`, with a tool that panics and one that never ends (its
/// flag says whether it was stopped).
fn ending_router(ttl: Duration) -> (Router, Arc<AtomicBool>) {
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    let router = Router::builder()
        .tasks(TaskConfig::default().default_ttl(ttl))
        .tool(
            Tool::new("explode")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, _ctx: RequestContext| async move {
                    if true {
                        panic!("secret internals");
                    }
                    "unreachable"
                }),
        )
        .tool(
            Tool::new("stuck")
                .execution(execution(TaskSupport::Optional))
                .handler(move |Json(_): Args, _ctx: RequestContext| {
                    let stopped = Stopped(flag.clone());
                    async move {
                        let _stopped = stopped;
                        std::future::pending::<()>().await;
                        "never"
                    }
                }),
        )
        .build();
    (router, stopped)
}

#[tokio::test]
async fn panicking_task_fails_and_tasks_result_answers() {
    let (router, _) = ending_router(Duration::from_secs(60));
    let v = ProtocolVersion::V2025_11_25;
    let params = json!({"name":"explode","arguments":{},"task":{}});
    let (task_id, result) = legacy_task_result(&router, params).await;
    assert_eq!(result["error"]["code"], -32603, "{result}");
    assert!(!result.to_string().contains("secret"), "{result}");
    let got = send(&router, v, "tasks/get", json!({"taskId": task_id}), "alice").await;
    assert_eq!(got["result"]["status"], "failed");
    // The same in the modern era: tasks/get shows the failure.
    let created = modern(
        &router,
        "tools/call",
        json!({"name":"explode","arguments":{}}),
    )
    .await;
    let task_id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let failed = poll_until(&router, &task_id, "failed").await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert!(!failed.to_string().contains("secret"), "{failed}");
}

/// Starts a 2025-11-25 task with `params` (a `tools/call` with `task`) and waits, at most 5 s,
/// for its `tasks/result`: the task's id and that answer.
async fn legacy_task_result(
    router: &Router,
    params: serde_json::Value,
) -> (String, serde_json::Value) {
    let v = ProtocolVersion::V2025_11_25;
    let created = send(router, v, "tools/call", params, "alice").await;
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = send(
        router,
        v,
        "tasks/result",
        json!({"taskId": task_id}),
        "alice",
    );
    let result = tokio::time::timeout(Duration::from_secs(5), result)
        .await
        .expect("tasks/result must answer once the task has ended");
    (task_id, result)
}

async fn wait_stopped(stopped: &AtomicBool) {
    for _ in 0..300 {
        if stopped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the expired task's handler is still running");
}

#[tokio::test]
async fn expired_legacy_task_stops_its_runner_and_answers_tasks_result() {
    let (router, stopped) = ending_router(Duration::from_secs(60));
    let v = ProtocolVersion::V2025_11_25;
    let params = json!({"name":"stuck","arguments":{},"task":{"ttl":200}});
    // Waiting before the TTL runs out: the expiry must end the wait.
    let (task_id, result) = legacy_task_result(&router, params).await;
    assert_eq!(result["error"]["code"], -32602, "{result}");
    wait_stopped(&stopped).await;
    let got = send(&router, v, "tasks/get", json!({"taskId": task_id}), "alice").await;
    assert_eq!(got["error"]["code"], -32602, "{got}");
}

#[tokio::test]
async fn expired_modern_task_stops_its_runner_without_further_requests() {
    let (router, stopped) = ending_router(Duration::from_millis(200));
    let created = modern(
        &router,
        "tools/call",
        json!({"name":"stuck","arguments":{}}),
    )
    .await;
    assert_eq!(created["result"]["status"], "working", "{created}");
    // Nobody asks about the task again: its timer alone stops the handler.
    wait_stopped(&stopped).await;
    let task_id = created["result"]["taskId"].as_str().unwrap();
    let got = modern(&router, "tasks/get", json!({"taskId": task_id})).await;
    assert_eq!(got["error"]["code"], -32602, "{got}");
}
