//! How a call reached the server, for the span's `network.*` attributes (recommended by
//! OpenTelemetry's MCP conventions): read from what the transport attached to the request,
//! and only when a span is recorded.

use std::net::SocketAddr;

use http::Version;
use http::request::Parts;
use mcp_core::FromStdio;

/// The request's extensions, seen for their network facts.
pub(crate) struct Network<'a>(pub(crate) &'a http::Extensions);

impl Network<'_> {
    /// The HTTP request the message came in (the HTTP transport attaches its parts).
    fn http(&self) -> Option<&Parts> {
        self.0.get::<Parts>()
    }

    /// `network.transport`: `tcp` (or `quic` for HTTP/3) over HTTP, `pipe` over stdio.
    pub(crate) fn transport(&self) -> Option<&'static str> {
        match self.http() {
            Some(parts) if parts.version == Version::HTTP_3 => Some("quic"),
            Some(_) => Some("tcp"),
            None => self.0.get::<FromStdio>().map(|_| "pipe"),
        }
    }

    /// `network.protocol.name`: `http` over HTTP.
    pub(crate) fn protocol_name(&self) -> Option<&'static str> {
        self.http().map(|_| "http")
    }

    /// `network.protocol.version`: the HTTP version, as the conventions write it.
    pub(crate) fn protocol_version(&self) -> Option<&'static str> {
        match self.http()?.version {
            Version::HTTP_09 => Some("0.9"),
            Version::HTTP_10 => Some("1.0"),
            Version::HTTP_11 => Some("1.1"),
            Version::HTTP_2 => Some("2"),
            Version::HTTP_3 => Some("3"),
            _ => None,
        }
    }

    /// `network.peer.address` and `network.peer.port`: the other end of the connection, when
    /// the server that accepted it says (mcp-tower's does). Behind a proxy, the proxy.
    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        self.0.get::<SocketAddr>().copied()
    }
}
