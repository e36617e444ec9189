//! DNS-rebinding protection: [`HostOriginLayer`] refuses requests from hosts and origins that
//! are not ours.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use crate::error_body::json_rpc_error_response;
use crate::future::ResponseFuture;

/// DNS-rebinding protection: configures [`HostOrigin`], which hosts and origins are ours.
///
/// A page on a foreign site can make a browser send requests to a server on `localhost`; its
/// `Origin` (or a rebound name in `Host`) gives it away. The host is the request target's
/// authority when it has one (HTTP/2, absolute-form), else `Host`. A request whose host or
/// `Origin` is not ours gets **403**, one with more than one `Host` line **400**, both before
/// the body is read and with a JSON-RPC error body. Loopback hosts and origins (any port) are
/// always ours; a request without `Origin` (not from a browser) is checked by host alone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use mcp_tower::HostOriginLayer;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let service = ServiceBuilder::new()
///     .layer(
///         HostOriginLayer::new()
///             .allow_host("mcp.example.com")
///             .allow_origin("https://app.example.com"),
///     )
///     .service_fn(|_: http::Request<Full<Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
///     });
/// let status = |headers: &[(&str, &str)]| {
///     let request = http::Request::post("/mcp");
///     let request = headers.iter().fold(request, |r, (name, value)| r.header(*name, *value));
///     let response = service.clone().oneshot(request.body(Full::default()).unwrap());
///     async move { response.await.unwrap().status() }
/// };
/// let ours = [("host", "mcp.example.com"), ("origin", "https://app.example.com")];
/// assert_eq!(status(&ours).await, 200);
/// assert_eq!(status(&[("host", "localhost:3000")]).await, 200);
/// assert_eq!(status(&[("host", "evil.example")]).await, 403);
/// assert_eq!(status(&[("host", "localhost"), ("origin", "https://evil.example")]).await, 403);
/// assert_eq!(status(&[("host", "localhost"), ("host", "localhost")]).await, 400);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HostOriginLayer {
    config: Arc<HostOriginConfig>,
}

#[derive(Debug, Clone, Default)]
struct HostOriginConfig {
    /// Lower-case host names (without port) accepted besides loopback.
    hosts: Vec<String>,
    /// Lower-case origins (`scheme://host[:port]`) accepted besides loopback.
    origins: Vec<String>,
    /// Accept any host (behind a trusted proxy that checks it).
    any_host: bool,
}

impl Default for HostOriginLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HostOriginLayer {
    /// Accepts loopback hosts and origins only (`localhost`, `127.0.0.1`, `[::1]`, any port).
    pub fn new() -> Self {
        Self {
            config: Arc::new(HostOriginConfig::default()),
        }
    }

    /// Also accepts this host name (any port).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .hosts
            .push(host.into().to_ascii_lowercase());
        self
    }

    /// Also accepts this origin, e.g. `https://app.example.com`.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into().trim_end_matches('/').to_ascii_lowercase();
        Arc::make_mut(&mut self.config).origins.push(origin);
        self
    }

    /// Accepts any `Host` or request target authority (only behind a proxy that validates it).
    /// Origins are still checked, and more than one `Host` line is still refused.
    pub fn allow_any_host(mut self) -> Self {
        Arc::make_mut(&mut self.config).any_host = true;
        self
    }
}

impl<S> Layer<S> for HostOriginLayer {
    type Service = HostOrigin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HostOrigin {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`HostOriginLayer`].
#[derive(Debug, Clone)]
pub struct HostOrigin<S> {
    inner: S,
    config: Arc<HostOriginConfig>,
}

/// Host names are compared as bytes: they are ASCII, so a value with any other byte matches
/// nothing, and `HeaderValue::to_str`'s check of every byte is not needed.
fn is_loopback_host(host: &[u8]) -> bool {
    // Addresses have no case: a plain comparison (one `memcmp`) instead of a case-folding
    // loop over every byte.
    host == b"127.0.0.1"
        || host == b"[::1]"
        || host == b"::1"
        || host.eq_ignore_ascii_case(b"localhost")
}

/// Splits `host [ ":" port ]` (IPv6 in brackets) and returns the host, borrowed: this runs on
/// every request, so host names are compared case-insensitively instead of lower-cased.
/// `None` when anything but a port of at most five digits follows the host: cutting at the
/// first `:` would read `localhost:80@evil.com` (userinfo) as `localhost`. An empty port
/// (`localhost:`) is valid in a `Host` (RFC 3986 `port = *DIGIT`) but never in an `Origin`.
fn strict_host(authority: &[u8], empty_port: bool) -> Option<&[u8]> {
    let end = if authority.starts_with(b"[") {
        authority.iter().position(|&b| b == b']')? + 1
    } else {
        authority
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(end);
    match rest {
        [] => Some(host),
        [b':', port @ ..]
            if port.len() <= 5
                && (empty_port || !port.is_empty())
                && port.iter().all(u8::is_ascii_digit) =>
        {
            Some(host)
        }
        _ => None,
    }
}

/// Why a request is refused, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// More than one `Host` line: RFC 9112 §3.2 requires 400, whichever comes first.
    RepeatedHost,
    /// An HTTP/1.1 request without a `Host`, whatever its target and even when any host is
    /// allowed: RFC 9112 §3.2 requires 400 too. (HTTP/1.0 has no `Host` requirement: such a
    /// request is refused 403 when hosts are checked and it names none of ours.)
    MissingHost,
    /// A `Host` that is not ours.
    Host,
    /// A request target's authority (absolute-form, or HTTP/2 `:authority`) that is not ours.
    Authority,
    /// An `Origin` that is not ours, or not a valid origin.
    Origin,
}

impl Refusal {
    fn response<B: From<Bytes>>(self) -> Response<B> {
        let (status, code, message) = match self {
            Self::RepeatedHost => (
                StatusCode::BAD_REQUEST,
                -32600,
                "Bad Request: more than one Host header",
            ),
            Self::MissingHost => (
                StatusCode::BAD_REQUEST,
                -32600,
                "Bad Request: an HTTP/1.1 request needs a Host header",
            ),
            Self::Host => (
                StatusCode::FORBIDDEN,
                -32000,
                "Forbidden: Host header is not allowed",
            ),
            Self::Authority => (
                StatusCode::FORBIDDEN,
                -32000,
                "Forbidden: request target authority is not allowed",
            ),
            Self::Origin => (
                StatusCode::FORBIDDEN,
                -32000,
                "Forbidden: Origin is not allowed",
            ),
        };
        json_rpc_error_response(status, code, message)
    }
}

impl HostOriginConfig {
    /// Whether the request's host and `Origin` are ours. One pass over the headers finds both:
    /// a lookup by name hashes and probes, and costs more than comparing a request's handful
    /// of (standard) names.
    fn refusal(
        &self,
        headers: &HeaderMap,
        uri: &http::Uri,
        version: http::Version,
    ) -> Option<Refusal> {
        let (mut host, mut origin) = (None, None);
        for (name, value) in headers {
            if name == header::HOST {
                if host.replace(value).is_some() {
                    return Some(Refusal::RepeatedHost);
                }
            } else if name == header::ORIGIN {
                // The first, as `HeaderMap::get` gives it.
                origin.get_or_insert(value);
            }
        }
        // Whatever the target's form, and whether or not hosts are checked.
        if host.is_none() && version == http::Version::HTTP_11 {
            return Some(Refusal::MissingHost);
        }
        if !self.any_host {
            // An authority in the URI is the absolute-form target of HTTP/1.1, whose Host
            // must be ignored (RFC 9112 §3.2.2), or HTTP/2's `:authority`. The usual
            // origin-form HTTP/1.1 request has none and goes by its Host.
            match uri.authority() {
                Some(authority) if !self.host_allowed(authority.as_str().as_bytes()) => {
                    return Some(Refusal::Authority);
                }
                Some(_) => {}
                None if !host.is_some_and(|host| self.host_allowed(host.as_bytes())) => {
                    return Some(Refusal::Host);
                }
                None => {}
            }
        }
        if self.origin_allowed(origin) {
            None
        } else {
            Some(Refusal::Origin)
        }
    }

    fn host_allowed(&self, authority: &[u8]) -> bool {
        let Some(host) = strict_host(authority, true) else {
            return false;
        };
        is_loopback_host(host)
            || self
                .hosts
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(host))
    }

    fn origin_allowed(&self, origin: Option<&HeaderValue>) -> bool {
        let Some(origin) = origin else {
            // Not a browser request: nothing to rebind.
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            return true;
        }
        // `scheme "://" host [ ":" port ]` (RFC 6454 §7): no userinfo, no path.
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
            && strict_host(authority.as_bytes(), false).is_some_and(is_loopback_host)
    }
}

impl<S, B, ResBody> Service<Request<B>> for HostOrigin<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let refusal = self
            .config
            .refusal(request.headers(), request.uri(), request.version());
        match refusal {
            Some(refusal) => ResponseFuture::answer(refusal.response()),
            None => ResponseFuture::inner(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Uri};
    use tower::ServiceExt;

    use super::*;

    /// An HTTP/1.1 request, or an HTTP/2 one (`:authority`, no `Host`) when `uri` has an
    /// authority and there is no `host`.
    fn refusal(config: &HostOriginLayer, host: Option<HeaderValue>, uri: &str) -> Option<Refusal> {
        let mut headers = HeaderMap::new();
        let uri = uri.parse::<Uri>().expect("uri");
        let version = match host {
            Some(host) => {
                headers.insert(header::HOST, host);
                http::Version::HTTP_11
            }
            None if uri.authority().is_some() => http::Version::HTTP_2,
            None => http::Version::HTTP_11,
        };
        config.config.refusal(&headers, &uri, version)
    }

    fn host_allowed(config: &HostOriginLayer, host: Option<HeaderValue>, uri: &str) -> bool {
        match refusal(config, host, uri) {
            None => true,
            Some(refusal) => {
                assert_eq!(refusal, Refusal::Host);
                false
            }
        }
    }

    fn host(value: &str) -> Option<HeaderValue> {
        Some(HeaderValue::from_str(value).expect("value"))
    }

    #[test]
    fn hosts_are_matched_without_port_and_case() {
        let loopback = HostOriginLayer::new();
        let named = HostOriginLayer::new().allow_host("MCP.example.com");
        for allowed in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:3000",
            "LocalHost",
            "[::1]:9000",
            "[::1]",
            // An empty port is valid in a Host (RFC 3986 `port = *DIGIT`).
            "localhost:",
        ] {
            assert!(host_allowed(&loopback, host(allowed), "/mcp"), "{allowed}");
        }
        for refused in [
            "evil.example.com",
            "127.0.0.2:8080",
            "localhost.evil.com",
            "[::2]:80",
            "",
        ] {
            assert!(!host_allowed(&loopback, host(refused), "/mcp"), "{refused}");
        }
        assert!(host_allowed(&named, host("mcp.EXAMPLE.com:443"), "/mcp"));
        assert!(!host_allowed(&loopback, host("mcp.example.com"), "/mcp"));
        // A byte outside ASCII matches no name.
        let latin1 = HeaderValue::from_bytes(b"localhost\xff").expect("obs-text is allowed");
        assert!(!host_allowed(&loopback, Some(latin1), "/mcp"));
        // Without a Host header (HTTP/2), the URI's authority is checked.
        assert!(host_allowed(&loopback, None, "http://localhost:8080/mcp"));
        // Neither: a malformed HTTP/1.1 request (400); an HTTP/1.0 one is only not ours.
        assert_eq!(refusal(&loopback, None, "/mcp"), Some(Refusal::MissingHost));
        // HTTP/1.1 needs its Host in absolute-form too, and when any host is allowed.
        let http11 = |config: &HostOriginLayer, uri: &'static str| {
            config.config.refusal(
                &HeaderMap::new(),
                &Uri::from_static(uri),
                http::Version::HTTP_11,
            )
        };
        let any_host = HostOriginLayer::new().allow_any_host();
        for (config, uri) in [
            (&loopback, "http://localhost/mcp"),
            (&any_host, "/mcp"),
            (&any_host, "http://localhost/mcp"),
        ] {
            assert_eq!(http11(config, uri), Some(Refusal::MissingHost), "{uri}");
        }
        let http10 = loopback.config.refusal(
            &HeaderMap::new(),
            &Uri::from_static("/mcp"),
            http::Version::HTTP_10,
        );
        assert_eq!(http10, Some(Refusal::Host));
    }

    #[test]
    fn host_is_parsed_strictly() {
        let loopback = HostOriginLayer::new();
        // Only `:` and at most five digits may follow the host: cutting at the first `:`
        // would read each of these as a loopback host.
        for refused in [
            "localhost:80@evil.example.com",
            "127.0.0.1:80@evil.example.com",
            "localhost:8080/evil",
            "localhost:80:80",
            "localhost:8o",
            "127.0.0.1:123456",
            "[::1]@evil.example.com",
            "[::1]:80@evil.example.com",
            "[::1",
            "::1",
        ] {
            assert!(!host_allowed(&loopback, host(refused), "/mcp"), "{refused}");
        }
    }

    #[test]
    fn repeated_host_is_a_bad_request() {
        // This test used to assert that the first Host counts (refused before Origin when it
        // is foreign): RFC 9112 §3.2 requires 400 for any second Host line, whichever is
        // first, identical values and absolute-form targets included.
        let loopback = HostOriginLayer::new();
        let any_host = HostOriginLayer::new().allow_any_host();
        for (first, second) in [
            ("127.0.0.1", "evil.example.com"),
            ("evil.example.com", "localhost"),
            ("localhost", "localhost"),
        ] {
            let mut headers = HeaderMap::new();
            headers.append(header::HOST, HeaderValue::from_static(first));
            headers.append(header::HOST, HeaderValue::from_static(second));
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_static("http://evil.example.com"),
            );
            for uri in ["/mcp", "http://localhost/mcp"] {
                for config in [&loopback, &any_host] {
                    assert_eq!(
                        config.config.refusal(
                            &headers,
                            &Uri::from_static(uri),
                            http::Version::HTTP_11
                        ),
                        Some(Refusal::RepeatedHost),
                        "{first}, {second}, {uri}"
                    );
                }
            }
        }
    }

    #[test]
    fn absolute_form_target_is_checked_instead_of_host() {
        let loopback = HostOriginLayer::new();
        // RFC 9112 §3.2.2: the target's authority counts, the Host is ignored.
        for (host_value, uri) in [
            (Some("127.0.0.1"), "http://evil.example/mcp"),
            (Some("localhost"), "http://evil.example:8080/mcp"),
            (None, "http://evil.example.com/mcp"),
            // Userinfo must not pass for a loopback host.
            (Some("127.0.0.1"), "http://localhost:80@evil.example/mcp"),
            (Some("127.0.0.1"), "http://localhost@evil.example/mcp"),
        ] {
            assert_eq!(
                refusal(&loopback, host_value.and_then(host), uri),
                Some(Refusal::Authority),
                "{host_value:?} {uri}"
            );
        }
        // This used to be refused, by its Host, when the Host was what counted; the loopback
        // target is what the request is for, and the Host is ignored.
        assert_eq!(
            refusal(&loopback, host("evil.example.com"), "http://localhost/mcp"),
            None
        );
        // HTTP/2 puts `:authority` in the URI, often without a Host header.
        for uri in [
            "http://127.0.0.1:8080/mcp",
            "http://localhost/mcp",
            "https://[::1]:8443/mcp",
        ] {
            assert_eq!(refusal(&loopback, None, uri), None, "{uri}");
            assert_eq!(refusal(&loopback, host("127.0.0.1"), uri), None, "{uri}");
        }
        let named = HostOriginLayer::new().allow_host("mcp.example.com");
        assert_eq!(
            refusal(&named, None, "https://MCP.example.com:443/mcp"),
            None
        );
        let any_host = HostOriginLayer::new().allow_any_host();
        assert_eq!(refusal(&any_host, None, "http://evil.example/mcp"), None);
    }

    #[test]
    fn origins_must_be_loopback_or_listed() {
        let config = HostOriginLayer::new().allow_origin("https://app.example.com/");
        let allowed = |origin: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
            if let Some(origin) = origin {
                let origin = HeaderValue::from_str(origin).expect("value");
                headers.append(header::ORIGIN, origin);
                // Only the first counts, as `HeaderMap::get` gives it.
                headers.append(header::ORIGIN, HeaderValue::from_static("http://localhost"));
            }
            match config
                .config
                .refusal(&headers, &Uri::from_static("/mcp"), http::Version::HTTP_11)
            {
                None => true,
                Some(refusal) => {
                    assert_eq!(refusal, Refusal::Origin);
                    false
                }
            }
        };
        assert!(allowed(None));
        for origin in [
            "http://localhost:5173",
            "http://localhost",
            "HTTP://LOCALHOST:1",
            "http://127.0.0.1:65535",
            "https://[::1]",
            "http://[::1]:8080",
            "https://APP.example.com",
        ] {
            assert!(allowed(Some(origin)), "{origin}");
        }
        for origin in [
            "http://evil.example.com",
            "file://localhost",
            "null",
            // `scheme "://" host [ ":" port ]` only (RFC 6454 §7).
            "http://localhost:80@evil.com",
            "http://localhost@evil.com",
            "http://[::1]:80@evil.com",
            "http://[::1]@evil.com",
            "http://localhost/",
            "http://localhost:8080/evil",
            "http://localhost:",
            "http://localhost:8o",
            "http://localhost:123456",
            "http://localhost:80:80",
            "http://[::1",
            "http://[::1]x",
        ] {
            assert!(!allowed(Some(origin)), "{origin}");
        }
    }

    #[tokio::test]
    async fn refusals_are_json_rpc_errors() {
        let inner = tower::service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(b"inner")))
        });
        let service = HostOriginLayer::new().layer(inner);
        let send = |headers: &[(&'static str, &'static str)], uri: &'static str| {
            let mut request = Request::builder().uri(uri);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            service.clone().oneshot(request.body(()).expect("request"))
        };
        // (headers, request target, status, JSON-RPC code and message)
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static str,
            u16,
            Option<(i64, &'static str)>,
        );
        let cases: [Case; 5] = [
            (&[("host", "127.0.0.1:3000")], "/mcp", 200, None),
            (
                &[("host", "127.0.0.1"), ("host", "evil.example.com")],
                "/mcp",
                400,
                Some((-32600, "Bad Request: more than one Host header")),
            ),
            (
                &[("host", "evil.example.com")],
                "/mcp",
                403,
                Some((-32000, "Forbidden: Host header is not allowed")),
            ),
            (
                &[("host", "127.0.0.1")],
                "http://evil.example/mcp",
                403,
                Some((-32000, "Forbidden: request target authority is not allowed")),
            ),
            (
                &[
                    ("host", "127.0.0.1"),
                    ("origin", "http://localhost:80@evil.com"),
                ],
                "/mcp",
                403,
                Some((-32000, "Forbidden: Origin is not allowed")),
            ),
        ];
        for (headers, uri, status, error) in cases {
            let response = send(headers, uri).await.expect("infallible");
            assert_eq!(response.status().as_u16(), status, "{headers:?} {uri}");
            let body = response.into_body();
            match error {
                None => assert_eq!(body, "inner"),
                Some((code, message)) => {
                    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
                    assert_eq!(body["error"]["code"], code);
                    assert_eq!(body["error"]["message"], message);
                }
            }
        }
    }
}
