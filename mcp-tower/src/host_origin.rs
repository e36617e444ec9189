//! DNS-rebinding protection: refuse requests whose `Host` or `Origin` is not ours, with 403,
//! before the body is read.
//!
//! ```
//! use mcp_tower::HostOriginLayer;
//!
//! // Loopback hosts (any port) are always accepted; add the public names you serve.
//! let layer = HostOriginLayer::new()
//!     .allow_host("mcp.example.com")
//!     .allow_origin("https://app.example.com");
//! # let _ = layer;
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use crate::error_body::json_rpc_error_response;
use crate::future::ResponseFuture;

/// Configures [`HostOrigin`]: which hosts and origins are ours.
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

    /// Accepts any `Host` (only behind a proxy that validates it). Origins are still checked.
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

/// Splits `host[:port]` (IPv6 in brackets) and returns the host, borrowed: this runs on
/// every request, so host names are compared case-insensitively instead of lower-cased.
fn host_without_port(authority: &[u8]) -> &[u8] {
    if authority.starts_with(b"[") {
        authority
            .iter()
            .position(|&b| b == b']')
            .map_or(authority, |end| &authority[..=end])
    } else {
        authority.split(|&b| b == b':').next().unwrap_or(authority)
    }
}

impl HostOriginConfig {
    /// Whether the request's `Host` (or, without one, its URI's authority) and `Origin` are
    /// ours. One pass over the headers finds both: a lookup by name hashes and probes, and
    /// costs more than comparing a request's handful of (standard) names.
    fn refusal(&self, headers: &HeaderMap, uri: &http::Uri) -> Option<&'static str> {
        let (mut host, mut origin) = (None, None);
        for (name, value) in headers {
            // The first of each, as `HeaderMap::get` gives it.
            if name == header::HOST {
                host.get_or_insert(value);
            } else if name == header::ORIGIN {
                origin.get_or_insert(value);
            }
        }
        if !self.host_allowed(host, uri) {
            Some("Forbidden: Host header is not allowed")
        } else if !self.origin_allowed(origin) {
            Some("Forbidden: Origin is not allowed")
        } else {
            None
        }
    }

    fn host_allowed(&self, host: Option<&HeaderValue>, uri: &http::Uri) -> bool {
        if self.any_host {
            return true;
        }
        // HTTP/2 carries the host in the URI authority; HTTP/1.1 in the Host header.
        let authority = match host {
            Some(host) => host.as_bytes(),
            None => match uri.authority() {
                Some(authority) => authority.as_str().as_bytes(),
                None => return false,
            },
        };
        let host = host_without_port(authority);
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
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
            && is_loopback_host(host_without_port(authority.as_bytes()))
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
        match self.config.refusal(request.headers(), request.uri()) {
            Some(message) => ResponseFuture::answer(json_rpc_error_response(
                StatusCode::FORBIDDEN,
                -32000,
                message,
            )),
            None => ResponseFuture::inner(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Uri};

    use super::*;

    fn host_allowed(config: &HostOriginLayer, host: Option<HeaderValue>, uri: &str) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, host);
        }
        let uri = uri.parse::<Uri>().expect("uri");
        match config.config.refusal(&headers, &uri) {
            None => true,
            Some(refusal) => {
                assert_eq!(refusal, "Forbidden: Host header is not allowed");
                false
            }
        }
    }

    #[test]
    fn hosts_are_matched_without_port_and_case() {
        let loopback = HostOriginLayer::new();
        let named = HostOriginLayer::new().allow_host("MCP.example.com");
        let host = |value: &str| Some(HeaderValue::from_str(value).expect("value"));
        for allowed in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:3000",
            "LocalHost",
            "[::1]:9000",
            "[::1]",
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
        assert!(!host_allowed(
            &loopback,
            None,
            "http://evil.example.com/mcp"
        ));
        assert!(!host_allowed(&loopback, None, "/mcp"));
        // The first Host counts when there are several (and a bad one is refused first).
        let mut headers = HeaderMap::new();
        headers.append(header::HOST, HeaderValue::from_static("evil.example.com"));
        headers.append(header::HOST, HeaderValue::from_static("localhost"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example.com"),
        );
        assert_eq!(
            loopback.config.refusal(&headers, &Uri::from_static("/mcp")),
            Some("Forbidden: Host header is not allowed")
        );
        // A Host header is what counts when there is one.
        assert!(!host_allowed(
            &loopback,
            host("evil.example.com"),
            "http://localhost/mcp"
        ));
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
            match config.config.refusal(&headers, &Uri::from_static("/mcp")) {
                None => true,
                Some(refusal) => {
                    assert_eq!(refusal, "Forbidden: Origin is not allowed");
                    false
                }
            }
        };
        assert!(allowed(None));
        assert!(allowed(Some("http://localhost:5173")));
        assert!(allowed(Some("https://[::1]")));
        assert!(allowed(Some("https://APP.example.com")));
        assert!(!allowed(Some("http://evil.example.com")));
        assert!(!allowed(Some("file://localhost")));
        assert!(!allowed(Some("null")));
    }
}
