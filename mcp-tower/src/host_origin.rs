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
use http::{HeaderMap, Request, Response, StatusCode, header};
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

fn is_loopback_host(host: &str) -> bool {
    ["localhost", "127.0.0.1", "[::1]", "::1"]
        .iter()
        .any(|loopback| host.eq_ignore_ascii_case(loopback))
}

/// Splits `host[:port]` (IPv6 in brackets) and returns the host, borrowed: this runs on
/// every request, so host names are compared case-insensitively instead of lower-cased.
fn host_without_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        authority
            .find(']')
            .map_or(authority, |end| &authority[..=end])
    } else {
        authority.split(':').next().unwrap_or(authority)
    }
}

impl HostOriginConfig {
    fn host_allowed(&self, headers: &HeaderMap, uri: &http::Uri) -> bool {
        if self.any_host {
            return true;
        }
        // HTTP/2 carries the host in the URI authority; HTTP/1.1 in the Host header.
        let authority = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| uri.authority().map(http::uri::Authority::as_str));
        let Some(authority) = authority else {
            return false;
        };
        let host = host_without_port(authority);
        is_loopback_host(host) || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
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
            && is_loopback_host(host_without_port(authority))
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
        let refusal = if !self.config.host_allowed(request.headers(), request.uri()) {
            Some("Forbidden: Host header is not allowed")
        } else if !self.config.origin_allowed(request.headers()) {
            Some("Forbidden: Origin is not allowed")
        } else {
            None
        };
        match refusal {
            Some(message) => ResponseFuture::answer(json_rpc_error_response(
                StatusCode::FORBIDDEN,
                -32000,
                message,
            )),
            None => ResponseFuture::inner(self.inner.call(request)),
        }
    }
}
