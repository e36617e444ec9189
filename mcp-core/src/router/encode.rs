//! Result encoding per era: the modern era adds `resultType`, server info in `_meta`, and
//! `ttlMs` / `cacheScope` on cacheable results. The fields are spliced in front of the
//! serialised result so no intermediate JSON tree is built.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::jsonrpc::ErrorObject;
use crate::protocol::Implementation;
use crate::version::ProtocolVersion;

/// Caching hints of modern-era results (`ttlMs`, `cacheScope`).
///
/// ```
/// use mcp_core::CachePolicy;
///
/// let policy = CachePolicy { list_ttl_ms: 60_000, read_ttl_ms: 0, discover_ttl_ms: 3_600_000 };
/// assert_eq!(CachePolicy::default().list_ttl_ms, 300_000);
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// `ttlMs` of `*/list` results.
    pub list_ttl_ms: u64,
    /// `ttlMs` of `resources/read` results.
    pub read_ttl_ms: u64,
    /// `ttlMs` of `server/discover` results.
    pub discover_ttl_ms: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            list_ttl_ms: 300_000,
            read_ttl_ms: 0,
            discover_ttl_ms: 3_600_000,
        }
    }
}

/// Whether a result may be cached across principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Public,
    Private,
}

/// The era-specific extras of one result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extras {
    /// `resultType` value.
    pub(crate) result_type: &'static str,
    /// `ttlMs` + `cacheScope`, for cacheable results.
    pub(crate) cache: Option<(u64, Scope)>,
    /// Whether the result already has its own `_meta` (then server info is not added).
    pub(crate) has_meta: bool,
}

impl Extras {
    pub(crate) const fn complete() -> Self {
        Self {
            result_type: "complete",
            cache: None,
            has_meta: false,
        }
    }

    pub(crate) const fn cached(ttl_ms: u64, scope: Scope) -> Self {
        Self {
            result_type: "complete",
            cache: Some((ttl_ms, scope)),
            has_meta: false,
        }
    }

    pub(crate) const fn with_meta(mut self, has_meta: bool) -> Self {
        self.has_meta = has_meta;
        self
    }
}

pub(crate) fn server_info_meta(info: &Implementation) -> Vec<u8> {
    let mut out = br#""_meta":{"io.modelcontextprotocol/serverInfo":"#.to_vec();
    serde_json::to_writer(&mut out, info).expect("Implementation serialises");
    out.push(b'}');
    out
}

/// Encodes a result for `version`.
pub(crate) fn encode<T: Serialize>(
    version: ProtocolVersion,
    server_info_meta: &[u8],
    result: &T,
    extras: Extras,
) -> Result<Box<RawValue>, ErrorObject> {
    let mut body = Vec::with_capacity(256);
    serde_json::to_writer(&mut body, result)
        .map_err(|e| ErrorObject::internal_error(format!("result could not be encoded: {e}")))?;
    if !version.is_modern() {
        return raw(body);
    }
    let mut out = Vec::with_capacity(body.len() + 64 + server_info_meta.len());
    out.extend_from_slice(br#"{"resultType":""#);
    out.extend_from_slice(extras.result_type.as_bytes());
    out.push(b'"');
    if let Some((ttl_ms, scope)) = extras.cache {
        out.extend_from_slice(br#","ttlMs":"#);
        out.extend_from_slice(itoa::Buffer::new().format(ttl_ms).as_bytes());
        out.extend_from_slice(match scope {
            Scope::Public => br#","cacheScope":"public""#.as_slice(),
            Scope::Private => br#","cacheScope":"private""#.as_slice(),
        });
    }
    if !extras.has_meta {
        out.push(b',');
        out.extend_from_slice(server_info_meta);
    }
    // `body` is a serialised struct: `{}` or `{"field":...}`.
    if body.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&body[1..]);
    } else {
        out.push(b'}');
    }
    raw(out)
}

fn raw(bytes: Vec<u8>) -> Result<Box<RawValue>, ErrorObject> {
    // The bytes come from serde_json and the splice above, so they are valid UTF-8 JSON.
    let text = String::from_utf8(bytes)
        .map_err(|_| ErrorObject::internal_error("result was not valid UTF-8"))?;
    RawValue::from_string(text)
        .map_err(|e| ErrorObject::internal_error(format!("result could not be encoded: {e}")))
}
