//! Metric keys built once and reused, so that recording a call allocates nothing: the
//! `metrics` macros build a `Vec` of labels on every use, these tables do not. Each key comes
//! with its handle in the global recorder (see [`recorder`](crate::recorder)).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use mcp_core::ProtocolVersion;
use metrics::{Counter, Gauge, Histogram, Key, Label, SharedString};

use crate::known::{KnownTargets, TargetKind};
use crate::names::{self, label};
use crate::outcome::{OUTCOME_SLOTS, Outcome};
use crate::recorder::{METADATA, Metric};

/// Adds one to a counter of the current recorder.
pub(crate) fn increment(key: &Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

/// Moves a gauge of the current recorder by `delta`.
pub(crate) fn gauge_add(key: &Key, delta: f64) {
    metrics::with_recorder(|recorder| {
        let gauge = recorder.register_gauge(key, &METADATA);
        if delta >= 0.0 {
            gauge.increment(delta);
        } else {
            gauge.decrement(-delta);
        }
    });
}

/// Records a value in a histogram of the current recorder.
pub(crate) fn record(key: &Key, value: f64) {
    metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA).record(value));
}

/// A key with static labels, built once.
pub(crate) fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::from_static_parts(k, v))
        .collect();
    // Retained: recorders clone keys they store, and a retained key clones without copying.
    Key::from_parts(name, labels).to_retained()
}

/// The methods that get their own `method` label value, and what their target is.
const KNOWN_METHODS: [(&str, Option<TargetKind>); 25] = [
    ("initialize", None),
    ("ping", None),
    ("server/discover", None),
    ("tools/list", None),
    ("tools/call", Some(TargetKind::Tool)),
    ("resources/list", None),
    ("resources/templates/list", None),
    ("resources/read", Some(TargetKind::Resource)),
    ("resources/subscribe", Some(TargetKind::Resource)),
    ("resources/unsubscribe", Some(TargetKind::Resource)),
    ("subscriptions/listen", None),
    ("prompts/list", None),
    ("prompts/get", Some(TargetKind::Prompt)),
    ("completion/complete", None),
    ("logging/setLevel", None),
    ("tasks/get", None),
    ("tasks/result", None),
    ("tasks/list", None),
    ("tasks/cancel", None),
    ("notifications/initialized", None),
    ("notifications/cancelled", None),
    ("notifications/progress", None),
    ("notifications/roots/list_changed", None),
    ("notifications/tasks/status", None),
    ("tasks/update", None),
];

/// The index of `tools/call` in the method table.
pub(crate) const TOOLS_CALL: usize = 4;
/// The index of `tasks/result` (2025-11-25), whose result is the task's `tools/call` result.
pub(crate) const TASKS_RESULT: usize = 16;
/// The index of the entry every unknown method shares.
pub(crate) const OTHER_METHOD: usize = KNOWN_METHODS.len();

/// The table index of a method name (a `match`: compiled to a length switch, cheaper than
/// comparing with each name in turn).
pub(crate) fn method_index(method: &str) -> usize {
    match method {
        "initialize" => 0,
        "ping" => 1,
        "server/discover" => 2,
        "tools/list" => 3,
        "tools/call" => 4,
        "resources/list" => 5,
        "resources/templates/list" => 6,
        "resources/read" => 7,
        "resources/subscribe" => 8,
        "resources/unsubscribe" => 9,
        "subscriptions/listen" => 10,
        "prompts/list" => 11,
        "prompts/get" => 12,
        "completion/complete" => 13,
        "logging/setLevel" => 14,
        "tasks/get" => 15,
        "tasks/result" => 16,
        "tasks/list" => 17,
        "tasks/cancel" => 18,
        "notifications/initialized" => 19,
        "notifications/cancelled" => 20,
        "notifications/progress" => 21,
        "notifications/roots/list_changed" => 22,
        "notifications/tasks/status" => 23,
        "tasks/update" => 24,
        _ => OTHER_METHOD,
    }
}

/// Everything recorded per method, keys included.
pub(crate) struct MethodKeys {
    /// The `method` label value (`_other` for unknown methods).
    pub(crate) label: &'static str,
    /// What the method's target is, if it has one.
    pub(crate) target: Option<TargetKind>,
    pub(crate) in_flight: Metric<Gauge>,
    pub(crate) panics: Metric<Counter>,
    pub(crate) disconnected: Metric<Counter>,
    pub(crate) cancelled: Metric<Counter>,
    /// For calls without a target.
    pub(crate) untargeted: TargetKeys,
    /// For calls whose target is not registered.
    pub(crate) folded: TargetKeys,
}

static METHODS: LazyLock<Vec<MethodKeys>> = LazyLock::new(|| {
    KNOWN_METHODS
        .iter()
        .copied()
        .chain([(names::FOLDED, None)])
        .map(|(method, target)| MethodKeys {
            label: method,
            target,
            in_flight: Metric::new(key(names::IN_FLIGHT, &[(label::METHOD, method)])),
            panics: Metric::new(key(names::PANICS, &[(label::METHOD, method)])),
            disconnected: Metric::new(key(names::DISCONNECTED, &[(label::METHOD, method)])),
            cancelled: Metric::new(key(names::CANCELLED, &[(label::METHOD, method)])),
            untargeted: TargetKeys::new(method, None, None),
            folded: TargetKeys::new(method, Some(SharedString::const_str(names::FOLDED)), None),
        })
        .collect()
});

/// The keys of the method at `index` (from [`method_index`]).
#[inline]
pub(crate) fn method(index: usize) -> &'static MethodKeys {
    &METHODS[index]
}

/// The metrics of one (method, target) pair: the request counter, and one duration histogram
/// per outcome, built on first use.
pub(crate) struct TargetKeys {
    method: &'static str,
    target: Option<SharedString>,
    /// The registered name, shared with every call that labels it.
    pub(crate) name: Option<Arc<str>>,
    /// The last [`KnownTargets::revision`] at which the name was known (0: none).
    verified: AtomicU64,
    requests: Metric<Counter>,
    /// Per protocol version, made on its first call: most servers see one or two versions.
    durations: [OnceLock<Box<OutcomeDurations>>; VERSIONS],
}

/// The duration histograms of one (method, target, version), one per outcome, built on use.
type OutcomeDurations = [OnceLock<Metric<Histogram>>; OUTCOME_SLOTS];

/// How many `protocol_version` label values there are.
const VERSIONS: usize = ProtocolVersion::ALL.len();

impl TargetKeys {
    fn new(method: &'static str, target: Option<SharedString>, name: Option<Arc<str>>) -> Self {
        let mut labels = vec![Label::from_static_parts(label::METHOD, method)];
        labels.extend(target.clone().map(|t| Label::new(label::TARGET, t)));
        Self {
            method,
            requests: Metric::new(Key::from_parts(names::REQUESTS, labels).to_retained()),
            target,
            name,
            verified: AtomicU64::new(0),
            durations: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// `mcp.server.requests`.
    pub(crate) fn requests(&self) -> &Metric<Counter> {
        &self.requests
    }

    /// `mcp.server.operation.duration` of this outcome under this protocol version.
    pub(crate) fn duration(
        &self,
        outcome: Outcome,
        version: ProtocolVersion,
    ) -> &Metric<Histogram> {
        // The enum's declaration order, which `ALL` lists.
        let by_outcome = self.durations[version as usize]
            .get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        by_outcome[outcome.slot()].get_or_init(|| {
            let mut labels = Vec::with_capacity(5);
            labels.push(Label::from_static_parts(label::METHOD, self.method));
            labels.extend(self.target.clone().map(|t| Label::new(label::TARGET, t)));
            labels.push(Label::from_static_parts(label::OUTCOME, outcome.as_str()));
            labels.extend(
                outcome
                    .code_label()
                    .map(|code| Label::from_static_parts(label::CODE, code)),
            );
            labels.push(Label::from_static_parts(
                label::PROTOCOL_VERSION,
                version.as_str(),
            ));
            Metric::new(Key::from_parts(names::OPERATION_DURATION, labels).to_retained())
        })
    }
}

/// How many names per method get a `target` label value of their own (cached, never freed
/// keys); past that, names are folded like unknown ones, so that series stay bounded even when
/// a [`KnownTargets`] accepts more names than it should.
const MAX_CACHED_TARGETS: usize = 1024;

/// Slots per method: at most half full, so that probe sequences stay short.
const SLOTS: usize = 2 * MAX_CACHED_TARGETS;

/// FNV-1a: a few nanoseconds for a short name where SipHash takes tens. Flooding is no
/// concern: only names the server registered are ever inserted.
fn fnv(bytes: &[u8]) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The low bits index the table: fold the high ones in.
    (hash ^ (hash >> 32)) as usize
}

/// The keys of one method's registered targets: an open-addressing table whose slots are
/// filled once and never emptied, so that a lookup is a few plain loads, no lock and no
/// reference count (this runs on every call).
struct TargetTable {
    slots: Box<[OnceLock<&'static TargetKeys>]>,
    len: AtomicUsize,
    writer: Mutex<()>,
}

impl TargetTable {
    fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            writer: Mutex::new(()),
        }
    }

    /// The cached keys of `name`, or the first free slot of its probe sequence. Inlined: it
    /// runs on every call, and is short next to the cost of calling it.
    #[inline(always)]
    fn find(&self, name: &str) -> Result<&'static TargetKeys, usize> {
        let mut slot = fnv(name.as_bytes()) % SLOTS;
        loop {
            match self.slots[slot].get() {
                Some(keys)
                    if keys
                        .name
                        .as_deref()
                        .is_some_and(|held| same_name(held, name)) =>
                {
                    return Ok(keys);
                }
                Some(_) => slot = (slot + 1) % SLOTS,
                None => return Err(slot),
            }
        }
    }
}

/// `held == name`, without a call to `memcmp` for names of up to 16 bytes (the call costs more
/// than comparing a tool name): two overlapping loads per side cover every byte.
#[inline]
fn same_name(held: &str, name: &str) -> bool {
    let (a, b) = (held.as_bytes(), name.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// One table per method, made when the method is first called with a registered target.
static TABLES: [OnceLock<TargetTable>; OTHER_METHOD + 1] =
    [const { OnceLock::new() }; OTHER_METHOD + 1];

/// The keys of `name` as a target of the method at `index` when `known` knows it, else `None`.
///
/// `known` is asked once per name and revision (see [`KnownTargets::revision`]): a name's keys
/// remember the revision at which it was last known. Keys are shared by every layer in the
/// process; revisions are unique across `KnownTargets`, so one layer's answer is never taken
/// for another's.
#[inline(always)]
pub(crate) fn known_target(
    index: usize,
    kind: TargetKind,
    name: &str,
    known: &dyn KnownTargets,
) -> Option<&'static TargetKeys> {
    let table = TABLES[index].get_or_init(TargetTable::new);
    // Read before asking: a change after this read moves the revision on, so what is
    // remembered below is never taken for the newer state.
    let revision = known.revision();
    let found = table.find(name).ok();
    if let (Some(keys), Some(revision)) = (found, revision)
        && keys.verified.load(Ordering::Relaxed) == revision
    {
        return Some(keys);
    }
    if !known.is_known(kind, name) {
        return None;
    }
    let keys = match found {
        Some(keys) => keys,
        None => insert(table, index, name)?,
    };
    if let Some(revision) = revision {
        keys.verified.store(revision, Ordering::Relaxed);
    }
    Some(keys)
}

/// Caches the keys of a name seen for the first time; `None` (fold it) past the cap.
#[cold]
#[inline(never)]
fn insert(table: &TargetTable, index: usize, name: &str) -> Option<&'static TargetKeys> {
    // Inserts are rare (once per registered name) and serialised; lookups never wait.
    let _writer = table.writer.lock().unwrap_or_else(|p| p.into_inner());
    let free = match table.find(name) {
        Ok(keys) => return Some(keys),
        Err(free) => free,
    };
    if table.len.load(Ordering::Relaxed) >= MAX_CACHED_TARGETS {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                target: "mcp_telemetry",
                method = method(index).label,
                "more than {MAX_CACHED_TARGETS} target names known for one method; \
                 further names are folded into `{}`",
                names::FOLDED
            );
        });
        return None;
    }
    let shared: Arc<str> = Arc::from(name);
    let keys: &'static TargetKeys = Box::leak(Box::new(TargetKeys::new(
        method(index).label,
        Some(SharedString::from(Arc::clone(&shared))),
        Some(shared),
    )));
    table.len.fetch_add(1, Ordering::Relaxed);
    // Only the writer fills slots, and this one was free under its lock.
    let _ = table.slots[free].set(keys);
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_compares_every_byte() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..=text.len() {
            let name = &text[..len];
            assert!(same_name(name, name), "{name}");
            assert!(!same_name(name, &text[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut other = name.as_bytes().to_vec();
                other[at] = b'_';
                let other = String::from_utf8(other).expect("ASCII");
                assert!(!same_name(name, &other), "{name} vs {other}");
            }
        }
    }

    #[test]
    fn method_index_matches_the_table() {
        for (index, (name, _)) in KNOWN_METHODS.iter().enumerate() {
            assert_eq!(method_index(name), index, "{name}");
        }
    }

    #[test]
    fn method_table() {
        assert_eq!(method_index("tools/call"), TOOLS_CALL);
        assert_eq!(method(TOOLS_CALL).label, "tools/call");
        assert_eq!(method(TOOLS_CALL).target, Some(TargetKind::Tool));
        assert_eq!(method_index("no/such"), OTHER_METHOD);
        assert_eq!(method(OTHER_METHOD).label, names::FOLDED);
    }

    #[test]
    fn names_past_the_cap_are_folded() {
        // A `KnownTargets` that accepts any name must still not create series without bound.
        let index = method_index("resources/unsubscribe");
        let anything = |_: TargetKind, _: &str| true;
        for n in 0..MAX_CACHED_TARGETS {
            let name = format!("name-{n}");
            let keys = known_target(index, TargetKind::Resource, &name, &anything);
            assert_eq!(keys.and_then(|k| k.name.as_deref()), Some(&*name));
        }
        assert!(known_target(index, TargetKind::Resource, "one-more", &anything).is_none());
        // Names labelled before the cap keep their label.
        assert!(known_target(index, TargetKind::Resource, "name-0", &anything).is_some());
    }

    #[test]
    fn duration_keys_carry_outcome_code_and_version() {
        let known = |_: TargetKind, _: &str| true;
        let target = || known_target(TOOLS_CALL, TargetKind::Tool, "add", &known);
        let keys = target().expect("known");
        let again = target().expect("known");
        assert!(std::ptr::eq(keys, again));
        let error = Outcome::ProtocolError(-32602);
        let key = keys.duration(error, ProtocolVersion::V2025_06_18).key();
        let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
        assert_eq!(
            labels,
            [
                ("method", "tools/call"),
                ("target", "add"),
                ("outcome", "protocol_error"),
                ("code", "-32602"),
                ("protocol_version", "2025-06-18"),
            ]
        );
        assert!(std::ptr::eq(
            key,
            keys.duration(error, ProtocolVersion::V2025_06_18).key()
        ));
        // Every version has series of its own.
        let versions: std::collections::HashSet<_> = ProtocolVersion::ALL
            .into_iter()
            .map(|version| std::ptr::from_ref(keys.duration(error, version).key()))
            .collect();
        assert_eq!(versions.len(), ProtocolVersion::ALL.len());
    }
}
