//! Reads the few `params` members telemetry needs (the target name or URI, and
//! `_meta.traceparent` with `_meta.tracestate`) without deserialising the rest.
//!
//! A full `serde_json` pass over `params` costs as much again as the router's own parse; the
//! [`Scanner`] skips values by their brackets and quotes, stops as soon as it has what it
//! wants, and validates nothing it does not read (the router rejects malformed params anyway).

use std::borrow::Cow;
use std::sync::LazyLock;

use mcp_core::scan::{Flow, Scanner};
use memchr::memmem::Finder;

/// Built once: `str::contains` sets a searcher up on every call, which costs more than the
/// search in a short `params`.
static META_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"_meta\""));

/// What was found.
#[derive(Debug, Default)]
pub(crate) struct Peeked<'a> {
    /// The string value of the requested key (`name` or `uri`).
    pub(crate) target: Option<Cow<'a, str>>,
    /// `_meta.traceparent`.
    pub(crate) traceparent: Option<Cow<'a, str>>,
    /// `_meta.tracestate`.
    pub(crate) tracestate: Option<Cow<'a, str>>,
}

/// Finds `target_key` and, when `want_trace`, `_meta.traceparent` and `_meta.tracestate` in
/// the object `params`.
/// Anything malformed ends the scan with what was found so far.
#[inline(always)]
pub(crate) fn peek<'a>(params: &'a str, target_key: Option<&str>, want_trace: bool) -> Peeked<'a> {
    // Most calls carry no `_meta` and name their target first: they need no scan.
    let want_meta = want_trace && has_meta(params.as_bytes());
    if !want_meta {
        let Some(key) = target_key else {
            return Peeked::default();
        };
        if let Some(target) = leading_string(params, key) {
            return Peeked {
                target: Some(Cow::Borrowed(target)),
                ..Peeked::default()
            };
        }
    }
    scan(params, target_key, want_meta)
}

/// The member-by-member scan, out of line: the common case above stays small.
#[inline(never)]
fn scan<'a>(params: &'a str, target_key: Option<&str>, mut want_meta: bool) -> Peeked<'a> {
    let mut found = Peeked::default();
    let mut want_target = target_key.is_some();
    let mut escaped_key = false;
    let mut scanner = Scanner::new(params);
    let _ = scanner.object(|s, key| {
        if key.escaped {
            // It may spell a key wanted here (`"n\u0061me"` is `name`, and the router reads
            // it so): only a decoding parse can tell.
            escaped_key = true;
            return None;
        }
        if target_key.is_some_and(|target| key.is(target)) {
            found.target = s.string_or_skip()?;
            want_target = false;
        } else if want_meta && key.is("_meta") {
            if s.peek()? == b'{' {
                s.object(|s, key| {
                    if key.escaped {
                        escaped_key = true;
                        return None;
                    }
                    if key.is("traceparent") {
                        found.traceparent = s.string_or_skip()?;
                    } else if key.is("tracestate") {
                        found.tracestate = s.string_or_skip()?;
                    } else {
                        s.skip_value()?;
                    }
                    Some(Flow::Continue)
                })?;
            } else {
                s.skip_value()?;
            }
            want_meta = false;
        } else {
            s.skip_value()?;
        }
        Some(if want_meta || want_target {
            Flow::Continue
        } else {
            Flow::Stop
        })
    });
    if escaped_key {
        return decode(params, target_key, want_meta);
    }
    found
}

/// What [`scan`] looks for, read by a decoding parse: for params whose keys carry escapes,
/// which clients have no reason to write, so that no spelling hides a call's target or its
/// trace. Members not wanted (`arguments`...) are skipped, not built.
#[cold]
#[inline(never)]
fn decode<'a>(params: &str, target_key: Option<&str>, want_meta: bool) -> Peeked<'a> {
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
    let target = match target_key {
        Some("name") => string(members.name),
        Some("uri") => string(members.uri),
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

/// The value of `key` when `params` opens with it as a string without escapes:
/// `{"name":"add",...`, as clients write it.
fn leading_string<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    // Constant openings compare in a load or two, without a call.
    let rest = match key {
        "name" => params.strip_prefix(r#"{"name":""#)?,
        "uri" => params.strip_prefix(r#"{"uri":""#)?,
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

    #[test]
    fn finds_the_tracestate_next_to_the_traceparent() {
        let found = peek(
            r#"{"name":"add","_meta":{"tracestate":"a=1,b=2","traceparent":"tp"}}"#,
            Some("name"),
            true,
        );
        assert_eq!(found.traceparent.as_deref(), Some("tp"));
        assert_eq!(found.tracestate.as_deref(), Some("a=1,b=2"));
        let unwanted = peek(r#"{"_meta":{"tracestate":"a=1"}}"#, None, false);
        assert!(unwanted.tracestate.is_none());
    }

    fn both(params: &str, key: &str) -> (Option<String>, Option<String>) {
        let found = peek(params, Some(key), true);
        (
            found.target.map(Cow::into_owned),
            found.traceparent.map(Cow::into_owned),
        )
    }

    #[test]
    fn finds_the_target_and_the_traceparent_anywhere() {
        let params = r#"{"arguments":{"name":"inner","list":[1,{"x":"}"}],"s":"a\"b"},
            "name" : "add", "_meta":{"progressToken":3,"traceparent":"00-ab"}}"#;
        assert_eq!(
            both(params, "name"),
            (Some("add".into()), Some("00-ab".into()))
        );
        let params = r#"{"_meta":{"traceparent":"tp"},"uri":"file:///x","name":"n"}"#;
        assert_eq!(
            both(params, "uri"),
            (Some("file:///x".into()), Some("tp".into()))
        );
    }

    #[test]
    fn decodes_escaped_values_and_ignores_other_types() {
        assert_eq!(
            both(r#"{"name":"a\u0062c"}"#, "name").0.as_deref(),
            Some("abc")
        );
        assert_eq!(both(r#"{"name":5,"uri":"u"}"#, "name").0, None);
        assert_eq!(both(r#"{"name":null}"#, "name").0, None);
        assert_eq!(both(r#"{"name":"é✓"}"#, "name").0.as_deref(), Some("é✓"));
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let params = r#"{"n\u0061me":"add","_meta":{"tr\u0061ceparent":"tp","tracestate":"a=1"}}"#;
        let found = peek(params, Some("name"), true);
        assert_eq!(found.target.as_deref(), Some("add"));
        assert_eq!(found.traceparent.as_deref(), Some("tp"));
        assert_eq!(found.tracestate.as_deref(), Some("a=1"));
        // After the target, and in `_meta` only.
        let params = r#"{"name":"a\u0064d","_meta":{"tr\u0061ceparent":"tp"}}"#;
        assert_eq!(
            both(params, "name"),
            (Some("add".into()), Some("tp".into()))
        );
        assert_eq!(
            both(r#"{"\u0075ri":"file:///x"}"#, "uri").0.as_deref(),
            Some("file:///x")
        );
        // Not wanted, not read.
        assert!(
            peek(r#"{"x\u0031":1,"_meta":{"traceparent":"tp"}}"#, None, false)
                .traceparent
                .is_none()
        );
        // Malformed: nothing.
        assert_eq!(both(r#"{"n\u0061me":"add""#, "name").0, None);
    }

    #[test]
    fn stops_early_and_survives_malformed_input() {
        // Without `_meta`, whatever follows the target is not read.
        assert_eq!(
            both(r#"{"name":"add","arguments":{{{"#, "name")
                .0
                .as_deref(),
            Some("add")
        );
        // The scanner's own tests cover malformed text at large; here, that peek gives up.
        for bad in ["", "[]", r#"{"name":"x"#] {
            assert_eq!(both(bad, "name").0, None, "{bad}");
        }
        assert_eq!(both("{}", "name").0, None);
        assert_eq!(
            both(r#" { "name" : "spaced" } "#, "name").0.as_deref(),
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
    fn a_leading_target_is_read_without_the_scanner() {
        assert_eq!(
            leading_string(r#"{"name":"add","x":1}"#, "name"),
            Some("add")
        );
        assert_eq!(leading_string(r#"{"name":"","x":1}"#, "name"), Some(""));
        assert_eq!(leading_string(r#"{"names":"add"}"#, "name"), None);
        assert_eq!(leading_string(r#"{"name":"a\"b"}"#, "name"), None);
        assert_eq!(leading_string(r#"{"name":"add"#, "name"), None);
        assert_eq!(leading_string(r#"{ "name":"add"}"#, "name"), None);
        assert_eq!(leading_string(r#"{"uri":"a:b"}"#, "uri"), Some("a:b"));
        assert_eq!(leading_string(r#"{"other":"x"}"#, "other"), None);
        // Escaped or spaced: the scanner reads them.
        assert_eq!(
            both(r#"{"name":"a\"b"}"#, "name").0.as_deref(),
            Some("a\"b")
        );
    }

    #[test]
    fn without_a_target_only_meta_is_read() {
        let found = peek(r#"{"name":"x","_meta":{"traceparent":"tp"}}"#, None, true);
        assert!(found.target.is_none());
        assert_eq!(found.traceparent.as_deref(), Some("tp"));
        assert!(peek(r#"{"name":"x"}"#, None, true).traceparent.is_none());
    }

    #[test]
    fn meta_is_left_unread_when_no_one_wants_the_trace() {
        let params = r#"{"_meta":{"traceparent":"tp"},"name":"add"}"#;
        let found = peek(params, Some("name"), false);
        assert_eq!(found.target.as_deref(), Some("add"));
        assert!(found.traceparent.is_none());
        let found = peek(
            r#"{"name":"add","_meta":{"traceparent":"tp"}}"#,
            Some("name"),
            false,
        );
        assert_eq!(found.target.as_deref(), Some("add"));
        assert!(found.traceparent.is_none());
    }
}
