//! Rate limits in the auth-server stack: 429 + `Retry-After` at the HTTP tier, a JSON-RPC
//! error at the RPC tier (batch items counted one by one).

use mcp_auth::rate_limit::{Quota, RateLimitLayer, RpcRateLimitLayer};
use serde_json::json;

use crate::common::*;

/// A second accepted authorization server, signing with the same key.
const OTHER_ISSUER: &str = "https://other-tenant.example";

#[tokio::test]
async fn http_burst_over_the_limit_gets_429() {
    let key = ec_key("k");
    // 3 per minute: a token comes back every 20 s, so nothing refills during the test.
    let s = Setup::with(
        &[&key],
        |b| b.issuer(OTHER_ISSUER),
        |mut o| {
            o.rate_limit = Some(RateLimitLayer::new(Quota::per_minute(3)));
            o
        },
    )
    .await;
    let alice = bearer(&mint(&key, &s.claims()));
    let alice = [("authorization", alice.as_str())];
    let whoami = json!({"name": "whoami", "arguments": {}});
    let burst = futures_util::future::join_all(
        (0..6).map(|_| s.server.modern(&alice, "tools/call", whoami.clone())),
    )
    .await;
    let (ok, limited): (Vec<_>, Vec<_>) = burst.iter().partition(|r| r.status == 200);
    assert_eq!((ok.len(), limited.len()), (3, 3));
    for reply in limited {
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("www-authenticate"), None);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=20).contains(&retry_after), "{retry_after}");
        let body = reply.json();
        let wait = body["error"]["data"]["retryAfterMs"].as_u64().unwrap();
        // Retry-After is the same wait, rounded up to whole seconds.
        assert_eq!(retry_after, wait.div_ceil(1000));
        assert_eq!(
            body,
            json!({"jsonrpc": "2.0", "error": {
                "code": -32000, "message": "Rate limit exceeded",
                "data": {"retryAfterMs": wait}}})
        );
    }
    // Another principal has a bucket of its own.
    let bob = bearer(&mint(&key, &s.claims_with(json!({"sub": "bob"}))));
    let reply = s
        .server
        .modern(&[("authorization", &bob)], "tools/call", whoami.clone())
        .await;
    assert_eq!(reply.status, 200);
    // So does the same `sub` from another accepted issuer: another principal.
    let other_alice = bearer(&mint(&key, &s.claims_with(json!({"iss": OTHER_ISSUER}))));
    let reply = s
        .server
        .modern(&[("authorization", &other_alice)], "tools/call", whoami)
        .await;
    assert_eq!(reply.status, 200);
    // Requests without a valid token are refused by auth before they cost anything.
    assert_eq!(s.server.try_initialize(&[]).await.status, 401);
}

#[tokio::test]
async fn rpc_limit_answers_json_rpc_errors_per_batch_item() {
    let key = ec_key("k");
    let s = with_rpc_limit(&key, 4).await;
    let alice = bearer(&mint(&key, &s.claims()));
    let alice = [("authorization", alice.as_str())];
    // `initialize` costs one token, `notifications/initialized` none.
    let session = s.server.initialize_as("2025-03-26", &alice).await;
    let batch = json!([
        call(1, "echo", json!({"message": "a"})),
        call(2, "echo", json!({"message": "b"})),
        call(3, "echo", json!({"message": "c"})),
        call(4, "echo", json!({"message": "d"})),
    ]);
    let mut headers = alice.to_vec();
    headers.extend([
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-03-26"),
    ]);
    let reply = s.server.post(&batch, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answers = reply.json();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    // Three tokens were left: three items pass, one is refused on its own.
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    let error = &refused[0]["error"];
    assert_eq!(
        (error["code"].as_i64(), error["message"].as_str()),
        (Some(-32000), Some("Rate limit exceeded"))
    );
    let wait = error["data"]["retryAfterMs"].as_u64().unwrap();
    assert!((1..=15_000).contains(&wait), "{wait}");

    // A single request gets the same JSON-RPC error; the bridge also says 429 with the
    // wait rounded up to whole seconds.
    let mut headers = alice.to_vec();
    headers.extend([
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", LEGACY),
    ]);
    let reply = s.server.post(&call(9, "whoami", json!({})), &headers).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["id"], 9);
    assert_eq!(reply.json()["error"]["code"], -32000);
    let wait_ms = reply.json()["error"]["data"]["retryAfterMs"]
        .as_u64()
        .unwrap();
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, wait_ms.div_ceil(1000).max(1));
}

/// The RPC limit sits above the allow-list and scope layers: the calls they refuse are
/// charged like any other, so that refusals cannot be drawn at any rate.
#[tokio::test]
async fn calls_refused_for_scope_are_charged() {
    let key = ec_key("k");
    let s = with_rpc_limit(&key, 2).await;
    let alice = bearer(&mint(&key, &s.claims()));
    let alice = [("authorization", alice.as_str())];
    let admin = json!({"name": "admin_echo", "arguments": {"message": "x"}});
    for _ in 0..2 {
        let refused = s.server.modern(&alice, "tools/call", admin.clone()).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    let echo = json!({"name": "echo", "arguments": {"message": "x"}});
    let limited = s.server.modern(&alice, "tools/call", echo).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
}

/// A server trusting `key`, with an RPC-tier limit of `per_minute` calls per principal.
async fn with_rpc_limit(key: &TestKey, per_minute: u32) -> Setup {
    Setup::with(
        &[key],
        |b| b,
        |mut o| {
            o.rpc_rate_limit = Some(RpcRateLimitLayer::new(Quota::per_minute(per_minute)));
            o
        },
    )
    .await
}
