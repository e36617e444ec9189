//! `JwtAuthenticator` in the full MCP stack: every token case answered with the exact status,
//! `WWW-Authenticate` and body; sessions bound to their principal; the step-up 403.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn valid_token_initialize_session_and_tools() {
    let (rsa, ec) = (rsa_key("rsa-1"), ec_key("ec-1"));
    let s = Setup::new(&[&rsa, &ec]).await;
    for key in [&rsa, &ec] {
        let token = mint(key, &s.claims());
        let auth = bearer(&token);
        let auth = [("authorization", auth.as_str())];
        let session = s.server.initialize(&auth).await;
        let whoami = s
            .server
            .in_session(&session, &auth, &call(1, "whoami", json!({})))
            .await;
        assert_eq!(whoami.status, 200, "{}", whoami.body);
        assert_eq!(whoami.json(), text_result(1, "subject: alice\nscopes: mcp"));
        let list = s.server.in_session(&session, &auth, &list_tools(2)).await;
        assert_eq!(tool_names(&list), ["add", "admin_echo", "echo", "whoami"]);
        let add = s
            .server
            .in_session(&session, &auth, &call(3, "add", json!({"a": 2, "b": 3})))
            .await;
        assert_eq!(add.json(), text_result(3, "5"));
    }
    assert_eq!(s.jwks.fetches(), 1, "one JWKS fetch serves every request");
}

#[tokio::test]
async fn no_token_then_metadata_discovery() {
    let key = ec_key("k");
    let s = Setup::new(&[&key]).await;
    assert_eq!(
        s.server.try_initialize(&[]).await.answer(),
        Answer {
            status: 401,
            challenge: Some(s.challenge()),
            body: error_body(-32001, "authentication required"),
        }
    );
    // The challenge's resource_metadata is served without a token, at both paths.
    let expected = format!(
        r#"{{"resource":"{}","authorization_servers":["{}"],"scopes_supported":["mcp","admin"],"bearer_methods_supported":["header"]}}"#,
        s.server.resource,
        s.jwks.issuer()
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let metadata = s.server.get(path).await;
        assert_eq!(
            (metadata.status, metadata.body.as_str()),
            (200, expected.as_str())
        );
    }
    assert_eq!(
        s.server.metadata_url,
        format!("{}/.well-known/oauth-protected-resource/mcp", s.server.base)
    );
}

#[tokio::test]
async fn expired_and_not_yet_valid() {
    let key = ec_key("k");
    let s = Setup::new(&[&key]).await;
    let expired = mint(&key, &s.claims_with(json!({"exp": now() - 60})));
    let reply = s
        .server
        .try_initialize(&[("authorization", &bearer(&expired))])
        .await;
    assert_eq!(reply.answer(), s.invalid_token("token expired"));
    let early = mint(&key, &s.claims_with(json!({"nbf": now() + 60})));
    let reply = s
        .server
        .try_initialize(&[("authorization", &bearer(&early))])
        .await;
    assert_eq!(reply.answer(), s.invalid_token("token not yet valid"));

    // Every request is authenticated, not only `initialize`: a session opened with a valid
    // token does not let an expired one in.
    let valid = bearer(&mint(&key, &s.claims()));
    let session = s.server.initialize(&[("authorization", &valid)]).await;
    let reply = s
        .server
        .in_session(
            &session,
            &[("authorization", &bearer(&expired))],
            &call(1, "whoami", json!({})),
        )
        .await;
    assert_eq!(reply.answer(), s.invalid_token("token expired"));
}

#[tokio::test]
async fn wrong_audience_and_issuer() {
    let key = ec_key("k");
    let s = Setup::new(&[&key]).await;
    let other_resource = mint(
        &key,
        &s.claims_with(json!({"aud": "http://127.0.0.1:1/mcp"})),
    );
    let reply = s
        .server
        .try_initialize(&[("authorization", &bearer(&other_resource))])
        .await;
    assert_eq!(
        reply.answer(),
        s.invalid_token("token audience does not include this resource")
    );
    let other_issuer = mint(&key, &s.claims_with(json!({"iss": "http://evil.example"})));
    let reply = s
        .server
        .try_initialize(&[("authorization", &bearer(&other_issuer))])
        .await;
    assert_eq!(reply.answer(), s.invalid_token("token issuer not accepted"));
}

#[tokio::test]
async fn unknown_kid_accepted_once_the_jwks_has_it() {
    let (old, new) = (ec_key("old"), ec_key("new"));
    let s = Setup::new(&[&old]).await;
    let valid = bearer(&mint(&old, &s.claims()));
    s.server.initialize(&[("authorization", &valid)]).await;
    assert_eq!(s.jwks.fetches(), 1);

    let rotated = bearer(&mint(&new, &s.claims()));
    let reply = s
        .server
        .try_initialize(&[("authorization", &rotated)])
        .await;
    assert_eq!(reply.answer(), s.invalid_token("unknown signing key"));

    // The authorization server publishes the key; after the minimum interval one refresh
    // finds it.
    s.jwks.add(&new);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let session = s.server.initialize(&[("authorization", &rotated)]).await;
    let reply = s
        .server
        .in_session(
            &session,
            &[("authorization", &rotated)],
            &call(1, "whoami", json!({})),
        )
        .await;
    assert_eq!(reply.json(), text_result(1, "subject: alice\nscopes: mcp"));
    assert_eq!(s.jwks.fetches(), 2);
}

#[tokio::test]
async fn alg_none_hs256_with_the_public_key_and_garbage() {
    let rsa = rsa_key("rsa");
    let s = Setup::new(&[&rsa]).await;
    let refused = |token: String| {
        let server = &s.server;
        async move {
            server
                .try_initialize(&[("authorization", &bearer(&token))])
                .await
                .answer()
        }
    };

    let none = unsigned(
        &json!({"alg": "none", "typ": "JWT", "kid": "rsa"}),
        &s.claims(),
        "",
    );
    assert_eq!(refused(none).await, s.invalid_token("malformed token"));

    // The algorithm-confusion forgery: HS256 keyed with the RSA public key.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa".into());
    let confused = jsonwebtoken::encode(
        &header,
        &s.claims(),
        &EncodingKey::from_secret(&rsa.public_pem),
    )
    .unwrap();
    assert_eq!(
        refused(confused).await,
        s.invalid_token("token algorithm not allowed")
    );

    for garbage in ["garbage", "a.b.c", "e30.e30.e30"] {
        assert_eq!(
            refused(garbage.to_owned()).await,
            s.invalid_token("malformed token"),
            "{garbage}"
        );
    }
    // All refused before any key lookup: the JWKS was never even fetched.
    assert_eq!(s.jwks.fetches(), 0);
}

#[tokio::test]
async fn token_in_query_is_refused() {
    let key = ec_key("k");
    let s = Setup::new(&[&key]).await;
    let token = mint(&key, &s.claims());
    let description = "access tokens are accepted only in the Authorization header";
    let expected = Answer {
        status: 400,
        challenge: Some(format!(
            r#"{}, error="invalid_request", error_description="{description}""#,
            s.challenge()
        )),
        body: error_body(-32001, description),
    };
    let url = format!("{}?access_token={token}", s.server.url);
    let reply = s.server.post_to(&url, &initialize(LEGACY), &[]).await;
    assert_eq!(reply.answer(), expected);
    // Even next to a valid header.
    let reply = s
        .server
        .post_to(
            &url,
            &initialize(LEGACY),
            &[("authorization", &bearer(&token))],
        )
        .await;
    assert_eq!(reply.answer(), expected);
}

#[tokio::test]
async fn missing_scopes_get_step_up_challenges() {
    let key = ec_key("k");
    let s = Setup::new(&[&key]).await;
    let auth = bearer(&mint(&key, &s.claims()));
    let auth = [("authorization", auth.as_str())];
    let session = s.server.initialize(&auth).await;

    // admin_echo needs `admin`: the RPC tier refuses, the bridge turns it into a 403 with the
    // step-up challenge (granted + missing scopes).
    let reply = s
        .server
        .in_session(
            &session,
            &auth,
            &call(4, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    let challenge = format!(
        r#"Bearer resource_metadata="{}", scope="mcp admin", error="insufficient_scope""#,
        s.server.metadata_url
    );
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("www-authenticate"), Some(challenge.as_str()));
    assert_eq!(
        reply.json(),
        json!({"jsonrpc": "2.0", "id": 4, "error": {
            "code": -32003,
            "message": "missing scope: admin",
            "data": {
                "error": "insufficient_scope",
                "scope": "mcp admin",
                "www_authenticate": challenge,
            }
        }})
    );

    // A token with the scope gets through (same subject: same session).
    let admin = bearer(&mint(&key, &s.claims_with(json!({"scope": "mcp admin"}))));
    let admin = [("authorization", admin.as_str())];
    let reply = s
        .server
        .in_session(
            &session,
            &admin,
            &call(5, "admin_echo", json!({"message": "hi"})),
        )
        .await;
    assert_eq!(reply.json(), text_result(5, "hi"));

    // Without the globally required `mcp` the HTTP tier refuses every request.
    let profile = bearer(&mint(&key, &s.claims_with(json!({"scope": "profile"}))));
    let reply = s
        .server
        .try_initialize(&[("authorization", &profile)])
        .await;
    assert_eq!(
        reply.answer(),
        Answer {
            status: 403,
            challenge: Some(format!(
                r#"Bearer resource_metadata="{}", scope="profile mcp", error="insufficient_scope", error_description="missing scope: mcp""#,
                s.server.metadata_url
            )),
            body: error_body(-32003, "missing scope: mcp"),
        }
    );
}

/// A second authorization server accepted next to the fixtures' one, signing with the same
/// key (one tenant of a multi-tenant provider, say).
const OTHER_ISSUER: &str = "https://other-tenant.example";

/// A session is bound to the principal that opened it: another `sub`, and the same `sub`
/// from another issuer (a `sub` is unique only within its issuer, RFC 7519 §4.1.2), get 404.
#[tokio::test]
async fn another_principal_cannot_use_a_session() {
    let key = ec_key("k");
    let s = Setup::with(&[&key], |b| b.issuer(OTHER_ISSUER), |o| o).await;
    let alice = bearer(&mint(&key, &s.claims()));
    let session = s.server.initialize(&[("authorization", &alice)]).await;
    let mallory = bearer(&mint(&key, &s.claims_with(json!({"sub": "mallory"}))));
    let other_alice = bearer(&mint(&key, &s.claims_with(json!({"iss": OTHER_ISSUER}))));
    for (id, intruder) in [(1, &mallory), (2, &other_alice)] {
        let reply = s
            .server
            .in_session(
                &session,
                &[("authorization", intruder)],
                &call(id, "whoami", json!({})),
            )
            .await;
        assert_eq!(
            reply.answer(),
            Answer {
                status: 404,
                challenge: None,
                // Id-less, as every refusal made before the body is read: MCP's schema has
                // no `"id":null`.
                body: error_body(-32001, "Session not found"),
            },
            "intruder {id}"
        );
    }
    // The other issuer's alice is accepted, in a session of her own, and shown her raw
    // subject; alice with a fresh token of her own is still at home.
    let hers = s
        .server
        .initialize(&[("authorization", &other_alice)])
        .await;
    let alice_again = bearer(&mint(&key, &s.claims_with(json!({"iat": now() - 1}))));
    for (id, session, token) in [(3, &hers, &other_alice), (4, &session, &alice_again)] {
        let reply = s
            .server
            .in_session(
                session,
                &[("authorization", token)],
                &call(id, "whoami", json!({})),
            )
            .await;
        assert_eq!(reply.json(), text_result(id, "subject: alice\nscopes: mcp"));
    }
}

#[tokio::test]
async fn a_listen_stream_ends_when_its_token_expires() {
    let key = ec_key("k");
    let s = Setup::with(&[&key], |b| b.leeway(Duration::ZERO), |o| o).await;
    let exp = now() + 2;
    let token = bearer(&mint(&key, &s.claims_with(json!({"exp": exp}))));
    let auth = [("authorization", token.as_str())];
    let filter = json!({"notifications": {"toolsListChanged": true}});
    // The whole body: the stream ends by itself.
    let listened = s.server.modern(&auth, "subscriptions/listen", filter).await;
    assert_eq!(listened.status, 200, "{}", listened.body);
    // Validation accepts `exp` itself: the stream ends when the token is refused.
    assert!(now() > exp, "ended before the token expired");
    let messages: Vec<serde_json::Value> = listened
        .body
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let methods: Vec<_> = messages.iter().map(|m| m["method"].clone()).collect();
    assert_eq!(
        methods,
        [
            json!("notifications/subscriptions/acknowledged"),
            json!("notifications/cancelled"),
            json!(null), // the listen request's closing result
        ]
    );
    assert_eq!(messages[1]["params"]["reason"], "the credential expired");
    // And the token is refused from then on.
    let refused = s.server.modern(&auth, "tools/list", json!({})).await;
    assert_eq!(refused.status, 401);
}
