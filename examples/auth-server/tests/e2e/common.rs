//! Fixtures: keys, tokens and the JWKS server come from `auth-fixtures`; here, the
//! auth-server stack on 127.0.0.1:0 and a hyper client speaking MCP to it.

use std::time::Duration;

use auth_server::{Args, Options, router, stack};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_auth::{Authenticate, JwtAuthenticatorBuilder};
use serde_json::{Value, json};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------------------

pub use auth_fixtures::*;

// ---------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------

/// A bound port and the arguments the binary would get for it.
pub struct Bound {
    listener: TcpListener,
    pub args: Args,
}

impl Bound {
    /// Binds 127.0.0.1:0; the audience is `http://<that>/mcp`, `--required-scope mcp`.
    pub async fn new(jwks: &Jwks) -> Bound {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let args = Args::parse([
            "--addr".to_owned(),
            addr.to_string(),
            "--jwks-url".to_owned(),
            jwks.jwks_url(),
            "--issuer".to_owned(),
            jwks.issuer(),
            "--audience".to_owned(),
            format!("http://{addr}/mcp"),
            "--required-scope".to_owned(),
            "mcp".to_owned(),
        ])
        .unwrap();
        Bound { listener, args }
    }

    /// The JWT authenticator of these arguments, as the binary builds it, then `configure`d.
    pub fn jwt(
        &self,
        configure: impl FnOnce(JwtAuthenticatorBuilder) -> JwtAuthenticatorBuilder,
    ) -> mcp_auth::JwtAuthenticator {
        configure(self.args.jwt()).build().unwrap()
    }

    /// Serves [`auth_server::stack`] with `auth`; the options of the arguments, `configure`d.
    pub fn serve<A: Authenticate>(
        self,
        auth: A,
        configure: impl FnOnce(Options) -> Options,
    ) -> Running {
        let options = configure(self.args.options().unwrap());
        let service = stack(router(), auth, options);
        tokio::spawn(mcp_tower::serve_with_shutdown(
            self.listener,
            service,
            std::future::pending(),
        ));
        Running::at(
            &format!("http://{}/mcp", self.args.addr),
            &self.args.audience,
        )
    }
}

/// A running server and a client for it.
pub struct Running {
    pub base: String,
    pub url: String,
    pub resource: String,
    pub metadata_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Status, the headers that matter here, and the body of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub body: String,
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Status, `WWW-Authenticate` and body.
    pub fn answer(&self) -> Answer {
        Answer {
            status: self.status,
            challenge: self.header("www-authenticate").map(str::to_owned),
            body: self.body.clone(),
        }
    }
}

pub const LEGACY: &str = "2025-11-25";
pub const MODERN: &str = "2026-07-28";

impl Running {
    /// A client for the server at `url` (`http://host:port/mcp`) whose canonical URI is
    /// `resource`.
    pub fn at(url: &str, resource: &str) -> Running {
        let base = url.strip_suffix("/mcp").expect("an /mcp URL").to_owned();
        Running {
            url: url.to_owned(),
            metadata_url: mcp_auth::resource_metadata_url(resource).unwrap(),
            base,
            resource: resource.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// POSTs `body` to `url` with the MCP headers and `headers`.
    pub async fn post_to(&self, url: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), self.client.request(request))
            .await
            .expect("answer within 30 s")
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    pub async fn post(&self, body: &Value, headers: &[(&str, &str)]) -> Reply {
        self.post_to(&self.url, body, headers).await
    }

    /// GETs `path` without credentials.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(http::Method::GET, path, &[]).await
    }

    /// Sends `method` to `path` with `headers` and no body.
    pub async fn send(&self, method: http::Method, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::default()).unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// `initialize` (2025-11-25) with `auth` headers: the reply, refused or not.
    pub async fn try_initialize(&self, auth: &[(&str, &str)]) -> Reply {
        self.post(&initialize(LEGACY), auth).await
    }

    /// `initialize` + `notifications/initialized`; returns the session id.
    pub async fn initialize(&self, auth: &[(&str, &str)]) -> String {
        self.initialize_as(LEGACY, auth).await
    }

    pub async fn initialize_as(&self, version: &str, auth: &[(&str, &str)]) -> String {
        let reply = self.post(&initialize(version), auth).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let session = reply
            .header("mcp-session-id")
            .expect("session id")
            .to_owned();
        let mut headers = auth.to_vec();
        headers.extend([
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", version),
        ]);
        let ack = self
            .post(
                &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
                &headers,
            )
            .await;
        assert_eq!(ack.status, 202, "{}", ack.body);
        session
    }

    /// A legacy request in `session` with `auth` headers.
    pub async fn in_session(&self, session: &str, auth: &[(&str, &str)], message: &Value) -> Reply {
        let mut headers = auth.to_vec();
        headers.extend([
            ("mcp-session-id", session),
            ("mcp-protocol-version", LEGACY),
        ]);
        self.post(message, &headers).await
    }

    /// A 2026-07-28 request: routing headers and `_meta` as the modern era wants them.
    pub async fn modern(&self, auth: &[(&str, &str)], method: &str, params: Value) -> Reply {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        let name = params["name"].as_str().map(str::to_owned);
        let mut headers = auth.to_vec();
        headers.extend([("mcp-protocol-version", MODERN), ("mcp-method", method)]);
        if let Some(name) = &name {
            headers.push(("mcp-name", name));
        }
        let message = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params});
        self.post(&message, &headers).await
    }
}

pub fn initialize(version: &str) -> Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "auth-e2e", "version": "1.0.0"}}})
}

pub fn call(id: i64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
}

pub fn list_tools(id: i64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/list"})
}

/// The JSON of a successful tool call with one text block.
pub fn text_result(id: i64, text: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":text}]}})
}

/// A JSON-RPC error body without an id (HTTP-tier refusals).
pub fn error_body(code: i32, message: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","error":{{"code":{code},"message":"{message}"}}}}"#)
}

/// The names `tools/list` returned.
pub fn tool_names(reply: &Reply) -> Vec<String> {
    let json = reply.json();
    let mut names: Vec<String> = json["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------------------------------
// One server with JWT auth, and the answers to expect from it
// ---------------------------------------------------------------------------------------

pub struct Setup {
    pub jwks: Jwks,
    pub server: Running,
}

impl Setup {
    /// The binary's configuration (with a 1 s minimum JWKS refresh interval).
    pub async fn new(keys: &[&TestKey]) -> Setup {
        Self::with(keys, |b| b, |o| o).await
    }

    pub async fn with(
        keys: &[&TestKey],
        jwt: impl FnOnce(JwtAuthenticatorBuilder) -> JwtAuthenticatorBuilder,
        options: impl FnOnce(Options) -> Options,
    ) -> Setup {
        let jwks = Jwks::start(keys).await;
        let bound = Bound::new(&jwks).await;
        let auth = bound.jwt(|b| jwt(b.min_refresh_interval(Duration::from_secs(1))));
        let server = bound.serve(auth, options);
        Setup { jwks, server }
    }

    /// Valid claims for `alice` with scope `mcp`.
    pub fn claims(&self) -> Value {
        json!({
            "iss": self.jwks.issuer(),
            "aud": self.server.resource,
            "sub": "alice",
            "iat": now(),
            "exp": now() + 300,
            "scope": "mcp",
        })
    }

    /// [`claims`](Self::claims) with `changes` applied (`null` removes a claim).
    pub fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    /// `Bearer resource_metadata="..", scope="mcp"`: the challenge without a token.
    pub fn challenge(&self) -> String {
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp""#,
            self.server.metadata_url
        )
    }

    pub fn invalid_token(&self, description: &str) -> Answer {
        Answer {
            status: 401,
            challenge: Some(format!(
                r#"{}, error="invalid_token", error_description="{description}""#,
                self.challenge()
            )),
            body: error_body(-32001, description),
        }
    }
}
