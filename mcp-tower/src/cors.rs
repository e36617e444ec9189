//! CORS for browser clients: [`mcp_cors`], tower-http's `CorsLayer` set up for MCP.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The session id header, which a browser client must read from the `initialize` answer.
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// How long a browser may reuse a preflight answer (Chromium caps it at two hours).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// A [`CorsLayer`] that lets MCP clients running in pages of `origins` (such as
/// `https://app.example.com`) use the server: it answers their preflight requests and lets
/// their scripts read the answers, including the headers MCP clients need.
///
/// - Methods: `GET`, `POST` and `DELETE` (the endpoint's).
/// - Request headers: those the preflight names, mirrored. MCP's set is open (a 2026-07-28
///   tool's `Mcp-Param-*` headers), and the origins are already restricted.
/// - Exposed response headers: `Mcp-Session-Id` (the session a legacy `initialize` opens),
///   `WWW-Authenticate` (where a 401 or 403 says to get a token) and `Retry-After`.
/// - No credentials: MCP sends tokens in `Authorization`, never in cookies.
///
/// Every `OPTIONS` request is answered by the layer itself, before anything behind it: put it
/// outside authentication, which would refuse a preflight (browsers send no `Authorization`
/// with one), and outside the protected resource metadata endpoint, which browser clients
/// read too. A browser also sends `Origin` with the real requests: allow the same origins in
/// [`HostOriginLayer`](crate::HostOriginLayer), which refuses foreign ones with 403.
/// [`McpServerBuilder::allow_browser_origin`](crate::McpServerBuilder::allow_browser_origin)
/// does both for the default stack.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let service = ServiceBuilder::new()
///     .layer(mcp_tower::mcp_cors(["https://app.example.com"]))
///     .service_fn(|_: http::Request<Full<Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
///     });
/// let preflight = http::Request::options("/mcp")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "POST")
///     .header("access-control-request-headers", "authorization, mcp-protocol-version")
///     .body(Full::default())
///     .unwrap();
/// let answer = service.clone().oneshot(preflight).await.unwrap();
/// let header = |name: &str| answer.headers()[name].to_str().unwrap().to_owned();
/// assert_eq!(header("access-control-allow-origin"), "https://app.example.com");
/// assert_eq!(header("access-control-allow-methods"), "GET,POST,DELETE");
/// assert_eq!(header("access-control-allow-headers"), "authorization, mcp-protocol-version");
///
/// // The real request: its script may read the session id.
/// let post = http::Request::post("/mcp")
///     .header("origin", "https://app.example.com")
///     .body(Full::default())
///     .unwrap();
/// let answer = service.clone().oneshot(post).await.unwrap();
/// assert_eq!(answer.headers()["access-control-allow-origin"], "https://app.example.com");
/// assert_eq!(
///     answer.headers()["access-control-expose-headers"],
///     "mcp-session-id,www-authenticate,retry-after"
/// );
///
/// // Another site's page gets no grant: the browser keeps the answer from it.
/// let foreign = http::Request::post("/mcp")
///     .header("origin", "https://evil.example")
///     .body(Full::default())
///     .unwrap();
/// let answer = service.oneshot(foreign).await.unwrap();
/// assert!(answer.headers().get("access-control-allow-origin").is_none());
/// # }
/// ```
///
/// # Panics
///
/// If an origin cannot be a header value (it holds a control character).
#[track_caller]
pub fn mcp_cors<I, S>(origins: I) -> CorsLayer
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let origins = origins.into_iter().map(|origin| {
        // Browsers send the origin serialised: lower case, without a trailing slash.
        let origin = origin.as_ref().trim_end_matches('/').to_ascii_lowercase();
        HeaderValue::try_from(origin.as_str())
            .unwrap_or_else(|_| panic!("invalid browser origin {origin:?}"))
    });
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            MCP_SESSION_ID,
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
        ])
        .max_age(PREFLIGHT_MAX_AGE)
}
