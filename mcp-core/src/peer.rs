//! The outbound half of a request: notifications and server→client requests on their way to
//! whatever carries them (the request's SSE stream, stdout, a test channel).
//!
//! The transport makes a channel per request with [`ClientPeer::channel`], puts the
//! [`ClientPeer`] into the request extensions, and drains the receiver: notifications are
//! written as they come; a request gets an id from the transport, is written, and its answer
//! is sent back through the [`OutboundMessage::Request::reply`] sender when the client's
//! response arrives.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use mcp_core::{ClientPeer, OutboundMessage};
//!
//! let (peer, mut outbound) = ClientPeer::channel(8);
//! tokio::spawn(async move {
//!     while let Some(message) = outbound.recv().await {
//!         if let OutboundMessage::Request { reply, .. } = message {
//!             let answer = serde_json::value::to_raw_value(&serde_json::json!({"roots": []})).unwrap();
//!             let _ = reply.send(Ok(answer));
//!         }
//!     }
//! });
//! let params = serde_json::value::to_raw_value(&serde_json::json!({})).unwrap();
//! let answer = peer.request("roots/list", params).await.unwrap();
//! assert_eq!(answer.get(), r#"{"roots":[]}"#);
//! # }
//! ```

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

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
#[derive(Debug, Clone)]
pub struct ClientPeer {
    sender: mpsc::Sender<OutboundMessage>,
}

impl ClientPeer {
    /// A bounded channel: a slow client makes senders wait instead of growing memory.
    pub fn channel(capacity: usize) -> (ClientPeer, mpsc::Receiver<OutboundMessage>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (ClientPeer { sender }, receiver)
    }

    /// Sends a notification. Fails when the transport has gone away.
    pub async fn notify(&self, method: &str, params: &impl Serialize) -> Result<(), ErrorObject> {
        let bytes = notification_json(method, params);
        self.sender
            .send(OutboundMessage::Notification(bytes))
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
        self.sender
            .send(OutboundMessage::Request {
                method,
                params,
                reply,
            })
            .await
            .map_err(|_| ErrorObject::internal_error("the client's stream is closed"))?;
        answer
            .await
            .map_err(|_| ErrorObject::internal_error(format!("no answer to {method}")))?
    }

    /// Asks the transport to close the response stream early (the client will resume).
    pub async fn close_stream(&self) -> Result<(), ErrorObject> {
        self.sender
            .send(OutboundMessage::CloseStream)
            .await
            .map_err(|_| ErrorObject::internal_error("the client's stream is closed"))
    }

    /// Whether the receiving side is gone.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}
