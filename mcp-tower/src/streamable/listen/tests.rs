//! Listen streams through the whole HTTP stack: caps, credentials, teardown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Method, Request, StatusCode};
use mcp_core::{CancellationToken, Principal, Router};
use tower::{Layer, ServiceExt};

use super::super::Shared;
use super::PrincipalListeners;
use crate::body::{McpBody, next_text as next};
use crate::{McpHttpService, McpServer, StreamableHttpConfig, StreamableHttpLayer};

/// A 2026-07-28 `subscriptions/listen` POST of `body`.
fn listen_request(body: String) -> Request<McpBody> {
    Request::builder()
        .method(Method::POST)
        .uri("http://localhost/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(McpBody::from(body))
        .unwrap()
}

/// Opens a listen stream with request id `id`.
async fn listen(service: &McpHttpService<McpBody>, id: u32) -> McpBody {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
    );
    let request = listen_request(body);
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body()
}

/// The JSON answer to a listen request with `params` that is refused at once.
async fn refused(service: &McpHttpService<McpBody>, params: &str) -> serde_json::Value {
    let body = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen"{params}}}"#);
    let request = listen_request(body);
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    json_of(response).await
}

/// The JSON body of `response`.
async fn json_of(response: http::Response<McpBody>) -> serde_json::Value {
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn listen_params_are_required_and_bounded() {
    let config = StreamableHttpConfig::default()
        .max_listen_resources(2)
        .max_listen_resource_bytes(10);
    let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
        .http_config(config)
        .into_http_service();
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let three = r#"{"resourceSubscriptions":["a://1","a://2","a://3"]}"#;
    let long = r#"{"resourceSubscriptions":["a://1","a://23"]}"#;
    for (case, params) in [
        ("no notifications", format!(r#","params":{{{meta}}}"#)),
        (
            "too many resources",
            format!(r#","params":{{{meta},"notifications":{three}}}"#),
        ),
        (
            "11 bytes of URIs",
            format!(r#","params":{{{meta},"notifications":{long}}}"#),
        ),
    ] {
        let answer = refused(&service, &params).await;
        assert_eq!(answer["id"], 3, "{case}: {answer}");
        assert_eq!(answer["error"]["code"], -32602, "{case}: {answer}");
    }
    // Two of 10 bytes are within the limits: the stream opens (and is acknowledged).
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"subscriptions/listen","params":{{{meta},"notifications":{{"resourceSubscriptions":["a://1","a://2"]}}}}}}"#
    );
    let request = listen_request(body);
    let response = service.clone().oneshot(request).await.unwrap();
    let mut stream = response.into_body();
    assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
}

#[tokio::test]
async fn a_stream_that_falls_behind_is_torn_down() {
    // Room for one undelivered event.
    let mut router = Router::builder().event_capacity(1);
    for name in ["a", "b", "c", "d"] {
        router = router.tool(
            mcp_core::Tool::new(name).raw_handler(|_, _: mcp_core::RequestContext| async { "" }),
        );
    }
    let router = router.build();
    let service: McpHttpService<McpBody> = McpServer::builder(router.clone()).into_http_service();
    let mut stream = listen(&service, 9).await;
    // Three changes before the stream reads any: it misses two.
    for name in ["a", "b", "c"] {
        router.remove_tool(name);
    }
    assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
    let reason = "the subscription fell behind its notifications";
    assert_eq!(next(&mut stream).await.unwrap(), torn_down(9, reason));
    assert_eq!(next(&mut stream).await, None);
}

/// What ends the subscription `id` from the server's side, as SSE events: the
/// cancellation of the listen request, then its closing result.
fn torn_down(id: i64, reason: &str) -> String {
    format!(
        "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":\
         {{\"_meta\":{{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"requestId\":{id},\
         \"reason\":\"{reason}\"}}}}\n\n\
         data: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"_meta\":\
         {{\"io.modelcontextprotocol/subscriptionId\":{id}}},\"resultType\":\"complete\"}}}}\n\n"
    )
}

/// Waits (up to 5 s) until the server counts `open` listen streams and holds counts for
/// `principals` principals.
async fn counted(shared: &Shared, open: usize, principals: usize) {
    for _ in 0..500 {
        let now = (
            shared.listeners.load(Ordering::Relaxed),
            shared.principal_listeners.principals(),
        );
        if now == (open, principals) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("still not {open} streams of {principals} principals");
}

#[tokio::test]
async fn every_end_of_a_stream_gives_its_slots_back() {
    let router = Router::builder().build();
    let shutdown = CancellationToken::new();
    let config = StreamableHttpConfig::default()
        .events_from(&router)
        .max_listeners(2)
        .max_listeners_per_principal(1)
        .shutdown_token(shutdown.clone());
    let layer = StreamableHttpLayer::new(config);
    let shared = Arc::clone(&layer.shared);
    let service = layer.layer(router);
    let listen_as = |user: &str, id: u32| {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
        );
        let mut request = listen_request(body);
        request.extensions_mut().insert(Principal::new(user));
        service.clone().oneshot(request)
    };

    // Refused after counting: the server's slot it took is given back.
    let first = listen_as("alice", 1).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let refused = listen_as("alice", 2).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.extensions().get::<mcp_core::RefusedBy>(),
        Some(&mcp_core::RefusedBy::SessionLimit)
    );
    counted(&shared, 1, 1).await;

    // The client goes away: the principal is forgotten.
    drop(first);
    counted(&shared, 0, 0).await;

    // Shutdown ends both streams, which give their slots back.
    let mut streams = Vec::new();
    for (user, id) in [("alice", 3), ("bob", 4)] {
        let response = listen_as(user, id).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        streams.push(response.into_body());
    }
    counted(&shared, 2, 2).await;
    shutdown.cancel();
    for stream in &mut streams {
        while next(stream).await.is_some() {}
    }
    counted(&shared, 0, 0).await;
}

#[tokio::test]
async fn the_rpc_tier_never_sees_a_listen_request_the_transport_refuses() {
    use std::sync::atomic::AtomicUsize;

    // The inner service stands for the RPC tier: telemetry there must not count as
    // answered a request the transport refuses.
    let router = Router::builder().build();
    let seen = Arc::new(AtomicUsize::new(0));
    let (counted, inner) = (Arc::clone(&seen), router.clone());
    let rpc = tower::service_fn(move |request: mcp_core::McpRequest| {
        if request.method() == Some("subscriptions/listen") {
            counted.fetch_add(1, Ordering::Relaxed);
        }
        inner.clone().oneshot(request)
    });
    let body = |id: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}},"notifications":{{"toolsListChanged":true}}}}}}"#
        )
    };

    // No events to deliver: the method is not served here (-32601, 404).
    let service = StreamableHttpLayer::new(StreamableHttpConfig::default()).layer(rpc.clone());
    let response = service.oneshot(listen_request(body(1))).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let answer = json_of(response).await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    assert_eq!(seen.load(Ordering::Relaxed), 0);

    // Every slot taken: the server's, then the principal's.
    let config = StreamableHttpConfig::default()
        .events_from(&router)
        .max_listeners(2)
        .max_listeners_per_principal(1);
    let service = StreamableHttpLayer::new(config).layer(rpc);
    let listen_as = |user: &str, id: u32| {
        let mut request = listen_request(body(id));
        request.extensions_mut().insert(Principal::new(user));
        service.clone().oneshot(request)
    };
    let alice = listen_as("alice", 1).await.unwrap();
    assert_eq!(alice.status(), StatusCode::OK);
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    let refused = listen_as("alice", 2).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let bob = listen_as("bob", 3).await.unwrap();
    assert_eq!(bob.status(), StatusCode::OK);
    let refused = listen_as("carol", 4).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.load(Ordering::Relaxed), 2);
}

#[test]
fn a_principal_is_forgotten_with_its_last_stream() {
    let held = PrincipalListeners::default();
    assert!(held.take("alice", 2));
    assert!(held.take("alice", 2));
    assert!(!held.take("alice", 2));
    assert!(held.take("bob", 2));
    held.give_back("alice");
    assert!(held.take("alice", 2));
    for _ in 0..2 {
        held.give_back("alice");
    }
    held.give_back("bob");
    assert_eq!(held.principals(), 0);
}

#[tokio::test]
async fn a_stream_ends_when_its_credential_expires() {
    let service: McpHttpService<McpBody> =
        McpServer::builder(Router::builder().build()).into_http_service();
    let body = r#"{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}},"notifications":{"toolsListChanged":true}}}"#;
    let expires_at = std::time::SystemTime::now() + std::time::Duration::from_millis(300);
    let mut request = listen_request(body.to_owned());
    request
        .extensions_mut()
        .insert(Principal::new("alice").with_expiry(expires_at));
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body();
    assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
    let torn = tokio::time::timeout(std::time::Duration::from_secs(5), next(&mut stream))
        .await
        .expect("ended within 5 s");
    assert!(std::time::SystemTime::now() >= expires_at);
    assert_eq!(torn.unwrap(), torn_down(5, "the credential expired"));
    assert_eq!(next(&mut stream).await, None);
}

#[tokio::test]
async fn the_shutdown_token_tears_listen_streams_down() {
    let shutdown = CancellationToken::new();
    let config = StreamableHttpConfig::default().shutdown_token(shutdown.clone());
    let service: McpHttpService<McpBody> = McpServer::builder(Router::builder().build())
        .http_config(config)
        .into_http_service();
    let mut stream = listen(&service, 7).await;
    assert!(next(&mut stream).await.unwrap().contains("acknowledged"));
    shutdown.cancel();
    let reason = "the server is shutting down";
    assert_eq!(next(&mut stream).await.unwrap(), torn_down(7, reason));
    assert_eq!(next(&mut stream).await, None);

    // A stream opened later is acknowledged, then closed at once.
    let mut late = listen(&service, 8).await;
    assert!(next(&mut late).await.unwrap().contains("acknowledged"));
    assert!(
        next(&mut late)
            .await
            .unwrap()
            .contains(r#""id":8,"result""#)
    );
    assert_eq!(next(&mut late).await, None);
}

/// Without events to deliver, `server/discover` offers no list changes or subscriptions:
/// `subscriptions/listen` would refuse them.
#[tokio::test]
async fn discovery_offers_list_changes_only_with_events() {
    let router = Router::builder()
        .tool(
            mcp_core::Tool::new("noop").raw_handler(|_, _: mcp_core::RequestContext| async { "" }),
        )
        .build();
    for (config, delivers) in [
        (StreamableHttpConfig::default(), false),
        (StreamableHttpConfig::default().events_from(&router), true),
    ] {
        let service = StreamableHttpLayer::new(config).layer(router.clone());
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let mut request = listen_request(body.to_owned());
        request.headers_mut().insert(
            "mcp-method",
            http::HeaderValue::from_static("server/discover"),
        );
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer = json_of(response).await;
        let tools = &answer["result"]["capabilities"]["tools"];
        assert_eq!(tools["listChanged"], delivers, "{answer}");
    }
}
