//! [`SessionLayer`]: finds the session named by `Mcp-Session-Id`, refuses unknown ones with
//! 404, ends sessions on DELETE, and hands the bridge what it needs to create new ones.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use mcp_core::{Principal, ServedEras, SessionHandle};
use tower_layer::Layer;
use tower_service::Service;

use super::{InMemorySessionStore, LiveSession, SessionConfig, SessionManager, SessionStore};
use crate::error_body::{error_response, json_rpc_error_response};
use crate::future::ResponseFuture;

/// Adds legacy-era sessions to an HTTP service. Leave it out for a stateless server.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower::{SessionConfig, SessionLayer};
///
/// let sessions = SessionLayer::new(SessionConfig::default().idle_ttl(Duration::from_secs(300)));
/// # let _ = sessions;
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    manager: SessionManager,
    served: ServedEras,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer").finish_non_exhaustive()
    }
}

impl Default for SessionLayer {
    fn default() -> Self {
        Self::new(SessionConfig::default())
    }
}

impl SessionLayer {
    /// Sessions kept in memory with these limits.
    pub fn new(config: SessionConfig) -> Self {
        Self::with_store(InMemorySessionStore::new(config))
    }

    /// Sessions kept in `store`.
    pub fn with_store(store: impl SessionStore) -> Self {
        Self {
            manager: SessionManager {
                store: Arc::new(store),
                delivers_events: false,
            },
            served: ServedEras::BOTH,
        }
    }

    /// The eras the bridge behind serves (default both), as set with
    /// [`StreamableHttpConfig::legacy`](crate::StreamableHttpConfig::legacy) and
    /// [`modern`](crate::StreamableHttpConfig::modern): a DELETE whose
    /// `MCP-Protocol-Version` names another version is refused with the served ones, as the
    /// bridge refuses its requests. `McpServer` sets it from its HTTP config.
    ///
    /// ```
    /// use mcp_core::ServedEras;
    /// use mcp_tower::{SessionLayer, StreamableHttpConfig};
    ///
    /// let bridge = StreamableHttpConfig::default().modern(false);
    /// let sessions = SessionLayer::default().served_eras(ServedEras { legacy: true, modern: false });
    /// # let _ = (bridge, sessions);
    /// ```
    pub fn served_eras(mut self, served: ServedEras) -> Self {
        self.served = served;
        self
    }

    /// Delivers `router`'s events (list changes, resource updates, server logs) to the GET
    /// streams of these sessions, each filtered for its session (subscriptions, log level,
    /// allow-list). Call it inside the Tokio runtime. Without it nothing carries list changes
    /// or resource updates to these sessions, so `initialize` offers neither and
    /// `resources/subscribe` is refused (-32601).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let router = mcp_core::Router::builder().build();
    /// let sessions = mcp_tower::SessionLayer::default().deliver_events_from(&router);
    /// # let _ = sessions;
    /// # }
    /// ```
    pub fn deliver_events_from(mut self, router: &mcp_core::Router) -> Self {
        super::fan_out::spawn(router, Arc::clone(&self.manager.store));
        self.manager.delivers_events = true;
        self
    }

    /// The store, e.g. to count sessions or fan out notifications.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.manager.store
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
            served: self.served,
        }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
    served: ServedEras,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

/// Said once per process: a session made by an authenticated caller was asked for by a
/// request with no principal. An anonymous client guessing is answered 404 as it should be;
/// but when every request is, `SessionLayer` sits outside the authentication layer (it
/// must be inside it: the principal is put into the request there).
#[cold]
fn warn_unauthenticated_lookup() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "a request without a principal named a session bound to one and was answered 404; \
             if authenticated clients keep getting 404, put SessionLayer inside (below) the \
             authentication layer"
        );
    });
}

/// Whether the `MCP-Protocol-Version` header names a modern version.
fn names_modern_version(headers: &http::HeaderMap) -> bool {
    headers
        .get(&mcp_core::headers::MCP_PROTOCOL_VERSION)
        .and_then(|value| mcp_core::ProtocolVersion::parse(value.to_str().ok()?))
        .is_some_and(mcp_core::ProtocolVersion::is_modern)
}

impl<S, B, ResBody> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // A cheap handle on the header's bytes (no copy) that outlives the borrow of
        // `request`, which is modified below.
        let mut ids = request
            .headers()
            .get_all(&mcp_core::headers::MCP_SESSION_ID)
            .iter();
        let id = ids.next().cloned();
        let repeated = ids.next().is_some();
        let is_delete = request.method() == Method::DELETE;
        // A 2026-07-28 request is stateless whatever session id it carries (the spec: ignore
        // the header): served, and checked by the bridge, as a request without one. A DELETE
        // too, which the bridge refuses with 405 as it refuses GET in that era; a server
        // without that era refuses it below, as any other version it does not speak.
        let modern = names_modern_version(request.headers());
        // A server without the legacy era has no sessions: it ignores the header, as a
        // modern-only server should, and answers as it answers any legacy request (400 with
        // the versions it serves; 405 for GET and DELETE) rather than "Session not found".
        let stateless = !self.served.legacy || modern;
        let stateless_delete = is_delete && stateless && self.served.modern;
        let id = id.filter(|_| !stateless || (is_delete && !stateless_delete));
        if id.is_some() && repeated {
            // Which session would it be? Refused, as repeated routing headers are.
            return ResponseFuture::answer_unread(
                &request,
                json_rpc_error_response(
                    StatusCode::BAD_REQUEST,
                    -32600,
                    "Bad Request: the Mcp-Session-Id header is repeated",
                ),
            );
        }
        let Some(id) = id else {
            if is_delete && !stateless_delete {
                return ResponseFuture::answer_unread(
                    &request,
                    json_rpc_error_response(
                        StatusCode::BAD_REQUEST,
                        -32600,
                        "Bad Request: Mcp-Session-Id header is required",
                    ),
                );
            }
            request.extensions_mut().insert(self.manager.clone());
            return ResponseFuture::inner(self.inner.call(request));
        };
        let id = id.to_str().unwrap_or_default();
        let subject = request.extensions().get::<Principal>().map(Principal::id);
        let live = self.manager.store.get(id).filter(|s| !s.is_terminated());
        if subject.is_none() && live.as_ref().is_some_and(|s| s.principal().is_some()) {
            warn_unauthenticated_lookup();
        }
        // A session is bound to its principal: anyone else is told it does not exist.
        let session = live.filter(|s| s.principal() == subject);
        let Some(session) = session else {
            return ResponseFuture::answer_unread(
                &request,
                json_rpc_error_response(
                    StatusCode::NOT_FOUND,
                    super::SESSION_NOT_FOUND,
                    "Session not found",
                ),
            );
        };
        if is_delete {
            if let Err((status, error)) =
                crate::streamable::check_session_header(request.headers(), self.served)
            {
                return ResponseFuture::answer_unread(
                    &request,
                    error_response(status, None, error),
                );
            }
            self.manager.store.remove(id);
            tracing::debug!(session.id = %id, "session terminated by client");
            let mut response = Response::new(ResBody::from(Bytes::new()));
            *response.status_mut() = StatusCode::OK;
            return ResponseFuture::answer_unread(&request, response);
        }
        session.touch();
        let handle: SessionHandle = Arc::clone(&session) as SessionHandle;
        let extensions = request.extensions_mut();
        extensions.insert(handle);
        extensions.insert::<Arc<LiveSession>>(session);
        extensions.insert(self.manager.clone());
        ResponseFuture::inner(self.inner.call(request))
    }
}
