//! The task store's bounds: each client's share, and the room ended tasks make.

mod common;

use common::{Args, execution, send};
use mcp_core::protocol::TaskSupport;
use mcp_core::{Json, ProtocolVersion, RequestContext, Router, TaskConfig, Tool};
use serde_json::{Value, json};

/// A router whose one tool, task-only, runs until cancelled.
fn forever_router(tasks: TaskConfig) -> Router {
    Router::builder()
        .tasks(tasks)
        .tool(
            Tool::new("forever")
                .execution(execution(TaskSupport::Required))
                .handler(|Json(_): Args, ctx: RequestContext| async move {
                    ctx.cancelled().await;
                    "cancelled"
                }),
        )
        .build()
}

/// `forever` started as a 2025-11-25 task by `who`: the answer.
async fn start_forever(router: &Router, who: &str) -> Value {
    let params = json!({"name":"forever","arguments":{},"task":{"ttl":60000}});
    send(
        router,
        ProtocolVersion::V2025_11_25,
        "tools/call",
        params,
        who,
    )
    .await
}

/// One client cannot take every slot of the store: past its share its tasks are refused
/// while they run, an ended one of its own makes room for a new one, and another client
/// still gets tasks.
#[tokio::test]
async fn each_client_has_a_share_of_the_task_store() {
    let router = forever_router(TaskConfig::default().max_tasks(10).max_tasks_per_client(2));
    let v = ProtocolVersion::V2025_11_25;
    let start = |who: &'static str| start_forever(&router, who);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = start("alice").await;
        ids.push(
            created["result"]["task"]["taskId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let refused = start("alice").await;
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "Too many running tasks of this client; try again later"
    );
    // An ended task (here cancelled) makes room: the new one replaces it before its TTL.
    send(
        &router,
        v,
        "tasks/cancel",
        json!({"taskId": ids[0]}),
        "alice",
    )
    .await;
    let replacing = start("alice").await;
    assert!(
        replacing["result"]["task"]["taskId"].is_string(),
        "{replacing}"
    );
    let gone = send(&router, v, "tasks/get", json!({"taskId": ids[0]}), "alice").await;
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
    let running = send(&router, v, "tasks/get", json!({"taskId": ids[1]}), "alice").await;
    assert_eq!(running["result"]["status"], "working");
    assert_eq!(start("alice").await["error"]["code"], -32000);
    let other = start("bob").await;
    assert!(other["result"]["task"]["taskId"].is_string(), "{other}");
}

/// A full store drops its oldest ended task for a new one, whoever's; with every task
/// running, it refuses.
#[tokio::test]
async fn a_full_store_makes_room_from_ended_tasks_only() {
    let router = forever_router(TaskConfig::default().max_tasks(2).max_tasks_per_client(2));
    let v = ProtocolVersion::V2025_11_25;
    let start = |who: &'static str| start_forever(&router, who);
    let first = start("alice").await["result"]["task"]["taskId"].clone();
    assert!(start("bob").await["result"]["task"]["taskId"].is_string());
    let refused = start("carol").await;
    assert_eq!(
        refused["error"]["message"],
        "Too many running tasks; try again later"
    );
    send(
        &router,
        v,
        "tasks/cancel",
        json!({"taskId": first}),
        "alice",
    )
    .await;
    assert!(start("carol").await["result"]["task"]["taskId"].is_string());
    let gone = send(&router, v, "tasks/get", json!({"taskId": first}), "alice").await;
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
}

/// Room is made from the creator's own ended tasks first: another owner's result is kept
/// while the creator has one of its own to let go.
#[tokio::test]
async fn room_is_made_from_the_creators_own_ended_tasks_first() {
    let router = forever_router(TaskConfig::default().max_tasks(3).max_tasks_per_client(3));
    let v = ProtocolVersion::V2025_11_25;
    let start = |who: &'static str| start_forever(&router, who);
    let cancel = |id: &Value, who: &'static str| {
        send(&router, v, "tasks/cancel", json!({"taskId": id}), who)
    };
    let alices = start("alice").await["result"]["task"]["taskId"].clone();
    cancel(&alices, "alice").await;
    assert!(start("bob").await["result"]["task"]["taskId"].is_string());
    let carols = start("carol").await["result"]["task"]["taskId"].clone();
    cancel(&carols, "carol").await;
    // Full: carol's new task takes the place of her own ended one, not alice's older one.
    assert!(start("carol").await["result"]["task"]["taskId"].is_string());
    let kept = send(&router, v, "tasks/get", json!({"taskId": alices}), "alice").await;
    assert_eq!(kept["result"]["status"], "cancelled", "{kept}");
    let gone = send(&router, v, "tasks/get", json!({"taskId": carols}), "carol").await;
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
}
