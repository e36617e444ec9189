//! The output schema derived from a Rust type ([`ToolBuilder::output_schema_of`]).
//!
//! [`ToolBuilder::output_schema_of`]: crate::ToolBuilder::output_schema_of

use serde_json::Value;

/// How deep `$ref`s and combinators are followed before a schema is taken to accept more
/// than objects (a recursive type refers to itself).
const MAX_DEPTH: usize = 16;

/// The schema of `T` as an `outputSchema`: without the Rust type name as `title`, and with
/// `"type": "object"` at the root when every value it accepts is an object (an enum of
/// struct variants has none of its own, and clients of 2025-11-25 and earlier take only a
/// schema that says so). A schema that accepts other values keeps them: 2026-07-28 takes
/// any structured output, and earlier clients are shown the tool without the schema.
pub(crate) fn output_schema_of<T: schemars::JsonSchema>() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| serde_json::json!({}));
    let only_objects = accepts_only_objects(&schema, &schema, 0);
    if let Value::Object(map) = &mut schema {
        map.remove("title");
        if only_objects {
            map.entry("type").or_insert_with(|| Value::from("object"));
        }
    }
    schema
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
