//! Closing connections that wait too long for a request: a client that connects and sends
//! nothing, sends its request head a byte at a time (slow loris), or leaves a keep-alive
//! connection idle holds a task and a socket for at most
//! [`HEADER_READ_TIMEOUT`](super::HEADER_READ_TIMEOUT) and two tenths.
//!
//! hyper enforces a header read timeout itself when given a timer, but it arms a new one for
//! every request: a boxed sleep, registered in Tokio's timer wheel (under its lock) and removed
//! again. Measured under callgrind with the load kit, that was 1 500 instructions of a
//! 35 000-instruction request. Here a request costs two atomic additions on its connection's
//! own counter, and one sweep per tick over all connections finds those that had no request
//! in flight, and started none, for the whole timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::send::{Sent, Stalls};
use super::streams::Streams;

/// Sweeps per timeout: a connection expires after idling between 10 and 11 tenths of it.
pub(crate) const SWEEPS_PER_TIMEOUT: u32 = 10;

/// One request started: the high half of [`Activity::word`] counts these.
const STARTED: u64 = 1 << 32;
/// The low half of [`Activity::word`]: requests in flight.
const IN_FLIGHT: u64 = STARTED - 1;
/// No word the connection has had yet: a new connection's idle time starts at its first sweep.
const NOT_SEEN: u64 = u64::MAX;

/// What one connection is doing, as far as its idle time goes.
#[derive(Debug)]
pub(crate) struct Activity {
    /// Requests started (high half) and requests in flight, response body included (low
    /// half): one addition marks a start, and a connection whose word has not changed between
    /// two sweeps, with nothing in flight, was idle all that time.
    word: AtomicU64,
    /// The sweeps' view: the word at the start of the current idle spell, and how many sweeps
    /// have seen it unchanged since.
    idle_word: AtomicU64,
    idle_sweeps: AtomicU32,
    /// Set by the sweep that found the connection idle for the whole timeout.
    expired: AtomicBool,
    /// The long-lived streams among its responses, which never make it idle but which
    /// shutdown must end ([`streams`](super::streams)).
    streams: Streams,
    /// What of it waits to be sent, for the send timeout ([`send`](super::send)).
    stalls: Stalls,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            word: AtomicU64::new(0),
            idle_word: AtomicU64::new(NOT_SEEN),
            idle_sweeps: AtomicU32::new(0),
            expired: AtomicBool::new(false),
            streams: Streams::default(),
            stalls: Stalls::default(),
        }
    }
}

impl Activity {
    /// Requests in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u64 {
        self.word.load(Relaxed) & IN_FLIGHT
    }

    /// A request starts; it is in flight until the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.word.fetch_add(STARTED | 1, Relaxed);
        InFlight {
            activity: Arc::clone(self),
            frames: false,
        }
    }

    /// The connection's long-lived streams.
    pub(crate) fn streams(&self) -> &Streams {
        &self.streams
    }

    /// What of the connection waits to be sent.
    pub(crate) fn stalls(&self) -> &Stalls {
        &self.stalls
    }

    /// One sweep; `true` when this one finds the connection idle for `sweeps` sweeps in a row
    /// (it is then marked expired, and its task must be woken to close it).
    pub(crate) fn sweep(&self, sweeps: u32) -> bool {
        let word = self.word.load(Relaxed);
        // A response still being written is work too: hyper drops a body once it has its
        // last frame, before writing it (a JSON answer is one frame), so what waits to be
        // sent (a blocked write, an HTTP/2 frame short of credit) keeps the connection busy.
        // The send timeout, not this one, bounds how long it may wait.
        let writing = self.stalls.any_waiting();
        if word & IN_FLIGHT != 0 || writing || word != self.idle_word.load(Relaxed) {
            // Busy, or a request came and went since the last sweep: a new idle spell.
            self.idle_word.store(word, Relaxed);
            self.idle_sweeps.store(0, Relaxed);
            return false;
        }
        let idle = self.idle_sweeps.load(Relaxed).saturating_add(1);
        self.idle_sweeps.store(idle, Relaxed);
        if idle < sweeps || self.expired.load(Relaxed) {
            return false;
        }
        self.expired.store(true, Relaxed);
        true
    }

    /// Whether the connection must close now: a sweep found it expired and no request has
    /// started since. Called by the connection's own task, the only one that starts requests,
    /// so a request cannot start between this check and the close.
    pub(crate) fn should_close(&self) -> bool {
        if !self.expired.load(Relaxed) {
            return false;
        }
        let word = self.word.load(Relaxed);
        if word & IN_FLIGHT == 0
            && word == self.idle_word.load(Relaxed)
            && !self.stalls.any_waiting()
        {
            return true;
        }
        self.expired.store(false, Relaxed);
        false
    }

    /// At shutdown: the next sweep expires the connection if it has had no request in flight
    /// and started none since now. A graceful shutdown leaves alone a request head still
    /// trickling in, which would otherwise hold the process for the whole grace period.
    pub(crate) fn expire_at_next_sweep_if_idle(&self) {
        self.idle_word.store(self.word.load(Relaxed), Relaxed);
        self.expire_at_next_sweep();
    }

    /// After an expired connection was asked to close gracefully: the next sweep expires it
    /// again if it is still idle, so that one that did not close (a request head still
    /// trickling in, which a graceful shutdown leaves alone) is dropped a tenth later.
    pub(crate) fn expire_at_next_sweep(&self) {
        self.idle_sweeps.store(u32::MAX - 1, Relaxed);
        self.expired.store(false, Relaxed);
    }
}

/// A request in flight on its connection: dropped when its response body is done.
#[derive(Debug)]
pub(crate) struct InFlight {
    activity: Arc<Activity>,
    /// Whether its body's frames are watched for the send timeout ([`watch_frames`]).
    ///
    /// [`watch_frames`]: Self::watch_frames
    frames: bool,
}

impl InFlight {
    /// What its connection is doing.
    pub(crate) fn activity(&self) -> &Activity {
        &self.activity
    }

    /// Watches its body's data frames for the send timeout until they are written: on
    /// HTTP/2, where one stream can stall (no flow-control credit) while the socket and other
    /// streams move. An HTTP/1 connection's socket is watched instead ([`send`](super::send)),
    /// which also catches a stall between two responses.
    pub(crate) fn watch_frames(&mut self) {
        self.frames = true;
    }

    /// A data frame of its body, watched if its frames are.
    fn sent<D>(&self, data: D) -> Sent<D> {
        if self.frames {
            Sent::watched(data, &self.activity)
        } else {
            Sent::unwatched(data)
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.word.fetch_sub(1, Relaxed);
    }
}

pin_project! {
    /// A response body that keeps its request in flight until its last frame: a streamed
    /// answer (SSE) is a connection at work, not an idle one. And, when its frames are
    /// watched, whose data frames count as waiting until written, for the send timeout
    /// ([`send`](super::send)).
    #[derive(Debug)]
    pub(crate) struct CountedBody<B> {
        #[pin]
        inner: B,
        in_flight: Option<InFlight>,
    }
}

impl<B> CountedBody<B> {
    pub(crate) fn new(inner: B, in_flight: Option<InFlight>) -> Self {
        Self { inner, in_flight }
    }

    #[cfg(test)]
    pub(crate) fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B: Body> Body for CountedBody<B> {
    type Data = Sent<B::Data>;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Sent<B::Data>>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let frame = match (frame, this.in_flight.as_ref()) {
            (Some(Ok(frame)), Some(in_flight)) => Ok(frame.map_data(|data| in_flight.sent(data))),
            // Done, or not counted.
            (Some(Ok(frame)), None) => Ok(frame.map_data(Sent::unwatched)),
            // An error ends the response.
            (Some(Err(error)), _) => Err(error),
            (None, _) => {
                *this.in_flight = None;
                return Poll::Ready(None);
            }
        };
        if frame.is_err() {
            *this.in_flight = None;
        }
        Poll::Ready(Some(frame))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_for_the_whole_timeout_expires_once() {
        let activity = Arc::new(Activity::default());
        // The first sweep starts the idle spell; three more make three idle sweeps.
        assert!(!activity.sweep(3));
        assert!(!activity.sweep(3));
        assert!(!activity.sweep(3));
        assert!(!activity.should_close());
        assert!(activity.sweep(3));
        assert!(activity.should_close());
        assert!(!activity.sweep(3), "reported once");
    }

    #[test]
    fn a_request_in_flight_or_between_sweeps_restarts_the_spell() {
        let activity = Arc::new(Activity::default());
        activity.sweep(2);
        let request = activity.start();
        for _ in 0..5 {
            assert!(!activity.sweep(2), "in flight: never idle");
        }
        drop(request);
        assert!(!activity.sweep(2), "a new spell");
        assert!(!activity.sweep(2));
        // A request that comes and goes between two sweeps.
        drop(activity.start());
        assert!(!activity.sweep(2), "the word changed: a new spell");
        assert!(!activity.sweep(2));
        assert!(activity.sweep(2));
    }

    #[test]
    fn after_a_graceful_close_the_next_sweep_expires_again() {
        let activity = Arc::new(Activity::default());
        for _ in 0..2 {
            activity.sweep(5);
        }
        activity.expire_at_next_sweep();
        assert!(!activity.should_close());
        assert!(activity.sweep(5));
        assert!(activity.should_close());
    }

    #[test]
    fn a_request_started_after_expiry_keeps_the_connection() {
        let activity = Arc::new(Activity::default());
        for _ in 0..2 {
            activity.sweep(1);
        }
        let request = activity.start();
        assert!(
            !activity.should_close(),
            "a request came in after the sweep"
        );
        drop(request);
        assert!(!activity.should_close(), "and the expiry is forgotten");
    }

    #[tokio::test]
    async fn the_body_keeps_the_request_in_flight_until_its_end() {
        use http_body_util::{BodyExt, StreamBody};

        let activity = Arc::new(Activity::default());
        let frames = [Ok::<_, ()>(Frame::data(bytes::Bytes::from_static(
            b"event",
        )))];
        let stream = futures_util::stream::iter(frames);
        let mut body = CountedBody::new(StreamBody::new(stream), Some(activity.start()));
        assert!(body.frame().await.is_some());
        assert_eq!(activity.in_flight(), 1, "more may come");
        assert!(body.frame().await.is_none());
        assert_eq!(activity.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_watched_data_frame_waits_until_it_is_written() {
        use bytes::Buf;
        use http_body_util::{BodyExt, Full};

        let times_out = |activity: &Arc<Activity>| {
            (0..=2 * SWEEPS_PER_TIMEOUT).any(|_| activity.stalls().sweep())
        };
        let data = || Full::new(bytes::Bytes::from_static(b"x"));

        let activity = Arc::new(Activity::default());
        let mut in_flight = activity.start();
        in_flight.watch_frames();
        let mut body = CountedBody::new(data(), Some(in_flight));
        let frame = body.frame().await.unwrap().unwrap();
        assert!(body.frame().await.is_none());
        drop(body);
        assert_eq!(activity.in_flight(), 0, "the body is done");
        assert!(times_out(&activity), "but its frame was never written");
        drop(frame);

        let activity = Arc::new(Activity::default());
        let mut in_flight = activity.start();
        in_flight.watch_frames();
        let mut body = CountedBody::new(data(), Some(in_flight));
        let mut frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame.chunk(), b"x");
        // Written out: once the connection is done with it, it is dropped.
        frame.advance(1);
        drop(frame);
        assert!(!times_out(&activity));

        // Unwatched (HTTP/1, whose socket is watched instead): nothing waits.
        let activity = Arc::new(Activity::default());
        let mut body = CountedBody::new(data(), Some(activity.start()));
        let _frame = body.frame().await.unwrap().unwrap();
        assert!(!times_out(&activity));
    }
}
