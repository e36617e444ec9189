//! W3C Trace Context (`traceparent`, `tracestate`) as MCP carries it in `params._meta`.

use std::fmt;

/// A 16-byte trace id; displays as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id; displays as 16 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Formatting without a temporary string: the span records ids through `Display`.
    let mut buf = [0u8; 32];
    for (i, byte) in bytes.iter().enumerate() {
        buf[2 * i] = DIGITS[usize::from(byte >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
    }
    f.write_str(std::str::from_utf8(&buf[..2 * bytes.len()]).map_err(|_| fmt::Error)?)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// The caller's trace position, parsed from a `traceparent` value.
///
/// MCP carries W3C Trace Context (`traceparent`, `tracestate`) in `params._meta` (SEP-414).
/// No OpenTelemetry SDK is needed: the parsed ids are recorded on the call's span
/// (`trace_id`, `parent_span_id`) and handed to the hooks through
/// [`CallInfo::trace_context`](crate::CallInfo::trace_context) and
/// [`CallInfo::trace_state`](crate::CallInfo::trace_state). With the `opentelemetry` feature,
/// the layer also makes the caller's span the remote parent of the call's span in
/// `tracing-opentelemetry` (see `TelemetryLayer::join_caller_trace`). An invalid value gives
/// `None`: the call then starts a new trace instead of joining a made-up one.
///
/// ```
/// use mcp_telemetry::TraceContext;
///
/// let ctx = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(ctx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(ctx.parent_span_id().to_string(), "00f067aa0ba902b7");
/// assert!(ctx.is_sampled());
/// assert!(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: TraceId,
    parent_span_id: SpanId,
    flags: u8,
}

impl TraceContext {
    /// Parses `version-traceid-parentid-flags`. Invalid values (wrong lengths, upper-case or
    /// non-hex digits, version `ff`, all-zero ids) give `None`, as the W3C spec asks: the
    /// call then starts a new trace.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let value = traceparent.trim().as_bytes();
        // Future versions may append fields after a dash; version 00 has exactly four.
        if value.len() < 55 || (value.len() > 55 && value[55] != b'-') {
            return None;
        }
        let version = hex_byte(&value[0..2])?;
        if version == 0xff || (version == 0 && value.len() != 55) {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let mut trace_id = [0u8; 16];
        for (i, byte) in trace_id.iter_mut().enumerate() {
            *byte = hex_byte(&value[3 + 2 * i..5 + 2 * i])?;
        }
        let mut span_id = [0u8; 8];
        for (i, byte) in span_id.iter_mut().enumerate() {
            *byte = hex_byte(&value[36 + 2 * i..38 + 2 * i])?;
        }
        let flags = hex_byte(&value[53..55])?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id: TraceId(trace_id),
            parent_span_id: SpanId(span_id),
            flags,
        })
    }

    /// The trace the call belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The caller's span: the parent of the server span.
    pub fn parent_span_id(&self) -> SpanId {
        self.parent_span_id
    }

    /// The trace flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the caller sampled the trace (flag bit 0).
    pub fn is_sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// The longest `tracestate` kept: W3C asks platforms to pass on at least 512 characters, and
/// a client must not make the server hold more per call.
const MAX_TRACE_STATE_LEN: usize = 512;

/// The `tracestate` value kept for a call: trimmed, non-empty, at most 512 bytes of printable
/// ASCII (the W3C character set); anything else is dropped whole, which W3C allows, rather
/// than cut at an arbitrary member.
pub(crate) fn trace_state(value: &str) -> Option<Box<str>> {
    let value = value.trim();
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    (!value.is_empty() && value.len() <= MAX_TRACE_STATE_LEN && printable).then(|| value.into())
}

/// Two lower-case hex digits.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    fn digit(d: u8) -> Option<u8> {
        match d {
            b'0'..=b'9' => Some(d - b'0'),
            b'a'..=b'f' => Some(d - b'a' + 10),
            _ => None,
        }
    }
    Some(digit(pair[0])? << 4 | digit(pair[1])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_displays() {
        let ctx = TraceContext::parse(VALID).unwrap();
        assert_eq!(
            format!("00-{}-{}-01", ctx.trace_id(), ctx.parent_span_id()),
            VALID
        );
        assert_eq!(ctx.flags(), 1);
    }

    #[test]
    fn rejects_invalid_values() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn keeps_a_bounded_printable_trace_state() {
        assert_eq!(
            trace_state(" congo=t61rcWkgMzE,rojo=00f067aa0ba902b7 ").as_deref(),
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        );
        assert_eq!(trace_state("  "), None);
        assert_eq!(trace_state("vendor=caf\u{e9}"), None);
        assert_eq!(trace_state("a=b\tc"), None);
        let longest = format!("a={}", "b".repeat(MAX_TRACE_STATE_LEN - 2));
        assert_eq!(trace_state(&longest).as_deref(), Some(longest.as_str()));
        assert_eq!(trace_state(&format!("{longest}b")), None);
    }

    #[test]
    fn accepts_future_versions_with_more_fields() {
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever";
        let ctx = TraceContext::parse(future).unwrap();
        assert!(!ctx.is_sampled());
    }
}
