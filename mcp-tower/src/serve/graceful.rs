//! Graceful shutdown of the connections [`serve_with_shutdown`](super::serve_with_shutdown)
//! spawned, costing nothing shared per request, their long-lived streams included
//! ([`streams`](super::streams)); and the sweeps that close idle ones ([`idle`](super::idle))
//! and drop those that stopped taking a response ([`send`](super::send)).
//!
//! hyper-util's `GracefulShutdown` polls a `watch` channel's `changed()` future on every poll
//! of every connection, and a pending `changed()` takes the channel's waiter lock, shared by
//! all connections, on each of those polls. Measured with the load kit (`load bench --pid`,
//! 3 alternating rounds, 32 connections): 2 to 3 µs of server CPU per request, about a tenth
//! of the whole request. Here a connection checks one flag and keeps its task's waker in its
//! own slot; the lock is taken when a connection opens or closes and at shutdown, never per
//! poll.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use hyper_util::server::graceful::GracefulConnection;
use pin_project_lite::pin_project;
use tokio::sync::Notify;

use super::idle::{Activity, SWEEPS_PER_TIMEOUT};

/// What the server keeps of one open connection.
struct Watch {
    /// The connection task's waker, for shutdown and expiry.
    waker: AtomicWaker,
    activity: Arc<Activity>,
}

/// The open connections and whether shutdown has begun.
#[derive(Default)]
struct Shared {
    shutting_down: AtomicBool,
    /// Each open connection, by connection number.
    connections: Mutex<HashMap<u64, Arc<Watch>>>,
    /// Told when the last connection closes after shutdown began.
    all_closed: Notify,
}

impl Shared {
    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
        // The map stays consistent whatever panicked while it was held.
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Hands out watched connections and, at the end, tells them all to finish.
#[derive(Default)]
pub(crate) struct Shutdown {
    shared: Arc<Shared>,
    next: u64,
}

impl Shutdown {
    /// `connection`, told to finish its requests and close when [`shutdown`](Self::shutdown)
    /// is called, and closed when [`sweep`](Self::sweep) finds its `activity` idle too long.
    pub(crate) fn watch<C: GracefulConnection>(
        &mut self,
        connection: C,
        activity: Arc<Activity>,
    ) -> Watched<C> {
        let number = self.next;
        self.next += 1;
        let watch = Arc::new(Watch {
            waker: AtomicWaker::new(),
            activity,
        });
        self.shared.connections().insert(number, Arc::clone(&watch));
        Watched {
            connection,
            watch,
            told: false,
            open: Open {
                shared: Arc::clone(&self.shared),
                number,
            },
        }
    }

    /// How many connections are open.
    pub(crate) fn count(&self) -> usize {
        self.shared.connections().len()
    }

    /// One of the [`SWEEPS_PER_TIMEOUT`] sweeps per idle timeout: wakes the connections idle
    /// for the whole timeout, which then close.
    pub(crate) fn sweep(&self) {
        for watch in self.shared.connections().values() {
            if watch.activity.sweep(SWEEPS_PER_TIMEOUT) {
                watch.waker.wake();
            }
        }
    }

    /// One of the [`SWEEPS_PER_TIMEOUT`] sweeps per send timeout: wakes the connections with
    /// a response frame not taken for the whole timeout, which are then dropped.
    pub(crate) fn sweep_sends(&self) {
        for watch in self.shared.connections().values() {
            if watch.activity.stalls().sweep() {
                watch.waker.wake();
            }
        }
    }

    /// Tells every open connection to finish, and ends its long-lived streams so that it
    /// can; then waits until all are closed. The sweeps may go on meanwhile.
    pub(crate) async fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        for watch in self.shared.connections().values() {
            // Each stream then ends by itself (a listen stream after its cancellation and closing result), and
            // the connection closes once its responses are written.
            watch.activity.streams().end();
            // One with nothing in flight (a request head still arriving) is dropped a sweep
            // later, as an idle one would be after its timeout.
            watch.activity.expire_at_next_sweep_if_idle();
            watch.waker.wake();
        }
        // `notify_one` keeps a permit when no one waits yet, so a close between the check and
        // the wait is not missed.
        while self.count() > 0 {
            self.shared.all_closed.notified().await;
        }
    }
}

/// Unregisters a connection when it is dropped, finished or not.
struct Open {
    shared: Arc<Shared>,
    number: u64,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut connections = self.shared.connections();
        connections.remove(&self.number);
        if connections.is_empty() && self.shared.shutting_down.load(Ordering::SeqCst) {
            self.shared.all_closed.notify_one();
        }
    }
}

/// Why a watched connection was dropped rather than left to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// Idle for the whole idle timeout, and still open a sweep after a graceful close.
    Idle,
    /// A response frame was not taken for the whole send timeout: the response cannot
    /// finish, so neither can a graceful close.
    Stalled,
}

pin_project! {
    /// A connection watched by [`Shutdown`]: its output, or why it was dropped.
    pub(crate) struct Watched<C> {
        #[pin]
        connection: C,
        watch: Arc<Watch>,
        // Whether the connection was told to shut down.
        told: bool,
        open: Open,
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = Result<C::Output, Dropped>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<C::Output, Dropped>> {
        let mut this = self.project();
        // Registered before the flags are read: `shutdown` and the sweeps set theirs before
        // waking, so either this poll sees them or the wake reaches the waker registered here.
        this.watch.waker.register(cx.waker());
        if this.watch.activity.stalls().timed_out() {
            return Poll::Ready(Err(Dropped::Stalled));
        }
        if this.watch.activity.should_close() {
            if *this.told {
                // Still open a sweep after being told, nothing in flight and nothing waiting
                // to be written: dropping the connection loses no answer.
                return Poll::Ready(Err(Dropped::Idle));
            }
            // First a graceful close: HTTP/2 says GOAWAY, an idle HTTP/1 connection closes.
            *this.told = true;
            this.connection.as_mut().graceful_shutdown();
            this.watch.activity.expire_at_next_sweep();
        }
        if !*this.told && this.open.shared.shutting_down.load(Ordering::SeqCst) {
            *this.told = true;
            this.connection.as_mut().graceful_shutdown();
        }
        this.connection.poll(cx).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn shutdown_tells_every_connection_and_waits_for_them() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut shutdown = Shutdown::default();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let client = tokio::net::TcpStream::connect(address).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(server), service);
            let watched = shutdown.watch(connection, Arc::default());
            tasks.push((client, tokio::spawn(watched)));
        }
        // Polled once (idle, waiting for a request) before shutdown starts.
        tokio::task::yield_now().await;
        assert_eq!(shutdown.count(), 3);
        tokio::time::timeout(Duration::from_secs(5), shutdown.shutdown())
            .await
            .expect("idle connections close when told");
        for (_client, task) in tasks {
            assert!(task.is_finished());
        }
    }

    #[tokio::test]
    async fn shutdown_ends_the_streams_of_every_connection() {
        let mut shutdown = Shutdown::default();
        let (_client, connection) = connected().await;
        let activity = Arc::<Activity>::default();
        let stream = tokio_util::sync::CancellationToken::new();
        activity.streams().add(stream.clone());
        let task = tokio::spawn(shutdown.watch(connection, activity));
        tokio::time::timeout(Duration::from_secs(5), shutdown.shutdown())
            .await
            .expect("an idle connection closes when told");
        assert!(stream.is_cancelled());
        assert!(task.await.unwrap().is_ok());
    }

    /// A client socket and the server's HTTP/1 connection of it, which nothing was sent on.
    async fn connected() -> (
        tokio::net::TcpStream,
        impl GracefulConnection<Output = hyper::Result<()>> + Send + 'static,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_request| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        (client, connection)
    }

    #[tokio::test]
    async fn a_dropped_connection_is_forgotten() {
        let mut shutdown = Shutdown::default();
        let (_client, connection) = connected().await;
        drop(shutdown.watch(connection, Arc::default()));
        assert_eq!(shutdown.count(), 0);
        tokio::time::timeout(Duration::from_secs(1), shutdown.shutdown())
            .await
            .expect("nothing to wait for");
    }

    #[tokio::test]
    async fn a_request_in_flight_is_answered_before_its_connection_closes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (started, mut handler_started) = tokio::sync::mpsc::channel::<()>(1);
        let service = hyper::service::service_fn(move |_request| {
            let started = started.clone();
            async move {
                let _ = started.send(()).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok::<_, std::convert::Infallible>(http::Response::new("done".to_owned()))
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let mut shutdown = Shutdown::default();
        let task = tokio::spawn(shutdown.watch(connection, Arc::default()));
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        handler_started.recv().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), shutdown.shutdown())
            .await
            .expect("closes once the request is answered");
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("done"), "{response}");
        assert!(task.await.unwrap().expect("not closed as idle").is_ok());
    }

    #[tokio::test]
    async fn sweeps_close_a_connection_idle_for_the_whole_timeout() {
        let (_client, connection) = connected().await;
        let mut shutdown = Shutdown::default();
        let activity = Arc::<Activity>::default();
        let task = tokio::spawn(shutdown.watch(connection, Arc::clone(&activity)));
        tokio::task::yield_now().await;
        // The first sweep starts the idle spell, and nine more are not yet the whole timeout.
        for _ in 0..SWEEPS_PER_TIMEOUT {
            shutdown.sweep();
            tokio::task::yield_now().await;
            assert!(!task.is_finished());
        }
        let in_flight = activity.start();
        shutdown.sweep();
        let closed = tokio::time::timeout(Duration::from_millis(200), async {
            while !task.is_finished() {
                tokio::task::yield_now().await;
            }
        });
        assert!(closed.await.is_err(), "a request came in: not idle");
        drop(in_flight);
        for _ in 0..=SWEEPS_PER_TIMEOUT {
            shutdown.sweep();
        }
        // Told to close gracefully: with nothing received, hyper closes at once. (One that
        // ignores it, mid-way through a request head, is dropped a sweep later: see the
        // byte-at-a-time test in `serve`.)
        let output = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("closed once idle for the whole timeout")
            .unwrap();
        assert!(
            output.is_ok_and(|closed| closed.is_ok()),
            "closed gracefully"
        );
        assert_eq!(shutdown.count(), 0);
    }
}
