//! Validation of JSON values against the official MCP JSON Schemas in `shared/mcp-schema`.
//!
//! Include it from a test file with `#[path = "support/schema.rs"] mod schema;` (from a
//! test directory's `main.rs`: `"../support/schema.rs"`) and use [`SchemaSet`]. The
//! end-to-end tests (as `mcp_e2e::schema`) and the fuzz checks include this same file.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;

/// The directory holding `<version>/schema.json` (and `2026-07-28/examples`).
pub fn schema_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/mcp-schema"
    ))
}

/// The protocol versions whose schemas are available, oldest first.
pub const VERSIONS: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

/// The versions an envelope is checked against by [`assert_jsonrpc_message`]: the two whose
/// error responses may leave out the id, as a refusal made before the body is read does.
static ENVELOPES: LazyLock<[SchemaSet; 2]> =
    LazyLock::new(|| ["2025-11-25", "2026-07-28"].map(SchemaSet::load));

/// Panics unless `message` (one message, not a batch) is a `JSONRPCMessage` of the 2025-11-25
/// or the 2026-07-28 schema.
pub fn assert_jsonrpc_message(message: &Value) {
    let mut errors = Vec::new();
    for schema in ENVELOPES.iter() {
        match schema.validate("JSONRPCMessage", message) {
            Ok(()) => return,
            Err(found) => errors.push((schema.version().to_owned(), found)),
        }
    }
    panic!("not a JSON-RPC message of MCP's schema: {message}: {errors:?}");
}

/// [`assert_jsonrpc_message`] for a whole payload: the one message, or each item of a batch.
pub fn assert_jsonrpc_payload(payload: &Value) {
    match payload.as_array() {
        Some(items) => items.iter().for_each(assert_jsonrpc_message),
        None => assert_jsonrpc_message(payload),
    }
}

/// One version's schema document with lazily compiled, cached per-definition validators.
pub struct SchemaSet {
    version: String,
    document: Value,
    /// `"$defs"` (2020-12 schemas) or `"definitions"` (draft-07 schemas).
    defs_key: &'static str,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl SchemaSet {
    /// Loads `shared/mcp-schema/<version>/schema.json`. Panics if it is missing or invalid.
    pub fn load(version: &str) -> Self {
        let path = schema_dir().join(version).join("schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let document: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let defs_key = if document.get("$defs").is_some() {
            "$defs"
        } else {
            "definitions"
        };
        Self {
            version: version.to_owned(),
            document,
            defs_key,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The protocol version of this schema.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The whole schema document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The schema of `definition`, if this version defines it.
    pub fn definition(&self, definition: &str) -> Option<&Value> {
        self.document.get(self.defs_key)?.get(definition)
    }

    /// Whether this version defines `definition`.
    pub fn has(&self, definition: &str) -> bool {
        self.definition(definition).is_some()
    }

    /// The names of all definitions of this version.
    pub fn definitions(&self) -> Vec<String> {
        self.document
            .get(self.defs_key)
            .and_then(Value::as_object)
            .map(|defs| defs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Validates `value` against `definition`. Errors read `<instance JSON pointer>: <message>
    /// (at <schema path>)`; a definition missing from this version is an error too.
    pub fn validate(&self, definition: &str, value: &Value) -> Result<(), Vec<String>> {
        let validator = self.validator(definition)?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|error| {
                let path = error.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                format!("{path}: {error} (at {})", error.evaluation_path())
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validator(&self, definition: &str) -> Result<Arc<jsonschema::Validator>, Vec<String>> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = cache.get(definition) {
            return Ok(Arc::clone(validator));
        }
        if !self.has(definition) {
            return Err(vec![format!(
                "schema {} has no definition `{definition}`",
                self.version
            )]);
        }
        // The whole document is the root, so every internal `$ref` resolves; the root `$ref`
        // selects the definition.
        let mut root = self.document.clone();
        root.as_object_mut()
            .expect("schema document is an object")
            .insert(
                "$ref".to_owned(),
                Value::String(format!("#/{}/{definition}", self.defs_key)),
            );
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| {
                vec![format!(
                    "cannot compile {} `{definition}`: {e}",
                    self.version
                )]
            })?;
        let validator = Arc::new(validator);
        cache.insert(definition.to_owned(), Arc::clone(&validator));
        Ok(validator)
    }
}
