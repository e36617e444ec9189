//! [`JwtAuthenticator`]: OAuth 2.1 bearer tokens (JWT access tokens) checked against the
//! authorization server's JWKS.

mod builder;
mod cache;
mod claims;
mod fetch;
mod issuers;
mod jwk;
mod keys;

pub use builder::{JwtAuthenticatorBuilder, authorization_server_metadata_url};
pub use fetch::{BoxFuture, FetchError, HttpFetcher, JwksFetcher};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use jsonwebtoken::{Algorithm, Validation};
use mcp_core::{AllowList, Principal};
use serde_json::{Map, Value};

use crate::authenticate::{Authenticate, bearer_credentials, checked_token};
use crate::challenge::WwwAuthenticate;
use crate::rejection::Rejection;
use crate::scope::check_scopes;
use issuers::IssuerKeys;
use keys::KeyMiss;

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

type AllowListFn = dyn Fn(&Map<String, Value>) -> Option<AllowList> + Send + Sync;

/// Validates JWT access tokens from `Authorization: Bearer`, as an MCP resource server must
/// (MCP authorization spec, RFC 9068, RFC 8707).
///
/// - Signature: keys come from the authorization server's JWKS, fetched over HTTP (see
///   [`JwksFetcher`]), each parsed once into an aws-lc public key per allowed algorithm (keys
///   that do not parse are not used), and refreshed when a token names an unknown `kid`, at
///   most once per minimum interval; concurrent misses share one fetch. Symmetric (`oct`) keys
///   are never used.
/// - Algorithm: only the configured ones (default `RS256`), and only those that fit the key;
///   `alg: none` and HMAC algorithms are refused.
/// - Claims: `aud` must contain the resource's canonical URI (its scheme and host in any
///   case, as the spec asks servers to accept), `iss` must be a configured
///   authorization server, `exp` is required, `nbf` is checked when present, both with a small
///   leeway; `sub` becomes the [`Principal`] subject and `iss` its issuer (both make its
///   [`id`](Principal::id)); scopes come from `scope` or `scp`.
///
/// While the JWKS cannot be fetched (down, too large, too slow) the keys already cached keep
/// working; tokens signed with other keys get a 503 with `Retry-After` (they may be valid:
/// a 401 would have the client discard them) and the failure is logged at `warn`. The JWKS
/// is asked again 1 s after a failure, then at doubling intervals up to the
/// [minimum refresh interval](JwtAuthenticatorBuilder::min_refresh_interval). A key the JWKS
/// fetched at the last attempt does not hold gets a 401 `unknown signing key`.
///
/// Failures answer `401` with `WWW-Authenticate: Bearer resource_metadata="...",
/// scope="...", error="invalid_token", error_description="..."` (no `error` when no token was
/// sent); a token in the query string gets a 400 `invalid_request`; a valid token without the
/// [required scopes](JwtAuthenticatorBuilder::required_scopes) a 403 `insufficient_scope` that
/// asks for the granted plus the missing scopes.
///
/// ```
/// use std::time::Duration;
///
/// use jsonwebtoken::Algorithm;
/// use mcp_auth::{AuthLayer, JwtAuthenticator};
/// use mcp_core::AllowList;
///
/// let jwt = JwtAuthenticator::builder("https://mcp.example.com/mcp")
///     .issuer("https://auth.example.com")
///     .jwks_url("https://auth.example.com/.well-known/jwks.json")
///     .algorithms([Algorithm::RS256, Algorithm::ES256])
///     .leeway(Duration::from_secs(30))
///     .required_scopes(["mcp"])
///     .allow_list_from(|claims| match claims.get("plan").and_then(|p| p.as_str()) {
///         Some("pro") => None,
///         _ => Some(AllowList::new().tools(["search"])),
///     })
///     .build()
///     .unwrap();
/// assert_eq!(
///     jwt.resource_metadata_url(),
///     Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
/// );
/// let layer = AuthLayer::new(jwt);
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct JwtAuthenticator {
    inner: Arc<Inner>,
}

struct Inner {
    resource: String,
    keys: IssuerKeys,
    algorithms: Vec<Algorithm>,
    // The claim checks, one per configured algorithm, built once: `Validation` holds hash
    // sets. Their signature check is off: `verify_uncached` checks the signature first.
    validations: Vec<(Algorithm, Validation)>,
    resource_metadata: Option<String>,
    required_scopes: Vec<String>,
    // `resource_metadata` and `scope`: what every challenge starts with.
    challenge: WwwAuthenticate,
    allow_list_from: Option<Box<AllowListFn>>,
    /// Tokens verified before (off when `None`).
    verified: Option<cache::TokenCache>,
    /// Whether `typ` must say access token (RFC 9068).
    access_token_type: bool,
}

impl JwtAuthenticator {
    /// Starts configuring an authenticator for the resource with canonical URI `resource`
    /// (the `aud` tokens must carry, e.g. `https://mcp.example.com/mcp`).
    pub fn builder(resource: impl Into<String>) -> JwtAuthenticatorBuilder {
        JwtAuthenticatorBuilder::new(resource.into())
    }

    /// The canonical resource URI.
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The `resource_metadata` URL sent in challenges.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.inner.resource_metadata.as_deref()
    }

    /// The challenge sent when no token is presented.
    pub fn challenge(&self) -> &WwwAuthenticate {
        &self.inner.challenge
    }

    /// Fetches the JWKS now (e.g. at start-up, so the first request does not wait), ignoring
    /// the minimum refresh interval.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        self.inner.keys.refresh_now().await
    }

    fn invalid_token(&self, description: &str) -> Rejection {
        Rejection::unauthorized(
            self.inner
                .challenge
                .clone()
                .error("invalid_token")
                .error_description(description),
        )
    }

    /// Validates `token` and builds its principal (the scope policy included).
    pub async fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        let found = self.look_up(token.as_bytes());
        match found.principal {
            Some(principal) => Ok(principal),
            None => self.verify_uncached(token, found.digest).await,
        }
    }

    /// The token in the cache of verified tokens: its digest (with the cache on and the token
    /// not too large to verify) and the principal it proved, if it was verified before.
    fn look_up(&self, token: &[u8]) -> CacheLookup {
        let Some(cache) = &self.inner.verified else {
            return CacheLookup::default();
        };
        if token.len() > MAX_TOKEN_LEN {
            return CacheLookup::default();
        }
        let digest = cache::TokenCache::digest(token);
        CacheLookup {
            principal: cache.get(&digest),
            digest: Some(digest),
        }
    }

    /// The signature and claims check of a token not in the cache; a token that passes is
    /// remembered under `digest`.
    async fn verify_uncached(
        &self,
        token: &str,
        digest: Option<[u8; 32]>,
    ) -> Result<Principal, Rejection> {
        let inner = &self.inner;
        if token.len() > MAX_TOKEN_LEN {
            return Err(self.invalid_token("token too large"));
        }
        // `alg: none` (and any unknown algorithm) fails to parse here.
        let Some(header) = TokenHeader::decode(token) else {
            return Err(self.invalid_token("malformed token"));
        };
        // Checked before the key lookup so that a forged HS256 token cannot trigger a fetch.
        if !inner.algorithms.contains(&header.alg) {
            return Err(self.invalid_token("token algorithm not allowed"));
        }
        // RFC 7515 §4.1.11: a token whose `crit` names extensions the recipient does not
        // understand is invalid, and this one understands none.
        if header.crit.is_some() {
            return Err(self.invalid_token("token has critical header parameters"));
        }
        if inner.access_token_type && !is_access_token_type(header.typ.as_deref()) {
            return Err(self.invalid_token("token is not typed as an access token"));
        }
        let Some(keys) = inner.keys.for_token(token) else {
            return Err(self.invalid_token("token issuer not accepted"));
        };
        let key = match keys.find(header.kid.as_deref(), header.alg).await {
            Ok(key) => key,
            Err(KeyMiss::Unknown) => return Err(self.invalid_token("unknown signing key")),
            // Not `invalid_token`: that has clients discard a token that may be valid and
            // send their users through authorization again.
            Err(KeyMiss::Unavailable { retry_after }) => {
                return Err(Rejection::unavailable(
                    "the authorization server's signing keys cannot be fetched; retry later",
                    retry_after,
                ));
            }
        };
        let Some(verifier) = key.verifier(header.alg) else {
            return Err(self.invalid_token("token algorithm not allowed for its key"));
        };
        let Some((_, validation)) = inner.validations.iter().find(|(a, _)| *a == header.alg) else {
            return Err(self.invalid_token("token algorithm not allowed"));
        };
        // The header decoded, so the token is exactly `header.payload.signature`.
        let Some((message, signature)) = token.rsplit_once('.') else {
            return Err(self.invalid_token("malformed token"));
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return Err(self.invalid_token("malformed token"));
        };
        if verifier.verify_sig(message.as_bytes(), &signature).is_err() {
            tracing::debug!(alg = ?header.alg, "token refused: invalid signature");
            return Err(self.invalid_token("invalid token signature"));
        }
        // The claims only: `validation` has its signature check off. `jsonwebtoken` reads the
        // header again, and refuses parameters it does not know whose values are not strings
        // (which RFC 7515 §4 says to ignore): it is given the signed payload under a header of
        // the algorithm alone.
        let claims_only = header.with_alg_only(message);
        let claims =
            match jsonwebtoken::decode::<Map<String, Value>>(claims_only, &key.key, validation) {
                Ok(data) => data.claims,
                Err(error) => {
                    let description = claims::describe(error.kind());
                    tracing::debug!(%error, "token refused");
                    return Err(self.invalid_token(description));
                }
            };
        if !claims::audience_includes(claims.get("aud"), &inner.resource) {
            return Err(self.invalid_token("token audience does not include this resource"));
        }
        // `jsonwebtoken` also takes an array of issuers; RFC 7519 allows one string.
        if claims.get("iss").is_some_and(|iss| !iss.is_string()) {
            return Err(self.invalid_token("token iss is not a string"));
        }
        // An empty subject would make every such token the same principal.
        let Some(subject) = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|sub| !sub.is_empty())
        else {
            return Err(self.invalid_token("token lacks the sub claim"));
        };
        let mut principal = Principal::new(subject).with_scopes(claims::scopes(&claims));
        // `sub` is unique only per issuer (RFC 7519 §4.1.2) and several issuers may be
        // accepted: the issuer is part of the identity sessions and limits are keyed on.
        // Validation required `iss` and matched it against the configured issuers.
        if let Some(issuer) = claims.get("iss").and_then(Value::as_str) {
            principal = principal.with_issuer(issuer);
        }
        if let Some(allow_list) = inner.allow_list_from.as_ref().and_then(|f| f(&claims)) {
            principal = principal.with_allow_list(allow_list);
        }
        // Validation required `exp`. Streams opened with the token end when it is refused:
        // from the second after `exp` and the leeway (validation accepts `exp` itself).
        // Ending them sooner would only have the client come back with the same token.
        if let Some(refused_from) = claims
            .get("exp")
            .and_then(claims::numeric_date)
            .and_then(|exp| exp.checked_add(validation.leeway)?.checked_add(1))
            .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        {
            principal = principal.with_expiry(refused_from);
        }
        let principal = principal.with_claims(claims);
        if let Err(missing) =
            check_scopes(&principal, inner.required_scopes.iter().map(String::as_str))
        {
            return Err(missing.into_rejection(inner.resource_metadata.as_deref()));
        }
        if let (Some(cache), Some(digest)) = (&inner.verified, digest) {
            cache.insert(digest, &principal, principal.claims());
        }
        Ok(principal)
    }
}

/// The JOSE header parameters this authenticator reads. Others are ignored whatever their
/// values, as RFC 7515 §4 asks (`jsonwebtoken`'s `Header` refuses those that are not
/// strings); a repeated parameter makes the token malformed.
#[derive(serde::Deserialize)]
struct TokenHeader {
    alg: Algorithm,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    /// Any value but `null` names critical extensions, none of which is understood here.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

impl TokenHeader {
    /// The header of a compact JWS (`header.payload.signature`), `None` when the token has
    /// another number of segments or its header is not base64url-encoded JSON of this shape.
    fn decode(token: &str) -> Option<Self> {
        let mut segments = token.split('.');
        let encoded = segments.next()?;
        if segments.count() != 2 {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// `message` (`header.payload`) with its header replaced by one naming the algorithm
    /// only, and an empty signature: for `jsonwebtoken`'s claims validation, the signature
    /// having been checked over the original.
    fn with_alg_only(&self, message: &str) -> String {
        let payload = message.split_once('.').map_or("", |(_, payload)| payload);
        let alg = serde_json::to_string(&self.alg).unwrap_or_default();
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":{alg}}}"#));
        format!("{header}.{payload}.")
    }
}

/// Whether a `typ` header names a JWT access token (RFC 9068 §2.1; media types are
/// case-insensitive).
fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

/// What [`JwtAuthenticator::look_up`] found.
#[derive(Default)]
struct CacheLookup {
    digest: Option<[u8; 32]>,
    principal: Option<Principal>,
}

impl Authenticate for JwtAuthenticator {
    async fn authenticate(&self, parts: &Parts) -> Result<Principal, Rejection> {
        let challenge = &self.inner.challenge;
        let token = bearer_token_bytes(parts, challenge)?;
        // A cached token was verified as a JWT: base64url segments and dots, all `b64token`
        // characters (and the digest stands for its bytes). So only a token not seen before
        // gets the character check: a JWT is hundreds of bytes, and this runs per request.
        let found = self.look_up(token);
        if let Some(principal) = found.principal {
            return Ok(principal);
        }
        let token = checked_token(token, challenge)?;
        self.verify_uncached(token, found.digest).await
    }

    /// Requests without usable credentials and tokens in the cache: all but a token's first
    /// use (and its uses after `max_age`).
    fn authenticate_now(&self, parts: &Parts) -> Option<Result<Principal, Rejection>> {
        match bearer_token_bytes(parts, &self.inner.challenge) {
            Ok(token) => self.look_up(token).principal.map(Ok),
            Err(rejection) => Some(Err(rejection)),
        }
    }
}

/// The `Authorization: Bearer` token's bytes, its characters not checked yet; a request
/// without credentials is a 401 without an error code (RFC 6750 §3.1).
fn bearer_token_bytes<'a>(
    parts: &'a Parts,
    challenge: &WwwAuthenticate,
) -> Result<&'a [u8], Rejection> {
    bearer_credentials(parts, challenge)?.ok_or_else(|| Rejection::unauthorized(challenge.clone()))
}

impl fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("resource", &self.inner.resource)
            .field("algorithms", &self.inner.algorithms)
            .field("required_scopes", &self.inner.required_scopes)
            .finish_non_exhaustive()
    }
}
