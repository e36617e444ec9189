//! The stdio transport serving the quickstart router (the `router` target's stack) on any
//! input stream: every line it writes is one JSON-RPC message, each request gets at most one
//! answer, and it ends when the input does.

use std::collections::HashMap;
use std::time::Duration;

use mcp_core::jsonrpc::RequestId;
use mcp_tower::StdioTransport;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::AsyncReadExt;

use crate::RUNTIME;

/// Lines in the fuzz inputs are short: a small limit lets the fuzzer reach the refusal.
const MAX_LINE: usize = 4096;

/// Serves `data` as stdin and checks what was written to stdout.
///
/// ```
/// mcp_fuzz::stdio(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n[{]\n");
/// ```
pub fn stdio(data: &[u8]) {
    let output = RUNTIME.block_on(async {
        let transport = StdioTransport::new()
            .max_line_length(MAX_LINE)
            .shutdown_grace(Duration::from_millis(100));
        let service = crate::router::SERVICE.clone();
        let (stdout, mut written) = tokio::io::duplex(1 << 16);
        let collected = tokio::spawn(async move {
            let mut output = Vec::new();
            written.read_to_end(&mut output).await.map(|_| output)
        });
        let stdin = std::io::Cursor::new(data.to_vec());
        tokio::time::timeout(
            Duration::from_secs(10),
            transport.serve_io(service, stdin, stdout),
        )
        .await
        .expect("serving ends when the input does")
        .expect("writing to memory does not fail");
        collected
            .await
            .expect("the collector does not panic")
            .expect("reading memory does not fail")
    });
    let text = std::str::from_utf8(&output).expect("the output is UTF-8");
    let asked = requests_by_id(data);
    let mut answers: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let message: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("an output line that is not JSON ({error}): {line}"));
        for item in crate::messages(&message) {
            crate::schema::assert_jsonrpc_message(item);
        }
        // The ids again from the text: a `Value` rounds integers past 64 bits.
        for item in items(line) {
            let Ok(answer) = serde_json::from_str::<Answer<'_>>(item.get()) else {
                continue;
            };
            if let (Some(id), true) = (answer.id, answer.result.or(answer.error).is_some()) {
                let id = id_key(id);
                let count = answers.entry(id.clone()).or_default();
                *count += 1;
                assert!(
                    *count <= asked.get(&id).copied().unwrap_or(0),
                    "more answers to id {id} than messages with it"
                );
            }
        }
    }
}

/// What the answer count reads of an output message.
#[derive(serde::Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The items of a batch line, or the line's one message; nothing for a line that is not JSON.
fn items(line: &str) -> Vec<&RawValue> {
    if line.trim_start().starts_with('[') {
        serde_json::from_str(line).unwrap_or_default()
    } else {
        serde_json::from_str(line)
            .map(|item| vec![item])
            .unwrap_or_default()
    }
}

/// An id by its value, as the server reads it (`7.0` is `7`); its text when it is no id.
fn id_key(id: &RawValue) -> String {
    RequestId::from_json(id.get()).map_or_else(|| id.get().to_owned(), |id| format!("{id:?}"))
}

/// How many messages (lines, or items of batch lines) carry each id, by [`id_key`]. Read the
/// way the server reads them: members other than `id` are skipped, not converted (a number
/// past f64 there does not make the line unreadable).
fn requests_by_id(data: &[u8]) -> HashMap<String, usize> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    let mut asked = HashMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        for item in items(text) {
            // Invalid messages are answered with their id too, when it can be read.
            if let Ok(Id { id: Some(id) }) = serde_json::from_str(item.get()) {
                *asked.entry(id_key(id)).or_default() += 1;
            }
        }
    }
    asked
}
