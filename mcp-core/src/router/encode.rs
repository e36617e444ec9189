//! Result encoding per era: the modern era adds `resultType`, server info in `_meta`, and
//! `ttlMs` / `cacheScope` on cacheable results. They are written in front of the result's own
//! fields in one serialisation pass, so no intermediate JSON tree is built and nothing is
//! parsed again.

use std::io::Write;

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

/// The `_meta` object of modern-era results: `{"io.modelcontextprotocol/serverInfo":{...}}`,
/// encoded once when the router is built.
pub(crate) fn server_info_meta(info: &Implementation) -> Box<RawValue> {
    #[derive(Serialize)]
    struct ServerInfoMeta<'a> {
        #[serde(rename = "io.modelcontextprotocol/serverInfo")]
        server_info: &'a Implementation,
    }
    serde_json::value::to_raw_value(&ServerInfoMeta { server_info: info })
        .expect("Implementation serialises")
}

/// Encodes a result for `version`.
///
/// `result` must serialise as a JSON object: in the modern era the era's fields are written
/// first and the result's own fields joined after them, in one buffer, so the encoding is
/// written once and wrapped without being parsed again.
pub(crate) fn encode<T: Serialize + ?Sized>(
    version: ProtocolVersion,
    server_info_meta: &RawValue,
    result: &T,
    extras: Extras,
) -> Result<Box<RawValue>, ErrorObject> {
    let failed = |e: &dyn std::fmt::Display| {
        ErrorObject::internal_error(format!("result could not be encoded: {e}"))
    };
    let mut out = Vec::with_capacity(256);
    if version.is_modern() {
        // `resultType` values and cache scopes are fixed identifiers: no escaping needed.
        out.extend_from_slice(b"{\"resultType\":\"");
        out.extend_from_slice(extras.result_type.as_bytes());
        out.push(b'"');
        if let Some((ttl_ms, scope)) = extras.cache {
            let scope = match scope {
                Scope::Public => "public",
                Scope::Private => "private",
            };
            // Writing to a Vec cannot fail.
            let _ = write!(out, ",\"ttlMs\":{ttl_ms},\"cacheScope\":\"{scope}\"");
        }
        if !extras.has_meta {
            out.extend_from_slice(b",\"_meta\":");
            out.extend_from_slice(server_info_meta.get().as_bytes());
        }
        let start = out.len();
        serde_json::to_writer(&mut out, result).map_err(|e| failed(&e))?;
        // Join the result's fields: `{"a":1}` becomes `,"a":1}`, and `{}` just `}`.
        match &out[start..] {
            b"{}" => {
                out.truncate(start);
                out.push(b'}');
            }
            [b'{', ..] => out[start] = b',',
            _ => return Err(failed(&"the result is not a JSON object")),
        }
    } else {
        serde_json::to_writer(&mut out, result).map_err(|e| failed(&e))?;
    }
    let text = String::from_utf8(out).map_err(|e| failed(&e))?;
    RawValue::from_string(text).map_err(|e| failed(&e))
}
