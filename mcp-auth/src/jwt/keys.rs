//! The JWKS cache: verification keys parsed once per JWK, refreshed on an unknown `kid` with a
//! minimum interval and single-flight fetching, bounded in size and time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;

use super::fetch::{FetchError, JwksFetcher, is_remote_plain_http};
use super::jwk::{CachedKey, cached_key};

/// Where the JWKS comes from.
#[derive(Debug, Clone)]
pub(crate) enum JwksSource {
    /// This JWKS URL.
    Url(Uri),
    /// The `jwks_uri` of this authorization server metadata document (RFC 8414 / OIDC).
    Metadata(Uri),
}

/// Limits and timings of the cache.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) max_keys: usize,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) max_age: Duration,
    /// Plain `http` to a non-loopback host is allowed (a discovered `jwks_uri` too).
    pub(crate) allow_insecure_http: bool,
}

#[derive(Default)]
struct KeySet {
    /// Usually one key per `kid`; several when keys of different types share one (RFC 7517
    /// §4.5 allows it, as alternatives: an RSA and an EC key, say).
    by_kid: HashMap<String, Vec<Arc<CachedKey>>>,
    // Keys without a `kid`; used only for tokens without one, when it is the only key.
    unnamed: Vec<Arc<CachedKey>>,
    generation: u64,
    fetched_at: Option<Instant>,
}

impl KeySet {
    /// The key a token with this `kid` and algorithm names: among keys sharing the `kid`, the
    /// one that verifies `alg` (else the first, which then refuses the algorithm).
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<CachedKey>> {
        let named = match kid {
            Some(kid) => self.by_kid.get(kid)?,
            // A token without `kid` is only unambiguous when the set holds a single key;
            // trying every key would cost one signature check per key and request.
            None => match (self.by_kid.len(), self.unnamed.len()) {
                (1, 0) => self.by_kid.values().next().filter(|keys| keys.len() == 1)?,
                (0, 1) => &self.unnamed,
                _ => return None,
            },
        };
        named
            .iter()
            .find(|key| key.verifier(alg).is_some())
            .or_else(|| named.first())
            .cloned()
    }
}

/// Why no key was found for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMiss {
    /// The key set, fetched at the last attempt, holds no such key.
    Unknown,
    /// The last attempt to fetch the key set failed: the token may be valid, and cannot be
    /// checked before the next attempt, allowed after `retry_after`.
    Unavailable { retry_after: Duration },
}

/// The fetch attempts, read by every miss (without waiting for a fetch in progress).
#[derive(Debug, Default, Clone, Copy)]
struct Attempts {
    last: Option<Instant>,
    /// Fetches that failed in a row since the last one that worked.
    failures: u32,
}

struct RefreshState {
    // Resolved from the metadata document; cleared when fetching it fails so that the next
    // refresh discovers it again.
    jwks_uri: Option<Uri>,
}

/// How soon a miss may fetch again after a failed fetch (doubled after each further one).
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The cache.
pub(crate) struct KeyStore {
    fetcher: Arc<dyn JwksFetcher>,
    source: JwksSource,
    issuers: Vec<String>,
    algorithms: Vec<Algorithm>,
    limits: Limits,
    // Never held across an await: readers clone the `Arc` and go.
    current: RwLock<Arc<KeySet>>,
    // Serialises refreshes so that concurrent misses share one fetch; held by the fetch's
    // own task (see `fetch_in_task`).
    refresh: Arc<tokio::sync::Mutex<RefreshState>>,
    attempts: Mutex<Attempts>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ServerMetadata {
    issuer: String,
    jwks_uri: String,
}

impl KeyStore {
    pub(crate) fn new(
        fetcher: Arc<dyn JwksFetcher>,
        source: JwksSource,
        issuers: Vec<String>,
        algorithms: Vec<Algorithm>,
        limits: Limits,
    ) -> Self {
        Self {
            fetcher,
            source,
            issuers,
            algorithms,
            limits,
            current: RwLock::new(Arc::new(KeySet::default())),
            refresh: Arc::new(tokio::sync::Mutex::new(RefreshState { jwks_uri: None })),
            attempts: Mutex::default(),
        }
    }

    fn attempts(&self) -> Attempts {
        *self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an attempt, counted from its end, so that a slow authorization server cannot
    /// be asked again as soon as it answers.
    fn record_attempt(&self, worked: bool) {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        attempts.last = Some(Instant::now());
        attempts.failures = if worked {
            0
        } else {
            attempts.failures.saturating_add(1)
        };
    }

    fn snapshot(&self) -> Arc<KeySet> {
        // A poisoned lock only means a panic elsewhere; the data is a plain Arc swap.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn store(&self, set: KeySet) {
        let set = Arc::new(set);
        match self.current.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    /// The key for `kid` and `alg`, refreshing the set at most once per minimum interval when
    /// it is unknown (or when the set is older than the maximum age).
    pub(crate) async fn find(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<CachedKey>, KeyMiss> {
        let mut set = self.snapshot();
        if set
            .fetched_at
            .is_some_and(|at| at.elapsed() >= self.limits.max_age)
        {
            // Stale: one request refreshes, the others keep using the old keys meanwhile.
            if let Ok(state) = Arc::clone(&self.refresh).try_lock_owned() {
                if self.snapshot().generation == set.generation && self.may_fetch() {
                    self.fetch_in_task(state).await;
                }
                set = self.snapshot();
            }
        }
        if let Some(key) = set.lookup(kid, alg) {
            return Ok(key);
        }
        let set = self.refresh_after_miss(set.generation).await;
        set.lookup(kid, alg).ok_or_else(|| self.miss())
    }

    /// What a key missing after the refresh (or the wait for the next one) means: unknown to
    /// a key set that could be fetched, or not checkable while it cannot.
    fn miss(&self) -> KeyMiss {
        let attempts = self.attempts();
        if attempts.failures == 0 {
            return KeyMiss::Unknown;
        }
        let waited = attempts.last.map_or(Duration::ZERO, |at| at.elapsed());
        KeyMiss::Unavailable {
            retry_after: self.wait_after(attempts).saturating_sub(waited),
        }
    }

    /// Whether a miss may fetch now. After a fetch that worked, once per minimum interval;
    /// after failures, sooner: 1 s, then twice as long after each further failure, up to the
    /// interval. A JWKS that was down when the server started (or a moment ago) is then
    /// asked again within a second, instead of every valid token being refused for the
    /// whole interval, and a JWKS that stays down is asked at most once a second.
    fn may_fetch(&self) -> bool {
        let attempts = self.attempts();
        let wait = self.wait_after(attempts);
        attempts.last.is_none_or(|at| at.elapsed() >= wait)
    }

    /// How long after the last attempt the next may come (see [`may_fetch`](Self::may_fetch)).
    fn wait_after(&self, attempts: Attempts) -> Duration {
        match attempts.failures {
            0 => self.limits.min_refresh_interval,
            failures => FIRST_RETRY
                .saturating_mul(1 << (failures - 1).min(16))
                .min(self.limits.min_refresh_interval),
        }
    }

    async fn refresh_after_miss(self: &Arc<Self>, seen_generation: u64) -> Arc<KeySet> {
        let state = Arc::clone(&self.refresh).lock_owned().await;
        let current = self.snapshot();
        // Someone refreshed while this request waited: use their result, do not fetch again.
        if current.generation != seen_generation || !self.may_fetch() {
            return current;
        }
        self.fetch_in_task(state).await;
        self.snapshot()
    }

    /// Fetches in a task of its own, which holds the refresh lock until the attempt is
    /// recorded: a request dropped while it waits (its client gone, a timeout) neither
    /// cancels the fetch nor lets the next miss start another, so the minimum interval
    /// holds whatever requests do.
    async fn fetch_in_task(
        self: &Arc<Self>,
        mut state: tokio::sync::OwnedMutexGuard<RefreshState>,
    ) {
        let this = Arc::clone(self);
        let fetch = tokio::spawn(async move { this.fetch_and_store(&mut state).await });
        if fetch.await.is_err() {
            // A `JwksFetcher` panicked: the keys are as they were, and the attempt counts
            // as a failed one, so that the next miss waits as after any other.
            self.record_attempt(false);
        }
    }

    /// Fetches now, whatever the interval (used to warm the cache at start-up).
    pub(crate) async fn refresh_now(&self) -> Result<(), FetchError> {
        let mut state = self.refresh.lock().await;
        self.try_fetch(&mut state).await
    }

    async fn fetch_and_store(&self, state: &mut RefreshState) {
        if let Err(error) = self.try_fetch(state).await {
            // Keep the old keys: an unreachable authorization server should not log
            // everybody out.
            tracing::warn!(%error, "JWKS refresh failed");
        }
    }

    async fn try_fetch(&self, state: &mut RefreshState) -> Result<(), FetchError> {
        let outcome = self.fetch_and_parse(state).await;
        self.record_attempt(outcome.is_ok());
        outcome
    }

    async fn fetch_and_parse(&self, state: &mut RefreshState) -> Result<(), FetchError> {
        let url = match &self.source {
            JwksSource::Url(url) => url.clone(),
            JwksSource::Metadata(metadata_url) => match &state.jwks_uri {
                Some(url) => url.clone(),
                None => {
                    let url = self.discover(metadata_url.clone()).await?;
                    state.jwks_uri = Some(url.clone());
                    url
                }
            },
        };
        let body = match self.get(url).await {
            Ok(body) => body,
            Err(error) => {
                state.jwks_uri = None;
                return Err(error);
            }
        };
        let set = self.parse(&body)?;
        tracing::debug!(
            keys = set.by_kid.values().map(Vec::len).sum::<usize>() + set.unnamed.len(),
            "JWKS refreshed"
        );
        self.store(set);
        Ok(())
    }

    async fn get(&self, url: Uri) -> Result<Bytes, FetchError> {
        let max = self.limits.max_bytes;
        let body = tokio::time::timeout(self.limits.timeout, self.fetcher.fetch(url, max))
            .await
            .map_err(|_| FetchError::new("timed out"))??;
        if body.len() > max {
            return Err(FetchError::new("document larger than the limit"));
        }
        Ok(body)
    }

    async fn discover(&self, metadata_url: Uri) -> Result<Uri, FetchError> {
        let body = self.get(metadata_url).await?;
        let metadata: ServerMetadata = serde_json::from_slice(&body)
            .map_err(|e| FetchError::new(format!("bad authorization server metadata: {e}")))?;
        // RFC 8414 §3.3: the document must be about an issuer we trust.
        if !self.issuers.contains(&metadata.issuer) {
            return Err(FetchError::new(
                "authorization server metadata names an unexpected issuer",
            ));
        }
        let url: Uri = metadata
            .jwks_uri
            .parse()
            .map_err(|_| FetchError::new("bad jwks_uri"))?;
        if !matches!(url.scheme_str(), Some("http" | "https")) || url.authority().is_none() {
            return Err(FetchError::new("jwks_uri must be an absolute http(s) URL"));
        }
        if !self.limits.allow_insecure_http && is_remote_plain_http(&url) {
            return Err(FetchError::new(
                "jwks_uri is plain http to a non-loopback host (see allow_insecure_http)",
            ));
        }
        Ok(url)
    }

    fn parse(&self, body: &[u8]) -> Result<KeySet, FetchError> {
        let raw: RawJwks =
            serde_json::from_slice(body).map_err(|e| FetchError::new(format!("bad JWKS: {e}")))?;
        let mut set = KeySet {
            generation: self.snapshot().generation + 1,
            fetched_at: Some(Instant::now()),
            ..KeySet::default()
        };
        let (mut usable, mut skipped) = (0, 0);
        for value in raw.keys {
            // One odd key (an encryption key, an unknown type) must not void the whole set.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                skipped += 1;
                continue;
            };
            let Some(key) = cached_key(&jwk, &self.algorithms) else {
                skipped += 1;
                continue;
            };
            if usable == self.limits.max_keys {
                tracing::warn!(
                    max_keys = self.limits.max_keys,
                    "JWKS has more usable keys than allowed; ignoring the rest"
                );
                break;
            }
            usable += 1;
            match jwk.common.key_id {
                Some(kid) => set.by_kid.entry(kid).or_default().push(Arc::new(key)),
                None => set.unnamed.push(Arc::new(key)),
            }
        }
        if usable == 0 {
            // Every token will be refused as signed by an unknown key: the operator must hear.
            tracing::warn!(
                skipped,
                algorithms = ?self.algorithms,
                "JWKS has no usable key (none of a type and algorithm this server accepts); \
                 every token will be refused"
            );
        }
        Ok(set)
    }
}
