//! The process's stdin and stdout, each on a plain thread of its own.
//!
//! Tokio's `stdin()` and `stdout()` run each read and write on the runtime's blocking pool,
//! where they cannot be cancelled, and dropping the runtime waits for them. So when stdout
//! broke (EPIPE) while a read of stdin was pending, `serve` returned but the process did not
//! exit until the client wrote another line or closed stdin; likewise a write to a client
//! that stopped reading would hold the exit forever. A plain thread does not hold the runtime
//! up, and the process ends with it still blocked.

use std::io::{self, BufWriter, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, oneshot};

/// Bytes taken from stdin per read.
const CHUNK: usize = 64 * 1024;
/// Chunks read ahead of the reader loop: a little, so that a client writing faster than the
/// server reads is still held back by the pipe.
const READ_AHEAD: usize = 2;

/// Stdin, read by a thread: the [`AsyncRead`] end of its chunks.
#[derive(Debug)]
pub(super) struct ThreadStdin {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    used: usize,
}

/// Starts the thread that reads stdin until it ends, fails, or this reader is dropped.
pub(super) fn stdin() -> io::Result<ThreadStdin> {
    let (sender, chunks) = mpsc::channel(READ_AHEAD);
    std::thread::Builder::new()
        .name("mcp-stdio-stdin".into())
        .spawn(move || read_stdin(&sender))?;
    Ok(ThreadStdin {
        chunks,
        chunk: Vec::new(),
        used: 0,
    })
}

fn read_stdin(sender: &mpsc::Sender<io::Result<Vec<u8>>>) {
    let mut stdin = io::stdin().lock();
    let mut buffer = vec![0; CHUNK];
    loop {
        let chunk = match stdin.read(&mut buffer) {
            // End of input: dropping the sender tells the reader.
            Ok(0) => return,
            Ok(n) => Ok(buffer[..n].to_vec()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => Err(error),
        };
        let failed = chunk.is_err();
        // A closed channel means the server stopped reading.
        if sender.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}

impl AsyncRead for ThreadStdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.used == this.chunk.len() {
            match ready!(this.chunks.poll_recv(cx)) {
                Some(Ok(chunk)) => {
                    this.chunk = chunk;
                    this.used = 0;
                }
                Some(Err(error)) => return Poll::Ready(Err(error)),
                // Nothing written to `buf`: end of input.
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = buf.remaining().min(this.chunk.len() - this.used);
        buf.put_slice(&this.chunk[this.used..this.used + n]);
        this.used += n;
        Poll::Ready(Ok(()))
    }
}

/// Starts the thread that writes each queued line to stdout; the receiver gets how writing
/// ended (the queue closed and everything was flushed, or an error).
pub(super) fn stdout(
    lines: super::output::OutputReceiver,
) -> io::Result<oneshot::Receiver<io::Result<()>>> {
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name("mcp-stdio-stdout".into())
        .spawn(move || {
            // Over std's line buffering, so a batch of lines is one write. Unlocked between
            // writes: a stray `println!` elsewhere must not wait for the end of serving.
            let stdout = BufWriter::with_capacity(CHUNK, io::stdout());
            let _ = done.send(write_stdout(stdout, lines));
        })?;
    Ok(result)
}

fn write_stdout(mut out: impl Write, mut lines: super::output::OutputReceiver) -> io::Result<()> {
    while let Some(mut line) = lines.blocking_recv() {
        super::frame(&mut line);
        out.write_all(&line)?;
        // Flush when the queue is empty: batched under load, prompt when idle.
        if lines.is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}
