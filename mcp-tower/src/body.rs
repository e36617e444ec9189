//! The response body of the HTTP tier: empty, one buffer, or a stream of SSE frames.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The body of every response the mcp-tower HTTP tier produces.
///
/// ```
/// use http_body::Body;
/// use mcp_tower::McpBody;
///
/// let body = McpBody::from(bytes::Bytes::from_static(b"{}"));
/// assert_eq!(body.size_hint().exact(), Some(2));
/// assert!(McpBody::empty().is_end_stream());
/// ```
#[derive(Debug)]
pub struct McpBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream {
        frames: mpsc::Receiver<Bytes>,
        /// Ends the body at once, frames still queued dropped (see [`McpBody::stream_until`]).
        until: Option<CancellationToken>,
    },
}

impl McpBody {
    /// No body (202, 204, most errors without content).
    pub fn empty() -> Self {
        Self { kind: Kind::Empty }
    }

    /// A body that yields whatever is sent on the channel, until the sender is dropped.
    pub fn stream(receiver: mpsc::Receiver<Bytes>) -> Self {
        Self {
            kind: Kind::Stream {
                frames: receiver,
                until: None,
            },
        }
    }

    /// A [`stream`](Self::stream) that ends once `until` is cancelled, without the frames
    /// still queued: a resumed SSE stream moves to another connection, and what this one had
    /// not sent yet goes out there instead (never on both). The sender's side drops its
    /// sender on cancellation, which wakes the body to end.
    pub(crate) fn stream_until(receiver: mpsc::Receiver<Bytes>, until: CancellationToken) -> Self {
        Self {
            kind: Kind::Stream {
                frames: receiver,
                until: Some(until),
            },
        }
    }
}

impl Default for McpBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for McpBody {
    fn from(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Some(bytes)),
        }
    }
}

impl From<Vec<u8>> for McpBody {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl From<&'static str> for McpBody {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl From<String> for McpBody {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl Body for McpBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream { frames, until } => {
                let frame = std::task::ready!(frames.poll_recv(cx));
                // Checked after the frame is out of the queue, so that none taken after the
                // cancellation is sent.
                if until.as_ref().is_some_and(CancellationToken::is_cancelled) {
                    return Poll::Ready(None);
                }
                Poll::Ready(frame.map(|b| Ok(Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}

/// The next frame of `body` as text, `None` at its end; panics after 5 s without one.
#[cfg(test)]
pub(crate) async fn next_text(body: &mut McpBody) -> Option<String> {
    let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx));
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), frame).await;
    let frame = frame
        .expect("a frame in time")?
        .unwrap_or_else(|never| match never {});
    let data = frame.into_data().expect("a data frame");
    Some(String::from_utf8(data.to_vec()).expect("UTF-8"))
}
