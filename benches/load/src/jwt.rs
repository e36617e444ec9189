//! Keys and tokens for the production stack: an RSA key generated at start-up, its JWKS
//! served over loopback HTTP (what an authorization server does), tokens minted with it.

use std::convert::Infallible;
use std::net::SocketAddr;

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

/// An RS256 signing key and its public JWK.
pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    pub(crate) jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A fresh 2048-bit RSA key.
    pub(crate) fn generate() -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let private =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation");
        let public = private.to_public_key();
        let kid = "bench-key".to_owned();
        Self {
            encoding: EncodingKey::from_rsa_der(
                private.to_pkcs1_der().expect("PKCS#1 encoding").as_bytes(),
            ),
            jwk: json!({
                "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
            }),
            kid,
        }
    }

    /// A token for `subject`, valid for 12 hours, with scope `mcp`.
    pub(crate) fn mint(&self, issuer: &str, audience: &str, subject: &str) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({
            "iss": issuer, "aud": audience, "sub": subject, "scope": "mcp",
            "iat": now, "exp": now + 12 * 3600,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("signing")
    }
}

/// Serves `{"keys": [jwk]}` at `/jwks.json` on a loopback port; returns the address.
pub(crate) async fn serve_jwks(jwk: Value) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let body = Bytes::from(json!({ "keys": [jwk] }).to_string());
    tokio::spawn(async move {
        // Bounded by the process: the JWKS is fetched once at start-up, then on key misses.
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let body = body.clone();
                    async move {
                        let mut response = Response::new(Full::new(body));
                        if request.uri().path() != "/jwks.json" {
                            *response.body_mut() = Full::default();
                            *response.status_mut() = StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
