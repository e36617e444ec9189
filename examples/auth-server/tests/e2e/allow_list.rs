//! Allow-lists from token claims: a `plan` claim hides `admin_echo`, which then answers
//! exactly like a tool that does not exist, in sessions, in 2025-03-26 batches and in the
//! modern era.

use mcp_core::AllowList;
use serde_json::{Value, json};

use crate::common::*;

/// Free-plan tokens may use everything but `admin_echo`.
async fn setup() -> (Setup, TestKey) {
    let key = ec_key("k");
    let s = Setup::with(
        &[&key],
        |b| {
            b.allow_list_from(|claims| match claims.get("plan").and_then(Value::as_str) {
                Some("free") => Some(AllowList::new().tools(["add", "echo", "whoami"])),
                _ => None,
            })
        },
        |o| o,
    )
    .await;
    (s, key)
}

fn unknown_tool(id: i64, name: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"error":{"code":-32602,"message":format!("Unknown tool: {name}")}})
}

#[tokio::test]
async fn hidden_tool_is_absent_and_unknown_in_a_session() {
    let (s, key) = setup().await;
    // Free plan, even with the admin scope: hidden wins, and looks like nothing at all (no
    // step-up 403 that would reveal the tool exists).
    let free = bearer(&mint(
        &key,
        &s.claims_with(json!({"plan": "free", "scope": "mcp admin"})),
    ));
    let free = [("authorization", free.as_str())];
    let session = s.server.initialize(&free).await;
    let list = s.server.in_session(&session, &free, &list_tools(1)).await;
    assert_eq!(tool_names(&list), ["add", "echo", "whoami"]);

    let hidden = s
        .server
        .in_session(
            &session,
            &free,
            &call(2, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    let missing = s
        .server
        .in_session(
            &session,
            &free,
            &call(2, "no_such_tool", json!({"message": "hi"})),
        )
        .await;
    assert_eq!((hidden.status, missing.status), (200, 200));
    assert_eq!(hidden.header("www-authenticate"), None);
    assert_eq!(hidden.json(), unknown_tool(2, "admin_echo"));
    assert_eq!(missing.json(), unknown_tool(2, "no_such_tool"));

    // Free plan without the admin scope: still "unknown", not a step-up.
    let free_plain = bearer(&mint(&key, &s.claims_with(json!({"plan": "free"}))));
    let free_plain = [("authorization", free_plain.as_str())];
    let session = s.server.initialize(&free_plain).await;
    let hidden = s
        .server
        .in_session(
            &session,
            &free_plain,
            &call(3, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    assert_eq!(hidden.status, 200);
    assert_eq!(hidden.json(), unknown_tool(3, "admin_echo"));

    // Params malformed elsewhere: the allow-list passes such a call on for the router to
    // refuse, and the scope check below it must not answer a step-up naming the tool's
    // scope first. Hidden and unknown get the same answer, bar the name's length.
    let malformed = |name: &str| {
        let mut call = call(6, name, json!({"message": "hi"}));
        call["params"]["requestState"] = json!(5);
        call
    };
    let hidden = (s.server)
        .in_session(&session, &free_plain, &malformed("admin_echo"))
        .await;
    let missing = (s.server)
        .in_session(&session, &free_plain, &malformed("admin_ech0"))
        .await;
    assert_eq!(
        (hidden.status, missing.status),
        (200, 200),
        "{}",
        hidden.body
    );
    assert_eq!(hidden.header("www-authenticate"), None);
    assert_eq!(hidden.json(), missing.json());
    assert_eq!(hidden.json()["error"]["code"], -32602);

    // Pro plan (no allow-list) with the scope: everything.
    let pro = bearer(&mint(
        &key,
        &s.claims_with(json!({"plan": "pro", "scope": "mcp admin"})),
    ));
    let pro = [("authorization", pro.as_str())];
    let session = s.server.initialize(&pro).await;
    let list = s.server.in_session(&session, &pro, &list_tools(4)).await;
    assert_eq!(tool_names(&list), ["add", "admin_echo", "echo", "whoami"]);
    let reply = s
        .server
        .in_session(
            &session,
            &pro,
            &call(5, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    assert_eq!(reply.json(), text_result(5, "hi"));
}

#[tokio::test]
async fn hidden_tool_inside_a_2025_03_26_batch() {
    let (s, key) = setup().await;
    let free = bearer(&mint(
        &key,
        &s.claims_with(json!({"plan": "free", "scope": "mcp admin"})),
    ));
    let free = [("authorization", free.as_str())];
    let session = s.server.initialize_as("2025-03-26", &free).await;
    let batch = json!([
        list_tools(1),
        call(2, "admin_echo", json!({"message": "hi"})),
        call(3, "no_such_tool", json!({})),
        call(4, "echo", json!({"message": "hi"})),
    ]);
    let mut headers = free.to_vec();
    headers.extend([
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-03-26"),
    ]);
    let reply = s.server.post(&batch, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answers = reply.json();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    let mut names: Vec<&str> = answers[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["add", "echo", "whoami"]);
    assert_eq!(answers[1], unknown_tool(2, "admin_echo"));
    assert_eq!(answers[2], unknown_tool(3, "no_such_tool"));
    assert_eq!(answers[3], text_result(4, "hi"));
}

#[tokio::test]
async fn hidden_tool_in_the_modern_era() {
    let (s, key) = setup().await;
    let free = bearer(&mint(
        &key,
        &s.claims_with(json!({"plan": "free", "scope": "mcp admin"})),
    ));
    let free = [("authorization", free.as_str())];
    let list = s.server.modern(&free, "tools/list", json!({})).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(tool_names(&list), ["add", "echo", "whoami"]);

    let hidden = s
        .server
        .modern(
            &free,
            "tools/call",
            json!({"name": "admin_echo", "arguments": {"message": "hi"}}),
        )
        .await;
    let missing = s
        .server
        .modern(
            &free,
            "tools/call",
            json!({"name": "no_such_tool", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(hidden.status, missing.status);
    assert_eq!(hidden.header("www-authenticate"), None);
    assert_eq!(hidden.json(), unknown_tool(1, "admin_echo"));
    assert_eq!(missing.json(), unknown_tool(1, "no_such_tool"));

    // Allowed tools work, and see the principal.
    let whoami = s
        .server
        .modern(
            &free,
            "tools/call",
            json!({"name": "whoami", "arguments": {}}),
        )
        .await;
    assert_eq!(whoami.status, 200, "{}", whoami.body);
    assert_eq!(
        whoami.json()["result"]["content"][0]["text"],
        "subject: alice\nscopes: admin mcp"
    );
}

/// The binary's own allow-lists: `--plan NAME=TOOLS`, read from the `plan` claim; a plan not
/// listed (or none) opens no tool, `NAME=*` every tool.
#[tokio::test]
async fn plans_from_the_command_line() {
    let key = ec_key("k");
    let jwks = Jwks::start(&[&key]).await;
    let mut bound = Bound::new(&jwks).await;
    for plan in ["free=add,echo", "pro=*"] {
        let parsed = auth_server::Args::parse(
            [
                "--jwks-url",
                "u",
                "--issuer",
                "i",
                "--audience",
                "a",
                "--plan",
                plan,
            ]
            .map(String::from),
        )
        .unwrap();
        bound.args.plans.extend(parsed.plans);
    }
    let auth = bound.jwt(|b| b);
    let server = bound.serve(auth, |o| o);
    let s = Setup { jwks, server };
    for (plan, expected) in [
        (json!("free"), vec!["add", "echo"]),
        (json!("pro"), vec!["add", "admin_echo", "echo", "whoami"]),
        (json!("enterprise"), vec![]),
        (Value::Null, vec![]),
    ] {
        let token = bearer(&mint(&key, &s.claims_with(json!({ "plan": plan }))));
        let headers = [("authorization", token.as_str())];
        let session = s.server.initialize(&headers).await;
        let list = s
            .server
            .in_session(&session, &headers, &list_tools(1))
            .await;
        let mut names = tool_names(&list);
        names.sort_unstable();
        assert_eq!(names, expected, "{plan}");
    }
}
