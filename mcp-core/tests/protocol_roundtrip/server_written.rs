//! Schema validation of what the server writes: every result, notification and
//! server→client request, validated against each schema version that defines it.

use std::collections::BTreeSet;

use mcp_core::protocol::*;
use serde::Serialize;
use serde_json::{Value, json};

use crate::samples::{
    every_content_kind, form_elicitation, full_capabilities, full_tool, icon, obj, resource,
    sampling_request_basic, sampling_request_with_tools, server_info, task, url_elicitation,
};
use crate::schema::{SchemaSet, VERSIONS};

fn to<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serialisable")
}

fn request_message(method: &str, params: impl Serialize) -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params })
}

fn notification_message(notification: ServerNotification) -> Value {
    let mut value = serde_json::to_value(notification).unwrap();
    value
        .as_object_mut()
        .unwrap()
        .insert("jsonrpc".to_owned(), json!("2.0"));
    value
}

/// `(case name, schema definition, value)` of everything the server writes.
fn server_written_values() -> Vec<(&'static str, &'static str, Value)> {
    let mut initialize = InitializeResult::new("2025-11-25", full_capabilities(), server_info());
    initialize.instructions = Some("Use get_weather.".to_owned());
    let mut discover = DiscoverResult::new(vec!["2026-07-28".to_owned()], full_capabilities());
    discover.instructions = Some("Use get_weather.".to_owned());

    let mut structured =
        CallToolResult::structured(json!({ "temperature": 22.5, "conditions": "sunny" }));
    structured.content.extend(every_content_kind());
    let mut input_requests = InputRequests::new();
    input_requests.insert("name".to_owned(), InputRequest::elicit(form_elicitation()));
    input_requests.insert("roots".to_owned(), InputRequest::list_roots());
    input_requests.insert(
        "capital".to_owned(),
        InputRequest::create_message(sampling_request_basic()),
    );
    let prompt = Prompt {
        title: Some("Code review".to_owned()),
        description: Some("Reviews code".to_owned()),
        arguments: Some(vec![PromptArgument {
            title: Some("Code".to_owned()),
            description: Some("The code".to_owned()),
            required: Some(true),
            ..PromptArgument::new("code")
        }]),
        icons: Some(vec![icon()]),
        ..Prompt::new("code_review")
    };
    let template = ResourceTemplate {
        title: Some("Files".to_owned()),
        description: Some("Project files".to_owned()),
        mime_type: Some("text/plain".to_owned()),
        icons: Some(vec![icon()]),
        ..ResourceTemplate::new("file:///{path}", "files")
    };
    let progress = ServerNotification::from(
        ProgressNotificationParams::new(ProgressToken::from("tok-1"), 50.0)
            .with_total(100.0)
            .with_message("Halfway"),
    );
    // Numbers a handler may compute out of the schemas' range, or not finite at all: JSON
    // has no NaN, and serde_json would write `null` where a number must go.
    let wild_progress = ServerNotification::from(
        ProgressNotificationParams::new(ProgressToken::from("tok-2"), 3.0).with_total(f64::NAN),
    );
    let mut wild_sampling = sampling_request_basic();
    wild_sampling.temperature = Some(f64::INFINITY);
    wild_sampling.model_preferences = Some(ModelPreferences {
        hints: None,
        cost_priority: Some(1.5),
        speed_priority: Some(-2.0),
        intelligence_priority: Some(f64::NAN),
    });
    let wild_annotations = Annotations {
        priority: Some(7.0),
        ..Annotations::default()
    };
    let mut log = LoggingMessageNotificationParams::new(
        LoggingLevel::Warning,
        json!({ "error": "Connection failed", "port": 5432, "ratio": 0.5, "none": null }),
    );
    log.logger = Some("database".to_owned());
    let mut tool_list_changed = ServerNotification::tool_list_changed();
    tool_list_changed.meta_mut().insert(
        "io.modelcontextprotocol/subscriptionId".to_owned(),
        json!("listen-1"),
    );

    vec![
        (
            "initialize result, full capabilities",
            "InitializeResult",
            to(&initialize),
        ),
        (
            "discover result, full capabilities",
            "DiscoverResult",
            to(&discover),
        ),
        (
            "tools/list with a full tool",
            "ListToolsResult",
            to(&ListToolsResult::new(
                vec![full_tool(), Tool::new("noop", json!({"type": "object"}))],
                Some("next".to_owned()),
            )),
        ),
        (
            "tools/call with every content kind",
            "CallToolResult",
            to(&CallToolResult::new(every_content_kind())),
        ),
        (
            "tools/call structured (object)",
            "CallToolResult",
            to(&structured),
        ),
        (
            "tools/call structured (array)",
            "CallToolResult",
            to(&CallToolResult::structured(
                json!([{ "id": 1 }, { "id": 2 }]),
            )),
        ),
        (
            "tools/call error",
            "CallToolResult",
            to(&CallToolResult::error_text("boom")),
        ),
        (
            "resources/list",
            "ListResourcesResult",
            to(&ListResourcesResult::new(vec![resource()], None)),
        ),
        (
            "resources/templates/list",
            "ListResourceTemplatesResult",
            to(&ListResourceTemplatesResult::new(vec![template], None)),
        ),
        (
            "resources/read text + blob",
            "ReadResourceResult",
            to(&ReadResourceResult::new(vec![
                ResourceContents::text("file:///a.txt", "text/plain".to_owned(), "hello"),
                ResourceContents::text("file:///b.txt", None, "no mime"),
                ResourceContents::blob_bytes(
                    "file:///c.bin",
                    "application/octet-stream".to_owned(),
                    [0u8, 1, 2],
                ),
            ])),
        ),
        (
            "prompts/list",
            "ListPromptsResult",
            to(&ListPromptsResult::new(vec![prompt], None)),
        ),
        (
            "prompts/get",
            "GetPromptResult",
            to(&GetPromptResult {
                description: Some("Code review".to_owned()),
                ..GetPromptResult::new(vec![
                    PromptMessage::user_text("Review this"),
                    PromptMessage::new(
                        Role::User,
                        ContentBlock::embedded_text("file:///a.py", "print(1)"),
                    ),
                    PromptMessage::new(Role::User, ContentBlock::image("aGVsbG8=", "image/png")),
                    PromptMessage::assistant_text("Looks fine"),
                ])
            }),
        ),
        (
            "completion/complete",
            "CompleteResult",
            to(&CompleteResult::new(Completion::capped(
                (0..150).map(|i| format!("value-{i}")).collect(),
            ))),
        ),
        (
            "ping / setLevel result",
            "EmptyResult",
            to(&EmptyResult::default()),
        ),
        (
            "input_required result",
            "InputRequiredResult",
            to(&InputRequiredResult::new(
                input_requests,
                Some("state".to_owned()),
            )),
        ),
        (
            "subscriptions/listen result",
            "SubscriptionsListenResult",
            to(&SubscriptionsListenResult::new(ProgressToken::from(
                "listen-1",
            ))),
        ),
        (
            "log notification",
            "LoggingMessageNotification",
            notification_message(log.into()),
        ),
        (
            "progress notification",
            "ProgressNotification",
            notification_message(progress),
        ),
        (
            "progress notification, total not finite",
            "ProgressNotification",
            notification_message(wild_progress),
        ),
        (
            "sampling request, priorities out of range",
            "CreateMessageRequest",
            request_message("sampling/createMessage", wild_sampling),
        ),
        (
            "tools/call, priority out of range",
            "CallToolResult",
            to(&CallToolResult::new(vec![
                ContentBlock::text("y").with_annotations(wild_annotations),
            ])),
        ),
        (
            "resource updated notification",
            "ResourceUpdatedNotification",
            notification_message(
                ResourceUpdatedNotificationParams::new("file:///project/src/main.rs").into(),
            ),
        ),
        (
            "tools list_changed notification",
            "ToolListChangedNotification",
            notification_message(tool_list_changed),
        ),
        (
            "subscriptions acknowledged notification",
            "SubscriptionsAcknowledgedNotification",
            notification_message(ServerNotification::SubscriptionsAcknowledged {
                params: SubscriptionsAcknowledgedNotificationParams {
                    meta: Some(obj(json!({ "io.modelcontextprotocol/subscriptionId": 3 }))),
                    notifications: SubscriptionFilter {
                        tools_list_changed: Some(true),
                        resource_subscriptions: Some(vec!["file:///a.txt".to_owned()]),
                        ..SubscriptionFilter::default()
                    },
                },
            }),
        ),
        (
            "sampling request, basic",
            "CreateMessageRequest",
            request_message("sampling/createMessage", sampling_request_basic()),
        ),
        (
            "sampling request with tools",
            "CreateMessageRequest",
            request_message("sampling/createMessage", sampling_request_with_tools()),
        ),
        (
            "elicitation request, form",
            "ElicitRequest",
            request_message("elicitation/create", form_elicitation()),
        ),
        (
            "elicitation request, url",
            "ElicitRequest",
            request_message("elicitation/create", url_elicitation()),
        ),
        (
            "roots request",
            "ListRootsRequest",
            json!({ "jsonrpc": "2.0", "id": 8, "method": "roots/list" }),
        ),
        (
            "task created",
            "CreateTaskResult",
            to(&CreateTaskResult {
                meta: None,
                task: task(),
            }),
        ),
        (
            "tasks/get",
            "GetTaskResult",
            to(&GetTaskResult {
                meta: None,
                task: task(),
            }),
        ),
        (
            "tasks/list",
            "ListTasksResult",
            to(&ListTasksResult {
                tasks: vec![task()],
                ..ListTasksResult::default()
            }),
        ),
        (
            "task status notification",
            "TaskStatusNotification",
            notification_message(ServerNotification::TaskStatus {
                params: TaskStatusNotificationParams {
                    meta: None,
                    task: task(),
                },
            }),
        ),
        (
            "elicitation complete notification",
            "ElicitationCompleteNotification",
            notification_message(ServerNotification::ElicitationComplete {
                params: ElicitationCompleteNotificationParams {
                    meta: None,
                    elicitation_id: "elicit-1".to_owned(),
                },
            }),
        ),
    ]
}

/// What the server splices into a result on the modern era: `resultType`, `ttlMs` and
/// `cacheScope` where the definition has them, and `_meta` server info.
fn modernize(schema: &SchemaSet, definition: &str, value: &mut Value) {
    let mut definition = schema.definition(definition);
    // Follow an alias such as `EmptyResult = {"$ref": "#/$defs/Result"}`.
    while let Some(target) = definition
        .and_then(|d| d.get("$ref"))
        .and_then(Value::as_str)
    {
        definition = schema.definition(target.rsplit('/').next().unwrap_or_default());
    }
    let Some(properties) = definition.and_then(|d| d.get("properties")) else {
        return;
    };
    let Some(object) = value.as_object_mut() else {
        return;
    };
    if properties.get("resultType").is_none() {
        return;
    }
    object.entry("resultType").or_insert(json!("complete"));
    if properties.get("ttlMs").is_some() {
        object.entry("ttlMs").or_insert(json!(60_000));
        object.entry("cacheScope").or_insert(json!("private"));
    }
    let meta = object.entry("_meta").or_insert(json!({}));
    meta.as_object_mut().unwrap().insert(
        "io.modelcontextprotocol/serverInfo".to_owned(),
        json!({ "name": "example-server", "version": "1.2.3" }),
    );
}

/// The `(case, version)` pairs that are expected to fail: each is a value that does not exist
/// in that version (the server must not send it there).
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    // `resource_link` content arrived in 2025-06-18.
    ("tools/call with every content kind", "2025-03-26"),
    ("tools/call structured (object)", "2025-03-26"),
    // `structuredContent` must be an object before 2026-07-28.
    ("tools/call structured (array)", "2025-06-18"),
    ("tools/call structured (array)", "2025-11-25"),
    // Tool use in sampling arrived in 2025-11-25.
    ("sampling request with tools", "2025-03-26"),
    ("sampling request with tools", "2025-06-18"),
    // URL-mode elicitation arrived in 2025-11-25.
    ("elicitation request, url", "2025-06-18"),
];

#[test]
fn server_written_values_validate_against_every_version() {
    let schemas: Vec<SchemaSet> = VERSIONS.iter().map(|v| SchemaSet::load(v)).collect();
    let mut failed = BTreeSet::new();
    let mut report = Vec::new();
    let mut checked = 0;
    for (case, definition, value) in server_written_values() {
        let mut validated_somewhere = false;
        for schema in &schemas {
            if !schema.has(definition) {
                continue;
            }
            validated_somewhere = true;
            checked += 1;
            let mut value = value.clone();
            if schema.version() == "2026-07-28" {
                modernize(schema, definition, &mut value);
            }
            if let Err(errors) = schema.validate(definition, &value) {
                failed.insert((case, schema.version().to_owned()));
                report.push(format!(
                    "{case} [{definition} @ {}]:\n    {}",
                    schema.version(),
                    errors.join("\n    ")
                ));
            }
        }
        assert!(
            validated_somewhere,
            "{case}: no version defines {definition}"
        );
    }
    eprintln!("{checked} validations; failures:\n{}", report.join("\n"));
    let expected: BTreeSet<(&str, String)> = EXPECTED_FAILURES
        .iter()
        .map(|(case, v)| (*case, (*v).to_owned()))
        .collect();
    let unexpected: Vec<_> = failed.difference(&expected).collect();
    let fixed: Vec<_> = expected.difference(&failed).collect();
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "unexpected failures: {unexpected:?}\nexpected failures that passed: {fixed:?}\n{}",
        report.join("\n")
    );
}

/// The numbers of the cases above as written: clamped into the range the schemas give
/// priorities, and left out when not finite.
#[test]
fn out_of_range_and_non_finite_numbers_are_written_valid() {
    let annotations = |priority: f64| {
        to(&Annotations {
            priority: Some(priority),
            ..Annotations::default()
        })
    };
    assert_eq!(annotations(7.0), json!({ "priority": 1 }));
    assert_eq!(annotations(-0.25), json!({ "priority": 0 }));
    assert_eq!(annotations(0.25), json!({ "priority": 0.25 }));
    assert_eq!(annotations(f64::NAN), json!({}));

    let preferences = to(&ModelPreferences {
        hints: None,
        cost_priority: Some(1.5),
        speed_priority: Some(-2.0),
        intelligence_priority: Some(f64::NAN),
    });
    assert_eq!(
        preferences,
        json!({ "costPriority": 1, "speedPriority": 0 })
    );

    let progress = to(
        &ProgressNotificationParams::new(ProgressToken::from("t"), 3.0).with_total(f64::INFINITY),
    );
    assert_eq!(progress, json!({ "progressToken": "t", "progress": 3 }));
}
