//! GET: the session's stream for unsolicited messages, or the resumption of any stream of the
//! session with `Last-Event-ID`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::event_store::parse_event_id;
use super::sse::SseWriter;
use super::{Shared, accepts, sse_response};
use crate::body::McpBody;
use crate::error_body::json_rpc_error_response;
use crate::session::{LiveSession, SessionManager};

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
        .get(super::era::VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(mcp_core::ProtocolVersion::parse)
        .is_some_and(mcp_core::ProtocolVersion::is_modern);
    let stateless = request.extensions().get::<SessionManager>().is_none();
    if !shared.config.get_stream || modern || stateless || !shared.config.legacy {
        return super::method_not_allowed();
    }
    let Some(session) = request.extensions().get::<Arc<LiveSession>>().cloned() else {
        return json_rpc_error_response(
            StatusCode::BAD_REQUEST,
            -32600,
            "Bad Request: Mcp-Session-Id header is required",
        );
    };
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(last) = last_event_id {
        return resume(&shared, &session, &last);
    }
    let Some(messages) = session.open_stream() else {
        return json_rpc_error_response(
            StatusCode::CONFLICT,
            -32600,
            "Conflict: this session already has an open stream",
        );
    };
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    let stream = shared.next_stream.fetch_add(1, Ordering::Relaxed);
    let session_id = mcp_core::Session::id(&*session).to_owned();
    let writer = SseWriter::new(stream, &session_id, sink, shared.config.event_store.clone());
    tracing::debug!(session.id = %session_id, stream, "session stream opened");
    tokio::spawn(standalone(shared, writer, messages));
    sse_response(McpBody::stream(body))
}

/// Forwards the session's unsolicited messages until the client or the session goes away.
async fn standalone(
    shared: Arc<Shared>,
    mut writer: SseWriter,
    mut messages: mpsc::Receiver<Bytes>,
) {
    writer.prime(shared.retry_ms).await;
    let mut keep_alive = tokio::time::interval(shared.config.keep_alive);
    keep_alive.reset();
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Some(bytes) => {
                    if !writer.event(bytes).await {
                        break;
                    }
                }
                None => break,
            },
            _ = keep_alive.tick() => {
                if !writer.keep_alive().await {
                    break;
                }
            }
            () = writer.client_gone() => break,
        }
    }
    writer.finish();
}

/// Replays what the stream sent after `last`, then follows it until it ends.
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
    let Some((stream, sequence, first)) = replay else {
        return json_rpc_error_response(
            StatusCode::NOT_FOUND,
            -32600,
            "Not Found: unknown or expired Last-Event-ID",
        );
    };
    let (sink, body) = mpsc::channel(shared.config.outbound_capacity);
    let store = shared.config.event_store.clone();
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let Some(store) = store else { return };
        let _following = super::Following::new(&shared, stream);
        let mut writer = SseWriter::resume(stream, sequence, sink, None);
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
                () = writer.client_gone() => return,
            }
        }
    });
    sse_response(McpBody::stream(body))
}
