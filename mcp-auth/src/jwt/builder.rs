//! Configuration of [`JwtAuthenticator`], validated once in [`build`](JwtAuthenticatorBuilder::build).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use jsonwebtoken::{Algorithm, Validation};
use mcp_core::AllowList;
use serde_json::{Map, Value};

use super::fetch::{HttpFetcher, JwksFetcher, is_remote_plain_http};
use super::issuers::IssuerKeys;
use super::keys::{JwksSource, KeyStore, Limits};
use super::{AllowListFn, Inner, JwtAuthenticator};
use crate::challenge::WwwAuthenticate;
use crate::error::ConfigError;
use crate::metadata::{parse_resource, resource_metadata_url};

enum Source {
    Url(String),
    Metadata(String),
    Discover,
}

/// Configures a [`JwtAuthenticator`]; see there for an example.
///
/// Defaults: algorithm `RS256`; leeway 30 s; JWKS fetch timeout 5 s, at most 64 KiB and 32
/// usable keys; at most one refresh per 30 s (minimum interval) and a refresh when the keys
/// are older than 1 hour; the `resource_metadata` URL derived from the resource (RFC 9728
/// §3.1); an [`HttpFetcher`] speaking HTTPS with the `webpki-roots` CAs; plain `http` URLs
/// only to loopback hosts.
pub struct JwtAuthenticatorBuilder {
    resource: String,
    issuers: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    verified_cache: (usize, Duration),
    source: Option<Source>,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    limits: Limits,
    required_scopes: Vec<String>,
    resource_metadata: Option<Option<String>>,
    allow_list_from: Option<Box<AllowListFn>>,
    access_token_type: bool,
}

impl fmt::Debug for JwtAuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticatorBuilder")
            .field("resource", &self.resource)
            .field("issuers", &self.issuers)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticatorBuilder {
    pub(super) fn new(resource: String) -> Self {
        Self {
            resource,
            issuers: Vec::new(),
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(30),
            verified_cache: (10_000, Duration::from_secs(60)),
            source: None,
            fetcher: None,
            limits: Limits {
                timeout: Duration::from_secs(5),
                max_bytes: 64 * 1024,
                max_keys: 32,
                min_refresh_interval: Duration::from_secs(30),
                max_age: Duration::from_secs(3600),
                allow_insecure_http: false,
            },
            required_scopes: Vec::new(),
            resource_metadata: None,
            allow_list_from: None,
            access_token_type: false,
        }
    }

    /// Refuses tokens whose `typ` header is not `at+jwt` (or `application/at+jwt`), as
    /// RFC 9068 §4 has a resource server do, so that an ID token signed by the same
    /// authorization server cannot pass for an access token. Off by default: many
    /// authorization servers type their access tokens `JWT`.
    ///
    /// ```
    /// let builder = mcp_auth::JwtAuthenticator::builder("https://mcp.example.com/mcp")
    ///     .require_access_token_type(true);
    /// # let _ = builder;
    /// ```
    pub fn require_access_token_type(mut self, require: bool) -> Self {
        self.access_token_type = require;
        self
    }

    /// Accepts tokens issued by `issuer` (an authorization server issuer identifier, compared
    /// exactly with `iss`). At least one is required; [`build`](Self::build) refuses an empty
    /// one and warns about one that is not an absolute http(s) URL without query or fragment
    /// (RFC 8414: MCP clients discover the authorization server by it).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// The signature algorithms accepted (replaces the default `RS256`). HMAC algorithms are
    /// refused at [`build`](Self::build): a resource server verifies with public keys.
    ///
    /// ```
    /// use jsonwebtoken::Algorithm;
    /// use mcp_auth::JwtAuthenticator;
    ///
    /// let builder = || {
    ///     JwtAuthenticator::builder("https://mcp.example.com/mcp")
    ///         .issuer("https://auth.example.com")
    ///         .discover_jwks()
    /// };
    /// assert!(builder().algorithms([Algorithm::ES256, Algorithm::EdDSA]).build().is_ok());
    /// assert!(builder().algorithms([Algorithm::HS256]).build().is_err());
    /// ```
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Remembers up to `max_entries` verified tokens (by SHA-256 digest) for at most
    /// `max_age` and never past their `exp`, so a client's repeated token costs a hash and
    /// a lookup instead of a signature check (default 10 000 entries, 60 s). A cached
    /// verification never outlives `max_age`; a key removed from the JWKS keeps verifying
    /// new tokens until the key set is fetched again ([`max_key_age`](Self::max_key_age)).
    /// `0` turns the cache off; `max_age` is at most a day.
    pub fn verified_token_cache(mut self, max_entries: usize, max_age: Duration) -> Self {
        self.verified_cache = (max_entries, max_age);
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (whole seconds; default 30 s, at most a day:
    /// a skew past that is no skew, and years of it overflowed the checks).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(Duration::from_secs(24 * 3600));
        self
    }

    /// Fetches the JWKS from this URL. Its keys verify tokens of every configured
    /// [`issuer`](Self::issuer): configure several issuers with one key set only when they
    /// share it (one authorization server under several names); for authorization servers of
    /// their own, [`discover_jwks`](Self::discover_jwks) keeps each one's keys to its tokens.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(Source::Url(url.into()));
        self
    }

    /// Fetches this authorization server metadata document (RFC 8414 or OpenID Connect
    /// discovery) and then the JWKS at its `jwks_uri`. The document's `issuer` must be one of
    /// the configured issuers: a document that names another is refused, so whoever can
    /// serve that URL cannot point the server at keys of their own. As with
    /// [`jwks_url`](Self::jwks_url), the keys verify tokens of every configured issuer.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use bytes::Bytes;
    /// use mcp_auth::{FetchError, JwtAuthenticator};
    ///
    /// // A fetcher (see `JwksFetcher`) whose discovery document names another issuer.
    /// let fetcher = |_: http::Uri, _: usize| async {
    ///     let document = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/k"}"#;
    ///     Ok::<_, FetchError>(Bytes::from_static(document.as_bytes()))
    /// };
    /// let jwt = JwtAuthenticator::builder("https://mcp.example.com/mcp")
    ///     .issuer("https://auth.example.com")
    ///     .jwks_from_metadata("https://auth.example.com/.well-known/openid-configuration")
    ///     .fetcher(fetcher)
    ///     .build()
    ///     .unwrap();
    /// let error = jwt.refresh().await.unwrap_err();
    /// assert!(error.to_string().contains("unexpected issuer"));
    /// # }
    /// ```
    pub fn jwks_from_metadata(mut self, metadata_url: impl Into<String>) -> Self {
        self.source = Some(Source::Metadata(metadata_url.into()));
        self
    }

    /// Like [`jwks_from_metadata`](Self::jwks_from_metadata) for each configured issuer, with
    /// its RFC 8414 metadata URL (`/.well-known/oauth-authorization-server` inserted before
    /// its path, see [`authorization_server_metadata_url`]), whose document must name that
    /// issuer exactly. Each issuer's keys verify only the tokens whose `iss` names it: with
    /// several authorization servers, none can sign tokens for another. Every issuer must
    /// then publish its own metadata: for one authorization server known under several issuer
    /// names (which share one key set), use [`jwks_url`](Self::jwks_url) or
    /// [`jwks_from_metadata`](Self::jwks_from_metadata) (an issuer without a document stays
    /// unverifiable: its tokens get 503 while its discovery fails, each failure logged at
    /// `warn`). The [`JwksFetcher`] example follows it.
    pub fn discover_jwks(mut self) -> Self {
        self.source = Some(Source::Discover);
        self
    }

    /// Uses `fetcher` for the JWKS and metadata (e.g. an [`HttpFetcher`] trusting a private
    /// CA, see [`HttpFetcher::with_root_store`]).
    pub fn fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Lets the JWKS, metadata and discovered `jwks_uri` URLs be plain `http` to any host.
    /// **For development only**: whoever is on the path can then swap the keys and mint
    /// tokens. Without it only `https` and `http` to a loopback host (`localhost`,
    /// `127.0.0.0/8`, `[::1]`) are accepted, and [`build`](Self::build) refuses the rest, as
    /// the MCP authorization spec has authorization server endpoints served over HTTPS.
    ///
    /// ```
    /// use mcp_auth::JwtAuthenticator;
    ///
    /// let builder = || {
    ///     JwtAuthenticator::builder("http://mcp.dev.internal/mcp")
    ///         .issuer("http://auth.dev.internal")
    ///         .jwks_url("http://auth.dev.internal/jwks.json")
    /// };
    /// assert!(builder().build().is_err());
    /// assert!(builder().allow_insecure_http().build().is_ok());
    /// ```
    pub fn allow_insecure_http(mut self) -> Self {
        self.limits.allow_insecure_http = true;
        self
    }

    /// Timeout of one fetch.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Largest JWKS (or metadata) document accepted, in bytes.
    pub fn max_jwks_bytes(mut self, max: usize) -> Self {
        self.limits.max_bytes = max;
        self
    }

    /// Most usable keys kept from one JWKS; further keys are ignored.
    pub fn max_keys(mut self, max: usize) -> Self {
        self.limits.max_keys = max;
        self
    }

    /// Shortest time between two JWKS fetches triggered by unknown `kid`s (default 30 s).
    /// After a fetch that failed the next may come sooner: 1 s later, then twice as long after
    /// each further failure, up to this interval.
    ///
    /// Anyone can send a token with an unknown `kid`, and so start that interval: a key the
    /// authorization server signs with as soon as it publishes it may be refused for up to
    /// this long. Publish keys ahead of use (the usual JWKS rotation), at least this long
    /// before tokens signed with them are issued. [`build`](Self::build) refuses zero, which
    /// would turn every made-up `kid` into a fetch.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.limits.min_refresh_interval = interval;
        self
    }

    /// Keys older than this are refreshed (by one request, the others keep going), so that
    /// revoked keys disappear: a key removed from the JWKS is trusted for up to this long
    /// after its removal (default 1 h; lower it for faster revocation, at one JWKS fetch per
    /// period).
    pub fn max_key_age(mut self, age: Duration) -> Self {
        self.limits.max_age = age;
        self
    }

    /// Scopes every token must carry; also advertised in the 401 challenge's `scope`.
    /// A valid token lacking one gets a 403 `insufficient_scope` step-up challenge.
    pub fn required_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Overrides the `resource_metadata` URL of the challenges (`None` leaves it out).
    pub fn resource_metadata_url(mut self, url: Option<String>) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// Derives the principal's [`AllowList`] from the token's claims (per billing plan, say).
    /// Return `None` (or an unrestricted list) for no restriction.
    pub fn allow_list_from<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Map<String, Value>) -> R + Send + Sync + 'static,
        R: Into<Option<AllowList>>,
    {
        self.allow_list_from = Some(Box::new(move |claims| f(claims).into()));
        self
    }

    /// Checks the configuration and builds the authenticator. Nothing is fetched yet (see
    /// [`JwtAuthenticator::refresh`]).
    pub fn build(self) -> Result<JwtAuthenticator, ConfigError> {
        parse_resource(&self.resource)?;
        if self.issuers.is_empty() {
            return Err(ConfigError::new("at least one issuer is required"));
        }
        if self.issuers.iter().any(|issuer| issuer.trim().is_empty()) {
            // It would match tokens with an empty `iss`.
            return Err(ConfigError::new("an issuer must not be empty"));
        }
        for issuer in self
            .issuers
            .iter()
            .filter(|issuer| !is_issuer_identifier(issuer))
        {
            // JWT allows any string, but the metadata document publishes issuers for clients
            // to look the authorization server up by (RFC 9728, RFC 8414): a name breaks
            // their discovery. Warned about, not refused: tokens of such issuers still verify.
            tracing::warn!(
                issuer,
                "issuer is not an absolute http(s) URL without query or fragment (RFC 8414); \
                 MCP clients cannot discover its authorization server"
            );
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::new("at least one algorithm is required"));
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ConfigError::new(format!(
                "{alg:?} is a shared-secret algorithm; only public-key algorithms are accepted"
            )));
        }
        if self.limits.max_bytes == 0 || self.limits.max_keys == 0 {
            return Err(ConfigError::new("JWKS limits must be positive"));
        }
        if self.limits.timeout.is_zero() {
            return Err(ConfigError::new("the fetch timeout must be positive"));
        }
        if self.limits.min_refresh_interval.is_zero() {
            // Every token with a made-up `kid` would then be one fetch from the
            // authorization server.
            return Err(ConfigError::new(
                "the minimum refresh interval must be positive",
            ));
        }
        // Each issuer's own keys when discovered; one key set for all when named.
        let sources = match &self.source {
            None => {
                return Err(ConfigError::new(
                    "a JWKS source is required (jwks_url, ...)",
                ));
            }
            Some(Source::Url(url)) => vec![(None, JwksSource::Url(self.fetch_url(url)?))],
            Some(Source::Metadata(url)) => {
                vec![(None, JwksSource::Metadata(self.fetch_url(url)?))]
            }
            Some(Source::Discover) => self
                .issuers
                .iter()
                .map(|issuer| {
                    let url = self.fetch_url(&authorization_server_metadata_url(issuer)?)?;
                    Ok((Some(issuer.clone()), JwksSource::Metadata(url)))
                })
                .collect::<Result<Vec<_>, ConfigError>>()?,
        };
        for scope in &self.required_scopes {
            if WwwAuthenticate::bearer().scope([scope]).render().is_err() {
                return Err(ConfigError::new(format!("invalid scope {scope:?}")));
            }
        }
        let resource_metadata = match self.resource_metadata {
            Some(url) => url,
            None => Some(resource_metadata_url(&self.resource)?),
        };
        let mut challenge = WwwAuthenticate::bearer();
        if let Some(url) = &resource_metadata {
            challenge = challenge.resource_metadata(url.clone());
        }
        if !self.required_scopes.is_empty() {
            challenge = challenge.scope(&self.required_scopes);
        }
        challenge
            .render()
            .map_err(|e| ConfigError::new(format!("invalid challenge: {e}")))?;

        let validations = self
            .algorithms
            .iter()
            .map(|&alg| {
                let mut v = Validation::new(alg);
                v.leeway = self.leeway.as_secs();
                v.validate_exp = true;
                v.validate_nbf = true;
                // `aud` must be present (required below) and is compared by the
                // authenticator, which accepts an upper-case scheme and host.
                v.validate_aud = false;
                v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
                v.set_issuer(&self.issuers);
                // The signature is checked before, with the key parsed once (`CachedKey`);
                // these are the claim checks only, and are never used on their own.
                #[allow(deprecated)]
                v.insecure_disable_signature_validation();
                (alg, v)
            })
            .collect();
        let fetcher = self.fetcher.unwrap_or_else(|| Arc::new(HttpFetcher::new()));
        let store = |issuers: Vec<String>, source: JwksSource| {
            Arc::new(KeyStore::new(
                Arc::clone(&fetcher),
                source,
                issuers,
                self.algorithms.clone(),
                self.limits.clone(),
            ))
        };
        let keys = match sources.first() {
            Some((None, _)) => {
                let (_, source) = sources.into_iter().next().expect("one source");
                IssuerKeys::Shared(store(self.issuers.clone(), source))
            }
            _ => IssuerKeys::PerIssuer(
                sources
                    .into_iter()
                    .filter_map(|(issuer, source)| {
                        let issuer = issuer?;
                        Some((issuer.clone(), store(vec![issuer], source)))
                    })
                    .collect(),
            ),
        };
        Ok(JwtAuthenticator {
            inner: Arc::new(Inner {
                resource: self.resource,
                keys,
                algorithms: self.algorithms,
                validations,
                resource_metadata,
                required_scopes: self.required_scopes,
                verified: super::cache::TokenCache::new(
                    self.verified_cache.0,
                    self.verified_cache.1,
                ),
                challenge,
                allow_list_from: self.allow_list_from,
                access_token_type: self.access_token_type,
            }),
        })
    }
}

impl JwtAuthenticatorBuilder {
    /// `url` as a URL keys may be fetched from: absolute http(s), and plain http only to
    /// loopback unless [`allow_insecure_http`](Self::allow_insecure_http).
    fn fetch_url(&self, url: &str) -> Result<Uri, ConfigError> {
        let uri = http_url(url)?;
        if !self.limits.allow_insecure_http && is_remote_plain_http(&uri) {
            return Err(ConfigError::new(format!(
                "{url:?} is plain http to a non-loopback host: use https \
                 (or allow_insecure_http, for development)"
            )));
        }
        Ok(uri)
    }
}

fn http_url(url: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| ConfigError::new(format!("invalid URL {url:?}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(ConfigError::new(format!(
            "{url:?} is not an absolute http(s) URL"
        )));
    }
    Ok(uri)
}

/// The RFC 8414 §3.1 metadata URL of an authorization server issuer:
/// `/.well-known/oauth-authorization-server` inserted between the host and the path.
///
/// ```
/// use mcp_auth::authorization_server_metadata_url;
///
/// assert_eq!(
///     authorization_server_metadata_url("https://auth.example.com/tenant1").unwrap(),
///     "https://auth.example.com/.well-known/oauth-authorization-server/tenant1"
/// );
/// ```
pub fn authorization_server_metadata_url(issuer: &str) -> Result<String, ConfigError> {
    // The checks are a resource URI's; the message is about the issuer.
    let parsed = parse_resource(issuer).map_err(|e| {
        ConfigError::new(format!(
            "issuer {issuer:?} is not a URL its metadata can be discovered from ({}); \
             name its keys with jwks_url or jwks_from_metadata instead",
            e.message()
        ))
    })?;
    if parsed.query.is_some() {
        return Err(ConfigError::new(
            "an issuer identifier has no query component",
        ));
    }
    Ok(format!(
        "{}/.well-known/oauth-authorization-server{}",
        parsed.origin, parsed.path
    ))
}

/// RFC 8414 §2: a URL (here https, or http for development) with a host and no query or
/// fragment.
fn is_issuer_identifier(issuer: &str) -> bool {
    let Ok(uri) = issuer.parse::<http::Uri>() else {
        return false;
    };
    matches!(uri.scheme_str(), Some("https" | "http"))
        && uri.host().is_some_and(|host| !host.is_empty())
        && uri.query().is_none()
        && !issuer.contains('#')
}

#[cfg(test)]
mod tests;
