//! Fixtures shared by the auth tests (`mcp-auth`'s and the `auth-server` example's): signing
//! keys generated at run time, tokens minted with them, and an authorization server serving
//! a mutable JWKS over a real loopback socket.
//!
//! ```no_run
//! # async fn demo() {
//! use auth_fixtures::{Jwks, mint, now, rsa_key};
//!
//! let key = rsa_key("k1");
//! let jwks = Jwks::start(&[&key]).await;
//! let token = mint(&key, &serde_json::json!({ "iss": jwks.issuer(), "exp": now() + 60 }));
//! # let _ = token;
//! # }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    /// The key id, in the JWK and in minted tokens' headers.
    pub kid: String,
    /// The signing algorithm.
    pub alg: Algorithm,
    /// The private half, for signing.
    pub encoding: EncodingKey,
    /// The public half as a JWK.
    pub jwk: Value,
    /// The public key as PEM, for the HS256-with-the-public-key attack.
    pub public_pem: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One RSA key per test binary: generating 2048-bit keys is slow in debug builds.
fn rsa_private() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation")
    })
}

/// An RS256 key (the same 2048-bit key for every call in a test binary).
pub fn rsa_key(kid: &str) -> TestKey {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    let private = rsa_private();
    let public = private.to_public_key();
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        jwk: json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
        }),
        public_pem: public
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
    }
}

/// A fresh ES256 (P-256) key.
pub fn ec_key(kid: &str) -> TestKey {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        }),
        public_pem: secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
    }
}

/// A fresh EdDSA (Ed25519) key.
pub fn ed_key(kid: &str) -> TestKey {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding};
    use rsa::rand_core::RngCore;
    let mut seed = [0u8; 32];
    rsa::rand_core::OsRng.fill_bytes(&mut seed);
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes()),
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": b64(signing.verifying_key().as_bytes()),
        }),
        public_pem: signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
    }
}

/// Seconds since the epoch, for `iat` / `exp` / `nbf`.
pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Signs `claims` with `key` (its algorithm and kid in the header).
pub fn mint(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// A token with a hand-written header and no signature check possible (e.g. `alg: none`).
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The authorization server side: serves a mutable JWKS (and RFC 8414 metadata) and counts
/// JWKS fetches.
#[derive(Clone)]
pub struct Jwks {
    /// Where it listens.
    pub addr: SocketAddr,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    /// While set, the JWKS answers 503 (the authorization server is down).
    down: Arc<AtomicBool>,
}

impl Jwks {
    /// Starts serving `keys`.
    pub async fn start(keys: &[&TestKey]) -> Jwks {
        Self::start_delayed(keys, Duration::ZERO).await
    }

    /// Starts serving `keys`; each JWKS answer is delayed by `delay` (to make concurrent
    /// misses overlap, or to time a fetch out).
    pub async fn start_delayed(keys: &[&TestKey], delay: Duration) -> Jwks {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let jwks = Jwks {
            addr,
            keys: Arc::new(Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect())),
            fetches: Arc::new(AtomicUsize::new(0)),
            down: Arc::new(AtomicBool::new(false)),
        };
        let state = jwks.clone();
        let service = tower::service_fn(move |request: Request<Incoming>| {
            let state = state.clone();
            async move {
                let body = match request.uri().path() {
                    "/jwks.json" => {
                        state.fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        if state.down.load(Ordering::SeqCst) {
                            let mut response = Response::new(Full::default());
                            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                            return Ok(response);
                        }
                        json!({ "keys": *state.keys.lock().unwrap() })
                    }
                    "/.well-known/oauth-authorization-server" => json!({
                        "issuer": state.issuer(),
                        "jwks_uri": state.jwks_url(),
                    }),
                    _ => {
                        let mut response = Response::new(Full::default());
                        *response.status_mut() = StatusCode::NOT_FOUND;
                        return Ok::<_, Infallible>(response);
                    }
                };
                Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
            }
        });
        serve(listener, service);
        jwks
    }

    /// The issuer: this server's origin.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// Publishes one more key (key rotation).
    pub fn add(&self, key: &TestKey) {
        self.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// Makes the JWKS answer 503 (`true`) or its keys again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Serves `service` on `listener` until the test's runtime ends.
pub fn serve<S>(listener: TcpListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |r| service.clone().oneshot(r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
