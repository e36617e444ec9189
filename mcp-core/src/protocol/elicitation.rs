//! Elicitation: `elicitation/create`, the server asking the user for input through the client
//! (form mode 2025-06-18+, URL mode 2025-11-25+), and the restricted JSON Schemas of forms.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{JsonObject, Meta};
use super::tasks::TaskMetadata;

/// The JSON-RPC error code telling the client a URL elicitation must complete first
/// (2025-11-25).
pub const URL_ELICITATION_REQUIRED: i32 = -32042;

/// The `mode` of an elicitation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitationMode {
    /// In-band structured input.
    Form,
    /// Out-of-band interaction at a URL.
    Url,
}

/// Params of `elicitation/create`: form or URL mode, told apart by `"mode"` (absent means
/// form).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ElicitRequestParams {
    /// Form mode.
    Form(ElicitRequestFormParams),
    /// URL mode (2025-11-25+).
    Url(ElicitRequestURLParams),
}

impl ElicitRequestParams {
    /// The mode of the request.
    pub fn mode(&self) -> ElicitationMode {
        match self {
            ElicitRequestParams::Form(_) => ElicitationMode::Form,
            ElicitRequestParams::Url(_) => ElicitationMode::Url,
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        match self {
            ElicitRequestParams::Form(p) => &p.message,
            ElicitRequestParams::Url(p) => &p.message,
        }
    }
}

impl<'de> Deserialize<'de> for ElicitRequestParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match value.get("mode").map(|m| m.as_str()) {
            None | Some(Some("form")) => ElicitRequestFormParams::deserialize(value)
                .map(ElicitRequestParams::Form)
                .map_err(de::Error::custom),
            Some(Some("url")) => ElicitRequestURLParams::deserialize(value)
                .map(ElicitRequestParams::Url)
                .map_err(de::Error::custom),
            Some(Some(other)) => Err(de::Error::unknown_variant(other, &["form", "url"])),
            Some(None) => Err(de::Error::custom("elicitation `mode` must be a string")),
        }
    }
}

impl From<ElicitRequestFormParams> for ElicitRequestParams {
    fn from(params: ElicitRequestFormParams) -> Self {
        ElicitRequestParams::Form(params)
    }
}

impl From<ElicitRequestURLParams> for ElicitRequestParams {
    fn from(params: ElicitRequestURLParams) -> Self {
        ElicitRequestParams::Url(params)
    }
}

/// Params of a form-mode elicitation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitRequestFormParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `"form"`; may be omitted (2025-06-18 has no `mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ElicitationMode>,
    /// The message shown to the user.
    pub message: String,
    /// A restricted JSON Schema: an object of flat primitive properties
    /// (see [`PrimitiveSchemaDefinition`]).
    pub requested_schema: JsonObject,
    /// Run the request as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
}

impl ElicitRequestFormParams {
    /// A form request (with `"mode": "form"`).
    pub fn new(message: impl Into<String>, requested_schema: JsonObject) -> Self {
        Self {
            mode: Some(ElicitationMode::Form),
            message: message.into(),
            requested_schema,
            ..Self::default()
        }
    }
}

/// Params of a URL-mode elicitation (2025-11-25+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitRequestURLParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Always `"url"`.
    pub mode: ElicitationMode,
    /// The message shown to the user.
    pub message: String,
    /// The URL the user should open.
    pub url: String,
    /// Identifier of the elicitation (required in 2025-11-25, absent in 2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
    /// Run the request as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
}

impl ElicitRequestURLParams {
    /// A URL request.
    pub fn new(message: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            meta: None,
            mode: ElicitationMode::Url,
            message: message.into(),
            url: url.into(),
            elicitation_id: None,
            task: None,
        }
    }
}

/// What the user did with an elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// Submitted (form: `content` holds the data).
    Accept,
    /// Explicitly declined.
    Decline,
    /// Dismissed without choosing.
    Cancel,
}

/// The client's answer to `elicitation/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElicitResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// What the user did.
    pub action: ElicitAction,
    /// The submitted data (form mode, `accept` only): strings, integers, booleans or string
    /// arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<JsonObject>,
}

/// Params of `notifications/elicitation/complete` (2025-11-25).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitationCompleteNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The completed elicitation.
    pub elicitation_id: String,
}

/// The `data` of a [`URL_ELICITATION_REQUIRED`] error (2025-11-25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct URLElicitationRequiredErrorData {
    /// The URL elicitations that must complete first.
    pub elicitations: Vec<ElicitRequestURLParams>,
}

/// The `type` keyword of a primitive schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonSchemaType {
    /// `"string"`.
    String,
    /// `"number"`.
    Number,
    /// `"integer"`.
    Integer,
    /// `"boolean"`.
    Boolean,
    /// `"array"`.
    Array,
    /// `"object"`.
    Object,
}

/// Formats a [`StringSchema`] may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    /// `"email"`.
    Email,
    /// `"uri"`.
    Uri,
    /// `"date"`.
    Date,
    /// `"date-time"`.
    DateTime,
}

/// A string field of an elicitation form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StringSchema {
    /// Always `"string"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Maximum length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Required format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    /// Default value (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl StringSchema {
    /// A plain string field.
    pub fn new() -> Self {
        Self {
            r#type: JsonSchemaType::String,
            title: None,
            description: None,
            min_length: None,
            max_length: None,
            format: None,
            default: None,
        }
    }
}

impl Default for StringSchema {
    fn default() -> Self {
        Self::new()
    }
}

/// A number or integer field of an elicitation form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberSchema {
    /// `"number"` or `"integer"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum value.
    #[serde(
        default,
        skip_serializing_if = "super::common::number::absent",
        serialize_with = "super::common::number::opt"
    )]
    pub minimum: Option<f64>,
    /// Maximum value.
    #[serde(
        default,
        skip_serializing_if = "super::common::number::absent",
        serialize_with = "super::common::number::opt"
    )]
    pub maximum: Option<f64>,
    /// Default value (2025-11-25+).
    #[serde(
        default,
        skip_serializing_if = "super::common::number::absent",
        serialize_with = "super::common::number::opt"
    )]
    pub default: Option<f64>,
}

impl NumberSchema {
    /// A number field.
    pub fn number() -> Self {
        Self::of(JsonSchemaType::Number)
    }

    /// An integer field.
    pub fn integer() -> Self {
        Self::of(JsonSchemaType::Integer)
    }

    fn of(r#type: JsonSchemaType) -> Self {
        Self {
            r#type,
            title: None,
            description: None,
            minimum: None,
            maximum: None,
            default: None,
        }
    }
}

/// A boolean field of an elicitation form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BooleanSchema {
    /// Always `"boolean"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

impl BooleanSchema {
    /// A boolean field.
    pub fn new() -> Self {
        Self {
            r#type: JsonSchemaType::Boolean,
            title: None,
            description: None,
            default: None,
        }
    }
}

impl Default for BooleanSchema {
    fn default() -> Self {
        Self::new()
    }
}

/// A single choice among plain values (2025-11-25+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntitledSingleSelectEnumSchema {
    /// Always `"string"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values.
    pub r#enum: Vec<String>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A value with a display title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TitledEnumOption {
    /// The value.
    pub r#const: String,
    /// The label.
    pub title: String,
}

/// A single choice among titled values (2025-11-25+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitledSingleSelectEnumSchema {
    /// Always `"string"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The options.
    pub one_of: Vec<TitledEnumOption>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// The `items` of an [`UntitledMultiSelectEnumSchema`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntitledEnumItems {
    /// Always `"string"`.
    pub r#type: JsonSchemaType,
    /// The values.
    pub r#enum: Vec<String>,
}

/// The `items` of a [`TitledMultiSelectEnumSchema`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitledEnumItems {
    /// The options.
    pub any_of: Vec<TitledEnumOption>,
}

/// Several choices among plain values (2025-11-25+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntitledMultiSelectEnumSchema {
    /// Always `"array"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Maximum number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The values.
    pub items: UntitledEnumItems,
    /// Default choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

/// Several choices among titled values (2025-11-25+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitledMultiSelectEnumSchema {
    /// Always `"array"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Maximum number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The options.
    pub items: TitledEnumItems,
    /// Default choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

/// A single choice with separate display names (`EnumSchema` in 2025-06-18; deprecated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyTitledEnumSchema {
    /// Always `"string"`.
    pub r#type: JsonSchemaType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values.
    pub r#enum: Vec<String>,
    /// Display names, parallel to `enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_names: Option<Vec<String>>,
    /// Default value (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One property of an elicitation form's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PrimitiveSchemaDefinition {
    /// A string.
    String(StringSchema),
    /// A number or an integer.
    Number(NumberSchema),
    /// A boolean.
    Boolean(BooleanSchema),
    /// One of plain values.
    UntitledSingleSelectEnum(UntitledSingleSelectEnumSchema),
    /// One of titled values.
    TitledSingleSelectEnum(TitledSingleSelectEnumSchema),
    /// Several of plain values.
    UntitledMultiSelectEnum(UntitledMultiSelectEnumSchema),
    /// Several of titled values.
    TitledMultiSelectEnum(TitledMultiSelectEnumSchema),
    /// One of values with `enumNames`.
    LegacyTitledEnum(LegacyTitledEnumSchema),
}

impl<'de> Deserialize<'de> for PrimitiveSchemaDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use PrimitiveSchemaDefinition as P;
        let value = Value::deserialize(deserializer)?;
        let has = |key: &str| value.get(key).is_some();
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let parsed =
            match kind {
                "boolean" => BooleanSchema::deserialize(value).map(P::Boolean),
                "number" | "integer" => NumberSchema::deserialize(value).map(P::Number),
                "array" if value.get("items").is_some_and(|i| i.get("anyOf").is_some()) => {
                    TitledMultiSelectEnumSchema::deserialize(value).map(P::TitledMultiSelectEnum)
                }
                "array" => UntitledMultiSelectEnumSchema::deserialize(value)
                    .map(P::UntitledMultiSelectEnum),
                "string" if has("oneOf") => {
                    TitledSingleSelectEnumSchema::deserialize(value).map(P::TitledSingleSelectEnum)
                }
                "string" if has("enum") && has("enumNames") => {
                    LegacyTitledEnumSchema::deserialize(value).map(P::LegacyTitledEnum)
                }
                "string" if has("enum") => UntitledSingleSelectEnumSchema::deserialize(value)
                    .map(P::UntitledSingleSelectEnum),
                "string" => StringSchema::deserialize(value).map(P::String),
                other => {
                    return Err(de::Error::unknown_variant(
                        other,
                        &["string", "number", "integer", "boolean", "array"],
                    ));
                }
            };
        parsed.map_err(de::Error::custom)
    }
}
