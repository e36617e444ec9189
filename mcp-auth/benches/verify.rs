//! `JwtAuthenticator::verify` on a token whose signature is checked every time (the
//! verified-token cache off), per signing algorithm, and on a cached token.
//!
//! The JWKS comes from an in-process fetcher, fetched once before measuring: what is
//! measured is the header, key lookup, signature check, claim checks and principal.
//!
//! Run with `cargo bench -p mcp-auth --bench verify -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::time::Duration;

use auth_fixtures::{TestKey, ec_key, ed_key, mint, now, rsa_key};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Uri;
use mcp_auth::{FetchError, JwtAuthenticator};
use serde_json::json;

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn authenticator(key: &TestKey, cache: usize) -> JwtAuthenticator {
    let jwks = Bytes::from(json!({ "keys": [key.jwk] }).to_string());
    JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .algorithms([key.alg])
        .jwks_url("https://jwks.invalid/jwks.json")
        .fetcher(move |_: Uri, _: usize| {
            let jwks = jwks.clone();
            async move { Ok::<_, FetchError>(jwks) }
        })
        .verified_token_cache(cache, Duration::from_secs(60))
        .build()
        .expect("valid configuration")
}

fn token(key: &TestKey) -> String {
    mint(
        key,
        &json!({
            "iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
            "iat": now(), "exp": now() + 3600,
        }),
    )
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("verify");
    for (name, key, cache) in [
        ("RS256, every signature checked", rsa_key("k"), 0),
        ("ES256, every signature checked", ec_key("k"), 0),
        ("EdDSA, every signature checked", ed_key("k"), 0),
        ("RS256, verified-token cache hit", rsa_key("k"), 100),
    ] {
        let auth = authenticator(&key, cache);
        let token = token(&key);
        runtime.block_on(auth.refresh()).expect("JWKS");
        runtime
            .block_on(auth.verify(&token))
            .expect("a valid token");
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(auth.verify(std::hint::black_box(&token))));
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
