//! Which tool, prompt and resource names get their own `target` label value.

use std::sync::atomic::{AtomicU64, Ordering};

use mcp_core::Router;

/// What a call's target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A tool (`tools/call`).
    Tool,
    /// A prompt (`prompts/get`).
    Prompt,
    /// A resource URI (`resources/read`, `resources/subscribe`, `resources/unsubscribe`).
    Resource,
}

impl TargetKind {
    /// The lower-case name: `tool`, `prompt` or `resource`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::Tool => "tool",
            TargetKind::Prompt => "prompt",
            TargetKind::Resource => "resource",
        }
    }
}

/// Decides whether a target name is registered on the server (and so may be a label value).
///
/// Clients choose the names they send; labelling metrics with them unchecked would let any
/// client create series without bound. A name the server does not know is folded into
/// [`FOLDED`](crate::names::FOLDED). A `KnownTargets` must answer yes for a bounded set of
/// names only (the ones the server registered): each becomes a label value. As a backstop,
/// past 1024 names per method further names are folded too.
///
/// Implemented by [`Router`] (its tools, prompts and resources; URIs that only a resource
/// template matches are folded), by closures, and by [`NoTargets`].
///
/// ```
/// use mcp_core::{RequestContext, Router, Tool};
/// use mcp_telemetry::{KnownTargets, TargetKind};
///
/// // A closure works: here only the tools `search` and `fetch` are labelled.
/// let known = |kind: TargetKind, name: &str| {
///     kind == TargetKind::Tool && matches!(name, "search" | "fetch")
/// };
/// assert!(known.is_known(TargetKind::Tool, "search"));
/// assert!(!known.is_known(TargetKind::Tool, "search2"));
/// assert!(!known.is_known(TargetKind::Prompt, "search"));
///
/// // A router knows what it serves (`TelemetryLayer::for_router` uses it).
/// let router = Router::builder()
///     .tool(Tool::new("add").raw_handler(|_, _: RequestContext| async { "3" }))
///     .build();
/// assert!(router.is_known(TargetKind::Tool, "add"));
/// assert!(!router.is_known(TargetKind::Tool, "rm -rf"));
/// ```
pub trait KnownTargets: Send + Sync + 'static {
    /// Whether `name` is a registered target of this kind.
    fn is_known(&self, kind: TargetKind, name: &str) -> bool;

    /// A number that changes whenever the answers of [`is_known`](Self::is_known) may
    /// change, and that no other `KnownTargets` in the process ever returns; `None` (the
    /// default) when there is none. Take each one from [`new_revision`], which routers draw
    /// theirs apart from: the layer's cache of known names is shared by the whole process, so
    /// a revision another `KnownTargets` also returns would make its answers yours.
    ///
    /// With one, the layer remembers which names were known at which revision and asks
    /// `is_known` again only when the revision moved: a call then costs a load, not a lookup.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::RwLock;
    ///
    /// use mcp_telemetry::{KnownTargets, TargetKind, new_revision};
    ///
    /// /// Tools of a proxied server, refreshed now and then.
    /// struct Proxied {
    ///     tools: RwLock<(HashSet<String>, u64)>,
    /// }
    ///
    /// impl Proxied {
    ///     fn refresh(&self, tools: HashSet<String>) {
    ///         *self.tools.write().unwrap() = (tools, new_revision());
    ///     }
    /// }
    ///
    /// impl KnownTargets for Proxied {
    ///     fn is_known(&self, kind: TargetKind, name: &str) -> bool {
    ///         kind == TargetKind::Tool && self.tools.read().unwrap().0.contains(name)
    ///     }
    ///     fn revision(&self) -> Option<u64> {
    ///         Some(self.tools.read().unwrap().1)
    ///     }
    /// }
    ///
    /// let proxied = Proxied { tools: RwLock::new((HashSet::new(), new_revision())) };
    /// let before = proxied.revision();
    /// proxied.refresh(HashSet::from(["search".to_owned()]));
    /// assert_ne!(proxied.revision(), before);
    /// assert!(proxied.is_known(TargetKind::Tool, "search"));
    /// ```
    fn revision(&self) -> Option<u64> {
        None
    }
}

/// A [`KnownTargets::revision`] no other caller, and no router, ever gets in this process.
///
/// ```
/// assert_ne!(mcp_telemetry::new_revision(), mcp_telemetry::new_revision());
/// ```
pub fn new_revision() -> u64 {
    // Routers count up from 1 (mcp-core); this half of the range is never theirs.
    static NEXT: AtomicU64 = AtomicU64::new(1 << 63);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<F> KnownTargets for F
where
    F: Fn(TargetKind, &str) -> bool + Send + Sync + 'static,
{
    fn is_known(&self, kind: TargetKind, name: &str) -> bool {
        self(kind, name)
    }
}

/// The router knows its tools, prompts and resources, including the ones added or removed at
/// runtime. URIs that only a resource template matches are not registered names (a template
/// matches without bound) and are folded.
impl KnownTargets for Router {
    fn is_known(&self, kind: TargetKind, name: &str) -> bool {
        match kind {
            TargetKind::Tool => self.has_tool(name),
            TargetKind::Prompt => self.has_prompt(name),
            TargetKind::Resource => self.has_resource(name),
        }
    }

    fn revision(&self) -> Option<u64> {
        Some(self.names_revision())
    }
}

/// Knows no name: every target is folded. The default of
/// [`TelemetryLayer::new`](crate::TelemetryLayer::new).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTargets;

impl KnownTargets for NoTargets {
    fn is_known(&self, _kind: TargetKind, _name: &str) -> bool {
        false
    }
}
