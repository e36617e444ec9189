//! JWKS limits: size, timeout, refetches, kid-less tokens, useless keys.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header};
use serde_json::json;

use crate::common::*;
use crate::jwt::{Setup, past_the_first_fetch};

#[tokio::test]
async fn oversized_jwks_is_refused() {
    let key = rsa_key("k");
    let s = Setup::new(&[&key], |b| b.max_jwks_bytes(100)).await;
    assert_eq!(
        get_bearer(&s.url, &mint(&key, &s.claims())).await,
        s.keys_unavailable()
    );
}

#[tokio::test]
async fn slow_jwks_times_out() {
    let key = ec_key("k");
    let s = Setup::with_delay(&[&key], Duration::from_secs(5), |b| {
        b.fetch_timeout(Duration::from_millis(200))
    })
    .await;
    let started = Instant::now();
    assert_eq!(
        get_bearer(&s.url, &mint(&key, &s.claims())).await,
        s.keys_unavailable()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn max_keys_bounds_the_set() {
    let (a, b) = (ec_key("a"), ec_key("b"));
    let s = Setup::new(&[&a, &b], |b| b.max_keys(1)).await;
    assert_eq!(
        get_bearer(&s.url, &mint(&a, &s.claims())).await,
        ok("alice")
    );
    assert_eq!(
        get_bearer(&s.url, &mint(&b, &s.claims())).await,
        s.invalid_token("unknown signing key")
    );
}

/// RFC 7517 §4.5: keys of different types may share a `kid` as alternatives; the token's
/// algorithm picks among them.
#[tokio::test]
async fn keys_of_two_types_may_share_a_kid() {
    let (rsa, ec) = (rsa_key("shared"), ec_key("shared"));
    let s = Setup::new(&[&rsa, &ec], |b| b).await;
    for key in [&ec, &rsa] {
        assert_eq!(
            get_bearer(&s.url, &mint(key, &s.claims())).await,
            ok("alice"),
            "{:?}",
            key.alg
        );
    }
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn token_without_kid_needs_a_single_key() {
    let (a, b) = (ec_key("a"), ec_key("b"));
    let claims_token = |s: &Setup, key: &TestKey| {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &s.claims(), &key.encoding).unwrap()
    };
    let single = Setup::new(&[&a], |b| b).await;
    assert_eq!(
        get_bearer(&single.url, &claims_token(&single, &a)).await,
        ok("alice")
    );
    let two = Setup::new(&[&a, &b], |b| b).await;
    assert_eq!(
        get_bearer(&two.url, &claims_token(&two, &a)).await,
        two.invalid_token("unknown signing key")
    );
}

#[tokio::test]
async fn symmetric_keys_in_the_jwks_are_ignored() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    // An attacker who can get an `oct` key into the JWKS still cannot mint tokens: the key is
    // skipped and HS256 is not a configured algorithm anyway.
    let mut oct = key.clone();
    oct.kid = "hmac".into();
    oct.jwk = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
    s.jwks.add(&oct);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("hmac".into());
    let token = jsonwebtoken::encode(
        &header,
        &s.claims(),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_eq!(
        get_bearer(&s.url, &token).await,
        s.invalid_token("token algorithm not allowed")
    );
}

#[tokio::test]
async fn requests_given_up_during_a_fetch_do_not_start_more() {
    let (known, unknown) = (ec_key("known"), ec_key("unknown"));
    let s = past_the_first_fetch(&known, Duration::from_millis(300)).await;

    // Each client gives up (its connection closes) after 50 ms: the first while the fetch it
    // started is under way (the JWKS takes 300 ms), the next ones while waiting for it.
    let token = mint(&unknown, &s.claims());
    for _ in 0..10 {
        let _ = tokio::time::timeout(Duration::from_millis(50), get_bearer(&s.url, &token)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.jwks.fetches() - 1,
        1,
        "JWKS fetches for 10 dropped misses"
    );
}

#[tokio::test]
async fn a_fetcher_that_panics_counts_as_a_failed_attempt() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let jwt = mcp_auth::JwtAuthenticator::builder("https://mcp.example.com/mcp")
        .issuer("https://auth.example.com")
        .algorithms([Algorithm::ES256])
        .jwks_url("https://auth.example.com/jwks.json")
        .fetcher(move |_: http::Uri, _: usize| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if true {
                    panic!("a fetcher's bug");
                }
                Ok::<_, mcp_auth::FetchError>(bytes::Bytes::new())
            }
        })
        .build()
        .unwrap();
    let claims = json!({"iss": "https://auth.example.com", "aud": "https://mcp.example.com/mcp",
                        "sub": "alice", "exp": now() + 60});
    let token = mint(&ec_key("k"), &claims);
    for _ in 0..3 {
        assert!(jwt.verify(&token).await.is_err());
    }
    // The first miss fetched; the next ones wait as after a failed fetch (1 s).
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// With two authorization servers discovered, each one's keys verify only its own tokens:
/// a token signed by the first but naming the second as `iss` is refused (it would have
/// passed for a user of the second).
#[tokio::test]
async fn discovered_issuers_keep_their_keys_to_their_tokens() {
    let (first_key, second_key) = (ec_key("first"), ec_key("second"));
    let second = Jwks::start(&[&second_key]).await;
    let second_issuer = second.issuer();
    let s = Setup::new(&[&first_key], |b| {
        b.issuer(second_issuer.clone()).discover_jwks()
    })
    .await;
    let claiming = |issuer: &str| s.claims_with(json!({ "iss": issuer }));
    let first_issuer = s.jwks.issuer();
    assert_eq!(
        get_bearer(&s.url, &mint(&first_key, &claiming(&first_issuer))).await,
        ok("alice")
    );
    assert_eq!(
        get_bearer(&s.url, &mint(&second_key, &claiming(&second_issuer))).await,
        ok("alice")
    );
    // The first's key, the second's name: looked up among the second's keys, not found.
    assert_eq!(
        get_bearer(&s.url, &mint(&first_key, &claiming(&second_issuer))).await,
        s.invalid_token("unknown signing key")
    );
    assert_eq!(
        get_bearer(
            &s.url,
            &mint(&first_key, &claiming("https://other.example"))
        )
        .await,
        s.invalid_token("token issuer not accepted")
    );
    assert_eq!((s.jwks.fetches(), second.fetches()), (1, 1));
}
