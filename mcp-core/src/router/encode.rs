//! Result encoding per era: the modern era adds `resultType`, server info in `_meta`, and
//! `ttlMs` / `cacheScope` on cacheable results, written in front of the result's own fields.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::jsonrpc::{ErrorObject, RawJson};
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

/// A modern result's `resultType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultType {
    Complete,
    InputRequired,
    Task,
}

impl ResultType {
    /// The result's opening, `{"resultType":"…"`: constant text, not a string to serialise
    /// on every result.
    fn opening(self) -> &'static [u8] {
        match self {
            ResultType::Complete => br#"{"resultType":"complete""#,
            ResultType::InputRequired => br#"{"resultType":"input_required""#,
            ResultType::Task => br#"{"resultType":"task""#,
        }
    }
}

/// The era-specific extras of one result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extras {
    /// `resultType` value.
    pub(crate) result_type: ResultType,
    /// `ttlMs` + `cacheScope`, for cacheable results.
    pub(crate) cache: Option<(u64, Scope)>,
    /// Whether the result already has its own `_meta` (then server info is not added).
    pub(crate) has_meta: bool,
}

impl Extras {
    pub(crate) const fn complete() -> Self {
        Self {
            result_type: ResultType::Complete,
            cache: None,
            has_meta: false,
        }
    }

    pub(crate) const fn cached(ttl_ms: u64, scope: Scope) -> Self {
        Self {
            result_type: ResultType::Complete,
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
/// `result` must serialise as a JSON object. The modern era's fields are written first, then
/// the result's own fields after them, in one pass into the thread's scratch buffer (see
/// [`RawJson`]): no intermediate JSON tree is built and nothing is parsed again.
pub(crate) fn encode<T: Serialize + ?Sized>(
    version: ProtocolVersion,
    server_info_meta: Option<&RawValue>,
    result: &T,
    extras: Extras,
) -> Result<RawJson, ErrorObject> {
    let encoded = RawJson::write(|out| {
        if !version.is_modern() {
            return serde_json::to_writer(out, result);
        }
        out.extend_from_slice(extras.result_type.opening());
        if let Some((ttl_ms, scope)) = extras.cache {
            out.extend_from_slice(br#","ttlMs":"#);
            out.extend_from_slice(itoa::Buffer::new().format(ttl_ms).as_bytes());
            out.extend_from_slice(match scope {
                Scope::Public => br#","cacheScope":"public""#.as_slice(),
                Scope::Private => br#","cacheScope":"private""#.as_slice(),
            });
        }
        if let Some(meta) = server_info_meta.filter(|_| !extras.has_meta) {
            out.extend_from_slice(br#","_meta":"#);
            out.extend_from_slice(meta.get().as_bytes());
        }
        let fields = out.len();
        serde_json::to_writer(&mut *out, result)?;
        join_fields(out, fields)
    });
    encoded.map_err(|e| ErrorObject::internal_error(format!("result could not be encoded: {e}")))
}

/// Joins the object written at `out[at..]` to the era's fields before it: its `{` becomes a
/// `,`, or the whole `{}` a `}`.
fn join_fields(out: &mut Vec<u8>, at: usize) -> Result<(), serde_json::Error> {
    if out.get(at) != Some(&b'{') {
        return Err(serde::ser::Error::custom("a result must be a JSON object"));
    }
    // Only a raw value's own text can hold whitespace here.
    let empty = out[at + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'}');
    if empty {
        out.truncate(at);
        out.push(b'}');
    } else {
        out[at] = b',';
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;

    fn meta() -> Box<RawValue> {
        RawValue::from_string(r#"{"k":"v"}"#.to_owned()).unwrap()
    }

    fn encoded(result: &(impl Serialize + ?Sized), extras: Extras) -> String {
        let meta = meta();
        encode(MODERN, Some(&meta), result, extras)
            .unwrap()
            .get()
            .to_owned()
    }

    #[test]
    fn modern_fields_come_first_and_the_result_joins_them() {
        let result = serde_json::json!({"content": [], "isError": false});
        assert_eq!(
            encoded(&result, Extras::complete()),
            r#"{"resultType":"complete","_meta":{"k":"v"},"content":[],"isError":false}"#
        );
        assert_eq!(
            encoded(
                &result,
                Extras::cached(60_000, Scope::Private).with_meta(true)
            ),
            r#"{"resultType":"complete","ttlMs":60000,"cacheScope":"private","content":[],"isError":false}"#
        );
        let legacy = encode(
            ProtocolVersion::V2025_11_25,
            Some(&meta()),
            &result,
            Extras::complete(),
        );
        assert_eq!(legacy.unwrap().get(), r#"{"content":[],"isError":false}"#);
    }

    #[test]
    fn an_empty_result_and_raw_text_with_whitespace_stay_valid_json() {
        let cached = Extras::cached(5, Scope::Public);
        assert_eq!(
            encoded(&serde_json::json!({}), cached),
            r#"{"resultType":"complete","ttlMs":5,"cacheScope":"public","_meta":{"k":"v"}}"#
        );
        for (raw, expected) in [
            ("{ }", r#"{"resultType":"complete","_meta":{"k":"v"}}"#),
            (
                "{ \"a\" : 1 }",
                r#"{"resultType":"complete","_meta":{"k":"v"}, "a" : 1 }"#,
            ),
        ] {
            let raw = RawValue::from_string(raw.to_owned()).unwrap();
            let text = encoded(&*raw, Extras::complete());
            assert_eq!(text, expected);
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        }
    }

    #[test]
    fn a_result_that_is_not_an_object_is_an_internal_error() {
        let meta = meta();
        for result in [serde_json::json!([1]), serde_json::json!("text")] {
            let error = encode(MODERN, Some(&meta), &result, Extras::complete()).unwrap_err();
            assert_eq!(error.code, crate::jsonrpc::codes::INTERNAL_ERROR);
            assert!(
                error.message.contains("must be a JSON object"),
                "{}",
                error.message
            );
        }
    }
}
