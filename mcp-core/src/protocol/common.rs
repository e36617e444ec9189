//! Building blocks shared by every part of the protocol: `_meta`, cursors, progress tokens,
//! roles, annotations, icons, implementation info and the plain params/result shapes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::capabilities::ClientCapabilities;
use super::logging::LoggingLevel;
use super::modern::{ResultType, meta_keys};
use crate::jsonrpc::{Integer, StringOrInteger, StringOrIntegerVisitor, serialize_digits};

/// The contents of a `_meta` field: an open JSON object.
pub type Meta = Map<String, Value>;

/// An arbitrary JSON object (JSON Schemas, experimental capabilities, settings objects).
pub type JsonObject = Map<String, Value>;

/// An opaque pagination cursor.
pub type Cursor = String;

/// A progress token or any other id that is "a string or an integer" (request ids in params,
/// subscription ids). Integers have one form whatever their spelling, as
/// [`RequestId`](crate::jsonrpc::RequestId)'s do.
///
/// ```
/// use mcp_core::protocol::ProgressToken;
///
/// let token: ProgressToken = serde_json::from_str("7.0").unwrap();
/// assert_eq!(token, ProgressToken::Number(7));
/// let token: ProgressToken = serde_json::from_str("9223372036854775808").unwrap();
/// assert_eq!(serde_json::to_string(&token).unwrap(), "9223372036854775808");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProgressToken {
    /// An integer token that fits an `i64`.
    Number(i64),
    /// A string token.
    String(String),
    /// An integer token outside `i64`, of at most 40 digits: its decimal digits, with a
    /// leading `-` when negative and no leading zeros.
    BigNumber(String),
}

impl fmt::Display for ProgressToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgressToken::Number(n) => write!(f, "{n}"),
            ProgressToken::String(s) | ProgressToken::BigNumber(s) => f.write_str(s),
        }
    }
}

impl Serialize for ProgressToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ProgressToken::Number(n) => serializer.serialize_i64(*n),
            ProgressToken::String(s) => serializer.serialize_str(s),
            ProgressToken::BigNumber(digits) => serialize_digits(digits, serializer),
        }
    }
}

/// Through serde: exact to 64 bits, past that the nearest `f64`'s value (serde hands such
/// integers over as floats). The router reads `_meta.progressToken` from its text, exactly.
impl<'de> Deserialize<'de> for ProgressToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(deserializer.deserialize_any(StringOrIntegerVisitor)?.into())
    }
}

impl From<StringOrInteger> for ProgressToken {
    fn from(value: StringOrInteger) -> Self {
        match value {
            StringOrInteger::String(s) => ProgressToken::String(s.into()),
            StringOrInteger::Integer(Integer::Small(n)) => ProgressToken::Number(n),
            StringOrInteger::Integer(Integer::Big(digits)) => {
                ProgressToken::BigNumber(digits.into())
            }
        }
    }
}

impl From<i64> for ProgressToken {
    fn from(n: i64) -> Self {
        ProgressToken::Number(n)
    }
}

impl From<String> for ProgressToken {
    fn from(s: String) -> Self {
        ProgressToken::String(s)
    }
}

impl From<&str> for ProgressToken {
    fn from(s: &str) -> Self {
        ProgressToken::String(s.to_owned())
    }
}

/// The sender or recipient of messages and data in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The assistant (the model).
    Assistant,
}

/// Optional hints to the client about how an object is used or displayed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// Who the object is intended for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<Role>>,
    /// Importance from 0 (least) to 1 (most); written clamped into that range.
    #[serde(
        default,
        skip_serializing_if = "number::absent",
        serialize_with = "number::unit"
    )]
    pub priority: Option<f64>,
    /// ISO 8601 timestamp of the last modification (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// The theme an icon is designed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IconTheme {
    /// For a light background.
    Light,
    /// For a dark background.
    Dark,
}

/// An icon for display in a user interface (2025-11-25+).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// URI of the icon (`https:` or `data:`).
    pub src: String,
    /// MIME type of the icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Sizes such as `"48x48"` or `"any"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// The theme the icon is designed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<IconTheme>,
}

impl Icon {
    /// An icon at `src` with no further detail.
    pub fn new(src: impl Into<String>) -> Self {
        Self {
            src: src.into(),
            ..Self::default()
        }
    }
}

/// The `icons` mixin carried by tools, prompts, resources and implementations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Icons {
    /// The icons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
}

/// The name and version of an MCP client or server implementation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Human-readable display name (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Version string.
    pub version: String,
    /// Human-readable description (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icons (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Website of the implementation (2025-11-25+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
}

impl Implementation {
    /// An implementation with a name and a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            ..Self::default()
        }
    }
}

/// Params that carry nothing but `_meta` (`ping`, `server/discover`, `roots/list`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Params of the `*/list` requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginatedRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Where to continue listing from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// A result with no content (`ping`, `logging/setLevel`, `resources/subscribe`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Result type (2026-07-28; normally added by the server when writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
}

/// Typed accessors for the reserved keys of a request's `_meta`.
pub trait RequestMetaExt {
    /// `progressToken`: the caller wants progress notifications under this token.
    fn progress_token(&self) -> Option<ProgressToken>;
    /// `io.modelcontextprotocol/protocolVersion` (2026-07-28).
    fn protocol_version(&self) -> Option<&str>;
    /// `io.modelcontextprotocol/clientCapabilities` (2026-07-28).
    fn client_capabilities(&self) -> Option<ClientCapabilities>;
    /// `io.modelcontextprotocol/clientInfo` (2026-07-28).
    fn client_info(&self) -> Option<Implementation>;
    /// `io.modelcontextprotocol/logLevel` (2026-07-28).
    fn log_level(&self) -> Option<LoggingLevel>;
}

impl RequestMetaExt for Meta {
    fn progress_token(&self) -> Option<ProgressToken> {
        self.get(meta_keys::PROGRESS_TOKEN)
            .and_then(|v| ProgressToken::deserialize(v).ok())
    }

    fn protocol_version(&self) -> Option<&str> {
        self.get(meta_keys::PROTOCOL_VERSION)
            .and_then(Value::as_str)
    }

    fn client_capabilities(&self) -> Option<ClientCapabilities> {
        self.get(meta_keys::CLIENT_CAPABILITIES)
            .and_then(|v| ClientCapabilities::deserialize(v).ok())
    }

    fn client_info(&self) -> Option<Implementation> {
        self.get(meta_keys::CLIENT_INFO)
            .and_then(|v| Implementation::deserialize(v).ok())
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        self.get(meta_keys::LOG_LEVEL)
            .and_then(|v| LoggingLevel::deserialize(v).ok())
    }
}

impl<T: RequestMetaExt> RequestMetaExt for Option<T> {
    fn progress_token(&self) -> Option<ProgressToken> {
        self.as_ref().and_then(RequestMetaExt::progress_token)
    }

    fn protocol_version(&self) -> Option<&str> {
        self.as_ref().and_then(RequestMetaExt::protocol_version)
    }

    fn client_capabilities(&self) -> Option<ClientCapabilities> {
        self.as_ref().and_then(RequestMetaExt::client_capabilities)
    }

    fn client_info(&self) -> Option<Implementation> {
        self.as_ref().and_then(RequestMetaExt::client_info)
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        self.as_ref().and_then(RequestMetaExt::log_level)
    }
}

/// Serialises `f64` values that hold an integer as JSON integers (`50`, not `50.0`), so that
/// numbers received as integers are written back unchanged.
pub(crate) mod number {
    use serde::Serializer;

    /// The largest magnitude below which every integer is exact in an `f64` (2^53).
    const EXACT: f64 = 9_007_199_254_740_992.0;

    /// Serialise one number.
    pub(crate) fn one<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.fract() == 0.0 && value.abs() < EXACT {
            serializer.serialize_i64(*value as i64)
        } else {
            serializer.serialize_f64(*value)
        }
    }

    /// Whether an optional number is left out: absent, or not finite. JSON has no NaN or
    /// infinity (serde_json would write `null`, which no schema accepts where a number goes).
    pub(crate) fn absent(value: &Option<f64>) -> bool {
        !value.is_some_and(f64::is_finite)
    }

    /// Serialise an optional number that the schemas bound to 0..=1 (priorities), clamped into
    /// that range rather than sent invalid. Used with `skip_serializing_if = "absent"`.
    pub(crate) fn unit<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        opt(&value.map(|v| v.clamp(0.0, 1.0)), serializer)
    }

    /// Serialise an optional number (used with `skip_serializing_if = "absent"`).
    pub(crate) fn opt<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => one(v, serializer),
            None => serializer.serialize_none(),
        }
    }
}
