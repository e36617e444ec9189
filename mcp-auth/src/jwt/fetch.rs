//! Fetching the JWKS (and authorization server metadata) over HTTPS, behind a small trait so
//! that proxies, private CAs or a test double can be plugged in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};

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
/// too. Implement it to go through a proxy, to serve keys bundled with the binary, or in tests.
/// A fetch triggered by a request runs in a Tokio task of its own (so that a request dropped
/// meanwhile cannot cancel it), and needs a Tokio runtime whatever the fetcher.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use http::Uri;
/// use jsonwebtoken::Algorithm;
/// use mcp_auth::jwt::BoxFuture;
/// use mcp_auth::{FetchError, JwksFetcher, JwtAuthenticator};
///
/// const METADATA: &str =
///     r#"{"issuer":"https://auth.example.com","jwks_uri":"https://auth.example.com/keys"}"#;
///
/// /// The authorization server's documents, bundled with the binary: no network.
/// struct Bundled { jwks: String }
///
/// impl JwksFetcher for Bundled {
///     fn fetch(&self, url: Uri, max_bytes: usize) -> BoxFuture<'_, Result<Bytes, FetchError>> {
///         let body = match url.path() {
///             "/.well-known/oauth-authorization-server" => METADATA,
///             "/keys" => &self.jwks,
///             _ => "",
///         };
///         let result = match body.len() {
///             0 => Err(FetchError::new(format!("{url}: not found"))),
///             n if n > max_bytes => Err(FetchError::new(format!("{url}: too large"))),
///             _ => Ok(Bytes::copy_from_slice(body.as_bytes())),
///         };
///         Box::pin(async move { result })
///     }
/// }
///
/// # let key = auth_fixtures::ec_key("k1");
/// # let jwks = serde_json::json!({ "keys": [key.jwk] }).to_string();
/// let jwt = JwtAuthenticator::builder("https://mcp.example.com/mcp")
///     .issuer("https://auth.example.com")
///     .discover_jwks() // the issuer's RFC 8414 metadata, then its `jwks_uri`
///     .algorithms([Algorithm::ES256])
///     .fetcher(Bundled { jwks })
///     .build()
///     .unwrap();
/// # let token = auth_fixtures::mint(&key, &serde_json::json!({
/// #     "iss": "https://auth.example.com", "sub": "alice", "aud": "https://mcp.example.com/mcp",
/// #     "exp": auth_fixtures::now() + 60,
/// # }));
/// // The first token fetches both documents and verifies with the key found.
/// assert_eq!(jwt.verify(&token).await.unwrap().subject(), "alice");
/// # }
/// ```
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
/// [`HttpFetcher::new`] speaks HTTPS with rustls (on aws-lc), trusting the public CAs of
/// `webpki-roots` (no system certificate store needed), and plain HTTP for the URLs
/// [`JwtAuthenticatorBuilder`](crate::JwtAuthenticatorBuilder) lets through (loopback, or
/// anywhere after `allow_insecure_http`). For a private CA, use
/// [`with_root_store`](Self::with_root_store) or [`with_tls_config`](Self::with_tls_config);
/// for anything else (a proxy), [`with_connector`](Self::with_connector). Redirects are not
/// followed.
///
/// ```
/// use mcp_auth::{HttpFetcher, JwtAuthenticator};
///
/// # fn private_ca() -> rustls::RootCertStore { rustls::RootCertStore::empty() }
/// // Trust only the company CA for the JWKS.
/// let fetcher = HttpFetcher::with_root_store(private_ca());
/// let jwt = JwtAuthenticator::builder("https://mcp.example.com/mcp")
///     .issuer("https://auth.internal.example")
///     .jwks_url("https://auth.internal.example/jwks.json")
///     .fetcher(fetcher)
///     .build()
///     .unwrap();
/// # let _ = jwt;
/// ```
#[derive(Clone)]
pub struct HttpFetcher<C = HttpsConnector<HttpConnector>> {
    client: Client<C, Empty<Bytes>>,
}

impl HttpFetcher {
    /// An HTTPS (and HTTP) fetcher trusting the `webpki-roots` CAs. Needs a Tokio runtime
    /// when it fetches.
    pub fn new() -> Self {
        Self::with_tls_config(tls_builder().with_webpki_roots().with_no_client_auth())
    }

    /// An HTTPS (and HTTP) fetcher trusting only the CAs in `roots` (a private CA, a test
    /// certificate).
    pub fn with_root_store(roots: RootCertStore) -> Self {
        Self::with_tls_config(
            tls_builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// An HTTPS (and HTTP) fetcher with this rustls configuration (roots, client
    /// certificates, versions).
    pub fn with_tls_config(config: ClientConfig) -> Self {
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .build();
        Self::with_connector(connector)
    }
}

/// A rustls configuration on aws-lc (already built for `jsonwebtoken`) with the default TLS
/// versions. The provider is named rather than the process default, which is ambiguous (a
/// panic) when another crate of the program enables rustls's `ring` feature too.
fn tls_builder() -> ConfigBuilder<ClientConfig, WantsVerifier> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc supports the default TLS versions")
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
                .map_err(|e| FetchError::new(format!("request failed: {}", with_causes(&e))))?;
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

/// `error` and its sources: hyper-util's own text ("client error (Connect)") leaves out why
/// (refused, a bad certificate), which is what whoever reads the log needs.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether `url` is plain `http` to a host other than the loopback interface: keys fetched
/// that way can be swapped by anyone on the path, so it is refused unless the user opts in.
pub(crate) fn is_remote_plain_http(url: &Uri) -> bool {
    if !url
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http"))
    {
        return false;
    }
    let host = url.host().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_off_loopback_is_remote_plain_http() {
        for (url, remote) in [
            ("http://auth.example.com/jwks", true),
            ("http://10.0.0.1:8080/jwks", true),
            ("http://[2001:db8::1]/jwks", true),
            ("HTTP://auth.example.com/jwks", true),
            ("http://localhost.example.com/jwks", true),
            ("http://127.0.0.1:4000/jwks", false),
            ("http://127.8.9.10/jwks", false),
            ("http://[::1]:4000/jwks", false),
            ("http://LocalHost/jwks", false),
            ("https://auth.example.com/jwks", false),
        ] {
            let url: Uri = url.parse().unwrap();
            assert_eq!(is_remote_plain_http(&url), remote, "{url}");
        }
    }
}
