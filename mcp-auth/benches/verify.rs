//! `JwtAuthenticator::verify` on a token whose signature is checked every time (the
//! verified-token cache off), per signing algorithm, and on a cached token.
//!
//! The JWKS comes from an in-process fetcher, fetched once before measuring: what is
//! measured is the header, key lookup, signature check, claim checks and principal.
//!
//! The `RS256 signature` group takes one token apart: `jsonwebtoken::decode` as the
//! authenticator called it, the bare signature check as jsonwebtoken does it (the key built
//! from `n` and `e` at every call) and with a key parsed once (`ParsedPublicKey`), and the
//! base64 and JSON work around them.
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

/// The parts of an RS256 check, on one token and key.
fn signature(c: &mut Criterion) {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{Map, Value};
    use std::hint::black_box;

    let key = rsa_key("k");
    let token = token(&key);
    let number = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(key.jwk[name].as_str().unwrap())
            .unwrap()
    };
    let (n, e) = (number("n"), number("e"));
    let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let parsed = components
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
    let (message, encoded_signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(encoded_signature).unwrap();
    let payload = message.split('.').nth(1).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.set_audience(&[RESOURCE]);
    validation.set_issuer(&[ISSUER]);

    let mut group = c.benchmark_group("RS256 signature");
    group.bench_function("jsonwebtoken::decode (header, signature, claims)", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(black_box(&token), &decoding, &validation)
                .unwrap()
        });
    });
    group.bench_function("signature, key built per call (jsonwebtoken)", |b| {
        b.iter(|| {
            components
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(message.as_bytes()),
                    &signature,
                )
                .unwrap()
        });
    });
    group.bench_function("signature, key parsed once (ParsedPublicKey)", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(message.as_bytes()), &signature)
                .unwrap()
        });
    });
    group.bench_function("key parse (to_parsed_public_key)", |b| {
        b.iter(|| {
            black_box(&components)
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .unwrap()
        });
    });
    group.bench_function("header (decode_header)", |b| {
        b.iter(|| jsonwebtoken::decode_header(black_box(&token)).unwrap());
    });
    group.bench_function("signature base64 decode", |b| {
        b.iter(|| {
            URL_SAFE_NO_PAD
                .decode(black_box(encoded_signature))
                .unwrap()
        });
    });
    group.bench_function("claims base64 + JSON map", |b| {
        b.iter(|| {
            let json = URL_SAFE_NO_PAD.decode(black_box(payload)).unwrap();
            serde_json::from_slice::<Map<String, Value>>(&json).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, verify, signature);
criterion_main!(benches);
