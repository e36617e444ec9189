//! The token buckets behind both rate-limit layers: pure logic, the clock passed in.
//!
//! Each bucket is stored as its GCRA "theoretical arrival time" (`tat`): the instant at which
//! the bucket would be full again. One `u64` per key instead of a token count and a
//! timestamp, and a bucket with `tat <= now` is full, which is exactly a bucket never seen:
//! such entries carry no information and are evicted.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Quota;

/// Shards of the key map: concurrent requests of different keys rarely share a lock.
const MAX_SHARDS: usize = 16;

/// The fewest keys a shard holds (unless `max_keys` itself is smaller): in a shard of one,
/// any new key of that shard would evict the throttled caller in it.
const MIN_SHARD_KEYS: usize = 64;

/// The rate limiter state shared by every clone of a layer's service.
pub(crate) struct Limiter {
    /// Nanoseconds per token (at least 1).
    interval: u64,
    /// Nanoseconds a full bucket represents: `burst * interval`.
    capacity: u64,
    /// Times are nanoseconds since this instant.
    epoch: Instant,
    /// Keyed per limiter so that nobody can aim keys at one bucket or one shard.
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    /// How often a shard drops its idle (full) buckets.
    sweep_every: u64,
}

#[derive(Default)]
struct Shard {
    /// Key hash → theoretical arrival time (ns since the epoch).
    tats: HashMap<u64, u64, BuildHasherDefault<PassThrough>>,
    next_sweep: u64,
}

impl Shard {
    fn sweep(&mut self, now: u64) {
        self.tats.retain(|_, tat| *tat > now);
    }

    /// Brings the shard under `capacity`: idle buckets go first; failing that, the bucket
    /// closest to full (smallest `tat`), which forgets the least: the most restricted keys
    /// survive. A flood of fresh keys can still free a throttled caller (a key charged once
    /// owes as much as one charged earlier, and owes it for longer), but only the one whose
    /// wait was nearest its end, and only after filling the shard with keys of its own.
    fn make_room(&mut self, now: u64, capacity: usize) {
        if self.tats.len() < capacity {
            return;
        }
        self.sweep(now);
        while self.tats.len() >= capacity {
            let Some((&oldest, _)) = self.tats.iter().min_by_key(|(_, tat)| **tat) else {
                return;
            };
            self.tats.remove(&oldest);
        }
    }
}

impl Limiter {
    /// A limiter for `quota`, tracking at most `max_keys` keys.
    pub(crate) fn new(quota: Quota, max_keys: usize) -> Self {
        Self::with_shards(quota, max_keys, MAX_SHARDS)
    }

    pub(crate) fn with_shards(quota: Quota, max_keys: usize, shards: usize) -> Self {
        let max_keys = max_keys.max(1);
        let shards = shards.clamp(1, (max_keys / MIN_SHARD_KEYS).max(1));
        // Bounded so that no sum below saturates (a saturated bucket would never refuse):
        // a whole bucket takes at most a quarter of u64 nanoseconds, about 146 years, which
        // longer intervals are taken for (they never refill within a server's life anyway).
        let burst = u64::from(quota.burst_size());
        let interval = u64::try_from(quota.interval().as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, (u64::MAX / 4) / burst);
        let capacity = interval * burst;
        // A bucket is idle at most `capacity` after its last use; sweeping more often than
        // every second would only burn CPU, less often than a minute would hold memory.
        let sweep_every = capacity.clamp(1_000_000_000, 60_000_000_000);
        Self {
            interval,
            capacity,
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            // Floor: the total never exceeds `max_keys`.
            shard_capacity: max_keys / shards,
            sweep_every,
        }
    }

    /// The hash identifying `key` in this limiter.
    pub(crate) fn hash_key(&self, key: &impl Hash) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Takes `cost` tokens from the bucket of `key` now; see [`check_at`](Self::check_at).
    pub(crate) fn check(&self, key: u64, cost: u32) -> Result<(), Duration> {
        self.check_at(key, cost, Instant::now())
    }

    /// Takes `cost` tokens from the bucket of `key` at `now`, or says how long to wait until
    /// they are there. A refusal takes nothing. A cost above the burst is always refused.
    pub(crate) fn check_at(&self, key: u64, cost: u32, now: Instant) -> Result<(), Duration> {
        if cost == 0 {
            return Ok(());
        }
        let now = self.nanos(now);
        let mut shard = self.shard(key);
        if now >= shard.next_sweep {
            shard.sweep(now);
            shard.next_sweep = now.saturating_add(self.sweep_every);
        }
        let tat = shard.tats.get(&key).map_or(now, |&tat| tat.max(now));
        let new_tat = tat.saturating_add(self.interval.saturating_mul(u64::from(cost)));
        let limit = now.saturating_add(self.capacity);
        if new_tat > limit {
            return Err(Duration::from_nanos(new_tat - limit));
        }
        if !shard.tats.contains_key(&key) {
            shard.make_room(now, self.shard_capacity);
        }
        shard.tats.insert(key, new_tat);
        Ok(())
    }

    /// How many keys are tracked (idle ones not yet swept included).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tats.len()).sum()
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn shard(&self, key: u64) -> MutexGuard<'_, Shard> {
        // Bits 40.. pick the shard: the map inside uses the low bits (bucket index) and the
        // top 7 (control bytes), which must stay varied within a shard.
        let index = (key >> 40) as usize % self.shards.len();
        lock(&self.shards[index])
    }
}

/// A poisoned lock only means another request panicked mid-update of a counter: the state
/// is still a valid map, so keep going.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The map keys are already keyed hashes: hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in to stay a correct `Hasher`.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `wait` in whole seconds, rounded up (for `Retry-After`).
pub(crate) fn ceil_secs(wait: Duration) -> u64 {
    u64::try_from(wait.as_nanos().div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
}

/// `wait` in whole milliseconds, rounded up (for `retryAfterMs`).
pub(crate) fn ceil_millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn burst_then_refill() {
        let limiter = Limiter::new(Quota::per_second(1).burst(3), 100);
        let t0 = Instant::now();
        let key = limiter.hash_key(&"alice");
        for _ in 0..3 {
            assert_eq!(limiter.check_at(key, 1, t0), Ok(()));
        }
        assert_eq!(limiter.check_at(key, 1, t0), Err(SEC));
        // Refusals take nothing: the wait shrinks with time only.
        assert_eq!(limiter.check_at(key, 1, t0 + SEC / 4), Err(SEC * 3 / 4));
        assert_eq!(limiter.check_at(key, 1, t0 + SEC), Ok(()));
        assert_eq!(limiter.check_at(key, 1, t0 + SEC), Err(SEC));
        // Idle long enough, the bucket is full again: three more, not more.
        let later = t0 + SEC * 10;
        for _ in 0..3 {
            assert_eq!(limiter.check_at(key, 1, later), Ok(()));
        }
        assert!(limiter.check_at(key, 1, later).is_err());
    }

    /// Intervals too long for nanosecond sums refuse as a century-long one does: a saturated
    /// sum never refused at all.
    #[test]
    fn the_longest_quotas_still_refuse() {
        let century = Duration::from_secs(100 * 365 * 24 * 3600);
        for quota in [
            Quota::every(Duration::MAX),
            Quota::every(century).burst(6),
            Quota::every(Duration::from_secs(u64::MAX / 1_000_000_000)).burst(2),
        ] {
            let limiter = Limiter::new(quota, 100);
            let key = limiter.hash_key(&"alice");
            let t0 = Instant::now();
            for _ in 0..quota.burst_size() {
                assert_eq!(limiter.check_at(key, 1, t0), Ok(()), "{quota:?}");
            }
            assert!(limiter.check_at(key, 1, t0).is_err(), "{quota:?}");
            assert!(
                limiter.check_at(key, 1, t0 + SEC * 3600).is_err(),
                "{quota:?}"
            );
        }
    }

    #[test]
    fn keys_are_independent_and_costs_add_up() {
        let limiter = Limiter::new(Quota::per_minute(2), 100);
        let t0 = Instant::now();
        let (a, b) = (limiter.hash_key(&"a"), limiter.hash_key(&"b"));
        assert_eq!(limiter.check_at(a, 2, t0), Ok(()));
        assert_eq!(limiter.check_at(a, 1, t0), Err(Duration::from_secs(30)));
        assert_eq!(limiter.check_at(b, 1, t0), Ok(()));
        // Two at once need both tokens: one is there, the other in 30 s.
        assert_eq!(limiter.check_at(b, 2, t0), Err(Duration::from_secs(30)));
        assert_eq!(limiter.check_at(b, 0, t0), Ok(()));
        // More than the burst never fits.
        assert!(limiter.check_at(limiter.hash_key(&"c"), 3, t0).is_err());
    }

    #[test]
    fn idle_buckets_are_swept() {
        let limiter = Limiter::new(Quota::per_second(10), 1000);
        let t0 = Instant::now();
        for i in 0..100 {
            limiter.check_at(limiter.hash_key(&i), 1, t0).unwrap();
        }
        assert_eq!(limiter.len(), 100);
        // A second later every bucket is full again (10 tokens at 10/s); each shard drops
        // them when it is next touched after its sweep time.
        let later = t0 + SEC * 2;
        for i in 1000..1200 {
            limiter.check_at(limiter.hash_key(&i), 1, later).unwrap();
        }
        assert_eq!(limiter.len(), 200, "only the new keys remain");
    }

    #[test]
    fn hard_cap_evicts_the_bucket_closest_to_full() {
        let limiter = Limiter::with_shards(Quota::per_second(1).burst(5), 2, 1);
        let t0 = Instant::now();
        let (heavy, light, new) = (
            limiter.hash_key(&"heavy"),
            limiter.hash_key(&"light"),
            limiter.hash_key(&"new"),
        );
        for _ in 0..5 {
            limiter.check_at(heavy, 1, t0).unwrap();
        }
        limiter.check_at(light, 1, t0).unwrap();
        limiter.check_at(new, 1, t0).unwrap();
        assert_eq!(limiter.len(), 2);
        // `light` (nearly full) was forgotten and starts afresh; `heavy` is still throttled.
        assert!(limiter.check_at(heavy, 1, t0).is_err());
        for _ in 0..5 {
            limiter.check_at(light, 1, t0).unwrap();
        }
    }

    #[test]
    fn small_caps_keep_shards_large_enough_to_choose_from() {
        // 16 keys are one shard of 16, not 16 shards of one: a new key evicts the bucket
        // nearest full among all of them, never the throttled one just because it is alone.
        let limiter = Limiter::new(Quota::per_minute(1), 16);
        assert_eq!(limiter.shards.len(), 1);
        let t0 = Instant::now();
        let throttled = limiter.hash_key(&"throttled");
        limiter.check_at(throttled, 1, t0).unwrap();
        for i in 0..15u32 {
            limiter.check_at(limiter.hash_key(&i), 1, t0 + SEC).unwrap();
        }
        assert!(limiter.check_at(throttled, 1, t0 + SEC).is_err());
        assert_eq!(
            Limiter::new(Quota::per_minute(1), 100_000).shards.len(),
            MAX_SHARDS
        );
    }

    #[test]
    fn many_keys_stay_within_the_cap() {
        let limiter = Limiter::new(Quota::per_minute(1), 50);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            limiter.check_at(limiter.hash_key(&i), 1, t0).unwrap();
        }
        assert!(limiter.len() <= 50, "{} keys", limiter.len());
        assert!(limiter.len() >= 40, "{} keys", limiter.len());
    }

    #[test]
    fn rounding_up() {
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(SEC), 1);
        assert_eq!(ceil_secs(SEC + Duration::from_nanos(1)), 2);
        assert_eq!(ceil_millis(Duration::from_micros(1)), 1);
        assert_eq!(ceil_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ceil_millis(Duration::from_micros(1_500_100)), 1501);
    }

    #[test]
    fn extreme_quotas_do_not_overflow() {
        // Saturating arithmetic: no panic, whatever the numbers.
        let limiter = Limiter::new(Quota::per_minute(1).burst(u32::MAX), 10);
        let t0 = Instant::now();
        let key = limiter.hash_key(&"k");
        assert_eq!(limiter.check_at(key, u32::MAX, t0), Ok(()));
        let _ = limiter.check_at(key, u32::MAX, t0 + SEC * 1_000_000);
        let fast = Limiter::new(Quota::per_second(u32::MAX), 10);
        assert_eq!(fast.check_at(key, 1, t0), Ok(()));
    }
}

/// What both rate-limit layers are configured with: the quota, the key cap, and the buckets
/// every service the layer makes shares.
#[derive(Clone)]
pub(crate) struct SharedLimiter {
    pub(crate) quota: Quota,
    pub(crate) max_keys: usize,
    pub(crate) limiter: std::sync::Arc<Limiter>,
}

impl SharedLimiter {
    pub(crate) fn new(quota: Quota, max_keys: usize) -> Self {
        Self {
            quota,
            max_keys,
            limiter: std::sync::Arc::new(Limiter::new(quota, max_keys)),
        }
    }
}
