//! A user's own `Authenticate` (an API-key closure) in the very stack the JWT tests use.

use http::request::Parts;
use mcp_auth::{Rejection, WwwAuthenticate};
use mcp_core::Principal;

use crate::common::*;

#[tokio::test]
async fn api_key_closure_replaces_jwt() {
    let server = Server::bind().await;
    let api_keys = |parts: &Parts| {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async move {
            match key.as_deref() {
                Some("k-billing") => Ok(Principal::new("billing").with_scopes(["mcp"])),
                Some("k-suspended") => Err(Rejection::forbidden("this API key is suspended")),
                _ => Err(Rejection::unauthorized(
                    WwwAuthenticate::new("ApiKey").realm("mcp"),
                )),
            }
        }
    };
    let base = server.start(api_keys, "http://127.0.0.1:1");
    let url = format!("{base}/mcp");

    assert_eq!(
        get(&url, &[("x-api-key", "k-billing")]).await,
        ok("billing")
    );
    assert_eq!(
        get(&url, &[("x-api-key", "nope")]).await,
        Answer {
            status: 401,
            challenge: Some(r#"ApiKey realm="mcp""#.to_owned()),
            body: error_body(-32001, "authentication required"),
        }
    );
    assert_eq!(
        get(&url, &[("x-api-key", "k-suspended")]).await,
        Answer {
            status: 403,
            challenge: None,
            body: error_body(-32003, "this API key is suspended"),
        }
    );
    // A bearer token means nothing to this stack now.
    assert_eq!(get_bearer(&url, "a.b.c").await.status, 401);
    // The metadata is still beside it.
    let metadata = get(&format!("{base}/.well-known/oauth-protected-resource"), &[]).await;
    assert_eq!(metadata.status, 200);
}

/// A type implementing `Authenticate` with `async fn`.
struct HeaderSubject;

impl mcp_auth::Authenticate for HeaderSubject {
    async fn authenticate(&self, parts: &Parts) -> Result<Principal, Rejection> {
        // Stands in for an identity a TLS-terminating proxy verified.
        match parts
            .headers
            .get("x-client-cert-subject")
            .map(|v| v.to_str())
        {
            Some(Ok(subject)) => Ok(Principal::new(subject)),
            _ => Err(Rejection::unauthorized(WwwAuthenticate::new("Mutual"))),
        }
    }
}

#[tokio::test]
async fn trait_implementation_replaces_jwt() {
    let server = Server::bind().await;
    let base = server.start(HeaderSubject, "http://127.0.0.1:1");
    let url = format!("{base}/mcp");
    assert_eq!(
        get(&url, &[("x-client-cert-subject", "CN=ci")]).await,
        ok("CN=ci")
    );
    let refused = get(&url, &[]).await;
    assert_eq!(
        (refused.status, refused.challenge.as_deref()),
        (401, Some("Mutual"))
    );
}
