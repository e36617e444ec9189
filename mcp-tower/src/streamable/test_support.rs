//! Helpers of the transport's in-process tests: requests through the HTTP service, without a
//! socket, so that a test can leave a response body unread (a client that stopped reading).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, Request, StatusCode};
use mcp_core::{RequestContext, Tool};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::McpHttpService;
use crate::body::McpBody;

pub(super) fn request(method: Method, body: &str, headers: &[(&str, &str)]) -> Request<McpBody> {
    let mut builder = Request::builder()
        .method(method)
        .uri("http://localhost/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(McpBody::from(body.to_owned())).unwrap()
}

pub(super) async fn initialize(service: &McpHttpService<McpBody>) -> String {
    initialize_as(service, "2025-11-25").await
}

/// A session of protocol `version`, initialized.
pub(super) async fn initialize_as(service: &McpHttpService<McpBody>, version: &str) -> String {
    let init = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    );
    let response = service
        .clone()
        .oneshot(request(Method::POST, &init, &[]))
        .await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let done = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let headers = [("mcp-session-id", session.as_str())];
    let response = service
        .clone()
        .oneshot(request(Method::POST, done, &headers));
    assert_eq!(response.await.unwrap().status(), StatusCode::ACCEPTED);
    session
}

/// The id of an SSE event frame.
pub(super) fn event_id(frame: &str) -> &str {
    let line = frame.lines().next().unwrap_or_default();
    line.strip_prefix("id: ").expect("an event id first")
}

pub(super) async fn get(
    service: &McpHttpService<McpBody>,
    headers: &[(&str, &str)],
) -> (StatusCode, McpBody) {
    let mut all = vec![("accept", "text/event-stream")];
    all.extend_from_slice(headers);
    let response = service
        .clone()
        .oneshot(request(Method::GET, "", &all))
        .await;
    let (parts, body) = response.unwrap().into_parts();
    (parts.status, body)
}

/// A GET resuming `session`'s stream after the event `last`.
pub(super) async fn resume(
    service: &McpHttpService<McpBody>,
    session: &str,
    last: &str,
) -> (StatusCode, McpBody) {
    get(
        service,
        &[("mcp-session-id", session), ("last-event-id", last)],
    )
    .await
}

/// A POST of `body` in `session`.
pub(super) async fn post_in(
    service: &McpHttpService<McpBody>,
    session: &str,
    body: &str,
) -> http::Response<McpBody> {
    let headers = [("mcp-session-id", session)];
    let response = service
        .clone()
        .oneshot(request(Method::POST, body, &headers));
    response.await.unwrap()
}

/// The handlers of [`hold_tool`] alive now (started, and neither ended nor dropped), and the
/// most alive at once.
#[derive(Debug, Default)]
pub(super) struct Holds {
    live: AtomicUsize,
    most: AtomicUsize,
    /// Ends every `hold` handler, with the answer "released".
    pub(super) release: CancellationToken,
}

impl Holds {
    pub(super) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    pub(super) fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    /// Waits (at most 5 s) until `count` handlers are alive.
    pub(super) async fn wait_live(&self, count: usize) {
        let reached = async {
            while self.live() != count {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), reached)
            .await
            .unwrap_or_else(|_| panic!("{count} handlers alive in time (not {})", self.live()));
    }
}

/// Counts a `hold` handler alive until it ends or is dropped.
struct Alive(Arc<Holds>);

impl Alive {
    fn enter(holds: Arc<Holds>) -> Self {
        let live = holds.live.fetch_add(1, Ordering::SeqCst) + 1;
        holds.most.fetch_max(live, Ordering::SeqCst);
        Self(holds)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A tool `hold` that ignores its cancellation, as many real handlers do: it reports progress
/// (sent when the call has a progress token: its answer then becomes a stream), and answers
/// once `holds.release` fires.
pub(super) fn hold_tool(holds: &Arc<Holds>) -> Tool {
    let holds = Arc::clone(holds);
    Tool::new("hold").raw_handler(move |_, ctx: RequestContext| {
        let alive = Alive::enter(Arc::clone(&holds));
        async move {
            let _alive = alive;
            ctx.progress(0.0, None, None).await;
            _alive.0.release.cancelled().await;
            "released"
        }
    })
}

/// A `tools/call` of `hold` with id `id`, with a progress token when `progress`.
pub(super) fn call_hold(id: u32, progress: bool) -> String {
    let meta = if progress {
        format!(r#","_meta":{{"progressToken":{id}}}"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"hold","arguments":{{}}{meta}}}}}"#
    )
}

/// `notifications/cancelled` for the request `id`.
pub(super) fn cancel(id: u32) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id}}}}}"#
    )
}
