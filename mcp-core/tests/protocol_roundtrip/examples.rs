//! Every example message of the 2026-07-28 specification: each example directory is mapped to
//! the checker of its Rust type, every example round-trips unchanged and matches its schema
//! definition.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mcp_core::protocol::*;
use serde_json::Value;

use crate::round_trip::{
    Checker, both, error, input_request, notification, plain, request, response, tagged,
};
use crate::schema::{self, SchemaSet};

/// Directory name under `examples/` → how to check its files.
fn checkers() -> BTreeMap<&'static str, Checker> {
    use PrimitiveSchemaDefinition as P;
    let entries: Vec<(&'static str, Checker)> = vec![
        ("AudioContent", tagged("audio", ContentBlock::Audio)),
        (
            "BlobResourceContents",
            both::<BlobResourceContents, ResourceContents>(|c| {
                matches!(c, ResourceContents::Blob(_))
            }),
        ),
        (
            "BooleanSchema",
            both::<BooleanSchema, P>(|p| matches!(p, P::Boolean(_))),
        ),
        (
            "CallToolRequest",
            request::<CallToolRequestParams>("tools/call"),
        ),
        ("CallToolRequestParams", plain::<CallToolRequestParams>()),
        ("CallToolResult", plain::<CallToolResult>()),
        ("CallToolResultResponse", response::<CallToolResult>()),
        (
            "CancelledNotification",
            notification::<CancelledNotificationParams>("notifications/cancelled"),
        ),
        (
            "CancelledNotificationParams",
            plain::<CancelledNotificationParams>(),
        ),
        ("ClientCapabilities", plain::<ClientCapabilities>()),
        (
            "CompleteRequest",
            request::<CompleteRequestParams>("completion/complete"),
        ),
        ("CompleteRequestParams", plain::<CompleteRequestParams>()),
        ("CompleteResult", plain::<CompleteResult>()),
        ("CompleteResultResponse", response::<CompleteResult>()),
        (
            "CreateMessageRequest",
            input_request::<CreateMessageRequestParams>("sampling/createMessage"),
        ),
        (
            "CreateMessageRequestParams",
            plain::<CreateMessageRequestParams>(),
        ),
        ("CreateMessageResult", plain::<CreateMessageResult>()),
        (
            "DiscoverRequest",
            request::<RequestParams>("server/discover"),
        ),
        ("DiscoverResult", plain::<DiscoverResult>()),
        ("DiscoverResultResponse", response::<DiscoverResult>()),
        (
            "ElicitRequest",
            input_request::<ElicitRequestParams>("elicitation/create"),
        ),
        (
            "ElicitRequestFormParams",
            both::<ElicitRequestFormParams, ElicitRequestParams>(|p| {
                matches!(p, ElicitRequestParams::Form(_))
            }),
        ),
        (
            "ElicitRequestURLParams",
            both::<ElicitRequestURLParams, ElicitRequestParams>(|p| {
                matches!(p, ElicitRequestParams::Url(_))
            }),
        ),
        ("ElicitResult", plain::<ElicitResult>()),
        (
            "EmbeddedResource",
            tagged("resource", ContentBlock::Resource),
        ),
        (
            "GetPromptRequest",
            request::<GetPromptRequestParams>("prompts/get"),
        ),
        ("GetPromptRequestParams", plain::<GetPromptRequestParams>()),
        ("GetPromptResult", plain::<GetPromptResult>()),
        ("GetPromptResultResponse", response::<GetPromptResult>()),
        ("HeaderMismatchError", error::<Value>(HEADER_MISMATCH)),
        ("ImageContent", tagged("image", ContentBlock::Image)),
        ("InputRequests", plain::<InputRequests>()),
        ("InputRequiredResult", plain::<InputRequiredResult>()),
        ("InputResponses", plain::<InputResponses>()),
        ("InternalError", error::<Value>(-32603)),
        ("InvalidParamsError", error::<Value>(-32602)),
        (
            "ListPromptsRequest",
            request::<PaginatedRequestParams>("prompts/list"),
        ),
        ("ListPromptsResult", plain::<ListPromptsResult>()),
        ("ListPromptsResultResponse", response::<ListPromptsResult>()),
        (
            "ListResourceTemplatesRequest",
            request::<PaginatedRequestParams>("resources/templates/list"),
        ),
        (
            "ListResourceTemplatesResult",
            plain::<ListResourceTemplatesResult>(),
        ),
        (
            "ListResourceTemplatesResultResponse",
            response::<ListResourceTemplatesResult>(),
        ),
        (
            "ListResourcesRequest",
            request::<PaginatedRequestParams>("resources/list"),
        ),
        ("ListResourcesResult", plain::<ListResourcesResult>()),
        (
            "ListResourcesResultResponse",
            response::<ListResourcesResult>(),
        ),
        (
            "ListRootsRequest",
            input_request::<RequestParams>("roots/list"),
        ),
        ("ListRootsResult", plain::<ListRootsResult>()),
        (
            "ListToolsRequest",
            request::<PaginatedRequestParams>("tools/list"),
        ),
        ("ListToolsResult", plain::<ListToolsResult>()),
        ("ListToolsResultResponse", response::<ListToolsResult>()),
        (
            "LoggingMessageNotification",
            notification::<LoggingMessageNotificationParams>("notifications/message"),
        ),
        (
            "LoggingMessageNotificationParams",
            plain::<LoggingMessageNotificationParams>(),
        ),
        ("MethodNotFoundError", error::<Value>(-32601)),
        (
            "MissingRequiredClientCapabilityError",
            error::<MissingRequiredClientCapabilityErrorData>(MISSING_REQUIRED_CLIENT_CAPABILITY),
        ),
        ("ModelPreferences", plain::<ModelPreferences>()),
        (
            "NumberSchema",
            both::<NumberSchema, P>(|p| matches!(p, P::Number(_))),
        ),
        ("PaginatedRequestParams", plain::<PaginatedRequestParams>()),
        ("ParseError", error::<Value>(-32700)),
        (
            "ProgressNotification",
            notification::<ProgressNotificationParams>("notifications/progress"),
        ),
        (
            "ProgressNotificationParams",
            plain::<ProgressNotificationParams>(),
        ),
        (
            "PromptListChangedNotification",
            notification::<NotificationParams>("notifications/prompts/list_changed"),
        ),
        (
            "ReadResourceRequest",
            request::<ReadResourceRequestParams>("resources/read"),
        ),
        ("ReadResourceResult", plain::<ReadResourceResult>()),
        (
            "ReadResourceResultResponse",
            response::<ReadResourceResult>(),
        ),
        ("Resource", plain::<Resource>()),
        (
            "ResourceLink",
            tagged("resource_link", ContentBlock::ResourceLink),
        ),
        (
            "ResourceListChangedNotification",
            notification::<NotificationParams>("notifications/resources/list_changed"),
        ),
        (
            "ResourceUpdatedNotification",
            notification::<ResourceUpdatedNotificationParams>("notifications/resources/updated"),
        ),
        (
            "ResourceUpdatedNotificationParams",
            plain::<ResourceUpdatedNotificationParams>(),
        ),
        ("Root", plain::<Root>()),
        ("SamplingMessage", plain::<SamplingMessage>()),
        ("ServerCapabilities", plain::<ServerCapabilities>()),
        (
            "StringSchema",
            both::<StringSchema, P>(|p| matches!(p, P::String(_))),
        ),
        (
            "SubscriptionsAcknowledgedNotification",
            notification::<SubscriptionsAcknowledgedNotificationParams>(
                "notifications/subscriptions/acknowledged",
            ),
        ),
        (
            "SubscriptionsListenRequest",
            request::<SubscriptionsListenRequestParams>("subscriptions/listen"),
        ),
        (
            "SubscriptionsListenResult",
            plain::<SubscriptionsListenResult>(),
        ),
        (
            "SubscriptionsListenResultResponse",
            response::<SubscriptionsListenResult>(),
        ),
        ("TextContent", tagged("text", ContentBlock::Text)),
        (
            "TextResourceContents",
            both::<TextResourceContents, ResourceContents>(|c| {
                matches!(c, ResourceContents::Text(_))
            }),
        ),
        (
            "TitledMultiSelectEnumSchema",
            both::<TitledMultiSelectEnumSchema, P>(|p| matches!(p, P::TitledMultiSelectEnum(_))),
        ),
        (
            "TitledSingleSelectEnumSchema",
            both::<TitledSingleSelectEnumSchema, P>(|p| matches!(p, P::TitledSingleSelectEnum(_))),
        ),
        ("Tool", plain::<Tool>()),
        (
            "ToolListChangedNotification",
            notification::<NotificationParams>("notifications/tools/list_changed"),
        ),
        (
            "ToolResultContent",
            tagged("tool_result", SamplingMessageContentBlock::ToolResult),
        ),
        (
            "ToolUseContent",
            tagged("tool_use", SamplingMessageContentBlock::ToolUse),
        ),
        (
            "UnsupportedProtocolVersionError",
            error::<UnsupportedProtocolVersionErrorData>(UNSUPPORTED_PROTOCOL_VERSION),
        ),
        (
            "UntitledMultiSelectEnumSchema",
            both::<UntitledMultiSelectEnumSchema, P>(|p| {
                matches!(p, P::UntitledMultiSelectEnum(_))
            }),
        ),
        (
            "UntitledSingleSelectEnumSchema",
            both::<UntitledSingleSelectEnumSchema, P>(|p| {
                matches!(p, P::UntitledSingleSelectEnum(_))
            }),
        ),
    ];
    let count = entries.len();
    let map: BTreeMap<_, _> = entries.into_iter().collect();
    assert_eq!(map.len(), count, "a directory is mapped twice");
    map
}

/// `(directory name, file name, parsed JSON)` of every example.
fn examples() -> Vec<(String, String, Value)> {
    let root = schema::schema_dir().join("2026-07-28").join("examples");
    let mut out = Vec::new();
    for dir in sorted_entries(&root) {
        let dir_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(dir.is_dir(), "{} is not a directory", dir.display());
        for file in sorted_entries(&dir) {
            if file.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&file).unwrap();
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
                let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
                out.push((dir_name.clone(), file_name, value));
            }
        }
    }
    out
}

fn sorted_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
}

#[test]
fn every_2026_example_round_trips_unchanged() {
    let checkers = checkers();
    let examples = examples();
    assert!(
        examples.len() > 100,
        "only {} examples found",
        examples.len()
    );

    let dirs: BTreeSet<&str> = examples.iter().map(|(dir, _, _)| dir.as_str()).collect();
    let unmapped: Vec<_> = dirs.iter().filter(|d| !checkers.contains_key(*d)).collect();
    assert!(
        unmapped.is_empty(),
        "example directories without a mapping: {unmapped:?}"
    );
    let stale: Vec<_> = checkers.keys().filter(|k| !dirs.contains(*k)).collect();
    assert!(
        stale.is_empty(),
        "mappings without an example directory: {stale:?}"
    );

    let mut failures = Vec::new();
    for (dir, file, value) in &examples {
        match checkers[dir.as_str()](value) {
            Ok(again) if &again == value => {}
            Ok(again) => failures.push(format!(
                "{dir}/{file}: changed by the round trip\n  before: {value}\n  after:  {again}"
            )),
            Err(e) => failures.push(format!("{dir}/{file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_2026_example_matches_its_schema_definition() {
    let schema = SchemaSet::load("2026-07-28");
    let mut failures = Vec::new();
    for (dir, file, value) in examples() {
        if let Err(errors) = schema.validate(&dir, &value) {
            failures.push(format!("{dir}/{file}:\n    {}", errors.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
