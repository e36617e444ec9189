//! Server processes: spawned from this same binary (`load serve ...`), read back their address
//! (and tokens), measured through `/proc/<pid>/status`, killed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::client::Target;
use crate::scenario::{ServerId, Variant};

/// How long a server may take to start (RSA key generation included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server process.
pub(crate) struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) target: Target,
}

impl ServerProcess {
    /// Starts `load serve SERVER --variant VARIANT` on a free loopback port.
    pub(crate) fn spawn(server: ServerId, variant: Variant) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args([
                "serve",
                server.cli(),
                "--variant",
                variant.cli(),
                "--addr",
                "127.0.0.1:0",
                // A net for a server whose parent died without closing its stdin: longer
                // than the longest soak (`--soak 3600`) and its setup.
                "--max-secs",
                "7200",
            ])
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", server.cli()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take();
        // Read the announcement on a thread so that a stuck server cannot hang the run.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tokens = Vec::new();
            let reader = BufReader::new(stdout);
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(list) = line.strip_prefix("tokens ") {
                    tokens = list.split(',').map(str::to_owned).collect();
                } else if let Some(addr) = line.strip_prefix("listening ") {
                    let _ = tx.send((addr.trim().to_owned(), std::mem::take(&mut tokens)));
                }
            }
        });
        let (addr, tokens) = match rx.recv_timeout(START_TIMEOUT) {
            Ok(announced) => announced,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} did not start", server.cli()));
            }
        };
        let addr: SocketAddr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?;
        Ok(Self {
            child,
            stdin,
            target: Target {
                addr,
                tokens: Arc::new(tokens),
            },
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// Sends one command line to the server's stdin.
    pub(crate) fn command(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("no stdin")?;
        writeln!(stdin, "{line}").map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin makes the server exit; kill in case it does not.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of a process so far, in seconds (`/proc/<pid>/stat`).
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}
