//! Fully populated sample values of the protocol types, built the way the server builds them,
//! for the schema-validation cases.

use std::collections::BTreeMap;

use mcp_core::protocol::*;
use serde_json::{Value, json};

pub(crate) fn obj(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub(crate) fn icon() -> Icon {
    Icon {
        src: "https://example.com/icon.png".to_owned(),
        mime_type: Some("image/png".to_owned()),
        sizes: Some(vec!["48x48".to_owned()]),
        theme: Some(IconTheme::Light),
    }
}

fn annotations() -> Annotations {
    Annotations {
        audience: Some(vec![Role::User, Role::Assistant]),
        priority: Some(0.5),
        last_modified: Some("2025-01-12T15:00:58Z".to_owned()),
    }
}

pub(crate) fn server_info() -> Implementation {
    Implementation {
        title: Some("Example Server".to_owned()),
        description: Some("An example".to_owned()),
        icons: Some(vec![icon()]),
        website_url: Some("https://example.com".to_owned()),
        ..Implementation::new("example-server", "1.2.3")
    }
}

pub(crate) fn full_capabilities() -> ServerCapabilities {
    ServerCapabilities {
        experimental: Some(obj(json!({ "com.example/feature": {} }))),
        extensions: None,
        logging: Some(JsonObject::new()),
        completions: Some(JsonObject::new()),
        prompts: Some(PromptsCapability {
            list_changed: Some(true),
        }),
        resources: Some(ResourcesCapability {
            subscribe: Some(true),
            list_changed: Some(true),
        }),
        tools: Some(ToolsCapability {
            list_changed: Some(true),
        }),
        tasks: Some(ServerTasksCapability {
            list: Some(JsonObject::new()),
            cancel: Some(JsonObject::new()),
            requests: Some(ServerTaskRequests {
                tools: Some(ToolTaskRequests {
                    call: Some(JsonObject::new()),
                }),
            }),
        }),
    }
}

pub(crate) fn full_tool() -> Tool {
    Tool {
        title: Some("Weather".to_owned()),
        description: Some("Current weather".to_owned()),
        output_schema: Some(json!({
            "type": "object",
            "properties": { "temperature": { "type": "number" } },
            "required": ["temperature"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Weather".to_owned()),
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            idempotent_hint: Some(true),
            open_world_hint: Some(true),
        }),
        execution: Some(ToolExecution {
            task_support: Some(TaskSupport::Optional),
        }),
        icons: Some(vec![icon()]),
        meta: Some(obj(json!({ "com.example/owner": "team-a" }))),
        ..Tool::new(
            "get_weather",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": { "city": { "type": "string" } },
                "required": ["city"],
                "additionalProperties": false
            }),
        )
    }
}

pub(crate) fn resource() -> Resource {
    Resource {
        title: Some("Main".to_owned()),
        size: Some(42),
        annotations: Some(annotations()),
        icons: Some(vec![icon()]),
        ..Resource::new("file:///project/src/main.rs", "main.rs")
            .with_mime_type("text/x-rust")
            .with_description("Entry point")
    }
}

pub(crate) fn every_content_kind() -> Vec<ContentBlock> {
    vec![
        ContentBlock::text("hello").with_annotations(annotations()),
        ContentBlock::image_bytes(b"\x89PNG", "image/png"),
        ContentBlock::audio_bytes(b"RIFF", "audio/wav"),
        ContentBlock::resource_link(resource()),
        ContentBlock::embedded_text("file:///notes.txt", "some notes"),
        ContentBlock::embedded(ResourceContents::blob_bytes(
            "file:///logo.png",
            "image/png".to_owned(),
            b"\x89PNG",
        )),
    ]
}

pub(crate) fn task() -> Task {
    Task {
        task_id: "task-1".to_owned(),
        status: TaskStatus::Working,
        status_message: Some("Working on it".to_owned()),
        created_at: "2025-11-25T10:00:00Z".to_owned(),
        last_updated_at: "2025-11-25T10:00:05Z".to_owned(),
        ttl: None,
        poll_interval: Some(1000),
    }
}

pub(crate) fn form_elicitation() -> ElicitRequestParams {
    let properties: BTreeMap<&str, PrimitiveSchemaDefinition> = BTreeMap::from([
        (
            "name",
            PrimitiveSchemaDefinition::String(StringSchema {
                title: Some("Name".to_owned()),
                min_length: Some(1),
                ..StringSchema::new()
            }),
        ),
        (
            "email",
            PrimitiveSchemaDefinition::String(StringSchema {
                format: Some(StringFormat::Email),
                ..StringSchema::new()
            }),
        ),
        (
            "age",
            PrimitiveSchemaDefinition::Number(NumberSchema {
                minimum: Some(0.0),
                ..NumberSchema::integer()
            }),
        ),
        (
            "subscribe",
            PrimitiveSchemaDefinition::Boolean(BooleanSchema::new()),
        ),
        (
            "color",
            PrimitiveSchemaDefinition::UntitledSingleSelectEnum(UntitledSingleSelectEnumSchema {
                r#type: JsonSchemaType::String,
                title: None,
                description: None,
                r#enum: vec!["red".to_owned(), "green".to_owned()],
                default: None,
            }),
        ),
    ]);
    let schema = json!({ "type": "object", "properties": properties, "required": ["name"] });
    ElicitRequestFormParams::new("Who are you?", obj(schema)).into()
}

pub(crate) fn url_elicitation() -> ElicitRequestParams {
    ElicitRequestURLParams {
        elicitation_id: Some("elicit-1".to_owned()),
        ..ElicitRequestURLParams::new("Set your API key", "https://example.com/key")
    }
    .into()
}

pub(crate) fn sampling_request_basic() -> CreateMessageRequestParams {
    CreateMessageRequestParams {
        model_preferences: Some(ModelPreferences {
            hints: Some(vec![ModelHint {
                name: Some("claude".to_owned()),
            }]),
            cost_priority: Some(0.2),
            speed_priority: Some(0.5),
            intelligence_priority: Some(1.0),
        }),
        system_prompt: Some("Be brief.".to_owned()),
        include_context: Some(IncludeContext::None),
        temperature: Some(0.7),
        stop_sequences: Some(vec!["\n\n".to_owned()]),
        metadata: Some(obj(json!({ "trace": "abc" }))),
        ..CreateMessageRequestParams::new(
            vec![
                SamplingMessage::user_text("What is the capital of France?"),
                SamplingMessage::assistant_text("Paris."),
            ],
            100,
        )
    }
}

pub(crate) fn sampling_request_with_tools() -> CreateMessageRequestParams {
    let tool_use = SamplingMessageContentBlock::ToolUse(ToolUseContent {
        id: "call_1".to_owned(),
        name: "get_weather".to_owned(),
        input: obj(json!({ "city": "Paris" })),
        meta: None,
    });
    let tool_result = SamplingMessageContentBlock::ToolResult(ToolResultContent {
        tool_use_id: "call_1".to_owned(),
        content: vec![ContentBlock::text("18°C")],
        structured_content: Some(json!({ "temperature": 18 })),
        is_error: Some(false),
        meta: None,
    });
    CreateMessageRequestParams {
        tools: Some(vec![full_tool()]),
        tool_choice: Some(ToolChoice {
            mode: Some(ToolChoiceMode::Auto),
        }),
        ..CreateMessageRequestParams::new(
            vec![
                SamplingMessage::user_text("Weather in Paris?"),
                SamplingMessage {
                    role: Role::Assistant,
                    content: SamplingMessageContent::Multiple(vec![tool_use]),
                    meta: None,
                },
                SamplingMessage {
                    role: Role::User,
                    content: SamplingMessageContent::Multiple(vec![tool_result]),
                    meta: None,
                },
            ],
            500,
        )
    }
}
