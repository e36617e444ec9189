//! The quickstart router behind `BatchLayer` and `TelemetryLayer`, called with any message
//! under any protocol version: it answers valid JSON-RPC, or nothing for notifications.

use std::convert::Infallible;
use std::sync::LazyLock;

use futures_util::FutureExt;
use mcp_core::jsonrpc::Message;
use mcp_core::{McpRequest, McpResponse, ProtocolVersion};
use mcp_telemetry::TelemetryLayer;
use mcp_tower::BatchLayer;
use serde_json::Value;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

use crate::RUNTIME;

type Rpc = BoxCloneSyncService<McpRequest, McpResponse, Infallible>;

pub(crate) static SERVICE: LazyLock<Rpc> = LazyLock::new(|| {
    let _runtime = RUNTIME.enter();
    let router = quickstart::router();
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(BatchLayer::new())
            .layer(TelemetryLayer::for_router(&router))
            .service(router),
    )
});

/// The first byte picks the protocol version; the rest is the message. A call still pending
/// after its first poll (one that waits on the client, say) is dropped, as a disconnect would.
///
/// ```
/// mcp_fuzz::router(br#"3{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#);
/// ```
pub fn router(data: &[u8]) {
    let Some((&version, body)) = data.split_first() else {
        return;
    };
    let version = ProtocolVersion::ALL[usize::from(version) % ProtocolVersion::ALL.len()];
    let Ok(message) = Message::parse(body) else {
        return;
    };
    let is_notification = matches!(message, Message::Notification(_));
    let _runtime = RUNTIME.enter();
    let called = SERVICE
        .clone()
        .oneshot(McpRequest::new(message, version))
        .now_or_never();
    let Some(Ok(response)) = called else {
        return;
    };
    let bytes = response.to_vec();
    if bytes.is_empty() {
        return;
    }
    let answer: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the answer is not JSON ({error})"));
    assert!(!is_notification, "a notification was answered: {answer}");
    for item in crate::messages(&answer) {
        crate::schema::assert_jsonrpc_message(item);
        assert!(
            item.get("result").is_some() != item.get("error").is_some(),
            "an answer has one of result and error: {item}"
        );
        if let Some(code) = item["error"]["code"].as_i64() {
            // Internal errors are for handler failures, which the quickstart's handlers have
            // none of: bad input must get the error that names what is wrong with it.
            assert_ne!(code, -32603, "an internal error for bad input: {item}");
        }
    }
}
