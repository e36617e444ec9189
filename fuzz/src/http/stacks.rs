//! The two HTTP stacks the `http` target calls, built once, and the legacy session its inputs
//! share.

use std::convert::Infallible;
use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use mcp_auth::{AuthLayer, Quota, RequiredScopes, RpcRateLimitLayer, ScopeLayer};
use mcp_telemetry::{HttpTelemetryLayer, TelemetryLayer};
use mcp_tower::{
    AllowListLayer, BatchLayer, HostOriginLayer, McpHttpService, McpServer, StreamableHttpConfig,
    StreamableHttpLayer,
};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::RUNTIME;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type AnyResponse = Response<UnsyncBoxBody<Bytes, BoxError>>;
pub(super) type Stack = BoxCloneSyncService<Request<Full<Bytes>>, AnyResponse, Infallible>;

/// `McpServer`'s defaults: Host/Origin checks, sessions, both eras, batches.
pub(super) static DEFAULT: LazyLock<Stack> = LazyLock::new(|| {
    let _runtime = RUNTIME.enter();
    let service: McpHttpService<Full<Bytes>> =
        McpServer::builder(quickstart::router()).into_http_service();
    boxed(service)
});

/// The load kit's production stack, stateless: HTTP telemetry, Host/Origin, JWT auth (a
/// valid token is one of the `authorization` values) with an allow-list of `add`, the
/// bridge, batches, RPC telemetry, the allow-list, per-target scopes that the valid token
/// lacks for the prompt and the resource (step-up refusals), and a per-principal rate limit
/// low enough to be reached; metrics go to a Prometheus recorder.
pub(super) static PRODUCTION: LazyLock<Stack> = LazyLock::new(|| {
    let _runtime = RUNTIME.enter();
    // Only one recorder per process: another target may have installed it first.
    let _ = mcp_telemetry::prometheus::install();
    let router = quickstart::router();
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::new())
        .layer(TelemetryLayer::for_router(&router))
        .layer(RpcRateLimitLayer::new(Quota::per_second(1_000).burst(50)))
        .layer(AllowListLayer::new())
        .layer(ScopeLayer::new(
            RequiredScopes::new()
                .prompt("greet", ["prompts:greet"])
                .resource("quickstart://about", ["docs:read"]),
        ))
        .service(router.clone());
    boxed(
        ServiceBuilder::new()
            .layer(HttpTelemetryLayer::new())
            .layer(HostOriginLayer::new())
            .layer(AuthLayer::new(crate::auth::authenticator()))
            .layer(StreamableHttpLayer::new(
                StreamableHttpConfig::default().events_from(&router),
            ))
            .service(rpc),
    )
});

fn boxed<S, B>(service: S) -> Stack
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        service
            .map_response(|response| response.map(|body| body.map_err(Into::into).boxed_unsync())),
    )
}

/// The session every input may name with `LIVE_SESSION`.
pub(super) static SESSION_ID: LazyLock<HeaderValue> =
    LazyLock::new(|| open_session().expect("the first session opens"));

/// Opens a legacy session the way a client does: `initialize`, then `initialized`. `None`
/// when the server refuses, as it does once the inputs' own sessions reach its count cap.
pub(super) fn open_session() -> Option<HeaderValue> {
    RUNTIME.block_on(async {
        let initialize = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#;
        let Ok(response) = DEFAULT.clone().oneshot(post(initialize, None)).await;
        let id = response.headers().get("mcp-session-id")?.clone();
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let Ok(response) = DEFAULT.clone().oneshot(post(initialized, Some(&id))).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        Some(id)
    })
}

fn post(body: &'static str, session: Option<&HeaderValue>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header(header::CONTENT_TYPE, "application/json")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(id) = session {
        request = request.header("mcp-session-id", id);
    }
    request
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid request")
}
