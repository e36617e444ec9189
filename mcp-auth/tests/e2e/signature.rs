//! The JWS signature check, over the JWKS server: forged, spliced and malformed tokens are
//! refused with the same descriptions whatever the key type, and an RSA key verifies each
//! of its allowed paddings with the right one.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;
use crate::jwt::Setup;

/// `token`'s three segments.
fn segments(token: &str) -> [&str; 3] {
    token.split('.').collect::<Vec<_>>().try_into().unwrap()
}

/// `header` and `claims` encoded, signed RS256 by an RSA key other than the fixtures' one.
fn signed_by_other_rsa_key(header: &Value, claims: &Value) -> String {
    let message = unsigned(header, claims, "");
    let message = message.trim_end_matches('.');
    // The fixtures share one RSA key per test binary: this one is made here.
    let other = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let mut signature = vec![0; other.public_modulus_len()];
    other
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn tampered_and_foreign_signatures_are_refused_for_every_key_type() {
    let (rsa, ec, ed) = (rsa_key("rsa"), ec_key("ec"), ed_key("ed"));
    let s = Setup::new(&[&rsa, &ec, &ed], |b| b).await;
    let bad_signature = s.invalid_token("invalid token signature");
    for key in [&rsa, &ec, &ed] {
        let token = mint(key, &s.claims());
        let [header, _, signature] = segments(&token);
        // Mallory's claims under Alice's header and signature.
        let tampered = URL_SAFE_NO_PAD.encode(s.claims_with(json!({"sub": "mallory"})).to_string());
        let spliced = format!("{header}.{tampered}.{signature}");
        assert_eq!(
            get_bearer(&s.url, &spliced).await,
            bad_signature,
            "{:?}",
            key.alg
        );
        // One bit of the signature flipped.
        let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
        flipped[10] ^= 1;
        let flipped = format!(
            "{}.{}",
            token.rsplit_once('.').unwrap().0,
            URL_SAFE_NO_PAD.encode(flipped)
        );
        assert_eq!(
            get_bearer(&s.url, &flipped).await,
            bad_signature,
            "{:?}",
            key.alg
        );
        // The signature of another token.
        let other = mint(key, &s.claims_with(json!({"sub": "bob"})));
        let swapped = format!(
            "{}.{}",
            token.rsplit_once('.').unwrap().0,
            segments(&other)[2]
        );
        assert_eq!(
            get_bearer(&s.url, &swapped).await,
            bad_signature,
            "{:?}",
            key.alg
        );
        assert_eq!(
            get_bearer(&s.url, &token).await,
            ok("alice"),
            "{:?}",
            key.alg
        );
    }

    // Another key of the same type under a known kid.
    let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": "rsa"});
    let forged = signed_by_other_rsa_key(&header, &s.claims());
    assert_eq!(get_bearer(&s.url, &forged).await, bad_signature);
    for impostor in [ec_key("ec"), ed_key("ed")] {
        let forged = mint(&impostor, &s.claims());
        assert_eq!(
            get_bearer(&s.url, &forged).await,
            bad_signature,
            "{:?}",
            impostor.alg
        );
    }
    // An empty signature.
    header["kid"] = "ec".into();
    header["alg"] = "ES256".into();
    let empty = unsigned(&header, &s.claims(), "");
    assert_eq!(get_bearer(&s.url, &empty).await, bad_signature);
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn none_and_hmac_tokens_are_refused_before_any_key_is_used() {
    let rsa = rsa_key("rsa");
    let s = Setup::new(&[&rsa], |b| b).await;
    let signature = segments(&mint(&rsa, &s.claims()))[2].to_owned();
    for alg in ["none", "None", "NONE", ""] {
        for signature in ["", signature.as_str()] {
            let none = unsigned(&json!({"alg": alg, "kid": "rsa"}), &s.claims(), signature);
            assert_eq!(
                get_bearer(&s.url, &none).await,
                s.invalid_token("malformed token"),
                "alg {alg:?}"
            );
        }
    }
    // HS256 keyed with every public form of the RSA key: PEM, JWK `n`, the JWK itself, the
    // modulus bytes.
    let n = URL_SAFE_NO_PAD
        .decode(rsa.jwk["n"].as_str().unwrap())
        .unwrap();
    let secrets = [
        rsa.public_pem.clone(),
        rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        rsa.jwk.to_string().into_bytes(),
        n,
    ];
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for secret in &secrets {
            let mut header = Header::new(alg);
            header.kid = Some("rsa".into());
            let confused =
                jsonwebtoken::encode(&header, &s.claims(), &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(
                get_bearer(&s.url, &confused).await,
                s.invalid_token("token algorithm not allowed"),
                "{alg:?}"
            );
        }
    }
    assert_eq!(s.jwks.fetches(), 0, "no refused token fetched the JWKS");
}

#[tokio::test]
async fn an_rsa_key_verifies_only_its_allowed_algorithms_each_with_its_padding() {
    let declared = rsa_key("declared");
    // The same key without `alg`: every configured RSA algorithm fits it.
    let mut open = rsa_key("open");
    open.jwk.as_object_mut().unwrap().remove("alg");
    let s = Setup::new(&[&declared, &open], |b| {
        b.algorithms([Algorithm::RS256, Algorithm::PS256, Algorithm::ES256])
    })
    .await;
    let with_alg = |key: &TestKey, alg| {
        let mut key = key.clone();
        key.alg = alg;
        mint(&key, &s.claims())
    };
    // `declared` says RS256: a PS256 token, validly signed by it, is refused.
    let pss = with_alg(&declared, Algorithm::PS256);
    assert_eq!(
        get_bearer(&s.url, &pss).await,
        s.invalid_token("token algorithm not allowed for its key")
    );
    assert_eq!(
        get_bearer(&s.url, &with_alg(&declared, Algorithm::RS256)).await,
        ok("alice")
    );
    // An ES256 token under an RSA key's kid.
    let mut impostor = ec_key("declared");
    impostor.alg = Algorithm::ES256;
    assert_eq!(
        get_bearer(&s.url, &mint(&impostor, &s.claims())).await,
        s.invalid_token("token algorithm not allowed for its key")
    );
    // `open` verifies both paddings, each only as its header says.
    let (pkcs1, pss) = (
        with_alg(&open, Algorithm::RS256),
        with_alg(&open, Algorithm::PS256),
    );
    assert_eq!(get_bearer(&s.url, &pkcs1).await, ok("alice"));
    assert_eq!(get_bearer(&s.url, &pss).await, ok("alice"));
    for (token, other) in [(&pkcs1, "PS256"), (&pss, "RS256")] {
        let [_, payload, signature] = segments(token);
        let header = json!({"alg": other, "typ": "JWT", "kid": "open"});
        let relabelled = format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(header.to_string())
        );
        assert_eq!(
            get_bearer(&s.url, &relabelled).await,
            s.invalid_token("invalid token signature"),
            "relabelled {other}"
        );
    }
    // A PS384 token: not configured.
    assert_eq!(
        get_bearer(&s.url, &with_alg(&open, Algorithm::PS384)).await,
        s.invalid_token("token algorithm not allowed")
    );
}

#[tokio::test]
async fn malformed_signatures_and_segment_counts_are_malformed_tokens() {
    let (rsa, ec) = (rsa_key("rsa"), ec_key("ec"));
    let s = Setup::new(&[&rsa, &ec], |b| b).await;
    let malformed = s.invalid_token("malformed token");
    for key in [&rsa, &ec] {
        let token = mint(key, &s.claims());
        let [header, payload, signature] = segments(&token);
        let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
        // Characters a bearer token may carry but base64url may not, padding, a length no
        // base64 has, and a non-canonical last character.
        let standard = STANDARD.encode(&raw).replace('=', "");
        // 'B' sets one of the last character's unused bits.
        let mut non_canonical = signature.to_owned();
        non_canonical.pop();
        non_canonical.push('B');
        let mut odd_length = signature.to_owned();
        while odd_length.len() % 4 != 1 {
            odd_length.push('A');
        }
        let mut bad = vec![
            format!("{signature}="),
            odd_length,
            format!("{}+/", &signature[2..]),
        ];
        if standard.contains(['+', '/']) {
            bad.push(standard);
        }
        if raw.len() % 3 != 0 {
            bad.push(non_canonical);
        }
        for bad in bad {
            let token = format!("{header}.{payload}.{bad}");
            assert_eq!(get_bearer(&s.url, &token).await, malformed, "{bad}");
        }
        for token in [
            format!("{header}.{payload}"),
            format!("{header}.{payload}.{signature}.{signature}"),
            format!("{header}.{header}.{payload}.{signature}"),
            format!("{header}.{payload}.{signature}."),
            format!(".{header}.{payload}.{signature}"),
            format!("{header}{payload}{signature}"),
        ] {
            assert_eq!(get_bearer(&s.url, &token).await, malformed, "{token}");
        }
        assert_eq!(get_bearer(&s.url, &token).await, ok("alice"));
    }
}
