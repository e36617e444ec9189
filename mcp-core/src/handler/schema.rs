//! The schemas of a tool derived from Rust types ([`schema_of`], and
//! [`ToolBuilder::output_schema_of`]) and written the way MCP's schemas want them.
//!
//! [`ToolBuilder::output_schema_of`]: crate::ToolBuilder::output_schema_of

use serde_json::Value;

/// How deep `$ref`s and combinators are followed before a schema is taken to accept more
/// than objects (a recursive type refers to itself).
const MAX_DEPTH: usize = 16;

/// The JSON schema of `T`, as MCP wants an input schema: an object schema (tool arguments
/// are always an object), `$schema` kept as derived, the Rust type name left out.
///
/// ```
/// #[derive(schemars::JsonSchema)]
/// struct Add { a: f64, b: f64 }
///
/// let schema = mcp_core::schema_of::<Add>();
/// assert_eq!(schema["type"], "object");
/// assert_eq!(schema["required"], serde_json::json!(["a", "b"]));
/// assert!(schema.get("title").is_none());
/// ```
pub fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut schema = derived::<T>();
    if let Value::Object(map) = &mut schema {
        map.entry("type").or_insert_with(|| Value::from("object"));
    }
    schema
}

/// The schema of `T` as an `outputSchema`: like [`schema_of`], but `"type": "object"` is
/// only added at the root when every value it accepts is an object (an enum of struct
/// variants has none of its own, and clients of 2025-11-25 and earlier take only a schema
/// that says so). A schema that accepts other values keeps them: 2026-07-28 takes any
/// structured output, and earlier clients are shown the tool without the schema.
pub(crate) fn output_schema_of<T: schemars::JsonSchema>() -> Value {
    let mut schema = derived::<T>();
    if accepts_only_objects(&schema, &schema, 0)
        && let Value::Object(map) = &mut schema
    {
        map.entry("type").or_insert_with(|| Value::from("object"));
    }
    schema
}

/// schemars' schema of `T` without `title`: the Rust type name is noise for a model.
fn derived<T: schemars::JsonSchema>() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| serde_json::json!({}));
    if let Value::Object(map) = &mut schema {
        map.remove("title");
    }
    integer_bounds(&mut schema);
    schema
}

/// Writes the range of `u32` and `i32` into their schemas, where schemars leaves it out (only
/// their `format` says it, which validators do not enforce): a client that checks its
/// arguments against the schema must not be refused by the type, and an argument out of
/// range is told with its path. (The 64-bit bounds are left out: past 2^53 JavaScript
/// clients cannot even read them.)
fn integer_bounds(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let bounds = match map.get("format").and_then(Value::as_str) {
                Some("int32") => Some((Value::from(i32::MIN), Value::from(i32::MAX))),
                Some("uint32") => Some((Value::from(0), Value::from(u32::MAX))),
                _ => None,
            };
            if let Some((low, high)) = bounds {
                map.entry("minimum").or_insert(low);
                map.entry("maximum").or_insert(high);
            }
            for (keyword, value) in map.iter_mut() {
                // Instances, not schemas.
                if !matches!(keyword.as_str(), "enum" | "const" | "default" | "examples") {
                    integer_bounds(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integer_bounds),
        _ => {}
    }
}

/// Replaces `true` and `false` among the top-level `properties` of a tool's schema with the
/// equivalent `{}` and `{"not": {}}`. Both are JSON Schemas, and schemars writes `true` for
/// a `serde_json::Value` field, but MCP's schemas up to 2025-11-25 take only objects there,
/// and so does the TypeScript SDK's client, which then refuses the whole `tools/list`.
pub(crate) fn object_property_schemas(schema: &mut Value) {
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            if let Value::Bool(accepts) = *property {
                *property = if accepts {
                    serde_json::json!({})
                } else {
                    serde_json::json!({"not": {}})
                };
            }
        }
    }
}

/// Whether `schema` (within the document `root`, for `$ref`s) accepts nothing but objects.
/// Conservative: what it cannot tell is taken to accept more.
fn accepts_only_objects(schema: &Value, root: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let all = |key: &str| {
        schema
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|branches| {
                !branches.is_empty()
                    && branches
                        .iter()
                        .all(|branch| accepts_only_objects(branch, root, depth + 1))
            })
    };
    if let Some(kind) = schema.get("type") {
        return kind == "object";
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return target
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .is_some_and(|target| accepts_only_objects(target, root, depth + 1));
    }
    let any_all_of = schema
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(|parts| {
            parts
                .iter()
                .any(|part| accepts_only_objects(part, root, depth + 1))
        });
    all("oneOf") || all("anyOf") || any_all_of
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Point {
        x: f64,
    }

    /// Internally tagged: every variant is an object.
    #[derive(schemars::JsonSchema)]
    #[serde(tag = "kind")]
    #[allow(dead_code)]
    enum Shape {
        Circle { radius: f64 },
        At(Point),
    }

    /// Untagged, a number or an object.
    #[derive(schemars::JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Reading {
        Plain(f64),
        Detailed { value: f64, unit: String },
    }

    /// Recursive, through `$defs`.
    #[derive(schemars::JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Tree {
        Leaf { value: u32 },
        Node { children: Vec<Tree> },
    }

    fn validates(schema: &Value, instance: Value) -> bool {
        jsonschema::validator_for(schema)
            .unwrap()
            .is_valid(&instance)
    }

    #[test]
    fn enums_of_objects_get_an_object_root() {
        for schema in [output_schema_of::<Shape>(), output_schema_of::<Tree>()] {
            assert_eq!(schema["type"], "object", "{schema}");
            assert!(schema.get("title").is_none(), "{schema}");
        }
        let shape = output_schema_of::<Shape>();
        assert!(validates(
            &shape,
            serde_json::json!({"kind": "Circle", "radius": 1.0})
        ));
        assert_eq!(output_schema_of::<Point>()["type"], "object");
    }

    #[test]
    fn schemas_accepting_more_than_objects_keep_it() {
        let reading = output_schema_of::<Reading>();
        assert!(reading.get("type").is_none(), "{reading}");
        assert!(validates(&reading, serde_json::json!(21.5)));
        assert!(validates(
            &reading,
            serde_json::json!({"value": 21.5, "unit": "C"})
        ));
        assert_eq!(output_schema_of::<Vec<Point>>()["type"], "array");
        assert_eq!(output_schema_of::<f64>()["type"], "number");
        let any = output_schema_of::<Value>();
        assert!(any.is_object() && any.get("type").is_none(), "{any}");
        assert!(validates(&any, serde_json::json!([1, "two"])));
    }
}
