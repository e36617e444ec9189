//! Dropping connections that stop taking their responses: a client that stops reading (a
//! zero TCP window, or no HTTP/2 `WINDOW_UPDATE`) would otherwise hold the response, its
//! task and the connection for as long as it likes, since a response still being written is
//! never idle ([`idle`](super::idle)).
//!
//! Two things wait, and either waiting for the whole send timeout drops the connection:
//!
//! - The socket: a write that returned `Pending` (the kernel's send buffer is full) until one
//!   makes progress ([`WatchedIo`]). That is all there is to HTTP/1, one response at a time,
//!   and it also catches a pipelined request whose answer waits behind an unwritten one.
//! - An HTTP/2 response's data frame, from when its body yields it, or h2 last took a part of
//!   it to write, until it is written out: h2 keeps a frame until the stream has flow-control
//!   credit for all of it, takes it in parts as credit comes, and drops it then ([`Sent`]).
//!   One stream can lack credit while the socket and other streams move; a stream that gets
//!   some, however little, is moving. A body that is pending (an SSE stream waiting for
//!   events) has nothing waiting.
//!
//! Like the idle sweep, no timer per request: a connection counts what waits in [`BUCKETS`]
//! buckets, one per sweep period, ringed. What starts waiting adds one to the current bucket
//! and takes it away when it stops (or is dropped). The sweep moves to the next bucket, which
//! last held what started waiting [`BUCKETS`] − 1 sweeps ago: if any still waits, it has for
//! the whole send timeout. A write that makes progress costs nothing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::idle::{Activity, SWEEPS_PER_TIMEOUT};

/// One bucket per sweep period of the timeout, and the one being reused: a body expires
/// after waiting between 10 and 11 tenths of the timeout.
const BUCKETS: usize = SWEEPS_PER_TIMEOUT as usize + 1;

/// What of one connection waits to be sent: its socket, or an HTTP/2 response frame.
#[derive(Debug, Default)]
pub(crate) struct Stalls {
    /// The bucket a body that hands over a frame now is counted in. Written by the sweep only.
    current: AtomicUsize,
    /// Per bucket, what started waiting during its sweep period and still waits.
    waiting: [AtomicU32; BUCKETS],
    /// Set by the sweep that found a body waiting for the whole timeout.
    timed_out: AtomicBool,
}

impl Stalls {
    /// Something starts waiting (a data frame not yet written, a blocked write); the bucket
    /// to give to [`taken`](Self::taken) when it stops.
    fn handed_over(&self) -> usize {
        let bucket = self.current.load(Relaxed);
        self.waiting[bucket].fetch_add(1, Relaxed);
        bucket
    }

    /// What started waiting in `bucket` stopped: the frame was written, the write made
    /// progress, or the connection is gone.
    fn taken(&self, bucket: usize) {
        self.waiting[bucket].fetch_sub(1, Relaxed);
    }

    /// One of the [`SWEEPS_PER_TIMEOUT`] sweeps per send timeout; `true` when this one finds
    /// something waiting for the whole timeout (reported once: the connection must then be
    /// dropped, as it cannot finish that response).
    pub(crate) fn sweep(&self) -> bool {
        if self.timed_out.load(Relaxed) {
            return false;
        }
        let next = (self.current.load(Relaxed) + 1) % BUCKETS;
        if self.waiting[next].load(Relaxed) != 0 {
            self.timed_out.store(true, Relaxed);
            return true;
        }
        // A waiter that read the old bucket just before this store counts as a sweep older
        // than it is: closed at most a tenth early, never missed.
        self.current.store(next, Relaxed);
        false
    }

    /// Whether anything of the connection waits to be sent now.
    pub(crate) fn any_waiting(&self) -> bool {
        self.waiting.iter().any(|bucket| bucket.load(Relaxed) != 0)
    }

    /// Whether a sweep found something waiting for the whole timeout.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Relaxed)
    }
}

/// Something of a connection counted as waiting, until dropped.
#[derive(Debug)]
struct Waiting {
    activity: Arc<Activity>,
    bucket: usize,
}

impl Waiting {
    fn new(activity: &Arc<Activity>) -> Self {
        Self {
            bucket: activity.stalls().handed_over(),
            activity: Arc::clone(activity),
        }
    }
}

impl Waiting {
    /// Some of it went out: it waits afresh from now, as for nginx's `send_timeout`, which
    /// times the pauses between writes and not the whole response.
    fn progressed(&mut self) {
        let stalls = self.activity.stalls();
        if stalls.current.load(Relaxed) != self.bucket {
            stalls.taken(self.bucket);
            self.bucket = stalls.handed_over();
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.activity.stalls().taken(self.bucket);
    }
}

/// A response's data frame, counted as waiting, when watched, until the connection drops it
/// (HTTP/2: once it is written out); each part of it taken to be written restarts its wait.
#[derive(Debug)]
pub(crate) struct Sent<D> {
    data: D,
    waiting: Option<Waiting>,
}

impl<D> Sent<D> {
    pub(crate) fn watched(data: D, activity: &Arc<Activity>) -> Self {
        Self {
            data,
            waiting: Some(Waiting::new(activity)),
        }
    }

    /// h2 took `count` bytes of the frame to write (it splits a frame as flow-control credit
    /// comes): the stream is moving, however slowly.
    fn progressed(&mut self, count: usize) {
        if count > 0
            && let Some(waiting) = &mut self.waiting
        {
            waiting.progressed();
        }
    }

    pub(crate) fn unwatched(data: D) -> Self {
        Self {
            data,
            waiting: None,
        }
    }
}

impl<D: Buf> Buf for Sent<D> {
    fn remaining(&self) -> usize {
        self.data.remaining()
    }

    fn chunk(&self) -> &[u8] {
        self.data.chunk()
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [io::IoSlice<'a>]) -> usize {
        self.data.chunks_vectored(dst)
    }

    fn advance(&mut self, count: usize) {
        self.data.advance(count);
        self.progressed(count);
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        // `Bytes` hands out a slice of itself rather than a copy.
        let bytes = self.data.copy_to_bytes(len);
        self.progressed(len);
        bytes
    }
}

pin_project! {
    /// A connection's socket, counted as waiting while a write is blocked.
    pub(crate) struct WatchedIo<T> {
        #[pin]
        io: T,
        activity: Arc<Activity>,
        blocked: Option<Waiting>,
    }
}

impl<T> WatchedIo<T> {
    pub(crate) fn new(io: T, activity: Arc<Activity>) -> Self {
        Self {
            io,
            activity,
            blocked: None,
        }
    }
}

/// Notes what a write returned: only a change between blocked and not costs anything.
fn track<T>(
    blocked: &mut Option<Waiting>,
    activity: &Arc<Activity>,
    poll: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    match (&poll, blocked.is_some()) {
        (Poll::Pending, false) => *blocked = Some(Waiting::new(activity)),
        (Poll::Ready(_), true) => *blocked = None,
        _ => {}
    }
    poll
}

impl<T: AsyncRead> AsyncRead for WatchedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        track(this.blocked, this.activity, this.io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        track(
            this.blocked,
            this.activity,
            this.io.poll_write_vectored(cx, bufs),
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_not_taken_for_the_whole_timeout_times_out_once() {
        let stalls = Stalls::default();
        let bucket = stalls.handed_over();
        // Ten sweeps: between nine and ten tenths of the timeout since the hand-over.
        for _ in 0..SWEEPS_PER_TIMEOUT {
            assert!(!stalls.sweep());
        }
        assert!(!stalls.timed_out());
        assert!(stalls.sweep(), "the eleventh finds it still waiting");
        assert!(stalls.timed_out());
        assert!(!stalls.sweep(), "reported once");
        stalls.taken(bucket);
    }

    #[test]
    fn frames_taken_in_time_never_time_out() {
        let stalls = Stalls::default();
        for _ in 0..5 * SWEEPS_PER_TIMEOUT {
            // Each frame waits most of the timeout, and the next one is handed over at once.
            let bucket = stalls.handed_over();
            for _ in 0..SWEEPS_PER_TIMEOUT - 1 {
                assert!(!stalls.sweep());
            }
            stalls.taken(bucket);
        }
        for _ in 0..3 * SWEEPS_PER_TIMEOUT {
            assert!(!stalls.sweep(), "nothing waits");
        }
        assert!(!stalls.timed_out());
    }

    #[test]
    fn one_stalled_body_among_moving_ones_times_out() {
        let stalls = Stalls::default();
        let stalled = stalls.handed_over();
        let mut timed_out = false;
        for _ in 0..=SWEEPS_PER_TIMEOUT {
            // Another stream on the connection keeps moving.
            let moving = stalls.handed_over();
            stalls.taken(moving);
            timed_out |= stalls.sweep();
        }
        assert!(timed_out, "the stalled body is seen despite the moving one");
        stalls.taken(stalled);
    }
}
