//! Tools: definition, argument validation, typed handlers.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::violations::{
    MAX_LISTED_ARGUMENT_BYTES, MAX_VIOLATION_CHARS, cut, first_violation, violations,
};
use super::{BoxFuture, IntoToolResult, Json, header_params, schema};
use crate::context::RequestContext;
use crate::jsonrpc::ErrorObject;
use crate::protocol::{self, CallToolResult, ContentBlock, Icon, ToolAnnotations};

/// What an erased handler gives back: its future, or why the arguments do not deserialise.
type HandlerStart = Result<BoxFuture<'static, Result<CallToolResult, ErrorObject>>, String>;

/// The erased handler every tool is stored as: it reads the raw arguments object itself, so a
/// typed handler deserialises straight from the request's bytes (no `Value` in between).
/// Takes the arguments object as JSON text (valid: read from a parsed request).
type ToolFn = dyn Fn(&str, RequestContext) -> HandlerStart + Send + Sync;

/// A tool: its definition, compiled schemas and handler. Build one with [`Tool::new`].
///
/// ```
/// use mcp_core::{Json, RequestContext, Tool};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AddArgs { a: f64, b: f64 }
///
/// let add = Tool::new("add")
///     .description("Adds two numbers")
///     .handler(|Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
///         (args.a + args.b).to_string()
///     });
/// assert_eq!(add.name(), "add");
/// ```
#[derive(Clone)]
pub struct Tool {
    pub(crate) inner: Arc<ToolInner>,
}

pub(crate) struct ToolInner {
    pub(crate) definition: protocol::Tool,
    pub(crate) input_validator: jsonschema::Validator,
    pub(crate) output_validator: Option<jsonschema::Validator>,
    /// Whether clients of 2025-11-25 and earlier are shown the output schema (only object
    /// schemas fit their schemas): only they must then get structured content.
    pub(crate) legacy_output_schema: bool,
    pub(crate) handler: Box<ToolFn>,
    /// Arguments mirrored into `Mcp-Param-<name>` headers.
    pub(crate) header_params: Vec<header_params::HeaderParam>,
    /// A task is created only when the handler asks (`ctx.escalate_to_task()`).
    pub(crate) defer_task: bool,
    /// Validate against the input schema before the handler runs: the schema was given by
    /// hand, the handler takes raw arguments, or the schema says more than the argument type
    /// (see `serde_checked`). Otherwise deserialising the type is the check, and the validator
    /// only explains a failure.
    pub(crate) validate_first: bool,
    /// The input schema has `integer`s, which an integral float (`5.0`) satisfies and serde's
    /// integer types refuse: such arguments are rewritten first (see `integral`).
    pub(crate) integer_arguments: bool,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.inner.definition.name)
            .finish_non_exhaustive()
    }
}

/// Configures a tool before its handler is attached.
///
/// A schema given with [`input_schema`](Self::input_schema) is advertised as given and
/// checked before the handler runs; [`output_schema_of`](Self::output_schema_of) derives the
/// output's schema from a type; [`annotations`](Self::annotations) are hints for clients.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::protocol::ToolAnnotations;
/// use mcp_core::{Json, RequestContext, Router, Tool};
/// use serde_json::json;
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Stock { units: u32 }
///
/// let schema = json!({"type": "object", "additionalProperties": false,
///     "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"}}, "required": ["sku"]});
/// let tool = Tool::new("stock")
///     .input_schema(schema.clone())
///     .output_schema_of::<Stock>()
///     .annotations(ToolAnnotations { read_only_hint: Some(true), ..Default::default() })
///     .raw_handler(|_, _: RequestContext| async { Json(Stock { units: 3 }) });
/// let router = Router::builder().tool(tool).build();
///
/// let listed = &call(&router, "tools/list", json!({})).await["tools"][0];
/// assert_eq!(listed["inputSchema"], schema);
/// assert_eq!(listed["outputSchema"]["properties"]["units"]["type"], "integer");
/// assert_eq!(listed["annotations"], json!({"readOnlyHint": true}));
/// // Arguments the schema refuses never reach the handler: the model is told why.
/// let refused = call(&router, "tools/call", json!({"name": "stock", "arguments": {"sku": "nope"}})).await;
/// assert_eq!(refused["isError"], true);
/// # }
/// # async fn call(router: &mcp_core::Router, method: &str, params: serde_json::Value) -> serde_json::Value {
/// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
/// #     use tower::ServiceExt;
/// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
/// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
/// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// #     serde_json::from_slice::<serde_json::Value>(&response.to_vec()).unwrap()["result"].clone()
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ToolBuilder {
    definition: protocol::Tool,
    raw_input_schema: bool,
    defer_task: bool,
}

impl Tool {
    /// Starts a tool named `name`.
    // `Tool::new(..)...handler(..)` reads best; the builder finishes into `Self`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> ToolBuilder {
        ToolBuilder {
            definition: protocol::Tool::new(name, serde_json::json!({ "type": "object" })),
            raw_input_schema: false,
            defer_task: false,
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.inner.definition.name
    }

    /// The definition advertised in `tools/list`.
    pub fn definition(&self) -> &protocol::Tool {
        &self.inner.definition
    }

    /// Checks the `Mcp-Param-*` headers of a modern request against the arguments they
    /// mirror (properties annotated with `x-mcp-header`, at any depth).
    pub(crate) fn check_header_params(
        &self,
        headers: &http::HeaderMap,
        arguments: &str,
    ) -> Result<(), ErrorObject> {
        if self.inner.header_params.is_empty() {
            return Ok(());
        }
        let arguments = parse_arguments(arguments).map_err(|why| {
            ErrorObject::invalid_params(format!("Invalid params for tools/call: {why}"))
        })?;
        header_params::check(&self.inner.header_params, headers, &arguments)
    }

    /// Validates `arguments` (a JSON object's text) and runs the handler.
    pub(crate) async fn call(
        &self,
        arguments: &str,
        ctx: RequestContext,
    ) -> Result<CallToolResult, ErrorObject> {
        let version = ctx.protocol_version();
        let integral = (self.inner.integer_arguments && super::integral::may_hold_float(arguments))
            .then(|| super::integral::as_integers(arguments))
            .flatten();
        let arguments = integral.as_deref().unwrap_or(arguments);
        if self.inner.validate_first {
            let value = match parse_arguments(arguments) {
                Ok(value) => value,
                Err(why) => return refuse_arguments(self.unreadable(&why), version),
            };
            if !self.inner.input_validator.is_valid(&value) {
                let text = self.invalid_arguments(&value, arguments.len());
                return refuse_arguments(text, version);
            }
        }
        let handler = match (self.inner.handler)(arguments, ctx) {
            Ok(handler) => handler,
            Err(why) => return refuse_arguments(self.undeserialisable(arguments, &why), version),
        };
        let mut result = handler.await?;
        if let Some(validator) = &self.inner.output_validator
            && result.is_error != Some(true)
        {
            self.check_output(validator, result.structured_content.as_ref(), version)?;
        }
        if result.structured_content.is_some() && result.content.is_empty() {
            // Mirror structured output as text for clients that read only `content`.
            let text = serde_json::to_string(&result.structured_content).unwrap_or_default();
            result.content.push(ContentBlock::text(text));
        }
        result.make_readable_by(version);
        Ok(result)
    }

    /// Checks a successful result against the output schema. A client shown the schema must
    /// get structured content that conforms (MCP: "Servers MUST provide structured results
    /// that conform to this schema"); a legacy client not shown it may get none.
    fn check_output(
        &self,
        validator: &jsonschema::Validator,
        structured: Option<&Value>,
        version: crate::ProtocolVersion,
    ) -> Result<(), ErrorObject> {
        let Some(structured) = structured else {
            // 2025-03-26 has no output schemas: its clients are owed no structured content.
            let owed = version.is_modern()
                || (self.inner.legacy_output_schema && version.has_structured_output());
            if owed {
                return Err(ErrorObject::internal_error(format!(
                    "Tool {} declares an outputSchema but returned no structured content",
                    self.name()
                )));
            }
            return Ok(());
        };
        // Checked only where it is sent: 2025-03-26 clients get none (it is stripped).
        if !version.has_structured_output() || validator.is_valid(structured) {
            return Ok(());
        }
        Err(ErrorObject::internal_error(format!(
            "Tool {} produced structured content that does not match its outputSchema: {}",
            self.name(),
            violations(validator, structured).join("; ")
        )))
    }

    /// The handler's type refused the arguments: list the schema's violations when there are
    /// any (the validator did not run first), or say what serde said.
    fn undeserialisable(&self, arguments: &str, why: &str) -> String {
        if !self.inner.validate_first {
            let value = match parse_arguments(arguments) {
                Ok(value) => value,
                Err(why) => return self.unreadable(&why),
            };
            if !self.inner.input_validator.is_valid(&value) {
                return self.invalid_arguments(&value, arguments.len());
            }
        }
        self.unreadable(why)
    }

    /// Arguments refused for `why` (a parse or deserialisation message, cut short).
    fn unreadable(&self, why: &str) -> String {
        format!(
            "Invalid arguments for tool {}: {}",
            self.name(),
            cut(why, MAX_VIOLATION_CHARS)
        )
    }

    /// The schema violations of `arguments` (`size` bytes of text), with their JSON paths:
    /// the first few, or only the first of large arguments (listing errors makes the validator
    /// collect every one first: millions for an array of millions of wrong items).
    fn invalid_arguments(&self, arguments: &Value, size: usize) -> String {
        let mut text = format!("Invalid arguments for tool {}:", self.name());
        let listed = if size > MAX_LISTED_ARGUMENT_BYTES {
            first_violation(&self.inner.input_validator, arguments)
        } else {
            violations(&self.inner.input_validator, arguments)
        };
        for error in listed {
            text.push_str("\n- ");
            text.push_str(&error);
        }
        text
    }
}

/// Invalid arguments, answered as `version` says ([`has_argument_errors_as_results`]): an
/// `isError` result, or -32602 with the same text.
///
/// [`has_argument_errors_as_results`]: crate::ProtocolVersion::has_argument_errors_as_results
fn refuse_arguments(
    text: String,
    version: crate::ProtocolVersion,
) -> Result<CallToolResult, ErrorObject> {
    if version.has_argument_errors_as_results() {
        Ok(CallToolResult::error_text(text))
    } else {
        Err(ErrorObject::invalid_params(text))
    }
}

/// The arguments as a JSON tree, for the validator. The message parser only scanned them: a
/// number out of range or nesting past serde_json's depth limit shows up here, refused as
/// invalid arguments (a tool error where the version says so, as any other).
fn parse_arguments(arguments: &str) -> Result<Value, String> {
    serde_json::from_str(arguments).map_err(|e| crate::jsonrpc::serde_message(&e))
}

impl ToolBuilder {
    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.definition.title = Some(title.into());
        self
    }

    /// What the tool does, for the model.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition.description = Some(description.into());
        self
    }

    /// Behaviour hints (read-only, destructive, idempotent, open-world).
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.definition.annotations = Some(annotations);
        self
    }

    /// Adds an icon.
    pub fn icon(mut self, icon: Icon) -> Self {
        self.definition
            .icons
            .get_or_insert_with(Vec::new)
            .push(icon);
        self
    }

    /// Gives the input schema as raw JSON; it is advertised as given (`$schema`, `$defs`,
    /// `additionalProperties` included; only a `true` or `false` property schema is written
    /// as the equivalent object, as MCP requires) and used for validation. It must have
    /// `"type": "object"` at its root, as MCP requires: attaching the handler panics otherwise.
    ///
    /// A property annotated `"x-mcp-header": "Name"` (at any depth, every step a `properties`
    /// key) is mirrored by 2026-07-28 clients into an `Mcp-Param-Name` header, which the
    /// router checks against the argument. Attaching the handler panics when an annotation
    /// breaks the spec's rules (clients would refuse the tool): a name that is not an HTTP
    /// token, a name used twice, a property without a primitive `type` of its own (a derived
    /// enum is a `$ref`: `#[schemars(inline)]` on it puts its schema in place), or an
    /// annotation under `items`, `anyOf` and the like.
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.definition.input_schema = schema;
        self.raw_input_schema = true;
        self
    }

    /// Declares the structured output's schema as raw JSON. 2026-07-28 takes any schema;
    /// clients of 2025-11-25 and earlier only an object schema (`"type": "object"`), so they
    /// are shown any other without it, and get such output only in the content blocks.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.definition.output_schema = Some(schema);
        self
    }

    /// Derives the structured output's schema from `T`: `"type": "object"` at its root when
    /// every value of `T` is an object (an enum of struct variants too), and otherwise as `T`
    /// is (see [`ToolBuilder::output_schema`] for what older clients are shown then).
    pub fn output_schema_of<T: schemars::JsonSchema>(self) -> Self {
        self.output_schema(schema::output_schema_of::<T>())
    }

    /// Sets `_meta` on the definition.
    pub fn meta(mut self, meta: serde_json::Map<String, Value>) -> Self {
        self.definition.meta = Some(meta);
        self
    }

    /// Sets the definition's `execution` (task support).
    pub fn execution(mut self, execution: protocol::ToolExecution) -> Self {
        self.definition.execution = Some(execution);
        self
    }

    /// With task support (see [`ToolBuilder::execution`]), a task-augmented call first runs
    /// as a plain request — it may ask for input, each answer round a retry — and becomes a
    /// task only when the handler calls
    /// [`RequestContext::escalate_to_task`](crate::RequestContext::escalate_to_task)
    /// (modern era; legacy task calls start as tasks at once).
    pub fn defer_task_creation(mut self) -> Self {
        self.defer_task = true;
        self
    }

    /// Attaches a handler taking typed arguments; the input schema is derived from `A`
    /// unless one was given with [`ToolBuilder::input_schema`].
    ///
    /// `A` is deserialised straight from the request's bytes. A derived schema that only
    /// restates the type is checked by that deserialisation itself; one with constraints serde
    /// does not know (`#[schemars(range(..), length(..), regex(..))]`, a hand-written schema) is
    /// validated before the handler runs. Either way a refusal is an `isError` result listing
    /// every violation with its JSON path.
    ///
    /// # Panics
    ///
    /// When `A`'s schema is not an object's (MCP requires `"type": "object"`): arguments are
    /// a struct with named fields, not `()`, a string or a unit struct. A tool without
    /// arguments takes an empty struct with braces:
    ///
    /// ```
    /// use mcp_core::{Json, RequestContext, Tool};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct NoArgs {}
    ///
    /// let now = Tool::new("now").handler(|Json(NoArgs {}): Json<NoArgs>, _: RequestContext| async {
    ///     "12:00"
    /// });
    /// assert_eq!(now.definition().input_schema["type"], "object");
    /// ```
    pub fn handler<A, F, Fut, R>(mut self, handler: F) -> Tool
    where
        A: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        F: Fn(Json<A>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        if !self.raw_input_schema {
            self.definition.input_schema = schema::schema_of::<A>();
        }
        let validate_first = self.raw_input_schema
            || !super::serde_checked::serde_checks_everything(&self.definition.input_schema);
        let handler: Box<ToolFn> = Box::new(move |arguments, ctx| {
            let args = serde_json::from_str::<A>(arguments)
                .map_err(|e| crate::jsonrpc::serde_message(&e))?;
            let future = handler(Json(args), ctx);
            Ok(Box::pin(async move { future.await.into_tool_result() }))
        });
        self.finish(handler, validate_first, true)
    }

    /// Attaches a handler taking the raw arguments object (validated against the schema
    /// given with [`ToolBuilder::input_schema`], `{"type":"object"}` by default).
    pub fn raw_handler<F, Fut, R>(self, handler: F) -> Tool
    where
        F: Fn(serde_json::Map<String, Value>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let handler: Box<ToolFn> = Box::new(move |arguments, ctx| {
            let arguments = serde_json::from_str::<serde_json::Map<String, Value>>(arguments)
                .map_err(|e| crate::jsonrpc::serde_message(&e))?;
            let future = handler(arguments, ctx);
            Ok(Box::pin(async move { future.await.into_tool_result() }))
        });
        self.finish(handler, true, false)
    }

    /// Builds the tool; `typed`: its handler deserialises a Rust type (whose integer fields
    /// refuse `5.0`), not the raw arguments.
    fn finish(mut self, handler: Box<ToolFn>, validate_first: bool, typed: bool) -> Tool {
        if !is_conventional_name(&self.definition.name) {
            // A SHOULD of 2025-11-25, so a warning: some clients may refuse or mangle it.
            tracing::warn!(
                tool = %self.definition.name,
                "tool names should be 1 to 128 characters of A-Z a-z 0-9 _ - . (MCP 2025-11-25)"
            );
        }
        schema::object_property_schemas(&mut self.definition.input_schema);
        if let Some(output) = &mut self.definition.output_schema {
            schema::object_property_schemas(output);
        }
        // Every version's schema requires it: a tool without it would make each
        // `tools/list` answer invalid, so it is refused here, once, like a schema that does
        // not compile.
        assert!(
            self.definition.input_schema.get("type") == Some(&Value::from("object")),
            "tool {}: the input schema must have \"type\": \"object\" at its root (MCP requires \
             it); typed arguments are a struct with named fields (`struct NoArgs {{}}` for none)",
            self.definition.name
        );
        let input_validator = compile(&self.definition.input_schema).unwrap_or_else(|e| {
            panic!(
                "tool {}: the input schema does not compile: {e}",
                self.definition.name
            )
        });
        let output_validator = self.definition.output_schema.as_ref().map(|schema| {
            compile(schema).unwrap_or_else(|e| {
                panic!(
                    "tool {}: the output schema does not compile: {e}",
                    self.definition.name
                )
            })
        });
        let header_params =
            header_params::header_params(&self.definition.name, &self.definition.input_schema);
        let legacy_output_schema =
            output_validator.is_some() && self.definition.legacy_view().is_none();
        let integer_arguments = typed
            && self
                .definition
                .input_schema
                .to_string()
                .contains(r#""integer""#);
        Tool {
            inner: Arc::new(ToolInner {
                legacy_output_schema,
                header_params,
                defer_task: self.defer_task,
                validate_first,
                integer_arguments,
                definition: self.definition,
                input_validator,
                output_validator,
                handler,
            }),
        }
    }
}

/// Whether `name` follows the tool name rules of 2025-11-25: 1 to 128 characters, each
/// one of A-Z, a-z, 0-9, `_`, `-` and `.`.
fn is_conventional_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::is_conventional_name;

    #[test]
    fn tool_names_are_checked_against_the_2025_11_25_rules() {
        for name in [
            "add",
            "get_user",
            "DATA_EXPORT_v2",
            "admin.tools.list",
            "a-b",
            "x",
        ] {
            assert!(is_conventional_name(name), "{name}");
        }
        let long = "a".repeat(128);
        assert!(is_conventional_name(&long));
        for name in ["", "with space", "a,b", "naïve", "a/b", "emoji🙂", "tab\t"] {
            assert!(!is_conventional_name(name), "{name}");
        }
        assert!(!is_conventional_name(&"a".repeat(129)));
    }
}
