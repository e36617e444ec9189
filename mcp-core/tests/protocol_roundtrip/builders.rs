//! The builders, orderings and `_meta` accessors of the protocol types, checked directly.

use mcp_core::protocol::*;
use serde_json::{Value, json};

use crate::samples::obj;

#[test]
fn builders_produce_the_documented_shapes() {
    assert_eq!(
        serde_json::to_value(CallToolResult::structured(json!({ "a": 1 }))).unwrap(),
        json!({
            "content": [{ "type": "text", "text": "{\"a\":1}" }],
            "structuredContent": { "a": 1 }
        })
    );
    assert_eq!(
        serde_json::to_value(CallToolResult::error_text("bad")).unwrap(),
        json!({ "content": [{ "type": "text", "text": "bad" }], "isError": true })
    );
    assert_eq!(
        serde_json::to_value(ContentBlock::embedded_text("file:///a", "x")).unwrap(),
        json!({ "type": "resource", "resource": { "uri": "file:///a", "text": "x" } })
    );
    assert_eq!(
        serde_json::to_value(ResourceContents::blob_bytes(
            "file:///b",
            "a/b".to_owned(),
            b"hi"
        ))
        .unwrap(),
        json!({ "uri": "file:///b", "mimeType": "a/b", "blob": "aGk=" })
    );
    assert_eq!(
        serde_json::to_value(PromptMessage::assistant_text("hi")).unwrap(),
        json!({ "role": "assistant", "content": { "type": "text", "text": "hi" } })
    );
    // Integral numbers are written as integers, fractional ones as floats.
    let progress = ProgressNotificationParams::new(ProgressToken::Number(1), 3.0).with_total(7.5);
    assert_eq!(
        serde_json::to_string(&progress).unwrap(),
        r#"{"progressToken":1,"progress":3,"total":7.5}"#
    );
    // A task's ttl is required but nullable: `null` is written.
    let task: Task = serde_json::from_value(json!({
        "taskId": "t", "status": "working", "createdAt": "x", "lastUpdatedAt": "y", "ttl": null
    }))
    .unwrap();
    assert_eq!(serde_json::to_value(&task).unwrap()["ttl"], Value::Null);
    // Task results and notifications carry the task's fields at the top level.
    let status = json!({
        "method": "notifications/tasks/status",
        "params": {
            "_meta": { "k": 1 }, "taskId": "t", "status": "input_required",
            "createdAt": "x", "lastUpdatedAt": "y", "ttl": 60000, "pollInterval": 500
        }
    });
    let parsed: ServerNotification = serde_json::from_value(status.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), status);
    // Elicitation without `mode` is form mode and stays without `mode`.
    let form: ElicitRequestParams = serde_json::from_value(
        json!({ "message": "m", "requestedSchema": { "type": "object", "properties": {} } }),
    )
    .unwrap();
    assert_eq!(form.mode(), ElicitationMode::Form);
    assert!(serde_json::to_value(&form).unwrap().get("mode").is_none());
    // `InputRequiredResult` always says what it is.
    assert_eq!(
        serde_json::to_value(InputRequiredResult::default()).unwrap(),
        json!({ "resultType": "input_required" })
    );
}

#[test]
fn logging_levels_are_ordered_by_severity() {
    let mut shuffled = LoggingLevel::ALL;
    shuffled.reverse();
    shuffled.sort();
    assert_eq!(shuffled, LoggingLevel::ALL);
    assert!(LoggingLevel::Debug < LoggingLevel::Info);
    assert!(LoggingLevel::Warning < LoggingLevel::Error);
    assert!(LoggingLevel::Alert < LoggingLevel::Emergency);
    for level in LoggingLevel::ALL {
        assert_eq!(level.as_str().parse::<LoggingLevel>().unwrap(), level);
        assert_eq!(serde_json::to_value(level).unwrap(), json!(level.as_str()));
    }
    assert!("verbose".parse::<LoggingLevel>().is_err());
}

#[test]
fn request_meta_accessors_read_the_reserved_keys() {
    let meta = obj(json!({
        "progressToken": 5,
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "elicitation": {}, "roots": {} },
        "io.modelcontextprotocol/clientInfo": { "name": "c", "version": "1" },
        "io.modelcontextprotocol/logLevel": "notice"
    }));
    assert_eq!(meta.progress_token(), Some(ProgressToken::Number(5)));
    assert_eq!(meta.protocol_version(), Some("2026-07-28"));
    let caps = meta.client_capabilities().unwrap();
    assert!(caps.supports_elicitation_form() && !caps.supports_elicitation_url());
    assert!(caps.supports_roots() && !caps.supports_sampling());
    assert_eq!(meta.client_info().unwrap().name, "c");
    assert_eq!(meta.log_level(), Some(LoggingLevel::Notice));
    assert_eq!(Some(meta).log_level(), Some(LoggingLevel::Notice));
    assert_eq!(None::<Meta>.progress_token(), None);
}
