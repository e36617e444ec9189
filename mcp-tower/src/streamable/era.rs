//! Which era and version a POST is handled under, decided per request from the headers and
//! the message (both eras share one endpoint).

use std::borrow::Cow;

use http::{HeaderMap, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, Message, codes};
use mcp_core::{Era, ProtocolVersion};
use serde::Deserialize;

pub(crate) const VERSION_HEADER: &str = "mcp-protocol-version";
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// A refusal: the HTTP status and the JSON-RPC error.
pub(crate) type Refusal = (StatusCode, ErrorObject);

/// What the transport reads from a request's params before the router sees them: the version
/// and capabilities (era), and the target the routing headers must repeat. One parse serves
/// [`classify`] and the routing-header check.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Peek<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaVersion<'a>>,
    #[serde(rename = "protocolVersion", borrow, default)]
    initialize_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) task_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MetaVersion<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    capabilities: Option<serde::de::IgnoredAny>,
}

impl<'a> Peek<'a> {
    /// Reads the params of `message`. Params that name no protocol version (most legacy
    /// requests) are not parsed at all: a substring search is far cheaper, and the names only
    /// matter to the modern era, which always names its version.
    pub(crate) fn of(message: &'a Message) -> Peek<'a> {
        match message.params().map(serde_json::value::RawValue::get) {
            Some(params) if params.contains("otocolVersion") => {
                serde_json::from_str(params).unwrap_or_default()
            }
            _ => Peek::default(),
        }
    }

    fn meta_version(&self) -> Option<&str> {
        self.meta.as_ref()?.version.as_deref()
    }

    fn has_capabilities(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.capabilities.is_some())
    }
}

pub(crate) fn unsupported(requested: &str) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::new(
            codes::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version: {requested}"),
        )
        .with_data(serde_json::json!({
            "requested": requested,
            "supported": ProtocolVersion::supported_strings(None),
        })),
    )
}

fn bad_request(message: impl Into<Cow<'static, str>>) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::invalid_request(message),
    )
}

/// Decides the version of a POSTed message.
///
/// Legacy when the request belongs to a session, is a plain `initialize`, or carries a legacy
/// `MCP-Protocol-Version` and no `_meta`; modern when it carries `_meta` or a non-legacy
/// header (then `_meta` and the header must agree); otherwise legacy with 2025-03-26.
pub(crate) fn classify(
    headers: &HeaderMap,
    message: &Message,
    declared: &Peek<'_>,
    has_session: bool,
) -> Result<ProtocolVersion, Refusal> {
    let header = match headers.get(VERSION_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| bad_request("Bad Request: MCP-Protocol-Version is not ASCII"))?,
        ),
    };
    let header_version = header.and_then(ProtocolVersion::parse);
    if let Message::Batch(_) | Message::Response(_) = message {
        return match (header, header_version) {
            (None, _) => Ok(ProtocolVersion::DEFAULT_HTTP),
            (Some(_), Some(version)) => Ok(version),
            (Some(requested), None) => Err(unsupported(requested)),
        };
    }
    let legacy_header = |header: Option<&str>| match (header, header_version) {
        (None, _) => Ok(ProtocolVersion::DEFAULT_HTTP),
        (Some(_), Some(version)) => Ok(version),
        (Some(requested), None) => Err(unsupported(requested)),
    };
    if has_session {
        return legacy_header(header);
    }
    let header_is_legacy = header_version.is_some_and(|v| v.era() == Era::Legacy);
    let modern = declared.meta_version().is_some() || (header.is_some() && !header_is_legacy);
    if !modern {
        if message.method() == Some("initialize") {
            let requested = declared.initialize_version.as_deref().unwrap_or("");
            return Ok(ProtocolVersion::negotiate(requested));
        }
        return legacy_header(header);
    }
    // The modern era: `_meta` carries the version and capabilities, the header repeats it.
    let Some(meta_version) = declared.meta_version() else {
        return Err(invalid_meta(format!(
            "Invalid params: _meta[\"{META_VERSION}\"] is required"
        )));
    };
    if !declared.has_capabilities() {
        return Err(invalid_meta(
            "Invalid params: _meta[\"io.modelcontextprotocol/clientCapabilities\"] is required"
                .to_owned(),
        ));
    }
    if header != Some(meta_version) {
        return Err((
            StatusCode::BAD_REQUEST,
            ErrorObject::new(
                codes::HEADER_MISMATCH,
                format!(
                    "Header mismatch: MCP-Protocol-Version header value '{}' does not match body value '{meta_version}'",
                    header.unwrap_or("")
                ),
            ),
        ));
    }
    ProtocolVersion::parse(meta_version).ok_or_else(|| unsupported(meta_version))
}

fn invalid_meta(message: String) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::invalid_params(message),
    )
}
