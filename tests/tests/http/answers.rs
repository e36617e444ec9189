//! Client answers to server-to-client requests: who may give them, and how they arrive.

use http::Method;
use mcp_e2e::{TestClient, TestServer, read_until, sse_messages};
use mcp_tower::McpServer;
use serde_json::{Value, json};

use super::{router, start_as_x_user};

/// A stateless server whose principal is whoever `x-user` names (anonymous without it).
async fn stateless_server() -> (TestServer, TestClient) {
    let served = McpServer::builder(router()).stateless().into_http_service();
    start_as_x_user(served).await
}

const ASK: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask_roots","arguments":{}}}"#;

/// Starts `ask_roots` as `headers` say; its stream and the id of the roots/list request.
async fn ask(client: &TestClient, headers: &[(&str, &str)]) -> (hyper::body::Incoming, Value) {
    let mut all = vec![("mcp-protocol-version", "2025-11-25")];
    all.extend_from_slice(headers);
    let response = client.send_streaming(Method::POST, ASK, &all).await;
    roots_request(response).await
}

/// Reads a 200 stream up to the server's roots/list request: the stream and the request's id.
async fn roots_request(
    response: http::Response<hyper::body::Incoming>,
) -> (hyper::body::Incoming, Value) {
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let seen = read_until(&mut body, "roots/list").await;
    let line = seen
        .lines()
        .find(|l| l.contains("roots/list"))
        .expect("the request");
    let request: Value = serde_json::from_str(line.trim_start_matches("data: ")).expect("json");
    (body, request["id"].clone())
}

/// Answers request `id` with `count` roots as `headers` say.
async fn answer(client: &TestClient, id: &Value, count: usize, headers: &[(&str, &str)]) {
    let roots: Vec<Value> = (0..count)
        .map(|n| json!({"uri": format!("file:///{n}")}))
        .collect();
    let mut all = vec![("mcp-protocol-version", "2025-11-25")];
    all.extend_from_slice(headers);
    let reply = json!({"jsonrpc":"2.0","id":id,"result":{"roots":roots}});
    assert_eq!(client.post(&reply, &all).await.status, 202);
}

#[tokio::test]
async fn without_a_session_only_the_principal_asked_can_answer() {
    let (_server, client) = stateless_server().await;
    let (mut alice, id) = ask(&client, &[("x-user", "alice")]).await;
    // Bob learns the id (here: is told it) and answers first; anonymous too.
    answer(&client, &id, 2, &[("x-user", "bob")]).await;
    answer(&client, &id, 3, &[]).await;
    answer(&client, &id, 1, &[("x-user", "alice")]).await;
    let seen = read_until(&mut alice, "roots\"").await;
    assert!(seen.contains("1 roots"), "alice's own answer: {seen}");
}

#[tokio::test]
async fn without_a_session_request_ids_cannot_be_guessed() {
    let (_server, client) = stateless_server().await;
    // The attacker asks first and learns the id it was given.
    let (_attacker, known) = ask(&client, &[]).await;
    let (mut victim, id) = ask(&client, &[]).await;
    assert_ne!(known, id);
    let mut guesses = Vec::new();
    match known.as_i64() {
        Some(n) => guesses.extend((1..=5).map(|k| json!(n + k))),
        None => {
            let text = known.as_str().expect("a number or a string");
            assert!(text.len() >= 32, "128 bits at least: {text}");
            guesses.extend((1..=5).map(|k| json!(format!("{text}{k}"))));
        }
    }
    for guess in &guesses {
        answer(&client, guess, 2, &[]).await;
    }
    answer(&client, &id, 1, &[]).await;
    let seen = read_until(&mut victim, "roots\"").await;
    assert!(seen.contains("1 roots"), "the victim's own answer: {seen}");
}

const LEGACY: &str = "2025-03-26";

/// Starts `roots` in a 2025-03-26 session; its stream and the id of the roots/list request.
async fn ask_in_session(client: &TestClient, session: &str) -> (hyper::body::Incoming, Value) {
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"roots","arguments":{}}}"#;
    let headers = [
        ("mcp-session-id", session),
        ("mcp-protocol-version", LEGACY),
    ];
    let response = client.send_streaming(Method::POST, call, &headers).await;
    roots_request(response).await
}

/// What a cancelled request's stream still carries; it must end within 2 s.
async fn rest_of_cancelled(stream: hyper::body::Incoming) -> String {
    use http_body_util::BodyExt;
    let rest = tokio::time::timeout(std::time::Duration::from_secs(2), stream.collect())
        .await
        .expect("the cancelled request's stream ends")
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&rest).into_owned()
}

#[tokio::test]
async fn a_batch_of_2025_03_26_carries_answers_and_cancellations() {
    let (_server, client, _) = super::start(McpServer::builder).await;
    let session = client.initialize(LEGACY).await;
    let headers = mcp_e2e::session_headers(&session, LEGACY);
    // An answer, alone in a batch.
    let (mut stream, id) = ask_in_session(&client, &session).await;
    let answer = json!([{"jsonrpc":"2.0","id":id,"result":{"roots":[{"uri":"file:///a"}]}}]);
    let reply = client.post(&answer, &headers).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let seen = read_until(&mut stream, "roots\"").await;
    assert!(seen.contains("1 roots"), "{seen}");

    // A cancellation in a batch, beside a request: the handler stops, and sends nothing.
    let (stream, _) = ask_in_session(&client, &session).await;
    let batch = json!([
        {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}},
        super::call_add(2),
    ]);
    let reply = client.post(&batch, &headers).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json().as_array().map(Vec::len), Some(1));
    let rest = rest_of_cancelled(stream).await;
    assert!(
        !rest.contains(r#""id":1"#),
        "no answer once cancelled: {rest}"
    );
}

#[tokio::test]
async fn integer_ids_of_any_size_and_spelling_are_answered_and_cancelled() {
    let (_server, client, _) = super::start(McpServer::builder).await;
    let session = client.initialize(LEGACY).await;
    let headers = mcp_e2e::session_headers(&session, LEGACY);
    // JSON Schema's `integer`, MCP's id type, has no size: the answer carries the same digits.
    let call = r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
    let reply = client.send(Method::POST, call, &headers).await;
    assert_eq!(reply.status, 200);
    let text = String::from_utf8_lossy(&reply.body);
    assert!(
        text.contains(r#""id":123456789012345678901234567890,"#),
        "{text}"
    );

    // A request whose id no f64 holds, cancelled by a notification that spells it otherwise.
    let call = r#"{"jsonrpc":"2.0","id":123456789012345678901234567891,"method":"tools/call","params":{"name":"roots","arguments":{}}}"#;
    let (stream, _) =
        roots_request(client.send_streaming(Method::POST, call, &headers).await).await;
    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12345678901234567890123456789.1e1}}"#;
    assert_eq!(
        client.send(Method::POST, cancel, &headers).await.status,
        202
    );
    let rest = rest_of_cancelled(stream).await;
    assert!(
        !rest.contains("123456789012345678901234567891"),
        "no answer once cancelled: {rest}"
    );
}

/// A server→client request the handler stopped waiting for is cancelled on the request's
/// stream, before the request's answer: "the sender SHOULD issue a cancellation
/// notification for that request" (the lifecycle page's timeouts).
#[tokio::test]
async fn a_client_request_that_times_out_is_cancelled_on_the_stream() {
    let router = mcp_core::Router::builder()
        .client_request_timeout(std::time::Duration::from_millis(100))
        .tool(mcp_core::Tool::new("ask_roots").raw_handler(
            |_, ctx: mcp_core::RequestContext| async move {
                match ctx.request::<_, Value>("roots/list", &json!({})).await {
                    Ok(_) => "answered".to_owned(),
                    Err(e) => format!("error: {}", e.message),
                }
            },
        ))
        .build();
    let served = McpServer::builder(router).stateless().into_http_service();
    let (_server, client) = start_as_x_user(served).await;
    let (mut body, id) = ask(&client, &[("x-user", "alice")]).await;
    let seen = read_until(&mut body, r#""id":1"#).await;
    let messages = sse_messages(&seen);
    let cancelled = json!({"jsonrpc":"2.0","method":"notifications/cancelled",
        "params":{"requestId":id,"reason":"the server no longer waits for the answer"}});
    assert_eq!(messages.first(), Some(&cancelled), "{seen}");
    let text = &messages[1]["result"]["content"][0]["text"];
    assert!(text.as_str().unwrap().contains("in time"), "{seen}");
    // The late answer finds no one waiting.
    let reply = json!({"jsonrpc":"2.0","id":id,"result":{"roots":[]}});
    let all = [("mcp-protocol-version", "2025-11-25"), ("x-user", "alice")];
    assert_eq!(client.post(&reply, &all).await.status, 202);
}

/// An answer with both `result` and `error` is refused (400) and fails the handler's request
/// at once, instead of leaving it to wait for its timeout; a stranger's malformed answer
/// fails nothing.
#[tokio::test]
async fn a_malformed_answer_fails_the_request_at_once() {
    let (_server, client) = stateless_server().await;
    let (mut alice, id) = ask(&client, &[("x-user", "alice")]).await;
    let both = json!({"jsonrpc":"2.0","id":id,"result":{"roots":[]},
        "error":{"code":1,"message":"x"}});
    let headers = [("mcp-protocol-version", "2025-11-25")];
    let bob = [headers[0], ("x-user", "bob")];
    assert_eq!(client.post(&both, &bob).await.status, 400);
    // Bob's answer is not alice's to fail: her call still waits.
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        read_until(&mut alice, "\"id\":1"),
    )
    .await;
    assert!(waited.is_err(), "{waited:?}");
    let alices = [headers[0], ("x-user", "alice")];
    assert_eq!(client.post(&both, &alices).await.status, 400);
    let seen = read_until(&mut alice, "\"id\":1").await;
    let answer = sse_messages(&seen)
        .into_iter()
        .find(|message| message["id"] == 1)
        .expect("the call's answer");
    // The test tool reports the failure as its text: the call failed (-32603) on the
    // client's malformed answer; the call itself was no invalid request (-32600).
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("error -32603: the client's answer was malformed")
            && text.contains("exactly one of result or error"),
        "{answer}"
    );
}
