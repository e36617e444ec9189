//! Result encoding per era: the modern era adds `resultType`, server info in `_meta`, and
//! `ttlMs` / `cacheScope` on cacheable results. They are written in front of the result's own
//! fields in one serialisation pass, so no intermediate JSON tree is built and nothing is
//! parsed again.

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

/// A modern-era result: the era's fields first, then the result's own fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Modern<'a, T: ?Sized> {
    result_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_scope: Option<&'static str>,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<&'a RawValue>,
    #[serde(flatten)]
    result: &'a T,
}

/// Encodes a result for `version`.
///
/// `result` must serialise as a map or a struct (never a bare [`RawValue`]: it is flattened
/// into the modern-era envelope). The encoding is written once and wrapped without being
/// parsed again.
pub(crate) fn encode<T: Serialize + ?Sized>(
    version: ProtocolVersion,
    server_info_meta: Option<&RawValue>,
    result: &T,
    extras: Extras,
) -> Result<Box<RawValue>, ErrorObject> {
    let encoded = if version.is_modern() {
        let (ttl_ms, cache_scope) = match extras.cache {
            Some((ttl_ms, Scope::Public)) => (Some(ttl_ms), Some("public")),
            Some((ttl_ms, Scope::Private)) => (Some(ttl_ms), Some("private")),
            None => (None, None),
        };
        serde_json::value::to_raw_value(&Modern {
            result_type: extras.result_type,
            ttl_ms,
            cache_scope,
            meta: server_info_meta.filter(|_| !extras.has_meta),
            result,
        })
    } else {
        serde_json::value::to_raw_value(result)
    };
    encoded.map_err(|e| ErrorObject::internal_error(format!("result could not be encoded: {e}")))
}
