//! What each fuzz target checks, as plain functions of the input bytes.
//!
//! The libFuzzer binaries in `fuzz/libfuzzer` (run with `scripts/fuzz.sh TARGET`) are one-line
//! wrappers around these functions, and the replay test (`cargo test -p mcp-fuzz`) runs them
//! over the committed seeds in `fuzz/corpus` and over mutations of them, on stable Rust, so
//! the checks are built and exercised by every test run. A check panics when the code under
//! test is wrong; every other outcome (bad input answered with the spec's error) passes.
//!
//! ```
//! mcp_fuzz::scan(br#"{"name":"add","arguments":{"a":[1,2]}}"#);
//! mcp_fuzz::message(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
//! ```

mod auth;
mod http;
mod message;
mod router;
mod scan;
#[path = "../../mcp-core/tests/support/schema.rs"]
mod schema;
mod stdio;

pub use auth::auth;
pub use http::http;
pub use message::message;
pub use router::router;
pub use scan::scan;
pub use stdio::stdio;

use std::sync::LazyLock;

use serde_json::Value;

/// The runtime every target runs on; tasks the server spawns (task-augmented calls, SSE
/// streams, the authenticator's key fetch) run on its one worker.
pub(crate) static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
});

/// The messages of a JSON-RPC payload: the items of a batch, or the one message.
pub(crate) fn messages(payload: &Value) -> Vec<&Value> {
    payload
        .as_array()
        .map_or_else(|| vec![payload], |items| items.iter().collect())
}

/// One target's check: panics when the code under test answered `data` wrongly.
pub type Check = fn(data: &[u8]);

/// The targets by name, as the corpus directories and the libFuzzer binaries are named.
pub const TARGETS: [(&str, Check); 6] = [
    ("scan", scan),
    ("message", message),
    ("router", router),
    ("http", http),
    ("auth", auth),
    ("stdio", stdio),
];
