//! Resumption with `Last-Event-ID`: of a closed stream, of a connected one (it moves), after
//! the store's maximum age, from before what the store kept, and the grace period before an
//! unresumed stream's handler is cancelled.

use super::*;

#[tokio::test]
async fn resumption_replays_the_closed_stream() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let reply = client
        .post(&call(8, "polling"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8_lossy(&reply.body).to_string();
    assert!(
        reply.sse_messages().is_empty(),
        "closed before the answer: {text}"
    );
    let last_id = last_event_id(&text);
    let resumed = client.resume(&session, &last_id).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    assert_eq!(messages.len(), 1, "{:?}", resumed.body);
    assert_eq!(messages[0]["id"], 8);
    assert_eq!(
        messages[0]["result"]["content"][0]["text"],
        "after reconnection"
    );
    // Another session cannot resume this stream; a cursor the server does not know is
    // refused with 400, not the 404 that would tell the client its session is gone.
    let other = client.initialize("2025-11-25").await;
    let stolen = client.resume(&other, &last_id).await;
    assert_eq!(stolen.status, 400);
    for unknown in ["garbage", "999999-1"] {
        let reply = client.resume(&session, unknown).await;
        assert_eq!(reply.status, 400, "{unknown}");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Last-Event-ID")),
            "{unknown}: {:?}",
            reply.body
        );
    }
    let still_alive = client
        .post(&call(9, "fast"), &[("mcp-session-id", &session)])
        .await;
    assert_eq!(still_alive.status, 200, "{:?}", still_alive.body);
}

/// Clients of versions before SSE polling (2025-11-25) got no priming event and are not told
/// to resume: a handler's request to close their stream is declined, and the answer comes on
/// the stream that is open.
#[tokio::test]
async fn streams_of_clients_without_sse_polling_stay_open() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    for version in ["2025-03-26", "2025-06-18"] {
        let session = client.initialize(version).await;
        let reply = client
            .post(
                &call(8, "polling"),
                &[
                    ("mcp-session-id", &session),
                    ("mcp-protocol-version", version),
                ],
            )
            .await;
        // Nothing was sent before the answer, so it may come as plain JSON.
        let messages = match reply.header("content-type") {
            Some("text/event-stream") => reply.sse_messages(),
            _ => vec![reply.json()],
        };
        assert!(
            messages
                .iter()
                .any(|m| m["id"] == 8 && m["result"]["content"][0]["text"] == "after reconnection"),
            "{version}: {:?}",
            String::from_utf8_lossy(&reply.body)
        );
    }
}

#[tokio::test]
async fn a_resumable_stream_is_cancelled_only_after_the_grace_period() {
    let config = StreamableHttpConfig::default().disconnect_grace(Duration::from_millis(300));
    let (_server, client, probe) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(6, "wait")).await;
    probe.started.notified().await;
    drop(response);
    // Disconnection is not cancellation: the client may still resume...
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(probe.cancelled.load(Ordering::SeqCst), 0);
    // ...but a client that never comes back cancels the handler after the grace period.
    probe.cancelled_reaches(1).await;
}

/// A client that resumes after the grace period, its request cancelled by the server, gets an
/// error for it rather than a stream that ends with no answer (it would wait for its timeout).
#[tokio::test]
async fn a_request_given_up_on_is_answered_with_an_error() {
    let config = StreamableHttpConfig::default().disconnect_grace(Duration::from_millis(200));
    let (_server, client, probe) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(16, "wait")).await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    probe.cancelled_reaches(1).await;
    let resumed = client.resume(&session, &last_event_id(&seen)).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    let answer = messages.iter().find(|m| m["id"] == 16);
    let answer = answer.unwrap_or_else(|| panic!("no answer: {:?}", resumed.body));
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
}

#[tokio::test]
async fn a_dropped_connection_resumes_where_it_stopped() {
    // The longest grace is as good as any (a `Duration::MAX` once overflowed the clock).
    let config = StreamableHttpConfig::default().disconnect_grace(Duration::MAX);
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(11, "steps")).await;
    // Read up to the first progress event, remember its id, then drop the connection.
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    let resumed = client.resume(&session, &last_event_id(&seen)).await;
    assert_eq!(resumed.status, 200);
    let messages = resumed.sse_messages();
    // Only what came after the last event seen: the second step, then the result.
    assert_eq!(messages.len(), 2, "{:?}", resumed.body);
    assert_eq!(messages[0]["params"]["progress"], 2.0);
    assert_eq!(messages[1]["id"], 11);
    assert_eq!(
        messages[1]["result"]["content"][0]["text"],
        "both steps done"
    );
}

/// Resumes a stream of `session` from `last_id` (GET), its body unread.
async fn resume_streaming(
    client: &TestClient,
    session: &str,
    last_id: &str,
) -> http::Response<hyper::body::Incoming> {
    let headers = [
        ("mcp-session-id", session),
        ("accept", "text/event-stream"),
        ("last-event-id", last_id),
    ];
    client.send_streaming(Method::GET, "", &headers).await
}

/// The spec: a server MUST NOT send a message on more than one stream. A client that
/// resumes a stream whose connection the server still holds gets the stream on the new
/// connection, and the old one ends; a second resumption replaces the first in turn.
#[tokio::test]
async fn resuming_a_connected_stream_moves_it_to_the_new_connection() {
    let (_server, client, probe) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(12, "gated")).await;
    let mut original = response.into_body();
    let seen = read_until(&mut original, "notifications/progress").await;
    let last = last_event_id(&seen);
    let first = resume_streaming(&client, &session, &last).await;
    assert_eq!(first.status(), 200);
    let second = resume_streaming(&client, &session, &last).await;
    assert_eq!(second.status(), 200);
    probe.proceed.notify_one();

    // The replaced connections end with nothing more on them.
    assert_eq!(sse_events(&rest_of(original).await), []);
    assert_eq!(sse_events(&rest_of(first.into_body()).await), []);
    let events = sse_events(&rest_of(second.into_body()).await);
    let messages: Vec<Value> = events
        .iter()
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{events:?}");
    assert_eq!(messages[0]["params"]["progress"], 2.0);
    assert_eq!(messages[1]["id"], 12);
    assert_eq!(
        messages[1]["result"]["content"][0]["text"],
        "both steps done"
    );
}

/// The store's maximum age applies to streams that ended: a session stream that is merely
/// quiet stays resumable.
#[tokio::test]
async fn a_quiet_session_stream_is_resumable_after_the_maximum_age() {
    let max_age = Duration::from_millis(100);
    let store = Arc::new(InMemoryEventStore::new(16, 100, max_age));
    let config = StreamableHttpConfig::default().event_store(Some(store));
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("accept", "text/event-stream"),
    ];
    let stream = client.send_streaming(Method::GET, "", &headers).await;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body();
    let priming = read_until(&mut body, "retry: ").await;
    drop(body);
    tokio::time::sleep(max_age * 3).await;
    let resumed = resume_streaming(&client, &session, &last_event_id(&priming)).await;
    assert_eq!(resumed.status(), 200);
}

/// A cursor from before the events the store kept (here at most 2 per stream) would skip
/// what was trimmed after it without the client knowing: refused, as an unknown one is.
#[tokio::test]
async fn a_last_event_id_older_than_the_kept_events_is_refused() {
    let store = Arc::new(InMemoryEventStore::new(2, 100, Duration::from_secs(60)));
    let config = StreamableHttpConfig::default().event_store(Some(store));
    let (_server, client, _) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(13, "steps")).await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    // Three events (two steps, the answer): the first is trimmed, and the stream finishes.
    let last = last_event_id(&seen);
    let resumed = client.resume(&session, &last).await;
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.sse_messages().len(), 2, "{:?}", resumed.body);
    let (stream, _) = last.split_once('-').unwrap();
    let refused = client.resume(&session, &format!("{stream}-0")).await;
    assert_eq!(refused.status, 400);
    let message = refused.json()["error"]["message"].clone();
    assert!(
        message.as_str().is_some_and(|m| m.contains("older than")),
        "{message}"
    );
}

/// A client that resumed and then left the resumed stream too, for good, cancels the handler
/// as one that never resumed does, a grace period after.
#[tokio::test]
async fn leaving_the_resumed_stream_too_cancels_the_handler() {
    let grace = Duration::from_millis(200);
    let config = StreamableHttpConfig::default().disconnect_grace(grace);
    let (_server, client, probe) = start(config).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(14, "wait")).await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    drop(body);
    let resumed = resume_streaming(&client, &session, &last_event_id(&seen)).await;
    assert_eq!(resumed.status(), 200);
    // Followed past the grace period: not cancelled.
    tokio::time::sleep(grace * 2).await;
    assert_eq!(probe.cancelled.load(Ordering::SeqCst), 0);
    drop(resumed);
    probe.cancelled_reaches(1).await;
}

/// A handler that panics mid-stream is answered -32603 and its stream finishes in the store:
/// a resumption replays what it sent and ends, instead of waiting for a stream that never ends.
#[tokio::test]
async fn a_panicking_handler_finishes_its_stream() {
    let (_server, client, _) = start(StreamableHttpConfig::default()).await;
    let session = client.initialize("2025-11-25").await;
    let response = post_streaming(&client, &session, call(15, "panics")).await;
    let mut body = response.into_body();
    let seen = read_until(&mut body, "notifications/progress").await;
    let last = last_event_id(&seen);
    let (stream, _) = last.split_once('-').unwrap();
    // The connection ends with the answer to the panic.
    rest_of(body).await;
    let resumed = resume_streaming(&client, &session, &format!("{stream}-0")).await;
    assert_eq!(resumed.status(), 200);
    let events = sse_events(&rest_of(resumed.into_body()).await);
    assert_eq!(
        events.len(),
        2,
        "the progress, the error, then the end: {events:?}"
    );
    let answer: Value = serde_json::from_str(&events[1].1).unwrap();
    assert_eq!(answer["id"], 15);
    assert_eq!(answer["error"]["code"], -32603);
}
