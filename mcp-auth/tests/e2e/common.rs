//! Test fixtures: keys, tokens and the JWKS server come from `auth-fixtures`; here, the
//! protected server over a real loopback socket and a hyper client.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_auth::{
    AuthLayer, Authenticate, MetadataLayer, MetadataService, ProtectedResourceMetadata,
};
use mcp_core::Principal;
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};

pub use auth_fixtures::*;

/// The protected server: metadata beside, `auth` in front of a handler answering 200 with the
/// principal's subject. The same stack whatever the authenticator.
pub fn stack<A: Authenticate>(
    auth: A,
    metadata: MetadataService,
) -> impl Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    ServiceBuilder::new()
        .layer(MetadataLayer::new(metadata))
        .layer(AuthLayer::new(auth))
        .service_fn(|request: Request<Incoming>| async move {
            let subject = request
                .extensions()
                .get::<Principal>()
                .map(|p| p.subject().to_owned())
                .unwrap_or_else(|| "no principal".to_owned());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(subject))))
        })
}

/// A bound, not yet serving, protected server: its resource URI is known before the
/// authenticator is built.
pub struct Server {
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl Server {
    pub async fn bind() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Server { listener, addr }
    }

    pub fn resource(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn metadata_url(&self) -> String {
        format!(
            "http://{}/.well-known/oauth-protected-resource/mcp",
            self.addr
        )
    }

    pub fn metadata(&self, issuer: &str) -> MetadataService {
        MetadataService::new(
            ProtectedResourceMetadata::new(self.resource())
                .authorization_server(issuer)
                .scopes_supported(["mcp"]),
        )
        .unwrap()
    }

    /// Serves `auth` in [`stack`]; returns the base URL.
    pub fn start<A: Authenticate>(self, auth: A, issuer: &str) -> String {
        let metadata = self.metadata(issuer);
        serve(self.listener, stack(auth, metadata));
        format!("http://{}", self.addr)
    }
}

/// Status, `WWW-Authenticate` and body of an answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub body: String,
}

pub fn client() -> Client<HttpConnector, Empty<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// GETs `url` with these headers.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    get_with(&client(), url, headers).await
}

pub async fn get_with(
    client: &Client<HttpConnector, Empty<Bytes>>,
    url: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    if status != 200 && status != 204 {
        assert_eq!(response.headers()["content-type"], "application/json");
    }
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        challenge,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// GETs `url` with `Authorization: Bearer <token>`.
pub async fn get_bearer(url: &str, token: &str) -> Answer {
    get(url, &[("authorization", &format!("Bearer {token}"))]).await
}

/// The JSON-RPC error body of a rejection.
pub fn error_body(code: i32, message: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","error":{{"code":{code},"message":"{message}"}}}}"#)
}

pub fn ok(subject: &str) -> Answer {
    Answer {
        status: 200,
        challenge: None,
        body: subject.to_owned(),
    }
}
