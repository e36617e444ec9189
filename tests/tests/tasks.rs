//! 2025-11-25 tasks that ask the client something, over a real socket: the task waits in
//! `input_required`, the question goes out on the stream of `tasks/result` with the
//! `related-task` metadata, the client's answer is POSTed back, and the task completes.

use http::Method;
use mcp_core::protocol::{ElicitRequestFormParams, TaskSupport, ToolExecution};
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, forever_tool, read_until, sse_messages};
use mcp_tower::McpServer;
use serde_json::{Value, json};

const VERSION: &str = "2025-11-25";

fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("confirm_delete")
                .execution(ToolExecution {
                    task_support: Some(TaskSupport::Optional),
                })
                .handler(
                    |Json(_): Json<serde_json::Map<String, Value>>, ctx: RequestContext| async move {
                        let schema = json!({"type":"object","properties":{"ok":{"type":"boolean"}}});
                        let form = ElicitRequestFormParams::new(
                            "Delete it?",
                            serde_json::from_value(schema).expect("schema"),
                        );
                        let answer = ctx.elicit(form.into()).await?;
                        let ok = answer.content.and_then(|c| c.get("ok").cloned());
                        Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!("ok: {}", json!(ok)))
                    },
                ),
        )
        .build()
}

async fn task_status(client: &TestClient, headers: &[(&str, &str)], task_id: &str) -> Value {
    let get = json!({"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":task_id}});
    client.post(&get, headers).await.json()["result"].clone()
}

/// A server, a 2025-11-25 session, and a started `confirm_delete` task's id.
struct Started {
    _server: TestServer,
    client: TestClient,
    session: String,
    task_id: String,
}

impl Started {
    async fn new() -> Self {
        let server = TestServer::start(McpServer::builder(router()).into_http_service()).await;
        let client = TestClient::new(&server);
        let session = client.initialize(VERSION).await;
        let headers = mcp_e2e::session_headers(&session, VERSION);
        let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"confirm_delete","arguments":{},"task":{"ttl":60000}}});
        let created = client.post(&call, &headers).await.json();
        let task_id = created["result"]["task"]["taskId"]
            .as_str()
            .unwrap_or_else(|| panic!("a task: {created}"))
            .to_owned();
        Self {
            _server: server,
            client,
            session,
            task_id,
        }
    }

    fn headers(&self) -> [(&str, &str); 2] {
        [
            ("mcp-session-id", &self.session),
            ("mcp-protocol-version", VERSION),
        ]
    }
}

#[tokio::test]
async fn a_task_asks_the_client_through_tasks_result() {
    let started = Started::new().await;
    let (client, task_id) = (&started.client, &started.task_id);
    let headers = started.headers();

    // The handler asked: the task waits for the client.
    let mut status = task_status(client, &headers, task_id).await;
    for _ in 0..100 {
        if status["status"] != "working" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        status = task_status(client, &headers, task_id).await;
    }
    assert_eq!(status["status"], "input_required", "{status}");

    // tasks/result carries the question, tagged with the task.
    let result =
        json!({"jsonrpc":"2.0","id":2,"method":"tasks/result","params":{"taskId":task_id}});
    let response = client
        .send_streaming(Method::POST, result.to_string(), &headers)
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let seen = read_until(&mut body, "elicitation/create").await;
    let question = sse_messages(&seen)
        .into_iter()
        .find(|m| m["method"] == "elicitation/create")
        .expect("the question");
    assert_eq!(question["params"]["message"], "Delete it?");
    assert_eq!(
        question["params"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        task_id.as_str()
    );

    // The answer goes back by POST; the task resumes and tasks/result answers its result.
    let answer = json!({"jsonrpc":"2.0","id":question["id"],
        "result":{"action":"accept","content":{"ok":true}}});
    assert_eq!(client.post(&answer, &headers).await.status, 202);
    let rest = read_until(&mut body, r#""id":2"#).await;
    let done = sse_messages(&rest)
        .into_iter()
        .find(|m| m["id"] == 2)
        .expect("the task's result");
    assert_eq!(done["result"]["content"][0]["text"], "ok: true", "{done}");
    assert_eq!(
        done["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        task_id.as_str()
    );
    assert_eq!(
        task_status(client, &headers, task_id).await["status"],
        "completed"
    );
}

/// A `tasks/result` cancelled while its question is out leaves the question to the next one
/// (the tasks page lets a requestor cancel `tasks/result` and poll on).
#[tokio::test]
async fn a_cancelled_tasks_result_leaves_the_question_to_the_next() {
    let started = Started::new().await;
    let (client, task_id) = (&started.client, &started.task_id);
    let headers = started.headers();

    let result = |id: i64| json!({"jsonrpc":"2.0","id":id,"method":"tasks/result","params":{"taskId":task_id}});
    let first = client
        .send_streaming(Method::POST, result(2).to_string(), &headers)
        .await;
    let mut first = first.into_body();
    read_until(&mut first, "elicitation/create").await;
    let cancel =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}});
    assert_eq!(client.post(&cancel, &headers).await.status, 202);
    drop(first);

    let second = client
        .send_streaming(Method::POST, result(3).to_string(), &headers)
        .await;
    let mut second = second.into_body();
    let seen = read_until(&mut second, "elicitation/create").await;
    let question = sse_messages(&seen)
        .into_iter()
        .find(|m| m["method"] == "elicitation/create")
        .expect("the question, asked again");
    let answer = json!({"jsonrpc":"2.0","id":question["id"],
        "result":{"action":"accept","content":{"ok":false}}});
    assert_eq!(client.post(&answer, &headers).await.status, 202);
    let rest = read_until(&mut second, r#""id":3"#).await;
    let done = sse_messages(&rest)
        .into_iter()
        .find(|m| m["id"] == 3)
        .expect("the result");
    assert_eq!(done["result"]["content"][0]["text"], "ok: false", "{done}");
}

/// Unauthenticated clients share the task store by their address, not per session (a new
/// session is free), and the tasks of a session go when it ends: nobody can reach them.
#[tokio::test]
async fn task_shares_are_per_address_and_a_session_s_tasks_end_with_it() {
    let router = Router::builder()
        .tasks(mcp_core::TaskConfig::default().max_tasks_per_client(2))
        .tool(forever_tool(TaskSupport::Required))
        .build();
    let server = TestServer::start(McpServer::builder(router).into_http_service()).await;
    let client = TestClient::new(&server);
    let first = client.initialize(VERSION).await;
    let second = client.initialize(VERSION).await;
    let start = |session: String| {
        let client = &client;
        async move {
            let headers = mcp_e2e::session_headers(&session, VERSION);
            let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                "params":{"name":"forever","arguments":{},"task":{"ttl":60000}}});
            client.post(&call, &headers).await.json()
        }
    };
    for _ in 0..2 {
        let created = start(first.clone()).await;
        assert!(created["result"]["task"]["taskId"].is_string(), "{created}");
    }
    // Another session from the same address shares the address's two running tasks.
    let refused = start(second.clone()).await;
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    let deleted = client
        .send(
            Method::DELETE,
            "",
            &[
                ("mcp-session-id", &first),
                ("mcp-protocol-version", VERSION),
            ],
        )
        .await;
    assert_eq!(deleted.status, 200);
    let created = start(second.clone()).await;
    assert!(created["result"]["task"]["taskId"].is_string(), "{created}");
}

/// A session's tasks end with it: after DELETE, a task still running is cancelled and its
/// handler stopped at once, not at the end of its TTL (nobody can reach it any more).
#[tokio::test]
async fn a_sessions_tasks_are_cancelled_when_it_ends() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts the handlers running: up when started, down when dropped.
    struct Running(Arc<AtomicUsize>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let running = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&running);
    let router = Router::builder()
        .tool(
            Tool::new("endless")
                .execution(ToolExecution {
                    task_support: Some(TaskSupport::Optional),
                })
                .handler(
                    move |Json(_): Json<serde_json::Map<String, Value>>, _ctx: RequestContext| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let running = Running(Arc::clone(&counter));
                        async move {
                            let _running = running;
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            "never"
                        }
                    },
                ),
        )
        .build();
    let server = TestServer::start(McpServer::builder(router).into_http_service()).await;
    let client = TestClient::new(&server);
    let session = client.initialize(VERSION).await;
    let headers = mcp_e2e::session_headers(&session, VERSION);
    for id in 1..=3 {
        let call = json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":"endless","arguments":{},"task":{"ttl":3_600_000}}});
        let created = client.post(&call, &headers).await.json();
        assert!(created["result"]["task"]["taskId"].is_string(), "{created}");
    }
    let started = async {
        while running.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), started)
        .await
        .expect("the three handlers run");

    let deleted = client.send(Method::DELETE, "", &headers).await;
    assert!(deleted.status.is_success(), "{deleted:?}");
    let stopped = async {
        while running.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("the session's end stopped its tasks' handlers");
}
