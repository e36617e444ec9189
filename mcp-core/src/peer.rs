//! The outbound half of a request: notifications and server→client requests on their way to
//! whatever carries them (the request's SSE stream, stdout, a test channel).

use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{ErrorObject, notification_json};

/// A message the server wants to send to the client in the scope of one request.
#[derive(Debug)]
pub enum OutboundMessage {
    /// A notification, already encoded as a JSON-RPC notification.
    Notification(Vec<u8>),
    /// A server→client request; the transport assigns the id.
    Request {
        /// The method, e.g. `sampling/createMessage`.
        method: &'static str,
        /// The params object.
        params: Box<RawValue>,
        /// Where the client's answer goes.
        reply: oneshot::Sender<Result<Box<RawValue>, ErrorObject>>,
    },
    /// Ask the transport to close the request's SSE stream now (2025-11-25 SSE polling);
    /// the handler keeps running and the client resumes with `Last-Event-ID`.
    CloseStream,
}

/// The handle a request's handler uses to reach the client. Cheap to clone.
///
/// The transport makes a link per request with [`ClientPeer::channel`], puts the
/// [`ClientPeer`] into the request extensions, and drains the [`Outbound`] half:
/// notifications are written as they come; a request gets an id from the transport, is
/// written, and its answer is sent back through the [`OutboundMessage::Request::reply`] sender
/// when the client's response arrives.
///
/// Most handlers never send anything, so the bounded channel behind the link is only built
/// when the handler first sends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{ClientPeer, OutboundMessage};
///
/// let (peer, mut outbound) = ClientPeer::channel(8);
/// tokio::spawn(async move {
///     while let Some(message) = outbound.recv().await {
///         if let OutboundMessage::Request { reply, .. } = message {
///             let answer = serde_json::value::to_raw_value(&serde_json::json!({"roots": []})).unwrap();
///             let _ = reply.send(Ok(answer));
///         }
///     }
/// });
/// let params = serde_json::value::to_raw_value(&serde_json::json!({})).unwrap();
/// let answer = peer.request("roots/list", params).await.unwrap();
/// assert_eq!(answer.get(), r#"{"roots":[]}"#);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientPeer {
    link: Arc<Link>,
}

/// What the peers of one request share. Dropping the last peer drops `handoff`, which tells
/// a waiting [`Outbound`] that nothing will ever come.
#[derive(Debug)]
struct Link {
    capacity: usize,
    /// The request's cancellation, carried here so a transport adds one extension, not two.
    cancellation: Cancellation,
    /// Set by [`ClientPeer::cancel`]: this request was cancelled by itself, not with its whole
    /// connection (see [`ClientPeer::is_cancelled_alone`]).
    cancelled_alone: AtomicBool,
    sender: OnceLock<mpsc::Sender<OutboundMessage>>,
    handoff: Mutex<Option<oneshot::Sender<mpsc::Receiver<OutboundMessage>>>>,
    /// Set once the request's handler starts (see [`ClientPeer::mark_handler_started`]).
    started: AtomicBool,
    /// Set while a transport waits for that (see [`ClientPeer::handler_started`]): every
    /// other request skips the lock below.
    start_awaited: AtomicBool,
    start_waiter: Mutex<Option<oneshot::Sender<()>>>,
}

/// How a link carries its request's cancellation.
#[derive(Debug)]
enum Cancellation {
    /// Not at all (a plain channel).
    None,
    /// The transport's token.
    Given(CancellationToken),
    /// A token made only when someone asks for one (most handlers never do, and a token is an
    /// allocation whose clones and drops take a lock); [`ClientPeer::cancel`] before or after
    /// that cancels it.
    Lazy {
        token: OnceLock<CancellationToken>,
        cancelled: AtomicBool,
    },
}

/// The transport's half of a [`ClientPeer`]: what the handler sends, in order. The
/// [`ClientPeer`] docs show a transport draining it.
#[derive(Debug)]
pub struct Outbound {
    state: OutboundState,
}

#[derive(Debug)]
enum OutboundState {
    /// The handler has not sent anything yet; the channel arrives here when it does.
    Waiting(oneshot::Receiver<mpsc::Receiver<OutboundMessage>>),
    Open(mpsc::Receiver<OutboundMessage>),
    Closed,
}

impl Outbound {
    /// The next message; `None` once every [`ClientPeer`] of the request is gone and all
    /// messages were received. Cancel-safe, like [`mpsc::Receiver::recv`].
    pub async fn recv(&mut self) -> Option<OutboundMessage> {
        loop {
            match &mut self.state {
                OutboundState::Open(receiver) => return receiver.recv().await,
                OutboundState::Waiting(handoff) => match handoff.await {
                    Ok(receiver) => self.state = OutboundState::Open(receiver),
                    Err(_) => self.state = OutboundState::Closed,
                },
                OutboundState::Closed => return None,
            }
        }
    }

    /// The next message if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Result<OutboundMessage, TryRecvError> {
        if let OutboundState::Waiting(handoff) = &mut self.state {
            self.state = match handoff.try_recv() {
                Ok(receiver) => OutboundState::Open(receiver),
                Err(oneshot::error::TryRecvError::Empty) => return Err(TryRecvError::Empty),
                Err(oneshot::error::TryRecvError::Closed) => OutboundState::Closed,
            };
        }
        match &mut self.state {
            OutboundState::Open(receiver) => receiver.try_recv(),
            _ => Err(TryRecvError::Disconnected),
        }
    }
}

impl ClientPeer {
    /// A bounded link: a slow client makes senders wait instead of growing memory.
    pub fn channel(capacity: usize) -> (ClientPeer, Outbound) {
        Self::link(capacity, Cancellation::None)
    }

    /// A bounded link that also carries the request's cancellation, which handler contexts
    /// built from the request's extensions then observe.
    ///
    /// ```
    /// use mcp_core::{CancellationToken, ClientPeer};
    ///
    /// let token = CancellationToken::new();
    /// let (peer, _outbound) = ClientPeer::request_channel(8, token.clone());
    /// token.cancel();
    /// assert!(peer.cancellation().is_some_and(CancellationToken::is_cancelled));
    /// ```
    pub fn request_channel(
        capacity: usize,
        cancellation: CancellationToken,
    ) -> (ClientPeer, Outbound) {
        Self::link(capacity, Cancellation::Given(cancellation))
    }

    /// A bounded link whose cancellation token is made on first use: the transport cancels
    /// the request with [`cancel`](Self::cancel), whether or not anyone asked for the token.
    ///
    /// ```
    /// use mcp_core::ClientPeer;
    ///
    /// let (peer, _outbound) = ClientPeer::cancellable_channel(8);
    /// assert!(!peer.is_cancelled());
    /// peer.cancel(); // the client went away; nobody had asked for the token yet
    /// assert!(peer.is_cancelled());
    /// assert!(peer.cancellation().is_some_and(|token| token.is_cancelled()));
    /// ```
    pub fn cancellable_channel(capacity: usize) -> (ClientPeer, Outbound) {
        let cancellation = Cancellation::Lazy {
            token: OnceLock::new(),
            cancelled: AtomicBool::new(false),
        };
        Self::link(capacity, cancellation)
    }

    /// The request's cancellation, when the link carries one.
    pub fn cancellation(&self) -> Option<&CancellationToken> {
        match &self.link.cancellation {
            Cancellation::None => None,
            Cancellation::Given(token) => Some(token),
            Cancellation::Lazy { token, cancelled } => {
                if let Some(token) = token.get() {
                    return Some(token);
                }
                let token = token.get_or_init(CancellationToken::new);
                // Pairs with the fence in `cancel`: either `cancel` sees this token, or this
                // sees its flag.
                fence(Ordering::SeqCst);
                if cancelled.load(Ordering::SeqCst) {
                    token.cancel();
                }
                Some(token)
            }
        }
    }

    /// Cancels the request (the client went away, or asked): its token fires, now or when it
    /// is made. Nothing for a link without cancellation.
    pub fn cancel(&self) {
        self.link.cancelled_alone.store(true, Ordering::SeqCst);
        match &self.link.cancellation {
            Cancellation::None => {}
            Cancellation::Given(token) => token.cancel(),
            Cancellation::Lazy { token, cancelled } => {
                cancelled.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if let Some(token) = token.get() {
                    token.cancel();
                }
            }
        }
    }

    /// Whether the request was cancelled, without making a token.
    pub fn is_cancelled(&self) -> bool {
        match &self.link.cancellation {
            Cancellation::None => false,
            Cancellation::Given(token) => token.is_cancelled(),
            Cancellation::Lazy { token, cancelled } => {
                cancelled.load(Ordering::SeqCst)
                    || token.get().is_some_and(CancellationToken::is_cancelled)
            }
        }
    }

    /// Whether this request was cancelled by itself, with [`cancel`](Self::cancel) (the
    /// client cancelled it, or left its answer), rather than with its whole connection (a
    /// [`request_channel`](Self::request_channel) token whose parent fired: the end of
    /// stdio's input, a shutdown). Telemetry tells a cancellation from a client gone by it.
    ///
    /// ```
    /// use mcp_core::{CancellationToken, ClientPeer};
    ///
    /// let connection = CancellationToken::new();
    /// let (peer, _outbound) = ClientPeer::request_channel(8, connection.child_token());
    /// connection.cancel(); // the whole connection ends
    /// assert!(peer.is_cancelled() && !peer.is_cancelled_alone());
    /// peer.cancel(); // the client cancels this request
    /// assert!(peer.is_cancelled_alone());
    /// ```
    pub fn is_cancelled_alone(&self) -> bool {
        self.link.cancelled_alone.load(Ordering::SeqCst)
    }

    /// Whether `other` is a clone of this peer, that is the link of the same request. A
    /// transport that keeps peers by request id tells with it a request from a later one
    /// that reuses its id.
    ///
    /// ```
    /// use mcp_core::ClientPeer;
    ///
    /// let (first, _outbound) = ClientPeer::cancellable_channel(8);
    /// let (second, _outbound) = ClientPeer::cancellable_channel(8);
    /// assert!(first.is_same_request(&first.clone()));
    /// assert!(!first.is_same_request(&second));
    /// ```
    pub fn is_same_request(&self, other: &ClientPeer) -> bool {
        Arc::ptr_eq(&self.link, &other.link)
    }

    fn link(capacity: usize, cancellation: Cancellation) -> (ClientPeer, Outbound) {
        let (handoff, waiting) = oneshot::channel();
        let link = Link {
            capacity: capacity.max(1),
            cancellation,
            cancelled_alone: AtomicBool::new(false),
            sender: OnceLock::new(),
            handoff: Mutex::new(Some(handoff)),
            started: AtomicBool::new(false),
            start_awaited: AtomicBool::new(false),
            start_waiter: Mutex::new(None),
        };
        let outbound = Outbound {
            state: OutboundState::Waiting(waiting),
        };
        (
            ClientPeer {
                link: Arc::new(link),
            },
            outbound,
        )
    }

    /// The channel's sender, built on first use and handed to the [`Outbound`] half.
    fn sender(&self) -> &mpsc::Sender<OutboundMessage> {
        self.link.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.link.capacity);
            let handoff = self
                .link
                .handoff
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            // The transport may be gone already: then sends fail, as they should.
            if let Some(handoff) = handoff {
                let _ = handoff.send(receiver);
            }
            sender
        })
    }

    /// Sends a notification. Fails when the transport has gone away.
    pub async fn notify(&self, method: &str, params: &impl Serialize) -> Result<(), ErrorObject> {
        self.forward_notification(notification_json(method, params))
            .await
    }

    /// Sends a notification already encoded (one another peer's handler sent).
    pub(crate) async fn forward_notification(&self, bytes: Vec<u8>) -> Result<(), ErrorObject> {
        self.sender()
            .send(OutboundMessage::Notification(bytes))
            .await
            .map_err(|_| ErrorObject::internal_error("the client's stream is closed"))
    }

    /// Sends a request whose answer goes to `reply` (dropped unanswered when the transport
    /// forgets the request, as when its stream ends).
    pub(crate) async fn forward_request(
        &self,
        method: &'static str,
        params: Box<RawValue>,
        reply: oneshot::Sender<Result<Box<RawValue>, ErrorObject>>,
    ) -> Result<(), ErrorObject> {
        self.sender()
            .send(OutboundMessage::Request {
                method,
                params,
                reply,
            })
            .await
            .map_err(|_| ErrorObject::internal_error("the client's stream is closed"))
    }

    /// Sends a request and waits for the client's answer (no timeout here: the caller adds it).
    pub async fn request(
        &self,
        method: &'static str,
        params: Box<RawValue>,
    ) -> Result<Box<RawValue>, ErrorObject> {
        let (reply, answer) = oneshot::channel();
        self.forward_request(method, params, reply).await?;
        answer
            .await
            .map_err(|_| ErrorObject::internal_error(format!("no answer to {method}")))?
    }

    /// Asks the transport to close the response stream early (the client will resume).
    pub async fn close_stream(&self) -> Result<(), ErrorObject> {
        self.sender()
            .send(OutboundMessage::CloseStream)
            .await
            .map_err(|_| ErrorObject::internal_error("the client's stream is closed"))
    }

    /// Completes once the request's handler starts, that is once the request has passed
    /// every layer in front of the router, which can no longer refuse it (at once if it has
    /// already). A transport that must choose its response head (an HTTP status for a
    /// refusal, or a stream) waits for this, the answer or a first message, whichever comes
    /// first. Fails (`Err`) if every peer is dropped without a handler starting; a later
    /// call replaces the earlier one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::ClientPeer;
    ///
    /// let (peer, _outbound) = ClientPeer::cancellable_channel(8);
    /// let started = peer.handler_started();
    /// assert!(!peer.has_handler_started());
    /// peer.mark_handler_started(); // what the router does before running a handler
    /// assert!(started.await.is_ok());
    /// assert!(peer.has_handler_started());
    /// # }
    /// ```
    pub fn handler_started(&self) -> oneshot::Receiver<()> {
        let (waiter, started) = oneshot::channel();
        *self.start_waiter() = Some(waiter);
        // Both flags sequentially consistent: of this store and the marker's, one sees the
        // other's, so the waiter is woken whichever side comes second.
        self.link.start_awaited.store(true, Ordering::SeqCst);
        if self.link.started.load(Ordering::SeqCst) {
            self.wake_start_waiter();
        }
        started
    }

    /// Whether the request's handler has started (see
    /// [`handler_started`](Self::handler_started)).
    pub fn has_handler_started(&self) -> bool {
        self.link.started.load(Ordering::SeqCst)
    }

    /// Records that the request's handler starts now, and wakes a transport waiting on
    /// [`handler_started`](Self::handler_started). The router calls it when it builds a
    /// handler's context; when no transport waits it costs an atomic store and load.
    pub fn mark_handler_started(&self) {
        self.link.started.store(true, Ordering::SeqCst);
        if self.link.start_awaited.load(Ordering::SeqCst) {
            self.wake_start_waiter();
        }
    }

    fn start_waiter(&self) -> std::sync::MutexGuard<'_, Option<oneshot::Sender<()>>> {
        self.link
            .start_waiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wake_start_waiter(&self) {
        let waiter = self.start_waiter().take();
        if let Some(waiter) = waiter {
            let _ = waiter.send(());
        }
    }

    /// Whether the receiving side is gone.
    pub fn is_closed(&self) -> bool {
        if let Some(sender) = self.link.sender.get() {
            return sender.is_closed();
        }
        let handoff = self
            .link
            .handoff
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match handoff.as_ref() {
            Some(handoff) => handoff.is_closed(),
            // Another clone is building the channel right now: wait for it and ask it.
            None => {
                drop(handoff);
                self.sender().is_closed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_handler_start_is_seen_whether_it_comes_before_or_after_the_wait() {
        // Marked first (the handler started in the transport's first poll): ready at once.
        let (peer, _outbound) = ClientPeer::cancellable_channel(2);
        peer.mark_handler_started();
        assert!(peer.handler_started().try_recv().is_ok());
        // Waited for first, marked from another task.
        let (peer, _outbound) = ClientPeer::cancellable_channel(2);
        let started = peer.handler_started();
        let marker = peer.clone();
        tokio::spawn(async move { marker.mark_handler_started() });
        assert!(started.await.is_ok());
        // Never marked: the wait fails once every peer is gone, instead of hanging.
        let (peer, _outbound) = ClientPeer::cancellable_channel(2);
        let started = peer.handler_started();
        drop(peer);
        assert!(started.await.is_err());
    }

    #[tokio::test]
    async fn the_channel_is_built_on_the_first_send() {
        let (peer, mut outbound) = ClientPeer::channel(2);
        assert!(matches!(outbound.try_recv(), Err(TryRecvError::Empty)));
        assert!(!peer.is_closed());
        peer.notify("notifications/message", &serde_json::json!({}))
            .await
            .unwrap();
        let Ok(OutboundMessage::Notification(bytes)) = outbound.try_recv() else {
            panic!("the notification should be queued");
        };
        assert!(bytes.starts_with(br#"{"jsonrpc":"2.0","method":"notifications/message""#));
        drop(peer);
        assert!(outbound.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_peer_that_never_sends_ends_the_outbound_half() {
        let (peer, mut outbound) = ClientPeer::channel(2);
        let clone = peer.clone();
        drop(peer);
        let waiting = tokio::spawn(async move { outbound.recv().await.is_none() });
        tokio::task::yield_now().await;
        drop(clone);
        assert!(waiting.await.unwrap());
    }

    #[test]
    fn a_lazy_token_is_cancelled_whether_made_before_or_after_the_cancel() {
        let (early, _outbound) = ClientPeer::cancellable_channel(1);
        let token = early.cancellation().unwrap().clone();
        assert!(!token.is_cancelled() && !early.is_cancelled());
        early.cancel();
        assert!(token.is_cancelled() && early.is_cancelled());

        let (late, _outbound) = ClientPeer::cancellable_channel(1);
        late.cancel();
        assert!(late.cancellation().unwrap().is_cancelled());

        // A handler may cancel its own token.
        let (own, _outbound) = ClientPeer::cancellable_channel(1);
        own.cancellation().unwrap().cancel();
        assert!(own.is_cancelled());

        let (plain, _outbound) = ClientPeer::channel(1);
        plain.cancel();
        assert!(plain.cancellation().is_none() && !plain.is_cancelled());
    }

    #[test]
    fn a_cancel_racing_the_first_use_is_never_lost() {
        for _ in 0..200 {
            let (peer, _outbound) = ClientPeer::cancellable_channel(1);
            let other = peer.clone();
            let canceller = std::thread::spawn(move || other.cancel());
            let token = peer.cancellation().unwrap().clone();
            canceller.join().unwrap();
            assert!(token.is_cancelled());
        }
    }

    #[tokio::test]
    async fn sends_fail_once_the_transport_is_gone() {
        let (peer, outbound) = ClientPeer::channel(2);
        drop(outbound);
        assert!(peer.is_closed());
        assert!(peer.close_stream().await.is_err());
        assert!(peer.is_closed());
    }
}
