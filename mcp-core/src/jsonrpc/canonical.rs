//! One canonical spelling of JSON text, for digests that must not depend on how a client (or
//! a handler) happened to write it.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// JSON `text` in one spelling whatever its whitespace, key order and string escapes: for
/// digests that must match across rounds (a request's arguments, a question's params).
/// Numbers keep their text: read as floats, integers past 2^53 would round, and one state
/// would open for other amounts. Text that does not parse is kept as it is.
pub(crate) fn canonical_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    match canonical(text, &mut out, 0) {
        Some(()) => out,
        None => text.to_owned(),
    }
}

/// The deepest nesting [`canonical`] follows (serde_json's own limit): it recurses once per
/// level, and reads each level's text again, so client text must not choose its depth.
const MAX_CANONICAL_DEPTH: usize = 128;

/// Writes the canonical spelling of the JSON value `text` (see [`canonical_json`]); `None` for
/// text that is not JSON or nests deeper than [`MAX_CANONICAL_DEPTH`].
fn canonical(text: &str, out: &mut String, depth: usize) -> Option<()> {
    let text = text.trim();
    let nested = matches!(text.as_bytes().first(), Some(b'{' | b'['));
    if nested && depth >= MAX_CANONICAL_DEPTH {
        return None;
    }
    match text.as_bytes().first() {
        Some(b'{') => {
            let members: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
            out.push('{');
            for (index, (key, value)) in members.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(&key).ok()?);
                out.push(':');
                canonical(value.get(), out, depth + 1)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            out.push('[');
            for (index, item) in items.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical(item.get(), out, depth + 1)?;
            }
            out.push(']');
        }
        Some(b'"') => {
            let string: String = serde_json::from_str(text).ok()?;
            out.push_str(&serde_json::to_string(&string).ok()?);
        }
        // A number, `true`, `false` or `null`, as written (checked to be one).
        _ => {
            serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
            out.push_str(text);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_without_rounding_numbers() {
        assert_eq!(
            canonical_json(r#" { "b" : [1, "\u0061"], "a": {"z": null, "y": true} } "#),
            r#"{"a":{"y":true,"z":null},"b":[1,"a"]}"#
        );
        // Integers past 2^53 keep every digit: one state must not open for another amount.
        assert_ne!(
            canonical_json(r#"{"amount":100000000000000000000}"#),
            canonical_json(r#"{"amount":100000000000000000001}"#)
        );
        assert_eq!(canonical_json("{not json"), "{not json");
        // Client text does not choose the recursion's depth: past the limit, kept as sent.
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(canonical_json(&deep), deep);
        let within = format!("{}1{}", "[ ".repeat(100), "]".repeat(100));
        assert_eq!(
            canonical_json(&within),
            format!("{}1{}", "[".repeat(100), "]".repeat(100))
        );
    }
}
