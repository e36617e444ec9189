//! What only the 2026-07-28 era has: result decorations (`resultType`, cache hints, server
//! info), multi round-trip `input_required` requests with their sealed `requestState`, and
//! client capabilities declared per request.

use std::collections::BTreeSet;
use std::time::Duration;

use mcp_core::jsonrpc::codes;
use mcp_core::{
    AllowList, Json, McpRequest, Principal, ProtocolVersion, RequestContext, RequestStateSealer,
    Router, Tool,
};
use serde_json::{Value, json};

use crate::support::{
    MODERN, NoArgs, client_answer, error_of, full_router, legacy, legacy_error, modern,
    modern_error, names, request, request_with_caps, respond, result_of, send, server_info_meta,
    to_json,
};

// ---------------------------------------------------------------------------------------------
// The modern era's result decorations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn modern_results_carry_result_type_and_server_info() {
    let router = full_router();
    let response = respond(
        &router,
        request(
            MODERN,
            21,
            "tools/call",
            json!({ "name": "add", "arguments": { "a": 1, "b": 1 } }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 21,
            "result": {
                "resultType": "complete",
                "_meta": server_info_meta(),
                "content": [{ "type": "text", "text": "2" }]
            }
        })
    );

    let result = modern(
        &router,
        "prompts/get",
        json!({ "name": "greet", "arguments": { "name": "Ada" } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "messages": [{ "role": "user", "content": { "type": "text", "text": "Greet Ada plainly" } }]
        })
    );

    let result = modern(
        &router,
        "completion/complete",
        json!({ "ref": { "type": "ref/prompt", "name": "greet" }, "argument": { "name": "name", "value": "b" } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "completion": { "values": ["bob"], "total": 1, "hasMore": false }
        })
    );

    // Legacy results have none of it.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 1 } }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "2" }] })
    );
}

#[tokio::test]
async fn modern_lists_and_reads_carry_cache_hints() {
    let router = full_router();
    let result = modern(&router, "resources/list", json!({})).await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 300_000,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "resources": [{ "uri": "test://static/hello", "name": "hello", "mimeType": "text/plain" }]
        })
    );
    let result = modern(
        &router,
        "resources/read",
        json!({ "uri": "test://static/hello" }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 0,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "contents": [{ "uri": "test://static/hello", "mimeType": "text/plain", "text": "hello world" }]
        })
    );
    for (method, field) in [
        ("tools/list", "tools"),
        ("prompts/list", "prompts"),
        ("resources/templates/list", "resourceTemplates"),
    ] {
        let result = modern(&router, method, json!({})).await;
        assert_eq!(result["resultType"], "complete", "{method}");
        assert_eq!(result["ttlMs"], 300_000, "{method}");
        assert_eq!(result["cacheScope"], "public", "{method}");
        assert_eq!(result["_meta"], server_info_meta(), "{method}");
        assert!(result[field].is_array(), "{method}");
    }

    let result = modern(&router, "server/discover", json!({})).await;
    assert_eq!(
        result,
        json!({
            "resultType": "complete",
            "ttlMs": 3_600_000,
            "cacheScope": "public",
            "_meta": server_info_meta(),
            "supportedVersions": ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"],
            "capabilities": {
                "logging": {},
                "completions": {},
                "prompts": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "tools": { "listChanged": true }
            },
            "instructions": "Use the tools."
        })
    );

    // A transport serving one era has discovery list only that era's versions.
    let mut discover = request(MODERN, 1, "server/discover", json!({}));
    discover.extensions.insert(mcp_core::ServedEras {
        legacy: false,
        modern: true,
    });
    let result = result_of(&router, discover).await;
    assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));

    // A list that depends on who asks is private.
    let mut list = request(MODERN, 1, "tools/list", json!({}));
    list.extensions.insert(AllowList::new().tools(["add"]));
    let result = result_of(&router, list).await;
    assert_eq!(result["cacheScope"], "private");
    assert_eq!(names(&result, "tools", "name"), ["add"]);
    // So is any authenticated caller's, allow-list or not: another principal may have one,
    // and a shared cache must not hand this fuller list to them.
    let mut list = request(MODERN, 2, "tools/list", json!({}));
    list.extensions.insert(mcp_core::Principal::new("admin"));
    let result = result_of(&router, list).await;
    assert_eq!(result["cacheScope"], "private");
}

// ---------------------------------------------------------------------------------------------
// The modern era's multi round-trip requests
// ---------------------------------------------------------------------------------------------

/// One `input_required` round: checks the shape and returns (key, method, params, state).
fn input_required(result: &Value) -> (String, String, Value, String) {
    assert_eq!(result["resultType"], "input_required", "{result}");
    assert_eq!(result["_meta"], server_info_meta());
    let requests = result["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{result}");
    let (key, request) = requests.iter().next().unwrap();
    let state = result["requestState"].as_str().unwrap().to_owned();
    assert!(!state.is_empty());
    let object = result.as_object().unwrap();
    assert_eq!(
        object.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["resultType", "_meta", "inputRequests", "requestState"])
    );
    (
        key.clone(),
        request["method"].as_str().unwrap().to_owned(),
        request["params"].clone(),
        state,
    )
}

fn interview_request(principal: &str, retry: Option<(&str, Value, &str)>) -> McpRequest {
    let mut params = json!({ "name": "interview", "arguments": {} });
    if let Some((key, answer, state)) = retry {
        params["inputResponses"] = json!({ key: answer });
        params["requestState"] = json!(state);
    }
    let caps = json!({ "roots": {}, "sampling": {}, "elicitation": {} });
    let mut request = request_with_caps(MODERN, 1, "tools/call", params, caps);
    request.extensions.insert(Principal::new(principal));
    request
}

#[tokio::test]
async fn input_required_rounds_complete_the_handler_in_the_modern_era() {
    let router = full_router();

    let round1 = result_of(&router, interview_request("alice", None)).await;
    let (key, method, params, state) = input_required(&round1);
    assert_eq!((key.as_str(), method.as_str()), ("input-0", "roots/list"));
    assert_eq!(params, json!({}));

    let answer = client_answer(&method);
    let round2 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    let (key, method, params, state) = input_required(&round2);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-1", "elicitation/create")
    );
    assert_eq!(params["message"], "Your name?");

    // Only the newest answer is sent: the earlier one travels in the sealed state.
    let answer = client_answer(&method);
    let round3 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    let (key, method, params, state) = input_required(&round3);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-2", "sampling/createMessage")
    );
    assert_eq!(params["maxTokens"], 50);

    let answer = client_answer(&method);
    let done = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    assert_eq!(
        done,
        json!({
            "resultType": "complete",
            "_meta": server_info_meta(),
            "content": [{ "type": "text", "text": "roots=2 name=Ada reply=Hello, Ada! model=test-model" }]
        })
    );
}

/// A retry of `interview` by alice carrying `responses` and, when given, `state`.
fn interview_answering(responses: Value, state: Option<&str>) -> McpRequest {
    let mut params = json!({ "name": "interview", "arguments": {}, "inputResponses": responses });
    if let Some(state) = state {
        params["requestState"] = json!(state);
    }
    let caps = json!({ "roots": {}, "sampling": {}, "elicitation": {} });
    let mut request = request_with_caps(MODERN, 1, "tools/call", params, caps);
    request.extensions.insert(Principal::new("alice"));
    request
}

#[tokio::test]
async fn a_retry_takes_answers_only_to_the_questions_its_state_asked() {
    let router = full_router();
    let roots = client_answer("roots/list");
    let name = client_answer("elicitation/create");
    let no_roots = json!({ "roots": [] });

    // A first call may carry an answer ready before its question (the conformance suite's
    // `ignore-extra-params` does): the handler takes it and asks its next question.
    let round1 = result_of(
        &router,
        interview_answering(json!({ "input-0": roots, "extra": name }), None),
    )
    .await;
    let (key, method, _, state) = input_required(&round1);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-1", "elicitation/create")
    );

    // On a retry, the answer to the question asked is taken; one to the next question, not
    // yet asked, is not.
    let sampled = client_answer("sampling/createMessage");
    let ahead = json!({ "input-1": name, "input-2": sampled });
    let round2 = result_of(&router, interview_answering(ahead, Some(&state))).await;
    let (key, method, _, state) = input_required(&round2);
    assert_eq!(
        (key.as_str(), method.as_str()),
        ("input-2", "sampling/createMessage")
    );

    // An answer sealed in an earlier round cannot be replaced by a new `inputResponses`.
    let replaced = json!({ "input-0": no_roots, "input-2": sampled });
    let done = result_of(&router, interview_answering(replaced, Some(&state))).await;
    let text = done["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("roots=2 name=Ada"), "{text}");
}

#[tokio::test]
async fn a_forged_or_tampered_request_state_is_refused() {
    let router = Router::builder()
        .name("test-server", "1.2.3")
        .request_state_key(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
        .tool(tool_roots_count())
        .build();
    let (_, _, _, state) = input_required(&result_of(&router, ask_roots(None)).await);

    // The genuine state works.
    let done = result_of(&router, ask_roots(Some(&state))).await;
    assert_eq!(done["content"][0]["text"], "2");

    // Every single-character change of the state is refused.
    let (payload, tag) = state.split_once('.').unwrap();
    let flip = |s: &str, i: usize| {
        let mut bytes = s.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let mut tampered = vec![
        format!("{}.{tag}", flip(payload, 0)),
        format!("{}.{tag}", flip(payload, payload.len() / 2)),
        format!("{payload}.{}", flip(tag, 3)),
        format!("{payload}."),
        payload.to_owned(),
        String::new(),
        "not-a-state".to_owned(),
        "e30.AAAA".to_owned(),
    ];
    // A state sealed by another server (another key).
    let other = Router::builder()
        .name("test-server", "1.2.3")
        .tool(tool_roots_count())
        .build();
    let (_, _, _, foreign) = input_required(&result_of(&other, ask_roots(None)).await);
    tampered.push(foreign);
    for forged in &tampered {
        let error = error_of(&router, ask_roots(Some(forged))).await;
        assert_eq!(
            error,
            json!({ "code": -32602, "message": "requestState is not valid" }),
            "state {forged:?}"
        );
    }
}

#[tokio::test]
async fn a_request_state_of_a_retired_key_still_opens_while_the_key_is_kept() {
    let old_key = b"0123456789abcdef0123456789abcdef";
    let new_key = b"fedcba9876543210fedcba9876543210";
    let router = |sealer: RequestStateSealer| {
        Router::builder()
            .name("test-server", "1.2.3")
            .request_state_sealer(sealer)
            .tool(tool_roots_count())
            .build()
    };
    let minute = Duration::from_secs(60);
    let before = router(RequestStateSealer::new(old_key, minute));
    let rotating = router(RequestStateSealer::new(new_key, minute).also_opening(old_key));
    let after = router(RequestStateSealer::new(new_key, minute));
    // Asked before the rotation, retried on a node that has rotated: answered.
    let (_, _, _, in_flight) = input_required(&result_of(&before, ask_roots(None)).await);
    let done = result_of(&rotating, ask_roots(Some(&in_flight))).await;
    assert_eq!(done["content"][0]["text"], "2");
    // Once the old key is dropped, its states are refused.
    let error = error_of(&after, ask_roots(Some(&in_flight))).await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "requestState is not valid" })
    );
    // The rotating node seals with the new key, which a node on the old key does not open.
    let (_, _, _, fresh) = input_required(&result_of(&rotating, ask_roots(None)).await);
    assert_eq!(
        result_of(&after, ask_roots(Some(&fresh))).await["content"][0]["text"],
        "2"
    );
    let error = error_of(&before, ask_roots(Some(&fresh))).await;
    assert_eq!(error["code"], -32602);
}

/// alice's `tools/call roots`: the first round without `state`, a retry with it and the
/// client's `roots/list` answer.
fn ask_roots(state: Option<&str>) -> McpRequest {
    let retry = state.map(|state| ("input-0", state));
    alice_round("roots", "roots/list", json!({ "roots": {} }), retry)
}

/// alice's `tools/call` of `tool`, declaring `caps`: the first round without `retry`; a retry
/// with its `(key, state)`, the client's answer to `method` under `key`.
fn alice_round(tool: &str, method: &str, caps: Value, retry: Option<(&str, &str)>) -> McpRequest {
    let mut params = json!({ "name": tool, "arguments": {} });
    if let Some((key, state)) = retry {
        params["requestState"] = json!(state);
        params["inputResponses"] = json!({ key: client_answer(method) });
    }
    let mut request = request_with_caps(MODERN, 1, "tools/call", params, caps);
    request.extensions.insert(Principal::new("alice"));
    request
}

fn tool_roots_count() -> Tool {
    Tool::new("roots").handler(|Json(_): Json<NoArgs>, ctx: RequestContext| async move {
        ctx.list_roots().await.map(|r| r.roots.len().to_string())
    })
}

#[tokio::test]
async fn a_request_state_is_bound_to_its_principal_and_request() {
    let router = full_router();
    let round1 = result_of(&router, interview_request("alice", None)).await;
    let (key, method, _, state) = input_required(&round1);
    let answer = client_answer(&method);

    // Replayed by another principal.
    let error = error_of(
        &router,
        interview_request("mallory", Some((&key, answer.clone(), &state))),
    )
    .await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "requestState belongs to another request" })
    );

    // Replayed by no principal at all.
    let mut anonymous = interview_request("alice", Some((&key, answer.clone(), &state)));
    anonymous.extensions.remove::<Principal>();
    assert_eq!(
        error_of(&router, anonymous).await["code"],
        codes::INVALID_PARAMS
    );

    // Replayed against other arguments or another tool.
    let caps = json!({ "roots": {}, "sampling": {}, "elicitation": {} });
    let other_args = json!({
        "name": "interview",
        "arguments": { "extra": true },
        "inputResponses": { key.clone(): answer.clone() },
        "requestState": state
    });
    let mut request = request_with_caps(MODERN, 1, "tools/call", other_args, caps.clone());
    request.extensions.insert(Principal::new("alice"));
    assert_eq!(
        error_of(&router, request).await["code"],
        codes::INVALID_PARAMS
    );
    let other_tool = json!({
        "name": "roots",
        "arguments": {},
        "inputResponses": { key.clone(): answer.clone() },
        "requestState": state
    });
    let mut request = request_with_caps(MODERN, 1, "tools/call", other_tool, caps);
    request.extensions.insert(Principal::new("alice"));
    assert_eq!(
        error_of(&router, request).await["code"],
        codes::INVALID_PARAMS
    );

    // The rightful owner may still continue.
    let round2 = result_of(
        &router,
        interview_request("alice", Some((&key, answer, &state))),
    )
    .await;
    assert_eq!(round2["resultType"], "input_required");
}

/// Modern requests carry the client's capabilities in `_meta`; an empty declaration, a real
/// one and none at all each reach the handler as declared.
#[tokio::test]
async fn modern_client_capabilities_reach_the_handler() {
    let router = Router::builder()
        .tool(
            Tool::new("caps").handler(|_: Json<Value>, ctx: RequestContext| async move {
                let caps = ctx.client_capabilities().cloned();
                serde_json::to_string(&caps).unwrap()
            }),
        )
        .build();
    let v = ProtocolVersion::V2026_07_28;
    let call = json!({ "name": "caps", "arguments": {} });
    for (declared, seen) in [
        (json!({}), json!({})),
        (json!({ "roots": {} }), json!({ "roots": {} })),
        (json!({ "unknownCapability": {} }), json!({})),
        (json!(null), json!({})),
    ] {
        let response = send(
            &router,
            request_with_caps(v, 1, "tools/call", call.clone(), declared.clone()),
        )
        .await;
        let text = to_json(&response)["result"]["content"][0]["text"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("a text result for {declared}: {}", to_json(&response)));
        let got: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got, seen, "declared {declared}");
    }
}

/// An answer counts for the question it answered: a re-run that asks something else under
/// the same key (its text built from data that changed between rounds) asks again, rather
/// than act on consent given to another question.
#[tokio::test]
async fn an_answer_is_bound_to_the_question_it_answered() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let router = Router::builder()
        .name("test-server", "1.2.3")
        .tool(
            Tool::new("delete").handler(move |Json(_): Json<NoArgs>, ctx: RequestContext| {
                let file = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let form = mcp_core::protocol::ElicitRequestFormParams::new(
                        format!("Delete file-{file}?"),
                        crate::support::form_schema(),
                    );
                    let answer = ctx.elicit(form.into()).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(format!(
                        "deleted file-{file}: {answer:?}"
                    ))
                }
            }),
        )
        .build();
    let call = |retry| {
        alice_round(
            "delete",
            "elicitation/create",
            json!({ "elicitation": {} }),
            retry,
        )
    };
    let first = result_of(&router, call(None)).await;
    let (key, _, params, state) = input_required(&first);
    assert_eq!(params["message"], "Delete file-0?");
    // The answer to "file-0" comes back to a run that asks about file-1: asked again.
    let second = result_of(&router, call(Some((&key, &state)))).await;
    let (again, _, params, _) = input_required(&second);
    assert_eq!(
        (again.as_str(), &params["message"]),
        (key.as_str(), &json!("Delete file-1?"))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// Params `{"a":1,"b":2}`, written with their keys in the other order when swapped.
struct Swapped(bool);

impl serde::Serialize for Swapped {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        let entries = if self.0 {
            [("b", 2), ("a", 1)]
        } else {
            [("a", 1), ("b", 2)]
        };
        for (key, value) in entries {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}

/// A question is the same question whatever order its params' keys come in (built from a
/// `HashMap`, say): its answer counts.
#[tokio::test]
async fn a_question_with_its_keys_in_another_order_is_the_same_question() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let router = Router::builder()
        .name("test-server", "1.2.3")
        .tool(
            Tool::new("roots").handler(move |Json(_): Json<NoArgs>, ctx: RequestContext| {
                let run = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    // The same object, its keys in the other order on the second run.
                    let roots: Value = ctx.request("roots/list", &Swapped(run > 0)).await?;
                    Ok::<_, mcp_core::jsonrpc::ErrorObject>(roots.to_string())
                }
            }),
        )
        .build();
    let first = result_of(&router, ask_roots(None)).await;
    let (_, _, _, state) = input_required(&first);
    let second = result_of(&router, ask_roots(Some(&state))).await;
    assert_eq!(second["resultType"], "complete", "{second}");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// A `logLevel` in `_meta` must name a level, whichever method carries it: `null` (which
/// serde reads as absent) is refused like any other non-level, with the levels named.
#[tokio::test]
async fn a_log_level_that_names_no_level_is_refused_by_every_method() {
    let router = full_router();
    for level in [json!(null), json!(5), json!("loud")] {
        for (method, params) in [
            ("tools/list", json!({})),
            ("server/discover", json!({})),
            (
                "tools/call",
                json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
            ),
            (
                "prompts/get",
                json!({ "name": "greet", "arguments": { "name": "x" } }),
            ),
        ] {
            let mut params = params;
            params["_meta"] = json!({ "io.modelcontextprotocol/logLevel": level });
            let error = modern_error(&router, method, params).await;
            assert_eq!(error["code"], -32602, "{method} {level}: {error}");
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains("logLevel") && message.contains("debug, info, notice"),
                "{method} {level}: {error}"
            );
        }
    }
    let error = legacy_error(&router, "logging/setLevel", json!({ "level": null })).await;
    assert_eq!(error["code"], -32602, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("a log level: debug"),
        "{error}"
    );
}
