//! 2025-11-25 tasks reaching the client through `tasks/result`: what the handler sent in its
//! last moment is carried, everything carried names the task, a question the handler gave up
//! on is withdrawn, and one whose `tasks/result` went away is asked again by the next.

mod common;

use std::time::Duration;

use common::{Args, execution, send};
use mcp_core::jsonrpc::Message;
use mcp_core::protocol::{LoggingLevel, TaskSupport};
use mcp_core::{
    ClientPeer, Json, McpRequest, McpResponse, Outbound, OutboundMessage, Principal,
    ProtocolVersion, RequestContext, Router, Tool,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const V: ProtocolVersion = ProtocolVersion::V2025_11_25;
const RELATED: &str = "io.modelcontextprotocol/related-task";

fn router() -> Router {
    Router::builder()
        .client_request_timeout(Duration::from_millis(100))
        .tool(
            Tool::new("logs")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    ctx.log(LoggingLevel::Info, None, "first").await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    // Sent in the same poll as the handler's end.
                    ctx.log(LoggingLevel::Info, None, "last").await;
                    "done"
                }),
        )
        .tool(
            Tool::new("gives_up")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let asked: Result<Value, _> = ctx.request("roots/list", &json!({})).await;
                    assert!(asked.is_err(), "nobody answers before the timeout");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "fallback"
                }),
        )
        .build()
}

async fn create(router: &Router, tool: &str) -> String {
    let call = json!({"name": tool, "arguments": {}, "task": {}});
    let created = send(router, V, "tools/call", call, "alice").await;
    created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status(router: &Router, task_id: &str) -> Value {
    send(router, V, "tasks/get", json!({"taskId": task_id}), "alice").await["result"].clone()
}

/// A `tasks/result` request for `task_id` with a stream to the client.
fn tasks_result(task_id: &str) -> (McpRequest, Outbound) {
    let body = json!({"jsonrpc":"2.0","id":9,"method":"tasks/result","params":{"taskId":task_id}});
    let mut request = McpRequest::new(Message::parse(body.to_string().as_bytes()).unwrap(), V);
    request.extensions.insert(Principal::new("alice"));
    let (peer, outbound) = ClientPeer::channel(16);
    request.extensions.insert(peer);
    (request, outbound)
}

/// Runs `tasks/result` for `task_id`, answering every question with no roots: what it
/// carried, and its answer.
async fn result_of(router: &Router, task_id: &str) -> (Vec<Value>, Value) {
    let (request, mut outbound) = tasks_result(task_id);
    let call = router.clone().oneshot(request);
    tokio::pin!(call);
    let mut seen = Vec::new();
    let response = loop {
        tokio::select! {
            biased;
            Some(message) = outbound.recv() => seen.push(client(message)),
            response = &mut call => break response.unwrap(),
        }
    };
    while let Ok(message) = outbound.try_recv() {
        seen.push(client(message));
    }
    let McpResponse::Single(response) = response else {
        panic!("one answer");
    };
    (seen, serde_json::from_slice(&response.to_vec()).unwrap())
}

/// Plays the client: records the message, answers a question with no roots.
fn client(message: OutboundMessage) -> Value {
    match message {
        OutboundMessage::Notification(bytes) => serde_json::from_slice(&bytes).unwrap(),
        OutboundMessage::Request {
            method,
            params,
            reply,
        } => {
            let roots = serde_json::value::to_raw_value(&json!({"roots": []})).unwrap();
            let _ = reply.send(Ok(roots));
            let params: Value = serde_json::from_str(params.get()).unwrap();
            json!({"request": method, "params": params})
        }
        OutboundMessage::CloseStream => json!("close"),
    }
}

#[tokio::test]
async fn every_notification_is_carried_and_names_its_task() {
    let router = router();
    let task_id = create(&router, "logs").await;
    let (seen, answer) = result_of(&router, &task_id).await;
    let logged: Vec<&Value> = seen.iter().map(|m| &m["params"]["data"]).collect();
    assert_eq!(logged, ["first", "last"], "{seen:?}");
    for message in &seen {
        assert_eq!(
            message["params"]["_meta"][RELATED]["taskId"],
            task_id.as_str()
        );
    }
    assert_eq!(answer["result"]["content"][0]["text"], "done");
}

#[tokio::test]
async fn a_question_the_handler_gave_up_on_is_withdrawn() {
    let router = router();
    let task_id = create(&router, "gives_up").await;
    // The handler's 100 ms are over; it works on without the answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(&router, &task_id).await["status"], "working");
    let (seen, answer) = result_of(&router, &task_id).await;
    assert!(seen.is_empty(), "nothing left to ask: {seen:?}");
    assert_eq!(answer["result"]["content"][0]["text"], "fallback");
}

#[tokio::test]
async fn a_question_whose_tasks_result_went_away_is_asked_again() {
    let router = Router::builder()
        .tool(
            Tool::new("asks")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    let roots: Value = ctx.request("roots/list", &json!({})).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(roots.to_string())
                }),
        )
        .build();
    let task_id = create(&router, "asks").await;
    // The first tasks/result carries the question, then is cancelled: the transport drops
    // the call and the question it wrote, unanswered.
    let (request, mut outbound) = tasks_result(&task_id);
    let call = router.clone().oneshot(request);
    tokio::pin!(call);
    let question = tokio::select! {
        Some(OutboundMessage::Request { reply, .. }) = outbound.recv() => reply,
        _ = &mut call => panic!("answered before the question was"),
    };
    drop((question, outbound));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(status(&router, &task_id).await["status"], "input_required");
    // The next one asks again, and gets the result.
    let (seen, answer) = result_of(&router, &task_id).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["request"], "roots/list");
    assert_eq!(
        seen[0]["params"]["_meta"][RELATED]["taskId"],
        task_id.as_str()
    );
    assert_eq!(answer["result"]["content"][0]["text"], r#"{"roots":[]}"#);
    assert_eq!(status(&router, &task_id).await["status"], "completed");
}

/// On a stream that carries no requests (a JSON-only endpoint drops its half), a task's
/// question fails at once, as on any such stream, rather than being offered again and again.
#[tokio::test]
async fn a_question_on_a_stream_without_requests_fails_at_once() {
    let router = Router::builder()
        .tool(
            Tool::new("asks")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    match ctx.request::<_, Value>("roots/list", &json!({})).await {
                        Ok(_) => "answered".to_owned(),
                        Err(error) => format!("error: {}", error.message),
                    }
                }),
        )
        .build();
    let task_id = create(&router, "asks").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (request, outbound) = tasks_result(&task_id);
    drop(outbound);
    let answer = tokio::time::timeout(Duration::from_secs(5), router.clone().oneshot(request))
        .await
        .expect("answered at once, not at the 60 s timeout")
        .unwrap();
    let McpResponse::Single(answer) = answer else {
        panic!("one answer");
    };
    let answer: Value = serde_json::from_slice(&answer.to_vec()).unwrap();
    assert_eq!(
        answer["result"]["content"][0]["text"], "error: the client's stream is closed",
        "{answer}"
    );
}

/// A task that logged more than the relay holds before it asks still asks: the oldest logs
/// give way to the question, which reaches the next `tasks/result` with the latest logs.
#[tokio::test]
async fn a_question_after_many_notifications_still_reaches_the_client() {
    let router = Router::builder()
        .tool(
            Tool::new("chatty")
                .execution(execution(TaskSupport::Optional))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    for step in 0..100 {
                        ctx.log(LoggingLevel::Info, None, step).await;
                    }
                    let roots: Value = ctx.request("roots/list", &json!({})).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(roots.to_string())
                }),
        )
        .build();
    let task_id = create(&router, "chatty").await;
    let mut parked = Value::Null;
    for _ in 0..100 {
        parked = status(&router, &task_id).await;
        if parked["status"] != "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(parked["status"], "input_required", "{parked}");
    let (seen, answer) = result_of(&router, &task_id).await;
    let question = seen.iter().position(|m| m["request"] == "roots/list");
    assert!(question.is_some(), "{seen:?}");
    assert!(seen.len() <= 64, "{} messages held", seen.len());
    // The logs kept are the latest ones.
    assert_eq!(seen[question.unwrap() - 1]["params"]["data"], 99);
    assert_eq!(answer["result"]["content"][0]["text"], r#"{"roots":[]}"#);
}
