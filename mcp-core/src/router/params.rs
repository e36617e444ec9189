//! The params the router reads, borrowed from the raw request where possible.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::objects;
use crate::context::SharedCapabilities;
use crate::jsonrpc::{ErrorObject, Member, Outline, Params};
use crate::protocol::{ClientCapabilities, LoggingLevel, ProgressToken};

/// The `_meta` fields of a request that the router uses.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct RequestMeta {
    #[serde(rename = "progressToken", default, deserialize_with = "progress_token")]
    pub(crate) progress_token: Option<ProgressToken>,
    /// As the handler context keeps them: empty ones shared, declared ones behind an `Arc`
    /// (they are large, ~330 bytes, and params structs move around).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        deserialize_with = "shared_capabilities"
    )]
    pub(crate) client_capabilities: Option<SharedCapabilities>,
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        deserialize_with = "log_level"
    )]
    pub(crate) log_level: Option<LoggingLevel>,
}

/// `progressToken`, read from its text: exact past 64 bits, where serde would give the
/// nearest `f64` and the progress notifications would name another token.
fn exact_progress_token(raw: &str) -> Option<Option<ProgressToken>> {
    if raw == "null" {
        return Some(None);
    }
    crate::jsonrpc::integer::string_or_integer(raw).map(|token| Some(token.into()))
}

/// [`exact_progress_token`] for serde.
fn progress_token<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ProgressToken>, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    exact_progress_token(raw.get()).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid value: {}, expected a string or an integer of at most 40 digits",
            crate::jsonrpc::prefix_within(raw.get(), 64)
        ))
    })
}

/// A log level's name; anything else (`null` too: the schema types the member a
/// `LoggingLevel`) is refused with the names, where serde would say "expected value".
struct Level(LoggingLevel);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Level;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a log level: debug, info, notice, warning, error, critical, alert or \
                     emergency",
                )
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Level, E> {
                LoggingLevel::ALL
                    .into_iter()
                    .find(|level| level.as_str() == name)
                    .map(Level)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(name), &self))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// A present `io.modelcontextprotocol/logLevel` (see [`Level`]).
fn log_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<LoggingLevel>, D::Error> {
    Level::deserialize(deserializer).map(|level| Some(level.0))
}

/// `level` of `logging/setLevel` (see [`Level`]).
fn set_level<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<LoggingLevel, D::Error> {
    Level::deserialize(deserializer).map(|level| level.0)
}

impl RequestMeta {
    /// The `_meta` of params read from their [`Outline`]: the modern era's keys are long,
    /// and the transport scanned them already. Each kept value is parsed alone. `None` (then
    /// serde reads the params) when a kept value does not parse or `_meta` is neither an
    /// object nor `null`; the caller checked for repeats.
    fn from_outline(outline: &Outline<'_>) -> Option<Option<Self>> {
        match outline.raw(Member::Meta) {
            None | Some("null") => return Some(None),
            Some(raw) if raw.starts_with('{') => {}
            Some(_) => return None,
        }
        let mut meta = RequestMeta::default();
        if let Some(raw) = outline.raw(Member::MetaProgressToken) {
            meta.progress_token = exact_progress_token(raw)?;
        }
        if let Some(raw) = outline.raw(Member::MetaClientCapabilities) {
            meta.client_capabilities = capabilities_of(raw).ok()?;
        }
        if let Some(raw) = outline.raw(Member::MetaLogLevel) {
            meta.log_level = Some(serde_json::from_str::<Level>(raw).ok()?.0);
        }
        Some(Some(meta))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallToolParams<'a> {
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
    /// Always an object when present (the schema of `CallToolRequest` says so); kept as
    /// text so a typed handler deserialises it straight from the request.
    #[serde(borrow, default, deserialize_with = "raw_object")]
    pub(crate) arguments: Option<&'a str>,
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    pub(crate) meta: Option<RequestMeta>,
    #[serde(default)]
    pub(crate) input_responses: Option<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    pub(crate) request_state: Option<String>,
    #[serde(default, deserialize_with = "objects::task")]
    pub(crate) task: Option<super::tasks::TaskParams>,
}

impl<'a> CallToolParams<'a> {
    /// Reads `tools/call` params. The usual shape (`name` without escapes, `arguments`,
    /// `_meta`, each at most once) is taken from the params' [`Outline`]: `params` was
    /// validated as JSON when the message was parsed, and the transport has usually outlined
    /// them already. A serde pass over the whole object validated it again, `arguments`
    /// included, which then a typed handler parses a third time. Anything else (other members,
    /// escapes, wrong types) goes through serde, which also words the errors.
    pub(crate) fn read(params: Option<&'a Params>) -> Result<Self, ErrorObject> {
        match params.and_then(Self::from_outline) {
            Some(params) => Ok(params),
            None => required("tools/call", params.map(|p| p.raw())),
        }
    }

    fn from_outline(params: &'a Params) -> Option<Self> {
        let outline = params.last_outline()?;
        if outline.has_repeats()
            || !outline.has_only(&[Member::Name, Member::Arguments, Member::Meta])
        {
            return None;
        }
        let name = outline.plain_string(Member::Name)?;
        let arguments = match outline.raw(Member::Arguments) {
            None => None,
            Some(text) => object_or_null(text)?,
        };
        Some(Self {
            name: Cow::Borrowed(name),
            arguments,
            meta: RequestMeta::from_outline(&outline)?,
            input_responses: None,
            request_state: None,
            task: None,
        })
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListParams<'a> {
    #[serde(borrow, default)]
    pub(crate) cursor: Option<Cow<'a, str>>,
    /// Not read here, but an object when present, as in every request.
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    _meta: Option<serde::de::IgnoredAny>,
}

/// The params of a method that takes nothing else (`ping`): still an object when present, and
/// so is its `_meta`, as in every request.
#[derive(Deserialize, Default)]
pub(crate) struct MetaOnlyParams {
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    _meta: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadParams<'a> {
    #[serde(borrow)]
    pub(crate) uri: Cow<'a, str>,
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
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
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    pub(crate) meta: Option<RequestMeta>,
    #[serde(default)]
    pub(crate) input_responses: Option<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    pub(crate) request_state: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct UriParams {
    pub(crate) uri: String,
    /// Not read here, but an object when present, as in every request.
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    _meta: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
pub(crate) struct SetLevelParams {
    #[serde(deserialize_with = "set_level")]
    pub(crate) level: LoggingLevel,
    /// As in [`UriParams`].
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    _meta: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
pub(crate) struct CompleteParams {
    #[serde(rename = "ref", deserialize_with = "objects::reference")]
    pub(crate) reference: CompleteReference,
    #[serde(deserialize_with = "objects::argument")]
    pub(crate) argument: CompleteArgument,
    #[serde(default, deserialize_with = "objects::context")]
    pub(crate) context: Option<CompleteContext>,
    #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
    pub(crate) meta: Option<RequestMeta>,
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
    capabilities_of(raw.get()).map_err(serde::de::Error::custom)
}

/// Client capabilities from their text: `{}` shared, `null` none, anything else parsed.
fn capabilities_of(text: &str) -> serde_json::Result<Option<SharedCapabilities>> {
    match text {
        "{}" => Ok(Some(SharedCapabilities::Empty)),
        "null" => Ok(None),
        text => serde_json::from_str::<ClientCapabilities>(text)
            .map(|c| Some(SharedCapabilities::new(c))),
    }
}

/// Reads an optional JSON object as its text (`null` is `None`); anything else is an error.
fn raw_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de str>, D::Error> {
    let raw = <&'de RawValue>::deserialize(deserializer)?;
    object_or_null(raw.get()).ok_or_else(|| {
        serde::de::Error::invalid_type(
            serde::de::Unexpected::Other("a non-object"),
            &"a JSON object",
        )
    })
}

/// A JSON value's text as an optional object: `Some(Some(text))` for an object,
/// `Some(None)` for `null`, `None` for anything else.
fn object_or_null(text: &str) -> Option<Option<&str>> {
    match text.as_bytes().first() {
        Some(b'{') => Some(Some(text)),
        _ if text == "null" => Some(None),
        _ => None,
    }
}

/// The arguments of a call that sent none.
pub(crate) const EMPTY_OBJECT: &str = "{}";

/// A task's own copy of its arguments. The text comes from a parsed request, so it is JSON;
/// serde checks again anyway, once per task.
pub(crate) fn owned_arguments(arguments: &str) -> Result<Box<RawValue>, ErrorObject> {
    RawValue::from_string(arguments.to_owned()).map_err(|e| {
        ErrorObject::invalid_params(format!(
            "Invalid params for tools/call: {}",
            crate::jsonrpc::serde_message(&e)
        ))
    })
}

/// The 2026-07-28 request fields in `_meta` that every method must refuse when they do not
/// read (a log level that is not one, capabilities of the wrong shape): -32602, restated by
/// HTTP as 400 as for missing ones (2026-07-28, basic: per-request protocol fields). Methods
/// that run handlers read these with the rest of their `_meta` and call this only when that
/// failed, to tell which error it was; the others (discovery, lists, listen) call it first.
/// Only the fields present are parsed, capabilities only when not `{}`.
pub(crate) fn check_reserved_meta(
    method: &str,
    params: Option<&Params>,
) -> Result<(), ErrorObject> {
    let Some(params) = params else {
        return Ok(());
    };
    let malformed = |field: &str, error: serde_json::Error| {
        ErrorObject::invalid_params(format!(
            "Invalid params for {method}: _meta[\"io.modelcontextprotocol/{field}\"]: {error}"
        ))
        .with_http_refusal(crate::HttpRefusal::MalformedRequest)
    };
    let Some(outline) = params.last_outline() else {
        // Keys spelled with escapes (or params that are no object, which the handler
        // refuses): serde reads them.
        return reserved_meta_by_serde(method, params.raw());
    };
    if let Some(raw) = outline.raw(Member::MetaLogLevel) {
        serde_json::from_str::<Level>(raw).map_err(|e| malformed("logLevel", e))?;
    }
    if let Some(raw) = outline.raw(Member::MetaClientCapabilities) {
        capabilities_of(raw).map_err(|e| malformed("clientCapabilities", e))?;
    }
    Ok(())
}

/// [`check_reserved_meta`] for params without an outline.
#[cold]
fn reserved_meta_by_serde(method: &str, params: &RawValue) -> Result<(), ErrorObject> {
    #[derive(Deserialize)]
    struct WithMeta {
        #[serde(rename = "_meta", default, deserialize_with = "objects::meta")]
        _meta: Option<Reserved>,
    }
    #[derive(Deserialize)]
    struct Reserved {
        #[serde(
            rename = "io.modelcontextprotocol/logLevel",
            default,
            deserialize_with = "log_level"
        )]
        _level: Option<LoggingLevel>,
        #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
        _capabilities: Option<ClientCapabilities>,
    }
    required::<WithMeta>(method, Some(params))
        .map(drop)
        .map_err(|error| error.with_http_refusal(crate::HttpRefusal::MalformedRequest))
}

/// Parses required params; a missing or malformed object is -32602.
pub(crate) fn required<'a, T: Deserialize<'a>>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    crate::jsonrpc::parse_params(method, params)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reading of `tools/call` params comes to, comparable.
    fn summary(params: &CallToolParams<'_>) -> String {
        format!(
            "{} {:?} {:?} {:?} {:?} {:?}",
            params.name,
            params.arguments,
            params.meta,
            params
                .input_responses
                .as_ref()
                .map(|r| r.keys().collect::<Vec<_>>()),
            params.request_state,
            params.task,
        )
    }

    fn raw(text: &str) -> Params {
        RawValue::from_string(text.to_owned()).unwrap().into()
    }

    /// The `_meta` `text` as `tools/call` reads it from an outline.
    fn meta(text: &str) -> Option<Option<RequestMeta>> {
        let params = raw(&format!(r#"{{"_meta":{text}}}"#));
        let outline = params.outline()?;
        if outline.has_repeats() {
            return None;
        }
        RequestMeta::from_outline(&outline)
    }

    #[test]
    fn the_scan_reads_what_serde_reads() {
        let scanned = [
            r#"{"name":"add","arguments":{"a":2,"b":3}}"#,
            r#"{"arguments":{"a":[1,"]}"],"name":"x"},"name":"add"}"#,
            r#" { "name" : "add" , "arguments" : { } } "#,
            r#"{"name":"add"}"#,
            r#"{"name":"","arguments":null}"#,
            r#"{"name":"é✓","arguments":{"s":"a\"b\\"}}"#,
            r#"{"name":"add","arguments":{},"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}"#,
            r#"{"name":"add","_meta":null}"#,
        ];
        for text in scanned {
            let params = raw(text);
            let fast = CallToolParams::from_outline(&params).unwrap_or_else(|| panic!("{text}"));
            let serde: CallToolParams<'_> = required("tools/call", Some(params.raw())).unwrap();
            assert_eq!(summary(&fast), summary(&serde), "{text}");
        }
    }

    #[test]
    fn the_meta_scan_reads_what_serde_reads() {
        let scanned = [
            "null",
            "{}",
            r#"{"progressToken":"p-1","io.modelcontextprotocol/logLevel":"warning"}"#,
            r#"{"progressToken":null,"io.modelcontextprotocol/clientCapabilities":null}"#,
            r#"{"io.modelcontextprotocol/clientCapabilities":{"sampling":{}},"other":[{"x":"}"}]}"#,
            r#"{"io.modelcontextprotocol/clientCapabilities":{ },"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#,
            r#" { "progressToken" : -3 , "traceparent" : "00-ab" } "#,
            // Serde reads a struct from an array by position; so does the scan, through serde.
            r#"{"io.modelcontextprotocol/clientCapabilities":[]}"#,
        ];
        for text in scanned {
            let fast = meta(text).unwrap_or_else(|| panic!("{text}"));
            let serde: Option<RequestMeta> = serde_json::from_str(text).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{text}");
        }
        let left = [
            // Escaped or repeated keys, kept values of the wrong type, not an object.
            r#"{"progress\u0054oken":1}"#,
            r#"{"progressToken":1,"progressToken":2}"#,
            r#"{"progressToken":1.5}"#,
            r#"{"io.modelcontextprotocol/logLevel":"loud"}"#,
            r#"[]"#,
        ];
        for text in left {
            assert!(meta(text).is_none(), "{text}");
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        let left = [
            // Other members, escapes, duplicates, wrong types, not an object.
            r#"{"name":"add","task":{"ttl":1000}}"#,
            r#"{"name":"add","requestState":"s"}"#,
            r#"{"name":"add","inputResponses":{}}"#,
            r#"{"name":"add","extra":1}"#,
            r#"{"name":"a\u0064d"}"#,
            r#"{"n\u0061me":"add"}"#,
            r#"{"name":"add","name":"sub"}"#,
            r#"{"name":"add","_meta":{},"_meta":null}"#,
            r#"{"name":"add","_meta":{"progressToken":1,"progressToken":2}}"#,
            r#"{"name":5}"#,
            r#"{"name":"add","arguments":[1]}"#,
            r#"{"name":"add","arguments":"{}"}"#,
            r#"{"name":"add","_meta":{"progressToken":true}}"#,
            r#"{"arguments":{}}"#,
            r#"["add"]"#,
        ];
        for text in left {
            assert!(CallToolParams::from_outline(&raw(text)).is_none(), "{text}");
            // And `read` gives serde's answer, success or error.
            let params = raw(text);
            let read = CallToolParams::read(Some(&params)).map(|p| summary(&p));
            let serde = required::<CallToolParams<'_>>("tools/call", Some(params.raw()))
                .map(|p| summary(&p));
            assert_eq!(
                read.as_ref().map_err(|e| &e.message),
                serde.as_ref().map_err(|e| &e.message),
                "{text}"
            );
        }
        assert!(CallToolParams::read(None).is_err());
    }
}
