//! Refusals made at the RPC tier keep their HTTP status: a scope check's 403 with
//! `WWW-Authenticate` and a rate limit's 429 with `Retry-After`, as JSON, in both eras and
//! whether the bridge answers in JSON (`Auto`) or SSE (`AlwaysSse`). Only those layers choose
//! a status: a handler's error whose data holds the same keys is answered 200, as it is.

use mcp_auth::codes::FORBIDDEN;
use mcp_auth::rate_limit::{Quota, RpcRateLimitLayer};
use mcp_auth::{RequiredScopes, ScopeLayer};
use mcp_core::jsonrpc::ErrorObject;
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{Reply, TestClient, TestServer};
use mcp_tower::{
    BatchLayer, ResponseMode, SessionConfig, SessionLayer, StreamableHttpConfig,
    StreamableHttpLayer,
};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use super::start_as_x_user;

type Args = Json<serde_json::Map<String, Value>>;

/// Error data a handler (or an upstream server it relays) chose, spelling out the keys the
/// RPC-tier layers put in theirs.
fn lookalike_data() -> Value {
    json!({"www_authenticate": "Bearer realm=\"evil\"", "retryAfterMs": 3_600_000})
}

fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("deploy")
                .description("Needs the deploy scope")
                .handler(|Json(_): Args, _: RequestContext| async move { "deployed" }),
        )
        .tool(
            Tool::new("lookalike")
                .description("Fails with data that looks like a refusal's")
                .handler(|Json(_): Args, _: RequestContext| async move {
                    ErrorObject::new(-32000, "upstream said no").with_data(lookalike_data())
                }),
        )
        .build()
}

/// The auth example's RPC tier (a rate limit of two requests a minute per principal, then
/// scopes) behind sessions and the bridge in `mode`; the principal is `x-user`, with the
/// scopes `x-scopes` lists.
async fn start(mode: ResponseMode) -> (TestServer, TestClient) {
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(RpcRateLimitLayer::new(Quota::per_minute(2)))
        .layer(ScopeLayer::new(
            RequiredScopes::new().tool("deploy", ["deploy"]),
        ))
        .service(router());
    let http = ServiceBuilder::new()
        .layer(SessionLayer::new(SessionConfig::default()))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().response_mode(mode),
        ))
        .service(rpc);
    start_as_x_user(BoxCloneSyncService::new(http)).await
}

/// Calls `tool` as `user` in one era, with the headers that era needs.
struct Caller<'a> {
    client: &'a TestClient,
    user: String,
    /// The legacy session; `None` for 2026-07-28.
    session: Option<String>,
}

impl<'a> Caller<'a> {
    /// A 2025-11-25 caller (after `initialize`, which the rate limit counts) or a 2026-07-28
    /// one.
    async fn new(client: &'a TestClient, user: String, modern: bool) -> Self {
        let mut caller = Caller {
            client,
            user,
            session: None,
        };
        if !modern {
            let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "1.0.0"}}});
            let reply = caller.post(initialize, &[]).await;
            let session = reply.header("mcp-session-id").expect("a session");
            caller.session = Some(session.to_owned());
        }
        caller
    }

    async fn post(&self, body: Value, extra: &[(&str, &str)]) -> Reply {
        let mut headers = vec![("x-user", self.user.as_str())];
        headers.extend_from_slice(extra);
        self.client.post(&body, &headers).await
    }

    async fn call(&self, id: i64, tool: &str) -> Reply {
        let mut params = json!({"name": tool, "arguments": {}});
        let mut headers = vec![];
        match &self.session {
            Some(session) => headers.extend([
                ("mcp-session-id", session.as_str()),
                ("mcp-protocol-version", "2025-11-25"),
            ]),
            None => {
                params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                         "io.modelcontextprotocol/clientCapabilities": {}});
                headers.extend([
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", tool),
                ]);
            }
        }
        let body = json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params});
        self.post(body, &headers).await
    }
}

/// The one JSON-RPC answer of a JSON or SSE reply.
fn answer(reply: &Reply) -> Value {
    match reply.header("content-type") {
        Some("application/json") => reply.json(),
        _ => reply.sse_messages().pop().expect("an answer"),
    }
}

/// A refusal as the spec's JSON shape: no stream, whatever the mode.
fn assert_refused(reply: &Reply, status: u16, code: i64, case: &str) -> Value {
    assert_eq!(reply.status, status, "{case}: {:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{case}"
    );
    let error = reply.json()["error"].clone();
    assert_eq!(error["code"], code, "{case}");
    error
}

#[tokio::test]
async fn rpc_tier_refusals_keep_their_status_and_lookalike_errors_do_not_get_one() {
    for mode in [ResponseMode::Auto, ResponseMode::AlwaysSse] {
        let (_server, client) = start(mode).await;
        for modern in [false, true] {
            let case = |what: &str| format!("{mode:?}, modern {modern}: {what}");

            // A handler's error with refusal-like data: 200 and the error as it was sent.
            let caller = Caller::new(&client, case("lookalike"), modern).await;
            let reply = caller.call(1, "lookalike").await;
            assert_eq!(reply.status, 200, "{}: {:?}", case("lookalike"), reply.body);
            assert!(reply.header("www-authenticate").is_none());
            assert!(reply.header("retry-after").is_none());
            let answer = answer(&reply);
            assert_eq!(answer["error"]["code"], -32000, "{}", case("lookalike"));
            assert_eq!(
                answer["error"]["data"],
                lookalike_data(),
                "{}",
                case("lookalike")
            );

            // The scope check: 403 and the step-up challenge, as JSON.
            let caller = Caller::new(&client, case("scope"), modern).await;
            let reply = caller.call(2, "deploy").await;
            let error = assert_refused(&reply, 403, FORBIDDEN.into(), &case("scope"));
            let challenge = reply.header("www-authenticate").expect("a challenge");
            assert!(challenge.contains("insufficient_scope"), "{challenge}");
            assert!(challenge.contains("deploy"), "{challenge}");
            assert_eq!(error["data"]["www_authenticate"], challenge);

            // The rate limit (two requests a minute, `initialize` included): 429 and the wait.
            let caller = Caller::new(&client, case("rate limit"), modern).await;
            let calls = if modern { 2 } else { 1 };
            for id in 0..calls {
                let reply = caller.call(10 + id, "lookalike").await;
                assert_eq!(reply.status, 200, "{}", case("rate limit"));
            }
            let reply = caller.call(20, "lookalike").await;
            let error = assert_refused(&reply, 429, -32000, &case("rate limit"));
            let seconds: u64 = reply.header("retry-after").unwrap().parse().unwrap();
            let wait_ms = error["data"]["retryAfterMs"].as_u64().unwrap();
            assert_eq!(seconds, wait_ms.div_ceil(1000));
            assert!((1..=30).contains(&seconds), "{seconds}");
        }
    }
}

/// Legacy `AlwaysSse` holds its stream until the request reaches its handler: a layer that
/// awaits something before refusing (a remote rate limit, say) still answers with its status,
/// and a handler that takes its time still gets its stream before its answer.
#[tokio::test]
async fn legacy_always_sse_streams_once_the_handler_starts() {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::time::Duration;

    use mcp_core::jsonrpc::Response;
    use mcp_core::{HttpRefusal, McpRequest, McpResponse};
    use tower::ServiceExt;

    let release = Arc::new(tokio::sync::Notify::new());
    let released = Arc::clone(&release);
    let router = Router::builder()
        .tool(
            Tool::new("slow")
                .description("Answers once released")
                .handler(move |Json(_): Args, _: RequestContext| {
                    let released = Arc::clone(&released);
                    async move {
                        released.notified().await;
                        "done"
                    }
                }),
        )
        .build();
    // Refuses request id 7 after a lookup that takes a while.
    let rpc = tower::service_fn(move |request: McpRequest| {
        let router = router.clone();
        async move {
            let id = request.message.id().cloned();
            if id == Some(7.into()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let refusal = ErrorObject::new(-32000, "rate limited")
                    .with_http_refusal(HttpRefusal::RateLimited(Duration::from_secs(2)));
                return Ok::<_, Infallible>(McpResponse::Single(Response::error(id, refusal)));
            }
            router.oneshot(request).await
        }
    });
    let http = ServiceBuilder::new()
        .layer(SessionLayer::new(SessionConfig::default()))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().response_mode(ResponseMode::AlwaysSse),
        ))
        .service(rpc);
    let (_server, client) = start_as_x_user(BoxCloneSyncService::new(http)).await;
    let caller = Caller::new(&client, "sse-user".to_owned(), false).await;

    let reply = caller.call(7, "slow").await;
    assert_refused(&reply, 429, -32000, "awaited refusal");
    assert_eq!(reply.header("retry-after"), Some("2"));

    // The slow handler: the stream's head and priming event come before its answer.
    let session = caller.session.clone().unwrap();
    let body = json!({"jsonrpc":"2.0","id":8,"method":"tools/call",
                      "params":{"name":"slow","arguments":{}}});
    let headers = [
        ("x-user", "sse-user"),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client.send_streaming(
            http::Method::POST,
            serde_json::to_vec(&body).unwrap(),
            &headers,
        ),
    )
    .await
    .expect("the stream starts before the handler answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    release.notify_one();
    let mut stream = response.into_body();
    let text = mcp_e2e::read_until(&mut stream, "done").await;
    assert!(text.contains(r#""id":8"#), "{text}");
}
