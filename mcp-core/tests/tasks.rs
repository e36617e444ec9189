//! Task-augmented tool calls in both eras: creation, polling, input, cancellation, bounds.

mod common;

use std::time::Duration;

use common::{Args, TASKS, execution, modern, modern_meta, poll_until, poll_until_any, send};
use mcp_core::protocol::{ElicitRequestFormParams, ElicitRequestParams, TaskSupport};
use mcp_core::{Json, ProtocolVersion, RequestContext, Router, TaskConfig, Tool};
use serde_json::{Value, json};

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
        .tool(plain())
        .tool(
            Tool::new("failing")
                .description("Reports an error as its result")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, _ctx: RequestContext| async move {
                    mcp_core::protocol::CallToolResult::error_text("the data set is empty")
                }),
        )
        .tool(
            Tool::new("greet_then_confirm")
                .description("Asks a name, works as a task, then asks a confirmation")
                .execution(execution(TaskSupport::Required))
                .defer_task_creation()
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let name = ask(&ctx, "user_name").await?;
                    ctx.escalate_to_task().await;
                    let sure = ask(&ctx, "confirm").await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!("Hello, {name} ({sure})"))
                }),
        )
        .tool(
            Tool::new("two_questions")
                .description("Asks one question after the other")
                .execution(execution(TaskSupport::Required))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let first = ask(&ctx, "first").await?;
                    let second = ask(&ctx, "second").await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!("{first}, {second}"))
                }),
        )
        .build()
}

/// A tool that does not support tasks (the default).
fn plain() -> Tool {
    Tool::new("plain").handler(|Json(_): Args, _ctx: RequestContext| async move { "plain done" })
}

/// Asks for `{"text": ..}` under `key`; answers with the text.
async fn ask(ctx: &RequestContext, key: &str) -> Result<String, mcp_core::jsonrpc::ErrorObject> {
    let schema = json!({"type":"object","properties":{"text":{"type":"string"}}});
    let question = ElicitRequestParams::Form(ElicitRequestFormParams::new(
        key,
        serde_json::from_value(schema).unwrap(),
    ));
    let answer = ctx.elicit_keyed(Some(key), question).await?;
    Ok(answer
        .content
        .and_then(|c| c.get("text").and_then(|n| n.as_str().map(str::to_owned)))
        .unwrap_or_default())
}

fn text_answer(text: &str) -> Value {
    json!({"action": "accept", "content": {"text": text}})
}

/// Starts `tool` (no arguments) as a 2026-07-28 task; its id.
async fn start_task(router: &Router, tool: &str) -> String {
    let created = modern(router, "tools/call", json!({"name": tool, "arguments": {}})).await;
    created["result"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned()
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
    let task_id = start_task(&router, "confirm").await;
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
    let task_id = start_task(&router, "forever").await;
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

/// A TTL too short to poll the task once is raised to the configured minimum, and the task's
/// answer says so (receivers may override the requested TTL).
#[tokio::test]
async fn a_task_is_kept_at_least_the_minimum_ttl() {
    let router = router(2);
    let v = ProtocolVersion::V2025_11_25;
    let created = send(
        &router,
        v,
        "tools/call",
        json!({"name":"slow","arguments":{},"task":{"ttl":0}}),
        "alice",
    )
    .await;
    let task = &created["result"]["task"];
    assert_eq!(task["ttl"], 1000, "{created}");
    let task_id = task["taskId"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let got = send(&router, v, "tasks/get", json!({"taskId": task_id}), "alice").await;
    assert_eq!(got["result"]["taskId"], task_id.as_str(), "{got}");
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
    // tasks/list issues no cursors (one page): any cursor is invalid.
    let paged = json!({"cursor": "not-a-cursor"});
    let refused = send(&router, v, "tasks/list", paged, "alice").await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
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
    // The store is bounded: the ended task makes room for a second running one, then the
    // running ones leave none.
    for _ in 0..2 {
        let running = send(
            &router,
            v,
            "tools/call",
            json!({"name":"forever","arguments":{},"task":{}}),
            "alice",
        )
        .await;
        assert!(running["result"]["task"]["taskId"].is_string(), "{running}");
    }
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
async fn a_tool_error_fails_a_legacy_task_and_completes_a_modern_one() {
    let router = router(10);
    // 2025-11-25: "when the tool result has `isError` set to `true`, the task should reach
    // `failed` status", with a diagnostic `statusMessage`; tasks/result answers the result.
    let v = ProtocolVersion::V2025_11_25;
    let call = json!({"name":"failing","arguments":{},"task":{}});
    let created = send(&router, v, "tools/call", call, "alice").await;
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
    )
    .await;
    assert_eq!(result["result"]["isError"], true, "{result}");
    assert_eq!(
        result["result"]["content"][0]["text"],
        "the data set is empty"
    );
    let got = send(&router, v, "tasks/get", json!({"taskId": task_id}), "alice").await;
    assert_eq!(got["result"]["status"], "failed", "{got}");
    assert_eq!(
        got["result"]["statusMessage"],
        "The tool reported an error: the data set is empty"
    );

    // 2026-07-28 (the tasks extension): the call succeeded, with a tool error as its result.
    let created = modern(
        &router,
        "tools/call",
        json!({"name":"failing","arguments":{}}),
    )
    .await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let task_id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let done = poll_until(&router, &task_id, "completed").await;
    assert_eq!(done["result"]["isError"], true, "{done}");
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

#[tokio::test]
async fn deferred_task_keeps_the_answers_given_before_it_was_created() {
    let router = router(10);
    let call = json!({"name":"greet_then_confirm","arguments":{}});
    let first = modern(&router, "tools/call", call.clone()).await;
    assert!(
        first["result"]["inputRequests"]["user_name"].is_object(),
        "{first}"
    );
    let mut retry = call;
    retry["requestState"] = first["result"]["requestState"].clone();
    retry["inputResponses"] = json!({"user_name": text_answer("Alice")});
    let second = modern(&router, "tools/call", retry).await;
    assert_eq!(second["result"]["resultType"], "task", "{second}");
    let task_id = second["result"]["taskId"].as_str().unwrap().to_owned();
    let parked = poll_until(&router, &task_id, "input_required").await;
    assert_eq!(
        parked["inputRequests"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["confirm"],
        "{parked}"
    );
    let answers = json!({"taskId": task_id, "inputResponses": {"confirm": text_answer("yes")}});
    modern(&router, "tasks/update", answers).await;
    // The handler runs again from the top: the name given before the task existed must
    // still be known, not asked again under the same key.
    for _ in 0..200 {
        let got = modern(&router, "tasks/get", json!({"taskId": task_id})).await;
        let got = &got["result"];
        assert!(got["inputRequests"].get("user_name").is_none(), "{got}");
        if got["status"] == "completed" {
            assert_eq!(got["result"]["content"][0]["text"], "Hello, Alice (yes)");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} never completed");
}

#[tokio::test]
async fn task_ignores_answers_to_questions_not_outstanding() {
    let router = router(10);
    let task_id = start_task(&router, "two_questions").await;
    poll_until(&router, &task_id, "input_required").await;
    // "second" has not been asked yet: its answer is ignored, and asked for later.
    let answers = json!({"taskId": task_id, "inputResponses": {
        "first": text_answer("one"), "second": text_answer("early"), "junk": text_answer("x")}});
    modern(&router, "tasks/update", answers).await;
    let parked = loop {
        let got = poll_until_any(&router, &task_id).await;
        let asking = got["inputRequests"]
            .as_object()
            .is_some_and(|r| !r.is_empty());
        if asking || got["status"] != "input_required" {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(parked["status"], "input_required", "{parked}");
    let asked: Vec<_> = parked["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(asked, ["second"], "{parked}");
    // Answering "first" again changes nothing.
    let answers = json!({"taskId": task_id, "inputResponses": {
        "first": text_answer("changed"), "second": text_answer("two")}});
    modern(&router, "tasks/update", answers).await;
    let done = poll_until(&router, &task_id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "one, two");
}

/// `lastUpdatedAt` moves when the task does: not for answers it ignores, nor once it ended.
#[tokio::test]
async fn ignored_answers_leave_last_updated_at_alone() {
    let router = router(10);
    let task_id = start_task(&router, "slow").await;
    ignored_answer_changes_nothing(&router, &task_id, "completed").await;
    let task_id = start_task(&router, "two_questions").await;
    ignored_answer_changes_nothing(&router, &task_id, "input_required").await;
}

/// Once the task is in `status`, a `tasks/update` whose one answer no question asked for
/// leaves its `lastUpdatedAt` as it was.
async fn ignored_answer_changes_nothing(router: &Router, task_id: &str, status: &str) {
    let before = poll_until(router, task_id, status).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let answers = json!({"taskId": task_id, "inputResponses": {"junk": text_answer("x")}});
    modern(router, "tasks/update", answers).await;
    let after = poll_until(router, task_id, status).await;
    assert_eq!(after["lastUpdatedAt"], before["lastUpdatedAt"], "{after}");
}

#[tokio::test]
async fn task_of_a_tool_that_forbids_tasks() {
    let v = ProtocolVersion::V2025_11_25;
    let params = json!({"name":"plain","arguments":{},"task":{}});
    // The server advertises tasks.requests.tools.call: -32601.
    let router = router(10);
    let refused = send(&router, v, "tools/call", params.clone(), "alice").await;
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
    let plain_call = json!({"name":"plain","arguments":{}});
    let direct = send(&router, v, "tools/call", plain_call, "alice").await;
    assert_eq!(
        direct["result"]["content"][0]["text"], "plain done",
        "{direct}"
    );
    // The modern era decides per request: it runs directly.
    let direct = modern(
        &router,
        "tools/call",
        json!({"name":"plain","arguments":{}}),
    )
    .await;
    assert_eq!(
        direct["result"]["content"][0]["text"], "plain done",
        "{direct}"
    );
    // A server without the capability processes the request normally.
    let router = Router::builder().tool(plain()).build();
    let direct = send(&router, v, "tools/call", params, "alice").await;
    assert_eq!(
        direct["result"]["content"][0]["text"], "plain done",
        "{direct}"
    );
}

#[tokio::test]
async fn a_task_only_tool_runs_directly_in_eras_without_tasks() {
    // 2025-03-26 and 2025-06-18 have no tasks: the listed tool is processed normally (with
    // or without a stray `task`), where 2025-11-25 refuses it without one (above).
    let router = Router::builder()
        .tasks(TaskConfig::default())
        .tool(
            Tool::new("slow_required")
                .execution(execution(TaskSupport::Required))
                .handler(|Json(_): Args, _: RequestContext| async move { "required done" }),
        )
        .build();
    for v in [ProtocolVersion::V2025_03_26, ProtocolVersion::V2025_06_18] {
        for params in [
            json!({"name":"slow_required","arguments":{}}),
            json!({"name":"slow_required","arguments":{},"task":{"ttl":1000}}),
        ] {
            let direct = send(&router, v, "tools/call", params, "alice").await;
            assert_eq!(
                direct["result"]["content"][0]["text"], "required done",
                "{v:?}: {direct}"
            );
        }
    }
}
