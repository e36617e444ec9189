//! What a tool handler may return, and how its errors are reported.

use serde::Serialize;

use super::Json;
use crate::jsonrpc::ErrorObject;
use crate::protocol::{CallToolResult, ContentBlock};

/// Anything a tool handler may return: text, content blocks, a [`CallToolResult`],
/// [`Json`] (structured content), or a `Result` of these whose error is a [`ToolFailure`].
///
/// ```
/// use mcp_core::IntoToolResult;
/// use mcp_core::jsonrpc::ErrorObject;
///
/// let text = "hello".into_tool_result().unwrap();
/// assert_eq!(text.content[0].as_text(), Some("hello"));
/// // An error the model should see is a result marked `isError`...
/// let failed = Err::<String, _>("disk full".to_owned()).into_tool_result().unwrap();
/// assert!(failed.is_error());
/// // ...a protocol error stays one.
/// assert!(Err::<String, _>(ErrorObject::internal_error("bug")).into_tool_result().is_err());
/// ```
pub trait IntoToolResult: Send {
    /// Converts into the result (or a protocol error).
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject>;
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Ok(self)
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoToolResult for ContentBlock {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::new(vec![self]))
    }
}

impl IntoToolResult for Vec<ContentBlock> {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::new(self))
    }
}

impl<T: Serialize + Send> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        let value = serde_json::to_value(&self.0).map_err(|e| {
            ErrorObject::internal_error(format!("structured content could not be encoded: {e}"))
        })?;
        Ok(CallToolResult::structured(value))
    }
}

impl IntoToolResult for ErrorObject {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        Err(self)
    }
}

/// A failed tool run becomes an `isError` result whose text is the error's `Display`
/// (so the model can see it), except a protocol [`ErrorObject`], which stays a JSON-RPC error.
impl<R: IntoToolResult, E: ToolFailure> IntoToolResult for Result<R, E> {
    fn into_tool_result(self) -> Result<CallToolResult, ErrorObject> {
        match self {
            Ok(value) => value.into_tool_result(),
            Err(error) => error.into_failure(),
        }
    }
}

/// How an error returned by a tool handler is reported: a `String`, `&str` or [`ToolError`]
/// becomes a result with `isError: true` and the error as text, which the model reads and can
/// act on (where MCP wants a tool's own failures); an [`ErrorObject`] becomes a JSON-RPC
/// error, which the client handles and the model may never see: keep it for requests that
/// are themselves wrong or for faults of the server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::jsonrpc::ErrorObject;
/// use mcp_core::{RequestContext, Router, Tool};
/// use serde_json::json;
///
/// let router = Router::builder()
///     .tool(Tool::new("print").raw_handler(|_, _: RequestContext| async {
///         Err::<String, _>("the printer is out of paper".to_owned())
///     }))
///     .tool(Tool::new("select").raw_handler(|_, _: RequestContext| async {
///         let error = ErrorObject::invalid_params("no such printer").with_data(json!({"printer": 7}));
///         Err::<String, _>(error)
///     }))
///     .build();
///
/// let answer = call(&router, "print", json!({})).await;
/// assert_eq!(answer["result"]["isError"], true);
/// assert_eq!(answer["result"]["content"][0]["text"], "the printer is out of paper");
/// let answer = call(&router, "select", json!({})).await;
/// assert_eq!(answer["error"], json!({"code": -32602, "message": "no such printer", "data": {"printer": 7}}));
/// # }
/// # async fn call(router: &mcp_core::Router, name: &str, arguments: serde_json::Value) -> serde_json::Value {
/// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
/// #     use tower::ServiceExt;
/// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
/// #         "params": {"name": name, "arguments": arguments}});
/// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
/// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// #     serde_json::from_slice(&response.to_vec()).unwrap()
/// # }
/// ```
pub trait ToolFailure: Send {
    /// An `isError` result, or a protocol error.
    fn into_failure(self) -> Result<CallToolResult, ErrorObject>;
}

impl ToolFailure for ErrorObject {
    fn into_failure(self) -> Result<CallToolResult, ErrorObject> {
        Err(self)
    }
}

impl ToolFailure for String {
    fn into_failure(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::error_text(self))
    }
}

impl ToolFailure for &'static str {
    fn into_failure(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::error_text(self))
    }
}

/// Wraps any `std::error::Error` so handlers can use `?` and report it as a tool error
/// (an `isError` result whose text is the error's `Display`; see [`ToolFailure`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{Json, RequestContext, Router, Tool, ToolError};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { number: String }
///
/// let double = Tool::new("double").handler(|Json(args): Json<Args>, _: RequestContext| async move {
///     let n: i64 = args.number.parse()?; // a ParseIntError becomes a ToolError
///     Ok::<_, ToolError>((n * 2).to_string())
/// });
/// let router = Router::builder().tool(double).build();
///
/// let answer = call(&router, "double", json!({"number": "21"})).await;
/// assert_eq!(answer["result"]["content"][0]["text"], "42");
/// let answer = call(&router, "double", json!({"number": "twenty"})).await;
/// assert_eq!(answer["result"]["isError"], true);
/// assert_eq!(answer["result"]["content"][0]["text"], "invalid digit found in string");
/// # }
/// # async fn call(router: &mcp_core::Router, name: &str, arguments: serde_json::Value) -> serde_json::Value {
/// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
/// #     use tower::ServiceExt;
/// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
/// #         "params": {"name": name, "arguments": arguments}});
/// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
/// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// #     serde_json::from_slice(&response.to_vec()).unwrap()
/// # }
/// ```
#[derive(Debug)]
pub struct ToolError(pub Box<dyn std::error::Error + Send + Sync>);

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for ToolError {
    fn from(error: E) -> Self {
        ToolError(error.into())
    }
}

impl ToolFailure for ToolError {
    fn into_failure(self) -> Result<CallToolResult, ErrorObject> {
        Ok(CallToolResult::error_text(self.0.to_string()))
    }
}
