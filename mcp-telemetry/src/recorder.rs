//! Metric handles kept across calls for the global recorder.
//!
//! Registering a metric with a recorder looks its key up in the recorder's registry (hashing,
//! a lock, comparing names and labels): with a Prometheus recorder that is most of what a call
//! costs this crate. A handle from the global recorder stays valid for the life of the process,
//! so [`Metric`] registers once and keeps it. Handles from any other recorder (a thread-local
//! one, as tests install) are registered per use: such a recorder can be dropped and another
//! one take its address, so nothing is kept for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, Metadata, Recorder};

/// The metadata every metric of this crate is registered with.
pub(crate) static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The address of the global recorder; 0 until one is found.
static GLOBAL: AtomicUsize = AtomicUsize::new(0);

fn address(recorder: &dyn Recorder) -> usize {
    std::ptr::from_ref(recorder).cast::<()>() as usize
}

/// Looks for the global recorder, unless it was found before. Called when metrics are
/// described, and (through [`find_global_now_and_then`]) when layers are made and applied;
/// never per call: it starts a thread.
pub(crate) fn find_global() {
    if GLOBAL.load(Ordering::Relaxed) != 0 {
        return;
    }
    // `metrics` tells no one whether the recorder in scope is the global one, but a new
    // thread has no thread-local recorder: what it sees is the global recorder, or the no-op
    // one when none is installed.
    let found = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("mcp-telemetry-probe".into())
            .spawn_scoped(scope, || {
                metrics::with_recorder(|recorder| {
                    // The global recorder lives in a leaked box, so no other recorder can ever
                    // have its address; zero-sized ones (the no-op recorder) have no address
                    // of their own and are never trusted.
                    (size_of_val(recorder) != 0).then(|| address(recorder))
                })
            })
            .ok()
            .and_then(|probe| probe.join().ok().flatten())
    });
    if let Some(found) = found {
        GLOBAL.store(found, Ordering::Relaxed);
    }
}

/// Like [`find_global`], at most once a second: for `TelemetryLayer::new` and `Layer::layer`,
/// which some servers call per connection.
pub(crate) fn find_global_now_and_then() {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    if GLOBAL.load(Ordering::Relaxed) != 0 {
        return;
    }
    {
        let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
    }
    find_global();
}

/// Whether `recorder` is the global recorder (found by [`find_global`]).
fn is_global(recorder: &dyn Recorder) -> bool {
    let global = GLOBAL.load(Ordering::Relaxed);
    global != 0 && global == address(recorder)
}

/// Where the metrics of a call or request go, decided once at its start: the global
/// recorder's kept handles when `keep` and the recorder in scope is the global one, else
/// whatever recorder is in scope at each use. One look at the recorder instead of one per
/// metric.
pub(crate) fn scope_now(keep: bool) -> Scope {
    if !keep {
        return Scope::Current;
    }
    metrics::with_recorder(|recorder| scope_of(keep, recorder))
}

/// The scope of metrics recorded into `recorder`: only the global recorder's handles are
/// kept, and only when `keep`.
fn scope_of(keep: bool, recorder: &dyn Recorder) -> Scope {
    if keep && is_global(recorder) {
        Scope::Global
    } else {
        Scope::Current
    }
}

/// A kind of metric handle.
pub(crate) trait Handle: Sized {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self;
}

impl Handle for Counter {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self {
        recorder.register_counter(key, &METADATA)
    }
}

impl Handle for Gauge {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self {
        recorder.register_gauge(key, &METADATA)
    }
}

impl Handle for Histogram {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self {
        recorder.register_histogram(key, &METADATA)
    }
}

/// Which recorder a call's metrics go to, decided once when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The global recorder, with kept handles.
    Global,
    /// Whatever recorder is in scope at each use, registered per use.
    Current,
}

/// One metric: its key, and its handle in the global recorder once used there.
pub(crate) struct Metric<H> {
    key: Key,
    global: OnceLock<H>,
}

/// A handle either kept for the process or registered for one use.
pub(crate) enum Held<H: 'static> {
    Kept(&'static H),
    Owned(H),
}

impl<H> std::ops::Deref for Held<H> {
    type Target = H;

    fn deref(&self) -> &H {
        match self {
            Held::Kept(handle) => handle,
            Held::Owned(handle) => handle,
        }
    }
}

impl<H: Handle> Metric<H> {
    pub(crate) fn new(key: Key) -> Self {
        Self {
            key,
            global: OnceLock::new(),
        }
    }

    /// The key (for tests and failure messages).
    #[cfg(test)]
    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    /// Runs `f` with this metric's handle for a call of this `scope`: a kept handle needs no
    /// look at the recorder in scope at all.
    #[inline]
    pub(crate) fn with<T>(&self, scope: Scope, f: impl FnOnce(&H) -> T) -> T {
        if scope == Scope::Global
            && let Some(handle) = self.global.get()
        {
            return f(handle);
        }
        metrics::with_recorder(|recorder| {
            // Checked again: only a handle of the global recorder may be kept.
            if scope == Scope::Global && is_global(recorder) {
                f(self.global.get_or_init(|| H::register(recorder, &self.key)))
            } else {
                f(&H::register(recorder, &self.key))
            }
        })
    }

    /// This metric's handle in the recorder in scope, to use later, and the scope of the call
    /// it is for (`keep` false: always [`Scope::Current`], see
    /// `TelemetryLayer::keep_metric_handles`).
    pub(crate) fn hold(&'static self, keep: bool) -> (Held<H>, Scope) {
        metrics::with_recorder(|recorder| match scope_of(keep, recorder) {
            Scope::Global => {
                let handle = self.global.get_or_init(|| H::register(recorder, &self.key));
                (Held::Kept(handle), Scope::Global)
            }
            Scope::Current => (
                Held::Owned(H::register(recorder, &self.key)),
                Scope::Current,
            ),
        })
    }
}

impl Metric<Counter> {
    /// Adds one.
    #[inline]
    pub(crate) fn increment(&self, scope: Scope) {
        self.with(scope, |counter| counter.increment(1));
    }
}

impl Metric<Histogram> {
    /// Records `value`.
    #[inline]
    pub(crate) fn record(&self, scope: Scope, value: f64) {
        self.with(scope, |histogram| histogram.record(value));
    }
}
