//! The SSE writer's frames and its fan-out cost.

use super::*;
use crate::streamable::InMemoryEventStore;

#[test]
fn frames_carry_the_stream_and_sequence_in_their_id() {
    assert_eq!(&frame(Some((42, 7)), b"{}")[..], b"id: 42-7\ndata: {}\n\n");
    assert_eq!(&frame(Some((0, 0)), b"1")[..], b"id: 0-0\ndata: 1\n\n");
    let max = format!("id: {0}-{0}\ndata: x\n\n", u64::MAX);
    assert_eq!(&frame(Some((u64::MAX, u64::MAX)), b"x")[..], max.as_bytes());
    assert_eq!(
        &prime_frame(u64::MAX, 0)[..],
        format!("id: {}-0\nretry: 0\ndata: \n\n", u64::MAX).as_bytes()
    );
}

#[test]
fn frames_without_an_id_are_data_only() {
    assert_eq!(&frame(None, b"{}")[..], b"data: {}\n\n");
    assert_eq!(&frame(None, b"{\r\n}")[..], b"data: {\ndata: }\n\n");
    // A 2026-07-28 stream known at once: no priming event, no ids.
    let whole = complete_stream(5, "", None, None, Some(Bytes::from_static(b"{}")), false);
    assert_eq!(&whole[..], b"data: {}\n\n");
    let pretty = complete_stream(5, "", None, None, Some(Bytes::from_static(b"{\n}")), false);
    assert_eq!(&pretty[..], b"data: {\ndata: }\n\n");
}

#[test]
fn data_with_line_breaks_spans_data_lines() {
    let pretty = b"{\n  \"a\": 1,\r\n  \"b\": [\r2]\n}";
    assert_eq!(
        &frame(Some((3, 4)), pretty)[..],
        &b"id: 3-4\ndata: {\ndata:   \"a\": 1,\ndata:   \"b\": [\ndata: 2]\ndata: }\n\n"[..]
    );
    assert_eq!(
        &frame(Some((3, 4)), b"1\n")[..],
        b"id: 3-4\ndata: 1\ndata: \n\n"
    );
    // The data lines, joined with LF as a client joins them, are the same JSON.
    let text = String::from_utf8(frame(Some((3, 4)), pretty).to_vec()).unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    let read: serde_json::Value = serde_json::from_str(&data.join("\n")).unwrap();
    assert_eq!(read, serde_json::json!({"a": 1, "b": [2]}));
    // A whole stream too.
    let whole = complete_stream(
        5,
        "",
        None,
        Some(100),
        Some(Bytes::from_static(b"{\n}")),
        true,
    );
    assert_eq!(
        &whole[..],
        &b"id: 5-0\nretry: 100\ndata: \n\nid: 5-1\ndata: {\ndata: }\n\n"[..]
    );
}

#[tokio::test]
async fn a_stream_sink_primes_numbers_and_records() {
    let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::default());
    let (sender, mut body) = mpsc::channel(2);
    let (mut sink, mut open) =
        StreamSink::open(9, "s", sender, Some(Arc::clone(&store)), Some(500));
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 9-0\nretry: 500\ndata: \n\n"
    );
    let data = Bytes::from_static(b"{\"n\":1}");
    assert_eq!(sink.try_event(&data), Delivery::Queued);
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 9-1\ndata: {\"n\":1}\n\n"
    );
    assert_eq!(sink.try_event(&data), Delivery::Queued);
    let replay = store.replay(9, "s", 0).unwrap();
    let sequences: Vec<u64> = replay.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2]);
    assert!(open.try_recv().is_err(), "still open");
    drop(body);
    assert!(sink.is_closed());
    // The client gone, events are still numbered and recorded, for it to resume.
    assert_eq!(sink.try_event(&data), Delivery::Closed);
    assert_eq!(store.replay(9, "s", 2).unwrap().events[0].sequence, 3);
    drop(sink);
    assert!(open.await.is_err(), "dropping the sink signals the end");
}

/// A client that does not keep up loses nothing unsaid: the event that finds its queue full
/// is recorded like the others, and its connection ends once it has written what it queued,
/// so that the client resumes from the store, where every event is.
#[tokio::test]
async fn a_stream_sink_whose_queue_is_full_records_the_event_and_lets_the_connection_go() {
    let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::default());
    let (sender, mut body) = mpsc::channel(2);
    let (mut sink, open) = StreamSink::open(9, "s", sender, Some(Arc::clone(&store)), None);
    let data = |n: u8| Bytes::from(format!("{{\"n\":{n}}}"));
    assert_eq!(sink.try_event(&data(1)), Delivery::Queued);
    assert_eq!(sink.try_event(&data(2)), Delivery::Queued);
    assert_eq!(sink.try_event(&data(3)), Delivery::Stalled);
    assert!(sink.is_closed(), "let go of");
    assert!(open.await.is_err(), "the keep-alive task is told");
    // Later events are recorded only.
    assert_eq!(sink.try_event(&data(4)), Delivery::Closed);
    // The connection writes what it had queued, then ends.
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 9-1\ndata: {\"n\":1}\n\n"
    );
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 9-2\ndata: {\"n\":2}\n\n"
    );
    assert_eq!(body.recv().await, None);
    // Resumed from there, every later event is replayed, in order and numbered without gap.
    let replay = store.replay(9, "s", 2).unwrap();
    let events: Vec<(u64, Bytes)> = replay
        .events
        .into_iter()
        .map(|e| (e.sequence, e.data))
        .collect();
    assert_eq!(events, [(3, data(3)), (4, data(4))]);
    // Resumed on a new connection, the sink queues there again.
    let (sender, mut body) = mpsc::channel(2);
    let _open = sink.reattach(sender);
    assert!(!sink.is_closed());
    assert_eq!(sink.try_event(&data(5)), Delivery::Queued);
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 9-5\ndata: {\"n\":5}\n\n"
    );

    // Without a store nothing can be replayed, but the loss shows as a gap in the numbers.
    let (sender, mut body) = mpsc::channel(1);
    let (mut sink, _open) = StreamSink::open(4, "s", sender, None, None);
    assert_eq!(sink.try_event(&data(1)), Delivery::Queued);
    assert_eq!(sink.try_event(&data(2)), Delivery::Stalled);
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 4-1\ndata: {\"n\":1}\n\n"
    );
    assert_eq!(body.recv().await, None);
    let (sender, mut body) = mpsc::channel(1);
    let _open = sink.reattach(sender);
    assert_eq!(sink.try_event(&data(3)), Delivery::Queued);
    assert_eq!(
        &body.recv().await.unwrap()[..],
        b"id: 4-3\ndata: {\"n\":3}\n\n"
    );
}

/// The user-space cost of one fan-out (serialise once, filter, frame, record, queue),
/// without the connections that write the frames.
#[tokio::test(flavor = "current_thread")]
#[ignore = "a timing: cargo test --release -p mcp-tower fan_out_cost -- --ignored --nocapture"]
async fn fan_out_cost() {
    use std::time::{Duration, Instant};

    use crate::session::{InMemorySessionStore, NewSession, SessionStore};
    use mcp_core::Session;

    let streams = 10_000;
    let config = crate::SessionConfig::default().max_sessions(streams);
    let store = InMemorySessionStore::new(config);
    let events: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::new(
        256,
        streams,
        Duration::from_secs(300),
    ));
    let mut bodies = Vec::with_capacity(streams);
    for stream in 0..streams as u64 {
        let new = NewSession {
            principal: None,
            version: mcp_core::ProtocolVersion::V2025_11_25,
            capabilities: Default::default(),
            allow_list: None,
        };
        let session = store.create(new).unwrap();
        session.subscribe("x://y").unwrap();
        let body = session.open_stream(|capacity| {
            let (sender, mut body) = mpsc::channel(capacity);
            let store = Some(Arc::clone(&events));
            let (sink, ended) = StreamSink::open(stream, session.id(), sender, store, Some(1000));
            body.try_recv().expect("priming");
            (Box::new(sink) as Box<dyn EventSink>, (body, ended))
        });
        bodies.push(body);
    }
    let event = mcp_core::ServerEvent::resource_updated("x://y");
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        crate::session::deliver(&store, &event);
        times.push(started.elapsed());
        for (body, _) in &mut bodies {
            body.try_recv().expect("delivered");
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / streams as f64;
    let first = times[0];
    times.sort();
    println!(
        "fan-out to {streams} streams: first {:.3} us per stream, median {:.3}, best {:.3}",
        per(first),
        per(times[times.len() / 2]),
        per(times[0])
    );
}
