//! The checks around a form-mode elicitation: the requested schema must be one the client's
//! version can render (flat primitive properties; multi-select and titled enums only from
//! 2025-11-25), and an accepted answer must match it, as the elicitation page asks servers to
//! validate ("Servers SHOULD validate received data matches the requested schema").

use serde_json::{Map, Value};

use crate::ProtocolVersion;
use crate::protocol::JsonObject;

/// Why `schema` cannot be sent to a client of `version`, if it cannot.
///
/// 2025-06-18 allows string (with `enum` and `enumNames`), number, integer and boolean
/// properties; 2025-11-25 adds titled single-select enums (`oneOf` of `const`/`title`) and
/// multi-select enums (`type: "array"` of enum `items`). Nothing nests.
pub(super) fn unsupported(schema: &JsonObject, version: ProtocolVersion) -> Option<String> {
    if schema.get("type").is_some_and(|t| t != "object") {
        return Some("the requested schema must be of type object".to_owned());
    }
    let properties = match schema.get("properties") {
        None => return None,
        Some(Value::Object(properties)) => properties,
        Some(_) => {
            return Some("`properties` of the requested schema must be an object".to_owned());
        }
    };
    let enums_of_2025_11_25 = version.has_icons();
    for (name, property) in properties {
        let Value::Object(property) = property else {
            return Some(format!("property `{name}` is not a schema object"));
        };
        let kind = property.get("type").and_then(Value::as_str);
        let titled = property.contains_key("oneOf") || property.contains_key("anyOf");
        let problem = match kind {
            Some("string") if titled && !enums_of_2025_11_25 => Some(format!(
                "is a titled single-select enum (oneOf), which {version} clients do not support"
            )),
            Some("string" | "number" | "integer" | "boolean") => None,
            Some("array") if !enums_of_2025_11_25 => Some(format!(
                "is a multi-select enum (an array), which {version} clients do not support"
            )),
            Some("array") if is_enum_items(property.get("items")) => None,
            Some("array") => Some("is an array of something other than enum values".to_owned()),
            Some(other) => Some(format!(
                "is of type {other}: elicitation properties are flat primitives"
            )),
            None => Some("has no type".to_owned()),
        };
        if let Some(problem) = problem {
            return Some(format!(
                "property `{name}` of the requested schema {problem}"
            ));
        }
    }
    None
}

/// Whether a multi-select's `items` are string choices: `{"type":"string","enum":[...]}` or
/// `{"anyOf":[{"const":..,"title":..}, ...]}`.
fn is_enum_items(items: Option<&Value>) -> bool {
    let Some(Value::Object(items)) = items else {
        return false;
    };
    items.contains_key("enum") || items.get("anyOf").is_some_and(Value::is_array)
}

/// Why the accepted `content` does not match `schema`, if it does not. Whatever the schema
/// says, an answer holds strings, numbers, booleans and arrays of strings only
/// (`ElicitResult.content`).
pub(super) fn mismatch(
    schema: &JsonObject,
    content: Option<&Map<String, Value>>,
) -> Option<String> {
    for (name, value) in content.into_iter().flatten() {
        let primitive = match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            Value::Null | Value::Object(_) => false,
        };
        if !primitive {
            return Some(format!(
                "/{name}: answers are strings, numbers, booleans or arrays of strings"
            ));
        }
    }
    let schema = Value::Object(schema.clone());
    let validator = match jsonschema::validator_for(&schema) {
        Ok(validator) => validator,
        // The schema itself is broken: nothing to hold the answer to (and the client
        // rendered it somehow).
        Err(_) => return None,
    };
    let content = Value::Object(content.cloned().unwrap_or_default());
    let errors: Vec<String> = validator
        .iter_errors(&content)
        .take(5)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() { "/" } else { &path };
            format!("{path}: {error}")
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> JsonObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn schemas_are_checked_against_the_clients_version() {
        let flat = object(json!({"type":"object","properties":{
            "name":{"type":"string"},"age":{"type":"integer"},"ok":{"type":"boolean"},
            "color":{"type":"string","enum":["red","blue"],"enumNames":["Red","Blue"]}}}));
        let multi = object(json!({"type":"object","properties":{
            "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}}}));
        let titled = object(json!({"type":"object","properties":{
            "size":{"type":"string","oneOf":[{"const":"s","title":"Small"}]}}}));
        let nested = object(json!({"type":"object","properties":{
            "address":{"type":"object","properties":{"city":{"type":"string"}}}}}));
        let objects = object(json!({"type":"object","properties":{
            "list":{"type":"array","items":{"type":"object"}}}}));
        for version in [ProtocolVersion::V2025_06_18, ProtocolVersion::V2025_11_25] {
            assert_eq!(unsupported(&flat, version), None);
            assert!(unsupported(&nested, version).unwrap().contains("`address`"));
            assert!(unsupported(&objects, version).is_some());
        }
        let old = ProtocolVersion::V2025_06_18;
        assert!(unsupported(&multi, old).unwrap().contains("multi-select"));
        assert!(unsupported(&titled, old).unwrap().contains("titled"));
        let new = ProtocolVersion::V2025_11_25;
        assert_eq!(unsupported(&multi, new), None);
        assert_eq!(unsupported(&titled, new), None);
    }

    #[test]
    fn answers_are_checked_against_the_schema() {
        let schema = object(json!({"type":"object","required":["name"],"properties":{
            "name":{"type":"string"},"age":{"type":"integer","minimum":0}}}));
        let answer = |value: Value| object(value);
        assert_eq!(
            mismatch(&schema, Some(&answer(json!({"name":"Ada"})))),
            None
        );
        let wrong = mismatch(&schema, Some(&answer(json!({"name":42,"age":-1})))).unwrap();
        assert!(wrong.contains("/name") && wrong.contains("/age"), "{wrong}");
        assert!(mismatch(&schema, None).unwrap().contains("name"));
        let nested = answer(json!({"name":"Ada","evil":{"nested":[1]}}));
        assert!(
            mismatch(&schema, Some(&nested))
                .unwrap()
                .starts_with("/evil:")
        );
    }
}
