//! Ending the long-lived streams of the connections [`serve_with_shutdown`] serves when it
//! shuts down.
//!
//! A graceful shutdown lets every connection finish the response it is writing. A
//! `subscriptions/listen` stream or a session's GET stream never finishes by itself, so it
//! would hold the shutdown for the whole grace period, sending keep-alives. The bridge
//! ([`StreamableHttp`](crate::StreamableHttp)) gives each such stream a cancellation token
//! that ends it (a listen stream sends its cancellation and closing result first) and hands the token out in
//! its response's extensions, as an [`EndStream`]. The connection's service takes it from
//! there into the connection's [`Streams`], and shutdown cancels them all.
//!
//! Why the token rides on the response: only the rare response that opens a stream carries
//! one. The other way, the server's token in every request's extensions, would cost each
//! request an allocation (`http::Extensions` boxes every value) and an atomic increment and
//! decrement on a count all connections share. Here a response without extensions, nearly
//! every one, costs a null check (callgrind, load kit `legacy`: 5 instructions a request);
//! the lock below is taken when a stream opens and at shutdown, never per request.
//!
//! [`serve_with_shutdown`]: super::serve_with_shutdown

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The response extension that makes a long-lived stream endable by the server carrying it.
/// Its token ends the stream when cancelled; the stream cancels it too when it ends for
/// another reason, so that a connection forgets it.
#[derive(Debug, Clone)]
pub(crate) struct EndStream(pub(crate) CancellationToken);

/// The long-lived streams of one connection, which shutdown ends.
#[derive(Debug, Default)]
pub(crate) struct Streams(Mutex<Open>);

#[derive(Debug, Default)]
struct Open {
    /// Set by [`Streams::end`]: streams that open later end at once.
    ending: bool,
    tokens: Vec<CancellationToken>,
}

impl Streams {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        // A push, a retain or a take: consistent whatever panicked while it was held.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `token` to cancel at shutdown; cancels it now if shutdown has begun (a request
    /// that was in flight when it did, on an HTTP/2 connection).
    pub(crate) fn add(&self, token: CancellationToken) {
        let mut open = self.open();
        if open.ending {
            drop(open);
            token.cancel();
            return;
        }
        // Ended streams cancelled their own tokens: dropped here, the list holds at most the
        // connection's open streams and one more.
        open.tokens.retain(|token| !token.is_cancelled());
        open.tokens.push(token);
    }

    /// Ends every stream of the connection, and those it opens later.
    pub(crate) fn end(&self) {
        let tokens = {
            let mut open = self.open();
            open.ending = true;
            std::mem::take(&mut open.tokens)
        };
        // Outside the lock: cancelling wakes the streams' tasks.
        for token in tokens {
            token.cancel();
        }
    }

    /// How many tokens are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open().tokens.len()
    }
}

/// Moves the [`EndStream`] of `response`, if it has one, into `streams`.
#[inline]
pub(crate) fn adopt<B>(response: &mut http::Response<B>, streams: &Streams) {
    // On the path of every response, nearly all of which have no extensions: `is_empty` is
    // inlined, a null check, where `remove` is a call (callgrind: 13 instructions a request).
    if response.extensions().is_empty() {
        return;
    }
    if let Some(EndStream(token)) = response.extensions_mut().remove::<EndStream>() {
        streams.add(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_cancels_the_open_streams_and_later_ones() {
        let streams = Streams::default();
        let open = CancellationToken::new();
        streams.add(open.clone());
        assert!(!open.is_cancelled());
        streams.end();
        assert!(open.is_cancelled());
        let late = CancellationToken::new();
        streams.add(late.clone());
        assert!(late.is_cancelled(), "opened after shutdown began");
        assert_eq!(streams.len(), 0);
    }

    #[test]
    fn ended_streams_are_forgotten_when_the_next_one_opens() {
        let streams = Streams::default();
        for _ in 0..5 {
            let token = CancellationToken::new();
            streams.add(token.clone());
            // The stream ends by itself.
            token.cancel();
        }
        assert_eq!(streams.len(), 1, "the last one, until another opens");
        let open = CancellationToken::new();
        streams.add(open.clone());
        streams.add(CancellationToken::new());
        assert_eq!(streams.len(), 2);
    }

    #[test]
    fn adopt_takes_the_token_out_of_the_response() {
        let streams = Streams::default();
        let mut plain = http::Response::new(());
        adopt(&mut plain, &streams);
        assert_eq!(streams.len(), 0);
        let token = CancellationToken::new();
        let mut streamed = http::Response::new(());
        streamed.extensions_mut().insert(EndStream(token.clone()));
        adopt(&mut streamed, &streams);
        assert!(streamed.extensions().get::<EndStream>().is_none());
        streams.end();
        assert!(token.is_cancelled());
    }
}
