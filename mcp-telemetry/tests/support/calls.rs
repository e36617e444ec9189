//! The RPC-tier suites' router and the calls they make of it.

use std::convert::Infallible;

use mcp_core::jsonrpc::{Message, Response};
use mcp_core::protocol::PromptMessage;
use mcp_core::{
    Json, McpRequest, McpResponse, Prompt, ProtocolVersion, RequestContext, Resource, Router, Tool,
};
use tower::{Service, ServiceExt};

/// The router the RPC-tier suites call: a tool that adds, one that fails, one that panics,
/// one that never ends, a prompt and a resource.
pub fn router() -> Router {
    Router::builder()
        .tool(super::add_tool())
        .tool(Tool::new("fail").handler(
            |_: Json<serde_json::Value>, _: RequestContext| async move {
                Err::<String, _>("the tool broke".to_owned())
            },
        ))
        .tool(Tool::new("boom").handler(
            |_: Json<serde_json::Value>, _: RequestContext| async move {
                if true {
                    panic!("secret internals");
                }
                String::new()
            },
        ))
        .tool(Tool::new("slow").handler(
            |_: Json<serde_json::Value>, _: RequestContext| async move {
                std::future::pending::<String>().await
            },
        ))
        .prompt(
            Prompt::new("greet").handler(|_, _: RequestContext| async move {
                vec![PromptMessage::user_text("hello")]
            }),
        )
        .resource(
            Resource::new("test://about", "about")
                .handler(|_uri: String, _: RequestContext| async { "about" }),
        )
        .build()
}

pub fn request(body: &str) -> McpRequest {
    McpRequest::new(
        Message::parse(body.as_bytes()).unwrap(),
        ProtocolVersion::V2025_11_25,
    )
}

/// Calls `service` with `body` once it is ready.
pub async fn send<S>(service: &mut S, body: &str) -> McpResponse
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    service
        .ready()
        .await
        .unwrap()
        .call(request(body))
        .await
        .unwrap()
}

pub fn single(response: McpResponse) -> Response {
    match response {
        McpResponse::Single(response) => response,
        other => panic!("expected one response, got {other:?}"),
    }
}
