//! The fan-out's SSE client: one GET stream per TCP connection, read by hand so that 10 000
//! of them cost the client little CPU (the client shares the machine with the server being
//! measured). Nothing is skipped: the status line and headers are checked, the chunked
//! transfer coding is decoded, SSE events are split and their `data` parsed as JSON-RPC.
//!
//! Compared with hyper's client, a stream here is one task (not a connection task plus a
//! body reader) reading into a buffer allocated when the stream opens, so receiving the
//! notification allocates nothing.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::proto::{ABOUT_URI, LEGACY};

/// Bytes kept per stream while waiting for the notification.
const MAX_STREAM_BYTES: usize = 64 * 1024;
/// The largest response head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The read buffer of a stream.
const READ_BUFFER: usize = 4 * 1024;

/// An open GET stream whose response head has been read and checked.
pub(super) struct SseStream {
    tcp: TcpStream,
    buffer: Vec<u8>,
    /// Body bytes read with the head, not decoded yet.
    leftover: usize,
    chunks: Chunked,
    events: SseEvents,
}

impl SseStream {
    /// Connects from `source`, sends `GET /mcp` for `session` and reads the response head:
    /// it must be `200`, `text/event-stream` and chunked.
    pub(super) async fn open(
        addr: SocketAddr,
        source: IpAddr,
        session: &str,
    ) -> Result<Self, String> {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
        let mut tcp = socket
            .connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let request = format!(
            "GET /mcp HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\
             mcp-session-id: {session}\r\nmcp-protocol-version: {LEGACY}\r\n\r\n"
        );
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut buffer = vec![0; MAX_HEAD_BYTES];
        let mut filled = 0;
        let head_end = loop {
            if let Some(end) = find(&buffer[..filled], b"\r\n\r\n") {
                break end + 4;
            }
            if filled == buffer.len() {
                return Err("GET stream: response head too long".to_owned());
            }
            let read = tcp
                .read(&mut buffer[filled..])
                .await
                .map_err(|e| format!("read: {e}"))?;
            if read == 0 {
                return Err("GET stream: closed before the response head".to_owned());
            }
            filled += read;
        };
        check_head(&buffer[..head_end])?;
        // Keep what followed the head at the front of a buffer of the usual size.
        buffer.copy_within(head_end..filled, 0);
        let leftover = filled - head_end;
        buffer.truncate(READ_BUFFER.max(leftover));
        buffer.shrink_to_fit();
        Ok(Self {
            tcp,
            buffer,
            leftover,
            chunks: Chunked::default(),
            events: SseEvents::with_capacity(READ_BUFFER),
        })
    }

    /// Reads until the next body bytes arrive and parses them: `Ok(true)` once the
    /// expected notification has arrived, `Ok(false)` for anything else (the priming
    /// event, keep-alives, a partial event).
    pub(super) async fn next(&mut self) -> Result<bool, String> {
        let read = if self.leftover > 0 {
            std::mem::take(&mut self.leftover)
        } else {
            let read = self
                .tcp
                .read(&mut self.buffer)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if read == 0 {
                return Err("GET stream closed before the notification".to_owned());
            }
            read
        };
        let events = &mut self.events;
        let mut found = false;
        self.chunks.decode(&self.buffer[..read], |data| {
            found |= events.push(data)?;
            Ok(())
        })?;
        Ok(found)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks the status line and the headers a stream must carry.
fn check_head(head: &[u8]) -> Result<(), String> {
    let head = std::str::from_utf8(head).map_err(|e| format!("response head: {e}"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200 ") {
        return Err(format!("GET stream: {status}"));
    }
    let (mut event_stream, mut chunked) = (false, false);
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            event_stream = value.starts_with("text/event-stream");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    match (event_stream, chunked) {
        (true, true) => Ok(()),
        (false, _) => Err("GET stream: not text/event-stream".to_owned()),
        (true, false) => Err("GET stream: not chunked".to_owned()),
    }
}

/// A decoder of the chunked transfer coding (RFC 9112 §7.1), fed any split of the bytes.
#[derive(Debug, Default)]
struct Chunked {
    state: ChunkState,
    size: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Hex digits of the next chunk's size.
    #[default]
    Size,
    /// A chunk extension, up to the line's end.
    Extension,
    /// The `\n` ending the size line.
    SizeLf,
    /// `size` bytes of data left.
    Data,
    /// The `\r\n` after the data.
    DataCr,
    DataLf,
}

impl Chunked {
    /// Decodes `input`, handing each run of data to `data`.
    fn decode(
        &mut self,
        mut input: &[u8],
        mut data: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                ChunkState::Size => match byte {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = (byte as char).to_digit(16).unwrap_or(0);
                        self.size = self
                            .size
                            .checked_mul(16)
                            .map(|s| s + u64::from(digit))
                            .filter(|s| *s <= MAX_STREAM_BYTES as u64)
                            .ok_or("chunk too large")?;
                    }
                    b';' => self.state = ChunkState::Extension,
                    b'\r' => self.state = ChunkState::SizeLf,
                    _ => return Err(format!("bad chunk size byte {byte:#04x}")),
                },
                ChunkState::Extension => {
                    if byte == b'\r' {
                        self.state = ChunkState::SizeLf;
                    }
                }
                ChunkState::SizeLf => {
                    if byte != b'\n' {
                        return Err("bad chunk size line".to_owned());
                    }
                    if self.size == 0 {
                        return Err("GET stream ended before the notification".to_owned());
                    }
                    self.state = ChunkState::Data;
                }
                ChunkState::Data => {
                    let take = input.len().min(self.size as usize);
                    data(&input[..take])?;
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    input = &input[take..];
                    continue;
                }
                ChunkState::DataCr | ChunkState::DataLf => {
                    let expected = if self.state == ChunkState::DataCr {
                        (b'\r', ChunkState::DataLf)
                    } else {
                        (b'\n', ChunkState::Size)
                    };
                    if byte != expected.0 {
                        return Err("chunk data not followed by CRLF".to_owned());
                    }
                    self.state = expected.1;
                }
            }
            input = rest;
        }
        Ok(())
    }
}

/// The SSE parser of one stream: events split at blank lines, `data:` lines decoded as
/// JSON-RPC, so an arrival counts only for a well-formed notification about the resource.
#[derive(Debug, Default)]
pub(super) struct SseEvents {
    pending: Vec<u8>,
}

#[derive(serde::Deserialize)]
struct Notification<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    params: Option<UpdatedParams<'a>>,
}

#[derive(serde::Deserialize)]
struct UpdatedParams<'a> {
    #[serde(borrow)]
    uri: std::borrow::Cow<'a, str>,
}

impl SseEvents {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            pending: Vec::with_capacity(capacity),
        }
    }

    /// Adds bytes; `Ok(true)` once a complete event carries the expected notification.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<bool, String> {
        self.pending.extend_from_slice(chunk);
        if self.pending.len() > MAX_STREAM_BYTES {
            return Err("stream too long without the notification".to_owned());
        }
        let mut consumed = 0;
        let mut found = false;
        while let Some(end) = find(&self.pending[consumed..], b"\n\n") {
            let event = &self.pending[consumed..consumed + end];
            consumed += end + 2;
            found |= is_the_notification(event)?;
        }
        self.pending.drain(..consumed);
        Ok(found)
    }
}

/// Whether one SSE event (without its blank line) carries the notification.
fn is_the_notification(event: &[u8]) -> Result<bool, String> {
    let event = std::str::from_utf8(event).map_err(|e| format!("SSE: {e}"))?;
    let mut data = event
        .split('\n')
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.strip_prefix(' ').unwrap_or(data));
    // One `data:` line is the rule (JSON has no raw newlines); several are joined.
    let data: std::borrow::Cow<'_, str> = match (data.next(), data.next()) {
        (None, _) => return Ok(false),
        (Some(one), None) => one.into(),
        (Some(_), Some(_)) => event
            .split('\n')
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect::<Vec<_>>()
            .join("\n")
            .into(),
    };
    // The priming event and keep-alive comments carry no message.
    if data.is_empty() {
        return Ok(false);
    }
    let message: Notification<'_> =
        serde_json::from_str(&data).map_err(|e| format!("SSE data: {e}: {data}"))?;
    Ok(message.jsonrpc == "2.0"
        && message.method == "notifications/resources/updated"
        && message.params.is_some_and(|p| p.uri == ABOUT_URI))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> String {
        format!(
            r#"id: 1-1
data: {{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{{"uri":"{ABOUT_URI}"}}}}

"#
        )
    }

    #[test]
    fn sse_events_find_the_notification_across_chunks() {
        let mut events = SseEvents::default();
        assert_eq!(events.push(b"id: 1-0\nretry: 1000\ndata: \n\n"), Ok(false));
        assert_eq!(events.push(b": keep-alive\n\n"), Ok(false));
        let event = notification();
        let (head, tail) = event.as_bytes().split_at(20);
        assert_eq!(events.push(head), Ok(false));
        assert_eq!(events.push(tail), Ok(true));
    }

    #[test]
    fn sse_events_reject_other_resources_and_bad_json() {
        let mut events = SseEvents::default();
        let other = b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"x://y\"}}\n\n";
        assert_eq!(events.push(other), Ok(false));
        assert!(events.push(b"data: {nope\n\n").is_err());
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_split() {
        let body = notification();
        let priming = "id: 1-0\nretry: 1000\ndata: \n\n";
        let encoded = format!(
            "{:x};ext=1\r\n{priming}\r\n{:X}\r\n{body}\r\n",
            priming.len(),
            body.len()
        );
        for split in 0..encoded.len() {
            let (mut chunks, mut events) = (Chunked::default(), SseEvents::default());
            let mut found = false;
            for part in [&encoded.as_bytes()[..split], &encoded.as_bytes()[split..]] {
                chunks
                    .decode(part, |data| {
                        found |= events.push(data)?;
                        Ok(())
                    })
                    .unwrap();
            }
            assert!(found, "split at {split}");
        }
        let mut chunks = Chunked::default();
        assert!(
            chunks.decode(b"0\r\n\r\n", |_| Ok(())).is_err(),
            "the end is an error"
        );
        assert!(Chunked::default().decode(b"zz\r\n", |_| Ok(())).is_err());
        assert!(Chunked::default().decode(b"2\r\nabX", |_| Ok(())).is_err());
    }

    #[test]
    fn heads_must_be_a_chunked_event_stream() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(check_head(ok), Ok(()));
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n";
        assert!(check_head(not_found).is_err());
        let json = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(check_head(json).is_err());
    }
}
