//! Our two stacks: the quickstart (the default `McpServer` stack) and a production stack.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use mcp_auth::rate_limit::{Quota, RpcRateLimitLayer};
use mcp_auth::{AuthLayer, JwtAuthenticator};
use mcp_core::{AllowList, Router};
use mcp_telemetry::{HttpTelemetryLayer, TelemetryLayer};
use mcp_tower::streamable::RpcService;
use mcp_tower::{
    AllowListLayer, BatchLayer, EndpointLayer, HostOriginLayer, McpServer, ResponseMode,
    SessionConfig, StreamableHttpConfig, StreamableHttpLayer,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::{Layer, ServiceBuilder};

use crate::jwt;
use crate::scenario::Variant;

/// How many distinct principals (tokens) the production stack hands out.
const PRINCIPALS: usize = 64;

/// `quickstart::router()` in the default stack: sessions (legacy), stateless, or stateless
/// with every answer as SSE.
pub(crate) async fn serve_quickstart(
    listener: TcpListener,
    variant: Variant,
    commands: mpsc::UnboundedReceiver<String>,
) -> std::io::Result<()> {
    let router = quickstart::router();
    let builder = McpServer::builder(router.clone());
    let builder = match variant {
        // The default cap (10 000) would refuse the memory tests' sessions (up to 200 000,
        // plus a warm-up); nothing else differs from the default.
        Variant::Sessions => builder.sessions(SessionConfig::default().max_sessions(250_000)),
        Variant::Stateless => builder.stateless(),
        Variant::Sse => builder
            .stateless()
            .http_config(StreamableHttpConfig::default().response_mode(ResponseMode::AlwaysSse)),
    };
    let service = builder.into_http_service();
    tokio::spawn(notifier(router, commands));
    super::announce(listener.local_addr()?);
    mcp_tower::serve_with_shutdown(listener, service, std::future::pending()).await
}

/// The quickstart stack as `McpServer::builder(..).stateless()` builds it, with
/// `HttpTelemetryLayer` outside and `TelemetryLayer` between batch and allow-list (as
/// DESIGN orders them), and the Prometheus recorder installed: against `ours-quickstart`, what
/// telemetry costs a request over HTTP.
pub(crate) async fn serve_telemetry(
    listener: TcpListener,
    commands: mpsc::UnboundedReceiver<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    mcp_telemetry::prometheus::install()?;
    let router = quickstart::router();
    let rpc = instrumented_rpc(&router, router.clone());
    let http = ServiceBuilder::new()
        .layer(EndpointLayer::new("/mcp"))
        .layer(HttpTelemetryLayer::new())
        .layer(HostOriginLayer::new())
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    tokio::spawn(notifier(router, commands));
    super::announce(listener.local_addr()?);
    mcp_tower::serve_with_shutdown(listener, http, std::future::pending()).await?;
    Ok(())
}

/// The RPC tier of both instrumented stacks, as DESIGN orders it: batch, then telemetry (each
/// batch item its own call), then the allow-list, in front of `inner` (`router`, or what
/// wraps it).
fn instrumented_rpc<S>(router: &Router, inner: S) -> impl RpcService + Sync
where
    S: RpcService + Sync,
{
    ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(TelemetryLayer::for_router(router))
        .layer(AllowListLayer::new())
        .service(inner)
}

/// `notify URI` on stdin: one `notifications/resources/updated` to every subscriber.
async fn notifier(router: Router, mut commands: mpsc::UnboundedReceiver<String>) {
    while let Some(line) = commands.recv().await {
        if let Some(uri) = line.strip_prefix("notify ") {
            router.notify_resource_updated(uri.trim());
        }
    }
}

/// The production stack: HostOrigin, JWT (RS256, JWKS fetched over HTTP and cached; with
/// `token_cache`, the authenticator's default verified-token cache, else every request's
/// signature verified), HTTP telemetry, the bridge, then batch, RPC telemetry,
/// allow-list (from the token) and a per-principal rate limit that is never reached, with a
/// Prometheus recorder installed.
pub(crate) async fn serve_production(
    listener: TcpListener,
    local: SocketAddr,
    commands: mpsc::UnboundedReceiver<String>,
    token_cache: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let key = jwt::SigningKey::generate();
    let jwks = jwt::serve_jwks(key.jwk.clone()).await?;
    let issuer = format!("http://{jwks}");
    let resource = format!("http://{local}/mcp");
    let mut authenticator = JwtAuthenticator::builder(&resource)
        .issuer(&issuer)
        .jwks_url(format!("{issuer}/jwks.json"))
        .required_scopes(["mcp"])
        .allow_list_from(|_claims| Some(AllowList::new().tools(["add", "echo"])));
    if !token_cache {
        authenticator = authenticator.verified_token_cache(0, Duration::ZERO);
    }
    let authenticator = authenticator.build()?;
    authenticator.refresh().await?;
    let tokens: Vec<String> = (0..PRINCIPALS)
        .map(|i| key.mint(&issuer, &resource, &format!("user-{i}")))
        .collect();

    mcp_telemetry::prometheus::install()?;
    let router = quickstart::router();
    let rate_limit = RpcRateLimitLayer::new(Quota::per_second(1_000_000).burst(1_000_000));
    let rpc = instrumented_rpc(&router, rate_limit.layer(router.clone()));
    let http = ServiceBuilder::new()
        .layer(HttpTelemetryLayer::new())
        .layer(HostOriginLayer::new())
        .layer(AuthLayer::new(authenticator))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    tokio::spawn(notifier(router, commands));
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "tokens {}", tokens.join(","))?;
    }
    super::announce(local);
    mcp_tower::serve_with_shutdown(listener, http, std::future::pending()).await?;
    Ok(())
}
