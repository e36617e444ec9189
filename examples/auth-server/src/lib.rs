//! # auth-server
//!
//! The quickstart tools behind OAuth 2.1 bearer tokens: JWT access tokens checked against an
//! authorization server's JWKS, the RFC 9728 metadata document served beside the endpoint,
//! a per-tool scope (`admin_echo` needs `admin`, with a step-up 403 when missing),
//! per-principal allow-lists and optional rate limits.
//!
//! ```text
//! auth-server --addr 127.0.0.1:3000 --jwks-url http://127.0.0.1:4000/jwks.json \
//!     --issuer http://127.0.0.1:4000 --audience http://127.0.0.1:3000/mcp [--required-scope mcp] \
//!     [--plan free=add,echo --plan pro=*]
//! ```
//!
//! `auth-server --help` lists every flag.
//!
//! [`stack`] assembles the service (the binary and the end-to-end tests both use it). Written
//! out, it is this `ServiceBuilder` (the README's auth example):
//!
//! ```no_run
//! use mcp_auth::rate_limit::{Quota, RateLimitLayer, RpcRateLimitLayer};
//! use mcp_auth::{
//!     AuthLayer, JwtAuthenticator, MetadataLayer, MetadataService, ProtectedResourceMetadata,
//!     RequiredScopes, ScopeLayer,
//! };
//! use mcp_tower::{
//!     AllowListLayer, BatchLayer, EndpointLayer, HostOriginLayer, SessionConfig, SessionLayer,
//!     StreamableHttpConfig, StreamableHttpLayer,
//! };
//! use tower::ServiceBuilder;
//!
//! # async fn run(router: mcp_core::Router) -> Result<(), Box<dyn std::error::Error>> {
//! let resource = "https://mcp.example.com/mcp"; // the `aud` tokens must carry
//! let issuer = "https://auth.example.com";
//! let jwt = JwtAuthenticator::builder(resource)
//!     .issuer(issuer)
//!     .jwks_url("https://auth.example.com/.well-known/jwks.json")
//!     .required_scopes(["mcp"])
//!     .build()?;
//! jwt.refresh().await?; // fetch the keys now rather than on the first request
//! let metadata = MetadataService::new(
//!     ProtectedResourceMetadata::new(resource)
//!         .authorization_server(issuer)
//!         .scopes_supported(["mcp", "admin"]),
//! )?;
//!
//! let rpc = ServiceBuilder::new()
//!     .layer(BatchLayer::default())
//!     // Above the allow-list and scopes: what they refuse is charged too.
//!     .layer(RpcRateLimitLayer::new(Quota::per_second(20)))
//!     .layer(AllowListLayer::new()) // the principal's allow-list, e.g. from a `plan` claim
//!     .layer(
//!         ScopeLayer::new(RequiredScopes::new().tool("admin_echo", ["admin"]))
//!             .resource_metadata(metadata.resource_metadata_url()),
//!     )
//!     .service(router.clone());
//! let http = ServiceBuilder::new()
//!     .layer(MetadataLayer::new(metadata)) // RFC 9728 document, no token needed
//!     .layer(EndpointLayer::new("/mcp")) // anything else is 404
//!     .layer(HostOriginLayer::new().allow_host("mcp.example.com"))
//!     .layer(AuthLayer::new(jwt)) // 401 / 403 + WWW-Authenticate; Principal → extensions
//!     .layer(RateLimitLayer::new(Quota::per_second(10).burst(20))) // 429 + Retry-After
//!     .layer(SessionLayer::new(SessionConfig::default()).deliver_events_from(&router))
//!     .layer(StreamableHttpLayer::new(
//!         StreamableHttpConfig::default().events_from(&router),
//!     ))
//!     .service(rpc);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! mcp_tower::serve(listener, http).await?;
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::net::IpAddr;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use mcp_auth::rate_limit::{Quota, RateLimitLayer, RpcRateLimitLayer};
use mcp_auth::{
    AuthLayer, Authenticate, ConfigError, JwtAuthenticator, JwtAuthenticatorBuilder, MetadataLayer,
    MetadataService, ProtectedResourceMetadata, RequiredScopes, ScopeLayer,
};
use mcp_core::{AllowList, Json, RequestContext, Router, Tool};
use mcp_tower::{
    AllowListLayer, BatchLayer, EndpointLayer, HostOriginLayer, McpHttpService, SessionConfig,
    SessionLayer, StreamableHttpConfig, StreamableHttpLayer, mcp_cors,
};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

/// The scope `admin_echo` requires.
pub const ADMIN_SCOPE: &str = "admin";

/// The command line of the `auth-server` binary.
///
/// ```
/// let args = auth_server::Args::parse(
///     [
///         "--jwks-url", "http://127.0.0.1:4000/jwks.json",
///         "--issuer", "http://127.0.0.1:4000",
///         "--audience", "http://127.0.0.1:3000/mcp",
///         "--required-scope", "mcp",
///     ]
///     .map(String::from),
/// )
/// .unwrap();
/// assert_eq!(args.addr, "127.0.0.1:3000");
/// assert_eq!(args.required_scope.as_deref(), Some("mcp"));
/// assert!(auth_server::Args::parse(Vec::new()).is_err());
/// // Plans: each name once; a plan claim only with plans.
/// let with = |extra: &[&str]| {
///     let required = ["--jwks-url", "u", "--issuer", "i", "--audience", "a"];
///     auth_server::Args::parse(required.iter().chain(extra).map(|s| s.to_string()))
/// };
/// assert_eq!(with(&["--plan", "free=add"]).unwrap().plans, [("free".into(), vec!["add".into()])]);
/// assert!(with(&["--plan", "free=add", "--plan", "free=echo"]).is_err());
/// assert!(with(&["--plan-claim", "tier"]).is_err());
/// assert!(with(&["--rate-limit", "0"]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Where to listen (`--addr`, default `127.0.0.1:3000`).
    pub addr: String,
    /// The authorization server's JWKS (`--jwks-url`).
    pub jwks_url: String,
    /// The accepted token issuer (`--issuer`).
    pub issuer: String,
    /// This server's canonical URI, the `aud` tokens must carry (`--audience`).
    pub audience: String,
    /// A scope every token must carry (`--required-scope`).
    pub required_scope: Option<String>,
    /// HTTP requests per second per principal (`--rate-limit`, burst twice that).
    pub rate_limit: Option<u32>,
    /// JSON-RPC requests per second per principal (`--rpc-rate-limit`, burst twice that).
    pub rpc_rate_limit: Option<u32>,
    /// Origins whose pages may call the server from a browser (`--browser-origin`, repeated).
    pub browser_origins: Vec<String>,
    /// Per-plan tool sets (`--plan NAME=TOOL,TOOL`, repeated; `NAME=*` for every tool), read
    /// from the token's [`plan_claim`](Self::plan_claim). When any is given, a token whose plan
    /// is not listed (or that names none) may use no tool.
    pub plans: Vec<(String, Vec<String>)>,
    /// The claim naming a token's plan (`--plan-claim`, default `plan`).
    pub plan_claim: String,
}

/// The usage line printed on bad arguments.
pub const USAGE: &str = "usage: auth-server [--addr HOST:PORT] --jwks-url URL --issuer ISS \
     --audience AUD [--required-scope S] [--rate-limit N] [--rpc-rate-limit N] \
     [--browser-origin ORIGIN]... [--plan NAME=TOOL,TOOL|NAME=*]... [--plan-claim CLAIM]";

/// What `--help` prints after [`USAGE`].
pub const HELP: &str = "
  --addr HOST:PORT        where to listen (default 127.0.0.1:3000)
  --jwks-url URL          the authorization server's JWKS
  --issuer ISS            the accepted token issuer (an http(s) URL)
  --audience AUD          this server's canonical URI: the `aud` tokens must carry
  --required-scope S      a scope every token must carry
  --rate-limit N          HTTP requests per second per principal (at least 1; burst 2N)
  --rpc-rate-limit N      JSON-RPC requests per second per principal (at least 1; burst 2N)
  --browser-origin ORIGIN an origin whose pages may call the server (repeated)
  --plan NAME=TOOLS       the tools (comma-separated, or *) of tokens whose plan is NAME
                          (repeated); with any, a token of another plan or none gets no tool
  --plan-claim CLAIM      the claim naming a token's plan (default plan)";

impl Args {
    /// Parses the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut args = args.into_iter();
        let mut addr = "127.0.0.1:3000".to_owned();
        let (mut jwks_url, mut issuer, mut audience) = (None, None, None);
        let (mut required_scope, mut rate_limit, mut rpc_rate_limit) = (None, None, None);
        let mut browser_origins = Vec::new();
        let (mut plans, mut plan_claim) = (Vec::new(), None);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            // 0 would read as "no limit" to many; the limiter would make it 1.
            let number = |v: String| match v.parse::<u32>() {
                Ok(0) => Err(format!(
                    "{flag} must be at least 1 (leave it out for no limit)"
                )),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("{v:?}: not a number")),
            };
            match flag.as_str() {
                "--addr" => addr = value()?,
                "--jwks-url" => jwks_url = Some(value()?),
                "--issuer" => issuer = Some(value()?),
                "--audience" => audience = Some(value()?),
                "--required-scope" => required_scope = Some(value()?),
                "--rate-limit" => rate_limit = Some(number(value()?)?),
                "--rpc-rate-limit" => rpc_rate_limit = Some(number(value()?)?),
                "--browser-origin" => browser_origins.push(value()?),
                "--plan" => {
                    let (name, tools) = plan(&value()?)?;
                    if plans.iter().any(|(listed, _)| *listed == name) {
                        return Err(format!("--plan {name} is given twice"));
                    }
                    plans.push((name, tools));
                }
                "--plan-claim" => plan_claim = Some(value()?),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        let missing = |name: &str| format!("{name} is required");
        Ok(Args {
            addr,
            jwks_url: jwks_url.ok_or_else(|| missing("--jwks-url"))?,
            issuer: issuer.ok_or_else(|| missing("--issuer"))?,
            audience: audience.ok_or_else(|| missing("--audience"))?,
            required_scope,
            rate_limit,
            rpc_rate_limit,
            browser_origins,
            plan_claim: match (plan_claim, plans.is_empty()) {
                (Some(_), true) => return Err("--plan-claim needs at least one --plan".into()),
                (claim, _) => claim.unwrap_or_else(|| "plan".to_owned()),
            },
            plans,
        })
    }

    /// The authenticator these arguments describe, still open to changes (the tests add an
    /// allow-list rule and a shorter refresh interval): audience, issuer, JWKS URL, the
    /// required scope, and the asymmetric algorithms RS256, ES256 and EdDSA.
    pub fn jwt(&self) -> JwtAuthenticatorBuilder {
        let jwt = JwtAuthenticator::builder(&self.audience)
            .issuer(&self.issuer)
            .jwks_url(&self.jwks_url)
            .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
            .leeway(Duration::from_secs(5))
            .required_scopes(self.required_scope.iter().cloned());
        if self.plans.is_empty() {
            return jwt;
        }
        let (plans, claim) = (self.plans.clone(), self.plan_claim.clone());
        jwt.allow_list_from(move |claims| {
            let plan = claims.get(&claim).and_then(|plan| plan.as_str());
            match plans.iter().find(|(name, _)| Some(name.as_str()) == plan) {
                Some((_, tools)) if tools.iter().any(|tool| tool == "*") => None,
                Some((_, tools)) => Some(AllowList::new().tools(tools.iter().cloned())),
                // Least privilege: a plan nobody listed opens nothing.
                None => Some(AllowList::new().tools(Vec::<String>::new())),
            }
        })
    }

    /// The rest of the stack these arguments describe: the metadata document, the audience's
    /// host accepted by the Host check, the rate limits, the browser origins.
    pub fn options(&self) -> Result<Options, ConfigError> {
        let mut scopes: Vec<&str> = self.required_scope.iter().map(String::as_str).collect();
        scopes.push(ADMIN_SCOPE);
        let metadata = MetadataService::new(
            ProtectedResourceMetadata::new(&self.audience)
                .authorization_server(&self.issuer)
                .scopes_supported(scopes),
        )?;
        let mut options = Options::new(metadata);
        if let Some(host) = self
            .audience
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_owned))
            .filter(|host| !is_loopback(host))
        {
            options.host_origin = options.host_origin.allow_host(host);
        }
        // Bursts of twice the rate: an MCP client's start-up (initialize, initialized, a few
        // lists) comes all at once.
        let quota = |rate: u32| Quota::per_second(rate).burst(rate.saturating_mul(2));
        options.rate_limit = self.rate_limit.map(|r| RateLimitLayer::new(quota(r)));
        options.rpc_rate_limit = self
            .rpc_rate_limit
            .map(|r| RpcRateLimitLayer::new(quota(r)));
        options.browser_origins.clone_from(&self.browser_origins);
        Ok(options)
    }
}

/// `NAME=TOOL,TOOL` (or `NAME=*`) of `--plan`.
fn plan(text: &str) -> Result<(String, Vec<String>), String> {
    match text.split_once('=') {
        Some((name, tools)) if !name.is_empty() => Ok((
            name.to_owned(),
            tools
                .split(',')
                .filter(|tool| !tool.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        _ => Err(format!(
            "--plan {text:?}: expected NAME=TOOL,TOOL or NAME=*"
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Everything [`stack`] needs besides the router and the authenticator.
#[derive(Debug, Clone)]
pub struct Options {
    /// The RFC 9728 document, served without a token; its URL goes into step-up challenges.
    pub metadata: MetadataService,
    /// The Host/Origin check (loopback by default).
    pub host_origin: HostOriginLayer,
    /// HTTP-tier limit per principal (429 + `Retry-After`), if any.
    pub rate_limit: Option<RateLimitLayer>,
    /// RPC-tier limit per principal (JSON-RPC error `-32000`), if any.
    pub rpc_rate_limit: Option<RpcRateLimitLayer>,
    /// Session limits.
    pub sessions: SessionConfig,
    /// Origins whose pages may call the server from a browser: CORS, outermost, and the Host/
    /// Origin check lets them through.
    pub browser_origins: Vec<String>,
}

impl Options {
    /// Loopback Host check, no rate limits, default sessions.
    pub fn new(metadata: MetadataService) -> Self {
        Self {
            metadata,
            host_origin: HostOriginLayer::new(),
            rate_limit: None,
            rpc_rate_limit: None,
            sessions: SessionConfig::default(),
            browser_origins: Vec::new(),
        }
    }
}

/// The scope policy of the RPC tier: `admin_echo` needs [`ADMIN_SCOPE`].
pub fn scope_policy() -> RequiredScopes {
    RequiredScopes::new().tool("admin_echo", [ADMIN_SCOPE])
}

/// The whole HTTP service: `router` behind `auth` (any [`Authenticate`]: the
/// [`JwtAuthenticator`] of the binary, or your own), laid out as in the
/// [crate docs](crate).
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let args = auth_server::Args::parse(std::env::args().skip(1))?;
/// let service = auth_server::stack(auth_server::router(), args.jwt().build()?, args.options()?);
/// let listener = tokio::net::TcpListener::bind(&args.addr).await?;
/// mcp_tower::serve(listener, service).await?;
/// # Ok(()) }
/// ```
pub fn stack<A, B>(router: Router, auth: A, options: Options) -> McpHttpService<B>
where
    A: Authenticate,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let scopes =
        ScopeLayer::new(scope_policy()).resource_metadata(options.metadata.resource_metadata_url());
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::default())
        // Above the allow-list and scopes, so that the calls they refuse are charged too.
        .option_layer(options.rpc_rate_limit)
        .layer(AllowListLayer::new())
        .layer(scopes)
        .service(router.clone());
    // Outermost: browsers preflight the metadata document and the endpoint alike, with no
    // token.
    let cors = (!options.browser_origins.is_empty()).then(|| mcp_cors(&options.browser_origins));
    let host_origin = options
        .browser_origins
        .iter()
        .fold(options.host_origin, |layer, origin| {
            layer.allow_origin(origin)
        });
    let http = ServiceBuilder::new()
        .option_layer(cors)
        .layer(MetadataLayer::new(options.metadata))
        .layer(EndpointLayer::new("/mcp"))
        .layer(host_origin)
        .layer(AuthLayer::new(auth))
        .option_layer(options.rate_limit)
        .layer(SessionLayer::new(options.sessions).deliver_events_from(&router))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    BoxCloneSyncService::new(http)
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// What to say back.
    message: String,
}

/// The tools: the quickstart's `add` and `echo`, `whoami` (the caller's subject and scopes)
/// and `admin_echo` (an echo that needs the `admin` scope, see [`scope_policy`]).
///
/// ```
/// let router = auth_server::router();
/// assert!(router.has_tool("whoami") && router.has_tool("admin_echo"));
/// ```
pub fn router() -> Router {
    Router::builder()
        .name("mcp-tower-auth-server", env!("CARGO_PKG_VERSION"))
        .instructions("The quickstart tools behind OAuth 2.1 bearer tokens.")
        .tool(quickstart::add_tool())
        .tool(quickstart::echo_tool())
        .tool(
            Tool::new("whoami")
                .description("The caller's subject and scopes")
                .raw_handler(|_args, ctx: RequestContext| async move { whoami(&ctx) }),
        )
        .tool(
            Tool::new("admin_echo")
                .description("Echoes the message back; needs the admin scope")
                .handler(
                    |Json(args): Json<EchoArgs>, _ctx: RequestContext| async move { args.message },
                ),
        )
        .build()
}

/// `subject: alice` and `scopes: admin mcp` (sorted) on two lines.
fn whoami(ctx: &RequestContext) -> String {
    match ctx.principal() {
        Some(principal) => format!(
            "subject: {}\nscopes: {}",
            principal.subject(),
            principal.scopes().collect::<Vec<_>>().join(" ")
        ),
        // Only reachable in a stack without an AuthLayer.
        None => "anonymous".to_owned(),
    }
}
