//! Helpers shared by the task tests: sending requests of either era as a principal, and
//! polling a task.
#![allow(dead_code)] // each test file uses a part

use std::time::Duration;

use mcp_core::jsonrpc::Message;
use mcp_core::protocol::{TaskSupport, ToolExecution};
use mcp_core::{Json, McpRequest, McpResponse, Principal, ProtocolVersion, Router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub(crate) type Args = Json<serde_json::Map<String, Value>>;

pub(crate) fn execution(support: TaskSupport) -> ToolExecution {
    ToolExecution {
        task_support: Some(support),
    }
}

pub(crate) const TASKS: &str = "io.modelcontextprotocol/tasks";

pub(crate) fn modern_meta(with_extension: bool) -> Value {
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

pub(crate) async fn send(
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

pub(crate) async fn modern(router: &Router, method: &str, mut params: Value) -> Value {
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

/// The task's state once it is not `working`.
pub(crate) async fn poll_until_any(router: &Router, task_id: &str) -> Value {
    for _ in 0..200 {
        let got = modern(router, "tasks/get", json!({"taskId": task_id})).await;
        if got["result"]["status"] != "working" {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} stayed working");
}

pub(crate) async fn poll_until(router: &Router, task_id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let got = modern(router, "tasks/get", json!({"taskId": task_id})).await;
        if got["result"]["status"] == status {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} never reached {status}");
}
