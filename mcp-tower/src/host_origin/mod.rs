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
/// `Origin` is not ours gets **403**. An HTTP/1.1 request with no `Host`, more than one, or one
/// that is not a host and port gets **400** (RFC 9112 §3.2), even with
/// [`allow_any_host`](Self::allow_any_host). Both come before the body is read, with a
/// JSON-RPC error body. Loopback hosts and origins (any port) are
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
/// assert_eq!(status(&[("host", "localhost:80@evil.example")]).await, 400);
/// assert_eq!(status(&[]).await, 400); // HTTP/1.1 without Host
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
    /// A `Host` that is not `host [":" port]` (junk after the host, a port that is not a
    /// number, an unclosed IPv6 literal): RFC 9112 §3.2 requires 400 for an invalid value.
    MalformedHost,
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
            Self::MalformedHost => (
                StatusCode::BAD_REQUEST,
                -32600,
                "Bad Request: the Host header is not a host and port",
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
        // Whatever the target's form, and whether or not hosts are checked (RFC 9112 §3.2).
        // The name without its port, parsed once.
        let host = match host {
            None if version == http::Version::HTTP_11 => return Some(Refusal::MissingHost),
            None => None,
            Some(value) => match strict_host(value.as_bytes(), true) {
                None => return Some(Refusal::MalformedHost),
                name => name,
            },
        };
        if !self.any_host {
            // An authority in the URI is the absolute-form target of HTTP/1.1, whose Host
            // must be ignored (RFC 9112 §3.2.2), or HTTP/2's `:authority`. The usual
            // origin-form HTTP/1.1 request has none and goes by its Host.
            match uri.authority() {
                Some(authority) if !self.host_allowed(authority.as_str().as_bytes()) => {
                    return Some(Refusal::Authority);
                }
                Some(_) => {}
                None if !host.is_some_and(|name| self.name_allowed(name)) => {
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
        strict_host(authority, true).is_some_and(|name| self.name_allowed(name))
    }

    /// Whether a host name (no port) is ours.
    fn name_allowed(&self, name: &[u8]) -> bool {
        is_loopback_host(name)
            || self
                .hosts
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
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
            Some(refusal) => ResponseFuture::answer_unread(&request, refusal.response()),
            None => ResponseFuture::inner(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests;
