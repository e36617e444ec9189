//! `AuthLayer` with a `JwtAuthenticator` (EdDSA keys from a fixed JWKS), called with any
//! `Authorization` header: raw bytes, or a token whose header and claims are any bytes and
//! whose signature is valid, so that the claim checks behind the signature are reached.

use std::convert::Infallible;
use std::sync::LazyLock;

use auth_fixtures::TestKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::Algorithm;
use mcp_auth::{AuthLayer, JwtAuthenticator};
use mcp_core::AllowList;
use serde_json::Value;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

use crate::RUNTIME;

/// The `aud` a token must carry.
const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
/// The authenticator's default leeway on `exp`.
const LEEWAY_SECONDS: i64 = 30;

type Guarded = BoxCloneSyncService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;

static KEY: LazyLock<TestKey> = LazyLock::new(|| auth_fixtures::ed_key("ed"));

/// The authenticator of this target and of the `http` target's production stack: it
/// trusts `KEY` and gives every principal an allow-list of the quickstart's `add` tool.
pub(crate) fn authenticator() -> JwtAuthenticator {
    let jwks = Bytes::from(serde_json::json!({ "keys": [KEY.jwk] }).to_string());
    let jwt = JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .algorithms([Algorithm::EdDSA])
        .jwks_url("https://auth.example.com/jwks")
        .fetcher(move |_url, _max| {
            let jwks = jwks.clone();
            async move { Ok(jwks) }
        })
        .required_scopes(["mcp"])
        .allow_list_from(|_claims| Some(AllowList::new().tools(["add"])))
        .build()
        .expect("a valid configuration");
    RUNTIME
        .block_on(jwt.refresh())
        .expect("the keys are served");
    jwt
}

/// `Bearer` and a token `authenticator` accepts.
pub(crate) static VALID_BEARER: LazyLock<HeaderValue> = LazyLock::new(|| {
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": RESOURCE, "exp": 4_102_444_800_u64, "sub": "fuzz", "scope": "mcp",
    });
    HeaderValue::from_bytes(&bearer(
        br#"{"alg":"EdDSA","kid":"ed","typ":"JWT"}"#,
        claims.to_string().as_bytes(),
    ))
    .expect("a valid header")
});

static SERVICE: LazyLock<Guarded> = LazyLock::new(|| {
    let inner = tower::service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"through"))))
    });
    BoxCloneSyncService::new(AuthLayer::new(authenticator()).layer(inner))
});

/// The first byte picks the header: the rest as it is (0), `Bearer` and a signed token with
/// the rest as its claims (1), or with the rest's lines as its header and claims (2). The
/// answer must be a pass, 400, 401 with a `Bearer` challenge, or 403 (each refusal with a
/// JSON-RPC error body); a pass only for a token signed by the key whose issuer, audience
/// and expiry are right.
///
/// ```
/// mcp_fuzz::auth(br#"\x01{"iss":"https://auth.example.com","aud":"https://mcp.example.com/mcp","exp":4102444800,"sub":"u","scope":"mcp"}"#);
/// ```
pub fn auth(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let value = match mode % 3 {
        0 => rest.to_vec(),
        1 => bearer(br#"{"alg":"EdDSA","kid":"ed","typ":"JWT"}"#, rest),
        _ => {
            let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            bearer(&rest[..split], rest.get(split + 1..).unwrap_or_default())
        }
    };
    let Ok(value) = HeaderValue::from_bytes(&value) else {
        return;
    };
    let request = Request::post("/mcp")
        .header(header::AUTHORIZATION, value.clone())
        .body(Full::new(Bytes::new()))
        .expect("a valid request");
    let Ok(response) = RUNTIME.block_on(SERVICE.clone().oneshot(request));
    let status = response.status();
    match status {
        StatusCode::OK => assert_token_is_good(&value),
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => {
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .unwrap_or_else(|| panic!("{status} without WWW-Authenticate"));
            assert!(
                challenge.as_bytes().starts_with(b"Bearer"),
                "a challenge that is not Bearer: {challenge:?}"
            );
        }
        StatusCode::FORBIDDEN => {}
        other => panic!("{other} for an Authorization header"),
    }
    if status != StatusCode::OK {
        // The refusal's body, which quotes the token's fault, is a JSON-RPC error.
        let body = RUNTIME
            .block_on(response.into_body().collect())
            .expect("a body in memory")
            .to_bytes();
        let refusal: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|error| panic!("a refusal that is not JSON ({error}): {body:?}"));
        crate::schema::assert_jsonrpc_message(&refusal);
    }
}

/// `Bearer` and a token of these header and claims bytes, signed by the key.
fn bearer(header: &[u8], claims: &[u8]) -> Vec<u8> {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &KEY.encoding, KEY.alg)
        .expect("EdDSA signs anything");
    format!("Bearer {message}.{signature}").into_bytes()
}

/// What a token let through must have, checked here without the authenticator's code.
fn assert_token_is_good(value: &HeaderValue) {
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.get(7..))
        .expect("a Bearer token");
    let mut parts = token.split('.');
    let decode = |part: Option<&str>| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.expect("three parts"))
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let (header, claims) = (decode(parts.next()), decode(parts.next()));
    assert_eq!(header["alg"], "EdDSA", "let through: {header}");
    assert_eq!(claims["iss"], ISSUER, "let through: {claims}");
    let audience = &claims["aud"];
    assert!(
        audience == RESOURCE
            || audience
                .as_array()
                .is_some_and(|a| a.contains(&RESOURCE.into())),
        "let through: {claims}"
    );
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let expiry = claims["exp"].as_f64().expect("let through without exp");
    assert!(
        expiry + LEEWAY_SECONDS as f64 > now as f64,
        "let through expired: {claims}"
    );
}
