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

#[derive(Deserialize)]
struct ParamsMeta<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaVersion<'a>>,
    #[serde(rename = "protocolVersion", borrow, default)]
    initialize_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MetaVersion<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    capabilities: Option<serde::de::IgnoredAny>,
}

/// What the params say about the version.
struct Declared {
    has_capabilities: bool,
    meta_version: Option<String>,
    initialize_version: Option<String>,
}

fn declared(message: &Message) -> Declared {
    let none = Declared {
        has_capabilities: false,
        meta_version: None,
        initialize_version: None,
    };
    // Most requests name no version in their params: a substring search is far cheaper
    // than parsing them again.
    let Some(params) = message.params().map(serde_json::value::RawValue::get) else {
        return none;
    };
    if !params.contains("otocolVersion") {
        return none;
    }
    let parsed = serde_json::from_str::<ParamsMeta<'_>>(params).ok();
    match parsed {
        Some(params) => Declared {
            has_capabilities: params
                .meta
                .as_ref()
                .is_some_and(|m| m.capabilities.is_some()),
            meta_version: params.meta.and_then(|m| m.version).map(Cow::into_owned),
            initialize_version: params.initialize_version.map(Cow::into_owned),
        },
        None => Declared {
            has_capabilities: false,
            meta_version: None,
            initialize_version: None,
        },
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
    let declared = declared(message);
    let legacy_header = |header: Option<&str>| match (header, header_version) {
        (None, _) => Ok(ProtocolVersion::DEFAULT_HTTP),
        (Some(_), Some(version)) => Ok(version),
        (Some(requested), None) => Err(unsupported(requested)),
    };
    if has_session {
        return legacy_header(header);
    }
    let header_is_legacy = header_version.is_some_and(|v| v.era() == Era::Legacy);
    let modern = declared.meta_version.is_some() || (header.is_some() && !header_is_legacy);
    if !modern {
        if message.method() == Some("initialize") {
            let requested = declared.initialize_version.as_deref().unwrap_or("");
            return Ok(ProtocolVersion::negotiate(requested));
        }
        return legacy_header(header);
    }
    // The modern era: `_meta` carries the version and capabilities, the header repeats it.
    let Some(meta_version) = declared.meta_version.as_deref() else {
        return Err(invalid_meta(format!(
            "Invalid params: _meta[\"{META_VERSION}\"] is required"
        )));
    };
    if !declared.has_capabilities {
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
