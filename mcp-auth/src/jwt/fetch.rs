//! Fetching the JWKS (and authorization server metadata) over HTTP, behind a small trait so
//! that HTTPS, proxies or a test double can be plugged in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

/// A boxed, `Send` future, as returned by [`JwksFetcher::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a fetch failed.
#[derive(Debug)]
pub struct FetchError {
    message: String,
}

impl FetchError {
    /// A fetch error with this explanation.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {}

/// GETs a small JSON document (a JWKS, or authorization server metadata).
///
/// Implementations must not return more than `max_bytes` of body (stop reading past it and
/// fail). The caller applies the timeout. [`HttpFetcher`] is the hyper-based implementation;
/// closures `Fn(Uri, usize) -> impl Future<Output = Result<Bytes, FetchError>>` implement it
/// too.
pub trait JwksFetcher: Send + Sync + 'static {
    /// Fetches `url`.
    fn fetch(&self, url: Uri, max_bytes: usize) -> BoxFuture<'_, Result<Bytes, FetchError>>;
}

impl<F, Fut> JwksFetcher for F
where
    F: Fn(Uri, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Bytes, FetchError>> + Send + 'static,
{
    fn fetch(&self, url: Uri, max_bytes: usize) -> BoxFuture<'_, Result<Bytes, FetchError>> {
        Box::pin(self(url, max_bytes))
    }
}

/// A [`JwksFetcher`] on hyper-util's client.
///
/// [`HttpFetcher::new`] speaks plain HTTP only (fine on loopback or inside a trusted
/// network); for HTTPS, build it [`with_connector`](Self::with_connector) and a TLS connector
/// such as `hyper-rustls`'s `HttpsConnector`. Redirects are not followed.
#[derive(Clone)]
pub struct HttpFetcher<C = HttpConnector> {
    client: Client<C, Empty<Bytes>>,
}

impl HttpFetcher {
    /// A plain-HTTP fetcher. Needs a Tokio runtime when it fetches.
    pub fn new() -> Self {
        Self::with_connector(HttpConnector::new())
    }
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A fetcher using `connector` (e.g. an HTTPS connector).
    pub fn with_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl<C> fmt::Debug for HttpFetcher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFetcher").finish_non_exhaustive()
    }
}

impl<C> JwksFetcher for HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn fetch(&self, url: Uri, max_bytes: usize) -> BoxFuture<'_, Result<Bytes, FetchError>> {
        Box::pin(async move {
            let mut request = Request::new(Empty::new());
            *request.uri_mut() = url;
            request.headers_mut().insert(
                header::ACCEPT,
                HeaderValue::from_static("application/jwk-set+json, application/json"),
            );
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::new(format!("request failed: {e}")))?;
            if response.status() != StatusCode::OK {
                return Err(FetchError::new(format!("status {}", response.status())));
            }
            // Refuse early on a declared length; `Limited` catches the rest (chunked bodies).
            let declared = response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > max_bytes as u64) {
                return Err(FetchError::new("document larger than the limit"));
            }
            let body = Limited::new(response.into_body(), max_bytes)
                .collect()
                .await
                .map_err(|e| FetchError::new(format!("reading the body failed: {e}")))?;
            Ok(body.to_bytes())
        })
    }
}
