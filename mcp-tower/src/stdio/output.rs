//! The lines waiting for stdout, bounded by count and by bytes. A count alone lets a client
//! that stops reading hold hundreds of multi-megabyte results in memory (an audit reached
//! 1.8 GB); with a byte budget the handlers wait once that much output is queued, however
//! large each message is.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

/// Lines waiting for stdout.
const MAX_LINES: usize = 256;

/// A queue for stdout holding at most `max_bytes` of lines (a longer line takes the whole
/// budget and waits for the queue to drain).
pub(super) fn queue(max_bytes: usize) -> (OutputSender, OutputReceiver) {
    let (sender, receiver) = mpsc::channel(MAX_LINES);
    let max = u32::try_from(max_bytes).unwrap_or(u32::MAX).max(1);
    let budget = Arc::new(Semaphore::new(max as usize));
    (
        OutputSender {
            lines: sender,
            budget: Arc::clone(&budget),
            max,
        },
        OutputReceiver {
            lines: receiver,
            budget,
            max,
        },
    )
}

/// What a line costs of the budget.
fn cost(len: usize, max: u32) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX).min(max)
}

/// The writing end, shared by the request tasks.
#[derive(Debug)]
pub(super) struct OutputSender {
    lines: mpsc::Sender<Vec<u8>>,
    budget: Arc<Semaphore>,
    max: u32,
}

impl OutputSender {
    /// Queues `line`, waiting while the queue is full (by count or by bytes); `Err` when the
    /// writer has gone.
    pub(super) async fn send(&self, line: Vec<u8>) -> Result<(), ()> {
        let cost = cost(line.len(), self.max);
        // The budget is never closed: `Err` cannot happen while `self` holds it.
        let permit = self.budget.acquire_many(cost).await.map_err(drop)?;
        // Given back by the receiver when it takes the line.
        permit.forget();
        self.lines.send(line).await.map_err(drop)
    }
}

/// The reading end: the writer task or thread.
#[derive(Debug)]
pub(super) struct OutputReceiver {
    lines: mpsc::Receiver<Vec<u8>>,
    budget: Arc<Semaphore>,
    max: u32,
}

impl OutputReceiver {
    /// The next line; `None` once every sender is gone and the queue is empty.
    pub(super) async fn recv(&mut self) -> Option<Vec<u8>> {
        let line = self.lines.recv().await?;
        self.release(&line);
        Some(line)
    }

    /// The same, for the stdout thread.
    pub(super) fn blocking_recv(&mut self) -> Option<Vec<u8>> {
        let line = self.lines.blocking_recv()?;
        self.release(&line);
        Some(line)
    }

    /// Whether nothing is queued now (time to flush).
    pub(super) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn release(&self, line: &[u8]) {
        self.budget.add_permits(cost(line.len(), self.max) as usize);
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn senders_wait_once_the_queued_bytes_reach_the_budget() {
        let (sender, mut receiver) = queue(10);
        sender.send(vec![b'a'; 6]).await.unwrap();
        // 6 + 6 > 10: the second line waits for the first to be taken.
        let mut second = Box::pin(sender.send(vec![b'b'; 6]));
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(receiver.recv().await.unwrap(), vec![b'a'; 6]);
        second.await.unwrap();
        // A line longer than the budget takes all of it, and goes once the queue is empty.
        let mut long = Box::pin(sender.send(vec![b'c'; 100]));
        assert!((&mut long).now_or_never().is_none());
        assert_eq!(receiver.recv().await.unwrap(), vec![b'b'; 6]);
        long.await.unwrap();
        assert_eq!(receiver.recv().await.unwrap().len(), 100);
        // Nothing is lost from the budget.
        assert_eq!(receiver.budget.available_permits(), 10);
        drop(sender);
        assert!(receiver.recv().await.is_none());
    }
}
