//! Tools: definitions, `tools/list` and `tools/call`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Cursor, Icon, JsonObject, Meta};
use super::content::ContentBlock;
use super::modern::{CacheScope, InputResponses, ResultType};
use super::tasks::TaskMetadata;

/// A tool the client can call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Programmatic name.
    pub name: String,
    /// Human-readable display name (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (an object schema with `"type": "object"`), passed
    /// through untouched.
    pub input_schema: Value,
    /// JSON Schema of `structuredContent` (2025-06-18+; up to 2025-11-25 it must be an
    /// object schema with `"type": "object"`: the router lists any other to those clients
    /// without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Execution properties (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ToolExecution>,
    /// Icons (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Tool {
    /// A tool with a name and an input schema.
    pub fn new(name: impl Into<String>, input_schema: Value) -> Self {
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema,
            output_schema: None,
            annotations: None,
            execution: None,
            icons: None,
            meta: None,
        }
    }

    /// This definition as clients of 2025-11-25 and earlier must see it, when that differs.
    /// Their schemas take only an object `outputSchema` (`"type": "object"`, `properties` a
    /// map of schemas, `required` a list of names), where 2026-07-28 takes any schema: such a
    /// tool is listed to them without one, and its output reaches them as text.
    pub(crate) fn legacy_view(&self) -> Option<Tool> {
        let schema = self.output_schema.as_ref()?;
        (!is_object_schema(schema)).then(|| Tool {
            output_schema: None,
            ..self.clone()
        })
    }
}

/// Whether `schema` has the shape the legacy schemas require of an `outputSchema`.
fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("$schema").is_none_or(Value::is_string)
        && schema.get("properties").is_none_or(|properties| {
            properties
                .as_object()
                .is_some_and(|map| map.values().all(Value::is_object))
        })
        && schema.get("required").is_none_or(|required| {
            required
                .as_array()
                .is_some_and(|names| names.iter().all(Value::is_string))
        })
}

impl Default for Tool {
    /// An unnamed tool taking no arguments (`{"type": "object"}`).
    fn default() -> Self {
        Self::new(String::new(), serde_json::json!({ "type": "object" }))
    }
}

/// Hints about a tool's behaviour. Clients must not rely on them for security.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Human-readable title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling the tool again with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// Execution properties of a tool (2025-11-25).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecution {
    /// Whether the tool supports task-augmented execution (default: forbidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_support: Option<TaskSupport>,
}

/// Whether a tool supports task-augmented execution (2025-11-25).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSupport {
    /// The tool cannot run as a task.
    #[default]
    Forbidden,
    /// The tool may run as a task.
    Optional,
    /// The tool must run as a task.
    Required,
}

/// Params of `tools/call`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Name of the tool.
    pub name: String,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<JsonObject>,
    /// Run the call as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
    /// Answers to an earlier `input_required` result (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<InputResponses>,
    /// Opaque state echoed from an earlier `input_required` result (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

/// The result of `tools/call`. A tool failure is an `isError` result, not a protocol error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Unstructured content.
    pub content: Vec<ContentBlock>,
    /// Structured content (2025-06-18+; an object up to 2025-11-25, any JSON in 2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Result type (2026-07-28; normally added by the server when writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
}

impl CallToolResult {
    /// A successful result with the given content.
    pub fn new(content: Vec<ContentBlock>) -> Self {
        Self {
            content,
            ..Self::default()
        }
    }

    /// A successful result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(vec![ContentBlock::text(text)])
    }

    /// A failed result (`isError: true`) with the given content.
    pub fn error(content: Vec<ContentBlock>) -> Self {
        Self {
            is_error: Some(true),
            ..Self::new(content)
        }
    }

    /// A failed result (`isError: true`) with one text block.
    pub fn error_text(text: impl Into<String>) -> Self {
        Self::error(vec![ContentBlock::text(text)])
    }

    /// A successful result with structured content, mirrored as a JSON text block for
    /// clients that ignore `structuredContent`.
    pub fn structured(value: Value) -> Self {
        let text = value.to_string();
        Self {
            structured_content: Some(value),
            ..Self::text(text)
        }
    }

    /// Whether the result reports a tool failure.
    pub fn is_error(&self) -> bool {
        self.is_error == Some(true)
    }

    /// Makes the result one a client of `version` can read. Up to 2025-11-25
    /// `structuredContent` must be an object (such a client reads the content blocks), and
    /// 2025-03-26 has no resource links.
    pub(crate) fn make_readable_by(&mut self, version: crate::ProtocolVersion) {
        if version.is_modern() {
            return;
        }
        // 2025-03-26 has no structured output; 2025-06-18 and 2025-11-25 only objects.
        if !version.has_structured_output()
            || self
                .structured_content
                .as_ref()
                .is_some_and(|v| !v.is_object())
        {
            self.structured_content = None;
        }
        for block in &mut self.content {
            block.make_readable_by(version);
        }
    }
}

/// The result of `tools/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The tools.
    pub tools: Vec<Tool>,
    /// Cursor of the next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Cursor>,
    /// Result type (2026-07-28; normally added by the server when writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Cache lifetime hint in milliseconds (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Cache scope hint (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
}

impl ListToolsResult {
    /// One page of tools.
    pub fn new(tools: Vec<Tool>, next_cursor: Option<Cursor>) -> Self {
        Self {
            tools,
            next_cursor,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Tool;

    fn with_output(schema: serde_json::Value) -> Tool {
        Tool {
            output_schema: Some(schema),
            ..Tool::new("t", json!({"type": "object"}))
        }
    }

    #[test]
    fn object_output_schemas_are_listed_to_legacy_clients_as_they_are() {
        for schema in [
            json!({"type": "object"}),
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"sum": {"type": "number"}}, "required": ["sum"]}),
        ] {
            assert_eq!(with_output(schema.clone()).legacy_view(), None, "{schema}");
        }
        assert_eq!(
            Tool::new("t", json!({"type": "object"})).legacy_view(),
            None
        );
    }

    #[test]
    fn other_output_schemas_are_left_out_for_legacy_clients() {
        for schema in [
            json!({"type": "array", "items": {"type": "integer"}}),
            json!({"type": ["object", "null"]}),
            json!({"oneOf": [{"type": "object"}]}),
            json!({"type": "object", "properties": {"sum": true}}),
            json!({"type": "object", "required": "sum"}),
            json!({"type": "object", "$schema": 7}),
            json!(true),
        ] {
            let legacy = with_output(schema.clone())
                .legacy_view()
                .expect("a legacy view");
            assert_eq!(legacy.output_schema, None, "{schema}");
            assert_eq!(legacy.name, "t");
        }
    }
}
