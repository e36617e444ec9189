//! Who is served the task methods, over a real socket: anonymous clients of a stateless
//! server cannot list each other's tasks, and a server that runs no tasks does not pretend to.

use mcp_core::protocol::TaskSupport;
use mcp_core::{RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, forever_tool};
use mcp_tower::McpServer;
use serde_json::{Value, json};

const VERSION: &str = "2025-11-25";
const HEADERS: [(&str, &str); 1] = [("mcp-protocol-version", VERSION)];

/// A router whose one tool may run as a task, and runs until cancelled.
fn task_router() -> Router {
    Router::builder()
        .tool(forever_tool(TaskSupport::Optional))
        .build()
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

/// The capabilities `initialize` (sent without a session) offers.
async fn offered_capabilities(client: &TestClient) -> Value {
    let initialize = request(
        0,
        "initialize",
        json!({"protocolVersion": VERSION, "capabilities": {},
               "clientInfo": {"name": "e2e", "version": "1"}}),
    );
    client.post(&initialize, &[]).await.json()["result"]["capabilities"].clone()
}

/// Anonymous clients of a stateless server all look alike: listing "their" tasks would hand
/// each one the others' (which it could then cancel). Their tasks are reached by id only.
#[tokio::test]
async fn anonymous_stateless_clients_cannot_list_tasks() {
    let server = TestServer::start(
        McpServer::builder(task_router())
            .stateless()
            .into_http_service(),
    )
    .await;
    let client = TestClient::new(&server);
    let capabilities = offered_capabilities(&client).await;
    let tasks = &capabilities["tasks"];
    assert!(
        tasks["requests"]["tools"]["call"].is_object(),
        "{capabilities}"
    );
    assert!(tasks["cancel"].is_object(), "{capabilities}");
    assert!(
        tasks.get("list").is_none(),
        "tasks/list offered: {capabilities}"
    );

    let call = request(
        1,
        "tools/call",
        json!({"name":"forever","arguments":{},"task":{"ttl":60000}}),
    );
    let created = client.post(&call, &HEADERS).await.json();
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned();

    let listed = client
        .post(&request(2, "tasks/list", json!({})), &HEADERS)
        .await
        .json();
    assert_eq!(listed["error"]["code"], -32601, "{listed}");
    assert!(!listed.to_string().contains(&task_id), "{listed}");

    // Whoever holds the id still reaches the task.
    let get = request(3, "tasks/get", json!({"taskId": task_id}));
    let status = client.post(&get, &HEADERS).await.json();
    assert_eq!(status["result"]["status"], "working", "{status}");
    let cancel = request(4, "tasks/cancel", json!({"taskId": task_id}));
    let cancelled = client.post(&cancel, &HEADERS).await.json();
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
}

/// A client in a session lists its own tasks (the session tells it apart), and `initialize`
/// (which has no session yet, but starts one) offers it `tasks/list`.
#[tokio::test]
async fn a_session_lists_its_own_tasks() {
    let server = TestServer::start(McpServer::builder(task_router()).into_http_service()).await;
    let client = TestClient::new(&server);
    let capabilities = offered_capabilities(&client).await;
    assert!(capabilities["tasks"]["list"].is_object(), "{capabilities}");
    let session = client.initialize(VERSION).await;
    let headers = mcp_e2e::session_headers(&session, VERSION);
    let call = request(
        1,
        "tools/call",
        json!({"name":"forever","arguments":{},"task":{"ttl":60000}}),
    );
    let created = client.post(&call, &headers).await.json();
    let task_id = &created["result"]["task"]["taskId"];
    assert!(task_id.is_string(), "{created}");
    let listed = client
        .post(&request(2, "tasks/list", json!({})), &headers)
        .await
        .json();
    assert_eq!(listed["result"]["tasks"][0]["taskId"], *task_id, "{listed}");

    // Another session sees none of them.
    let other = client.initialize(VERSION).await;
    let other_headers = mcp_e2e::session_headers(&other, VERSION);
    let listed = client
        .post(&request(3, "tasks/list", json!({})), &other_headers)
        .await
        .json();
    assert_eq!(listed["result"]["tasks"], json!([]), "{listed}");
}

/// A server with no tool that runs as a task advertises no tasks, and its task methods are
/// "Method not found" in both eras, as for any method it does not support.
#[tokio::test]
async fn a_server_without_task_tools_serves_no_task_methods() {
    let router = Router::builder()
        .tool(Tool::new("ping_me").raw_handler(|_, _: RequestContext| async { "pong" }))
        .build();
    let server = TestServer::start(McpServer::builder(router).into_http_service()).await;
    let client = TestClient::new(&server);
    let session = client.initialize(VERSION).await;
    let headers = mcp_e2e::session_headers(&session, VERSION);
    let task = json!({"taskId": "00000000000000000000000000000000"});
    for (method, params) in [
        ("tasks/list", json!({})),
        ("tasks/get", task.clone()),
        ("tasks/result", task.clone()),
        ("tasks/cancel", task.clone()),
    ] {
        let refused = client
            .post(&request(1, method, params), &headers)
            .await
            .json();
        assert_eq!(refused["error"]["code"], -32601, "{method}: {refused}");
    }

    let mut params = task;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {
            "extensions": {"io.modelcontextprotocol/tasks": {}}
        }
    });
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tasks/get"),
        ("mcp-name", "00000000000000000000000000000000"),
    ];
    let refused = client.post(&request(2, "tasks/get", params), &modern).await;
    assert_eq!(refused.status, 404, "{:?}", refused.body);
    assert_eq!(refused.json()["error"]["code"], -32601);
}
