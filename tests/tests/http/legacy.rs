//! Legacy sessions, statuses, batches, streams and server-to-client requests.

use std::time::Duration;

use http::Method;
use mcp_e2e::{next_text, read_until};
use mcp_tower::{McpServer, SessionConfig};
use serde_json::{Value, json};

use super::{call_add, start};

/// Opens the GET stream of `session`.
async fn get_stream(
    client: &mcp_e2e::TestClient,
    session: &str,
) -> http::Response<hyper::body::Incoming> {
    client
        .send_streaming(
            Method::GET,
            "",
            &[("mcp-session-id", session), ("accept", "text/event-stream")],
        )
        .await
}

#[tokio::test]
async fn legacy_session_round_trip() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    assert!(session.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let reply = client
        .post(
            &call_add(1),
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-11-25"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"5"}]}})
    );
    // Any supported version is accepted mid-session, as the reference SDKs accept it (the
    // session keeps its own: see versions.rs).
    let reply = client
        .post(
            &call_add(2),
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-03-26"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    // DELETE ends the session; then it is unknown.
    let deleted = client
        .send(Method::DELETE, "", &[("mcp-session-id", &session)])
        .await;
    assert_eq!(deleted.status, 200);
    let gone = client
        .post(&call_add(3), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(gone.status, 404);
}

/// `initialize` in a live session would open a second session next to it: refused, and the
/// first session goes on.
#[tokio::test]
async fn initialize_in_a_live_session_is_refused() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let again = json!({"jsonrpc":"2.0","id":7,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},
        "clientInfo":{"name":"e2e","version":"1"}}});
    let reply = client.post(&again, &[("mcp-session-id", &session)]).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.header("mcp-session-id"), None);
    let body = reply.json();
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["code"], -32600);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already initialized"),
        "{body}"
    );
    let reply = client
        .post(&call_add(1), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.status, 200);
    // Without the header, a new session starts.
    assert_ne!(client.initialize("2025-11-25").await, session);
}

#[tokio::test]
async fn status_table() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let with_session = [("mcp-session-id", session.as_str())];
    // (name, method, body, extra headers, expected status, expected JSON-RPC code)
    type Case<'a> = (
        &'a str,
        Method,
        String,
        Vec<(&'a str, &'a str)>,
        u16,
        Option<i64>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong accept",
            Method::POST,
            call_add(1).to_string(),
            vec![("accept", "application/json")],
            406,
            Some(-32600),
        ),
        (
            "wrong content type",
            Method::POST,
            call_add(1).to_string(),
            vec![("content-type", "text/plain")],
            415,
            Some(-32600),
        ),
        (
            "not json",
            Method::POST,
            "{nope".into(),
            with_session.to_vec(),
            400,
            Some(-32700),
        ),
        (
            "no session",
            Method::POST,
            call_add(1).to_string(),
            vec![],
            400,
            Some(-32600),
        ),
        (
            "unknown session",
            Method::POST,
            call_add(1).to_string(),
            vec![("mcp-session-id", "nope")],
            404,
            Some(-32001),
        ),
        (
            "unsupported version",
            Method::POST,
            call_add(1).to_string(),
            vec![
                ("mcp-session-id", session.as_str()),
                ("mcp-protocol-version", "1999-01-01"),
            ],
            400,
            Some(-32022),
        ),
        (
            "batch outside 2025-03-26",
            Method::POST,
            format!("[{}]", call_add(1)),
            vec![
                ("mcp-session-id", session.as_str()),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            400,
            Some(-32600),
        ),
        (
            "PUT",
            Method::PUT,
            String::new(),
            with_session.to_vec(),
            405,
            Some(-32600),
        ),
        (
            "GET without SSE accept",
            Method::GET,
            String::new(),
            vec![
                ("mcp-session-id", session.as_str()),
                ("accept", "application/json"),
            ],
            406,
            Some(-32600),
        ),
        (
            "foreign host",
            Method::POST,
            call_add(1).to_string(),
            vec![("host", "evil.example.com")],
            403,
            Some(-32000),
        ),
        (
            "foreign origin",
            Method::POST,
            call_add(1).to_string(),
            vec![("origin", "http://evil.example.com")],
            403,
            Some(-32000),
        ),
        (
            "DELETE without session",
            Method::DELETE,
            String::new(),
            vec![],
            400,
            Some(-32600),
        ),
    ];
    for (name, method, body, headers, status, code) in cases {
        let reply = client.send(method, body, &headers).await;
        assert_eq!(reply.status.as_u16(), status, "{name}: {:?}", reply.body);
        if let Some(code) = code {
            assert_eq!(reply.json()["error"]["code"], code, "{name}");
        }
    }
}

#[tokio::test]
async fn batch_under_2025_03_26() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-03-26").await;
    let batch =
        json!([call_add(1), {"jsonrpc":"2.0","method":"notifications/initialized"}, call_add(2)]);
    let reply = client
        .post(
            &batch,
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-03-26"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let items = reply.json();
    assert_eq!(items.as_array().map(Vec::len), Some(2));
    assert_eq!(items[0]["id"], 1);
    assert_eq!(items[1]["id"], 2);
}

#[tokio::test]
async fn progress_switches_to_sse() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow_progress","arguments":{},"_meta":{"progressToken":"p1"}}});
    let reply = client.post(&call, &[("mcp-session-id", &session)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let text = String::from_utf8_lossy(&reply.body).to_string();
    assert!(text.starts_with("id: "), "priming event first: {text}");
    assert!(text.contains("retry: "), "{text}");
    let messages = reply.sse_messages();
    let progress: Vec<_> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3);
    assert_eq!(progress[0]["params"]["progressToken"], "p1");
    let last = messages.last().expect("response");
    assert_eq!(last["id"], 7);
    assert_eq!(last["result"]["content"][0]["text"], "done");
}

#[tokio::test]
async fn server_to_client_request_round_trip() {
    let (_server, client, _) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"roots","arguments":{}}});
    let response = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&call).unwrap(),
            &[("mcp-session-id", &session)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut seen = String::new();
    use http_body_util::BodyExt;
    // Read until the roots/list request appears, answer it, then read the result.
    let mut answered = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("frame in time")
    {
        let frame = frame.expect("frame");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
        if !answered && let Some(line) = seen.lines().find(|l| l.contains("roots/list")) {
            {
                let request: Value =
                    serde_json::from_str(line.trim_start_matches("data: ")).unwrap();
                let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"roots":[{"uri":"file:///a"}]}});
                let ack = client.post(&answer, &[("mcp-session-id", &session)]).await;
                assert_eq!(ack.status, 202);
                answered = true;
            }
        }
    }
    assert!(answered, "{seen}");
    assert!(seen.contains("1 roots"), "{seen}");
}

#[tokio::test]
async fn get_stream_receives_list_changed() {
    let (_server, client, router) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let response = get_stream(&client, &session).await;
    assert_eq!(response.status(), 200);
    let mut first = response.into_body();
    // A second GET stream for the same session takes the session's stream over, as a
    // client whose first connection died unnoticed needs: the first stream ends.
    let second = get_stream(&client, &session).await;
    assert_eq!(second.status(), 200);
    let priming = next_text(&mut first, Duration::from_secs(5)).await;
    assert!(priming.is_some_and(|event| event.contains("retry: ")));
    assert_eq!(next_text(&mut first, Duration::from_secs(5)).await, None);
    router.remove_tool("roots");
    let seen = read_until(&mut second.into_body(), "list_changed").await;
    assert!(seen.contains("notifications/tools/list_changed"));
}

#[tokio::test]
async fn session_cap_and_expiry() {
    let (_server, client, _) = start(|r| {
        McpServer::builder(r).sessions(
            SessionConfig::default()
                .max_sessions(2)
                .idle_ttl(Duration::from_millis(200)),
        )
    })
    .await;
    let first = client.initialize("2025-11-25").await;
    client.initialize("2025-11-25").await;
    let refused = client
        .post(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}), &[])
        .await;
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.json()["id"],
        0,
        "the refusal answers the initialize request"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let expired = client
        .post(&call_add(1), &[("mcp-session-id", &first)])
        .await;
    assert_eq!(expired.status, 404);
    // Expired sessions free their slots.
    client.initialize("2025-11-25").await;
}

/// A session's idle time runs from when its GET stream ends, not from its last request: a
/// client that only listens, and whose stream outlived the TTL, can reconnect after a drop.
#[tokio::test]
async fn a_session_idles_from_the_end_of_its_stream() {
    let ttl = Duration::from_millis(400);
    let (_server, client, _) =
        start(|r| McpServer::builder(r).sessions(SessionConfig::default().idle_ttl(ttl))).await;
    let session = client.initialize("2025-11-25").await;
    let stream = get_stream(&client, &session).await;
    assert_eq!(stream.status(), 200);
    // Open for twice the TTL: the session is busy, not idle.
    tokio::time::sleep(ttl * 2).await;
    drop(stream);
    // Less than the TTL after the stream ended, but several reaper sweeps (TTL / 4).
    tokio::time::sleep(ttl / 2).await;
    let reply = client
        .post(&call_add(1), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.status, 200, "reaped right after its stream ended");
    // Idle for longer than the TTL: gone.
    tokio::time::sleep(ttl * 3).await;
    let reply = client
        .post(&call_add(1), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn stateless_legacy_needs_no_session() {
    let (_server, client, _) = start(|r| McpServer::builder(r).stateless()).await;
    let reply = client
        .post(&call_add(1), &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["result"]["content"][0]["text"], "5");
}

#[tokio::test]
async fn server_logs_reach_the_get_stream_at_the_session_level() {
    let (_server, client, router) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let set_level =
        json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"warning"}});
    let reply = client
        .post(&set_level, &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.json()["result"], json!({}));
    let response = get_stream(&client, &session).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.log(mcp_core::protocol::LoggingLevel::Info, None, "too quiet");
    router.log(
        mcp_core::protocol::LoggingLevel::Error,
        Some("db"),
        "disk full",
    );
    let seen = read_until(&mut response.into_body(), "disk full").await;
    assert!(
        !seen.contains("too quiet"),
        "below the session's level: {seen}"
    );
    assert!(seen.contains(r#""level":"error","logger":"db""#), "{seen}");
}

/// What a client that reconnects its GET stream with `Last-Event-ID` (as the TypeScript SDK
/// does whenever the stream ends) sees: what it missed, then the stream, live again.
#[tokio::test]
async fn a_resumed_get_stream_catches_up_and_stays_live() {
    let (_server, client, router) = start(McpServer::builder).await;
    let session = client.initialize("2025-11-25").await;
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("accept", "text/event-stream"),
    ];
    let response = client.send_streaming(Method::GET, "", &headers).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let seen = read_until(&mut body, "retry: ").await;
    let last = mcp_e2e::last_event_id(&seen);
    drop(body);
    tokio::time::sleep(Duration::from_millis(100)).await;
    router.remove_tool("roots");

    let mut resume = headers.to_vec();
    resume.push(("last-event-id", &last));
    let response = client.send_streaming(Method::GET, "", &resume).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let missed = read_until(&mut body, "tools/list_changed").await;
    assert_eq!(mcp_e2e::sse_events(&missed).len(), 1, "{missed}");
    router.log(mcp_core::protocol::LoggingLevel::Error, None, "live again");
    read_until(&mut body, "live again").await;
}

/// Without the GET stream, or without events fed to it, nothing carries list changes or
/// resource updates to a session: the server does not advertise them and refuses
/// `resources/subscribe`, rather than let the client wait for updates that cannot come.
#[tokio::test]
async fn without_a_fed_get_stream_no_updates_are_offered() {
    use mcp_tower::{SessionLayer, StreamableHttpConfig, StreamableHttpLayer};
    use tower::Layer;

    let no_get = |router| {
        McpServer::builder(router).http_config(StreamableHttpConfig::default().get_stream(false))
    };
    // A written-out stack whose sessions were given no router events.
    let unfed = async || {
        let router = super::router();
        let bridge = StreamableHttpLayer::new(StreamableHttpConfig::default());
        let service = SessionLayer::default().layer(bridge.layer(router.clone()));
        let server = mcp_e2e::TestServer::start(tower::util::BoxCloneSyncService::new(service));
        let server = server.await;
        let client = mcp_e2e::TestClient::new(&server);
        (server, client, router)
    };
    for (name, delivers) in [("no GET", false), ("unfed", false), ("default", true)] {
        let (_server, client, router) = match name {
            "no GET" => start(no_get).await,
            "unfed" => unfed().await,
            _ => start(McpServer::builder).await,
        };
        router.add_resource(
            mcp_core::Resource::new("test://r", "r")
                .handler(|uri: String, _: mcp_core::RequestContext| async move { uri }),
        );
        let init = client
            .post(
                &json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "e2e", "version": "1.0.0"}}}),
                &[],
            )
            .await;
        let capabilities = &init.json()["result"]["capabilities"];
        assert_eq!(
            capabilities["tools"]["listChanged"], delivers,
            "{capabilities}"
        );
        assert_eq!(
            capabilities["resources"]["listChanged"], delivers,
            "{capabilities}"
        );
        assert_eq!(
            capabilities["resources"]["subscribe"],
            if delivers { json!(true) } else { Value::Null },
            "{capabilities}"
        );
        let session = init.header("mcp-session-id").expect("a session").to_owned();
        let headers = mcp_e2e::session_headers(&session, "2025-11-25");
        let subscribe = json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe",
            "params":{"uri":"test://r"}});
        let answer = client.post(&subscribe, &headers).await.json();
        if delivers {
            assert_eq!(answer["result"], json!({}), "{answer}");
        } else {
            assert_eq!(answer["error"]["code"], -32601, "{answer}");
        }
    }
}

/// A 405's `Allow` lists the methods this endpoint serves (RFC 9110 §15.5.6): DELETE only
/// with sessions, GET only where it opens a session stream.
#[tokio::test]
async fn method_not_allowed_lists_what_the_endpoint_serves() {
    let no_get = |router| {
        McpServer::builder(router)
            .http_config(mcp_tower::StreamableHttpConfig::default().get_stream(false))
    };
    let stateless = |router| McpServer::builder(router).stateless();
    for (name, server, allow) in [
        (
            "sessions",
            start(McpServer::builder).await,
            "GET, POST, DELETE",
        ),
        ("sessions without GET", start(no_get).await, "POST, DELETE"),
        ("stateless", start(stateless).await, "POST"),
    ] {
        let (_server, client, _) = server;
        for method in [Method::PUT, Method::PATCH] {
            let reply = client.send(method, "", &[]).await;
            assert_eq!(reply.status, 405, "{name}");
            assert_eq!(reply.header("allow"), Some(allow), "{name}");
        }
    }
    // Stateless, DELETE and GET are not served either; both say so the same way.
    let (_server, client, _) = start(stateless).await;
    for method in [Method::DELETE, Method::GET] {
        let reply = client
            .send(method, "", &[("accept", "text/event-stream")])
            .await;
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some("POST"));
    }
}

/// A client's response that is refused is not answered under its id: that id is the
/// server's own (of its request to the client), and an error carrying it would read as the
/// answer to the client's request of the same id.
#[tokio::test]
async fn a_refused_client_response_is_answered_without_its_id() {
    let (_server, client, _) = start(McpServer::builder).await;
    let response = json!({"jsonrpc":"2.0","id":1,"result":{}});
    // No session header.
    let reply = client
        .post(&response, &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.json().get("id").is_none(), "{:?}", reply.body);
    // A version nobody speaks.
    let session = client.initialize("2025-11-25").await;
    let reply = client
        .post(
            &response,
            &[
                ("mcp-session-id", session.as_str()),
                ("mcp-protocol-version", "1900-01-01"),
            ],
        )
        .await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.json().get("id").is_none(), "{:?}", reply.body);
    // A request refused the same way keeps its id.
    let reply = client
        .post(&call_add(9), &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["id"], 9);
}

/// Two `Mcp-Session-Id` headers name no one session: refused, as repeated routing headers
/// are, rather than served with the first. A 2026-07-28 request ignores the header, twice too.
#[tokio::test]
async fn a_repeated_session_id_is_refused() {
    let (_server, client, _) = start(McpServer::builder).await;
    let (first, second) = (
        client.initialize("2025-11-25").await,
        client.initialize("2025-11-25").await,
    );
    let headers = [
        ("mcp-session-id", first.as_str()),
        ("mcp-session-id", second.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let reply = client.post(&call_add(1), &headers).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("repeated"),
        "{:?}",
        reply.body
    );
    let modern = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":{}}}});
    let reply = client
        .post(
            &modern,
            &[
                ("mcp-session-id", first.as_str()),
                ("mcp-session-id", second.as_str()),
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Only a request named `initialize` opens a session: a notification of that name, sent
/// without a session, is refused like any other session-less message.
#[tokio::test]
async fn an_initialize_notification_opens_nothing() {
    let (_server, client, _) = start(McpServer::builder).await;
    let notification = json!({"jsonrpc":"2.0","method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let reply = client
        .post(&notification, &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.headers.get("mcp-session-id").is_none());
}
