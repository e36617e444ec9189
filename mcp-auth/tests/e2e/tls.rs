//! The default fetcher speaks HTTPS: a JWKS served over TLS on loopback by a certificate of a
//! CA made here, trusted through `HttpFetcher::with_root_store`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use mcp_auth::{HttpFetcher, JwtAuthenticator};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::common::*;

/// A JWKS of `key` served over TLS on 127.0.0.1:0 with a certificate for `127.0.0.1` issued
/// by a fresh CA; returns the JWKS URL and a root store trusting that CA.
async fn tls_jwks(key: &TestKey) -> (String, RootCertStore) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(json!({ "keys": [key.jwk] }).to_string());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |_| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("https://{addr}/jwks.json"), roots)
}

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";

fn token(key: &TestKey) -> String {
    mint(
        key,
        &json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "exp": now() + 300}),
    )
}

#[tokio::test]
async fn jwks_over_https_with_a_private_root() {
    let key = ec_key("tls");
    let (url, roots) = tls_jwks(&key).await;
    let jwt = JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .algorithms([key.alg])
        .jwks_url(&url)
        .fetcher(HttpFetcher::with_root_store(roots))
        .build()
        .unwrap();
    jwt.refresh().await.expect("the JWKS is fetched over TLS");
    let principal = jwt.verify(&token(&key)).await.unwrap();
    assert_eq!(principal.subject(), "alice");

    // The default fetcher speaks TLS too, and checks the certificate: this CA is not among
    // the public ones, so no key is fetched.
    let default = JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .algorithms([key.alg])
        .jwks_url(&url)
        .build()
        .unwrap();
    let error = default.refresh().await.unwrap_err().to_string();
    assert!(error.contains("certificate"), "{error}");
    // The keys cannot be fetched: the token may be valid, so not a 401.
    let refused = default.verify(&token(&key)).await.unwrap_err();
    assert_eq!(refused.status(), 503, "{refused}");
}

#[tokio::test]
async fn plain_http_jwks_off_loopback_is_refused_at_build() {
    let error = JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .jwks_url("http://auth.example.com/jwks.json")
        .build()
        .unwrap_err();
    assert!(error.message().contains("plain http"), "{error}");
    let allowed = JwtAuthenticator::builder(RESOURCE)
        .issuer(ISSUER)
        .jwks_url("http://auth.example.com/jwks.json")
        .allow_insecure_http();
    assert!(allowed.build().is_ok());
}

/// A `jwks_uri` discovered in the authorization server metadata obeys the same rule, checked
/// when the metadata is read.
#[tokio::test]
async fn a_discovered_plain_http_jwks_uri_off_loopback_is_refused() {
    let metadata = |allow: bool| {
        let builder = JwtAuthenticator::builder(RESOURCE)
            .issuer(ISSUER)
            .jwks_from_metadata(format!("{ISSUER}/.well-known/oauth-authorization-server"))
            .fetcher(|url: http::Uri, _: usize| async move {
                let body = match url.path() {
                    "/.well-known/oauth-authorization-server" => {
                        json!({"issuer": ISSUER, "jwks_uri": "http://auth.example.com/jwks"})
                    }
                    _ => json!({"keys": []}),
                };
                Ok::<_, mcp_auth::FetchError>(Bytes::from(body.to_string()))
            });
        if allow {
            builder.allow_insecure_http().build().unwrap()
        } else {
            builder.build().unwrap()
        }
    };
    let error = metadata(false).refresh().await.unwrap_err().to_string();
    assert!(error.contains("plain http"), "{error}");
    // Allowed, the JWKS is fetched from there.
    metadata(true).refresh().await.unwrap();
}
