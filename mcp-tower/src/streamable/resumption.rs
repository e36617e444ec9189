//! Who delivers a resumed stream. A client may resume a stream (GET with `Last-Event-ID`)
//! whose connection the server still holds: its side timed out, say, and the server has not
//! seen the connection drop. The spec has the server send each message on one stream only,
//! and the resumed stream replaces the old one; so the resumption takes the stream over, and
//! whoever delivered it until then (the stream's own writer, or an earlier resumption)
//! leaves its connection, which ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::session::lock;

/// Who delivers each resumable stream now. Entries live while the stream's writer or a
/// follower does.
#[derive(Debug, Default)]
pub(crate) struct Resumptions(Mutex<HashMap<u64, Deliverers>>);

#[derive(Debug)]
struct Deliverers {
    /// The token of whoever delivers the stream now, cancelled when another takes over.
    current: CancellationToken,
    /// Resumptions following the stream.
    followers: usize,
    /// Whether the stream's own writer still runs.
    writing: bool,
}

impl Resumptions {
    /// Whether a resumption follows `stream` now.
    pub(crate) fn is_followed(&self, stream: u64) -> bool {
        lock(&self.0).get(&stream).is_some_and(|d| d.followers > 0)
    }
}

/// The right to deliver a stream's events, held by its writer or by a resumption's follower,
/// until another resumption takes the stream over ([`replaced`](Self::replaced) fires).
pub(crate) struct Deliverer {
    shared: Arc<Shared>,
    stream: u64,
    follower: bool,
    replaced: CancellationToken,
}

impl Deliverer {
    /// The stream's own writer. A resumption that came first (the client raced the task
    /// that writes) has replaced it already.
    pub(crate) fn writer(shared: &Arc<Shared>, stream: u64) -> Self {
        let mut all = lock(&shared.resumptions.0);
        let replaced = match all.get_mut(&stream) {
            Some(deliverers) => {
                deliverers.writing = true;
                let replaced = CancellationToken::new();
                replaced.cancel();
                replaced
            }
            None => {
                let current = CancellationToken::new();
                let deliverers = Deliverers {
                    current: current.clone(),
                    followers: 0,
                    writing: true,
                };
                all.insert(stream, deliverers);
                current
            }
        };
        drop(all);
        Self {
            shared: Arc::clone(shared),
            stream,
            follower: false,
            replaced,
        }
    }

    /// A resumption's follower, which takes the stream over from whoever delivered it.
    pub(crate) fn follower(shared: &Arc<Shared>, stream: u64) -> Self {
        let replaced = CancellationToken::new();
        let mut all = lock(&shared.resumptions.0);
        let deliverers = all.entry(stream).or_insert_with(|| Deliverers {
            current: CancellationToken::new(),
            followers: 0,
            writing: false,
        });
        deliverers.followers += 1;
        std::mem::replace(&mut deliverers.current, replaced.clone()).cancel();
        drop(all);
        Self {
            shared: Arc::clone(shared),
            stream,
            follower: true,
            replaced,
        }
    }

    /// Fires when another resumption takes the stream over.
    pub(crate) fn replaced(&self) -> CancellationToken {
        self.replaced.clone()
    }
}

impl Drop for Deliverer {
    fn drop(&mut self) {
        let mut all = lock(&self.shared.resumptions.0);
        let Some(deliverers) = all.get_mut(&self.stream) else {
            return;
        };
        if self.follower {
            deliverers.followers -= 1;
        } else {
            deliverers.writing = false;
        }
        if deliverers.followers == 0 && !deliverers.writing {
            all.remove(&self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streamable::{StreamableHttpConfig, StreamableHttpLayer};

    #[test]
    fn each_resumption_replaces_the_last_and_the_entry_goes_with_the_last_holder() {
        let shared = StreamableHttpLayer::new(StreamableHttpConfig::default()).shared;
        let writer = Deliverer::writer(&shared, 7);
        assert!(!writer.replaced().is_cancelled());
        assert!(!shared.resumptions.is_followed(7));
        let first = Deliverer::follower(&shared, 7);
        assert!(writer.replaced().is_cancelled());
        assert!(shared.resumptions.is_followed(7));
        let second = Deliverer::follower(&shared, 7);
        assert!(first.replaced().is_cancelled());
        assert!(!second.replaced().is_cancelled());
        drop((first, second));
        assert!(!shared.resumptions.is_followed(7));
        drop(writer);
        assert!(lock(&shared.resumptions.0).is_empty(), "nothing kept");
    }

    #[test]
    fn a_writer_that_registers_after_a_resumption_is_replaced_already() {
        let shared = StreamableHttpLayer::new(StreamableHttpConfig::default()).shared;
        let follower = Deliverer::follower(&shared, 7);
        let writer = Deliverer::writer(&shared, 7);
        assert!(writer.replaced().is_cancelled());
        assert!(!follower.replaced().is_cancelled());
        drop((writer, follower));
        assert!(lock(&shared.resumptions.0).is_empty());
    }
}
