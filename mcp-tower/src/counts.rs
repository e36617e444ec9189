//! [`CountsPerKey`]: how many of something each key (a principal, a session) holds.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// How many of something each key holds, each at most a bound. A key leaves the map when its
/// count falls to zero, so the map is never larger than what is held.
#[derive(Debug)]
pub(crate) struct CountsPerKey<K>(HashMap<K, usize>);

impl<K> Default for CountsPerKey<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Hash + Eq> CountsPerKey<K> {
    /// Counts one more for `key`, unless it holds `max` already; whether it was counted.
    /// The key is copied only when it is new.
    pub(crate) fn take<Q>(&mut self, key: &Q, max: usize) -> bool
    where
        K: Borrow<Q>,
        Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
    {
        match self.0.get_mut(key) {
            Some(count) if *count < max => *count += 1,
            Some(_) => return false,
            None if max > 0 => {
                self.0.insert(key.to_owned(), 1);
            }
            None => return false,
        }
        true
    }

    /// Counts one less for `key`.
    pub(crate) fn give_back<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(count) = self.0.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(key);
            }
        }
    }

    /// How many keys hold something.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> usize {
        self.0.len()
    }
}
