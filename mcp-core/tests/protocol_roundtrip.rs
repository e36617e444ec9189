//! The protocol types against the official schemas:
//!
//! 1. every example message of the 2026-07-28 specification deserialises into the matching
//!    Rust type and serialises back unchanged;
//! 2. representative values the server writes validate against the matching definition of
//!    every schema version that has it.

#[path = "support/schema.rs"]
mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mcp_core::protocol::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use schema::{SchemaSet, VERSIONS};

type Outcome = Result<Value, String>;
type Checker = Box<dyn Fn(&Value) -> Outcome>;

// ---------------------------------------------------------------------------------------------
// Round-trip helpers
// ---------------------------------------------------------------------------------------------

/// Deserialises `value` (from its text, as the server would) into `T` and serialises it back.
fn rt<T: DeserializeOwned + Serialize + 'static>(value: &Value) -> Outcome {
    let text = value.to_string();
    let parsed: T = serde_json::from_str(&text)
        .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<T>()))?;
    serde_json::to_value(&parsed).map_err(|e| format!("does not serialise: {e}"))
}

fn object(value: &Value) -> Result<&Map<String, Value>, String> {
    value.as_object().ok_or_else(|| "not an object".to_owned())
}

fn expect_method(value: &Value, method: &str) -> Result<(), String> {
    match value.get("method") {
        Some(Value::String(m)) if m == method => Ok(()),
        other => Err(format!("method is {other:?}, expected {method}")),
    }
}

/// Round-trips a value through its own type.
fn plain<T: DeserializeOwned + Serialize + 'static>() -> Checker {
    Box::new(rt::<T>)
}

/// Round-trips through the struct `T` and through the enum `E` that wraps it; `is_variant`
/// checks the enum picked the right variant.
fn both<T, E>(is_variant: fn(&E) -> bool) -> Checker
where
    T: DeserializeOwned + Serialize + 'static,
    E: DeserializeOwned + Serialize + 'static,
{
    Box::new(move |value| {
        let direct = rt::<T>(value)?;
        let parsed: E = serde_json::from_value(value.clone())
            .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<E>()))?;
        if !is_variant(&parsed) {
            return Err(format!(
                "parsed as the wrong variant of {}",
                std::any::type_name::<E>()
            ));
        }
        let via_enum = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if via_enum != direct {
            return Err(format!("struct and enum disagree: {direct} vs {via_enum}"));
        }
        Ok(direct)
    })
}

/// A block of a `"type"`-tagged enum `E`: parsed through `E`, and through the payload struct
/// `T` (which does not carry `"type"`) wrapped back into `E`.
fn tagged<T, E>(tag: &'static str, wrap: fn(T) -> E) -> Checker
where
    T: DeserializeOwned + Serialize + 'static,
    E: DeserializeOwned + Serialize + 'static,
{
    Box::new(move |value| {
        if value.get("type") != Some(&json!(tag)) {
            return Err(format!("type is not {tag}"));
        }
        let via_enum = rt::<E>(value)?;
        let mut payload = object(value)?.clone();
        payload.remove("type");
        let parsed: T = serde_json::from_value(Value::Object(payload))
            .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<T>()))?;
        let wrapped = serde_json::to_value(wrap(parsed)).map_err(|e| e.to_string())?;
        if wrapped != via_enum {
            return Err(format!("struct and enum disagree: {wrapped} vs {via_enum}"));
        }
        Ok(via_enum)
    })
}

/// A request (`*Request`): checks the method and round-trips the params through `P`.
fn request<P: DeserializeOwned + Serialize + 'static>(method: &'static str) -> Checker {
    Box::new(move |value| {
        expect_method(value, method)?;
        let mut out = object(value)?.clone();
        if let Some(params) = value.get("params") {
            out.insert("params".to_owned(), rt::<P>(params)?);
        }
        Ok(Value::Object(out))
    })
}

/// A server→client request that is also an [`InputRequest`] in the modern era: as
/// [`request`], and the message without `jsonrpc`/`id` round-trips through `InputRequest`.
fn input_request<P: DeserializeOwned + Serialize + 'static>(method: &'static str) -> Checker {
    let plain_request = request::<P>(method);
    Box::new(move |value| {
        let out = plain_request(value)?;
        let mut bare = object(value)?.clone();
        bare.remove("jsonrpc");
        bare.remove("id");
        let bare = Value::Object(bare);
        let parsed: InputRequest = serde_json::from_value(bare.clone())
            .map_err(|e| format!("not an InputRequest: {e}"))?;
        if parsed.method() != method {
            return Err(format!("InputRequest::method() is {}", parsed.method()));
        }
        let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if again != bare {
            return Err(format!("InputRequest round trip changed it: {again}"));
        }
        Ok(out)
    })
}

/// A server notification: params through `P`, the whole message through
/// [`ServerNotification`].
fn notification<P: DeserializeOwned + Serialize + 'static>(method: &'static str) -> Checker {
    let plain_request = request::<P>(method);
    Box::new(move |value| {
        let out = plain_request(value)?;
        let mut bare = object(value)?.clone();
        bare.remove("jsonrpc");
        let bare = Value::Object(bare);
        let parsed: ServerNotification = serde_json::from_value(bare.clone())
            .map_err(|e| format!("not a ServerNotification: {e}"))?;
        if parsed.method() != method {
            return Err(format!(
                "ServerNotification::method() is {}",
                parsed.method()
            ));
        }
        let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if again != bare {
            return Err(format!("ServerNotification round trip changed it: {again}"));
        }
        Ok(out)
    })
}

/// A JSON-RPC response (`*ResultResponse`): the result through `R`, or through
/// [`InputRequiredResult`] when `resultType` says so.
fn response<R: DeserializeOwned + Serialize + 'static>() -> Checker {
    Box::new(|value| {
        if value.get("jsonrpc") != Some(&json!("2.0")) || value.get("id").is_none() {
            return Err("not a JSON-RPC response".to_owned());
        }
        let result = value.get("result").ok_or("no result")?;
        let result = if result.get("resultType") == Some(&json!("input_required")) {
            rt::<InputRequiredResult>(result)?
        } else {
            rt::<R>(result)?
        };
        let mut out = object(value)?.clone();
        out.insert("result".to_owned(), result);
        Ok(Value::Object(out))
    })
}

/// A JSON-RPC error object with typed `data`.
#[derive(Serialize, Deserialize)]
struct ErrorObject<D> {
    code: i32,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<D>,
}

/// An error: a bare error object, or a whole error response; the error object goes through
/// [`ErrorObject<D>`] and its code must be `code`.
fn error<D: DeserializeOwned + Serialize + 'static>(code: i32) -> Checker {
    Box::new(move |value| {
        let (envelope, error) = match value.get("error") {
            Some(error) => (true, error),
            None => (false, value),
        };
        let parsed: ErrorObject<D> = serde_json::from_value(error.clone()).map_err(|e| {
            format!(
                "not an error object with {}: {e}",
                std::any::type_name::<D>()
            )
        })?;
        if parsed.code != code {
            return Err(format!("code is {}, expected {code}", parsed.code));
        }
        let error = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if !envelope {
            return Ok(error);
        }
        let mut out = object(value)?.clone();
        out.insert("error".to_owned(), error);
        Ok(Value::Object(out))
    })
}

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

// ---------------------------------------------------------------------------------------------
// Schema validation of what the server writes
// ---------------------------------------------------------------------------------------------

fn obj(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

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

fn icon() -> Icon {
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

fn server_info() -> Implementation {
    Implementation {
        title: Some("Example Server".to_owned()),
        description: Some("An example".to_owned()),
        icons: Some(vec![icon()]),
        website_url: Some("https://example.com".to_owned()),
        ..Implementation::new("example-server", "1.2.3")
    }
}

fn full_capabilities() -> ServerCapabilities {
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

fn full_tool() -> Tool {
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

fn resource() -> Resource {
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

fn every_content_kind() -> Vec<ContentBlock> {
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

fn task() -> Task {
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

fn form_elicitation() -> ElicitRequestParams {
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

fn url_elicitation() -> ElicitRequestParams {
    ElicitRequestURLParams {
        elicitation_id: Some("elicit-1".to_owned()),
        ..ElicitRequestURLParams::new("Set your API key", "https://example.com/key")
    }
    .into()
}

fn sampling_request_basic() -> CreateMessageRequestParams {
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

fn sampling_request_with_tools() -> CreateMessageRequestParams {
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
