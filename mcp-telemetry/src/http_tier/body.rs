//! [`TelemetryBody`]: counts the bytes of a response body and closes its SSE stream record
//! when the body ends or is dropped.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::{Buf, Bytes};
use http::HeaderValue;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::keys::{HttpKeys, StreamKind, stream_keys};
use crate::keys::{gauge_add, record};
use crate::recorder::Scope;

pin_project! {
    /// The response body of [`HttpTelemetry`](super::HttpTelemetry): the inner body, measured.
    pub struct TelemetryBody<B> {
        #[pin]
        inner: B,
        state: Option<BodyState>,
    }
}

impl<B> std::fmt::Debug for TelemetryBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBody").finish_non_exhaustive()
    }
}

impl<B> TelemetryBody<B> {
    pub(super) fn new(inner: B, state: BodyState) -> Self {
        Self {
            inner,
            state: Some(state),
        }
    }

    /// A body that records nothing (responses made outside the measured service).
    pub fn untracked(inner: B) -> Self {
        Self { inner, state: None }
    }
}

/// Responses built from bytes by outer layers (e.g. a `/metrics` scrape) are not measured.
impl<B: From<Bytes>> From<Bytes> for TelemetryBody<B> {
    fn from(bytes: Bytes) -> Self {
        Self::untracked(B::from(bytes))
    }
}

impl<B: Body> Body for TelemetryBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(state) = this.state.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        state.bytes += data.remaining() as u64;
                    }
                    // hyper stops polling a body that says it is done.
                    if this.inner.is_end_stream() {
                        state.end(Ending::Completed);
                    }
                }
                Some(Err(_)) => state.end(Ending::Failed),
                None => state.end(Ending::Completed),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How a body ended.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Completed,
    Failed,
    /// Dropped before its end: the client went away (or the server shut down).
    Dropped,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Failed => "failed",
            Ending::Dropped => "client_disconnected",
        }
    }
}

/// An open SSE stream.
pub(super) struct StreamInfo {
    kind: StreamKind,
    opened: Instant,
    session: Option<HeaderValue>,
}

impl StreamInfo {
    /// Counts the stream as open and says so.
    pub(super) fn open(kind: StreamKind, session: Option<HeaderValue>) -> Self {
        gauge_add(&stream_keys(kind).open, 1.0);
        tracing::debug!(
            target: "mcp_telemetry",
            {
                mcp.event = "stream_opened",
                kind = kind.as_str(),
                mcp.session.id = session.as_ref().and_then(|v| v.to_str().ok()),
            },
            "SSE stream opened"
        );
        Self {
            kind,
            opened: Instant::now(),
            session,
        }
    }
}

/// What is recorded when the body ends.
pub(super) struct BodyState {
    keys: &'static HttpKeys,
    scope: Scope,
    bytes: u64,
    /// Boxed: only SSE responses have one, and the response (this included) moves several
    /// times on its way out.
    stream: Option<Box<StreamInfo>>,
    ended: bool,
}

impl BodyState {
    pub(super) fn new(
        keys: &'static HttpKeys,
        scope: Scope,
        stream: Option<Box<StreamInfo>>,
    ) -> Self {
        Self {
            keys,
            scope,
            bytes: 0,
            stream,
            ended: false,
        }
    }

    fn end(&mut self, ending: Ending) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.keys.body_size.record(self.scope, self.bytes as f64);
        let Some(stream) = self.stream.take() else {
            return;
        };
        let keys = stream_keys(stream.kind);
        let open_for = stream.opened.elapsed();
        gauge_add(&keys.open, -1.0);
        record(&keys.duration, open_for.as_secs_f64());
        tracing::debug!(
            target: "mcp_telemetry",
            {
                mcp.event = "stream_closed",
                kind = stream.kind.as_str(),
                mcp.session.id = stream.session.as_ref().and_then(|v| v.to_str().ok()),
                reason = ending.as_str(),
                bytes = self.bytes,
                duration_ms = open_for.as_secs_f64() * 1000.0,
            },
            "SSE stream closed"
        );
    }
}

impl Drop for BodyState {
    fn drop(&mut self) {
        self.end(Ending::Dropped);
    }
}
