//! `mcp_core::scan::Scanner` against serde_json: on any text the scanner must not panic or
//! loop, and on a valid JSON object it must see the members serde_json sees; so must the
//! params outline (`mcp_core::jsonrpc::Params::outline`) built on it.

use mcp_core::jsonrpc::{Member, Params};
use mcp_core::scan::{Flow, Scanner};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Scans `data` as a JSON object member by member (each value read raw, or as a string, or
/// skipped) and, when serde_json reads `data` as an object, checks that the scan found the
/// same members with the same values.
///
/// ```
/// mcp_fuzz::scan(br#"{"a":[1,"]"],"b":"x\u0041","c":{"d":null}}"#);
/// mcp_fuzz::scan(b"{\"unterminated");
/// ```
pub fn scan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let raw = Scanner::new(text).raw_value();
    let strings = members(text, Read::StringOrSkip);
    let skipped = members(text, Read::Skip);
    let scanned = members(text, Read::Raw);
    let expected = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        // The scanner validates only what it reads: on invalid text any answer is allowed.
        Err(_) => return,
    };
    assert_eq!(
        raw.map(str::trim),
        Some(text.trim()),
        "raw_value of a whole valid text"
    );
    let Value::Object(expected) = expected else {
        assert!(
            scanned.is_none(),
            "an object scan of a non-object succeeded"
        );
        return;
    };
    let scanned = scanned.expect("a valid object was not scanned");
    assert_eq!(as_object(&scanned), expected, "members read raw");
    let strings = strings.expect("a valid object was not scanned for strings");
    assert_eq!(strings.len(), scanned.len(), "members read as strings");
    for ((key, string), (scanned_key, raw)) in strings.iter().zip(&scanned) {
        assert_eq!(key, scanned_key, "member order");
        let value = serde_json::from_str::<Value>(raw.as_deref().unwrap_or_default()).ok();
        match value {
            Some(Value::String(expected)) => {
                assert_eq!(
                    string.as_ref(),
                    Some(&expected),
                    "string_or_skip of {key:?}"
                );
            }
            _ => assert_eq!(string, &None, "string_or_skip of the non-string {key:?}"),
        }
    }
    let skipped = skipped.expect("a valid object was not scanned with skips");
    assert_eq!(
        skipped.iter().map(|(key, _)| key).collect::<Vec<_>>(),
        scanned.iter().map(|(key, _)| key).collect::<Vec<_>>(),
        "keys seen when every value is skipped"
    );
    outline(text, &expected);
}

/// The members an outline records, with their paths in the object.
const OUTLINED: [(Member, &str, Option<&str>); 12] = [
    (Member::Name, "name", None),
    (Member::Uri, "uri", None),
    (Member::TaskId, "taskId", None),
    (Member::ProtocolVersion, "protocolVersion", None),
    (Member::Arguments, "arguments", None),
    (Member::Meta, "_meta", None),
    (
        Member::MetaProtocolVersion,
        "_meta",
        Some("io.modelcontextprotocol/protocolVersion"),
    ),
    (
        Member::MetaClientCapabilities,
        "_meta",
        Some("io.modelcontextprotocol/clientCapabilities"),
    ),
    (Member::MetaProgressToken, "_meta", Some("progressToken")),
    (
        Member::MetaLogLevel,
        "_meta",
        Some("io.modelcontextprotocol/logLevel"),
    ),
    (Member::MetaTraceparent, "_meta", Some("traceparent")),
    (Member::MetaTracestate, "_meta", Some("tracestate")),
];

/// The outline of the valid object `text` (read by serde_json as `expected`): absent only
/// when an escape is written, and otherwise the members serde_json's map holds (the last of
/// a repeated key), strings decoded as serde_json decodes them.
fn outline(text: &str, expected: &Map<String, Value>) {
    let params = Params::from(RawValue::from_string(text.to_owned()).expect("valid JSON"));
    let Some(outline) = params.outline() else {
        assert!(text.contains('\\'), "no outline of a text without escapes");
        return;
    };
    for (member, key, meta_key) in OUTLINED {
        let value = match meta_key {
            None => expected.get(key),
            Some(meta_key) => expected
                .get(key)
                .and_then(Value::as_object)
                .and_then(|meta| meta.get(meta_key)),
        };
        let raw = outline.raw(member);
        let read = raw.map(|raw| {
            serde_json::from_str::<Value>(raw)
                .unwrap_or_else(|error| panic!("outlined {member:?} {raw:?}: {error}"))
        });
        assert_eq!(read.as_ref(), value, "outlined {member:?}");
        assert_eq!(
            outline.string(member).as_deref(),
            value.and_then(Value::as_str),
            "outlined string {member:?}"
        );
        // A string written without escapes is plain, and its text is its value.
        let unescaped_string = raw.filter(|raw| raw.starts_with('"') && !raw.contains('\\'));
        match outline.plain_string(member) {
            Some(plain) => {
                assert_eq!(
                    Some(plain),
                    value.and_then(Value::as_str),
                    "plain {member:?}"
                );
            }
            None => assert!(unescaped_string.is_none(), "{member:?} not plain"),
        }
    }
}

#[derive(Clone, Copy)]
enum Read {
    Raw,
    StringOrSkip,
    Skip,
}

/// The object's members in order, keys decoded; values as `read` gets them.
fn members(text: &str, read: Read) -> Option<Vec<(String, Option<String>)>> {
    let mut found = Vec::new();
    Scanner::new(text).object(|scanner, key| {
        let name = if key.escaped {
            serde_json::from_str::<String>(&format!("\"{}\"", key.raw)).ok()?
        } else {
            key.raw.to_owned()
        };
        let value = match read {
            Read::Raw => Some(scanner.raw_value()?.to_owned()),
            Read::StringOrSkip => scanner.string_or_skip()?.map(Into::into),
            Read::Skip => {
                scanner.skip_value()?;
                None
            }
        };
        found.push((name, value));
        Some(Flow::Continue)
    })?;
    Some(found)
}

/// Raw members as serde_json's map: a repeated key keeps its last value, as serde_json does.
fn as_object(members: &[(String, Option<String>)]) -> Map<String, Value> {
    members
        .iter()
        .map(|(key, raw)| {
            let raw = raw.as_deref().expect("raw members have values");
            let value = serde_json::from_str(raw)
                .unwrap_or_else(|error| panic!("raw value {raw:?} of {key:?}: {error}"));
            (key.clone(), value)
        })
        .collect()
}
