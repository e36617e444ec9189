//! The in-memory store's bounds: counts, age, size, and each session's share.

use bytes::Bytes;

use super::*;

fn event(sequence: u64) -> StoredEvent {
    StoredEvent {
        sequence,
        data: Bytes::from(format!("{{\"n\":{sequence}}}")),
    }
}

fn kept(store: &InMemoryEventStore, stream: u64) -> Option<Vec<u64>> {
    let replay = store.replay(stream, "s", 0)?;
    Some(replay.events.iter().map(|e| e.sequence).collect())
}

#[test]
fn keeps_at_most_the_configured_events_per_stream_and_says_how_far_it_trimmed() {
    let store = InMemoryEventStore::new(3, 10, Duration::from_secs(60));
    store.open_stream(1, "s");
    assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 0);
    for sequence in 1..=10 {
        store.append(1, event(sequence));
    }
    assert_eq!(kept(&store, 1).unwrap(), [8, 9, 10]);
    assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 7);
}

#[test]
fn a_stream_with_one_event_keeps_room_for_one_and_grows_past_it() {
    let store = InMemoryEventStore::new(5, 10, Duration::from_secs(60));
    store.open_stream(1, "s");
    store.append(1, event(1));
    let capacity = |store: &InMemoryEventStore| lock(&store.streams).logs[&1].events.capacity();
    assert_eq!(capacity(&store), 1, "one fan-out event: one slot");
    for sequence in 2..=7 {
        store.append(1, event(sequence));
    }
    assert_eq!(kept(&store, 1).unwrap(), [3, 4, 5, 6, 7]);
    assert!(capacity(&store) >= 5);
}

#[test]
fn trims_events_older_than_the_maximum_age_from_live_streams() {
    let store = InMemoryEventStore::new(10, 10, Duration::from_millis(20));
    store.open_stream(1, "s");
    store.append(1, event(1));
    store.append(1, event(2));
    std::thread::sleep(Duration::from_millis(40));
    store.append(1, event(3));
    let replay = store.replay(1, "s", 0).unwrap();
    assert_eq!(replay.trimmed_through, 2);
    assert_eq!(replay.events.len(), 1);
    // Trimmed on replay too, not only when the stream grows.
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(store.replay(1, "s", 0).unwrap().trimmed_through, 3);
}

#[test]
fn at_the_stream_cap_evicts_finished_streams_first_then_the_oldest_live_one() {
    let store = InMemoryEventStore::new(3, 3, Duration::from_secs(60));
    for stream in 1..=3 {
        store.open_stream(stream, "s");
    }
    store.finish(3);
    store.finish(2);
    // Finished first, the oldest-finished first: 3, then 2.
    store.open_stream(4, "s");
    assert!(kept(&store, 3).is_none());
    store.open_stream(5, "s");
    assert!(kept(&store, 2).is_none());
    // Only live streams left (1, 4, 5): the oldest of them goes.
    store.open_stream(6, "s");
    assert!(kept(&store, 1).is_none());
    for stream in [4, 5, 6] {
        assert!(kept(&store, stream).is_some(), "{stream}");
    }
}

#[test]
fn forgets_finished_streams_older_than_the_maximum_age_but_never_live_ones() {
    let store = InMemoryEventStore::new(3, 10, Duration::from_millis(20));
    store.open_stream(1, "s");
    store.append(1, event(1));
    store.open_stream(2, "s");
    store.append(2, event(1));
    store.finish(2);
    std::thread::sleep(Duration::from_millis(40));
    assert!(kept(&store, 2).is_none(), "finished and old: forgotten");
    let live = store.replay(1, "s", 0).expect("live: kept however quiet");
    assert!(!live.finished);
    // Opening a stream sweeps the expired one out of memory, and only it.
    store.open_stream(3, "s");
    assert!(!lock(&store.streams).logs.contains_key(&2));
    assert!(kept(&store, 1).is_some());
    // Once finished, a quiet stream is kept for the maximum age from its end.
    store.finish(1);
    assert!(kept(&store, 1).is_some());
}

#[test]
fn the_open_order_stays_bounded_behind_a_long_lived_stream() {
    let store = InMemoryEventStore::new(3, 100, Duration::from_secs(60));
    store.open_stream(0, "s");
    for stream in 1..10_000 {
        store.open_stream(stream, "s");
        store.finish(stream);
    }
    let streams = lock(&store.streams);
    assert!(streams.order.opened.len() <= 2 * streams.logs.len() + 17);
    assert!(streams.order.finished.len() <= 2 * streams.logs.len() + 17);
    let share = &streams.shares["s"];
    assert!(share.order.opened.len() <= 2 * share.streams + 17);
    assert!(share.order.finished.len() <= 2 * share.streams + 17);
    assert!(streams.logs.len() <= 100);
    assert!(streams.logs.contains_key(&0), "the live stream stays");
}

/// An event of `size` bytes. Clones share one buffer: the store counts each event's length
/// whatever it shares, so large budgets are tested without the memory.
fn sized(sequence: u64, data: &Bytes) -> StoredEvent {
    StoredEvent {
        sequence,
        data: data.clone(),
    }
}

fn kept_in(store: &InMemoryEventStore, stream: u64, session: &str) -> Option<Vec<u64>> {
    let replay = store.replay(stream, session, 0)?;
    Some(replay.events.iter().map(|e| e.sequence).collect())
}

/// The totals agree with what the logs hold, and no bound is exceeded.
fn assert_accounted(store: &InMemoryEventStore) {
    let streams = lock(&store.streams);
    let held: usize = streams.logs.values().map(|log| log.bytes).sum();
    assert_eq!(streams.bytes, held, "total bytes");
    assert!(streams.bytes <= store.max_bytes);
    assert!(streams.logs.len() <= store.max_streams);
    for (session, share) in &streams.shares {
        let logs = streams
            .logs
            .values()
            .filter(|log| log.session.as_deref() == Some(&**session));
        let (count, bytes) = logs.fold((0, 0), |(n, b), log| (n + 1, b + log.bytes));
        assert_eq!((share.streams, share.bytes), (count, bytes), "{session}");
        assert!(share.bytes <= store.max_bytes_per_session, "{session}");
        assert!(share.streams <= store.max_streams_per_session, "{session}");
    }
    for log in streams.logs.values() {
        let bytes: usize = log.events.iter().map(|(_, e)| e.data.len()).sum();
        assert_eq!(log.bytes, bytes);
        if let Some(session) = &log.session {
            assert!(
                streams.shares.contains_key(session),
                "{session} has a share"
            );
        }
    }
}

/// The audit's reproduction: one session's answers, each kept whole after it was read, no
/// longer add up without bound. 40 answers of 2 MiB are 80 MiB; the default store keeps the
/// session's newest 16 MiB and forgets its oldest finished streams.
#[test]
fn the_default_store_keeps_one_session_within_its_share_of_bytes() {
    let store = InMemoryEventStore::default();
    let answer = Bytes::from(vec![b'x'; 2 << 20]);
    for stream in 1..=40 {
        store.open_stream(stream, "s");
        store.append(stream, sized(1, &answer));
        store.finish(stream);
    }
    let kept: Vec<u64> = (1..=40).filter(|&s| kept(&store, s).is_some()).collect();
    assert_eq!(kept, (33..=40).collect::<Vec<_>>(), "the newest 16 MiB");
    assert_accounted(&store);
}

/// One busy session cannot push another's streams out: at its share of streams it forgets
/// its own oldest, where the global cap would have taken the other session's.
#[test]
fn the_default_store_keeps_one_session_within_its_share_of_streams() {
    let store = InMemoryEventStore::default();
    store.open_stream(0, "quiet");
    store.append(0, event(1));
    for stream in 1..=10_000 {
        store.open_stream(stream, "busy");
    }
    assert_eq!(kept_in(&store, 0, "quiet").unwrap(), [1]);
    assert!(
        kept_in(&store, 9_000, "busy").is_none(),
        "its own oldest went"
    );
    assert!(kept_in(&store, 10_000, "busy").is_some());
    assert_accounted(&store);
}

#[test]
fn beyond_its_bytes_the_store_forgets_finished_streams_first_the_oldest_finished_first() {
    let store = InMemoryEventStore::new(10, 10, Duration::from_secs(60)).max_bytes(100);
    let forty = Bytes::from(vec![b'x'; 40]);
    // Each stream its own session: only the store's total bounds them.
    for (stream, session) in [(1, "a"), (2, "b"), (3, "c")] {
        store.open_stream(stream, session);
    }
    store.append(1, sized(1, &forty));
    store.append(2, sized(1, &forty));
    store.finish(2);
    store.finish(1);
    store.append(3, sized(1, &forty));
    assert!(kept_in(&store, 2, "b").is_none(), "finished first");
    assert_eq!(kept_in(&store, 1, "a").unwrap(), [1]);
    assert_eq!(kept_in(&store, 3, "c").unwrap(), [1]);
    store.append(3, sized(2, &forty));
    assert!(kept_in(&store, 1, "a").is_none());
    assert_eq!(kept_in(&store, 3, "c").unwrap(), [1, 2]);
    assert_accounted(&store);
}

#[test]
fn with_no_finished_stream_left_the_heaviest_session_loses_its_oldest_events_first() {
    let store = InMemoryEventStore::new(10, 10, Duration::from_secs(60)).max_bytes(100);
    let (twenty, thirty) = (Bytes::from(vec![b'x'; 20]), Bytes::from(vec![b'x'; 30]));
    store.open_stream(1, "a");
    store.open_stream(2, "b");
    // b-1 is the oldest event, but a holds the most.
    store.append(2, sized(1, &twenty));
    for sequence in 1..=3 {
        store.append(1, sized(sequence, &twenty));
    }
    // 110 bytes: a (60) loses its oldest events until all hold an eighth under the bound
    // (88): a-1 and a-2. b keeps everything.
    store.append(2, sized(2, &thirty));
    assert_eq!(kept_in(&store, 1, "a").unwrap(), [3]);
    assert_eq!(store.replay(1, "a", 0).unwrap().trimmed_through, 2);
    assert_eq!(kept_in(&store, 2, "b").unwrap(), [1, 2]);
    assert_accounted(&store);
    // Now b holds the most (80 against 20): its oldest goes first, though a-3 is older.
    store.append(2, sized(3, &thirty));
    store.append(2, sized(4, &twenty));
    assert_eq!(kept_in(&store, 2, "b").unwrap(), [3, 4]);
    assert_eq!(kept_in(&store, 1, "a").unwrap(), [3]);
    assert_accounted(&store);
}

#[test]
fn stateless_streams_lose_their_oldest_events_once_no_session_has_any() {
    let store = InMemoryEventStore::new(10, 10, Duration::from_secs(60)).max_bytes(100);
    let thirty = Bytes::from(vec![b'x'; 30]);
    store.open_stream(1, "");
    store.open_stream(2, "");
    store.append(1, sized(1, &thirty));
    store.append(2, sized(1, &thirty));
    store.append(2, sized(2, &thirty));
    store.append(1, sized(2, &thirty));
    // Oldest first across streams, down to 88: a-1, then b-1.
    assert_eq!(kept_in(&store, 1, "").unwrap(), [2]);
    assert_eq!(kept_in(&store, 2, "").unwrap(), [2]);
    assert_accounted(&store);
}

#[test]
fn an_event_larger_than_the_bound_is_not_kept_and_its_stream_is_trimmed_through_it() {
    let store = InMemoryEventStore::new(10, 10, Duration::from_secs(60))
        .max_bytes(1_000)
        .max_bytes_per_session(100);
    store.open_stream(1, "a");
    store.open_stream(2, "b");
    store.append(2, event(1));
    store.append(1, event(1));
    store.append(1, sized(2, &Bytes::from(vec![b'x'; 101])));
    let replay = store.replay(1, "a", 0).unwrap();
    assert!(replay.events.is_empty());
    assert_eq!(
        replay.trimmed_through, 2,
        "a resumption from before it is refused"
    );
    store.append(1, event(3));
    assert_eq!(kept_in(&store, 1, "a").unwrap(), [3]);
    assert_eq!(
        kept_in(&store, 2, "b").unwrap(),
        [1],
        "nobody else paid for it"
    );
    // Without a session only the store's total bounds an event.
    store.open_stream(3, "");
    store.append(3, sized(1, &Bytes::from(vec![b'x'; 500])));
    assert_eq!(kept_in(&store, 3, "").unwrap(), [1]);
    assert_accounted(&store);
}

#[test]
fn a_session_beyond_its_share_of_bytes_loses_its_own_finished_streams_then_its_oldest_events() {
    let store = InMemoryEventStore::new(10, 100, Duration::from_secs(60))
        .max_bytes(1_000)
        .max_bytes_per_session(100);
    let forty = Bytes::from(vec![b'x'; 40]);
    store.open_stream(1, "other");
    store.append(1, sized(1, &forty));
    store.finish(1);
    // The busy session's finished streams go first, its oldest first...
    store.open_stream(2, "busy");
    store.open_stream(3, "busy");
    store.append(3, sized(1, &forty));
    store.finish(3);
    store.open_stream(4, "busy");
    store.append(4, sized(1, &forty));
    store.finish(4);
    store.append(2, sized(1, &forty));
    assert!(kept_in(&store, 3, "busy").is_none());
    assert_eq!(kept_in(&store, 4, "busy").unwrap(), [1]);
    store.append(2, sized(2, &forty));
    assert!(kept_in(&store, 4, "busy").is_none());
    // ...then the oldest events of its live ones.
    store.append(2, sized(3, &forty));
    assert_eq!(kept_in(&store, 2, "busy").unwrap(), [2, 3]);
    assert_eq!(store.replay(2, "busy", 0).unwrap().trimmed_through, 1);
    // The other session kept everything, though older.
    assert_eq!(kept_in(&store, 1, "other").unwrap(), [1]);
    assert_accounted(&store);
}

#[test]
fn a_session_at_its_share_of_streams_forgets_its_own_oldest_finished_then_oldest_live() {
    let store =
        InMemoryEventStore::new(10, 100, Duration::from_secs(60)).max_streams_per_session(3);
    store.open_stream(1, "other");
    for stream in 2..=4 {
        store.open_stream(stream, "busy");
    }
    store.finish(3);
    store.open_stream(5, "busy");
    assert!(
        kept_in(&store, 3, "busy").is_none(),
        "its finished one first"
    );
    assert!(kept_in(&store, 2, "busy").is_some());
    store.open_stream(6, "busy");
    assert!(
        kept_in(&store, 2, "busy").is_none(),
        "then its oldest live one"
    );
    for stream in [4, 5, 6] {
        assert!(kept_in(&store, stream, "busy").is_some(), "{stream}");
    }
    assert!(kept_in(&store, 1, "other").is_some());
    assert_accounted(&store);
}

/// Many sessions opening, appending, finishing and expiring in a fixed pseudo-random mix:
/// the totals stay exact and every bound holds after each step.
#[test]
fn the_totals_stay_exact_through_a_mix_of_everything() {
    let store = InMemoryEventStore::new(4, 40, Duration::from_millis(5))
        .max_bytes(2_000)
        .max_bytes_per_session(600)
        .max_streams_per_session(8);
    let sessions = ["", "a", "b", "c", "d", "e"];
    let mut next = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |below: u64| {
        next ^= next << 13;
        next ^= next >> 7;
        next ^= next << 17;
        next % below
    };
    let mut sequence = 0;
    for stream in 0..2_000_u64 {
        let session = sessions[random(sessions.len() as u64) as usize];
        store.open_stream(stream, session);
        for _ in 0..random(4) {
            let target = stream.saturating_sub(random(10));
            sequence += 1;
            let size = random(300) as usize;
            store.append(target, sized(sequence, &Bytes::from(vec![b'x'; size])));
        }
        if random(3) == 0 {
            store.finish(stream.saturating_sub(random(5)));
        }
        if random(50) == 0 {
            std::thread::sleep(Duration::from_millis(6));
            let _ = store.replay(stream, session, 0);
        }
        assert_accounted(&store);
    }
}

#[test]
fn a_replay_tells_the_last_sequence_appended_even_once_trimmed() {
    let store = InMemoryEventStore::new(2, 10, Duration::from_secs(60));
    store.open_stream(1, "s");
    assert_eq!(store.replay(1, "s", 0).unwrap().last_sequence, 0);
    for sequence in 1..=5 {
        store.append(1, event(sequence));
    }
    // After the last event: nothing to replay, but the stream got that far.
    let caught_up = store.replay(1, "s", 5).unwrap();
    assert!(caught_up.events.is_empty());
    assert_eq!(caught_up.last_sequence, 5);
    assert_eq!(store.replay(1, "s", 9).unwrap().last_sequence, 5);
    // Every event trimmed by age: the last trimmed is the last appended.
    let store = InMemoryEventStore::new(2, 10, Duration::from_millis(10));
    store.open_stream(1, "s");
    store.append(1, event(1));
    store.append(1, event(2));
    std::thread::sleep(Duration::from_millis(30));
    let replay = store.replay(1, "s", 2).unwrap();
    assert!(replay.events.is_empty());
    assert_eq!((replay.trimmed_through, replay.last_sequence), (2, 2));
}
