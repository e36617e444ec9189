//! Protocol versions and every rule that differs between them, in one place.

use std::fmt;
use std::str::FromStr;

use crate::jsonrpc::codes;

/// A protocol version this crate speaks, and every rule that differs between versions.
///
/// The legacy era (2025-03-26, 2025-06-18, 2025-11-25) has `initialize` and sessions; the
/// modern era (2026-07-28) is stateless and carries the version in each request's `_meta`.
///
/// ```
/// use mcp_core::{Era, ProtocolVersion};
///
/// // A supported requested version is echoed; anything else gets the latest legacy version.
/// assert_eq!(ProtocolVersion::negotiate("2025-06-18"), ProtocolVersion::V2025_06_18);
/// assert_eq!(ProtocolVersion::negotiate("1999-01-01"), ProtocolVersion::LATEST_LEGACY);
/// assert_eq!(ProtocolVersion::V2026_07_28.era(), Era::Modern);
/// assert!(ProtocolVersion::V2025_03_26.allows_batches());
/// assert!(!ProtocolVersion::V2026_07_28.has_method("initialize"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// 2025-03-26: the first Streamable HTTP version; JSON-RPC batches.
    V2025_03_26,
    /// 2025-06-18: structured output, elicitation, `MCP-Protocol-Version` header.
    V2025_06_18,
    /// 2025-11-25: icons, experimental tasks, URL elicitation.
    V2025_11_25,
    /// 2026-07-28: stateless; `server/discover`, version in `_meta`, `input_required`.
    V2026_07_28,
}

/// The two families of protocol versions served side by side on one endpoint.
///
/// ```
/// use mcp_core::{Era, ProtocolVersion};
///
/// assert_eq!(ProtocolVersion::V2025_11_25.era(), Era::Legacy);
/// assert_eq!(ProtocolVersion::V2026_07_28.era(), Era::Modern);
/// assert!(ProtocolVersion::V2025_11_25.has_method("initialize"));
/// assert!(ProtocolVersion::V2026_07_28.has_method("server/discover"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// `initialize`, sessions, GET stream (2025-03-26 … 2025-11-25).
    Legacy,
    /// Stateless requests carrying their version in `_meta` (2026-07-28).
    Modern,
}

/// Methods that exist only in the legacy era.
const LEGACY_ONLY: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "notifications/initialized",
    "notifications/roots/list_changed",
];

/// Methods that exist only in the modern era.
const MODERN_ONLY: &[&str] = &["server/discover", "subscriptions/listen"];

/// The experimental task methods of 2025-11-25.
const LEGACY_TASK_METHODS: &[&str] = &["tasks/get", "tasks/result", "tasks/list", "tasks/cancel"];

/// The task methods of the 2026-07-28 tasks extension.
const MODERN_TASK_METHODS: &[&str] = &["tasks/get", "tasks/update", "tasks/cancel"];

impl ProtocolVersion {
    /// Every supported version, oldest first.
    pub const ALL: [ProtocolVersion; 4] = [
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];
    /// The newest legacy version: offered when a client asks for one we do not know.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
    /// The newest version.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;
    /// The version assumed when an HTTP request has no `MCP-Protocol-Version` header.
    pub const DEFAULT_HTTP: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The version string, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a version string; `None` when unsupported.
    pub fn parse(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == version)
    }

    /// The version an `initialize` answers with: the requested one when it is a supported
    /// legacy version, otherwise the latest legacy version.
    pub fn negotiate(requested: &str) -> Self {
        match Self::parse(requested) {
            Some(version) if version.era() == Era::Legacy => version,
            _ => Self::LATEST_LEGACY,
        }
    }

    /// The era this version belongs to.
    pub const fn era(self) -> Era {
        match self {
            ProtocolVersion::V2026_07_28 => Era::Modern,
            _ => Era::Legacy,
        }
    }

    /// Whether a JSON array of messages is accepted (2025-03-26 only).
    pub const fn allows_batches(self) -> bool {
        matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether results carry `resultType`, server info in `_meta`, `ttlMs` / `cacheScope`.
    pub const fn is_modern(self) -> bool {
        matches!(self.era(), Era::Modern)
    }

    /// Whether tool results may carry `structuredContent` and tools an `outputSchema`.
    pub const fn has_structured_output(self) -> bool {
        !matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether invalid tool arguments are a tool error (an `isError` result the model can read
    /// and correct, SEP-1303, 2025-11-25 and later) rather than a -32602 protocol error, as the
    /// tool pages of 2025-03-26 and 2025-06-18 list them.
    pub const fn has_argument_errors_as_results(self) -> bool {
        matches!(
            self,
            ProtocolVersion::V2025_11_25 | ProtocolVersion::V2026_07_28
        )
    }

    /// Whether content blocks may be resource links (2025-06-18 and later).
    pub const fn has_resource_links(self) -> bool {
        !matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether SSE streams open with a priming event, an event id and empty data (2025-11-25
    /// only): earlier clients may read that empty data as a malformed message, and
    /// 2026-07-28 streams cannot be resumed, so their events carry no ids to prime.
    pub const fn has_sse_priming(self) -> bool {
        matches!(self, ProtocolVersion::V2025_11_25)
    }

    /// Whether a server may close a request's SSE stream before answering it, for the client
    /// to resume with `Last-Event-ID` (SSE polling, 2025-11-25 and later). Earlier specs say
    /// a server should not, and their clients got no priming event to resume from: closing
    /// would lose the answer.
    pub const fn has_sse_polling(self) -> bool {
        self.has_sse_priming()
    }

    /// Whether elicitation exists (2025-06-18 and later).
    pub const fn has_elicitation(self) -> bool {
        !matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether sampling requests may offer the model tools (2025-11-25 and later).
    pub const fn has_sampling_tools(self) -> bool {
        self.has_icons()
    }

    /// Whether a client must declare `sampling.context` before a sampling request asks it to
    /// include MCP context (`includeContext` other than `none`; 2025-11-25 and later). Earlier
    /// clients that declare `sampling` take the whole field.
    pub const fn has_sampling_context(self) -> bool {
        self.has_icons()
    }

    /// Whether icons, URL elicitation and experimental tasks exist (2025-11-25 and later).
    pub const fn has_icons(self) -> bool {
        matches!(
            self,
            ProtocolVersion::V2025_11_25 | ProtocolVersion::V2026_07_28
        )
    }

    /// Whether a client→server method exists in this version.
    pub fn has_method(self, method: &str) -> bool {
        if LEGACY_ONLY.contains(&method) {
            return self.era() == Era::Legacy;
        }
        if MODERN_ONLY.contains(&method) {
            return self.era() == Era::Modern;
        }
        if method.starts_with("tasks/") {
            // Experimental in 2025-11-25; an extension with other methods in 2026-07-28.
            return match self {
                ProtocolVersion::V2026_07_28 => MODERN_TASK_METHODS.contains(&method),
                ProtocolVersion::V2025_11_25 => LEGACY_TASK_METHODS.contains(&method),
                _ => false,
            };
        }
        true
    }

    /// The error code for "resource not found": -32002 up to 2025-11-25, -32602 after.
    pub const fn resource_not_found_code(self) -> i32 {
        match self.era() {
            Era::Legacy => codes::RESOURCE_NOT_FOUND,
            Era::Modern => codes::INVALID_PARAMS,
        }
    }

    /// The supported versions of an era, as strings (for error data and discovery).
    pub fn supported_strings(era: Option<Era>) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|v| era.is_none_or(|era| v.era() == era))
            .map(Self::as_str)
            .collect()
    }
}

/// The eras a transport serves, when it serves fewer than both: it puts this into each
/// request's extensions, and the router's `server/discover` then advertises only the
/// versions served (a client told of a version that is refused would retry with it).
///
/// ```
/// use mcp_core::ServedEras;
///
/// let legacy_only = ServedEras { legacy: true, modern: false };
/// assert_eq!(legacy_only.supported_strings(), ["2025-03-26", "2025-06-18", "2025-11-25"]);
/// assert_eq!(ServedEras::BOTH.supported_strings().len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedEras {
    /// 2025-03-26 … 2025-11-25.
    pub legacy: bool,
    /// 2026-07-28.
    pub modern: bool,
}

impl ServedEras {
    /// Every version.
    pub const BOTH: ServedEras = ServedEras {
        legacy: true,
        modern: true,
    };

    /// Whether `version` is served.
    pub const fn serves(self, version: ProtocolVersion) -> bool {
        match version.era() {
            Era::Legacy => self.legacy,
            Era::Modern => self.modern,
        }
    }

    /// The versions served, oldest first, as strings.
    pub fn supported_strings(self) -> Vec<&'static str> {
        ProtocolVersion::ALL
            .into_iter()
            .filter(|v| self.serves(*v))
            .map(ProtocolVersion::as_str)
            .collect()
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a version string that is not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedVersion(pub String);

impl fmt::Display for UnsupportedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported protocol version: {}", self.0)
    }
}

impl std::error::Error for UnsupportedVersion {}

impl FromStr for ProtocolVersion {
    type Err = UnsupportedVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

impl serde::Serialize for ProtocolVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
