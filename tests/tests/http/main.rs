//! The Streamable HTTP endpoint over a real socket: statuses, sessions, both eras, streams,
//! body limits.

mod answers;
mod legacy;
mod limits;
mod listen_cap;
mod modern;
mod refusals;
mod rpc_refusals;

use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer};
use serde_json::{Value, json};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: f64,
    b: f64,
}

pub(crate) fn router() -> Router {
    Router::builder()
        .name("e2e", "1.0.0")
        .tool(Tool::new("add").description("Adds").handler(
            |Json(x): Json<Add>, _ctx: RequestContext| async move { (x.a + x.b).to_string() },
        ))
        .tool(Tool::new("slow_progress").description("Reports progress").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, ctx: RequestContext| async move {
                for step in 0..3 {
                    ctx.progress(f64::from(step), Some(3.0), None).await;
                }
                "done"
            },
        ))
        .tool(Tool::new("roots").description("Lists the client's roots").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, ctx: RequestContext| async move {
                match ctx.list_roots().await {
                    Ok(roots) => format!("{} roots", roots.roots.len()),
                    Err(e) => format!("error: {}", e.message),
                }
            },
        ))
        .tool(Tool::new("ask_roots").description("Asks for roots without a capability check").handler(
            |Json(_): Json<serde_json::Map<String, Value>>, ctx: RequestContext| async move {
                // `request`, not `list_roots`: a stateless server knows no client capabilities.
                match ctx.request::<_, Value>("roots/list", &json!({})).await {
                    Ok(roots) => format!("{} roots", roots["roots"].as_array().map_or(0, Vec::len)),
                    Err(e) => format!("error {}: {}", e.code, e.message),
                }
            },
        ))
        .build()
}

pub(crate) async fn start(
    builder: impl FnOnce(Router) -> mcp_tower::McpServerBuilder,
) -> (TestServer, TestClient, Router) {
    let router = router();
    let server = TestServer::start(builder(router.clone()).into_http_service()).await;
    let client = TestClient::new(&server);
    (server, client, router)
}

/// Serves `served` behind a stand-in authenticator: the principal is whoever `x-user` names
/// (anonymous without it).
pub(crate) async fn start_as_x_user(
    served: mcp_tower::McpHttpService<hyper::body::Incoming>,
) -> (TestServer, TestClient) {
    let server = TestServer::start_authenticated(served, |headers| {
        let user = headers.get("x-user").and_then(|v| v.to_str().ok());
        user.map(mcp_core::Principal::new)
    })
    .await;
    let client = TestClient::new(&server);
    (server, client)
}

pub(crate) fn call_add(id: i64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}})
}
