//! The params the router reads, borrowed from the raw request where possible.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::context::SharedCapabilities;
use crate::jsonrpc::ErrorObject;
use crate::protocol::{ClientCapabilities, LoggingLevel, ProgressToken};

/// The `_meta` fields of a request that the router uses.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct RequestMeta {
    #[serde(rename = "progressToken", default)]
    pub(crate) progress_token: Option<ProgressToken>,
    /// As the handler context keeps them: empty ones shared, declared ones behind an `Arc`
    /// (they are large, ~330 bytes, and params structs move around).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        deserialize_with = "shared_capabilities"
    )]
    pub(crate) client_capabilities: Option<SharedCapabilities>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    pub(crate) log_level: Option<LoggingLevel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallToolParams<'a> {
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
    /// Always an object when present (the schema of `CallToolRequest` says so); kept raw so
    /// a typed handler deserialises it straight from the request.
    #[serde(borrow, default, deserialize_with = "raw_object")]
    pub(crate) arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", default)]
    pub(crate) meta: Option<RequestMeta>,
    #[serde(default)]
    pub(crate) input_responses: Option<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    pub(crate) request_state: Option<String>,
    #[serde(default)]
    pub(crate) task: Option<super::tasks::TaskParams>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ListParams<'a> {
    #[serde(borrow, default)]
    pub(crate) cursor: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadParams<'a> {
    #[serde(borrow)]
    pub(crate) uri: Cow<'a, str>,
    #[serde(rename = "_meta", default)]
    pub(crate) meta: Option<RequestMeta>,
    #[serde(default)]
    pub(crate) input_responses: Option<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    pub(crate) request_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetPromptParams<'a> {
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
    #[serde(default)]
    pub(crate) arguments: Option<BTreeMap<String, String>>,
    #[serde(rename = "_meta", default)]
    pub(crate) meta: Option<RequestMeta>,
    #[serde(default)]
    pub(crate) input_responses: Option<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    pub(crate) request_state: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct UriParams {
    pub(crate) uri: String,
}

#[derive(Deserialize)]
pub(crate) struct SetLevelParams {
    pub(crate) level: LoggingLevel,
}

#[derive(Deserialize)]
pub(crate) struct CompleteParams {
    #[serde(rename = "ref")]
    pub(crate) reference: CompleteReference,
    pub(crate) argument: CompleteArgument,
    #[serde(default)]
    pub(crate) context: Option<CompleteContext>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
pub(crate) enum CompleteReference {
    #[serde(rename = "ref/prompt")]
    Prompt { name: String },
    #[serde(rename = "ref/resource")]
    Resource { uri: String },
}

#[derive(Deserialize)]
pub(crate) struct CompleteArgument {
    pub(crate) name: String,
    pub(crate) value: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct CompleteContext {
    #[serde(default)]
    pub(crate) arguments: BTreeMap<String, String>,
}

/// Deserialises the capabilities straight into their `Arc` (one allocation, where serde's own
/// `Arc` support goes through a `Box`), and empty ones (`{}`, what most clients declare) into
/// no allocation at all. `params` borrow from the request, so the raw value is a borrow.
fn shared_capabilities<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SharedCapabilities>, D::Error> {
    // Raw first: `{}` then costs a comparison, not a pass of the struct's visitor.
    let raw = <&'de RawValue>::deserialize(deserializer)?;
    match raw.get() {
        "{}" => Ok(Some(SharedCapabilities::Empty)),
        "null" => Ok(None),
        text => serde_json::from_str::<ClientCapabilities>(text)
            .map(|c| Some(SharedCapabilities::new(c)))
            .map_err(serde::de::Error::custom),
    }
}

/// Reads an optional JSON object, raw (`null` is `None`); anything else is an error.
fn raw_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    let raw = <&'de RawValue>::deserialize(deserializer)?;
    match raw.get().as_bytes().first() {
        Some(b'{') => Ok(Some(raw)),
        _ if raw.get() == "null" => Ok(None),
        _ => Err(serde::de::Error::invalid_type(
            serde::de::Unexpected::Other("a non-object"),
            &"a JSON object",
        )),
    }
}

/// The arguments of a call that sent none.
pub(crate) fn empty_object<'a>() -> &'a RawValue {
    serde_json::from_str("{}").expect("`{}` is JSON")
}

/// Parses required params; a missing or malformed object is -32602.
pub(crate) fn required<'a, T: Deserialize<'a>>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    let Some(params) = params else {
        return Err(ErrorObject::invalid_params(format!(
            "Invalid params for {method}: params are required"
        )));
    };
    // Serde would read a struct from an array by position; MCP params are always objects.
    if !params.get().trim_start().starts_with('{') {
        return Err(ErrorObject::invalid_params(format!(
            "Invalid params for {method}: params must be an object"
        )));
    }
    serde_json::from_str(params.get())
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params for {method}: {e}")))
}

/// Parses optional params (absent means defaults).
pub(crate) fn optional<'a, T: Deserialize<'a> + Default>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    match params {
        None => Ok(T::default()),
        Some(params) => required(method, Some(params)),
    }
}

/// Parses owned params.
pub(crate) fn owned<T: DeserializeOwned>(
    method: &str,
    params: Option<&RawValue>,
) -> Result<T, ErrorObject> {
    required(method, params)
}
