//! Where SSE events wait for a client that reconnects with `Last-Event-ID`.
//!
//! Event ids are `<stream>-<sequence>`: the stream id tells which stream to resume, the
//! sequence where. Each stream belongs to one session, and only that session may resume it.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

mod in_memory;

pub use in_memory::InMemoryEventStore;

/// A stored SSE event: its sequence number within the stream and its JSON payload.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The position in the stream (1-based; 0 is the priming event).
    pub sequence: u64,
    /// The JSON-RPC message.
    pub data: Bytes,
}

/// Keeps recent events per stream, for clients that resume a stream with `Last-Event-ID`.
///
/// The contract the bridge relies on:
///
/// - A stream is *live* from [`open_stream`](Self::open_stream) until
///   [`finish`](Self::finish). The bridge finishes every stream it opens: when its request is
///   answered (or its handler dies), and a session's GET stream when the session ends or
///   replaces it, or at shutdown. A store should forget a live stream only when it must to
///   stay bounded, since its client may be about to resume it.
/// - A store may trim a stream's oldest events (to bound it per stream, by age or by size),
///   but must then say so in [`Replay::trimmed_through`]: the bridge refuses (400) a resumption from
///   before it, which would silently skip the trimmed events.
/// - Sequences of a stream are appended in increasing order, and a store reports the
///   highest one it was given in [`Replay::last_sequence`], trimmed or not: the bridge
///   refuses (400) a resumption from after it, which names an event never sent.
/// - Stream ids are not reused: the bridge numbers streams from one counter.
pub trait EventStore: Send + Sync + 'static {
    /// Starts a stream owned by `session` (empty for stateless).
    fn open_stream(&self, stream: u64, session: &str);
    /// Appends an event.
    fn append(&self, stream: u64, event: StoredEvent);
    /// Marks the stream complete: nothing more will be appended.
    fn finish(&self, stream: u64);
    /// Events after `sequence`, whether the stream is finished, how far it was trimmed, and a
    /// notifier for more; `None` when the stream is unknown, expired or owned by another
    /// session.
    fn replay(&self, stream: u64, session: &str, after: u64) -> Option<Replay>;
}

/// The answer to a resumption.
#[derive(Debug)]
pub struct Replay {
    /// Events after the requested one.
    pub events: Vec<StoredEvent>,
    /// Whether the stream has ended.
    pub finished: bool,
    /// The last sequence trimmed from the stream (by a per-stream cap, by age or by size); 0
    /// when nothing was. A resumption after an earlier sequence would miss events, and is refused.
    pub trimmed_through: u64,
    /// The highest sequence appended to the stream, trimmed since or not; 0 when nothing was.
    /// A resumption after a later sequence names an event the stream never had, and is
    /// refused.
    pub last_sequence: u64,
    /// Fires when the stream gets more events or finishes.
    pub more: Arc<Notify>,
}

/// Parses an event id into `(stream, sequence)`: two decimal numbers as the SSE frames write
/// them (no sign, which `u64::from_str` would take).
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, sequence) = id.split_once('-')?;
    let number = |digits: &str| {
        let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        all_digits.then(|| digits.parse().ok()).flatten()
    };
    Some((number(stream)?, number(sequence)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_round_trip() {
        // As the SSE frames write them (`sse::frame`).
        assert_eq!(parse_event_id("42-7"), Some((42, 7)));
        assert_eq!(parse_event_id("nope"), None);
        assert_eq!(parse_event_id("1-x"), None);
        for signed in ["+4-+0", "+4-0", "4-+0", "4--0", "-4-0"] {
            assert_eq!(parse_event_id(signed), None, "{signed}");
        }
        assert_eq!(parse_event_id("4-"), None);
        assert_eq!(
            parse_event_id(&format!("{0}-{0}", u64::MAX)),
            Some((u64::MAX, u64::MAX))
        );
        assert_eq!(parse_event_id("18446744073709551616-0"), None, "beyond u64");
    }
}
