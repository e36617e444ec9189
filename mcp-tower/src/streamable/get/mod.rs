//! GET: the session's stream for unsolicited messages (a new GET replaces the one open
//! before), or the resumption of any stream of the session with `Last-Event-ID`. Both end at
//! shutdown (see [`Shared::stream_end`]); the client resumes them later, or from another node.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::event_store::{Replay, parse_event_id};
use super::resumption::Deliverer;
use super::sse::{KEEP_ALIVE, SseWriter, StreamSink, stored_frame};
use super::{Shared, accepts, streamed_response};
use crate::body::McpBody;
use crate::error_body::{error_response, json_rpc_error_response};
use crate::session::{Delivery, EventSink, LiveSession, SessionManager};

pub(crate) async fn handle<B>(shared: Arc<Shared>, request: Request<B>) -> Response<McpBody> {
    if !accepts(request.headers()).event_stream {
        return json_rpc_error_response(
            StatusCode::NOT_ACCEPTABLE,
            -32600,
            "Not Acceptable: Accept must list text/event-stream",
        );
    }
    let modern = request
        .headers()
        .get(&mcp_core::headers::MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .and_then(mcp_core::ProtocolVersion::parse)
        .is_some_and(mcp_core::ProtocolVersion::is_modern);
    let stateless = request.extensions().get::<SessionManager>().is_none();
    if !shared.config.get_stream || modern || stateless || !shared.config.legacy {
        return super::method_not_allowed(&shared, request.extensions());
    }
    let Some(session) = request.extensions().get::<Arc<LiveSession>>().cloned() else {
        return json_rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32600,
            "Bad Request: Mcp-Session-Id header is required",
        );
    };
    let served = mcp_core::ServedEras {
        legacy: shared.config.legacy,
        modern: shared.config.modern,
    };
    if let Err((status, error)) = super::check_session_header(request.headers(), served) {
        return error_response(status, None, error);
    }
    let last_event_id = request
        .headers()
        .get(&mcp_core::headers::LAST_EVENT_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Long-lived: it ends when the caller's credential does.
    let expires_at = request
        .extensions()
        .get::<mcp_core::Principal>()
        .and_then(mcp_core::Principal::expires_at);
    if let Some(last) = last_event_id {
        if let Some((stream, sequence)) = parse_event_id(&last)
            && let Some(resumed) =
                resume_session_stream(&shared, &session, stream, sequence, expires_at)
        {
            return resumed;
        }
        return resume(&shared, &session, &last);
    }
    let session_id = mcp_core::Session::id(&*session);
    let end = shared.stream_end();
    // A stream open before is replaced (see `LiveSession::open_stream`), not refused: the
    // spec allows only an SSE stream or 405 here, and a client whose connection died
    // unnoticed, or which opens a second GET, must still get one.
    let (body, follow, stream) = session.open_stream(|capacity| {
        // One queue from the fan-out to the connection, bounded by the session's capacity.
        let (sender, body) = mpsc::channel(capacity);
        let stream = shared.stream_numbers.next();
        let store = shared.config.event_store.clone();
        let (sink, ended) = StreamSink::open(
            stream,
            session_id,
            sender.clone(),
            store,
            shared.priming(mcp_core::Session::protocol_version(&*session)),
        );
        let replaced = CancellationToken::new();
        let body = McpBody::stream_until(body, replaced.clone());
        let follow = Follow {
            keep_alive: shared.config.keep_alive,
            sink: sender,
            ended,
            stream,
            connection: replaced.clone(),
            expires_at,
        };
        let sink = Endable {
            sink,
            end: end.clone(),
            replaced,
        };
        (Box::new(sink) as Box<dyn EventSink>, (body, follow, stream))
    });
    tracing::debug!(session.id = %session_id, stream, "session stream opened");
    tokio::spawn(follow.run(session, end.clone()));
    streamed_response(body, end)
}

/// The session's end of its GET stream: the SSE writer, the token that ends the stream,
/// which closes it (see [`LiveSession::drop_closed_stream`]), and the token that ends the
/// connection delivering it when a resumption takes it over.
#[derive(Debug)]
struct Endable {
    sink: StreamSink,
    end: CancellationToken,
    replaced: CancellationToken,
}

impl Endable {
    /// The session's sink, if it is this transport's and still delivers `stream`.
    fn of_stream(sink: &mut dyn EventSink, stream: u64) -> Option<&mut Endable> {
        let sink = sink.as_any_mut()?.downcast_mut::<Endable>()?;
        (sink.sink.stream() == stream).then_some(sink)
    }
}

impl EventSink for Endable {
    fn try_event(&mut self, data: &Bytes) -> Delivery {
        // Not checked per event: once ended, the session drops the stream at once.
        self.sink.try_event(data)
    }

    fn is_closed(&self) -> bool {
        self.sink.is_closed() || self.end.is_cancelled()
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// Resumes the session's own GET stream: what the client missed, then what comes next, on
/// this connection, which becomes the session's stream again (the spec: "resume the stream
/// from that point"). `None` when `stream` is not that stream.
///
/// A connection still delivering the stream is replaced: the client that resumes shows it
/// lost that connection, which the server may not know yet (a half-open TCP connection is
/// found dead only when a write fails). The old connection ends at once, without the frames
/// still queued on it, which the replay brings here instead: each message goes out on one
/// connection only.
fn resume_session_stream(
    shared: &Arc<Shared>,
    session: &Arc<LiveSession>,
    stream: u64,
    after: u64,
    expires_at: Option<SystemTime>,
) -> Option<Response<McpBody>> {
    let store = shared.config.event_store.as_ref()?;
    let session_id = mcp_core::Session::id(&**session);
    let end = shared.stream_end();
    let resumed = session.resume_stream(|sink, capacity| {
        let sink = Endable::of_stream(sink, stream)?;
        // Under the session's stream lock: nothing is delivered between the replay and the
        // attachment, so nothing is missed or sent twice.
        let replay = store.replay(stream, session_id, after)?;
        if let Some(refused) = refuse_cursor(after, &replay) {
            return Some(Err(refused));
        }
        // The connection replaced, if one is still attached, ends now: its follower ends
        // once the sink lets go of it below, which closes its queue and wakes its body.
        sink.replaced.cancel();
        let (sender, body) = mpsc::channel(capacity + replay.events.len());
        for event in &replay.events {
            // The queue has room for every replayed event.
            let _ = sender.try_send(stored_frame(stream, event));
        }
        let ended = sink.sink.reattach(sender.clone());
        sink.end = end.clone();
        sink.replaced = CancellationToken::new();
        let body = McpBody::stream_until(body, sink.replaced.clone());
        let follow = Follow {
            keep_alive: shared.config.keep_alive,
            sink: sender,
            ended,
            stream,
            connection: sink.replaced.clone(),
            expires_at,
        };
        Some(Ok((body, follow)))
    })??;
    let (body, follow) = match resumed {
        Ok(resumed) => resumed,
        Err(refused) => return Some(refused),
    };
    tracing::debug!(session.id = %session_id, stream, "session stream resumed");
    tokio::spawn(follow.run(Arc::clone(session), end.clone()));
    Some(streamed_response(body, end))
}

/// The task that keeps a session stream alive.
struct Follow {
    keep_alive: Duration,
    sink: mpsc::Sender<Bytes>,
    /// Fires when the session drops the stream (terminated, or the stream replaced), or
    /// another connection resumes it.
    ended: oneshot::Receiver<()>,
    /// The stream this connection delivers.
    stream: u64,
    /// Ends this connection (the session's `replaced` token of it).
    connection: CancellationToken,
    /// When the client's credential expires: the connection ends then, and the stream stays
    /// with the session for the client to resume with a fresh credential.
    expires_at: Option<SystemTime>,
}

impl Follow {
    /// Keeps the stream alive until the client or the session goes away, or `end` fires.
    /// The stream is not finished when its client leaves: the session keeps recording it,
    /// and the client may resume it (see [`resume_session_stream`]). Messages do not pass through here: the fan-out
    /// queues them on the session's sink directly, so this task wakes only for keep-alives
    /// and the end.
    async fn run(mut self, session: Arc<LiveSession>, end: CancellationToken) {
        // However the stream ends, its token is cancelled, so that the server forgets it.
        let _forget = end.clone().drop_guard();
        let mut ticker = tokio::time::interval(self.keep_alive);
        ticker.reset();
        let expired = super::until(self.expires_at);
        tokio::pin!(expired);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    // A full queue already has something for the client to read.
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        self.sink.try_send(Bytes::from_static(KEEP_ALIVE))
                    {
                        break;
                    }
                }
                // The session ended or replaced the stream: the body ends once drained.
                _ = &mut self.ended => break,
                () = &mut expired => {
                    self.expire(&session);
                    break;
                }
                () = self.sink.closed() => break,
                // Shutdown: the session lets go of its end of the queue (the sink reports
                // itself closed now), this task of its own.
                () = end.cancelled() => {
                    session.drop_closed_stream();
                    break;
                }
            }
        }
        // The session's idle time starts when its stream ends: a stream that outlived the
        // TTL must not leave its session to be reaped before the client reconnects.
        session.touch();
    }
}

impl Follow {
    /// Ends this connection, its client's credential expired, as one that stalls ends: the
    /// stream stays with the session, which goes on recording it for the client to resume
    /// with a fresh credential (what this connection had queued comes again in the replay).
    fn expire(&self, session: &LiveSession) {
        session.resume_stream(|sink, _| {
            // Under the stream's lock, unless a new GET or a resumption took it over: they
            // replace the stream, or cancel the connection they take it from.
            if let Some(sink) = Endable::of_stream(sink, self.stream)
                && !self.connection.is_cancelled()
            {
                self.connection.cancel();
                sink.sink.let_go();
            }
        });
    }
}

/// Replays what the stream sent after `last`, then follows it until it ends, or until
/// another resumption takes it over. This resumption takes it over from whoever delivered it
/// until now (see [`Resumptions`](super::resumption::Resumptions)).
fn resume(shared: &Arc<Shared>, session: &Arc<LiveSession>, last: &str) -> Response<McpBody> {
    let session_id = mcp_core::Session::id(&**session).to_owned();
    let replay = parse_event_id(last).and_then(|(stream, sequence)| {
        let store = shared.config.event_store.as_ref()?;
        Some((
            stream,
            sequence,
            store.replay(stream, &session_id, sequence)?,
        ))
    });
    // 400, not 404: a client told 404 for a request with its session id must start a new
    // session, and the session is alive; only the cursor is unknown (or another session's).
    let Some((stream, sequence, first)) = replay else {
        return json_rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32600,
            "Bad Request: unknown or expired Last-Event-ID (reconnect without it)",
        );
    };
    if let Some(refused) = refuse_cursor(sequence, &first) {
        return refused;
    }
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    let store = shared.config.event_store.clone();
    let end = shared.stream_end();
    let ending = end.clone();
    // Taken over now, before the response: the connection it replaces carries nothing more.
    let deliverer = Deliverer::follower(shared, stream);
    // A later resumption takes over from this one in turn: the body then ends at once.
    let body = McpBody::stream_until(body, deliverer.replaced());
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        // However the stream ends, its token is cancelled, so that the server forgets it.
        let _forget = ending.clone().drop_guard();
        let Some(store) = store else { return };
        let mut writer = SseWriter::resume(stream, sequence, sink, None);
        writer.replaceable(deliverer.replaced());
        let mut last_sent = sequence;
        let more = Arc::clone(&first.more);
        let mut keep_alive = tokio::time::interval(shared.config.keep_alive);
        keep_alive.reset();
        loop {
            // Register for wake-ups before reading, so nothing appended in between is missed.
            let notified = more.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(replay) = store.replay(stream, &session_id, last_sent) else {
                return;
            };
            // Events this client has not had were trimmed while it read slowly: end here,
            // and its next resumption is refused, rather than skip them unsaid.
            if last_sent < replay.trimmed_through {
                return;
            }
            for event in &replay.events {
                if !writer.replay(event).await {
                    return;
                }
                last_sent = event.sequence;
            }
            if replay.finished {
                return;
            }
            tokio::select! {
                () = &mut notified => {}
                _ = keep_alive.tick() => {
                    if !writer.keep_alive().await {
                        return;
                    }
                }
                // The client left, or another resumption took the stream over.
                () = writer.client_gone() => return,
                // Shutdown: the client resumes from what it has, later or elsewhere.
                () = ending.cancelled() => return,
            }
        }
    });
    streamed_response(body, end)
}

/// The refusal (400) of a resumption after event `after` of the stream `replay` read, when:
/// - the stream has since been trimmed past it: replaying would skip the events in between
///   without the client knowing;
/// - the stream never got that far: no such event was sent, and following the stream from
///   there would filter out every event up to it (the answer of a request among them).
fn refuse_cursor(after: u64, replay: &Replay) -> Option<Response<McpBody>> {
    let refusal = if after < replay.trimmed_through {
        "Bad Request: Last-Event-ID is older than the events kept for its stream; events \
         after it are lost (reconnect without it)"
    } else if after > replay.last_sequence {
        "Bad Request: Last-Event-ID is beyond the last event of its stream; no such event \
         was sent (reconnect without it)"
    } else {
        return None;
    };
    Some(json_rpc_error_response(
        StatusCode::BAD_REQUEST,
        -32600,
        refusal,
    ))
}

#[cfg(test)]
mod tests;
