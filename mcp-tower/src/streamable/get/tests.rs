//! The session stream and resumption over GET, through the service without a socket.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use mcp_core::protocol::LoggingLevel;
use tower::ServiceExt;

use super::super::test_support::{event_id, get, initialize, post_in, request, resume};
use crate::body::{McpBody, next_text as next};
use crate::{McpHttpService, McpServer};

/// The default server, a session of it, and that session's GET stream with its priming
/// event read.
async fn session_stream() -> (
    mcp_core::Router,
    McpHttpService<McpBody>,
    String,
    McpBody,
    String,
) {
    let router = mcp_core::Router::builder().build();
    let service: McpHttpService<McpBody> = McpServer::builder(router.clone()).into_http_service();
    let session = initialize(&service).await;
    let (status, mut stream) = get(&service, &[("mcp-session-id", session.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    let priming = next(&mut stream).await.unwrap();
    (router, service, session, stream, priming)
}

/// Checks that `event` is number `n` of stream `stream_id` and, with `data`, that it is a
/// logging message whose `data` is `data`.
#[track_caller]
fn assert_event(event: &str, stream_id: &str, n: u64, data: Option<&str>) {
    let Some(data) = data else {
        assert!(
            event.starts_with(&format!("id: {stream_id}-{n}\n")),
            "{event}"
        );
        return;
    };
    assert!(
        event.starts_with(&format!("id: {stream_id}-{n}\ndata: {{")),
        "{event}"
    );
    assert!(event.contains(&format!(r#""data":"{data}""#)), "{event}");
}

#[tokio::test]
async fn the_session_stream_delivers_resumes_and_reopens() {
    let (router, service, session, mut stream, priming) = session_stream().await;
    let headers = [("mcp-session-id", session.as_str())];
    let id = event_id(&priming);
    let stream_id = id
        .strip_suffix("-0")
        .expect("the priming event is number 0");

    router.log(LoggingLevel::Info, None, "first");
    let first = next(&mut stream).await.unwrap();
    assert_event(&first, stream_id, 1, Some("first"));
    // The client goes away; what happens meanwhile is kept for it.
    drop(stream);
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.log(LoggingLevel::Info, None, "missed");

    // Resuming from the priming event replays both messages, then the stream is the
    // session's stream again: a later message arrives on it, live.
    let last = format!("{stream_id}-0");
    let (status, mut resumed) = resume(&service, &session, &last).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(next(&mut resumed).await.unwrap(), first);
    let missed = next(&mut resumed).await.unwrap();
    assert_event(&missed, stream_id, 2, Some("missed"));
    router.log(LoggingLevel::Info, None, "live");
    let live = next(&mut resumed).await.unwrap();
    assert_event(&live, stream_id, 3, Some("live"));
    // While it is followed, a resumption takes the stream over (its client lost the
    // connection the server still holds): the replaced connection ends, and the new one
    // replays from the cursor, then follows live.
    let (status, mut taken_over) = resume(&service, &session, &last).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(next(&mut resumed).await, None);
    assert_eq!(next(&mut taken_over).await.unwrap(), first);
    assert!(next(&mut taken_over).await.unwrap().contains("-2\n"));
    assert_eq!(next(&mut taken_over).await.unwrap(), live);
    router.log(LoggingLevel::Info, None, "after the takeover");
    let after = next(&mut taken_over).await.unwrap();
    assert_event(&after, stream_id, 4, None);
    let resumed = taken_over;

    // Left again, and resumed from the last message seen: only what came after.
    drop(resumed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.log(LoggingLevel::Info, None, "missed again");
    let last = format!("{stream_id}-4");
    let (status, mut resumed) = resume(&service, &session, &last).await;
    assert_eq!(status, StatusCode::OK);
    let missed = next(&mut resumed).await.unwrap();
    assert_event(&missed, stream_id, 5, None);
    assert!(missed.contains(r#""data":"missed again""#), "{missed}");
    drop(resumed);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // A new stream may be opened, and DELETE ends it.
    let (status, mut again) = get(&service, &headers).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        next(&mut again)
            .await
            .unwrap()
            .ends_with("-0\nretry: 1000\ndata: \n\n")
    );
    let delete = service
        .clone()
        .oneshot(request(Method::DELETE, "", &headers))
        .await;
    assert_eq!(delete.unwrap().status(), StatusCode::OK);
    assert_eq!(next(&mut again).await, None);
}

#[tokio::test]
async fn a_replaced_session_stream_leaves_its_queued_frames_to_the_new_connection() {
    let (router, service, session, mut old, priming) = session_stream().await;
    let priming = event_id(&priming).to_owned();
    // The client stops reading (its connection is dead, say): messages queue up there.
    for message in ["one", "two", "three"] {
        router.log(LoggingLevel::Info, None, message);
    }
    // Notifications reach the session's queue through a task of their own.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, mut new) = resume(&service, &session, &priming).await;
    assert_eq!(status, StatusCode::OK);
    // None of the queued messages goes out on the old connection: they come here.
    assert_eq!(next(&mut old).await, None);
    for message in ["one", "two", "three"] {
        let event = next(&mut new).await.unwrap();
        assert!(event.contains(&format!(r#""data":"{message}""#)), "{event}");
    }
    router.log(LoggingLevel::Info, None, "four");
    assert!(next(&mut new).await.unwrap().contains(r#""data":"four""#));
}

#[tokio::test]
async fn the_shutdown_token_ends_session_streams() {
    let shutdown = mcp_core::CancellationToken::new();
    let config = crate::StreamableHttpConfig::default().shutdown_token(shutdown.clone());
    let router = mcp_core::Router::builder().build();
    let service: McpHttpService<McpBody> = McpServer::builder(router)
        .http_config(config)
        .into_http_service();
    let session = initialize(&service).await;
    let headers = [("mcp-session-id", session.as_str())];
    let (status, mut stream) = get(&service, &headers).await;
    assert_eq!(status, StatusCode::OK);
    next(&mut stream).await.unwrap();
    // Another session's stream, left and resumed.
    let other = initialize(&service).await;
    let (status, mut left) = get(&service, &[("mcp-session-id", &other)]).await;
    assert_eq!(status, StatusCode::OK);
    let priming = next(&mut left).await.unwrap();
    drop(left);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, mut resumed) = resume(&service, &other, event_id(&priming)).await;
    assert_eq!(status, StatusCode::OK);

    shutdown.cancel();
    assert_eq!(next(&mut stream).await, None);
    assert_eq!(next(&mut resumed).await, None);
    // The session let go of the stream: a new one opens (and, the server shutting down,
    // ends at once).
    for headers in [headers, [("mcp-session-id", other.as_str())]] {
        let (status, mut again) = get(&service, &headers).await;
        assert_eq!(status, StatusCode::OK);
        assert!(next(&mut again).await.unwrap().contains("retry: "));
        assert_eq!(next(&mut again).await, None);
    }
}

#[tokio::test]
async fn a_session_stream_resumed_from_before_its_kept_events_is_refused() {
    let store = crate::streamable::InMemoryEventStore::new(1, 10, Duration::from_secs(60));
    let config = crate::StreamableHttpConfig::default().event_store(Some(Arc::new(store)));
    let router = mcp_core::Router::builder().build();
    let service: McpHttpService<McpBody> = McpServer::builder(router.clone())
        .http_config(config)
        .into_http_service();
    let session = initialize(&service).await;
    let headers = [("mcp-session-id", session.as_str())];
    let (status, mut stream) = get(&service, &headers).await;
    assert_eq!(status, StatusCode::OK);
    let priming = next(&mut stream).await.unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Two messages while the client is away; the store keeps one.
    router.log(LoggingLevel::Info, None, "first");
    router.log(LoggingLevel::Info, None, "second");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, mut refused) = resume(&service, &session, event_id(&priming)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body = next(&mut refused).await.unwrap();
    assert!(body.contains("older than the events kept"), "{body}");
}

/// A follower that falls behind the store's trimming ends its stream rather than skip
/// what was trimmed: the client's next resumption is then refused, so it knows.
#[tokio::test]
async fn a_follower_the_store_trimmed_past_ends_instead_of_skipping() {
    type Args = mcp_core::Json<serde_json::Map<String, serde_json::Value>>;
    let go = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::clone(&go);
    let count =
        mcp_core::Tool::new("count").handler(move |_: Args, ctx: mcp_core::RequestContext| {
            let gate = Arc::clone(&gate);
            async move {
                ctx.progress(0.0, None, None).await;
                gate.notified().await;
                for step in 1..=20 {
                    ctx.progress(f64::from(step), None, None).await;
                }
                "counted"
            }
        });
    let router = mcp_core::Router::builder().tool(count).build();
    let store = crate::streamable::InMemoryEventStore::new(2, 10, Duration::from_secs(60));
    let config = crate::StreamableHttpConfig::default()
        .event_store(Some(Arc::new(store)))
        .outbound_capacity(1);
    let service: McpHttpService<McpBody> = McpServer::builder(router)
        .http_config(config)
        .into_http_service();
    let session = initialize(&service).await;
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"count","arguments":{},"_meta":{"progressToken":5}}}"#;
    let mut original = post_in(&service, &session, call).await.into_body();
    next(&mut original).await.unwrap();
    let progress = next(&mut original).await.unwrap();
    let (status, mut resumed) = resume(&service, &session, event_id(&progress)).await;
    assert_eq!(status, StatusCode::OK);
    // The resumed body's queue holds one event; unread, the follower falls behind.
    go.notify_one();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut sequences = Vec::new();
    while let Some(frame) = next(&mut resumed).await {
        let (_, sequence) = event_id(&frame).split_once('-').unwrap();
        sequences.push(sequence.parse::<u64>().unwrap());
    }
    assert!(!sequences.is_empty());
    let expected: Vec<u64> = (2..2 + sequences.len() as u64).collect();
    assert_eq!(sequences, expected, "no gap, and no answer after one");
}

/// A GET while the session's stream is open (a client that opens a second one, or whose
/// connection died unnoticed) gets a stream, not 409: a new one, which replaces the open
/// one. The replaced connection ends once it has written what it had queued, and each
/// message goes out on one connection only.
#[tokio::test]
async fn a_new_get_takes_the_session_stream_over() {
    let (router, service, session, mut old, priming) = session_stream().await;
    let headers = [("mcp-session-id", session.as_str())];
    let old_stream = event_id(&priming).strip_suffix("-0").unwrap().to_owned();
    router.log(LoggingLevel::Info, None, "before");
    // Notifications reach the session's queue through a task of their own.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let (status, mut new) = get(&service, &headers).await;
    assert_eq!(status, StatusCode::OK);
    let new_priming = next(&mut new).await.unwrap();
    assert!(new_priming.ends_with("-0\nretry: 1000\ndata: \n\n"));
    assert_ne!(
        event_id(&new_priming),
        event_id(&priming),
        "a stream of its own"
    );
    router.log(LoggingLevel::Info, None, "after");
    let after = next(&mut new).await.unwrap();
    assert!(after.contains(r#""data":"after""#), "{after}");

    // The old connection wrote what was queued before, then ended.
    let before = next(&mut old).await.unwrap();
    assert!(before.contains(r#""data":"before""#), "{before}");
    assert_eq!(next(&mut old).await, None, "the replaced connection ends");

    // The old stream is finished, and still resumable from what its client saw.
    let (status, mut resumed) = resume(&service, &session, &format!("{old_stream}-0")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(next(&mut resumed).await.unwrap(), before);
    assert_eq!(next(&mut resumed).await, None);
    // The new stream is the session's: it carries what comes next.
    router.log(LoggingLevel::Info, None, "later");
    assert!(next(&mut new).await.unwrap().contains(r#""data":"later""#));
}

/// A client that stops reading its session stream (a slow reader, or a connection dead
/// but not yet found out) while notifications overflow the stream's queue loses none of
/// them unsaid: its connection ends after what it had queued, and the resumption from
/// the last event it read replays every later one, in order and without gap.
#[tokio::test]
async fn a_stalled_session_stream_ends_and_its_resumption_loses_nothing() {
    let router = mcp_core::Router::builder().build();
    let service: McpHttpService<McpBody> = McpServer::builder(router.clone())
        .sessions(crate::SessionConfig::default().stream_capacity(2))
        .into_http_service();
    let session = initialize(&service).await;
    let (status, mut stalled) = get(&service, &[("mcp-session-id", session.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    let priming = next(&mut stalled).await.unwrap();
    let stream_id = event_id(&priming).strip_suffix("-0").unwrap().to_owned();
    // Five notifications while the client reads nothing: its queue holds two.
    for n in 1..=5 {
        router.log(LoggingLevel::Info, None, format!("message {n}"));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;

    // What was queued arrives, then the stream ends, for the client to resume.
    let mut last = String::new();
    for n in 1..=2 {
        let event = next(&mut stalled).await.unwrap();
        assert_event(&event, &stream_id, n, Some(&format!("message {n}")));
        last = event_id(&event).to_owned();
    }
    assert_eq!(
        next(&mut stalled).await,
        None,
        "the stalled connection ends"
    );

    let (status, mut resumed) = resume(&service, &session, &last).await;
    assert_eq!(status, StatusCode::OK);
    for n in 3..=5 {
        let event = next(&mut resumed).await.unwrap();
        assert_event(&event, &stream_id, n, Some(&format!("message {n}")));
    }
    router.log(LoggingLevel::Info, None, "live");
    let live = next(&mut resumed).await.unwrap();
    assert_event(&live, &stream_id, 6, None);
}

/// A `Last-Event-ID` past the last event of its stream names an event never sent: refused,
/// rather than followed while every event up to it is filtered out (a request's answer
/// among them), for the session's stream and a request's alike.
#[tokio::test]
async fn a_resumption_from_beyond_the_last_event_is_refused() {
    let (router, service, session, mut stream, priming) = session_stream().await;
    let stream_id = event_id(&priming).strip_suffix("-0").unwrap().to_owned();
    router.log(LoggingLevel::Info, None, "one");
    let one = next(&mut stream).await.unwrap();
    for beyond in [2, 50] {
        let (status, mut refused) =
            resume(&service, &session, &format!("{stream_id}-{beyond}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{beyond}");
        let body = next(&mut refused).await.unwrap();
        assert!(body.contains("beyond the last event"), "{body}");
    }
    // The refused resumptions took nothing over.
    router.log(LoggingLevel::Info, None, "two");
    assert!(next(&mut stream).await.unwrap().contains(r#""data":"two""#));
    let (status, _) = resume(&service, &session, event_id(&one)).await;
    assert_eq!(status, StatusCode::OK, "the last event itself is a cursor");

    // A request's stream, one event in.
    type Args = mcp_core::Json<serde_json::Map<String, serde_json::Value>>;
    let go = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::clone(&go);
    let wait =
        mcp_core::Tool::new("wait").handler(move |_: Args, ctx: mcp_core::RequestContext| {
            let gate = Arc::clone(&gate);
            async move {
                ctx.progress(0.0, None, None).await;
                gate.notified().await;
                "done"
            }
        });
    let router = mcp_core::Router::builder().tool(wait).build();
    let service: McpHttpService<McpBody> = McpServer::builder(router).into_http_service();
    let session = initialize(&service).await;
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"wait","arguments":{},"_meta":{"progressToken":5}}}"#;
    let mut original = post_in(&service, &session, call).await.into_body();
    next(&mut original).await.unwrap();
    let progress = next(&mut original).await.unwrap();
    let (stream_id, sequence) = event_id(&progress).split_once('-').unwrap();
    assert_eq!(sequence, "1");
    let (status, mut refused) = resume(&service, &session, &format!("{stream_id}-50")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        next(&mut refused)
            .await
            .unwrap()
            .contains("beyond the last event")
    );
    // The original connection still delivers the answer.
    go.notify_one();
    let answer = next(&mut original).await.unwrap();
    assert!(answer.contains(r#""text":"done""#), "{answer}");
}

#[tokio::test]
async fn a_session_stream_connection_ends_when_its_credential_expires() {
    use std::sync::Mutex;
    use std::time::SystemTime;

    // Alice's credential, as the authenticator would attach it to each request: the one her
    // client presents next expires when `expiry` says.
    let far = SystemTime::now() + Duration::from_secs(3600);
    let expiry = Arc::new(Mutex::new(far));
    let router = mcp_core::Router::builder().build();
    let presented = Arc::clone(&expiry);
    let service: McpHttpService<McpBody> = tower::util::BoxCloneSyncService::new(
        tower::ServiceBuilder::new()
            .map_request(move |mut request: http::Request<McpBody>| {
                let expires_at = *presented.lock().unwrap();
                let alice = mcp_core::Principal::new("alice").with_expiry(expires_at);
                request.extensions_mut().insert(alice);
                request
            })
            .service(McpServer::builder(router.clone()).into_http_service::<McpBody>()),
    );
    let session = initialize(&service).await;
    let soon = SystemTime::now() + Duration::from_millis(300);
    *expiry.lock().unwrap() = soon;
    let (status, mut stream) = get(&service, &[("mcp-session-id", session.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    let priming = next(&mut stream).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), next(&mut stream)).await;
    assert_eq!(ended.expect("ended within 5 s"), None);
    assert!(SystemTime::now() >= soon);

    // The stream stays with the session: with a fresh credential the client resumes it and
    // gets what was sent meanwhile.
    router.log(LoggingLevel::Info, None, "meanwhile");
    *expiry.lock().unwrap() = far;
    let (status, mut resumed) = resume(&service, &session, event_id(&priming)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        next(&mut resumed)
            .await
            .unwrap()
            .contains(r#""data":"meanwhile""#)
    );
}
