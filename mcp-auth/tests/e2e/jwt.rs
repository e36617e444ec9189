//! `JwtAuthenticator` behind `AuthLayer`: each case asserts status, exact `WWW-Authenticate`
//! and body.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::{JwtAuthenticator, JwtAuthenticatorBuilder};
use mcp_core::AllowList;
use serde_json::{Value, json};

use crate::common::*;

pub struct Setup {
    pub jwks: Jwks,
    pub base: String,
    pub url: String,
    pub resource: String,
    pub metadata_url: String,
}

impl Setup {
    pub async fn new(
        keys: &[&TestKey],
        configure: impl FnOnce(JwtAuthenticatorBuilder) -> JwtAuthenticatorBuilder,
    ) -> Setup {
        Self::with_delay(keys, Duration::ZERO, configure).await
    }

    pub async fn with_delay(
        keys: &[&TestKey],
        delay: Duration,
        configure: impl FnOnce(JwtAuthenticatorBuilder) -> JwtAuthenticatorBuilder,
    ) -> Setup {
        let jwks = Jwks::start_delayed(keys, delay).await;
        let server = Server::bind().await;
        let (resource, metadata_url) = (server.resource(), server.metadata_url());
        let builder = JwtAuthenticator::builder(&resource)
            .issuer(jwks.issuer())
            .jwks_url(jwks.jwks_url())
            .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
            .leeway(Duration::from_secs(5))
            .min_refresh_interval(Duration::from_secs(1))
            .required_scopes(["mcp"]);
        let jwt = configure(builder).build().unwrap();
        let base = server.start(jwt, &jwks.issuer());
        Setup {
            url: format!("{base}/mcp"),
            base,
            jwks,
            resource,
            metadata_url,
        }
    }

    pub fn claims(&self) -> Value {
        json!({
            "iss": self.jwks.issuer(),
            "aud": self.resource,
            "sub": "alice",
            "iat": now(),
            "exp": now() + 300,
            "scope": "mcp",
        })
    }

    pub fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    /// `Bearer resource_metadata="..", scope="mcp"`.
    pub fn challenge(&self) -> String {
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp""#,
            self.metadata_url
        )
    }

    /// The 503 of a token whose key cannot be fetched now.
    pub fn keys_unavailable(&self) -> Answer {
        Answer {
            status: 503,
            challenge: None,
            body: error_body(
                -32603,
                "the authorization server's signing keys cannot be fetched; retry later",
            ),
        }
    }

    pub fn invalid_token(&self, description: &str) -> Answer {
        Answer {
            status: 401,
            challenge: Some(format!(
                r#"{}, error="invalid_token", error_description="{description}""#,
                self.challenge()
            )),
            body: error_body(-32001, description),
        }
    }
}

#[tokio::test]
async fn valid_tokens_of_each_algorithm() {
    let (rsa, ec, ed) = (rsa_key("rsa-1"), ec_key("ec-1"), ed_key("ed-1"));
    let s = Setup::new(&[&rsa, &ec, &ed], |b| b).await;
    for key in [&rsa, &ec, &ed] {
        let token = mint(key, &s.claims());
        assert_eq!(
            get_bearer(&s.url, &token).await,
            ok("alice"),
            "{:?}",
            key.alg
        );
    }
    // `scp` as an array is read too.
    let token = mint(
        &ec,
        &s.claims_with(json!({"scope": null, "scp": ["mcp", "x"]})),
    );
    assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    assert_eq!(s.jwks.fetches(), 1, "one fetch serves every later request");
}

#[tokio::test]
async fn expired_and_not_yet_valid() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    let expired = mint(&key, &s.claims_with(json!({"exp": now() - 60})));
    assert_eq!(
        get_bearer(&s.url, &expired).await,
        s.invalid_token("token expired")
    );
    // Within the leeway (5 s) is still fine.
    let just_expired = mint(&key, &s.claims_with(json!({"exp": now() - 2})));
    assert_eq!(get_bearer(&s.url, &just_expired).await, ok("alice"));
    let early = mint(&key, &s.claims_with(json!({"nbf": now() + 60})));
    assert_eq!(
        get_bearer(&s.url, &early).await,
        s.invalid_token("token not yet valid")
    );
    let no_exp = mint(&key, &s.claims_with(json!({"exp": null})));
    assert_eq!(
        get_bearer(&s.url, &no_exp).await,
        s.invalid_token("token lacks a valid exp claim")
    );
    let text_exp = mint(
        &key,
        &s.claims_with(json!({"exp": (now() + 60).to_string()})),
    );
    assert_eq!(
        get_bearer(&s.url, &text_exp).await,
        s.invalid_token("token lacks a valid exp claim")
    );
    // A number, but no time a token can have.
    let huge_exp = mint(&key, &s.claims_with(json!({"exp": 1e30})));
    assert_eq!(
        get_bearer(&s.url, &huge_exp).await,
        s.invalid_token("token lacks a valid exp claim")
    );
    // RFC 7519's NumericDate may have a fraction.
    let fractional = mint(&key, &s.claims_with(json!({"exp": now() as f64 + 60.5})));
    assert_eq!(get_bearer(&s.url, &fractional).await, ok("alice"));
}

#[tokio::test]
async fn wrong_audience_and_issuer() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    let other_resource = mint(
        &key,
        &s.claims_with(json!({"aud": "http://127.0.0.1:1/mcp"})),
    );
    assert_eq!(
        get_bearer(&s.url, &other_resource).await,
        s.invalid_token("token audience does not include this resource")
    );
    // An audience list containing this resource is fine (RFC 8707: "contains").
    let listed = mint(
        &key,
        &s.claims_with(json!({"aud": ["http://other", s.resource]})),
    );
    assert_eq!(get_bearer(&s.url, &listed).await, ok("alice"));
    // An upper-case scheme and host name the same resource (the spec: SHOULD accept); a
    // different path does not.
    let shouted = s
        .resource
        .replacen("http://127.0.0.1", "HTTP://127.0.0.1", 1);
    let shouted = mint(&key, &s.claims_with(json!({ "aud": shouted })));
    assert_eq!(get_bearer(&s.url, &shouted).await, ok("alice"));
    let other_path = mint(
        &key,
        &s.claims_with(json!({ "aud": s.resource.to_uppercase() })),
    );
    assert_eq!(
        get_bearer(&s.url, &other_path).await,
        s.invalid_token("token audience does not include this resource")
    );
    let no_aud = mint(&key, &s.claims_with(json!({"aud": null})));
    assert_eq!(
        get_bearer(&s.url, &no_aud).await,
        s.invalid_token("token lacks the aud claim")
    );
    let other_issuer = mint(&key, &s.claims_with(json!({"iss": "http://evil.example"})));
    assert_eq!(
        get_bearer(&s.url, &other_issuer).await,
        s.invalid_token("token issuer not accepted")
    );
}

#[tokio::test]
async fn unknown_kid_then_rotated_in() {
    let (old, new) = (ec_key("old"), ed_key("new"));
    let s = Setup::new(&[&old], |b| b).await;
    assert_eq!(
        get_bearer(&s.url, &mint(&old, &s.claims())).await,
        ok("alice")
    );
    assert_eq!(s.jwks.fetches(), 1);

    let token = mint(&new, &s.claims());
    // Within the minimum interval: no fetch, refused.
    assert_eq!(
        get_bearer(&s.url, &token).await,
        s.invalid_token("unknown signing key")
    );
    assert_eq!(s.jwks.fetches(), 1);

    // The authorization server rotates the key in; after the interval one refresh finds it.
    s.jwks.add(&new);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    assert_eq!(s.jwks.fetches(), 2);
    assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    assert_eq!(
        get_bearer(&s.url, &mint(&old, &s.claims())).await,
        ok("alice")
    );
    assert_eq!(s.jwks.fetches(), 2);
}

/// A JWKS that is down when the first token arrives (a server started before its
/// authorization server) is asked again a second later, not after the whole minimum
/// interval: valid tokens are refused for a second, not for half a minute, and with a 503
/// that tells the client to retry (not a 401, which would have it discard the token). While
/// it stays down it is asked at most once a second, then less and less often.
#[tokio::test]
async fn a_jwks_that_was_down_is_asked_again_within_a_second() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b.min_refresh_interval(Duration::from_secs(30))).await;
    s.jwks.set_down(true);
    let token = mint(&key, &s.claims());
    assert_eq!(get_bearer(&s.url, &token).await, s.keys_unavailable());
    assert_eq!(s.jwks.fetches(), 1);
    let response = client()
        .request(
            http::Request::get(&s.url)
                .header("authorization", format!("Bearer {token}"))
                .body(http_body_util::Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    // Within the second: no fetch.
    get_bearer(&s.url, &token).await;
    assert_eq!(s.jwks.fetches(), 1);
    // Still down a second later: one more fetch, and the next wait is two seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    get_bearer(&s.url, &token).await;
    assert_eq!(s.jwks.fetches(), 2);
    s.jwks.set_down(false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    get_bearer(&s.url, &token).await;
    assert_eq!(s.jwks.fetches(), 2, "asked again before the doubled wait");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    assert_eq!(s.jwks.fetches(), 3);
}

/// A server whose JWKS (holding `known`) answers after `delay`, one fetch done and its 2 s
/// minimum interval over: the next unknown `kid` may fetch.
pub async fn past_the_first_fetch(known: &TestKey, delay: Duration) -> Setup {
    let s = Setup::with_delay(&[known], delay, |b| {
        b.min_refresh_interval(Duration::from_secs(2))
    })
    .await;
    assert_eq!(
        get_bearer(&s.url, &mint(known, &s.claims())).await,
        ok("alice")
    );
    assert_eq!(s.jwks.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(2050)).await;
    s
}

#[tokio::test]
async fn burst_of_unknown_kids_shares_one_fetch() {
    let (known, unknown) = (ec_key("known"), ec_key("unknown"));
    // A slow JWKS makes the 50 misses overlap the fetch.
    let s = past_the_first_fetch(&known, Duration::from_millis(200)).await;

    let token = mint(&unknown, &s.claims());
    let client = client();
    let header = format!("Bearer {token}");
    let headers = [("authorization", header.as_str())];
    let answers =
        futures_util::future::join_all((0..50).map(|_| get_with(&client, &s.url, &headers))).await;
    for answer in answers {
        assert_eq!(answer, s.invalid_token("unknown signing key"));
    }
    let fetches = s.jwks.fetches() - 1;
    assert!(
        (1..=2).contains(&fetches),
        "{fetches} JWKS fetches for 50 misses"
    );
    // And the burst keeps being cheap right after.
    assert_eq!(
        get_bearer(&s.url, &token).await,
        s.invalid_token("unknown signing key")
    );
    assert_eq!(s.jwks.fetches() - 1, fetches);
}

#[tokio::test]
async fn alg_none_hs256_confusion_and_garbage() {
    let rsa = rsa_key("rsa");
    let s = Setup::new(&[&rsa], |b| b).await;

    let none = unsigned(
        &json!({"alg": "none", "typ": "JWT", "kid": "rsa"}),
        &s.claims(),
        "",
    );
    assert_eq!(
        get_bearer(&s.url, &none).await,
        s.invalid_token("malformed token")
    );

    // HS256 keyed with the RSA public key: the classic algorithm-confusion forgery.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa".into());
    let confused = jsonwebtoken::encode(
        &header,
        &s.claims(),
        &EncodingKey::from_secret(&rsa.public_pem),
    )
    .unwrap();
    assert_eq!(
        get_bearer(&s.url, &confused).await,
        s.invalid_token("token algorithm not allowed")
    );
    // Same with the key's JWK "n" as secret.
    let n = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let confused =
        jsonwebtoken::encode(&header, &s.claims(), &EncodingKey::from_secret(&n)).unwrap();
    assert_eq!(
        get_bearer(&s.url, &confused).await,
        s.invalid_token("token algorithm not allowed")
    );

    // Signed by another key under the known kid.
    let mut impostor = ec_key("rsa");
    impostor.alg = Algorithm::ES256;
    let forged = mint(&impostor, &s.claims());
    assert_eq!(
        get_bearer(&s.url, &forged).await,
        s.invalid_token("token algorithm not allowed for its key")
    );
    // Alice's header and signature around Mallory's claims.
    let alice = mint(&rsa, &s.claims());
    let mallory = mint(&rsa, &s.claims_with(json!({"sub": "mallory"})));
    let [header, _, signature]: [&str; 3] =
        alice.split('.').collect::<Vec<_>>().try_into().unwrap();
    let payload = mallory.split('.').nth(1).unwrap();
    let spliced = format!("{header}.{payload}.{signature}");
    assert_eq!(
        get_bearer(&s.url, &spliced).await,
        s.invalid_token("invalid token signature")
    );

    for garbage in ["garbage", "a.b.c", "e30.e30.e30", "...."] {
        assert_eq!(
            get_bearer(&s.url, garbage).await,
            s.invalid_token("malformed token"),
            "{garbage}"
        );
    }
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn token_in_query_and_missing_header() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
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
    assert_eq!(
        get(&format!("{}?access_token={token}", s.url), &[]).await,
        expected
    );
    // Even alongside a valid header.
    let with_header = format!("{}?x=1&access_token={token}", s.url);
    assert_eq!(get_bearer(&with_header, &token).await, expected);

    let missing = Answer {
        status: 401,
        challenge: Some(s.challenge()),
        body: error_body(-32001, "authentication required"),
    };
    assert_eq!(get(&s.url, &[]).await, missing);
    // Every path is protected, not only /mcp.
    assert_eq!(get(&format!("{}/anything", s.base), &[]).await, missing);

    // Another scheme is no bearer credentials (RFC 6750 §3.1): the same bare challenge, so
    // an MCP client that tried Basic still starts OAuth discovery from `resource_metadata`.
    for other in [
        "Basic YWxpY2U6c2VjcmV0",
        "Digest username=\"alice\"",
        "ApiKey",
    ] {
        assert_eq!(
            get(&s.url, &[("authorization", other)]).await,
            missing,
            "{other}"
        );
    }
}

/// A verified token is served from the cache from its second use on, which skips the
/// character check: everything around the token is still checked first, and any other
/// spelling of it is checked in full.
#[tokio::test]
async fn cached_tokens_pass_the_same_header_checks() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    let token = mint(&key, &s.claims());
    for _ in 0..2 {
        assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    }
    assert_eq!(
        get(&s.url, &[("authorization", &format!("bearer  {token} "))]).await,
        ok("alice"),
        "scheme case and spaces around the token, as before caching"
    );
    let bad_request = |description: &str| Answer {
        status: 400,
        challenge: Some(format!(
            r#"{}, error="invalid_request", error_description="{description}""#,
            s.challenge()
        )),
        body: error_body(-32001, description),
    };
    for altered in [
        format!("{token}!"),
        format!("{token} x"),
        format!("{token}\""),
    ] {
        assert_eq!(
            get_bearer(&s.url, &altered).await,
            bad_request("malformed bearer token"),
            "{altered}"
        );
    }
    assert_eq!(
        get_bearer(&format!("{}?access_token={token}", s.url), &token).await,
        bad_request("access tokens are accepted only in the Authorization header")
    );
    assert_eq!(
        get(&s.url, &[("authorization", &format!("Basic {token}"))])
            .await
            .status,
        401,
        "another scheme is no credentials, cached token or not"
    );
    let twice = format!("Bearer {token}");
    assert_eq!(
        get(
            &s.url,
            &[("authorization", &twice), ("authorization", &twice)]
        )
        .await,
        bad_request("more than one Authorization header")
    );
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn missing_scope_is_a_step_up_403() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b.required_scopes(["mcp", "tools:call"])).await;
    let token = mint(&key, &s.claims_with(json!({"scope": "profile mcp"})));
    let answer = get_bearer(&s.url, &token).await;
    assert_eq!(
        answer,
        Answer {
            status: 403,
            challenge: Some(format!(
                r#"Bearer resource_metadata="{}", scope="mcp profile tools:call", error="insufficient_scope", error_description="missing scope: tools:call""#,
                s.metadata_url
            )),
            body: error_body(-32003, "missing scope: tools:call"),
        }
    );
    // The 401 challenge advertises the required scopes.
    assert_eq!(
        get(&s.url, &[]).await.challenge.unwrap(),
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp tools:call""#,
            s.metadata_url
        )
    );
    let enough = mint(&key, &s.claims_with(json!({"scope": "tools:call mcp"})));
    assert_eq!(get_bearer(&s.url, &enough).await, ok("alice"));
}

#[tokio::test]
async fn metadata_is_served_without_auth() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    let expected = format!(
        r#"{{"resource":"{}","authorization_servers":["{}"],"scopes_supported":["mcp"],"bearer_methods_supported":["header"]}}"#,
        s.resource,
        s.jwks.issuer()
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let answer = get(&format!("{}{path}", s.base), &[]).await;
        assert_eq!(
            answer,
            Answer {
                status: 200,
                challenge: None,
                body: expected.clone()
            }
        );
    }
    // The challenge points at it.
    assert_eq!(
        s.metadata_url,
        format!("{}/.well-known/oauth-protected-resource/mcp", s.base)
    );
    // Nothing else under .well-known escapes auth.
    let other = get(
        &format!("{}/.well-known/oauth-protected-resource/other", s.base),
        &[],
    )
    .await;
    assert_eq!(other.status, 401);
}

#[tokio::test]
async fn jwks_discovered_from_authorization_server_metadata() {
    let key = ed_key("k");
    let s = Setup::new(&[&key], |b| b.discover_jwks()).await;
    assert_eq!(
        get_bearer(&s.url, &mint(&key, &s.claims())).await,
        ok("alice")
    );
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn claims_map_to_allow_list_and_principal() {
    let key = ec_key("k");
    let jwks = Jwks::start(&[&key]).await;
    let resource = "http://127.0.0.1:9/mcp";
    let jwt = JwtAuthenticator::builder(resource)
        .issuer(jwks.issuer())
        .jwks_url(jwks.jwks_url())
        .algorithms([Algorithm::ES256])
        .allow_list_from(|claims| match claims.get("plan").and_then(Value::as_str) {
            Some("pro") => None,
            _ => Some(AllowList::new().tools(["search"])),
        })
        .build()
        .unwrap();
    jwt.refresh().await.unwrap();
    let claims = |plan: &str| {
        json!({"iss": jwks.issuer(), "aud": resource, "sub": "bob", "exp": now() + 60,
               "scp": "a b", "plan": plan})
    };
    let free = jwt.verify(&mint(&key, &claims("free"))).await.unwrap();
    assert_eq!(free.subject(), "bob");
    assert_eq!(free.scopes().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(free.claims()["plan"], "free");
    let allow = free.allow_list().unwrap();
    assert!(allow.allows_tool("search") && !allow.allows_tool("delete"));
    let pro = jwt.verify(&mint(&key, &claims("pro"))).await.unwrap();
    assert!(pro.allow_list().is_none());
    // No `sub`: refused.
    let mut anonymous = claims("pro");
    anonymous.as_object_mut().unwrap().remove("sub");
    let rejection = jwt.verify(&mint(&key, &anonymous)).await.unwrap_err();
    assert_eq!(rejection.message(), "token lacks the sub claim");
}
