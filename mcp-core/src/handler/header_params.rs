//! Tool arguments mirrored into `Mcp-Param-*` headers (2026-07-28, `x-mcp-header`): read from
//! the input schema once, when the tool is built, and checked against each modern call.
//!
//! The annotation may sit on a property at any depth, as long as every step from the schema's
//! root is a `properties` key: the header mirrors the argument value at that exact path.

use serde_json::Value;

use crate::jsonrpc::ErrorObject;

/// The schema keyword that mirrors a property into a header.
const ANNOTATION: &str = "x-mcp-header";

/// Schemas nested deeper are not looked into: no real argument is nested this far, and a
/// schema built in code (not parsed) has no depth limit of its own.
const MAX_DEPTH: usize = 64;

/// One mirrored argument.
#[derive(Debug)]
pub(crate) struct HeaderParam {
    /// The property names from the arguments' root to the value.
    path: Box<[String]>,
    /// `mcp-param-<name>`, lower case (header names compare case-insensitively).
    header: String,
}

impl HeaderParam {
    /// The argument's path as messages name it: `region`, or `config.region` when nested.
    fn argument(&self) -> String {
        self.path.join(".")
    }

    /// The argument's value; `None` when it, or an object on its path, is absent.
    fn value_in<'a>(&self, arguments: &'a Value) -> Option<&'a Value> {
        self.path
            .iter()
            .try_fold(arguments, |value, step| value.get(step))
    }
}

/// The mirrored arguments of a tool's input schema.
///
/// # Panics
///
/// When an annotation breaks the rules of 2026-07-28, which make clients refuse the whole
/// tool: a header name that is not an HTTP token, the same name twice (in any case), a
/// property whose type is not a primitive one, or an annotation that is not reachable from
/// the root through `properties` alone (under `items`, `anyOf`, `$defs`...).
pub(crate) fn header_params(tool: &str, schema: &Value) -> Vec<HeaderParam> {
    let mut walk = Walk {
        tool,
        pointer: String::new(),
        path: Vec::new(),
        depth: 0,
        found: Vec::new(),
    };
    walk.schema(schema, true);
    let found = walk.found;
    let mut names: Vec<&str> = found.iter().map(|param| param.header.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        panic!(
            "tool {tool}: two arguments are mirrored into the same header {} (`{ANNOTATION}` \
             names compare case-insensitively)",
            pair[0]
        );
    }
    found
}

/// One walk over an input schema's subschemas, looking for annotations: only the keywords
/// that hold schemas are looked into (data such as `const`, `default`, `examples`,
/// `dependentRequired` or vendor metadata may hold the same key without meaning anything).
struct Walk<'a> {
    tool: &'a str,
    /// The JSON pointer of the schema being looked at, for messages.
    pointer: String,
    /// The property names from the root to it, while every step was a `properties` key.
    path: Vec<String>,
    /// How many schemas deep it is.
    depth: usize,
    found: Vec<HeaderParam>,
}

impl Walk<'_> {
    /// Looks at `schema`, which `reachable` says is reached from the root through `properties`
    /// alone (its argument path is then [`path`](Self::path)).
    fn schema(&mut self, schema: &Value, reachable: bool) {
        let Value::Object(members) = schema else {
            return;
        };
        if let Some(annotation) = members.get(ANNOTATION) {
            if !reachable || self.path.is_empty() {
                self.stray();
            }
            self.mirror(schema, annotation);
        }
        if self.depth >= MAX_DEPTH {
            return;
        }
        for (key, child) in members {
            match (key.as_str(), child) {
                ("properties", Value::Object(map)) => {
                    for (name, property) in map {
                        self.below(&[key, name], property, reachable.then_some(name));
                    }
                }
                // Maps of names to schemas.
                (
                    "patternProperties" | "$defs" | "definitions" | "dependentSchemas"
                    | "dependencies",
                    Value::Object(map),
                ) => {
                    for (name, schema) in map {
                        self.below(&[key, name], schema, None);
                    }
                }
                // Lists of schemas.
                ("allOf" | "anyOf" | "oneOf" | "prefixItems" | "items", Value::Array(list)) => {
                    for (index, schema) in list.iter().enumerate() {
                        self.below(&[key, &index.to_string()], schema, None);
                    }
                }
                // One schema.
                (
                    "items"
                    | "additionalItems"
                    | "unevaluatedItems"
                    | "contains"
                    | "additionalProperties"
                    | "unevaluatedProperties"
                    | "propertyNames"
                    | "not"
                    | "if"
                    | "then"
                    | "else",
                    Value::Object(_),
                ) => self.below(&[key], child, None),
                _ => {}
            }
        }
    }

    /// Looks at `child`, found at `steps` below the current schema; `property` is its name when
    /// it is a property of a schema reached through `properties` alone.
    fn below(&mut self, steps: &[&str], child: &Value, property: Option<&str>) {
        let len = self.pointer.len();
        self.depth += 1;
        for step in steps {
            self.pointer.push('/');
            self.pointer.push_str(&escape_pointer(step));
        }
        match property {
            Some(name) => {
                self.path.push(name.to_owned());
                self.schema(child, true);
                self.path.pop();
            }
            None => self.schema(child, false),
        }
        self.depth -= 1;
        self.pointer.truncate(len);
    }

    /// Records the annotated property at the current path, or panics saying what is wrong.
    fn mirror(&mut self, property: &Value, annotation: &Value) {
        let tool = self.tool;
        let argument = self.path.join(".");
        let Some(header) = annotation.as_str().filter(|name| is_token(name)) else {
            panic!(
                "tool {tool}: argument {argument}: `{ANNOTATION}` must be an HTTP token \
                 (letters, digits and !#$%&'*+-.^_`|~), not {annotation}"
            );
        };
        if !has_primitive_type(property) {
            let hint = if property.get("$ref").is_some() {
                " (it refers to its type's schema: `#[schemars(inline)]` on that type puts \
                 the schema, and its `type`, in place)"
            } else {
                ""
            };
            panic!(
                "tool {tool}: argument {argument}: only arguments whose schema states a \
                 string, integer, number or boolean `type` can be mirrored into a header \
                 (`{ANNOTATION}`){hint}"
            );
        }
        self.found.push(HeaderParam {
            path: self.path.clone().into_boxed_slice(),
            header: format!("mcp-param-{}", header.to_ascii_lowercase()),
        });
    }

    /// Panics for an annotation not reachable through `properties` alone.
    fn stray(&self) -> ! {
        let (tool, pointer) = (self.tool, &self.pointer);
        let hint = if pointer.starts_with("/$defs/") || pointer.starts_with("/definitions/") {
            " (schemars puts a nested type's schema in `$defs`: `#[schemars(inline)]` on that \
             type puts it in place)"
        } else {
            ""
        };
        panic!(
            "tool {tool}: the `{ANNOTATION}` at {pointer}/{ANNOTATION} is not reachable from the \
             schema's root through `properties` alone, as 2026-07-28 requires{hint}"
        );
    }
}

/// `key` escaped for a JSON pointer (RFC 6901).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// RFC 9110 `token`: one or more of letters, digits and `!#$%&'*+-.^_`|~`.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether the property states a primitive `type` itself: `string`, `integer`, `boolean`, or
/// several of them with `null` (a null argument has no header). `number` is taken too: the
/// spec's text names the other three, but the official conformance suite mirrors a `number`
/// argument and the TypeScript SDK's client accepts one. A property with no `type` of its own
/// (a `$ref`, an `anyOf`, a `serde_json::Value` field) is not taken: clients check the type
/// where the annotation is, and drop a tool that fails.
fn has_primitive_type(property: &Value) -> bool {
    let primitive = |kind: &Value| {
        matches!(
            kind.as_str(),
            Some("string" | "integer" | "number" | "boolean" | "null")
        )
    };
    match property.get("type") {
        Some(Value::Array(kinds)) => {
            kinds.iter().all(primitive) && kinds.iter().any(|kind| kind != "null")
        }
        Some(kind) => primitive(kind) && kind != "null",
        None => false,
    }
}

/// Checks the `Mcp-Param-*` headers of a modern request against the arguments they mirror.
pub(crate) fn check(
    params: &[HeaderParam],
    headers: &http::HeaderMap,
    arguments: &Value,
) -> Result<(), ErrorObject> {
    for param in params {
        // A client omits the header of an absent or `null` argument; the server must not
        // expect it (2026-07-28, "Server Behavior for Custom Headers").
        let Some(value) = param.value_in(arguments).filter(|value| !value.is_null()) else {
            continue;
        };
        let header = &param.header;
        let expected = crate::headers::argument_text(value);
        let mut values = headers.get_all(header.as_str()).iter();
        let sent = values
            .next()
            .map(|v| crate::headers::decode_value(v.as_bytes()));
        if values.next().is_some() {
            return Err(header_mismatch(format!(
                "Header mismatch: the {header} header is repeated"
            )));
        }
        match sent {
            Some(Some(sent)) if sent == expected || crate::headers::same_integer(value, &sent) => {}
            Some(Some(sent)) => {
                return Err(header_mismatch(format!(
                    "Header mismatch: {header} header value '{}' does not match argument '{}'",
                    crate::jsonrpc::quoted(&sent),
                    param.argument()
                )));
            }
            Some(None) => {
                return Err(header_mismatch(format!(
                    "Header mismatch: {header} header is not valid base64, or holds \
                     characters that must be base64-encoded"
                )));
            }
            None => {
                return Err(header_mismatch(format!(
                    "Header mismatch: {header} header is required for argument '{}'",
                    param.argument()
                )));
            }
        }
    }
    Ok(())
}

fn header_mismatch(message: String) -> ErrorObject {
    ErrorObject::new(crate::jsonrpc::codes::HEADER_MISMATCH, message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(schema: &Value) -> Vec<(String, String)> {
        header_params("t", schema)
            .into_iter()
            .map(|param| (param.argument(), param.header))
            .collect()
    }

    #[test]
    fn nested_properties_are_mirrored_by_path() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "config": {"type": "object", "properties": {
                "zone": {"type": ["string", "null"], "x-mcp-header": "Zone"},
                "deep": {"type": "object", "properties": {
                    "n": {"type": "integer", "x-mcp-header": "N"}}}}}}});
        let mut found = paths(&schema);
        found.sort();
        assert_eq!(
            found,
            [
                ("config.deep.n".to_owned(), "mcp-param-n".to_owned()),
                ("config.zone".to_owned(), "mcp-param-zone".to_owned()),
                ("region".to_owned(), "mcp-param-region".to_owned()),
            ]
        );
        let params = header_params("t", &schema);
        let arguments = json!({"config": {"deep": {"n": 3}}});
        let values: Vec<_> = params.iter().map(|p| p.value_in(&arguments)).collect();
        assert!(values.contains(&Some(&json!(3))));
        assert_eq!(values.iter().filter(|v| v.is_none()).count(), 2);
    }

    #[test]
    fn data_that_looks_like_an_annotation_is_not_one() {
        let schema = json!({"type": "object", "properties": {
            "x-mcp-header": {"type": "string", "default": {"x-mcp-header": "No"}},
            "mode": {"enum": [{"x-mcp-header": "No"}]}}});
        assert!(paths(&schema).is_empty());
    }

    fn refusal(schema: Value) -> String {
        let panicked = std::panic::catch_unwind(|| header_params("t", &schema))
            .expect_err("the annotation is refused");
        panicked
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    /// A derived schema puts a nested type in `$defs`, out of reach; inlined, it is mirrored.
    #[test]
    fn derived_nested_types_are_mirrored_when_inlined() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Placement {
            #[schemars(extend("x-mcp-header" = "Region"))]
            region: String,
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct ByRef {
            placement: Placement,
        }
        #[derive(schemars::JsonSchema)]
        #[schemars(inline)]
        #[allow(dead_code)]
        struct InlinePlacement {
            #[schemars(extend("x-mcp-header" = "Region"))]
            region: String,
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Inlined {
            placement: InlinePlacement,
        }
        let message = refusal(crate::schema_of::<ByRef>());
        assert!(message.contains("#[schemars(inline)]"), "{message}");
        assert_eq!(
            paths(&crate::schema_of::<Inlined>()),
            [("placement.region".to_owned(), "mcp-param-region".to_owned())]
        );
    }

    /// The type must be stated where the annotation is: a derived enum (a `$ref`) or an
    /// untyped `Value` field is refused, with the fix for the former; `number` is taken.
    #[test]
    fn the_annotated_property_states_a_primitive_type() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        enum Region {
            Eu,
            Us,
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct ByEnum {
            #[schemars(extend("x-mcp-header" = "Region"))]
            region: Region,
        }
        let message = refusal(crate::schema_of::<ByEnum>());
        assert!(message.contains("#[schemars(inline)]"), "{message}");
        let message = refusal(json!({"type": "object", "properties": {
            "any": {"x-mcp-header": "Any"}}}));
        assert!(
            message.contains("string, integer, number or boolean"),
            "{message}"
        );
        assert_eq!(
            paths(&json!({"type": "object", "properties": {
                "ratio": {"type": "number", "x-mcp-header": "Ratio"}}})),
            [("ratio".to_owned(), "mcp-param-ratio".to_owned())]
        );
    }

    /// Only keywords that hold schemas are looked into: the key in data, or naming a
    /// property in `dependentRequired`, is no annotation.
    #[test]
    fn only_subschemas_are_searched() {
        let schema = json!({"type": "object",
            "properties": {"a": {"type": "string", "examples": [{"x-mcp-header": "No"}]}},
            "dependentRequired": {"x-mcp-header": ["a"]},
            "x-vendor": {"x-mcp-header": "No"}});
        assert!(paths(&schema).is_empty());
    }

    #[test]
    fn broken_annotations_are_refused_with_their_place() {
        let message = refusal(json!({"type": "object", "properties": {
            "r": {"type": "string", "x-mcp-header": "Bad Header"}}}));
        assert!(
            message.contains("HTTP token") && message.contains("argument r"),
            "{message}"
        );
        let message = refusal(json!({"type": "object", "properties": {
            "a": {"type": "string", "x-mcp-header": "Region"},
            "b": {"type": "string", "x-mcp-header": "region"}}}));
        assert!(message.contains("mcp-param-region"), "{message}");
        let message = refusal(json!({"type": "object", "properties": {
            "tags": {"type": "array", "x-mcp-header": "Tags"}}}));
        assert!(
            message.contains("string, integer, number or boolean"),
            "{message}"
        );
        let message = refusal(json!({"type": "object", "properties": {
            "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}}}}));
        assert!(
            message.contains("/properties/list/items/x-mcp-header"),
            "{message}"
        );
        let message = refusal(json!({"type": "object", "anyOf": [{"properties": {
            "r": {"type": "string", "x-mcp-header": "R"}}}]}));
        assert!(
            message.contains("/anyOf/0/properties/r/x-mcp-header"),
            "{message}"
        );
        let message = refusal(json!({"type": "object", "properties": {
            "r": {"type": "string", "x-mcp-header": 5}}}));
        assert!(message.contains("not 5"), "{message}");
    }
}
