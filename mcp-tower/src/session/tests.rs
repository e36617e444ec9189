//! A session's own bookkeeping: requests in flight, cancellation, its stream, expiry.

use mcp_core::Session;

use super::*;

fn session(config: SessionConfig) -> LiveSession {
    let new = NewSession {
        principal: None,
        version: ProtocolVersion::V2025_11_25,
        capabilities: ClientCapabilities::default(),
        allow_list: None,
    };
    LiveSession::new(new, Arc::new(config), Instant::now())
}

#[test]
fn subscriptions_are_capped() {
    let session = session(SessionConfig::default().max_subscriptions(2));
    assert!(session.subscribe("a://1").is_ok());
    assert!(session.subscribe("a://2").is_ok());
    assert!(session.subscribe("a://2").is_ok(), "resubscribing is free");
    assert_eq!(session.subscribe("a://3").unwrap_err().code, -32000);
    assert!(session.is_subscribed("a://1") && session.is_subscribed("a://2"));
    assert!(!session.is_subscribed("a://3") && !session.is_subscribed("a://"));
    session.unsubscribe("a://1");
    assert!(!session.is_subscribed("a://1"));
    assert!(session.subscribe("a://3").is_ok());
    assert!(session.is_subscribed("a://3"));
}

#[test]
fn subscriptions_are_capped_in_bytes() {
    let session = session(SessionConfig::default().max_subscription_bytes(10));
    assert!(session.subscribe("a://12345").is_ok(), "9 bytes");
    assert_eq!(session.subscribe("a://6").unwrap_err().code, -32000);
    assert!(
        session.subscribe("a://12345").is_ok(),
        "resubscribing is free"
    );
    assert!(!session.is_subscribed("a://6"));
    session.unsubscribe("a://12345");
    session.unsubscribe("a://12345");
    assert!(
        session.subscribe("a://6").is_ok(),
        "unsubscribing gave its bytes back"
    );
    assert!(
        session.subscribe("a://7").is_ok(),
        "two of 5 bytes fill the 10"
    );
    assert_eq!(session.subscribe("b").unwrap_err().code, -32000);
}

#[test]
fn use_keeps_a_session_alive_within_a_64th_of_its_ttl() {
    let ttl = Duration::from_millis(640);
    let session = session(SessionConfig::default().idle_ttl(ttl));
    let started = Instant::now();
    // Used every 5 ms (under the 10 ms slack) for two TTLs: never idle.
    while started.elapsed() < ttl * 2 {
        session.touch();
        assert!(!session.is_idle(Instant::now()));
        std::thread::sleep(Duration::from_millis(5));
    }
    // Left alone: idle after the TTL, less at most the slack, and not before.
    session.touch();
    let left = Instant::now();
    assert!(!session.is_idle(left + ttl - ttl / 32));
    assert!(session.is_idle(left + ttl + Duration::from_millis(1)));
}

#[test]
fn in_flight_requests_are_capped_and_unique() {
    let session = session(SessionConfig::default().max_in_flight(2));
    let (first, _outbound) = ClientPeer::channel(1);
    let begin = |id, peer: &ClientPeer| session.begin_request(&RequestId::Number(id), peer);
    assert!(begin(1, &first).is_ok());
    assert_eq!(
        begin(1, &ClientPeer::channel(1).0).unwrap_err().code,
        -32600
    );
    assert!(begin(2, &ClientPeer::channel(1).0).is_ok());
    assert_eq!(
        begin(3, &ClientPeer::channel(1).0).unwrap_err().code,
        -32000
    );
    session.end_request(&RequestId::Number(1), &first);
    assert!(begin(3, &ClientPeer::channel(1).0).is_ok());
}

#[test]
fn cancelled_and_terminated_requests_cancel_their_peers() {
    let session = session(SessionConfig::default());
    let (first, _outbound) = ClientPeer::cancellable_channel(1);
    let (second, _outbound) = ClientPeer::cancellable_channel(1);
    session
        .begin_request(&RequestId::Number(1), &first)
        .unwrap();
    session
        .begin_request(&RequestId::Number(2), &second)
        .unwrap();
    assert!(session.cancel_request(&RequestId::Number(1)));
    assert!(first.is_cancelled());
    assert!(!second.is_cancelled());
    session.end_request(&RequestId::Number(1), &first);
    assert!(
        !session.cancel_request(&RequestId::Number(1)),
        "forgotten once ended"
    );
    session.terminate();
    assert!(second.is_cancelled());
    // What arrives after (having passed the layer's check just before): refused, and
    // no stream is left open on the ended session.
    let (late, _outbound) = ClientPeer::cancellable_channel(1);
    assert!(session.begin_request(&RequestId::Number(3), &late).is_err());
    assert!(!session.cancel_request(&RequestId::Number(3)));
    let queue = Queue {
        room: 1,
        sent: Arc::default(),
        closed: Arc::default(),
    };
    session.open_stream(|_| (Box::new(queue) as Box<dyn EventSink>, ()));
    assert!(!session.has_stream());
}

/// The session's end tells the requests it cancelled from those their client had cancelled
/// (which get no answer): only the first are told the session ended.
#[test]
fn the_end_of_a_session_knows_which_requests_it_cancelled() {
    let session = session(SessionConfig::default());
    let (cancelled, _outbound) = ClientPeer::cancellable_channel(1);
    let (running, _outbound) = ClientPeer::cancellable_channel(1);
    let (first, second) = (RequestId::Number(1), RequestId::Number(2));
    session.begin_request(&first, &cancelled).unwrap();
    session.begin_request(&second, &running).unwrap();
    assert!(session.cancel_request(&first));
    assert!(!session.ended_request(&second), "the session lives");
    session.terminate();
    assert!(running.is_cancelled());
    assert!(session.ended_request(&second));
    assert!(!session.ended_request(&first), "its client cancelled it");
}

/// A handler may go on after its cancellation: until its request ends, it still counts
/// against the cap, holds its id, and is cancelled with the session; and its late end
/// does not forget a later request of the same id.
#[test]
fn a_cancelled_request_holds_its_slot_and_id_until_it_ends() {
    let session = session(SessionConfig::default().max_in_flight(1));
    let one = RequestId::Number(1);
    let (old, _outbound) = ClientPeer::cancellable_channel(1);
    let (new, _outbound) = ClientPeer::cancellable_channel(1);
    session.begin_request(&one, &old).unwrap();
    assert!(session.cancel_request(&one));
    assert!(old.is_cancelled());
    assert_eq!(session.begin_request(&one, &new).unwrap_err().code, -32600);
    let (two, _outbound) = ClientPeer::cancellable_channel(1);
    let refused = session.begin_request(&RequestId::Number(2), &two);
    assert_eq!(refused.unwrap_err().code, -32000, "still counted");
    assert!(!session.is_idle(Instant::now() + Duration::from_secs(3600)));

    session.end_request(&one, &old);
    session.begin_request(&one, &new).unwrap();
    // A second end of the old request (a stale exchange) leaves the new one in place:
    // its id stays taken, and the session's end cancels it.
    session.end_request(&one, &old);
    let (third, _outbound) = ClientPeer::cancellable_channel(1);
    assert_eq!(
        session.begin_request(&one, &third).unwrap_err().code,
        -32600
    );
    session.terminate();
    assert!(new.is_cancelled());
}

/// A sink that queues at most `room` events.
#[derive(Debug)]
struct Queue {
    room: usize,
    sent: Arc<Mutex<Vec<Bytes>>>,
    closed: Arc<AtomicBool>,
}

impl EventSink for Queue {
    fn try_event(&mut self, data: &Bytes) -> Delivery {
        let mut sent = lock(&self.sent);
        if self.closed.load(Ordering::Relaxed) {
            Delivery::Closed
        } else if sent.len() >= self.room {
            Delivery::Stalled
        } else {
            sent.push(data.clone());
            Delivery::Queued
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

#[test]
fn a_new_stream_replaces_the_open_one_and_termination_closes_it() {
    let session = session(SessionConfig::default().stream_capacity(2));
    let open = |room: usize| {
        let closed = Arc::new(AtomicBool::new(false));
        let queue = Queue {
            room,
            sent: Arc::default(),
            closed: Arc::clone(&closed),
        };
        (Box::new(queue) as Box<dyn EventSink>, closed)
    };
    let _first = session.open_stream(|_| open(1));
    // A second one replaces it, open as it is: events go to the second only.
    let closed = session.open_stream(open);
    assert!(session.has_stream());
    let data = Bytes::from_static(b"{}");
    // Room for two (the configured capacity, where the first had one): the sink says
    // when its client stalls.
    assert_eq!(session.deliver(&data), Some(Delivery::Queued));
    assert_eq!(session.deliver(&data), Some(Delivery::Queued));
    assert_eq!(session.deliver(&data), Some(Delivery::Stalled));
    // Once the client has gone, the stream is kept (recording), and may be replaced.
    closed.store(true, Ordering::Relaxed);
    assert!(!session.has_stream());
    assert_eq!(session.deliver(&data), Some(Delivery::Closed));
    session.open_stream(open);
    assert_eq!(session.deliver(&data), Some(Delivery::Queued));
    let (peer, _outbound) = ClientPeer::cancellable_channel(1);
    session.begin_request(&RequestId::Number(1), &peer).unwrap();
    session.terminate();
    assert!(peer.is_cancelled());
    assert!(!session.has_stream());
    assert_eq!(session.deliver(&data), None);
}
