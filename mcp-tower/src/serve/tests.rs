//! `serve` over real sockets: both HTTP versions, graceful shutdown, the idle sweep and the
//! connection cap.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use tokio::io::AsyncWriteExt;

use super::*;

#[tokio::test]
async fn serves_http1_and_http2_then_shuts_down_gracefully() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = tower::service_fn(|request: Request<Incoming>| async move {
        let body = format!("{:?} {}", request.version(), request.uri().path());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));

    let http1 = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let http2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    for (client, expected) in [(http1, "HTTP/1.1 /mcp"), (http2, "HTTP/2.0 /mcp")] {
        let uri: http::Uri = format!("http://{address}/mcp").parse().unwrap();
        let response = client.get(uri).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, expected);
    }

    stop.send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    assert!(served.is_ok());
    // The listener is closed: new connections are refused.
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}

/// Serves `service` with a short idle timeout; the address and the stop switch.
async fn serve_briefly<S: ServedService>(
    service: S,
    idle_timeout: Duration,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    serve_on_loopback(service, ServeOptions::default().idle_timeout(idle_timeout)).await
}

/// Serves `service` with `options` on a free loopback port; the address and the stop switch.
async fn serve_on_loopback<S: ServedService>(
    service: S,
    options: ServeOptions,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with_options(
        listener,
        service,
        async {
            let _ = stopped.await;
        },
        options,
    ));
    (address, stop)
}

/// Reads until the server closes the connection; what it sent, and when it closed.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> (String, Instant) {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                return (String::from_utf8_lossy(&received).into(), Instant::now());
            }
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

fn hello() -> impl ServedService {
    tower::service_fn(|_request: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    })
}

const IDLE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let (address, _stop) = serve_briefly(hello(), IDLE).await;
    let opened = Instant::now();
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    let (received, closed) =
        tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut client))
            .await
            .expect("closed");
    assert_eq!(received, "");
    let waited = closed - opened;
    // Within a tenth, plus one sweep for the connection's first one, plus scheduling.
    assert!(waited >= IDLE, "{waited:?}");
    assert!(waited < IDLE * 2, "{waited:?}");
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_off() {
    let (address, _stop) = serve_briefly(hello(), IDLE).await;
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    let opened = Instant::now();
    let head =
        b"GET / HTTP/1.1\r\nhost: localhost\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in head {
        if client.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !cut_off {
        let (received, _) = read_until_closed(&mut client).await;
        assert!(
            !received.starts_with("HTTP/1.1 200"),
            "answered: {received}"
        );
    }
    let waited = opened.elapsed();
    assert!(waited < IDLE * 2 + Duration::from_millis(100), "{waited:?}");
}

#[tokio::test]
async fn requests_and_streamed_answers_keep_a_connection_open_and_idleness_closes_it() {
    use futures_util::StreamExt;
    use http_body_util::StreamBody;

    // `/stream` answers with one chunk per 50 ms for three idle timeouts.
    let service = tower::service_fn(|request: Request<Incoming>| async move {
        let chunks = if request.uri().path() == "/stream" {
            18
        } else {
            1
        };
        let stream = futures_util::stream::iter(0..chunks).then(|index| async move {
            if index > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from_static(b"x")))
        });
        Ok::<_, Infallible>(Response::new(StreamBody::new(stream)))
    });
    let (address, _stop) = serve_briefly(service, IDLE).await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(
        TokioIo::new(tokio::net::TcpStream::connect(address).await.unwrap()),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let get = |path: &str| {
        Request::get(path)
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let streamed = sender.send_request(get("/stream")).await.unwrap();
    let body = streamed.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 18, "a stream three timeouts long is not cut");
    // Requests closer together than the timeout, for two timeouts.
    for _ in 0..4 {
        tokio::time::sleep(IDLE / 2).await;
        let response = sender.send_request(get("/")).await.unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "x"
        );
    }
    // Then idle: the server closes the connection.
    let ended = tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("closed by the server once idle");
    assert!(ended.unwrap().is_ok());
}

#[tokio::test]
async fn an_idle_http2_connection_is_sent_goaway() {
    let (address, _stop) = serve_briefly(hello(), IDLE).await;
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tokio::net::TcpStream::connect(address).await.unwrap()),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = Request::get(format!("http://{address}/"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    // Before the request: the server's idle time starts once it has answered, which is
    // before the client has read the answer.
    let opened = Instant::now();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "hello"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("closed by the server once idle");
    assert!(
        ended.unwrap().is_ok(),
        "a graceful close (GOAWAY), not a reset"
    );
    assert!(opened.elapsed() >= IDLE, "{:?}", opened.elapsed());
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let options = ServeOptions::default()
        .max_connections(2)
        .idle_timeout(Duration::from_secs(10));
    let (address, _stop) = serve_on_loopback(hello(), options).await;
    let request = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";
    /// Whether `hello`'s answer comes within `wait`.
    async fn answered(client: &mut tokio::net::TcpStream, wait: Duration) -> bool {
        let (received, in_time) = read_hello(client, wait).await;
        in_time && received.starts_with(b"HTTP/1.1 200")
    }
    let mut first = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(address).await.unwrap();
    for client in [&mut first, &mut second] {
        client.write_all(request).await.unwrap();
        assert!(answered(client, Duration::from_secs(5)).await);
    }
    // The kernel completes the handshake, but the server does not take the connection.
    let mut third = tokio::net::TcpStream::connect(address).await.unwrap();
    third.write_all(request).await.unwrap();
    assert!(!answered(&mut third, Duration::from_millis(300)).await);
    // A closed connection frees its slot.
    drop(first);
    assert!(answered(&mut third, Duration::from_secs(5)).await);
    assert_eq!(
        ServeOptions::default()
            .max_connections(0)
            .get_max_connections(),
        1
    );
}

mod send;

/// At shutdown a connection with nothing in flight, its request head still arriving, is
/// dropped a sweep later rather than holding the shutdown for the whole grace period; one
/// with a request in flight keeps it until its answer.
#[tokio::test]
async fn shutdown_drops_a_partial_request_head_but_waits_for_requests_in_flight() {
    let idle = Duration::from_secs(10);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let slow = tower::service_fn(|_request: Request<Incoming>| async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"slow"))))
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_options(
        listener,
        slow,
        async {
            let _ = stopped.await;
        },
        ServeOptions::default().idle_timeout(idle),
    ));
    let mut partial = tokio::net::TcpStream::connect(address).await.unwrap();
    partial
        .write_all(b"POST /mcp HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .unwrap();
    let mut busy = tokio::net::TcpStream::connect(address).await.unwrap();
    busy.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    stop.send(()).unwrap();
    let (answered, _) = read_until_closed(&mut busy).await;
    assert!(answered.ends_with("slow"), "{answered}");
    let (received, _) = read_until_closed(&mut partial).await;
    assert_eq!(received, "");
    tokio::time::timeout(idle, server)
        .await
        .expect("serve returns within a sweep or two of the shutdown")
        .unwrap()
        .unwrap();
    // A sweep is a tenth of the idle timeout: far short of the 30 s grace.
    let waited = stopping.elapsed();
    assert!(waited < idle / 10 * 3, "{waited:?}");
}

/// A request head past the bound is refused with 431 (HTTP/1 reads it into a bounded buffer,
/// before any layer), and the bound is an option.
#[tokio::test]
async fn request_heads_are_bounded() {
    let service = tower::service_fn(|_request: Request<Incoming>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let head = |pad: usize| {
        format!(
            "GET / HTTP/1.1\r\nhost: localhost\r\nx-pad: {}\r\n\r\n",
            "a".repeat(pad)
        )
    };
    let status_of = |address: std::net::SocketAddr, request: String| async move {
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = [0; 64];
        let mut read = 0;
        while read < 12 {
            use tokio::io::AsyncReadExt;
            let n = client.read(&mut answer[read..]).await.unwrap();
            assert_ne!(n, 0, "closed without an answer");
            read += n;
        }
        String::from_utf8_lossy(&answer[9..12]).into_owned()
    };
    for (options, pad, status) in [
        (ServeOptions::default(), 32 * 1024, "200"),
        (ServeOptions::default(), 100 * 1024, "431"),
        (
            ServeOptions::default().max_header_bytes(256 * 1024),
            100 * 1024,
            "200",
        ),
    ] {
        let (address, _stop) = serve_on_loopback(service, options).await;
        assert_eq!(status_of(address, head(pad)).await, status, "{pad} bytes");
    }
}

/// A request still running when the grace period ends is cancelled (its handler's future
/// dropped) before `serve` returns: nothing of the server runs on after it.
#[tokio::test]
async fn requests_left_at_the_end_of_the_grace_period_are_cancelled_before_serve_returns() {
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Sets its flag when dropped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropped);
    let endless = tower::service_fn(move |_request: Request<Incoming>| {
        let guard = Dropped(Arc::clone(&flag));
        async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"late"))))
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let grace = Duration::from_millis(300);
    let server = tokio::spawn(serve_with_options(
        listener,
        endless,
        async {
            let _ = stopped.await;
        },
        ServeOptions::default().shutdown_grace_period(grace),
    ));
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!dropped.load(Ordering::SeqCst), "the handler runs");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns once the grace period is over")
        .unwrap()
        .unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler was dropped before serve returned"
    );
    let (received, _) = read_until_closed(&mut client).await;
    assert_eq!(received, "", "closed without an answer");
}

/// Past its share a peer's new connection is closed at once, while another peer is served;
/// a closed connection gives its share back.
#[tokio::test]
async fn past_its_share_a_peers_new_connection_is_closed() {
    let options = ServeOptions::default()
        .max_connections_per_peer(2)
        .idle_timeout(Duration::from_secs(10));
    let (address, _stop) = serve_on_loopback(hello(), options).await;
    let request = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";
    async fn answer(client: &mut tokio::net::TcpStream) -> Vec<u8> {
        read_hello(client, Duration::from_secs(5)).await.0
    }
    let mut first = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(address).await.unwrap();
    for client in [&mut first, &mut second] {
        client.write_all(request).await.unwrap();
        assert!(answer(client).await.starts_with(b"HTTP/1.1 200"));
    }
    let mut third = tokio::net::TcpStream::connect(address).await.unwrap();
    let _ = third.write_all(request).await;
    assert_eq!(answer(&mut third).await, b"", "closed without an answer");
    // 127.0.0.2 is another peer (Linux routes all of 127/8 to loopback).
    let other = tokio::net::TcpSocket::new_v4().unwrap();
    other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = other.connect(address).await.unwrap();
    other.write_all(request).await.unwrap();
    assert!(answer(&mut other).await.starts_with(b"HTTP/1.1 200"));
    // A closed connection gives its share back (the server sees the close at its next read).
    drop(first);
    let mut fourth = None;
    for _ in 0..50 {
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        let _ = client.write_all(request).await;
        if answer(&mut client).await.starts_with(b"HTTP/1.1 200") {
            fourth = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fourth.is_some(), "served once a slot was free");
}

/// Reads until the body of `hello`'s answer has come, the connection closes or `wait`
/// passes: what came, and whether it ended before `wait`.
async fn read_hello(client: &mut tokio::net::TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    let in_time = tokio::time::timeout(wait, async {
        while !received.ends_with(b"hello") {
            match client.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .is_ok();
    (received, in_time)
}
