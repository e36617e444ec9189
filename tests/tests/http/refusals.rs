//! Every refusal made at the HTTP tier (auth, rate limit, Host/Origin, body, headers,
//! sessions) carries a JSON-RPC error response that MCP's schema accepts.

use std::time::Duration;

use http::{Method, StatusCode};
use mcp_auth::rate_limit::{Quota, RateLimitLayer};
use mcp_auth::{AuthLayer, Rejection, WwwAuthenticate};
use mcp_core::Principal;
use mcp_e2e::{Reply, TestClient, TestServer};
use mcp_tower::{McpServer, StreamableHttpConfig};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use super::{call_add, router};

/// The quickstart-like endpoint behind a stand-in authenticator (the principal is whoever
/// `x-user` names; `suspended` is refused with 403, `malformed` with 400, no header with
/// 401) and a rate limit of one request per minute per principal.
async fn guarded_server() -> (TestServer, TestClient) {
    let served = McpServer::builder(router())
        .http_config(StreamableHttpConfig::default().max_body_bytes(1024))
        .into_http_service();
    let authenticate = |parts: &http::request::Parts| {
        let user = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async move {
            match user.as_deref() {
                None => Err(Rejection::unauthorized(WwwAuthenticate::bearer())),
                Some("suspended") => Err(Rejection::forbidden("this account is suspended")),
                Some("malformed") => Err(Rejection::bad_request(
                    WwwAuthenticate::bearer().error("invalid_request"),
                )),
                Some(user) => Ok(Principal::new(user)),
            }
        }
    };
    let http = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticate))
        .layer(RateLimitLayer::new(Quota::per_minute(1)))
        .service(served);
    let server = TestServer::start(BoxCloneSyncService::new(http)).await;
    let client = TestClient::new(&server);
    (server, client)
}

/// One refusal: what is sent (each case as a principal of its own unless it names one, so
/// the rate limit only refuses where it is meant to) and the status expected.
struct Case {
    name: &'static str,
    method: Method,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
    /// The request's id, answered when the refusal comes after the body was read; refusals
    /// made before (or of a body without a readable id) have no `id` member.
    id: Option<Value>,
}

fn case(name: &'static str, status: u16, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        method: Method::POST,
        body: body.into(),
        headers: vec![("x-user", name.to_owned())],
        status: StatusCode::from_u16(status).expect("status"),
        id: None,
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_owned()));
        self
    }

    fn without(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn answers_id(mut self, id: Value) -> Self {
        self.id = Some(id);
        self
    }

    fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    async fn send(&self, client: &TestClient) -> Reply {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        client
            .send(self.method.clone(), self.body.clone(), &headers)
            .await
    }
}

fn json_body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

#[tokio::test]
async fn every_http_tier_refusal_is_a_schema_valid_error_response() {
    let (_server, client) = guarded_server().await;
    let add = json_body(&call_add(7));
    let modern_list = json_body(
        &json!({"jsonrpc":"2.0","id":"m-1","method":"tools/list","params":{
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }}}),
    );
    // `limited` spends its one request of the minute (refused too: it has no session).
    let first = case("limited", 400, add.clone()).send(&client).await;
    assert_eq!(first.status, 400, "{:?}", first.body);

    let cases = [
        case("no credentials", 401, add.clone()).without("x-user"),
        case("suspended", 403, add.clone()).header("x-user", "suspended"),
        case("malformed", 400, add.clone()).header("x-user", "malformed"),
        case("over the rate limit", 429, add.clone()).header("x-user", "limited"),
        case("foreign origin", 403, add.clone()).header("origin", "https://evil.example"),
        case("body over the limit", 413, vec![b' '; 4096]),
        case("not JSON", 400, "{nope"),
        case("wrong content type", 415, add.clone()).header("content-type", "text/plain"),
        case("accepts no JSON", 406, add.clone()).header("accept", "text/html"),
        case("legacy call without a session", 400, add.clone()).answers_id(json!(7)),
        case("unknown session", 404, add.clone()).header("mcp-session-id", "nope"),
        case("unsupported version", 400, add.clone())
            .header("mcp-protocol-version", "1999-01-01")
            .answers_id(json!(7)),
        case("GET without a session", 400, Vec::new())
            .method(Method::GET)
            .header("accept", "text/event-stream"),
        case("mismatched Mcp-Method", 400, modern_list)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .answers_id(json!("m-1")),
    ];
    let schemas = ["2025-11-25", "2026-07-28"].map(mcp_e2e::schema::SchemaSet::load);
    for case in &cases {
        let reply = tokio::time::timeout(Duration::from_secs(10), case.send(&client))
            .await
            .unwrap_or_else(|_| panic!("{}: no answer", case.name));
        assert_eq!(reply.status, case.status, "{}: {:?}", case.name, reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{}",
            case.name
        );
        // The schema has no `"id": null`: an id-less refusal leaves the member out.
        let body = reply.json();
        assert_eq!(body.get("id"), case.id.as_ref(), "{}: {body}", case.name);
        for schema in &schemas {
            if let Err(errors) = schema.validate("JSONRPCErrorResponse", &body) {
                panic!(
                    "{} under {}: {errors:?} in {body}",
                    case.name,
                    schema.version()
                );
            }
        }
    }
}

/// The stand-in authenticator and the rate limit pass what they should: the refusals above
/// are theirs, not a stack that refuses everything.
#[tokio::test]
async fn the_guarded_endpoint_serves_a_known_principal() {
    let (_server, client) = guarded_server().await;
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
    let reply = client.post(&initialize, &[("x-user", "alice")]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["result"]["serverInfo"]["name"], "e2e");
}
