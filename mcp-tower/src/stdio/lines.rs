//! Bounded line reading.

use std::io;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// What [`LineReader::next`] found.
pub(super) enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads bounded lines. Cancel-safe: all state lives here, and bytes are consumed from the
/// buffered reader only together with the update of that state.
pub(super) struct LineReader<R> {
    pub(super) reader: BufReader<R>,
    pub(super) line: Vec<u8>,
    pub(super) max: usize,
    pub(super) too_long: bool,
    pub(super) done: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(super) fn new(reader: R, max: usize) -> Self {
        Self {
            reader: BufReader::new(reader),
            line: Vec::new(),
            max,
            too_long: false,
            done: false,
        }
    }

    pub(super) fn line(&self) -> &[u8] {
        &self.line
    }

    pub(super) async fn next(&mut self) -> io::Result<Line> {
        if std::mem::take(&mut self.done) {
            self.line.clear();
            self.too_long = false;
        }
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                // A last line without a newline still counts.
                self.done = true;
                return Ok(match (self.too_long, self.line.is_empty()) {
                    (true, _) => Line::TooLong,
                    (false, true) => Line::Eof,
                    (false, false) => Line::Complete,
                });
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            if !self.too_long {
                if self.line.len() + chunk.len() > self.max {
                    // Drop what we have and skip to the end of the line.
                    self.too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                self.done = true;
                return Ok(if self.too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
        }
    }
}
