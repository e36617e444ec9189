//! The pluggable authentication step: [`Authenticate`] and its outcomes.

use std::future::Future;

use http::request::Parts;
use mcp_core::Principal;

use crate::challenge::WwwAuthenticate;
use crate::rejection::Rejection;

/// Decides who is calling, from the request head alone.
///
/// This is the one trait to implement for your own authentication (API keys, mTLS headers
/// set by a proxy, a session cookie, ...); [`JwtAuthenticator`](crate::JwtAuthenticator) is the
/// built-in OAuth 2.1 implementation. [`AuthLayer`](crate::AuthLayer) runs it for every
/// request and puts the returned [`Principal`] into the request extensions; a
/// [`Rejection`] becomes a 401, 403, 400 or 503 answer with a JSON-RPC error body.
///
/// Closures `Fn(&Parts) -> impl Future<Output = Result<Principal, Rejection>>` implement it.
/// The future may not borrow the parts, so copy what you need out of them first:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use http::request::Parts;
/// use mcp_auth::{AuthLayer, Authenticate, Rejection, WwwAuthenticate};
/// use mcp_core::Principal;
///
/// let api_keys = |parts: &Parts| {
///     let key = parts.headers.get("x-api-key").cloned();
///     async move {
///         match key {
///             Some(key) if key == "s3cret" => Ok(Principal::new("billing-service")),
///             _ => Err(Rejection::unauthorized(WwwAuthenticate::new("ApiKey"))),
///         }
///     }
/// };
/// let request = || http::Request::get("/mcp");
/// let (with_key, ()) = request().header("x-api-key", "s3cret").body(()).unwrap().into_parts();
/// let (without, ()) = request().body(()).unwrap().into_parts();
///
/// let caller = api_keys.authenticate(&with_key).await.unwrap();
/// assert_eq!(caller.subject(), "billing-service");
/// let refused = api_keys.authenticate(&without).await.unwrap_err();
/// assert_eq!(refused.status(), 401);
/// assert_eq!(refused.challenge().unwrap().render().unwrap(), "ApiKey");
///
/// let layer = AuthLayer::new(api_keys); // runs it for every HTTP request
/// # let _ = layer;
/// # }
/// ```
///
/// A type can implement it with an `async fn`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use http::request::Parts;
/// use mcp_auth::{Authenticate, Rejection};
/// use mcp_core::Principal;
///
/// struct FromProxy;
///
/// impl Authenticate for FromProxy {
///     async fn authenticate(&self, parts: &Parts) -> Result<Principal, Rejection> {
///         // A TLS-terminating proxy put the verified client certificate subject here.
///         match parts.headers.get("x-client-cert-subject").and_then(|v| v.to_str().ok()) {
///             Some(subject) => Ok(Principal::new(subject)),
///             None => Err(Rejection::forbidden("client certificate required")),
///         }
///     }
/// }
///
/// let request = || http::Request::get("/mcp");
/// let (with_cert, ()) =
///     request().header("x-client-cert-subject", "CN=billing").body(()).unwrap().into_parts();
/// let (without, ()) = request().body(()).unwrap().into_parts();
/// assert_eq!(FromProxy.authenticate(&with_cert).await.unwrap().subject(), "CN=billing");
/// let refused = FromProxy.authenticate(&without).await.unwrap_err();
/// assert_eq!((refused.status().as_u16(), refused.message()), (403, "client certificate required"));
/// # }
/// ```
pub trait Authenticate: Send + Sync + 'static {
    /// Authenticates the request whose head is `parts`.
    fn authenticate(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Principal, Rejection>> + Send;

    /// Decides without waiting when that is possible (a token verified before, a malformed
    /// header); `None` leaves the decision to [`authenticate`](Self::authenticate).
    ///
    /// [`AuthLayer`](crate::AuthLayer) asks this first: a decision made here costs the request
    /// no allocation, where the `async` one needs its future boxed with the request head. An
    /// answer given here must be the one `authenticate` would give. The default never decides.
    ///
    /// ```
    /// use http::request::Parts;
    /// use mcp_auth::{Authenticate, Rejection, WwwAuthenticate};
    /// use mcp_core::Principal;
    ///
    /// struct ApiKey;
    ///
    /// impl Authenticate for ApiKey {
    ///     async fn authenticate(&self, parts: &Parts) -> Result<Principal, Rejection> {
    ///         self.authenticate_now(parts).expect("decided at once")
    ///     }
    ///
    ///     fn authenticate_now(&self, parts: &Parts) -> Option<Result<Principal, Rejection>> {
    ///         Some(match parts.headers.get("x-api-key") {
    ///             Some(key) if key == "s3cret" => Ok(Principal::new("ci-bot")),
    ///             _ => Err(Rejection::unauthorized(WwwAuthenticate::new("ApiKey"))),
    ///         })
    ///     }
    /// }
    ///
    /// let (parts, ()) = http::Request::get("/mcp").header("x-api-key", "s3cret").body(()).unwrap().into_parts();
    /// assert_eq!(ApiKey.authenticate_now(&parts).unwrap().unwrap().subject(), "ci-bot");
    /// ```
    fn authenticate_now(&self, parts: &Parts) -> Option<Result<Principal, Rejection>> {
        let _ = parts;
        None
    }
}

impl<F, Fut> Authenticate for F
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Principal, Rejection>> + Send,
{
    fn authenticate(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Principal, Rejection>> + Send {
        self(parts)
    }
}

/// Where a bearer token was found, per RFC 6750 §2.
///
/// Only the `Authorization` header is accepted. Returns `Ok(Some(token))` for
/// `Authorization: Bearer <token>`; `Ok(None)` when the request carries no bearer credentials,
/// either no `Authorization` header or one with another scheme (`Basic ...`): RFC 6750 §3.1
/// answers both with a bare challenge, no error code, and that 401 is what starts an MCP
/// client's OAuth discovery. A 400 `invalid_request` [`Rejection`] when the token is sent some
/// other way (an `access_token` query parameter, which leaks into logs and caches), when the
/// bearer credentials are malformed, or when there is more than one `Authorization` header.
/// `challenge` is the base challenge (e.g. with `resource_metadata`) the rejection extends.
///
/// ```
/// use mcp_auth::{bearer_token, WwwAuthenticate};
///
/// let (parts, ()) = http::Request::get("/mcp")
///     .header("authorization", "Bearer abc.def.ghi")
///     .body(())
///     .unwrap()
///     .into_parts();
/// assert_eq!(bearer_token(&parts, &WwwAuthenticate::bearer()).unwrap(), Some("abc.def.ghi"));
///
/// let (parts, ()) = http::Request::get("/mcp")
///     .header("authorization", "Basic YWxpY2U6c2VjcmV0")
///     .body(())
///     .unwrap()
///     .into_parts();
/// assert_eq!(bearer_token(&parts, &WwwAuthenticate::bearer()).unwrap(), None);
///
/// let (parts, ()) = http::Request::get("/mcp?access_token=abc").body(()).unwrap().into_parts();
/// assert_eq!(bearer_token(&parts, &WwwAuthenticate::bearer()).unwrap_err().status(), 400);
/// ```
pub fn bearer_token<'a>(
    parts: &'a Parts,
    challenge: &WwwAuthenticate,
) -> Result<Option<&'a str>, Rejection> {
    match bearer_credentials(parts, challenge)? {
        Some(token) => checked_token(token, challenge).map(Some),
        None => Ok(None),
    }
}

/// A 400 `invalid_request` rejection saying `why`.
fn invalid_request(challenge: &WwwAuthenticate, why: &str) -> Rejection {
    Rejection::bad_request(
        challenge
            .clone()
            .error("invalid_request")
            .error_description(why),
    )
}

/// [`bearer_token`] up to the token's characters: the token's bytes, not yet checked to be a
/// `b64token`. For callers that can recognise a token checked before (a cache of verified
/// tokens) and so spare it a pass over hundreds of bytes; any other token must go through
/// [`checked_token`].
pub(crate) fn bearer_credentials<'a>(
    parts: &'a Parts,
    challenge: &WwwAuthenticate,
) -> Result<Option<&'a [u8]>, Rejection> {
    let invalid = |why: &str| invalid_request(challenge, why);
    if query_has_access_token(parts.uri.query()) {
        return Err(invalid(
            "access tokens are accepted only in the Authorization header",
        ));
    }
    let mut values = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    // Bytes, not `to_str`: that would scan the whole token a second time, and the b64token
    // check below admits only ASCII anyway.
    let value = value.as_bytes();
    // The scheme is case-insensitive (RFC 7235 §2.1); exactly one space before the token.
    let (scheme, token) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // An unsupported method is "no authentication information" (RFC 6750 §3.1): the
        // caller answers it with the bare challenge, which tells the client to use Bearer.
        return Ok(None);
    }
    Ok(Some(trim_spaces(token)))
}

/// The token of [`bearer_credentials`] once its characters are checked: a 400 when it is
/// empty or not a `b64token`.
pub(crate) fn checked_token<'a>(
    token: &'a [u8],
    challenge: &WwwAuthenticate,
) -> Result<&'a str, Rejection> {
    let malformed = || invalid_request(challenge, "malformed bearer token");
    if token.is_empty() || !is_b64token(token) {
        return Err(malformed());
    }
    // Cannot fail: b64token characters are ASCII.
    std::str::from_utf8(token).map_err(|_| malformed())
}

/// `bytes` without leading and trailing spaces.
fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

/// Whether every byte is an RFC 6750 `b64token` character. A JWT is hundreds of bytes,
/// checked on every request: comparisons without an early exit (and without a table, which
/// cannot be read sixteen bytes at a time) let the compiler check a vector of bytes per step.
fn is_b64token(token: &[u8]) -> bool {
    token.iter().fold(true, |all, &b| all & is_b64token_char(b))
}

/// One `b64token` character: `&` and `|` rather than `&&` and `||`, so there is no branch.
fn is_b64token_char(b: u8) -> bool {
    // One unsigned comparison per range: below its start wraps around past its end.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
        | (b == b'=')
}

fn query_has_access_token(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("access_token"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_characters_are_exactly_the_rfc_6750_set() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
            assert_eq!(is_b64token_char(b), expected, "byte {b:#04x}");
            assert_eq!(is_b64token(&[b'a', b, b'z']), expected, "byte {b:#04x}");
        }
        assert!(is_b64token(
            b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~+/=="
        ));
        assert!(!is_b64token(b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln@"));
    }

    fn parts(uri: &str, auth: &[&str]) -> Parts {
        let mut builder = http::Request::get(uri);
        for value in auth {
            builder = builder.header("authorization", *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn description(rejection: Rejection) -> String {
        rejection
            .challenge()
            .and_then(|c| c.get("error_description"))
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn extracts_bearer() {
        let c = WwwAuthenticate::bearer();
        assert_eq!(
            bearer_token(&parts("/", &["Bearer a.b.c"]), &c).unwrap(),
            Some("a.b.c")
        );
        assert_eq!(
            bearer_token(&parts("/", &["bearer a.b.c"]), &c).unwrap(),
            Some("a.b.c")
        );
        assert_eq!(bearer_token(&parts("/?x=1", &[]), &c).unwrap(), None);
    }

    #[test]
    fn refuses_query_and_ignores_other_schemes() {
        let c = WwwAuthenticate::bearer();
        let r = bearer_token(&parts("/mcp?a=1&access_token=x", &[]), &c).unwrap_err();
        assert_eq!(r.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(
            r.challenge().unwrap().render().unwrap(),
            "Bearer error=\"invalid_request\", error_description=\"access tokens are accepted only in the Authorization header\""
        );
        for other in ["Basic dXNlcjpwYXNz", "Digest x=1", "Bearerabc", "ApiKey"] {
            let other_scheme = parts("/", &[other]);
            let none = bearer_token(&other_scheme, &c).unwrap();
            assert_eq!(none, None, "{other}: no bearer credentials");
        }
        let r = bearer_token(&parts("/", &["Bearer"]), &c).unwrap_err();
        assert_eq!(description(r), "malformed bearer token");
        let r = bearer_token(&parts("/", &["Bearer a b"]), &c).unwrap_err();
        assert_eq!(description(r), "malformed bearer token");
        let padded = parts("/", &["Bearer  a.b.c  "]);
        let token = bearer_token(&padded, &c).unwrap();
        assert_eq!(token, Some("a.b.c"), "spaces around the token are dropped");
        for value in [&b"Bearer a.\xe9.c"[..], b"Bearer \xff", b"Bearer a\tb"] {
            let mut parts = parts("/", &[]);
            let value = http::HeaderValue::from_bytes(value).unwrap();
            parts.headers.insert(http::header::AUTHORIZATION, value);
            let r = bearer_token(&parts, &c).unwrap_err();
            assert_eq!(description(r), "malformed bearer token");
        }
        let mut non_ascii_scheme = parts("/", &[]);
        let value = http::HeaderValue::from_bytes(b"B\xe9arer a").unwrap();
        non_ascii_scheme
            .headers
            .insert(http::header::AUTHORIZATION, value);
        assert_eq!(bearer_token(&non_ascii_scheme, &c).unwrap(), None);
        let r = bearer_token(&parts("/", &["Bearer a", "Bearer b"]), &c).unwrap_err();
        assert_eq!(description(r), "more than one Authorization header");
    }
}
