//! Reads the few `params` members telemetry needs (the target name or URI, and
//! `_meta.traceparent` with `_meta.tracestate`) without deserialising the rest.
//!
//! A full `serde_json` pass over `params` costs as much again as the router's own parse. The
//! usual legacy call (`{"name":"add",...`, no `_meta`) is read by its opening alone; anything
//! else comes from the params' [`Outline`](mcp_core::jsonrpc::Outline), one scan kept for the
//! router (a modern call's was made by the transport already).

use std::borrow::Cow;
use std::sync::LazyLock;

use mcp_core::jsonrpc::{Member, Params};
use memchr::memmem::Finder;

/// Built once: `str::contains` sets a searcher up on every call, which costs more than the
/// search in a short `params`.
static META_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"_meta\""));

/// What was found.
#[derive(Debug, Default)]
pub(crate) struct Peeked<'a> {
    /// The string value of the requested member (`name` or `uri`).
    pub(crate) target: Option<Cow<'a, str>>,
    /// `_meta.traceparent`.
    pub(crate) traceparent: Option<Cow<'a, str>>,
    /// `_meta.tracestate`.
    pub(crate) tracestate: Option<Cow<'a, str>>,
}

/// Finds `target` (`name` or `uri`) and, when `want_trace`, `_meta.traceparent` and
/// `_meta.tracestate` in the object `params`.
#[inline(always)]
pub(crate) fn peek<'a>(params: &'a Params, target: Option<Member>, want_trace: bool) -> Peeked<'a> {
    // Most calls carry no `_meta` and name their target first: they need no scan.
    let want_meta = want_trace && has_meta(params.get().as_bytes());
    if !want_meta {
        let Some(member) = target else {
            return Peeked::default();
        };
        if let Some(found) = leading_string(params.get(), member) {
            return Peeked {
                target: Some(Cow::Borrowed(found)),
                ..Peeked::default()
            };
        }
    }
    outlined(params, target, want_meta)
}

/// The members from the params' outline, out of line: the common case above stays small.
#[inline(never)]
fn outlined<'a>(params: &'a Params, target: Option<Member>, want_meta: bool) -> Peeked<'a> {
    let Some(outline) = params.outline() else {
        // Params that are not an object name nothing (serde would read an array's items by
        // position); the router refuses them.
        if !params.get().trim_start().starts_with('{') {
            return Peeked::default();
        }
        // A key is escaped: it may spell a member wanted here (`"n\u0061me"` is `name`, and
        // the router reads it so): only a decoding parse can tell.
        return decode(params.get(), target, want_meta);
    };
    let meta = |member| want_meta.then(|| outline.string(member)).flatten();
    Peeked {
        target: target.and_then(|member| outline.string(member)),
        traceparent: meta(Member::MetaTraceparent),
        tracestate: meta(Member::MetaTracestate),
    }
}

/// What [`outlined`] looks for, read by a decoding parse: for params whose keys carry escapes,
/// which clients have no reason to write, so that no spelling hides a call's target or its
/// trace. Members not wanted (`arguments`...) are skipped, not built.
#[cold]
#[inline(never)]
fn decode<'a>(params: &str, target: Option<Member>, want_meta: bool) -> Peeked<'a> {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    /// The members wanted, as their raw text (read again below, leniently: a member of
    /// another type must not cost the others).
    #[derive(Deserialize)]
    struct Members {
        name: Option<Box<RawValue>>,
        uri: Option<Box<RawValue>>,
        #[serde(rename = "_meta")]
        meta: Option<Box<RawValue>>,
    }
    #[derive(Deserialize)]
    struct Meta {
        traceparent: Option<Box<RawValue>>,
        tracestate: Option<Box<RawValue>>,
    }
    let string = |raw: Option<Box<RawValue>>| {
        raw.and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .map(Cow::Owned)
    };
    let Ok(members) = serde_json::from_str::<Members>(params) else {
        return Peeked::default();
    };
    let target = match target {
        Some(Member::Name) => string(members.name),
        Some(Member::Uri) => string(members.uri),
        _ => None,
    };
    let meta = members
        .meta
        .filter(|_| want_meta)
        .and_then(|raw| serde_json::from_str::<Meta>(raw.get()).ok());
    let (traceparent, tracestate) = match meta {
        Some(meta) => (string(meta.traceparent), string(meta.tracestate)),
        None => (None, None),
    };
    Peeked {
        target,
        traceparent,
        tracestate,
    }
}

/// Params up to this length are first searched for a `_`.
const SHORT: usize = 128;

/// Whether `"_meta"` occurs in `params` (anywhere: the scan then finds out where).
fn has_meta(params: &[u8]) -> bool {
    if params.len() > SHORT {
        return META_KEY.find(params).is_some();
    }
    // Short params seldom hold a `_`: looking for one costs a fraction of setting up the
    // substring search.
    memchr::memchr(b'_', params).is_some() && META_KEY.find(params).is_some()
}

/// The value of `member` when `params` opens with it as a string without escapes:
/// `{"name":"add",...`, as clients write it.
fn leading_string(params: &str, member: Member) -> Option<&str> {
    // Constant openings compare in a load or two, without a call.
    let rest = match member {
        Member::Name => params.strip_prefix(r#"{"name":""#)?,
        Member::Uri => params.strip_prefix(r#"{"uri":""#)?,
        _ => return None,
    };
    // Names are short: a plain loop beats starting a vectorised search.
    let end = rest.bytes().position(|b| b == b'"' || b == b'\\')?;
    // Quotes are ASCII: `end` is a character boundary.
    (rest.as_bytes()[end] == b'"')
        .then(|| rest.get(..end))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `peek` finds in `text`: the target, the traceparent and the tracestate.
    fn peek_text(text: &str, target: Option<Member>, want_trace: bool) -> [Option<String>; 3] {
        let params = Params::from(serde_json::value::RawValue::from_string(text.into()).unwrap());
        let found = peek(&params, target, want_trace);
        [found.target, found.traceparent, found.tracestate].map(|v| v.map(Cow::into_owned))
    }

    fn both(text: &str, member: Member) -> (Option<String>, Option<String>) {
        let [target, traceparent, _] = peek_text(text, Some(member), true);
        (target, traceparent)
    }

    #[test]
    fn finds_the_tracestate_next_to_the_traceparent() {
        let [_, traceparent, tracestate] = peek_text(
            r#"{"name":"add","_meta":{"tracestate":"a=1,b=2","traceparent":"tp"}}"#,
            Some(Member::Name),
            true,
        );
        assert_eq!(traceparent.as_deref(), Some("tp"));
        assert_eq!(tracestate.as_deref(), Some("a=1,b=2"));
        let [.., unwanted] = peek_text(r#"{"_meta":{"tracestate":"a=1"}}"#, None, false);
        assert!(unwanted.is_none());
    }

    #[test]
    fn finds_the_target_and_the_traceparent_anywhere() {
        let params = r#"{"arguments":{"name":"inner","list":[1,{"x":"}"}],"s":"a\"b"},
            "name" : "add", "_meta":{"progressToken":3,"traceparent":"00-ab"}}"#;
        assert_eq!(
            both(params, Member::Name),
            (Some("add".into()), Some("00-ab".into()))
        );
        let params = r#"{"_meta":{"traceparent":"tp"},"uri":"file:///x","name":"n"}"#;
        assert_eq!(
            both(params, Member::Uri),
            (Some("file:///x".into()), Some("tp".into()))
        );
    }

    #[test]
    fn decodes_escaped_values_and_ignores_other_types() {
        let name = |text| both(text, Member::Name).0;
        assert_eq!(name(r#"{"name":"a\u0062c"}"#).as_deref(), Some("abc"));
        assert_eq!(name(r#"{"name":5,"uri":"u"}"#), None);
        assert_eq!(name(r#"{"name":null}"#), None);
        assert_eq!(name(r#"{"name":"é✓"}"#).as_deref(), Some("é✓"));
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let params = r#"{"n\u0061me":"add","_meta":{"tr\u0061ceparent":"tp","tracestate":"a=1"}}"#;
        let [target, traceparent, tracestate] = peek_text(params, Some(Member::Name), true);
        assert_eq!(target.as_deref(), Some("add"));
        assert_eq!(traceparent.as_deref(), Some("tp"));
        assert_eq!(tracestate.as_deref(), Some("a=1"));
        let params = r#"{"name":"a\u0064d","_meta":{"tr\u0061ceparent":"tp"}}"#;
        assert_eq!(
            both(params, Member::Name),
            (Some("add".into()), Some("tp".into()))
        );
        assert_eq!(
            both(r#"{"\u0075ri":"file:///x"}"#, Member::Uri)
                .0
                .as_deref(),
            Some("file:///x")
        );
        // Not wanted, not read.
        let [_, traceparent, _] =
            peek_text(r#"{"x\u0031":1,"_meta":{"traceparent":"tp"}}"#, None, false);
        assert!(traceparent.is_none());
    }

    #[test]
    fn reads_whatever_the_shape() {
        assert_eq!(both("{}", Member::Name).0, None);
        assert_eq!(both("[1]", Member::Name).0, None);
        // Not an object: nothing, not the items read by position.
        assert_eq!(both(r#"["x",null,null]"#, Member::Name).0, None);
        assert_eq!(
            both(r#" { "name" : "spaced" } "#, Member::Name)
                .0
                .as_deref(),
            Some("spaced")
        );
    }

    #[test]
    fn the_short_meta_search_agrees_with_the_long_one() {
        for params in [
            r#"{"name":"a","_meta":{}}"#,
            r#"{"name":"a","x_meta":1}"#,
            r#"{"_meta":1}"#,
            r#"{"name":"_meta"}"#,
            r#"{"a_b":"c_d","_met":1}"#,
            r#"_meta""#,
            "",
        ] {
            assert_eq!(
                has_meta(params.as_bytes()),
                META_KEY.find(params.as_bytes()).is_some(),
                "{params}"
            );
        }
    }

    #[test]
    fn a_leading_target_is_read_without_the_outline() {
        let name = Member::Name;
        assert_eq!(leading_string(r#"{"name":"add","x":1}"#, name), Some("add"));
        assert_eq!(leading_string(r#"{"name":"","x":1}"#, name), Some(""));
        assert_eq!(leading_string(r#"{"names":"add"}"#, name), None);
        assert_eq!(leading_string(r#"{"name":"a\"b"}"#, name), None);
        assert_eq!(leading_string(r#"{"name":"add"#, name), None);
        assert_eq!(leading_string(r#"{ "name":"add"}"#, name), None);
        assert_eq!(leading_string(r#"{"uri":"a:b"}"#, Member::Uri), Some("a:b"));
        assert_eq!(leading_string(r#"{"taskId":"x"}"#, Member::TaskId), None);
        // Escaped or spaced: the outline reads them.
        assert_eq!(both(r#"{"name":"a\"b"}"#, name).0.as_deref(), Some("a\"b"));
    }

    #[test]
    fn without_a_target_only_meta_is_read() {
        let [target, traceparent, _] =
            peek_text(r#"{"name":"x","_meta":{"traceparent":"tp"}}"#, None, true);
        assert!(target.is_none());
        assert_eq!(traceparent.as_deref(), Some("tp"));
        assert!(peek_text(r#"{"name":"x"}"#, None, true)[1].is_none());
    }

    #[test]
    fn meta_is_left_unread_when_no_one_wants_the_trace() {
        for params in [
            r#"{"_meta":{"traceparent":"tp"},"name":"add"}"#,
            r#"{"name":"add","_meta":{"traceparent":"tp"}}"#,
        ] {
            let [target, traceparent, _] = peek_text(params, Some(Member::Name), false);
            assert_eq!(target.as_deref(), Some("add"));
            assert!(traceparent.is_none());
        }
    }
}
