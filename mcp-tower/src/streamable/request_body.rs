//! Reading a POST body whole, within the configured size and time limits.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};
use tower::BoxError;

use crate::body::McpBody;
use crate::error_body::json_rpc_error_response;
use crate::log_every::LogEvery;

/// The bytes of bodies still arriving, across every request of one bridge, and their bound:
/// without one, clients that send all of a body but its last byte make the server hold
/// `max_body_bytes` per request, for every request they can open at once (an HTTP/2
/// connection carries hundreds).
pub(crate) struct Receiving {
    held: AtomicUsize,
    max: usize,
}

impl Receiving {
    pub(crate) const fn new(max: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            max,
        }
    }

    /// The bytes held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// What one body holds of [`Receiving`]'s budget, given back when it is dropped.
struct Charge<'a> {
    receiving: &'a Receiving,
    bytes: usize,
}

impl Charge<'_> {
    /// Charges the body for holding `bytes` in all; `false` when that puts the bodies
    /// arriving over the budget (a body alone is never refused: a budget below one body must
    /// not refuse it on an idle server).
    fn hold(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        self.bytes = bytes;
        let held = self.receiving.held.fetch_add(more, Ordering::Relaxed) + more;
        held <= self.receiving.max || held == self.bytes
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.receiving.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// The whole body, up to `limit` bytes, arriving within `timeout`, while the bodies still
/// arriving hold no more than `receiving` allows.
///
/// The deadline's timer is made only if the body is not all there at the first look: a
/// JSON-RPC body nearly always arrives with its request head, and a timer per request costs
/// a registration in Tokio's timer wheel (see `serve::idle`). A body that is all there is
/// not charged to `receiving` either: only a body that waits for more holds its bytes.
pub(super) async fn read_body<B>(
    body: B,
    limit: usize,
    timeout: Duration,
    receiving: &Receiving,
) -> Result<Bytes, Response<McpBody>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    // A declared length (Content-Length) over the limit is refused before anything is read,
    // and before hyper answers `Expect: 100-continue`: no waiting for a body never wanted.
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(too_large());
    }
    let mut body = std::pin::pin!(Limited::new(body, limit));
    let mut read = Read::default();
    let mut charge = Charge {
        receiving,
        bytes: 0,
    };
    let mut deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        loop {
            match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers carry nothing for us.
                    if let Ok(mut data) = frame.into_data() {
                        read.push(data.copy_to_bytes(data.remaining()));
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(refusal(&error))),
                Poll::Ready(None) => return Poll::Ready(Ok(std::mem::take(&mut read).whole())),
                Poll::Pending => {
                    if !charge.hold(read.len()) {
                        return Poll::Ready(Err(busy()));
                    }
                    let deadline =
                        deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    if deadline.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(too_slow()));
                    }
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}

/// The frames read so far: a JSON-RPC body nearly always arrives in one frame, which is then
/// used as it is, without the queue `collect` allocates for every body.
#[derive(Default)]
struct Read {
    whole: Bytes,
    joined: Vec<u8>,
}

impl Read {
    fn push(&mut self, chunk: Bytes) {
        if self.whole.is_empty() && self.joined.is_empty() {
            self.whole = chunk;
            return;
        }
        if self.joined.is_empty() {
            self.joined
                .extend_from_slice(&std::mem::take(&mut self.whole));
        }
        self.joined.extend_from_slice(&chunk);
    }

    fn len(&self) -> usize {
        self.whole.len() + self.joined.len()
    }

    fn whole(self) -> Bytes {
        if self.joined.is_empty() {
            self.whole
        } else {
            Bytes::from(self.joined)
        }
    }
}

/// `Limited`'s own errors box the body's, and a body may wrap them again (axum's `Body`
/// wraps tower-http's `LengthLimitError` in an `axum::Error`): the whole chain is looked at.
fn refusal(error: &BoxError) -> Response<McpBody> {
    let mut chain =
        std::iter::successors(Some(&**error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        });
    if chain.any(|e| e.is::<LengthLimitError>()) {
        too_large()
    } else {
        json_rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32700,
            "Parse error: the body could not be read",
        )
    }
}

/// 413.
fn too_large() -> Response<McpBody> {
    closing_refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        -32600,
        "Payload Too Large: the body exceeds the configured limit",
    )
}

/// 408.
fn too_slow() -> Response<McpBody> {
    closing_refusal(
        StatusCode::REQUEST_TIMEOUT,
        -32600,
        "Request Timeout: the body did not arrive in time",
    )
}

/// 503: the bodies arriving hold all the bridge allows.
fn busy() -> Response<McpBody> {
    static BUSY: LogEvery = LogEvery::new(Duration::from_secs(60));
    if let Some(held_back) = BUSY.ready() {
        tracing::warn!(
            refusals_not_logged = held_back,
            "request bodies arriving hold their whole budget; one refused with 503 \
             (StreamableHttpConfig::max_arriving_body_bytes)"
        );
    }
    let mut response = closing_refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        mcp_core::jsonrpc::codes::SERVER_ERROR,
        "Service Unavailable: too many request bodies are arriving at once; retry later",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// A refusal that closes the connection: the rest of the body may still be on its way.
fn closing_refusal(status: StatusCode, code: i32, message: &'static str) -> Response<McpBody> {
    let mut response = json_rpc_error_response(status, code, message);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body::Frame;
    use http_body_util::StreamBody;

    use super::*;

    /// A body that yields `parts` one by one.
    fn frames(parts: Vec<Frame<Bytes>>) -> impl http_body::Body<Data = Bytes, Error = Infallible> {
        StreamBody::new(futures_util::stream::iter(
            parts.into_iter().map(Ok::<_, Infallible>),
        ))
    }

    const SECOND: Duration = Duration::from_secs(1);

    /// A body that yields `parts`, then waits for ever.
    fn frames_then_pending(
        parts: Vec<Frame<Bytes>>,
    ) -> impl http_body::Body<Data = Bytes, Error = Infallible> {
        use futures_util::StreamExt;
        StreamBody::new(
            futures_util::stream::iter(parts.into_iter().map(Ok::<_, Infallible>))
                .chain(futures_util::stream::pending()),
        )
    }

    /// No bound on the bodies arriving.
    static FREE: Receiving = Receiving::new(usize::MAX);

    fn data(text: &'static str) -> Frame<Bytes> {
        Frame::data(Bytes::from_static(text.as_bytes()))
    }

    #[tokio::test]
    async fn one_frame_is_used_as_it_is_and_several_are_joined() {
        let one = Bytes::from_static(b"{\"a\":1}");
        let read = read_body(frames(vec![Frame::data(one.clone())]), 64, SECOND, &FREE).await;
        let read = read.expect("within the limit");
        assert_eq!(read, one);
        assert_eq!(read.as_ptr(), one.as_ptr(), "the frame itself, not a copy");

        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-t", http::HeaderValue::from_static("1"));
        let parts = vec![
            data(""),
            data("{\"a\":"),
            data(""),
            data("[1,"),
            data("2]}"),
            Frame::trailers(trailers),
        ];
        let read = read_body(frames(parts), 64, SECOND, &FREE)
            .await
            .expect("within the limit");
        assert_eq!(&read[..], b"{\"a\":[1,2]}");
        let empty = read_body(frames(vec![]), 64, SECOND, &FREE)
            .await
            .expect("empty is fine");
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn over_the_limit_is_413_even_across_frames() {
        let parts = vec![data("0123456789"), data("0123456789")];
        let refused = read_body(frames(parts), 15, SECOND, &FREE)
            .await
            .expect_err("over the limit");
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let parts = vec![data("0123456789"), data("01234")];
        assert!(read_body(frames(parts), 15, SECOND, &FREE).await.is_ok());
    }

    /// An error that wraps another, as axum's `Body` wraps the errors of the body it holds.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "wrapped: {}", self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.0)
        }
    }

    /// A tower-http `RequestBodyLimitLayer` outside the bridge (its `Limited` body's error,
    /// wrapped again by a framework's body) is still a 413; other body errors are 400s.
    #[tokio::test]
    async fn a_length_limit_met_outside_is_413_however_wrapped() {
        let outer = http_body_util::Limited::new(frames(vec![data("0123456789")]), 5);
        let wrapped = http_body_util::BodyExt::map_err(outer, Wrapped);
        let refused = read_body(wrapped, 64, SECOND, &FREE)
            .await
            .expect_err("over the outer limit");
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let failing = StreamBody::new(futures_util::stream::iter([Err::<Frame<Bytes>, _>(
            Wrapped("connection reset".into()),
        )]));
        let refused = read_body(failing, 64, SECOND, &FREE)
            .await
            .expect_err("unreadable");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }

    /// A body whose length is declared and never arrives.
    struct Declared(u64);

    impl http_body::Body for Declared {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Pending
        }

        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(self.0)
        }
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_413_before_any_read() {
        use futures_util::FutureExt;
        // Answered in the first poll: no timer, no wait for the body.
        let refused = read_body(Declared(16), 15, SECOND, &FREE)
            .now_or_never()
            .expect("answered at once")
            .expect_err("over the limit");
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.headers()[header::CONNECTION], "close");
        // At the limit it waits for the body (its deadline needs the runtime).
        assert!(
            read_body(Declared(15), 15, SECOND, &FREE)
                .now_or_never()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_body_that_stalls_gets_408_and_a_slow_one_in_time_is_read() {
        use futures_util::StreamExt;
        let stalled = StreamBody::new(
            futures_util::stream::iter([Ok::<_, Infallible>(data("{\"a\":"))])
                .chain(futures_util::stream::pending()),
        );
        let started = std::time::Instant::now();
        let refused = read_body(stalled, 64, Duration::from_millis(100), &FREE)
            .await
            .expect_err("the rest never comes");
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(refused.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(refused.headers()[header::CONNECTION], "close");

        // Two frames 30 ms apart, within a 1 s limit.
        let slow = StreamBody::new(futures_util::stream::iter(["{\"a\":", "1}"]).then(
            |part| async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok::<_, Infallible>(data(part))
            },
        ));
        let read = read_body(slow, 64, SECOND, &FREE).await.expect("in time");
        assert_eq!(&read[..], b"{\"a\":1}");
    }

    /// Bodies that wait for more hold their bytes against the budget, which refuses the one
    /// that would pass it with 503, and gets them back when they end.
    #[tokio::test]
    async fn bodies_still_arriving_share_a_budget() {
        use futures_util::{FutureExt, StreamExt};
        let stalled = || {
            StreamBody::new(
                futures_util::stream::iter([Ok::<_, Infallible>(data("0123456789"))])
                    .chain(futures_util::stream::pending()),
            )
        };
        let receiving = Receiving::new(25);
        let mut first = Box::pin(read_body(stalled(), 64, SECOND, &receiving));
        let mut second = Box::pin(read_body(stalled(), 64, SECOND, &receiving));
        assert!((&mut first).now_or_never().is_none());
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(receiving.held(), 20);
        let refused = read_body(stalled(), 64, SECOND, &receiving)
            .await
            .expect_err("over the budget");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert_eq!(refused.headers()[header::CONNECTION], "close");
        assert_eq!(receiving.held(), 20, "the refused body gave its bytes back");
        drop((first, second));
        assert_eq!(receiving.held(), 0);
        // A body alone is read, even past the budget.
        let alone = read_body(
            frames_then_pending(vec![
                data("0123456789"),
                data("0123456789"),
                data("0123456789"),
            ]),
            64,
            SECOND,
            &receiving,
        );
        assert!(
            alone.now_or_never().is_none(),
            "waits for the rest, not refused"
        );
        assert_eq!(receiving.held(), 0);
        // A body that is all there at once is never charged, whatever its size.
        let whole = read_body(
            frames(vec![data("{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12]}")]),
            64,
            SECOND,
            &receiving,
        );
        assert!(whole.await.is_ok());
    }
}
