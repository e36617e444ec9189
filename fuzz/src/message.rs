//! `Message::parse` on any bytes: a message, or the JSON-RPC error the spec gives for them.

use mcp_core::jsonrpc::{Message, codes};
use serde::de::IgnoredAny;
use serde_json::Value;

/// Parses `data` as a JSON-RPC message and checks the answer: text serde_json refuses is a
/// parse error (-32700); a message that parses is valid JSON with params that are valid JSON;
/// an error answer is a JSON-RPC error response (-32700 or -32600).
///
/// ```
/// mcp_fuzz::message(br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{}}"#);
/// mcp_fuzz::message(br#"{"jsonrpc":"2.0","id":1,"method":7}"#);
/// mcp_fuzz::message(b"[{");
/// ```
pub fn message(data: &[u8]) {
    let text = std::str::from_utf8(data).ok();
    // JSON as serde_json skips it (numbers not converted, escapes not decoded), and as it
    // reads it into values (no lone surrogates, no numbers beyond f64, at most 128 deep):
    // what the parser accepts and refuses must fall between the two.
    let skips = text.is_some_and(|text| serde_json::from_str::<IgnoredAny>(text).is_ok());
    let reads = text.is_some_and(|text| serde_json::from_str::<Value>(text).is_ok());
    match Message::parse(data) {
        Ok(message) => {
            assert!(skips, "parsed a message from text that is not JSON");
            check_message(&message);
        }
        Err(response) => {
            let bytes = response.to_vec();
            let answer: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("the error answer is not JSON ({error})"));
            assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
            let code = answer["error"]["code"].as_i64().expect("an error code");
            if code == i64::from(codes::PARSE_ERROR) {
                assert!(!reads, "valid JSON refused with {answer}");
                assert_eq!(answer["id"], Value::Null, "{answer}");
            } else {
                assert_eq!(code, i64::from(codes::INVALID_REQUEST), "{answer}");
                assert!(skips, "text that is not JSON refused with {answer}");
            }
        }
    }
}

fn check_message(message: &Message) {
    if let Some(params) = message.params() {
        serde_json::from_str::<IgnoredAny>(params.get()).expect("params are JSON");
    }
    if let Message::Batch(items) = message {
        for item in items {
            match item {
                Ok(item) => check_message(item),
                Err(response) => {
                    serde_json::from_slice::<IgnoredAny>(&response.to_vec())
                        .expect("a batch item's error answer is JSON");
                }
            }
        }
    }
}
