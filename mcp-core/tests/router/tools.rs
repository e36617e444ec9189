//! Tools: tools/list paging, tools/call (schemas, argument validation, structured output,
//! errors), runtime changes and allow-lists.

use mcp_core::jsonrpc::codes;
use mcp_core::{AllowList, Principal, ProtocolVersion, Router, ServerEvent};
use serde_json::{Value, json};

use crate::support::{
    LEGACY, MODERN, error_of, full_router, legacy, legacy_error, names, raw_schema, request,
    respond, result_of, send, tool_add, tool_named,
};

// ---------------------------------------------------------------------------------------------
// tools/list
// ---------------------------------------------------------------------------------------------

fn router_with_tools(count: usize, page_size: Option<usize>) -> Router {
    let mut builder = Router::builder();
    for i in 0..count {
        builder = builder.tool(tool_named(&format!("tool-{i:03}")));
    }
    if let Some(page_size) = page_size {
        builder = builder.page_size(page_size);
    }
    builder.build()
}

/// Lists every page, returning the names per page and the cursors seen.
async fn list_all(router: &Router, version: ProtocolVersion) -> (Vec<Vec<String>>, Vec<String>) {
    let mut pages = Vec::new();
    let mut cursors = Vec::new();
    let mut params = json!({});
    loop {
        let result = result_of(router, request(version, 1, "tools/list", params.clone())).await;
        pages.push(names(&result, "tools", "name"));
        match result.get("nextCursor") {
            Some(Value::String(cursor)) => {
                cursors.push(cursor.clone());
                params = json!({ "cursor": cursor });
            }
            Some(other) => panic!("nextCursor is not a string: {other}"),
            None => break,
        }
        assert!(pages.len() < 100, "the listing never ends");
    }
    (pages, cursors)
}

#[tokio::test]
async fn tools_list_pages_250_tools_by_100() {
    let router = router_with_tools(250, None);
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    let all: Vec<String> = pages.concat();
    let expected: Vec<String> = (0..250).map(|i| format!("tool-{i:03}")).collect();
    assert_eq!(all, expected, "sorted, complete, no duplicates");
    assert_eq!(cursors.len(), 2);
    for cursor in &cursors {
        assert!(
            !cursor.contains("tool"),
            "cursor {cursor} leaks a tool name"
        );
        assert!(!cursor.is_empty());
    }
    // Deterministic: the same walk gives the same pages and cursors.
    assert_eq!(list_all(&router, LEGACY).await, (pages.clone(), cursors));
    // And the modern era pages the same way.
    assert_eq!(list_all(&router, MODERN).await.0, pages);
}

#[tokio::test]
async fn tools_list_page_size_is_configurable() {
    let router = router_with_tools(20, Some(7));
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 6]);
    assert_eq!(cursors.len(), 2);

    // Exactly one page full: no cursor.
    let router = router_with_tools(7, Some(7));
    let (pages, cursors) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7]);
    assert!(cursors.is_empty());

    // page_size(0) is clamped to 1.
    let router = router_with_tools(3, Some(0));
    let (pages, _) = list_all(&router, LEGACY).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
}

#[tokio::test]
async fn tools_list_refuses_an_invalid_cursor() {
    let router = router_with_tools(5, None);
    for cursor in ["!!not base64!!", "gA", "%%%"] {
        let error = legacy_error(&router, "tools/list", json!({ "cursor": cursor })).await;
        assert_eq!(error["code"], codes::INVALID_PARAMS, "cursor {cursor:?}");
        assert_eq!(error["message"], "Invalid cursor");
    }
    let error = legacy_error(&router, "tools/list", json!({ "cursor": 42 })).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
}

#[tokio::test]
async fn list_cursors_the_server_never_issued_are_refused() {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let router = router_with_tools(250, None);
    let (_, cursors) = list_all(&router, LEGACY).await;
    let forged = [
        // Spellings the server never writes.
        encode("tools:+100"),
        encode("tools:"),
        // The cursor format of earlier versions.
        encode("offset:100"),
    ];
    for cursor in &forged {
        let error = legacy_error(&router, "tools/list", json!({ "cursor": cursor })).await;
        assert_eq!(error["code"], codes::INVALID_PARAMS, "cursor {cursor:?}");
        assert_eq!(error["message"], "Invalid cursor");
    }
    // A tools/list cursor is not a prompts/list one.
    let error = legacy_error(&router, "prompts/list", json!({ "cursor": cursors[0] })).await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);
    // A list that shrank below a cursor it issued gives an empty last page: the cursor was
    // valid, the list changed (a client learns that from list_changed).
    for position in ["250", "251", "18446744073709551615"] {
        let past = json!({ "cursor": encode(&format!("tools:{position}")) });
        let result = result_of(&router, request(LEGACY, 1, "tools/list", past)).await;
        assert_eq!(result["tools"], json!([]), "{position}");
        assert!(result.get("nextCursor").is_none());
    }
}

#[tokio::test]
async fn list_cursors_are_stable_while_tools_change() {
    let router = router_with_tools(9, Some(3));
    let page = |params: Value| {
        let router = router.clone();
        async move {
            let result = result_of(&router, request(LEGACY, 1, "tools/list", params)).await;
            let cursor = result.get("nextCursor").cloned();
            (names(&result, "tools", "name"), cursor)
        }
    };
    let (first, cursor) = page(json!({})).await;
    assert_eq!(first, ["tool-000", "tool-001", "tool-002"]);
    let cursor = cursor.expect("more pages");

    // Between two pages, an item of the first page goes, the page's last item among them, and
    // one is added: the next page starts where the first ended, without skipping tool-003.
    assert!(router.remove_tool("tool-001"));
    assert!(router.remove_tool("tool-002"));
    router.add_tool(tool_named("tool-new"));
    let (second, cursor) = page(json!({ "cursor": cursor })).await;
    assert_eq!(second, ["tool-003", "tool-004", "tool-005"]);

    // Replacing a definition keeps its place: nothing is listed twice or missed.
    router.add_tool(tool_named("tool-004"));
    router.add_tool(tool_named("tool-000"));
    let (third, cursor) = page(json!({ "cursor": cursor.expect("more pages") })).await;
    assert_eq!(third, ["tool-006", "tool-007", "tool-008"]);
    let (last, cursor) = page(json!({ "cursor": cursor.expect("more pages") })).await;
    assert_eq!(last, ["tool-new"]);
    assert!(cursor.is_none());

    // A name removed and registered again is new: it is listed last.
    assert!(router.remove_tool("tool-003"));
    router.add_tool(tool_named("tool-003"));
    let (all, _) = list_all(&router, LEGACY).await;
    assert_eq!(
        all.concat(),
        [
            "tool-000", "tool-004", "tool-005", "tool-006", "tool-007", "tool-008", "tool-new",
            "tool-003"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// tools/call
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typed_tool_schema_is_listed_and_the_tool_is_called() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let add = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "add")
        .unwrap();
    assert_eq!(
        add,
        &json!({
            "name": "add",
            "description": "Adds two integers",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "description": "Arguments of `add`.",
                "type": "object",
                "properties": {
                    "a": { "description": "The first addend.", "type": "integer", "format": "int64" },
                    "b": { "description": "The second addend.", "type": "integer", "format": "int64" }
                },
                "required": ["a", "b"]
            }
        })
    );

    let response = respond(
        &router,
        request(
            LEGACY,
            11,
            "tools/call",
            json!({ "name": "add", "arguments": { "a": 2, "b": 40 } }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 11,
            "result": { "content": [{ "type": "text", "text": "42" }] }
        })
    );
}

#[tokio::test]
async fn raw_schema_passes_through_untouched() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let distance = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "distance")
        .unwrap();
    assert_eq!(
        distance,
        &json!({ "name": "distance", "inputSchema": raw_schema() })
    );

    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "distance", "arguments": { "from": { "x": 0, "y": 0 }, "to": { "x": 3, "y": 4 } } }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "5" }] })
    );

    // `additionalProperties: false` inside `$defs` is enforced.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "distance", "arguments": { "from": { "x": 0, "y": 0, "z": 1 }, "to": { "x": 3, "y": 4 } } }),
    )
    .await;
    assert_eq!(result["isError"], true);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("/from"),
        "{result}"
    );
}

#[tokio::test]
async fn argument_validation_lists_every_error_with_its_path() {
    let router = full_router();
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": "two", "b": [40] } }),
    )
    .await;
    assert_eq!(result["isError"], true, "{result}");
    let content = result["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "text");
    let text = content[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Invalid arguments for tool add:"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- /a: ") && l.contains("\"two\"")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- /b: ") && l.contains("[40]")),
        "{text}"
    );

    // A missing required field is reported at the root.
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1 } }),
    )
    .await;
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("- /: ") && text.contains("\"b\""), "{text}");

    // No arguments at all is the empty object: both required fields missing.
    let result = legacy(&router, "tools/call", json!({ "name": "add" })).await;
    assert_eq!(result["isError"], true);
}

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let router = full_router();
    let response = respond(
        &router,
        request(
            LEGACY,
            5,
            "tools/call",
            json!({ "name": "nope", "arguments": {} }),
        ),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 5,
            "error": { "code": -32602, "message": "Unknown tool: nope" }
        })
    );
}

#[tokio::test]
async fn structured_output_has_a_text_mirror() {
    let router = full_router();
    let list = legacy(&router, "tools/list", json!({})).await;
    let sum = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sum")
        .unwrap();
    assert_eq!(sum["outputSchema"]["type"], "object");
    assert_eq!(sum["outputSchema"]["properties"]["sum"]["type"], "integer");

    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "sum", "arguments": { "a": 1, "b": 2 } }),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "content": [{ "type": "text", "text": "{\"sum\":3}" }],
            "structuredContent": { "sum": 3 }
        })
    );
}

#[tokio::test]
async fn output_not_matching_the_output_schema_is_an_error() {
    let router = full_router();
    let error = legacy_error(&router, "tools/call", json!({ "name": "bad_output" })).await;
    assert_eq!(error["code"], codes::INTERNAL_ERROR);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("outputSchema") && message.contains("/sum"),
        "{message}"
    );
}

#[tokio::test]
async fn a_handler_error_is_an_is_error_result() {
    let router = full_router();
    let result = legacy(
        &router,
        "tools/call",
        json!({ "name": "fails", "arguments": {} }),
    )
    .await;
    assert_eq!(
        result,
        json!({ "content": [{ "type": "text", "text": "the disk is full" }], "isError": true })
    );
}

// ---------------------------------------------------------------------------------------------
// Runtime changes and allow-lists
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn adding_and_removing_tools_at_runtime() {
    let router = Router::builder().tool(tool_add()).build();
    let mut events = router.events();

    router.add_tool(tool_named("late"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    let list = legacy(&router, "tools/list", json!({})).await;
    assert_eq!(names(&list, "tools", "name"), ["add", "late"]);
    assert_eq!(
        legacy(&router, "tools/call", json!({ "name": "late" })).await["content"][0]["text"],
        "ok"
    );

    assert!(router.remove_tool("add"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    let list = legacy(&router, "tools/list", json!({})).await;
    assert_eq!(names(&list, "tools", "name"), ["late"]);
    let error = legacy_error(
        &router,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
    )
    .await;
    assert_eq!(error["code"], codes::INVALID_PARAMS);

    // Removing what is not there changes nothing and says nothing.
    assert!(!router.remove_tool("add"));
    assert!(events.try_recv().is_err());

    // Clones share the registry.
    let clone = router.clone();
    clone.add_tool(tool_named("from-clone"));
    assert!(matches!(
        events.try_recv().unwrap(),
        ServerEvent::ToolsListChanged { .. }
    ));
    assert!(router.has_tool("from-clone"));
}

#[tokio::test]
async fn an_allow_list_hides_a_tool_like_an_unknown_one() {
    let router = full_router();
    let restricted = || AllowList::new().tools(["add"]);

    let mut list = request(LEGACY, 1, "tools/list", json!({}));
    list.extensions.insert(restricted());
    let result = result_of(&router, list).await;
    assert_eq!(names(&result, "tools", "name"), ["add"]);

    // Calling a hidden tool answers byte-for-byte like calling one that does not exist.
    let call = |name: &str| {
        request(
            LEGACY,
            77,
            "tools/call",
            json!({ "name": name, "arguments": {} }),
        )
    };
    let mut hidden = call("fails");
    hidden.extensions.insert(restricted());
    let hidden = send(&router, hidden).await;
    let without = Router::builder().tool(tool_add()).build();
    let unknown = send(&without, call("fails")).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    hidden.write_json(&mut a);
    unknown.write_json(&mut b);
    assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());

    // The same through a principal's allow-list.
    let mut by_principal = call("fails");
    by_principal
        .extensions
        .insert(Principal::new("alice").with_allow_list(restricted()));
    let error = error_of(&router, by_principal).await;
    assert_eq!(
        error,
        json!({ "code": -32602, "message": "Unknown tool: fails" })
    );

    // The allowed tool still works.
    let mut allowed = request(
        LEGACY,
        1,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
    );
    allowed.extensions.insert(restricted());
    assert_eq!(result_of(&router, allowed).await["content"][0]["text"], "3");
}
