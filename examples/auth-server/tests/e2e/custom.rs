//! A user's own `Authenticate` (an API-key closure) replacing `JwtAuthenticator` in the very
//! same `auth_server::stack`.

use http::request::Parts;
use mcp_auth::{Rejection, WwwAuthenticate};
use mcp_core::Principal;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn api_key_closure_replaces_jwt() {
    let jwks = Jwks::start(&[]).await;
    let bound = Bound::new(&jwks).await;
    let api_keys = |parts: &Parts| {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async move {
            match key.as_deref() {
                Some("k-billing") => Ok(Principal::new("billing").with_scopes(["mcp"])),
                Some("k-ops") => Ok(Principal::new("ops").with_scopes(["mcp", "admin"])),
                Some("k-suspended") => Err(Rejection::forbidden("this API key is suspended")),
                _ => Err(Rejection::unauthorized(
                    WwwAuthenticate::new("ApiKey").realm("mcp"),
                )),
            }
        }
    };
    let server = bound.serve(api_keys, |o| o);

    let billing = [("x-api-key", "k-billing")];
    let session = server.initialize(&billing).await;
    let reply = server
        .in_session(&session, &billing, &call(1, "whoami", json!({})))
        .await;
    assert_eq!(
        reply.json(),
        text_result(1, "subject: billing\nscopes: mcp")
    );
    // The scope policy of the stack applies to these principals too.
    let reply = server
        .in_session(
            &session,
            &billing,
            &call(2, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"]["message"], "missing scope: admin");
    let ops = [("x-api-key", "k-ops")];
    let session = server.initialize(&ops).await;
    let reply = server
        .in_session(
            &session,
            &ops,
            &call(3, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    assert_eq!(reply.json(), text_result(3, "hi"));

    assert_eq!(
        server
            .try_initialize(&[("x-api-key", "nope")])
            .await
            .answer(),
        Answer {
            status: 401,
            challenge: Some(r#"ApiKey realm="mcp""#.to_owned()),
            body: error_body(-32001, "authentication required"),
        }
    );
    assert_eq!(
        server
            .try_initialize(&[("x-api-key", "k-suspended")])
            .await
            .answer(),
        Answer {
            status: 403,
            challenge: None,
            body: error_body(-32003, "this API key is suspended"),
        }
    );
    // A bearer token means nothing to this stack.
    let reply = server
        .try_initialize(&[("authorization", "Bearer a.b.c")])
        .await;
    assert_eq!(reply.status, 401);
    // The metadata is still served beside it.
    assert_eq!(
        server
            .get("/.well-known/oauth-protected-resource/mcp")
            .await
            .status,
        200
    );
}
