//! What the layer learns about one call before it runs ([`CallInfo`]) and how its answer is
//! classified.

use std::fmt;

use mcp_core::jsonrpc::{ErrorObject, Member, Message, RequestId, prefix_within};
use mcp_core::{ClientPeer, McpRequest, McpResponse, Principal, ProtocolVersion, SessionHandle};
use serde::Deserialize;

use crate::keys::{self, TargetKeys};
use crate::known::TargetKind;
use crate::layer::Config;
use crate::names::FOLDED;
use crate::outcome::Outcome;
use crate::peek::{Peeked, peek};
use crate::recorder::Scope;
use crate::trace_context::TraceContext;

/// One JSON-RPC request or notification as the telemetry layer saw it, handed to every hook.
///
/// Building it allocates nothing for known methods and registered targets: names are shared
/// with the layer's tables and ids, sessions and principals are reference-counted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use mcp_core::{McpRequest, Principal, ProtocolVersion, Router};
/// use mcp_core::jsonrpc::Message;
/// use mcp_telemetry::{CallInfo, TargetKind, TelemetryLayer};
/// use tower::{Layer, ServiceExt};
///
/// let checked = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&checked);
/// let layer = TelemetryLayer::new().on_request(move |call: &CallInfo, _span: &tracing::Span| {
///     assert_eq!(call.method(), "tools/call");
///     assert_eq!(call.target(), Some("search"));
///     assert_eq!(call.target_kind(), Some(TargetKind::Tool));
///     assert_eq!(call.target_label(), Some("_other")); // `TelemetryLayer::new()` knows no tools
///     assert_eq!(call.request_id().unwrap().to_string(), "1");
///     assert_eq!(call.subject(), Some("alice"));
///     assert_eq!(call.session_id(), None); // no `SessionLayer` here
///     assert_eq!(call.trace_context().unwrap().parent_span_id().to_string(), "00f067aa0ba902b7");
///     counter.fetch_add(1, Ordering::Relaxed);
/// });
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search",
///     "_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}"#;
/// let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// request.extensions.insert(Principal::new("alice"));
/// let _ = layer.layer(Router::builder().build()).oneshot(request).await;
/// assert_eq!(checked.load(Ordering::Relaxed), 1); // the hook ran, and every check passed
/// # }
/// ```
#[derive(Clone)]
pub struct CallInfo {
    pub(crate) method_index: usize,
    pub(crate) keys: &'static TargetKeys,
    /// Where the call's metrics go (set when the call starts).
    pub(crate) scope: Scope,
    /// A name the tables do not hold, kept for spans and hooks but not for labels: the method
    /// when it is unknown (such methods have no target), else an unregistered target or a
    /// resource URI that is not a label.
    raw: Option<Box<str>>,
    target_kind: Option<TargetKind>,
    request_id: Option<RequestId>,
    session: Option<SessionHandle>,
    principal: Option<Principal>,
    /// Tells whether the request was cancelled (the client asked, or left its stream).
    peer: Option<ClientPeer>,
    version: ProtocolVersion,
    /// Boxed: it is rare (sent by the client and wanted by a span or a hook), and calls
    /// without it should not move its bytes around.
    trace: Option<Box<CallerTrace>>,
}

/// The caller's `traceparent` and `tracestate`.
#[derive(Debug, Clone)]
struct CallerTrace {
    context: TraceContext,
    state: Option<Box<str>>,
}

impl fmt::Debug for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallInfo")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("request_id", &self.request_id)
            .field("session_id", &self.session_id())
            .field("version", &self.version)
            .field("trace", &self.trace)
            .finish_non_exhaustive()
    }
}

impl CallInfo {
    /// The JSON-RPC method, as sent.
    pub fn method(&self) -> &str {
        match &self.raw {
            Some(method) if self.method_index == keys::OTHER_METHOD => method,
            _ => keys::method(self.method_index).label,
        }
    }

    /// The `method` label value: the method, or `_other` for methods MCP does not define.
    pub fn method_label(&self) -> &'static str {
        keys::method(self.method_index).label
    }

    /// The tool name, prompt name or resource URI the call is about, as sent.
    pub fn target(&self) -> Option<&str> {
        self.target_kind?;
        self.keys.name.as_deref().or(self.raw.as_deref())
    }

    /// What [`target`](Self::target) names.
    pub fn target_kind(&self) -> Option<TargetKind> {
        self.target_kind
    }

    /// The `target` label value: the name when the server knows it, `_other` when it does
    /// not, `None` when the call has no target or its metrics no `target` label (resource
    /// URIs, unless [`resource_uri_in_metrics`](crate::TelemetryLayer::resource_uri_in_metrics)).
    pub fn target_label(&self) -> Option<&str> {
        self.target_kind?;
        if std::ptr::eq(self.keys, &keys::method(self.method_index).untargeted) {
            return None;
        }
        Some(self.keys.name.as_deref().unwrap_or(FOLDED))
    }

    /// The request id; `None` for a notification.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// Whether the message is a notification (no response expected).
    pub fn is_notification(&self) -> bool {
        self.request_id.is_none()
    }

    /// The `Mcp-Session-Id` of the call's session (legacy era, after `initialize`).
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref().map(mcp_core::Session::id)
    }

    /// The protocol version the call is handled under.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// The authenticated caller, when the HTTP tier authenticated one.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The authenticated caller's subject.
    pub fn subject(&self) -> Option<&str> {
        self.principal.as_ref().map(Principal::subject)
    }

    /// Whether the request was cancelled by itself (the client cancelled it, or left its
    /// answer), not with its whole connection (the end of stdio's input, a shutdown).
    pub(crate) fn was_cancelled_alone(&self) -> bool {
        self.peer
            .as_ref()
            .is_some_and(ClientPeer::is_cancelled_alone)
    }

    /// The caller's trace, from `params._meta.traceparent`. Read only for those who use it:
    /// `None` when no span can be enabled and no hook says it
    /// [reads it](crate::OnRequest::reads_trace_context).
    pub fn trace_context(&self) -> Option<&TraceContext> {
        self.trace.as_deref().map(|trace| &trace.context)
    }

    /// The caller's vendor trace data, `params._meta.tracestate`, when it came with a valid
    /// [`trace_context`](Self::trace_context): trimmed, and only when it is at most 512 bytes
    /// of printable ASCII (W3C's character set); otherwise dropped whole, as W3C allows.
    pub fn trace_state(&self) -> Option<&str> {
        self.trace.as_deref()?.state.as_deref()
    }
}

/// Reads what telemetry needs from a request; `None` for messages that are not calls
/// (client responses, whole batches), which pass through untouched. The second value holds
/// what the span borrows from the request. The trace context is read only when `want_trace`.
#[inline(always)]
pub(crate) fn start<'a>(
    request: &'a McpRequest,
    config: &Config,
    want_trace: bool,
) -> Option<(CallInfo, Peeked<'a>)> {
    let (request_id, method, params) = match &request.message {
        Message::Request(r) => (Some(&r.id), r.method.as_str(), r.params.as_ref()),
        Message::Notification(n) => (None, n.method.as_str(), n.params.as_ref()),
        Message::Response(_) | Message::Batch(_) => return None,
    };
    let method_index = keys::method_index(method);
    let entry = keys::method(method_index);
    let target_member = entry.target.map(|kind| match kind {
        TargetKind::Tool | TargetKind::Prompt => Member::Name,
        TargetKind::Resource => Member::Uri,
    });
    let peeked = params.map_or_else(Peeked::default, |params| {
        peek(params, target_member, want_trace)
    });
    let trace = peeked
        .traceparent
        .as_deref()
        .and_then(TraceContext::parse)
        .map(|context| {
            // W3C: a `tracestate` without a valid `traceparent` is ignored.
            let state = peeked
                .tracestate
                .as_deref()
                .and_then(crate::trace_context::trace_state);
            Box::new(CallerTrace { context, state })
        });
    let target = peeked.target.as_deref();
    let (keys, raw) = match (entry.target, target) {
        // Resource URIs are labels only when asked for: the call's metrics have no target.
        (Some(TargetKind::Resource), Some(uri)) if !config.uri_in_metrics => {
            (&entry.untargeted, Some(uri.into()))
        }
        (Some(kind), Some(name)) => {
            match keys::known_target(method_index, kind, name, &*config.known) {
                Some(keys) => (keys, None),
                None => (&entry.folded, Some(name.into())),
            }
        }
        _ => (
            &entry.untargeted,
            (method_index == keys::OTHER_METHOD).then(|| method.into()),
        ),
    };
    let info = CallInfo {
        method_index,
        keys,
        scope: Scope::Current,
        raw,
        target_kind: entry.target.filter(|_| target.is_some()),
        request_id: request_id.cloned(),
        session: request.extensions.get::<SessionHandle>().cloned(),
        principal: request.extensions.get::<Principal>().cloned(),
        peer: request.extensions.get::<ClientPeer>().cloned(),
        version: request.version,
        trace,
    };
    Some((info, peeked))
}

/// A request id's text as sent: the string, or the number's digits.
pub(crate) fn id_text(id: &RequestId) -> std::borrow::Cow<'_, str> {
    match id {
        RequestId::String(text) | RequestId::BigNumber(text) => std::borrow::Cow::Borrowed(text),
        RequestId::Number(number) => std::borrow::Cow::Owned(number.to_string()),
    }
}

/// A request id as an event field: its text (control characters escaped, as
/// `RequestId` writes it), cut to [`MAX_ATTRIBUTE_BYTES`]; ids are client text of any length.
pub(crate) struct CappedId<'a>(pub(crate) &'a RequestId);

impl fmt::Display for CappedId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Passes text on until `left` bytes were written, then drops the rest.
        struct Limited<'a, 'b> {
            out: &'a mut fmt::Formatter<'b>,
            left: usize,
        }
        impl fmt::Write for Limited<'_, '_> {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                let kept = prefix_within(text, self.left);
                self.left -= kept.len();
                self.out.write_str(kept)
            }
        }
        fmt::write(
            &mut Limited {
                out: f,
                left: MAX_ATTRIBUTE_BYTES,
            },
            format_args!("{}", self.0),
        )
    }
}

/// The span's view of a call: the names it carries as attributes.
pub(crate) struct SpanTargets<'a> {
    info: &'a CallInfo,
    peeked: &'a Peeked<'a>,
    uri_in_span_name: bool,
}

impl<'a> SpanTargets<'a> {
    pub(crate) fn new(info: &'a CallInfo, peeked: &'a Peeked<'a>, uri_in_span_name: bool) -> Self {
        Self {
            info,
            peeked,
            uri_in_span_name,
        }
    }

    /// The target as sent (spans keep names that metrics fold).
    fn target_of(&self, wanted: TargetKind) -> Option<&str> {
        self.peeked
            .target
            .as_deref()
            .filter(|_| self.info.target_kind == Some(wanted))
    }

    /// The tool name (`gen_ai.tool.name`).
    pub(crate) fn tool(&self) -> Option<&str> {
        self.target_of(TargetKind::Tool)
    }

    /// The prompt name (`gen_ai.prompt.name`).
    pub(crate) fn prompt(&self) -> Option<&str> {
        self.target_of(TargetKind::Prompt)
    }

    /// The resource URI (`mcp.resource.uri`).
    pub(crate) fn uri(&self) -> Option<&str> {
        self.target_of(TargetKind::Resource)
    }

    /// The span name: `{method} {target}`, the target a tool or prompt name, or a URI when
    /// configured (URIs are unbounded, so not by default). A name the server does not know
    /// is left out, as the conventions ask when there is no low-cardinality target: a span
    /// name must stay low in cardinality, and is written unquoted into logs, where client
    /// text could forge lines. The attributes keep the names as sent.
    pub(crate) fn span_name(&self) -> SpanName<'_> {
        let target = match self.info.target_kind {
            Some(TargetKind::Resource) if self.uri_in_span_name => self.uri().map(Target::Uri),
            Some(TargetKind::Resource) => None,
            _ => self.info.keys.name.as_deref().map(Target::Label),
        };
        SpanName {
            method: self.info.method_label(),
            target,
        }
    }
}

/// `{method} {target}`, written straight into the span without a temporary string.
pub(crate) struct SpanName<'a> {
    pub(crate) method: &'a str,
    pub(crate) target: Option<Target<'a>>,
}

/// The target part of a span name.
pub(crate) enum Target<'a> {
    /// A name the server knows.
    Label(&'a str),
    /// A resource URI as sent: cut short, control characters escaped.
    Uri(&'a str),
}

/// The most of a URI a span name carries.
const MAX_SPAN_URI_CHARS: usize = 200;

/// The most bytes of client text (a method, name or URI) a span attribute or an event field
/// carries: a megabyte-long tool name must not become a megabyte-long attribute in every
/// exporter. Tool names are at most 128 characters by the spec; URIs may be longer.
const MAX_ATTRIBUTE_BYTES: usize = 1024;

/// `text`, cut to [`MAX_ATTRIBUTE_BYTES`] at a character boundary. Still a `&str`, so that
/// subscribers quote and escape it as they do any string field.
pub(crate) fn capped(text: &str) -> &str {
    prefix_within(text, MAX_ATTRIBUTE_BYTES)
}

impl fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method)?;
        match self.target {
            None => Ok(()),
            Some(Target::Label(name)) => write!(f, " {name}"),
            Some(Target::Uri(uri)) => {
                f.write_str(" ")?;
                for c in uri.chars().take(MAX_SPAN_URI_CHARS) {
                    if c.is_control() {
                        write!(f, "{}", c.escape_default())?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                if uri.chars().nth(MAX_SPAN_URI_CHARS).is_some() {
                    f.write_str("…")?;
                }
                Ok(())
            }
        }
    }
}

/// Classifies an answer; a tool's `isError` result is a tool error, not a protocol error,
/// whether `tools/call` returned it or, for a task, `tasks/result`.
#[inline(always)]
pub(crate) fn classify(
    method_index: usize,
    response: &McpResponse,
) -> (Outcome, Option<&ErrorObject>) {
    let McpResponse::Single(response) = response else {
        return (Outcome::Ok, None);
    };
    match &response.body {
        Err(error) => (Outcome::ProtocolError(error.code), Some(error)),
        Ok(result)
            if (method_index == keys::TOOLS_CALL || method_index == keys::TASKS_RESULT)
                && is_tool_error(result.get()) =>
        {
            (Outcome::ToolError, None)
        }
        Ok(_) => (Outcome::Ok, None),
    }
}

/// Built once (see `peek`).
static IS_ERROR_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("\"isError\""));

/// Whether a `tools/call` result has `"isError": true` at its top level.
///
/// Most results have no `isError` key: a byte search spares them the rest, and is inlined
/// (for a short result the call would cost as much as the search).
#[inline(always)]
fn is_tool_error(result: &str) -> bool {
    // A byte search costs a fraction of the substring search's set-up.
    memchr::memchr(b'E', result.as_bytes()).is_some() && has_is_error_true(result)
}

/// The rest of [`is_tool_error`]: a substring search, then a parse of the top level.
#[inline(never)]
fn has_is_error_true(result: &str) -> bool {
    #[derive(Deserialize)]
    struct ToolResult {
        #[serde(rename = "isError", default)]
        is_error: Option<bool>,
    }
    IS_ERROR_KEY.find(result.as_bytes()).is_some()
        && serde_json::from_str::<ToolResult>(result).is_ok_and(|r| r.is_error == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_errors_are_found_at_the_top_level_only() {
        assert!(is_tool_error(r#"{"content":[],"isError":true}"#));
        assert!(!is_tool_error(r#"{"content":[],"isError":false}"#));
        assert!(!is_tool_error(
            r#"{"content":[{"type":"text","text":"\"isError\":true"}]}"#
        ));
        assert!(!is_tool_error(
            r#"{"content":[],"structuredContent":{"isError":true}}"#
        ));
    }

    #[test]
    fn attributes_are_capped_at_a_character_boundary() {
        assert_eq!(capped("add"), "add");
        let long = "é".repeat(1000);
        let cut = capped(&long);
        assert!(cut.len() <= MAX_ATTRIBUTE_BYTES && cut.len() >= MAX_ATTRIBUTE_BYTES - 1);
        assert!(long.starts_with(cut));
    }

    #[test]
    fn ids_are_capped_and_escaped() {
        let long = RequestId::String("i".repeat(5000).into());
        assert_eq!(CappedId(&long).to_string().len(), MAX_ATTRIBUTE_BYTES);
        let forged = RequestId::String("a\nb".into());
        assert_eq!(CappedId(&forged).to_string(), "a\\nb");
        assert_eq!(CappedId(&RequestId::Number(7)).to_string(), "7");
    }

    #[test]
    fn span_name() {
        let name = SpanName {
            method: "tools/call",
            target: Some(Target::Label("add")),
        };
        assert_eq!(name.to_string(), "tools/call add");
        let forged = "file:///a\n2026-01-01T00:00:00Z  INFO FORGED\u{1b}[2J";
        let name = SpanName {
            method: "resources/read",
            target: Some(Target::Uri(forged)),
        };
        assert_eq!(
            name.to_string(),
            "resources/read file:///a\\n2026-01-01T00:00:00Z  INFO FORGED\\u{1b}[2J"
        );
        let long = "x".repeat(1 << 20);
        let name = SpanName {
            method: "resources/read",
            target: Some(Target::Uri(&long)),
        };
        assert_eq!(
            name.to_string().chars().count(),
            "resources/read ".len() + 200 + 1
        );
        let name = SpanName {
            method: "ping",
            target: None,
        };
        assert_eq!(name.to_string(), "ping");
    }
}
