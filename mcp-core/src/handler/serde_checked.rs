//! Whether deserialising a tool's argument type already checks everything the schema derived
//! from that type says, so the schema validator need only run to explain a failure.
//!
//! A derived schema mostly restates the type (`type`, `properties`, `required`, `enum`,
//! `$ref`...), and serde enforces all of that while it deserialises. Validation attributes
//! (`#[schemars(range(..), length(..), regex(..))]`) and types serde is looser about (sets
//! dedupe instead of refusing `uniqueItems`, `char`'s length) add keywords serde does not
//! check; any keyword outside the known list makes the tool validate every call. Unknown means
//! validate: the fast path is only taken when it is certainly equivalent.

use serde_json::Value;

/// True when `schema` (derived from the handler's argument type) says nothing serde's
/// deserialisation of that type does not already enforce.
pub(crate) fn serde_checks_everything(schema: &Value) -> bool {
    is_plain_schema(schema)
}

fn is_plain_schema(schema: &Value) -> bool {
    match schema {
        Value::Bool(_) => true,
        Value::Object(map) => {
            let format = map.get("format").and_then(Value::as_str);
            map.iter()
                .all(|(keyword, value)| is_plain_keyword(keyword, value, format))
        }
        _ => false,
    }
}

fn is_plain_keyword(keyword: &str, value: &Value, format: Option<&str>) -> bool {
    match keyword {
        // Annotations, and constraints every derived type states and serde enforces.
        "$schema" | "$id" | "$comment" | "$ref" | "title" | "description" | "default"
        | "examples" | "deprecated" | "readOnly" | "writeOnly" | "format" | "type" | "required"
        | "enum" | "const" | "nullable" => true,
        "properties" | "$defs" | "definitions" => value
            .as_object()
            .is_some_and(|schemas| schemas.values().all(is_plain_schema)),
        "items" | "additionalProperties" => is_plain_schema(value),
        "anyOf" | "oneOf" | "allOf" => value
            .as_array()
            .is_some_and(|schemas| schemas.iter().all(is_plain_schema)),
        // The bounds of a fixed-width integer type (`u8`: 0..=255) are serde's too.
        "minimum" | "maximum" => {
            let bounds = format.and_then(integer_bounds);
            let wanted = bounds.map(|(low, high)| if keyword == "minimum" { low } else { high });
            wanted.is_some_and(|bound| value.as_f64() == Some(bound))
        }
        // Extension keywords are annotations to a validator.
        other => other.starts_with("x-"),
    }
}

/// The range of the integer formats schemars writes for Rust's integer types.
fn integer_bounds(format: &str) -> Option<(f64, f64)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "uint8" => (0.0, u8::MAX.into()),
        "uint16" => (0.0, u16::MAX.into()),
        "uint32" => (0.0, u32::MAX.into()),
        // Wider types: only the lower bound is exact as a float; the upper is never written.
        "int64" | "int" => (i64::MIN as f64, f64::NAN),
        "uint64" | "uint" | "uint128" => (0.0, f64::NAN),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::schema_of;

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Add {
        a: f64,
        b: f64,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    enum Unit {
        Celsius,
        Fahrenheit,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Nested {
        inner: Add,
        unit: Unit,
        small: u8,
        count: u32,
        offset: i16,
        big: u64,
        note: Option<String>,
        tags: Vec<String>,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Ranged {
        #[schemars(range(min = 1, max = 10))]
        n: u32,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Patterned {
        #[schemars(regex(pattern = r"^\d+$"))]
        digits: String,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Lengthy {
        #[schemars(length(min = 2))]
        name: String,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Letter {
        c: char,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Unique {
        set: std::collections::HashSet<String>,
    }

    #[test]
    fn types_alone_are_checked_by_serde() {
        assert!(serde_checks_everything(&schema_of::<Add>()));
        assert!(
            serde_checks_everything(&schema_of::<Nested>()),
            "{}",
            schema_of::<Nested>()
        );
    }

    #[test]
    fn constraints_beyond_the_type_need_the_validator() {
        assert!(!serde_checks_everything(&schema_of::<Ranged>()));
        assert!(!serde_checks_everything(&schema_of::<Patterned>()));
        assert!(!serde_checks_everything(&schema_of::<Lengthy>()));
        assert!(!serde_checks_everything(&schema_of::<Letter>()));
        assert!(!serde_checks_everything(&schema_of::<Unique>()));
    }

    #[test]
    fn property_names_are_not_read_as_keywords() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "minimum": {"type": "number"}},
            "required": ["pattern"]
        });
        assert!(serde_checks_everything(&schema));
        let constrained = serde_json::json!({
            "type": "object",
            "properties": {"n": {"type": "integer", "format": "int32", "minimum": 1}}
        });
        assert!(!serde_checks_everything(&constrained));
    }
}
