//! A browser page of an allowed origin (`--browser-origin`): it preflights the metadata
//! document and the endpoint without a token, reads the 401's challenge, then calls tools.

use http::Method;
use serde_json::json;

use crate::common::*;

const APP: &str = "https://app.example.com";

fn allows(reply: &Reply, origin: &str) -> bool {
    reply.header("access-control-allow-origin") == Some(origin)
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_discovers_authenticates_and_calls() {
    let key = ec_key("k");
    let s = Setup::with(
        &[&key],
        |b| b,
        |mut o| {
            o.browser_origins = vec![APP.to_owned()];
            o
        },
    )
    .await;
    let metadata_path = s
        .server
        .metadata_url
        .strip_prefix(&s.server.base)
        .expect("the document is served here")
        .to_owned();
    let preflight = [
        ("origin", APP),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization, content-type",
        ),
    ];
    for path in ["/mcp", metadata_path.as_str()] {
        let answer = s.server.send(Method::OPTIONS, path, &preflight).await;
        assert_eq!(answer.status, 200, "{path}");
        assert!(allows(&answer, APP), "{path}: {:?}", answer.headers);
    }

    // Without a token: a 401 whose challenge the page may read, pointing at the document.
    let challenged = s.server.try_initialize(&[("origin", APP)]).await;
    assert_eq!(challenged.status, 401);
    assert!(allows(&challenged, APP));
    let exposed = challenged.header("access-control-expose-headers").unwrap();
    assert!(
        exposed.split(',').any(|h| h.trim() == "www-authenticate"),
        "{exposed}"
    );
    assert_eq!(
        challenged.header("www-authenticate"),
        Some(s.challenge().as_str())
    );
    let document = s
        .server
        .send(Method::GET, &metadata_path, &[("origin", APP)])
        .await;
    assert_eq!(document.status, 200);
    assert!(allows(&document, APP));
    assert_eq!(document.json()["resource"], s.server.resource);

    // With one: the page's calls are answered and readable.
    let token = bearer(&mint(&key, &s.claims()));
    let headers = [("origin", APP), ("authorization", token.as_str())];
    let whoami = json!({"name": "whoami", "arguments": {}});
    let called = s.server.modern(&headers, "tools/call", whoami).await;
    assert_eq!(called.status, 200, "{}", called.body);
    assert!(allows(&called, APP));

    // Another site's page: no grant, and its requests meet the Host/Origin check.
    let evil = "https://evil.example";
    let foreign = [("origin", evil), ("access-control-request-method", "POST")];
    let refused = s.server.send(Method::OPTIONS, "/mcp", &foreign).await;
    assert!(!allows(&refused, evil));
    let forbidden = s
        .server
        .try_initialize(&[("origin", evil), ("authorization", token.as_str())])
        .await;
    assert_eq!(forbidden.status, 403);
}

#[test]
fn browser_origins_come_from_the_command_line() {
    let args = auth_server::Args::parse(
        [
            "--jwks-url",
            "http://127.0.0.1:4000/jwks.json",
            "--issuer",
            "http://127.0.0.1:4000",
            "--audience",
            "http://127.0.0.1:3000/mcp",
            "--browser-origin",
            APP,
            "--browser-origin",
            "http://localhost:6274",
        ]
        .map(String::from),
    )
    .unwrap();
    assert_eq!(args.browser_origins, [APP, "http://localhost:6274"]);
    assert_eq!(
        args.options().unwrap().browser_origins,
        args.browser_origins
    );
}
