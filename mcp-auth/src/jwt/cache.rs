//! Tokens already verified: a signature check (RSA, ECDSA) costs far more than a request,
//! and clients send the same token many times. A cached token is still checked on every
//! request against its own `exp` (no leeway) and the cache's maximum age, so a token never
//! outlives what it said, and a verification never outlives `max_age` (the key that made it
//! is trusted until the key set is fetched again: `max_key_age`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_core::Principal;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const SHARDS: usize = 16;

/// Keys are SHA-256 digests, uniform already: eight of their bytes are the hash. SipHash of
/// the 32 bytes cost more than the rest of a cached lookup, and only verified tokens are
/// inserted, so no client chooses where keys land.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Bytes 8..16: the shard is chosen by byte 0.
        if let Some(word) = bytes.get(8..16).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            self.0 = u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _length_prefix: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

type Shard = HashMap<[u8; 32], Entry, BuildHasherDefault<DigestHasher>>;

/// A bounded map from token digest to the principal it proved.
pub(crate) struct TokenCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    max_age: Duration,
}

struct Entry {
    principal: Principal,
    until: Instant,
}

impl TokenCache {
    /// `None` when `max_entries` is 0 (caching off).
    pub(crate) fn new(max_entries: usize, max_age: Duration) -> Option<Self> {
        if max_entries == 0 || max_age.is_zero() {
            return None;
        }
        Some(Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: max_entries.div_ceil(SHARDS),
            // A day is long for a cached verification already; centuries overflow `Instant`.
            max_age: max_age.min(Duration::from_secs(24 * 3600)),
        })
    }

    fn shard(&self, digest: &[u8; 32]) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[usize::from(digest[0]) % SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn digest(token: &[u8]) -> [u8; 32] {
        Sha256::digest(token).into()
    }

    /// The principal of a token verified before and still valid.
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<Principal> {
        let now = Instant::now();
        let mut shard = self.shard(digest);
        match shard.get(digest) {
            Some(entry) if entry.until > now => Some(entry.principal.clone()),
            Some(_) => {
                shard.remove(digest);
                None
            }
            None => None,
        }
    }

    /// Remembers a verified token until its `exp` (at most `max_age`).
    pub(crate) fn insert(
        &self,
        digest: [u8; 32],
        principal: &Principal,
        claims: &Map<String, Value>,
    ) {
        let Some(exp) = claims.get("exp").and_then(super::claims::numeric_date) else {
            return;
        };
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let left = Duration::from_secs(exp.saturating_sub(now_unix));
        if left.is_zero() {
            return;
        }
        let now = Instant::now();
        let until = now + left.min(self.max_age);
        let mut shard = self.shard(&digest);
        if shard.len() >= self.per_shard {
            // Full: drop the expired, then (if still full) the entry closest to expiry.
            shard.retain(|_, entry| entry.until > now);
            if shard.len() >= self.per_shard
                && let Some(oldest) = shard.iter().min_by_key(|(_, e)| e.until).map(|(k, _)| *k)
            {
                shard.remove(&oldest);
            }
        }
        shard.insert(
            digest,
            Entry {
                principal: principal.clone(),
                until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Map<String, Value> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut claims = Map::new();
        claims.insert("exp".into(), Value::from(now + exp_in));
        claims
    }

    #[test]
    fn remembers_until_expiry_and_stays_bounded() {
        let cache = TokenCache::new(SHARDS, Duration::from_secs(60)).unwrap();
        let principal = Principal::new("alice");
        let digest = TokenCache::digest(b"token-1");
        cache.insert(digest, &principal, &claims(120));
        assert_eq!(cache.get(&digest).unwrap().subject(), "alice");
        // An expired token is never cached.
        let expired = TokenCache::digest(b"token-2");
        cache.insert(expired, &principal, &claims(-5));
        assert!(cache.get(&expired).is_none());
        // Each shard holds at most one entry here: the map cannot grow past the bound.
        for n in 0..1000 {
            cache.insert(
                TokenCache::digest(format!("t{n}").as_bytes()),
                &principal,
                &claims(120),
            );
        }
        let total: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS, "{total}");
    }

    /// An `exp` centuries away with an unbounded `max_age` is not a reason to panic.
    #[test]
    fn the_farthest_expiries_are_remembered_without_overflow() {
        let cache = TokenCache::new(SHARDS, Duration::MAX).unwrap();
        let principal = Principal::new("alice");
        let digest = TokenCache::digest(b"token-far");
        let claims = Map::from_iter([("exp".to_owned(), Value::from(u64::MAX))]);
        cache.insert(digest, &principal, &claims);
        assert_eq!(cache.get(&digest).unwrap().subject(), "alice");
    }

    #[test]
    fn fractional_and_exponent_expiries_are_remembered() {
        let cache = TokenCache::new(SHARDS, Duration::from_secs(60)).unwrap();
        let principal = Principal::new("alice");
        let in_two_minutes = claims(120)["exp"].as_u64().unwrap() as f64;
        for (n, exp) in [
            Value::from(in_two_minutes + 0.5),
            serde_json::from_str(&format!("{in_two_minutes:e}")).unwrap(),
        ]
        .into_iter()
        .enumerate()
        {
            assert!(
                exp.as_u64().is_none(),
                "{exp} is not an integer to serde_json"
            );
            let digest = TokenCache::digest(format!("token-{n}").as_bytes());
            let claims = Map::from_iter([("exp".to_owned(), exp.clone())]);
            cache.insert(digest, &principal, &claims);
            assert!(cache.get(&digest).is_some(), "exp {exp}");
        }
        let numeric_date = super::super::claims::numeric_date;
        assert_eq!(numeric_date(&Value::from(-1.5)), None);
        assert_eq!(numeric_date(&Value::from("1700000000")), None);
    }

    #[test]
    fn digests_sharing_their_hash_bytes_stay_distinct() {
        let cache = TokenCache::new(4096, Duration::from_secs(60)).unwrap();
        let tokens: Vec<String> = (0..500).map(|n| format!("token-{n}")).collect();
        for (n, token) in tokens.iter().enumerate() {
            let principal = Principal::new(format!("user-{n}"));
            cache.insert(
                TokenCache::digest(token.as_bytes()),
                &principal,
                &claims(120),
            );
        }
        for (n, token) in tokens.iter().enumerate() {
            let found = cache.get(&TokenCache::digest(token.as_bytes())).unwrap();
            assert_eq!(found.subject(), format!("user-{n}"));
        }
        // Same hash bytes (8..16) and shard byte, another digest: not a hit.
        let mut twin = TokenCache::digest(tokens[0].as_bytes());
        twin[31] ^= 1;
        assert!(cache.get(&twin).is_none());
    }

    #[test]
    fn zero_disables_caching() {
        assert!(TokenCache::new(0, Duration::from_secs(60)).is_none());
    }
}
