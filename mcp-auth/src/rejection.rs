//! What an [`Authenticate`](crate::Authenticate) answers instead of a principal, and the
//! HTTP response it becomes.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use mcp_core::jsonrpc::{self, ErrorObject};

use crate::challenge::WwwAuthenticate;

/// JSON-RPC error codes used in rejection bodies.
///
/// The HTTP status is what clients act on; the body keeps JSON-RPC clients that only look at
/// the payload informed. Codes sit in the JSON-RPC "server error" range and avoid the codes
/// MCP itself assigns (`-32002` is "resource not found"). A 503 (credentials that cannot be
/// checked now) carries JSON-RPC's own -32603, internal error.
pub mod codes {
    /// 401, and 400 for a malformed authentication attempt (`invalid_request`): the request
    /// did not authenticate.
    pub const UNAUTHORIZED: i32 = -32001;
    /// 403: the caller is known but not allowed (e.g. `insufficient_scope`).
    pub const FORBIDDEN: i32 = -32003;
}

/// Why a request is refused.
///
/// ```
/// use mcp_auth::{Rejection, WwwAuthenticate};
///
/// let r = Rejection::unauthorized(WwwAuthenticate::bearer().error("invalid_token"));
/// assert_eq!(r.status(), 401);
/// let r = Rejection::forbidden("this API key is suspended");
/// assert_eq!(r.status(), 403);
/// assert_eq!(r.message(), "this API key is suspended");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// 401 Unauthorized: no or bad credentials; the challenge tells how to authenticate.
    Unauthorized(WwwAuthenticate),
    /// 403 Forbidden: authenticated but not allowed.
    Forbidden(Forbidden),
    /// 400 Bad Request: credentials sent the wrong way (RFC 6750 `invalid_request`).
    BadRequest(WwwAuthenticate),
    /// 503 Service Unavailable: the credentials cannot be checked now (the authorization
    /// server's keys cannot be fetched), through no fault of the client's, which should
    /// retry with the same token rather than discard it as a 401 would have it.
    Unavailable(Unavailable),
}

/// The detail of a 503: a message and when to retry (sent as `Retry-After`, whole seconds,
/// at least one).
///
/// ```
/// use std::time::Duration;
///
/// use bytes::Bytes;
/// use http::Response;
/// use mcp_auth::Rejection;
///
/// let rejection = Rejection::unavailable("signing keys unavailable", Duration::from_millis(1500));
/// let response: Response<Bytes> = rejection.into_response();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "2");
/// assert!(response.headers().get("www-authenticate").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    message: String,
    retry_after: Duration,
}

impl Unavailable {
    /// The message of the body.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// When the client may try again.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// `Retry-After` in whole seconds, rounded up, at least one.
    fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let rounded = if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        rounded.max(1)
    }
}

/// The detail of a 403: a challenge (for `insufficient_scope` step-up) or a plain message.
///
/// A challenge tells an OAuth client which scopes to ask for; a message is for a refusal no
/// new token would lift.
///
/// ```
/// use bytes::Bytes;
/// use http::Response;
/// use mcp_auth::{Forbidden, Rejection, WwwAuthenticate};
///
/// let step_up = WwwAuthenticate::bearer().error("insufficient_scope").scope(["files:write"]);
/// let response: Response<Bytes> = Rejection::forbidden(step_up).into_response();
/// assert_eq!(response.status(), 403);
/// let header = &response.headers()["www-authenticate"];
/// assert_eq!(header, r#"Bearer error="insufficient_scope", scope="files:write""#);
/// let body = r#"{"jsonrpc":"2.0","error":{"code":-32003,"message":"insufficient scope"}}"#;
/// assert_eq!(response.body(), body);
///
/// // A message goes in the body only.
/// let suspended = Rejection::forbidden(Forbidden::from("this API key is suspended"));
/// let response: Response<Bytes> = suspended.into_response();
/// assert!(response.headers().get("www-authenticate").is_none());
/// assert!(response.body().ends_with(br#""message":"this API key is suspended"}}"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// Sent as `WWW-Authenticate`; its `error_description`, if any, is the body message.
    Challenge(WwwAuthenticate),
    /// Sent only in the body.
    Message(String),
}

impl From<WwwAuthenticate> for Forbidden {
    fn from(challenge: WwwAuthenticate) -> Self {
        Self::Challenge(challenge)
    }
}

impl From<String> for Forbidden {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

impl From<&str> for Forbidden {
    fn from(message: &str) -> Self {
        Self::Message(message.to_owned())
    }
}

impl Rejection {
    /// 401 with `challenge`.
    pub fn unauthorized(challenge: WwwAuthenticate) -> Self {
        Self::Unauthorized(challenge)
    }

    /// 403 with a challenge or a message.
    pub fn forbidden(detail: impl Into<Forbidden>) -> Self {
        Self::Forbidden(detail.into())
    }

    /// 400 with `challenge` (which should carry `error="invalid_request"`).
    pub fn bad_request(challenge: WwwAuthenticate) -> Self {
        Self::BadRequest(challenge)
    }

    /// 503 with `message`, to be retried after `retry_after`.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::Unavailable(Unavailable {
            message: message.into(),
            retry_after,
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON-RPC error code of the body (see [`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::Unauthorized(_) | Self::BadRequest(_) => codes::UNAUTHORIZED,
            Self::Unavailable(_) => jsonrpc::codes::INTERNAL_ERROR,
        }
    }

    /// The challenge sent as `WWW-Authenticate`, if any.
    pub fn challenge(&self) -> Option<&WwwAuthenticate> {
        match self {
            Self::Unauthorized(c)
            | Self::BadRequest(c)
            | Self::Forbidden(Forbidden::Challenge(c)) => Some(c),
            Self::Forbidden(Forbidden::Message(_)) | Self::Unavailable(_) => None,
        }
    }

    /// The body's error message: the challenge's `error_description`, the 403 message, or a
    /// fixed text per status.
    pub fn message(&self) -> &str {
        match self {
            Self::Forbidden(Forbidden::Message(message)) => return message,
            Self::Unavailable(unavailable) => return unavailable.message(),
            _ => {}
        }
        if let Some(description) = self.challenge().and_then(|c| c.get("error_description")) {
            return description;
        }
        match self {
            Self::Unauthorized(_) => "authentication required",
            Self::BadRequest(_) => "invalid authentication request",
            Self::Unavailable(_) => "authentication unavailable",
            Self::Forbidden(_) => match self.challenge().and_then(|c| c.get("error")) {
                Some("insufficient_scope") => "insufficient scope",
                _ => "forbidden",
            },
        }
    }

    /// The JSON-RPC error body: `{"jsonrpc":"2.0","error":{"code":..,"message":".."}}`.
    ///
    /// It has no `id`: the request is refused before its body is read. MCP's schema (from
    /// 2025-11-25) makes the id of an error response optional and never `null`, and
    /// mcp-core writes every other id-less error the same way.
    ///
    /// ```
    /// use mcp_auth::Rejection;
    ///
    /// assert_eq!(
    ///     Rejection::forbidden("suspended").body(),
    ///     r#"{"jsonrpc":"2.0","error":{"code":-32003,"message":"suspended"}}"#
    /// );
    /// ```
    pub fn body(&self) -> Bytes {
        let error = ErrorObject::new(self.code(), self.message().to_owned());
        Bytes::from(jsonrpc::Response::error(None, error).to_vec())
    }

    /// The HTTP response: status, `Content-Type: application/json`, `WWW-Authenticate` when
    /// there is a challenge, and the JSON-RPC error [`body`](Self::body); marked
    /// [`RefusedBy::Authentication`](mcp_core::RefusedBy) for telemetry.
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.body()));
        *response.status_mut() = self.status();
        // For HTTP-tier telemetry: every status of this type is an authentication refusal.
        response
            .extensions_mut()
            .insert(mcp_core::RefusedBy::Authentication);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Self::Unavailable(unavailable) = &self {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(unavailable.retry_after_secs()),
            );
        }
        if let Some(challenge) = self.challenge() {
            match challenge.to_header_value() {
                Ok(value) => {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
                Err(error) => {
                    // A broken challenge is a bug in the authenticator; still answer with the
                    // right status and the bare scheme rather than fail the request.
                    tracing::warn!(%error, "dropping the parameters of an invalid challenge");
                    if let Ok(value) = WwwAuthenticate::new(challenge.scheme()).to_header_value() {
                        headers.insert(header::WWW_AUTHENTICATE, value);
                    }
                }
            }
        }
        response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_response() {
        let r = Rejection::unauthorized(
            WwwAuthenticate::bearer()
                .error("invalid_token")
                .error_description("token expired"),
        );
        let response: Response<Bytes> = r.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], "application/json");
        // Every kind is marked for HTTP-tier telemetry, challenge or not.
        for rejection in [
            Rejection::forbidden("suspended"),
            Rejection::bad_request(WwwAuthenticate::bearer().error("invalid_request")),
        ] {
            let response: Response<Bytes> = rejection.into_response();
            assert_eq!(
                response.extensions().get::<mcp_core::RefusedBy>(),
                Some(&mcp_core::RefusedBy::Authentication)
            );
        }
        assert_eq!(
            response.extensions().get::<mcp_core::RefusedBy>(),
            Some(&mcp_core::RefusedBy::Authentication)
        );
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="token expired""#
        );
        assert_eq!(
            response.body(),
            r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"token expired"}}"#
        );
    }

    #[test]
    fn forbidden_message_has_no_challenge() {
        let response: Response<Bytes> = Rejection::forbidden("nope").into_response();
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("www-authenticate").is_none());
        assert_eq!(
            response.body(),
            r#"{"jsonrpc":"2.0","error":{"code":-32003,"message":"nope"}}"#
        );
    }

    #[test]
    fn invalid_challenge_falls_back_to_scheme() {
        let r = Rejection::unauthorized(WwwAuthenticate::bearer().error_description("a\nb"));
        let response: Response<Bytes> = r.into_response();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}
