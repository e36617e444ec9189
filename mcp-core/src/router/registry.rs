//! A registry of named items that can change at runtime, read without locks, listed in pages
//! with opaque cursors and in a deterministic order: the order of registration.
//!
//! Cursors are stable: a cursor names the last item a page held by its registration number,
//! not by its position, so removing an earlier item between two pages neither skips nor
//! repeats one (the pagination page's SHOULD).

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::Era;
use crate::jsonrpc::ErrorObject;

/// An item and its definition, serialised once at registration.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) item: T,
    /// When the name was first registered, counted per registry: replacing a definition keeps
    /// its number (and its place in the order), so entries are in increasing order of it.
    sequence: u64,
    pub(crate) json: Box<RawValue>,
    /// The definition as legacy clients (up to 2025-11-25) must see it, when that differs.
    pub(crate) legacy_json: Option<Box<RawValue>>,
}

impl<T> Entry<T> {
    /// The definition for a client of `era`.
    fn json_for(&self, era: Era) -> &RawValue {
        match (&self.legacy_json, era) {
            (Some(legacy), Era::Legacy) => legacy,
            _ => &self.json,
        }
    }
}

/// foldhash, not SipHash: every call looks its tool up here, and only names the server
/// registered are ever inserted, so lookups of client-sent names cannot flood it.
pub(crate) type Snapshot<T> = IndexMap<String, Arc<Entry<T>>, foldhash::fast::RandomState>;

/// Readers load a snapshot (an `Arc`), writers copy-on-write under a mutex, which also holds
/// the next registration number.
pub(crate) struct Registry<T> {
    snapshot: ArcSwap<Snapshot<T>>,
    writer: Mutex<u64>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(IndexMap::default()),
            writer: Mutex::new(0),
        }
    }
}

/// One page of a listing.
pub(crate) struct Page<'a, T> {
    pub(crate) entries: Vec<&'a Arc<Entry<T>>>,
    pub(crate) next_cursor: Option<String>,
}

impl<T> Registry<T> {
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Snapshot<T>>> {
        self.snapshot.load()
    }

    /// Inserts or replaces; returns whether the registry changed.
    pub(crate) fn insert<D: Serialize>(&self, key: String, item: T, definition: &D) -> bool {
        self.insert_with_legacy(key, item, definition, None)
    }

    /// [`insert`](Self::insert), for an item that legacy clients must see as `legacy`.
    pub(crate) fn insert_with_legacy<D: Serialize>(
        &self,
        key: String,
        item: T,
        definition: &D,
        legacy: Option<&D>,
    ) -> bool {
        let encode = |definition| {
            serde_json::value::to_raw_value(definition)
                .expect("protocol definitions always serialise")
        };
        let json = encode(definition);
        let legacy_json = legacy.map(encode);
        let mut next_sequence = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = Snapshot::clone(&self.snapshot.load());
        // A replaced definition keeps its place in the order (IndexMap's too), so its number.
        let sequence = match next.get(&key) {
            Some(replaced) => replaced.sequence,
            None => {
                *next_sequence += 1;
                *next_sequence
            }
        };
        next.insert(
            key,
            Arc::new(Entry {
                item,
                sequence,
                json,
                legacy_json,
            }),
        );
        self.snapshot.store(Arc::new(next));
        true
    }

    /// Removes by key; returns whether something was removed.
    pub(crate) fn remove(&self, key: &str) -> bool {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.snapshot.load();
        if !current.contains_key(key) {
            return false;
        }
        let mut next = Snapshot::clone(&current);
        next.shift_remove(key);
        self.snapshot.store(Arc::new(next));
        true
    }
}

/// Takes one page of the visible items of `snapshot` for the list named `field` (`tools`,
/// `prompts`...), from where `cursor` says (the start without one).
///
/// A cursor is `{field}:{sequence}`, base64url, where the sequence is the registration number
/// of the last item of the page before: the next page starts after that item, wherever it is
/// now, and whether or not it is still registered. One made for another list, or spelled in
/// any other way, was not issued by this server, and is refused with -32602 as the pagination
/// page asks. One past the list's end gets an empty last page.
pub(crate) fn page<'a, T>(
    snapshot: &'a Snapshot<T>,
    field: &str,
    cursor: Option<&str>,
    page_size: usize,
    mut visible: impl FnMut(&T) -> bool,
) -> Result<Page<'a, T>, ErrorObject> {
    let start = match cursor {
        None => 0,
        Some(cursor) => {
            let after = decode_cursor(field, cursor).ok_or_else(invalid_cursor)?;
            // Entries are in increasing order of their numbers.
            snapshot.partition_point(|_, entry| entry.sequence <= after)
        }
    };
    let mut visible_items = snapshot
        .values()
        .skip(start)
        .filter(|entry| visible(&entry.item));
    let entries: Vec<_> = visible_items.by_ref().take(page_size).collect();
    let next_cursor = match (visible_items.next(), entries.last()) {
        (Some(_), Some(last)) => Some(URL_SAFE_NO_PAD.encode(format!("{field}:{}", last.sequence))),
        _ => None,
    };
    Ok(Page {
        entries,
        next_cursor,
    })
}

/// The registration number a cursor of the list `field` names.
fn decode_cursor(field: &str, cursor: &str) -> Option<u64> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let position = text.strip_prefix(field)?.strip_prefix(':')?;
    // `usize`'s parser takes a leading `+`; the cursors written here never have one.
    position
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| position.parse().ok())?
}

fn invalid_cursor() -> ErrorObject {
    ErrorObject::invalid_params("Invalid cursor")
}

/// Serialises `[entry, entry, ...]` from pre-serialised definitions (written verbatim), as
/// a client of `era` must see them.
pub(crate) struct Entries<'a, T> {
    pub(crate) entries: &'a [&'a Arc<Entry<T>>],
    pub(crate) era: Era,
}

impl<T> Serialize for Entries<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries.iter().map(|entry| entry.json_for(self.era)))
    }
}
