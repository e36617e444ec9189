//! Claims and header checks beyond what `jsonwebtoken` enforces: one `iss` string, a
//! non-empty `sub`, no `crit` header, and (when asked for) the RFC 9068 access-token `typ`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde_json::{Value, json};

use crate::common::*;
use crate::jwt::Setup;

/// Signs `claims` with `key`, the header typed `typ`.
fn mint_typed(key: &TestKey, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

#[tokio::test]
async fn iss_is_one_string_and_sub_is_not_empty() {
    let key = ec_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    // `jsonwebtoken` would accept an array holding the issuer; RFC 7519 §4.1.1 says a string.
    let listed = mint(
        &key,
        &s.claims_with(json!({"iss": ["http://evil.example", s.jwks.issuer()]})),
    );
    assert_eq!(
        get_bearer(&s.url, &listed).await,
        s.invalid_token("token iss is not a string")
    );
    // Every token with an empty subject would be the same principal.
    let anonymous = mint(&key, &s.claims_with(json!({"sub": ""})));
    assert_eq!(
        get_bearer(&s.url, &anonymous).await,
        s.invalid_token("token lacks the sub claim")
    );
    assert_eq!(
        get_bearer(&s.url, &mint(&key, &s.claims())).await,
        ok("alice")
    );
}

#[tokio::test]
async fn the_access_token_type_is_checked_when_asked_for() {
    let key = rsa_key("k");
    let lenient = Setup::new(&[&key], |b| b).await;
    let claims = lenient.claims();
    for typ in [Some("JWT"), None, Some("at+jwt")] {
        let token = mint_typed(&key, typ, &claims);
        assert_eq!(
            get_bearer(&lenient.url, &token).await,
            ok("alice"),
            "{typ:?}"
        );
    }

    let strict = Setup::new(&[&key], |b| b.require_access_token_type(true)).await;
    let claims = strict.claims();
    for typ in [Some("at+jwt"), Some("application/at+jwt"), Some("AT+JWT")] {
        let token = mint_typed(&key, typ, &claims);
        assert_eq!(
            get_bearer(&strict.url, &token).await,
            ok("alice"),
            "{typ:?}"
        );
    }
    // An ID token of the same authorization server (`JWT`), or an untyped token.
    for typ in [Some("JWT"), None, Some("at+jwt+x")] {
        let token = mint_typed(&key, typ, &claims);
        assert_eq!(
            get_bearer(&strict.url, &token).await,
            strict.invalid_token("token is not typed as an access token"),
            "{typ:?}"
        );
    }
}

/// `header` and `claims` encoded and signed by `key`, the header exactly as given.
fn signed_with_header(key: &TestKey, header: &Value, claims: &Value) -> String {
    let message = unsigned(header, claims, "");
    let message = message.trim_end_matches('.');
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.alg).unwrap();
    format!("{message}.{signature}")
}

/// RFC 7515 §4: header parameters not understood are ignored, whatever their JSON type
/// (`jsonwebtoken`'s own header type takes strings only).
#[tokio::test]
async fn unknown_header_parameters_of_any_type_are_ignored() {
    let key = rsa_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    for extra in [
        json!(3),
        json!(true),
        json!(null),
        json!({"a": 1}),
        json!(["a"]),
    ] {
        let header = json!({"alg": "RS256", "kid": "k", "typ": "JWT", "ext": extra});
        let token = signed_with_header(&key, &header, &s.claims());
        assert_eq!(get_bearer(&s.url, &token).await, ok("alice"), "{header}");
    }
    // Still refused: a repeated parameter, an unknown algorithm, critical extensions,
    // a `kid` that is not a string.
    let claims = URL_SAFE_NO_PAD.encode(s.claims().to_string());
    let repeated = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k","kid":"k"}"#);
    let message = format!("{repeated}.{claims}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.alg).unwrap();
    let token = format!("{message}.{signature}");
    assert_eq!(
        get_bearer(&s.url, &token).await,
        s.invalid_token("malformed token")
    );
    for (header, refusal) in [
        (json!({"alg": "none", "kid": "k"}), "malformed token"),
        (json!({"alg": "RS256", "kid": 7}), "malformed token"),
        (
            json!({"alg": "RS256", "kid": "k", "crit": ["ext"], "ext": 1}),
            "token has critical header parameters",
        ),
    ] {
        let token = signed_with_header(&key, &header, &s.claims());
        assert_eq!(
            get_bearer(&s.url, &token).await,
            s.invalid_token(refusal),
            "{header}"
        );
    }
}

#[tokio::test]
async fn critical_header_parameters_are_refused() {
    let key = rsa_key("k");
    let s = Setup::new(&[&key], |b| b).await;
    // Correctly signed, but it says it must not be accepted by whoever does not understand
    // `urn:example:must-understand` (RFC 7515 §4.1.11).
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header.crit = Some(vec!["urn:example:must-understand".to_owned()]);
    header
        .extras
        .insert("urn:example:must-understand".to_owned(), "x".to_owned());
    let token = jsonwebtoken::encode(&header, &s.claims(), &key.encoding).unwrap();
    assert_eq!(
        get_bearer(&s.url, &token).await,
        s.invalid_token("token has critical header parameters")
    );
}
