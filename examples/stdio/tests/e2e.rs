//! The example binary driven over real pipes, as an MCP client would.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The server process, its stdin, and its stdout lines as they come.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// The thread reading stdout: it ends (closing the pipe) once `lines` is dropped.
    reader: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_example-stdio"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the example starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            reader: Some(reader),
        }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line in time");
        serde_json::from_str(&line).expect("one JSON message per line")
    }

    fn initialize(&mut self) {
        self.send(
            &json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{},
            "clientInfo":{"name":"e2e","version":"1"}}}),
        );
        assert_eq!(self.recv()["result"]["protocolVersion"], "2025-06-18");
        self.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    }

    /// Waits for the process to exit; how long it took.
    fn wait_exit(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.child.try_wait().unwrap().is_some() {
                return start.elapsed();
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        panic!("the server did not exit within {limit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping(id: i64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"ping"})
}

#[test]
fn closing_stdin_cancels_a_pending_request_and_exits() {
    let mut server = Server::start();
    server.initialize();
    server.send(
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
        "name":"sleep","arguments":{"seconds":60},"_meta":{"progressToken":"p"}}}),
    );
    assert_eq!(server.recv()["method"], "notifications/progress");
    drop(server.stdin.take());
    // The default grace is 2 s; the handler watches its token, so it ends at once.
    server.wait_exit(Duration::from_secs(2));
    let response = server.recv();
    assert_eq!(response["id"], 1);
    assert_eq!(response["result"]["content"][0]["text"], "cancelled");
}

#[test]
fn a_batch_is_served_and_a_notification_named_initialize_changes_nothing() {
    let mut server = Server::start();
    // Not a handshake: the version stays 2025-03-26, where batches are allowed.
    server.send(&json!({"jsonrpc":"2.0","method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"e2e","version":"1"}}}));
    server.send(&json!([ping(1), ping(2)]));
    let answers = server.recv();
    assert_eq!(
        answers,
        json!([
            {"jsonrpc":"2.0","id":1,"result":{}},
            {"jsonrpc":"2.0","id":2,"result":{}},
        ])
    );
    drop(server.stdin.take());
    server.wait_exit(Duration::from_secs(5));
}

#[test]
fn a_broken_stdout_ends_the_process_while_stdin_stays_open() {
    let mut server = Server::start();
    server.send(&ping(1));
    assert_eq!(server.recv()["id"], 1);
    // The client stops reading: its reader fails to pass on the next line and ends, closing
    // its end of the server's stdout.
    let (_, lines) = mpsc::channel();
    drop(std::mem::replace(&mut server.lines, lines));
    server.send(&ping(2));
    server.reader.take().unwrap().join().unwrap();
    // This answer fails to write (EPIPE). Nothing more is written to stdin, which stays
    // open: the server must not wait for a read of it to end.
    server.send(&ping(3));
    server.wait_exit(Duration::from_secs(5));
}

#[test]
fn subscriptions_are_acknowledged_and_ended_at_end_of_input() {
    let mut server = Server::start();
    server.send(
        &json!({"jsonrpc":"2.0","id":"l","method":"subscriptions/listen","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{}},
        "notifications":{"toolsListChanged":true}}}),
    );
    let acknowledged = server.recv();
    assert_eq!(
        acknowledged["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        acknowledged["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "l"
    );
    drop(server.stdin.take());
    assert_eq!(server.recv()["method"], "notifications/cancelled");
    assert_eq!(server.recv()["result"]["resultType"], "complete");
    server.wait_exit(Duration::from_secs(5));
}
