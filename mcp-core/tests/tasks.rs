//! Task-augmented tool calls in both eras: creation, polling, input, cancellation, bounds.

use std::time::Duration;

use mcp_core::jsonrpc::Message;
use mcp_core::protocol::{
    ElicitRequestFormParams, ElicitRequestParams, TaskSupport, ToolExecution,
};
use mcp_core::{
    Json, McpRequest, McpResponse, Principal, ProtocolVersion, RequestContext, Router, TaskConfig,
    Tool,
};
use serde_json::{Value, json};
use tower::ServiceExt;

type Args = Json<serde_json::Map<String, Value>>;

fn execution(support: TaskSupport) -> ToolExecution {
    ToolExecution {
        task_support: Some(support),
    }
}

fn router(max_tasks: usize) -> Router {
    Router::builder()
        .tasks(TaskConfig::default().max_tasks(max_tasks))
        .tool(
            Tool::new("slow")
                .description("Takes a while")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => "slow done".to_owned(),
                        () = ctx.cancelled() => "cancelled".to_owned(),
                    }
                }),
        )
        .tool(
            Tool::new("forever")
                .description("Never ends unless cancelled")
                .execution(execution(TaskSupport::Required))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    ctx.cancelled().await;
                    "cancelled"
                }),
        )
        .tool(
            Tool::new("confirm")
                .description("Asks before it acts")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let schema = json!({"type":"object","properties":{"ok":{"type":"boolean"}}});
                    let question = ElicitRequestParams::Form(ElicitRequestFormParams::new(
                        "Sure?",
                        serde_json::from_value(schema).unwrap(),
                    ));
                    let answer = ctx.elicit_keyed(Some("confirm"), question).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!("answer: {:?}", answer.action))
                }),
        )
        .tool(
            Tool::new("greet_later")
                .description("Asks a name, then works as a task")
                .execution(execution(TaskSupport::Required))
                .defer_task_creation()
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let schema = json!({"type":"object","properties":{"name":{"type":"string"}}});
                    let question = ElicitRequestParams::Form(ElicitRequestFormParams::new(
                        "Name?",
                        serde_json::from_value(schema).unwrap(),
                    ));
                    let answer = ctx.elicit_keyed(Some("user_name"), question).await?;
                    let name = answer
                        .content
                        .and_then(|c| c.get("name").and_then(|n| n.as_str().map(str::to_owned)))
                        .unwrap_or_default();
                    ctx.escalate_to_task().await;
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!("Hello, {name}!"))
                }),
        )
        .build()
}

const TASKS: &str = "io.modelcontextprotocol/tasks";

fn modern_meta(with_extension: bool) -> Value {
    let capabilities = if with_extension {
        json!({"elicitation": {}, "extensions": {TASKS: {}}})
    } else {
        json!({"elicitation": {}})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities
    })
}

async fn send(
    router: &Router,
    version: ProtocolVersion,
    method: &str,
    params: Value,
    who: &str,
) -> Value {
    let body = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}).to_string();
    let mut request = McpRequest::new(Message::parse(body.as_bytes()).unwrap(), version);
    request.extensions.insert(Principal::new(who));
    let McpResponse::Single(response) = router.clone().oneshot(request).await.unwrap() else {
        panic!("one response expected");
    };
    serde_json::from_slice(&response.to_vec()).unwrap()
}

async fn modern(router: &Router, method: &str, mut params: Value) -> Value {
    params["_meta"] = modern_meta(true);
    send(
        router,
        ProtocolVersion::V2026_07_28,
        method,
        params,
        "alice",
    )
    .await
}

async fn poll_until(router: &Router, task_id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let got = modern(router, "tasks/get", json!({"taskId": task_id})).await;
        if got["result"]["status"] == status {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} never reached {status}");
}

#[tokio::test]
async fn modern_task_runs_and_is_polled() {
    let router = router(10);
    let created = modern(&router, "tools/call", json!({"name":"slow","arguments":{}})).await;
    let result = &created["result"];
    assert_eq!(result["resultType"], "task", "{created}");
    assert_eq!(result["status"], "working");
    assert_eq!(result["content"], json!([]));
    assert!(result["ttlMs"].as_u64().unwrap() > 0);
    let task_id = result["taskId"].as_str().unwrap().to_owned();
    let done = poll_until(&router, &task_id, "completed").await;
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["result"]["content"][0]["text"], "slow done");
    // Another principal cannot see it.
    let mut params = json!({"taskId": task_id});
    params["_meta"] = modern_meta(true);
    let stranger = send(
        &router,
        ProtocolVersion::V2026_07_28,
        "tasks/get",
        params,
        "mallory",
    )
    .await;
    assert_eq!(stranger["error"]["code"], -32602);
}

#[tokio::test]
async fn modern_task_waits_for_input_then_completes() {
    let router = router(10);
    let created = modern(
        &router,
        "tools/call",
        json!({"name":"confirm","arguments":{}}),
    )
    .await;
    let task_id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let parked = poll_until(&router, &task_id, "input_required").await;
    assert_eq!(
        parked["inputRequests"]["confirm"]["method"],
        "elicitation/create"
    );
    let update = modern(
        &router,
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {"confirm": {"action": "accept", "content": {"ok": true}}}}),
    )
    .await;
    assert_eq!(
        update["result"],
        json!({"resultType": "complete", "_meta": update["result"]["_meta"]})
    );
    let done = poll_until(&router, &task_id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "answer: Accept");
}

#[tokio::test]
async fn modern_cancel_and_missing_extension() {
    let router = router(10);
    let created = modern(
        &router,
        "tools/call",
        json!({"name":"forever","arguments":{}}),
    )
    .await;
    let task_id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let cancelled = modern(&router, "tasks/cancel", json!({"taskId": task_id})).await;
    assert_eq!(cancelled["result"]["resultType"], "complete");
    poll_until(&router, &task_id, "cancelled").await;
    // Without the extension a task-only tool and the task methods need it (-32021).
    let mut params = json!({"name":"forever","arguments":{}});
    params["_meta"] = modern_meta(false);
    let refused = send(
        &router,
        ProtocolVersion::V2026_07_28,
        "tools/call",
        params,
        "alice",
    )
    .await;
    assert_eq!(refused["error"]["code"], -32021);
    assert_eq!(
        refused["error"]["data"]["requiredCapabilities"]["extensions"][TASKS],
        json!({})
    );
    // An optional-task tool runs directly without it.
    let mut params = json!({"name":"slow","arguments":{}});
    params["_meta"] = modern_meta(false);
    let direct = send(
        &router,
        ProtocolVersion::V2026_07_28,
        "tools/call",
        params,
        "alice",
    )
    .await;
    assert_eq!(direct["result"]["content"][0]["text"], "slow done");
    // tasks/list and tasks/result do not exist in this era.
    let listed = modern(&router, "tasks/list", json!({})).await;
    assert_eq!(listed["error"]["code"], -32601);
}

#[tokio::test]
async fn legacy_experimental_tasks() {
    let router = router(2);
    let v = ProtocolVersion::V2025_11_25;
    let created = send(
        &router,
        v,
        "tools/call",
        json!({"name":"slow","arguments":{},"task":{"ttl":60000}}),
        "alice",
    )
    .await;
    let task = &created["result"]["task"];
    assert_eq!(task["status"], "working", "{created}");
    assert_eq!(task["ttl"], 60000);
    let task_id = task["taskId"].as_str().unwrap().to_owned();
    let result = send(
        &router,
        v,
        "tasks/result",
        json!({"taskId": task_id}),
        "alice",
    )
    .await;
    assert_eq!(result["result"]["content"][0]["text"], "slow done");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        task_id.as_str()
    );
    let got = send(&router, v, "tasks/get", json!({"taskId": task_id}), "alice").await;
    assert_eq!(got["result"]["status"], "completed");
    let listed = send(&router, v, "tasks/list", json!({}), "alice").await;
    assert_eq!(listed["result"]["tasks"].as_array().unwrap().len(), 1);
    // A finished task cannot be cancelled.
    let cancel = send(
        &router,
        v,
        "tasks/cancel",
        json!({"taskId": task_id}),
        "alice",
    )
    .await;
    assert_eq!(cancel["error"]["code"], -32602);
    // A task-only tool called without `task` is refused.
    let refused = send(
        &router,
        v,
        "tools/call",
        json!({"name":"forever","arguments":{}}),
        "alice",
    )
    .await;
    assert_eq!(refused["error"]["code"], -32601);
    // The store is bounded.
    let second = send(
        &router,
        v,
        "tools/call",
        json!({"name":"forever","arguments":{},"task":{}}),
        "alice",
    )
    .await;
    assert!(second["result"]["task"]["taskId"].is_string());
    let full = send(
        &router,
        v,
        "tools/call",
        json!({"name":"forever","arguments":{},"task":{}}),
        "alice",
    )
    .await;
    assert_eq!(full["error"]["code"], -32000);
    // Capabilities advertise tasks in this era.
    let init = send(&router, v, "initialize", json!({"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}), "alice").await;
    assert!(init["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object());
}

#[tokio::test]
async fn deferred_task_asks_first_then_becomes_a_task() {
    let router = router(10);
    let first = modern(
        &router,
        "tools/call",
        json!({"name":"greet_later","arguments":{}}),
    )
    .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    assert!(result.get("taskId").is_none());
    assert_eq!(
        result["inputRequests"]["user_name"]["method"],
        "elicitation/create"
    );
    let state = result["requestState"].clone();
    let second = modern(
        &router,
        "tools/call",
        json!({"name":"greet_later","arguments":{},"requestState": state,
               "inputResponses": {"user_name": {"action":"accept","content":{"name":"Alice"}}}}),
    )
    .await;
    assert_eq!(second["result"]["resultType"], "task", "{second}");
    assert!(second["result"].get("requestState").is_none());
    let task_id = second["result"]["taskId"].as_str().unwrap().to_owned();
    let done = poll_until(&router, &task_id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "Hello, Alice!");
}

/// Sets its flag when dropped: the handler holding it was stopped.
struct Stopped(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A router whose tasks live `ttl`, with a tool that panics and one that never ends (its
/// flag says whether it was stopped).
fn ending_router(ttl: Duration) -> (Router, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
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
    let created = send(&router, v, "tools/call", params, "alice").await;
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = send(
        &router,
        v,
        "tasks/result",
        json!({"taskId": task_id}),
        "alice",
    );
    let result = tokio::time::timeout(Duration::from_secs(5), result)
        .await
        .expect("tasks/result of a panicked task must answer");
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

async fn wait_stopped(stopped: &std::sync::atomic::AtomicBool) {
    for _ in 0..300 {
        if stopped.load(std::sync::atomic::Ordering::SeqCst) {
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
    let created = send(&router, v, "tools/call", params, "alice").await;
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Waiting before the TTL runs out: the expiry must end the wait.
    let result = send(
        &router,
        v,
        "tasks/result",
        json!({"taskId": task_id}),
        "alice",
    );
    let result = tokio::time::timeout(Duration::from_secs(5), result)
        .await
        .expect("tasks/result of an expired task must answer");
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
