//! Which era and version a POST is handled under, decided per request from the headers and
//! the message (both eras share one endpoint).

use std::borrow::Cow;

use http::{HeaderValue, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, Member, Message, Outline, Params, codes, quoted};
use mcp_core::protocol::meta_keys::{
    CLIENT_CAPABILITIES as META_CAPABILITIES, PROTOCOL_VERSION as META_VERSION,
};
use mcp_core::{Era, ProtocolVersion, ServedEras};
use serde::Deserialize;

/// A refusal: the HTTP status and the JSON-RPC error.
pub(crate) type Refusal = (StatusCode, ErrorObject);

/// What the transport reads from a request's params before the router sees them: the version
/// and capabilities (era), and the target the routing headers must repeat. Read from the
/// params' outline, member by member as the checks ask (one scan serves them and the router).
pub(crate) enum Peek<'a> {
    /// Params that name no version, not read (most legacy requests), or no params.
    Unread,
    /// Params whose outline stands.
    Outlined(Outline<'a>),
    /// Params with no outline (an escaped key), read by serde, so that an escaped `name`
    /// cannot slip past the routing-header check.
    Parsed(Box<Parsed<'a>>),
    /// Params with no outline that serde refuses (a member of the wrong type, a duplicate):
    /// what serde said, so that the refusal names the real fault.
    Unreadable(Box<str>),
}

/// The members the checks read, as serde reads them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", expecting = "params to be an object")]
pub(crate) struct Parsed<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaVersion<'a>>,
    #[serde(rename = "protocolVersion", borrow, default)]
    initialize_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    task_id: Option<Cow<'a, str>>,
}

// `expecting`: serde's messages reach the client, which knows no Rust type names.
#[derive(Deserialize)]
#[serde(expecting = "_meta to be an object")]
struct MetaVersion<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    capabilities: Option<Capabilities>,
}

/// What `clientCapabilities` holds, as far as the era check cares: only an object declares
/// capabilities. (Read through a `Value` only on serde's path.)
#[derive(Deserialize, Clone, Copy)]
#[serde(from = "serde_json::Value")]
struct Capabilities {
    is_object: bool,
}

impl From<serde_json::Value> for Capabilities {
    fn from(value: serde_json::Value) -> Self {
        Self {
            is_object: value.is_object(),
        }
    }
}

impl<'a> Peek<'a> {
    /// Reads the params of `message`. Params that name no protocol version (most legacy
    /// requests) are not read at all: a substring search is far cheaper, and the names only
    /// matter to the modern era, which always names its version. A `header` that makes the
    /// request modern on its own needs no search: the params must then be read anyway.
    pub(crate) fn of(message: &'a Message, header: &VersionHeader<'_>) -> Peek<'a> {
        let params = match message {
            Message::Request(request) => request.params.as_ref(),
            Message::Notification(notification) => notification.params.as_ref(),
            Message::Response(_) | Message::Batch(_) => None,
        };
        match params {
            Some(params) if header.names_modern() || params.get().contains("otocolVersion") => {
                Peek::read(params)
            }
            _ => Peek::Unread,
        }
    }

    /// The outline of `params` (valid JSON: the message parser checked it), or serde's
    /// reading when there is none.
    fn read(params: &'a Params) -> Peek<'a> {
        match params.outline() {
            Some(outline) => Peek::Outlined(outline),
            None => match serde_json::from_str(params.get()) {
                Ok(parsed) => Peek::Parsed(Box::new(parsed)),
                Err(error) => Peek::Unreadable(mcp_core::jsonrpc::serde_message(&error).into()),
            },
        }
    }

    /// A top-level string member: `name`, `uri`, `taskId` or `protocolVersion`.
    pub(crate) fn string(&self, member: Member) -> Option<Cow<'a, str>> {
        match self {
            Peek::Unread | Peek::Unreadable(_) => None,
            Peek::Outlined(outline) => outline.string(member),
            Peek::Parsed(parsed) => match member {
                Member::Name => parsed.name.clone(),
                Member::Uri => parsed.uri.clone(),
                Member::TaskId => parsed.task_id.clone(),
                Member::ProtocolVersion => parsed.initialize_version.clone(),
                _ => None,
            },
        }
    }

    /// `_meta`'s protocol version, when a string.
    fn meta_version(&self) -> Option<Cow<'a, str>> {
        match self {
            Peek::Unread | Peek::Unreadable(_) => None,
            // The outline reads `_meta`'s keys only when it is an object, as serde does.
            Peek::Outlined(outline) => outline.string(Member::MetaProtocolVersion),
            Peek::Parsed(parsed) => parsed.meta.as_ref()?.version.clone(),
        }
    }

    /// Whether `_meta` declares client capabilities (an object).
    fn has_capabilities(&self) -> bool {
        match self {
            Peek::Unread | Peek::Unreadable(_) => false,
            Peek::Outlined(outline) => outline
                .raw(Member::MetaClientCapabilities)
                .is_some_and(|raw| raw.starts_with('{')),
            Peek::Parsed(parsed) => parsed
                .meta
                .as_ref()
                .and_then(|m| m.capabilities)
                .is_some_and(|c| c.is_object),
        }
    }
}

/// The `MCP-Protocol-Version` header, read once for [`Peek::of`] and [`classify`].
pub(crate) struct VersionHeader<'h> {
    raw: Option<&'h str>,
    version: Option<ProtocolVersion>,
    /// What the endpoint serves: refusals name these versions only.
    served: ServedEras,
}

impl<'h> VersionHeader<'h> {
    /// Reads the header's value, for an endpoint serving `served`; one that is not ASCII is
    /// refused.
    pub(crate) fn read(
        value: Option<&'h HeaderValue>,
        served: ServedEras,
    ) -> Result<Self, Refusal> {
        let raw = match value {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| bad_request("Bad Request: MCP-Protocol-Version is not ASCII"))?,
            ),
        };
        Ok(Self {
            raw,
            version: raw.and_then(ProtocolVersion::parse),
            served,
        })
    }

    /// Refuses a header that names no supported version (an absent one is fine).
    pub(crate) fn check_supported(&self) -> Result<(), Refusal> {
        match (self.raw, self.version) {
            (Some(requested), None) => Err(unsupported(requested, self.served)),
            _ => Ok(()),
        }
    }

    /// Whether the header alone makes a sessionless request modern: present and not a
    /// legacy version (an unknown one included: it is then refused as modern).
    fn names_modern(&self) -> bool {
        self.raw.is_some() && !self.version.is_some_and(|v| v.era() == Era::Legacy)
    }
}

/// Checks the `MCP-Protocol-Version` header of a session's GET or DELETE, which carry no
/// message: absent, or a version the endpoint serves; a refusal names those only.
pub(crate) fn check_session_header(
    headers: &http::HeaderMap,
    served: ServedEras,
) -> Result<(), Refusal> {
    let header = headers.get(&mcp_core::headers::MCP_PROTOCOL_VERSION);
    let header = VersionHeader::read(header, served)?;
    match (header.raw, header.version) {
        (Some(requested), version) if !version.is_some_and(|v| served.serves(v)) => {
            Err(unsupported(requested, served))
        }
        _ => Ok(()),
    }
}

/// The refusal of a request for version `requested`, which the endpoint (serving `served`)
/// does not serve: 400 and an `UnsupportedProtocolVersionError` naming the versions served.
/// An endpoint that serves no modern version answers as a legacy server does instead (400
/// and a plain invalid-request error): 2026-07-28 clients that also speak a legacy version
/// fall back to `initialize` on any 400 without a modern error, and retry with the versions a
/// modern error lists (streamable HTTP, Backward Compatibility).
pub(crate) fn unsupported(requested: &str, served: ServedEras) -> Refusal {
    let supported = served.supported_strings();
    if !served.modern {
        return bad_request(format!(
            "Bad Request: Unsupported protocol version: {}; this server speaks {}",
            quoted(requested),
            supported.join(", ")
        ));
    }
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::new(
            codes::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version: {}", quoted(requested)),
        )
        .with_data(serde_json::json!({
            "requested": quoted(requested),
            "supported": supported,
        })),
    )
}

/// A refusal of an unreadable `MCP-Protocol-Version` header (repeated, not ASCII), in the
/// era the body names: a modern client fixes a HeaderMismatch (-32020), where a plain
/// Bad Request (-32600) would have it fall back to `initialize` (2026-07-28, Backward
/// Compatibility). Without a modern `_meta` it stays the legacy era's Bad Request.
pub(crate) fn in_body_era(refusal: Refusal, message: &Message) -> Refusal {
    let (status, error) = &refusal;
    let body_is_modern = || {
        let params = match message {
            Message::Request(request) => request.params.as_ref(),
            Message::Notification(notification) => notification.params.as_ref(),
            Message::Response(_) | Message::Batch(_) => None,
        };
        params
            .and_then(Params::outline)
            .and_then(|outline| outline.string(Member::MetaProtocolVersion))
            .and_then(|version| ProtocolVersion::parse(&version))
            .is_some_and(ProtocolVersion::is_modern)
    };
    match error.message.strip_prefix("Bad Request: ") {
        Some(detail) if error.code == codes::INVALID_REQUEST && body_is_modern() => (
            *status,
            ErrorObject::new(codes::HEADER_MISMATCH, format!("Header mismatch: {detail}")),
        ),
        _ => refusal,
    }
}

fn bad_request(message: impl Into<Cow<'static, str>>) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::invalid_request(message),
    )
}

/// Decides the version of a POSTed message.
///
/// A request of a session speaks the version the session negotiated (`session_version`); a
/// header there must only be a supported version. Otherwise legacy when the request is a plain
/// `initialize` or carries a legacy `MCP-Protocol-Version` and no `_meta`; modern when it
/// carries `_meta` or a non-legacy header (then `_meta` and the header must agree); otherwise
/// legacy with 2025-03-26.
pub(crate) fn classify(
    header: &VersionHeader<'_>,
    message: &Message,
    declared: &Peek<'_>,
    session_version: Option<ProtocolVersion>,
) -> Result<ProtocolVersion, Refusal> {
    // The header is optional there (2025-03-26 clients never send it; the spec's fallback to
    // 2025-03-26 is for servers with no other way to know) and only checked to be supported,
    // as the reference SDKs check it: a session does not change version midway.
    if let Some(negotiated) = session_version {
        return header.check_supported().map(|()| negotiated);
    }
    let header_names_modern = header.names_modern();
    let served = header.served;
    let unsupported = |requested: &str| unsupported(requested, served);
    let (header, header_version) = (header.raw, header.version);
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
    let meta_version = declared.meta_version();
    if meta_version.is_none() && !header_names_modern {
        if message.method() == Some("initialize") {
            let requested = declared.string(Member::ProtocolVersion);
            return Ok(ProtocolVersion::negotiate(
                requested.as_deref().unwrap_or(""),
            ));
        }
        return legacy_header(header);
    }
    // The modern era: `_meta` carries the version (and, on requests, the capabilities), the
    // header repeats it. A notification's `_meta` has no version: the header alone names it.
    let is_notification = matches!(message, Message::Notification(_));
    let meta_version = match meta_version.as_deref() {
        Some(meta_version) => meta_version,
        // Modern by the header here: an unknown version in it says more than a missing `_meta`.
        None if is_notification || header_version.is_none() => {
            return header_version
                .filter(|version| version.is_modern())
                .ok_or_else(|| not_modern(header.unwrap_or_default(), header_version, served));
        }
        None => {
            if let Peek::Unreadable(fault) = declared {
                // `_meta` may well be there: the params as a whole do not read.
                let error = ErrorObject::invalid_params(format!("Invalid params: {fault}"));
                return Err((StatusCode::BAD_REQUEST, error));
            }
            // Often a legacy client that sent the wrong header with its session: say why the
            // request is read as modern, and that the session does not count under it.
            let mut error = meta_version_required();
            error.message = format!(
                "{}: the MCP-Protocol-Version header names {}, whose requests carry their \
                 version in _meta (and ignore Mcp-Session-Id)",
                error.message,
                header.unwrap_or_default()
            )
            .into();
            return Err((StatusCode::BAD_REQUEST, error));
        }
    };
    if !is_notification && !declared.has_capabilities() {
        return Err((StatusCode::BAD_REQUEST, meta_capabilities_required()));
    }
    if header != Some(meta_version) {
        let message = match header {
            None => format!(
                "Header mismatch: MCP-Protocol-Version header is required (body value '{}')",
                quoted(meta_version)
            ),
            Some(header) => format!(
                "Header mismatch: MCP-Protocol-Version header value '{}' does not match body value '{}'",
                quoted(header),
                quoted(meta_version)
            ),
        };
        return Err((
            StatusCode::BAD_REQUEST,
            ErrorObject::new(codes::HEADER_MISMATCH, message),
        ));
    }
    // The header equals `meta_version` here: its parse stands for both. A legacy version
    // named the modern way is not a version of this era.
    header_version
        .filter(|version| version.is_modern())
        .ok_or_else(|| not_modern(meta_version, header_version, served))
}

/// The refusal of a request made the 2026-07-28 way (version in `_meta`, no session) that
/// names `requested`, which is not a modern version: when it is a legacy version this server
/// speaks, -32022 lists only the versions a request may name that way (a client retries with
/// one of them) and says how the legacy ones are reached, rather than calling a version it
/// also lists unsupported.
fn not_modern(requested: &str, parsed: Option<ProtocolVersion>, served: ServedEras) -> Refusal {
    if !(served.modern && parsed.is_some_and(|version| served.serves(version))) {
        return unsupported(requested, served);
    }
    let per_request = ProtocolVersion::supported_strings(Some(Era::Modern));
    (
        StatusCode::BAD_REQUEST,
        ErrorObject::new(
            codes::UNSUPPORTED_PROTOCOL_VERSION,
            format!(
                "Unsupported protocol version: {} is negotiated with initialize; a request \
                 that carries its version in _meta may name {}",
                quoted(requested),
                per_request.join(", ")
            ),
        )
        .with_data(serde_json::json!({
            "requested": quoted(requested),
            "supported": per_request,
        })),
    )
}

/// -32602 for a modern request whose `_meta` names no version as a string (both transports).
pub(crate) fn meta_version_required() -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "Invalid params: _meta[\"{META_VERSION}\"] is required (a string)"
    ))
}

/// -32602 for a modern request whose `_meta` declares no capabilities object: every request
/// carries them (both transports).
pub(crate) fn meta_capabilities_required() -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "Invalid params: _meta[\"{META_CAPABILITIES}\"] is required (an object)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Params {
        serde_json::value::RawValue::from_string(text.to_owned())
            .expect("valid JSON")
            .into()
    }

    /// What classification and the routing-header check read, for comparing two peeks.
    fn seen(peek: &Peek<'_>) -> [Option<String>; 6] {
        [
            peek.meta_version().map(Cow::into_owned),
            Some(peek.has_capabilities().to_string()),
            peek.string(Member::ProtocolVersion).map(Cow::into_owned),
            peek.string(Member::Name).map(Cow::into_owned),
            peek.string(Member::Uri).map(Cow::into_owned),
            peek.string(Member::TaskId).map(Cow::into_owned),
        ]
    }

    #[test]
    fn the_scan_reads_what_serde_reads() {
        for text in [
            r#"{"name":"add","arguments":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"1"}},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"a":[1,"}"]}}}"#,
            r#"{ "_meta" : { "io.modelcontextprotocol/clientCapabilities" : null , "io.modelcontextprotocol/protocolVersion" : "2026-07-28" } , "uri" : "file:///a b" }"#,
            r#"{"taskId":"t-1","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":3}}"#,
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[{}]}}"#,
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"x"}}"#,
            r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#,
            r#"{"name":"a\"b\u00e9","_meta":null}"#,
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026\u002d07-28"}}"#,
            r#"{}"#,
        ] {
            let params = params(text);
            let outlined = Peek::read(&params);
            assert!(matches!(outlined, Peek::Outlined(_)), "{text}");
            let parsed = Peek::Parsed(serde_json::from_str(text).expect("valid params"));
            assert_eq!(seen(&outlined), seen(&parsed), "{text}");
        }
    }

    #[test]
    fn a_repeated_member_is_read_as_serde_json_reads_it_the_last_wins() {
        let version = "io.modelcontextprotocol/protocolVersion";
        let capabilities = "io.modelcontextprotocol/clientCapabilities";
        let repeated_meta = format!(
            r#"{{"_meta":{{"{version}":"2026-07-28","{capabilities}":{{}}}},"_meta":null}}"#
        );
        let peek_of = |text: &str| seen(&Peek::read(&params(text)));
        assert_eq!(
            peek_of(&repeated_meta)[0],
            None,
            "no version in the last _meta"
        );
        let repeated_capabilities = format!(
            r#"{{"_meta":{{"{version}":"2026-07-28","{capabilities}":{{}},"{capabilities}":null}}}}"#
        );
        assert_eq!(peek_of(&repeated_capabilities)[1].as_deref(), Some("false"));
        assert_eq!(
            peek_of(r#"{"name":"a","name":"b"}"#)[3].as_deref(),
            Some("b")
        );
    }

    #[test]
    fn escaped_keys_are_left_to_serde() {
        let text = r#"{"n\u0061me":"hidden","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#;
        assert!(matches!(Peek::read(&params(text)), Peek::Parsed(_)));
        let message = Message::parse(
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{text}}}"#)
                .as_bytes(),
        )
        .expect("a request");
        let no_header = VersionHeader::read(None, ServedEras::BOTH).expect("no header");
        assert_eq!(
            Peek::of(&message, &no_header)
                .string(Member::Name)
                .as_deref(),
            Some("hidden")
        );
        let nested = r#"{"_meta":{"io.modelcontextprotocol/protocolVersi\u006fn":"2026-07-28"}}"#;
        assert!(matches!(Peek::read(&params(nested)), Peek::Parsed(_)));
    }
}
