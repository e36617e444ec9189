//! The send timeout over real sockets: a client that stops reading is dropped, one that reads
//! slowly or waits on a quiet stream is not.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::super::*;

const SEND: Duration = Duration::from_millis(300);
/// The chunks a streamed answer is made of.
const CHUNK: usize = 32 * 1024;

/// Tells its receiver when dropped: hyper drops a response body when its connection ends.
struct Dropped(Option<oneshot::Sender<Instant>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        if let Some(tell) = self.0.take() {
            let _ = tell.send(Instant::now());
        }
    }
}

/// How an answer is sent.
#[derive(Clone, Copy)]
enum Answer {
    /// `chunks` chunks of [`CHUNK`] bytes, each after `pause`, as a stream (an SSE answer
    /// does not know its end).
    Stream { chunks: usize, pause: Duration },
    /// One frame of that many bytes, that ends the body (a JSON answer).
    Whole(usize),
}

/// Serves `answer` to every request; the receiver of the first answer's body's drop.
async fn serve_chunks(answer: Answer) -> (std::net::SocketAddr, oneshot::Receiver<Instant>) {
    let options = ServeOptions::default()
        .send_timeout(SEND)
        .idle_timeout(Duration::from_secs(30));
    serve_chunks_with(answer, options).await
}

/// [`serve_chunks`] with these options.
async fn serve_chunks_with(
    answer: Answer,
    options: ServeOptions,
) -> (std::net::SocketAddr, oneshot::Receiver<Instant>) {
    let (dropped, body_dropped) = oneshot::channel();
    let dropped = Arc::new(std::sync::Mutex::new(Some(dropped)));
    let service = tower::service_fn(move |_request: Request<Incoming>| {
        let guard = Dropped(dropped.lock().unwrap().take());
        async move {
            let body = match answer {
                Answer::Stream { chunks, pause } => {
                    let stream = futures_util::stream::iter(0..chunks).then(move |_| async move {
                        if !pause.is_zero() {
                            tokio::time::sleep(pause).await;
                        }
                        Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'x'; CHUNK])))
                    });
                    BodyExt::boxed_unsync(StreamBody::new(stream))
                }
                Answer::Whole(size) => Full::new(Bytes::from(vec![b'x'; size])).boxed_unsync(),
            };
            // Dropped with the body.
            let body = body.map_frame(move |frame| {
                let _alive = &guard;
                frame
            });
            Ok::<_, Infallible>(Response::new(body))
        }
    });
    let (address, stop) = super::serve_on_loopback(service, options).await;
    // Neither sent nor dropped (a drop stops the server too): served until the test's
    // runtime ends.
    std::mem::forget(stop);
    (address, body_dropped)
}

/// A connection with a small receive buffer, so that a large answer fills it quickly.
async fn small_window_connection(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(address).await.unwrap()
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";

/// How long after `sent` the connection was dropped, as its answer's body tells (within 10 s).
async fn time_to_drop(body_dropped: oneshot::Receiver<Instant>, sent: Instant) -> Duration {
    let dropped = tokio::time::timeout(Duration::from_secs(10), body_dropped)
        .await
        .expect("the connection is dropped")
        .unwrap();
    dropped.saturating_duration_since(sent)
}

/// An HTTP/2 `GET /` of the server at `address`.
fn get(address: std::net::SocketAddr) -> Request<Full<Bytes>> {
    Request::get(format!("http://{address}/"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Reads what comes until the server closes the connection (within 10 s); the bytes read.
async fn read_until_closed(client: &mut tokio::net::TcpStream) -> usize {
    let mut received = 0;
    let mut buffer = vec![0; 64 * 1024];
    let read_all = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match client.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received += read,
            }
        }
    });
    read_all.await.expect("the server closes the connection");
    received
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    // 8 MiB, far more than the socket buffers and hyper's write buffer hold.
    let (address, body_dropped) = serve_chunks(Answer::Stream {
        chunks: 256,
        pause: Duration::ZERO,
    })
    .await;
    let mut client = small_window_connection(address).await;
    client.write_all(GET).await.unwrap();
    let sent = Instant::now();
    let waited = time_to_drop(body_dropped, sent).await;
    // Not before the timeout (bar a sweep's rounding), and within it and a sweep or two.
    assert!(waited >= SEND * 9 / 10, "{waited:?}");
    assert!(waited < SEND * 3, "{waited:?}");
    // The client finds the connection closed, short of the whole answer.
    let received = read_until_closed(&mut client).await;
    assert!(received < 256 * CHUNK, "{received}");
}

#[tokio::test]
async fn an_http2_stream_without_flow_control_credit_gets_its_connection_dropped() {
    let (address, body_dropped) = serve_chunks(Answer::Stream {
        chunks: 64,
        pause: Duration::ZERO,
    })
    .await;
    let (mut sender, connection) = h2_client(address, 1024).await;
    let request = get(address);
    // The head comes; the body is never read, so the client grants no more credit.
    let response = sender.send_request(request).await.unwrap();
    let sent = Instant::now();
    let waited = time_to_drop(body_dropped, sent).await;
    assert!(waited < SEND * 3, "{waited:?}");
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the client sees the connection end")
        .unwrap()
        .ok();
    drop(response);
}

#[tokio::test]
async fn a_slow_reader_and_a_quiet_stream_are_not_cut() {
    // 2 MiB read 16 KiB at a time every 10 ms: about 1.3 s, four send timeouts.
    let (address, body_dropped) = serve_chunks(Answer::Stream {
        chunks: 64,
        pause: Duration::ZERO,
    })
    .await;
    let mut client = small_window_connection(address).await;
    client.write_all(GET).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = vec![0; 16 * 1024];
    let started = Instant::now();
    while !received.ends_with(b"\r\n0\r\n\r\n") {
        let read = client.read(&mut buffer).await.unwrap();
        assert_ne!(read, 0, "cut after {} bytes", received.len());
        received.extend_from_slice(&buffer[..read]);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() > SEND * 2, "{:?}", started.elapsed());
    assert!(received.len() > 64 * CHUNK);
    assert!(body_dropped.await.is_ok(), "ended");

    // A chunk every one and a half timeouts: waiting for events is not waiting to be taken.
    let (address, _) = serve_chunks(Answer::Stream {
        chunks: 3,
        pause: SEND * 3 / 2,
    })
    .await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(
        TokioIo::new(tokio::net::TcpStream::connect(address).await.unwrap()),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = Request::get("/")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 3 * CHUNK);

    // The same over HTTP/2, read slowly.
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tokio::net::TcpStream::connect(address).await.unwrap()),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = get(address);
    let mut body = sender.send_request(request).await.unwrap().into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        received += frame.unwrap().into_data().unwrap().len();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(received, 3 * CHUNK);
}

#[tokio::test]
async fn pipelined_requests_behind_an_answer_not_read_are_dropped() {
    // The first answer ends its body at once; the second waits behind it, in flight.
    const SIZE: usize = 8 << 20;
    let (address, _) = serve_chunks(Answer::Whole(SIZE)).await;
    let mut client = small_window_connection(address).await;
    client.write_all(&[GET, GET].concat()).await.unwrap();
    tokio::time::sleep(SEND * 4).await;
    // Dropped by now: reading finds the end, short of both answers.
    let received = read_until_closed(&mut client).await;
    assert!(received < 2 * SIZE, "{received}");
}

/// An HTTP/2 connection whose streams start with `window` bytes of credit.
async fn h2_client(
    address: std::net::SocketAddr,
    window: u32,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(window)
        .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .unwrap();
    (sender, tokio::spawn(connection))
}

#[tokio::test]
async fn an_http2_answer_in_one_frame_without_credit_gets_its_connection_dropped() {
    // A window of 0 too: hyper 1.10 and later poll the body before any credit comes.
    for window in [1024, 0] {
        one_frame_without_credit(window).await;
    }
}

async fn one_frame_without_credit(window: u32) {
    let (address, _) = serve_chunks(Answer::Whole(1 << 20)).await;
    let (mut sender, connection) = h2_client(address, window).await;
    let request = get(address);
    let response = sender.send_request(request).await.unwrap();
    let sent = Instant::now();
    // hyper hands the frame to h2 and drops the body; h2 keeps the frame until the client
    // gives credit for it, here never, while the connection sends nothing else.
    let _ = tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the connection is dropped");
    let waited = sent.elapsed();
    assert!(waited >= SEND * 9 / 10, "window {window}: {waited:?}");
    assert!(waited < SEND * 3, "window {window}: {waited:?}");
    drop(response);
}

/// GETs `/` over HTTP/2 with 16 KiB of stream credit and reads the answer a frame every
/// 10 ms (h2 takes a large frame in parts as credit comes); the bytes read. Panics if cut.
async fn read_h2_slowly(address: std::net::SocketAddr) -> usize {
    let (mut sender, _connection) = h2_client(address, 16 * 1024).await;
    let started = Instant::now();
    let mut body = sender.send_request(get(address)).await.unwrap().into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap_or_else(|error| {
            panic!(
                "cut after {received} bytes, {:?}: {error}",
                started.elapsed()
            )
        });
        received += frame.into_data().map_or(0, |data| data.len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    received
}

#[tokio::test]
async fn an_http2_answer_in_one_frame_read_slowly_is_not_cut() {
    // 2 MiB in one frame, 16 KiB of credit every 10 ms: about 1.3 s, four send timeouts.
    // h2 takes the frame in parts as credit comes; each part restarts the wait.
    const SIZE: usize = 2 << 20;
    let (address, _) = serve_chunks(Answer::Whole(SIZE)).await;
    let started = Instant::now();
    assert_eq!(read_h2_slowly(address).await, SIZE);
    assert!(started.elapsed() > SEND * 3, "slow enough to matter");
}

/// An answer whose writing outlasts the idle timeout, to a client that keeps reading: the
/// connection is at work, not idle, though its body was handed over whole at once (hyper
/// drops a body after its last frame, before writing it). Over HTTP/1 and HTTP/2.
#[tokio::test]
async fn an_answer_written_for_longer_than_the_idle_timeout_is_not_cut() {
    const IDLE: Duration = Duration::from_millis(150);
    const SIZE: usize = 1 << 20;
    let options = ServeOptions::default()
        .send_timeout(Duration::from_secs(10))
        .idle_timeout(IDLE);
    // HTTP/1: 8 MiB, more than the socket buffers hold, so that most of it waits in the
    // server; a pause of three idle timeouts (well within the send timeout), then all of it.
    const LARGE: usize = 8 << 20;
    let (address, _) = serve_chunks_with(Answer::Whole(LARGE), options).await;
    let mut client = small_window_connection(address).await;
    client.write_all(GET).await.unwrap();
    tokio::time::sleep(IDLE * 3).await;
    let mut received = 0;
    let mut buffer = vec![0; 64 * 1024];
    // The head and the body: at least the body's size.
    while received < LARGE {
        let read = client.read(&mut buffer).await.unwrap();
        assert_ne!(read, 0, "cut after {received} bytes");
        received += read;
    }

    // HTTP/2: one frame, taken by h2 in parts as the client grants credit.
    let (address, _) = serve_chunks_with(Answer::Whole(SIZE), options).await;
    let started = Instant::now();
    assert_eq!(read_h2_slowly(address).await, SIZE);
    assert!(started.elapsed() > IDLE * 3, "{:?}", started.elapsed());
}
