//! The servers and the scenarios run against them.

use crate::proto::{Call, Era, Media, Shape};

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ServerId {
    /// `quickstart::router()` in `McpServer::builder(..)`, the default stack.
    Ours,
    /// The same router behind HostOrigin + JWT auth + telemetry + allow-list + rate limit,
    /// with the authenticator's defaults (a token's signature is verified on its first use,
    /// then its cached verification and its `exp` are checked on every request).
    Production,
    /// The production stack with the verified-token cache off: every request's token
    /// signature is verified.
    ProductionUncached,
    /// The quickstart stack (stateless) with `HttpTelemetryLayer` and `TelemetryLayer` added
    /// and a Prometheus recorder installed: what telemetry costs per request over HTTP. Served
    /// for `scripts/instructions.sh`, not part of the default run.
    Telemetry,
    /// The official Rust SDK (rmcp 3.x) with the same tools, on axum.
    Rmcp,
    /// hyper + serde_json, no MCP framework: the ceiling of this machine.
    Raw,
}

impl ServerId {
    /// The `load serve` argument.
    pub(crate) fn cli(self) -> &'static str {
        match self {
            ServerId::Ours => "ours-quickstart",
            ServerId::Production => "ours-production",
            ServerId::ProductionUncached => "ours-production-uncached",
            ServerId::Telemetry => "ours-telemetry",
            ServerId::Rmcp => "rmcp",
            ServerId::Raw => "raw",
        }
    }

    /// Every server `load serve` can run.
    pub(crate) const ALL: [ServerId; 6] = [
        ServerId::Ours,
        ServerId::Production,
        ServerId::ProductionUncached,
        ServerId::Telemetry,
        ServerId::Rmcp,
        ServerId::Raw,
    ];

    pub(crate) fn from_cli(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.cli() == name)
    }

    /// The name in the report.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ServerId::Ours => "mcp-tower quickstart",
            ServerId::Production => "mcp-tower production",
            ServerId::ProductionUncached => "mcp-tower production, no token cache",
            ServerId::Telemetry => "mcp-tower quickstart with telemetry",
            ServerId::Rmcp => "rmcp 3.11",
            ServerId::Raw => "raw hyper (ceiling)",
        }
    }
}

/// How a server process is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Variant {
    /// No sessions; JSON answers.
    Stateless,
    /// Legacy sessions (`Mcp-Session-Id`).
    Sessions,
    /// No sessions; every POST answered with an SSE stream.
    Sse,
}

impl Variant {
    pub(crate) fn cli(self) -> &'static str {
        match self {
            Variant::Stateless => "stateless",
            Variant::Sessions => "sessions",
            Variant::Sse => "sse",
        }
    }

    pub(crate) fn from_cli(name: &str) -> Option<Self> {
        [Variant::Stateless, Variant::Sessions, Variant::Sse]
            .into_iter()
            .find(|v| v.cli() == name)
    }
}

/// Sessions of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionMode {
    /// Stateless requests.
    None,
    /// Each connection initializes its own session.
    Own,
    /// All connections share one session.
    Shared,
}

/// One load scenario.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Short name (`--only`, `load bench --scenario`).
    pub(crate) name: &'static str,
    /// What the report says.
    pub(crate) title: &'static str,
    pub(crate) shape: Shape,
    /// The media type every answer must have.
    pub(crate) media: Media,
    pub(crate) session: SessionMode,
    /// Overrides `--connections`.
    pub(crate) connections: Option<usize>,
    /// Which server processes it runs against.
    pub(crate) servers: &'static [(ServerId, Variant)],
    /// Runs interleaved with the next scenario (same servers): each server answers one and
    /// then the other back to back, in an order that alternates by round, so that the ratio of
    /// the two shapes on one server is measured within seconds rather than a scenario apart.
    pub(crate) paired_with_next: bool,
}

const STATELESS_ALL: &[(ServerId, Variant)] = &[
    (ServerId::Ours, Variant::Stateless),
    (ServerId::Production, Variant::Stateless),
    (ServerId::ProductionUncached, Variant::Stateless),
    (ServerId::Rmcp, Variant::Stateless),
    (ServerId::Raw, Variant::Stateless),
];
const STATELESS_PEERS: &[(ServerId, Variant)] = &[
    (ServerId::Ours, Variant::Stateless),
    (ServerId::Rmcp, Variant::Stateless),
    (ServerId::Raw, Variant::Stateless),
];
const SESSIONS: &[(ServerId, Variant)] = &[
    (ServerId::Ours, Variant::Sessions),
    (ServerId::Rmcp, Variant::Sessions),
    // The raw server hands out a session id and ignores it.
    (ServerId::Raw, Variant::Stateless),
];
const SSE: &[(ServerId, Variant)] = &[
    (ServerId::Ours, Variant::Sse),
    (ServerId::Rmcp, Variant::Sse),
    (ServerId::Raw, Variant::Sse),
];

const fn shape(era: Era, call: Call) -> Shape {
    Shape { era, call }
}

/// Every scenario, in report order.
pub(crate) fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "legacy",
            title: "tools/call add, legacy stateless JSON (2025-11-25, no session)",
            shape: shape(Era::Legacy, Call::Add),
            media: Media::Json,
            session: SessionMode::None,
            connections: None,
            servers: STATELESS_ALL,
            paired_with_next: true,
        },
        Scenario {
            name: "modern",
            title: "tools/call add, 2026-07-28 stateless (headers + _meta)",
            shape: shape(Era::Modern, Call::Add),
            media: Media::Json,
            session: SessionMode::None,
            connections: None,
            servers: STATELESS_ALL,
            paired_with_next: false,
        },
        Scenario {
            name: "legacy-1conn",
            title: "tools/call add, legacy stateless JSON, 1 connection",
            shape: shape(Era::Legacy, Call::Add),
            media: Media::Json,
            session: SessionMode::None,
            connections: Some(1),
            servers: STATELESS_PEERS,
            paired_with_next: false,
        },
        Scenario {
            name: "tools-list",
            title: "tools/list, legacy stateless JSON",
            shape: shape(Era::Legacy, Call::List),
            media: Media::Json,
            session: SessionMode::None,
            connections: None,
            servers: STATELESS_PEERS,
            paired_with_next: false,
        },
        Scenario {
            name: "resources-read",
            title: "resources/read, legacy stateless JSON",
            shape: shape(Era::Legacy, Call::Read),
            media: Media::Json,
            session: SessionMode::None,
            connections: None,
            servers: STATELESS_PEERS,
            paired_with_next: false,
        },
        Scenario {
            name: "session-own",
            title: "tools/call add, legacy, one session per connection",
            shape: shape(Era::Legacy, Call::Add),
            media: Media::Either,
            session: SessionMode::Own,
            connections: None,
            servers: SESSIONS,
            paired_with_next: false,
        },
        Scenario {
            name: "session-shared",
            title: "tools/call add, legacy, all connections share one session",
            shape: shape(Era::Legacy, Call::Add),
            media: Media::Either,
            session: SessionMode::Shared,
            connections: None,
            servers: SESSIONS,
            paired_with_next: false,
        },
        Scenario {
            name: "sse",
            title: "tools/call add, legacy stateless, answered as SSE",
            shape: shape(Era::Legacy, Call::Add),
            media: Media::Sse,
            session: SessionMode::None,
            connections: None,
            servers: SSE,
            paired_with_next: false,
        },
    ]
}
