//! A request's `params`: the raw JSON text, with an outline of the members several layers
//! read, found in one scan and kept with the text.
//!
//! The transport (era and routing-header checks), telemetry, the allow-list and the router
//! each read one or two members of the same `params`: a name, a URI, the version and
//! capabilities in `_meta`. A modern request's `_meta` keys are long, and each scan of them
//! cost about as much as the others together; the [`Outline`] is scanned once, on first use,
//! and every later reader takes its members from it. It belongs to the text: a layer that
//! replaces the params replaces it, so it cannot describe another text.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use once_cell::race::OnceBox;
use serde_json::value::RawValue;

use crate::protocol::meta_keys::{
    CLIENT_CAPABILITIES, LOG_LEVEL, PROGRESS_TOKEN, PROTOCOL_VERSION,
};
use crate::scan::{Flow, Scanner};

/// The raw `params` of a request or notification, with its [`Outline`] computed on first use.
///
/// ```
/// use mcp_core::jsonrpc::{Member, Params};
/// use serde_json::value::RawValue;
///
/// let raw = r#"{"name":"add","arguments":{"a":1},"_meta":{"progressToken":7}}"#;
/// let params = Params::from(RawValue::from_string(raw.into()).unwrap());
/// assert_eq!(params.get(), raw); // a `RawValue` as before
///
/// let outline = params.outline().expect("an object with plain keys");
/// assert_eq!(outline.string(Member::Name).as_deref(), Some("add"));
/// assert_eq!(outline.raw(Member::Arguments), Some(r#"{"a":1}"#));
/// assert_eq!(outline.raw(Member::MetaProgressToken), Some("7"));
/// assert_eq!(outline.raw(Member::Uri), None);
/// ```
pub struct Params {
    raw: Box<RawValue>,
    /// Boxed: most params are never outlined, and one pointer keeps every message small.
    spans: OnceBox<Spans>,
}

impl Params {
    /// Params with the given text; the outline is computed when first asked for.
    pub fn new(raw: Box<RawValue>) -> Self {
        Self {
            raw,
            spans: OnceBox::new(),
        }
    }

    /// The raw value (also reachable through `Deref`).
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The raw value, outline dropped.
    pub fn into_raw(self) -> Box<RawValue> {
        self.raw
    }

    /// The members found in one scan (the first call scans; later ones read what it kept).
    /// `None` when the scan cannot vouch for them: the params are not an object, or a key is
    /// spelled with an escape (`"n\u0061me"` is `name` to a parser); read the params with
    /// serde then.
    pub fn outline(&self) -> Option<Outline<'_>> {
        let spans = self
            .spans
            .get_or_init(|| Box::new(Spans::scan(self.raw.get())));
        self.outline_of(*spans)
    }

    /// For the params' last reader (the router): the outline an earlier reader kept, or else
    /// one scanned now and not kept, which spares the allocation a kept one costs.
    pub fn last_outline(&self) -> Option<Outline<'_>> {
        let spans = match self.spans.get() {
            Some(spans) => *spans,
            None => Spans::scan(self.raw.get()),
        };
        self.outline_of(spans)
    }

    fn outline_of(&self, spans: Spans) -> Option<Outline<'_>> {
        spans.exact.then_some(Outline {
            text: self.raw.get(),
            spans,
        })
    }
}

impl Deref for Params {
    type Target = RawValue;

    fn deref(&self) -> &RawValue {
        &self.raw
    }
}

impl From<Box<RawValue>> for Params {
    fn from(raw: Box<RawValue>) -> Self {
        Self::new(raw)
    }
}

impl Clone for Params {
    /// The text only: a clone scans again if asked (clones are rare and their params short).
    fn clone(&self) -> Self {
        Self::new(self.raw.clone())
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

/// A member of `params` the [`Outline`] records: top-level members, and keys of `_meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Member {
    /// `name` (`tools/call`, `prompts/get`).
    Name,
    /// `uri` (`resources/read`, subscriptions).
    Uri,
    /// `taskId` (`tasks/*`).
    TaskId,
    /// `protocolVersion` (`initialize`).
    ProtocolVersion,
    /// `arguments` (`tools/call`, `prompts/get`).
    Arguments,
    /// `_meta` itself.
    Meta,
    /// `_meta["io.modelcontextprotocol/protocolVersion"]`.
    MetaProtocolVersion,
    /// `_meta["io.modelcontextprotocol/clientCapabilities"]`.
    MetaClientCapabilities,
    /// `_meta.progressToken`.
    MetaProgressToken,
    /// `_meta["io.modelcontextprotocol/logLevel"]`.
    MetaLogLevel,
    /// `_meta.traceparent` (W3C trace context).
    MetaTraceparent,
    /// `_meta.tracestate` (W3C trace context).
    MetaTracestate,
}

/// How many members an outline records.
const MEMBERS: usize = Member::MetaTracestate as usize + 1;
// `Spans` has a bit per member.
const _: () = assert!(MEMBERS <= 16);
/// The bits of the top-level members (`_meta` itself included).
const TOP_LEVEL: u16 = (1 << (Member::Meta as u16 + 1)) - 1;

impl Member {
    /// This member's bit in the outline's sets.
    fn bit(self) -> u16 {
        1 << self as u16
    }

    fn top_level(key: &str) -> Option<Self> {
        Some(match key {
            "name" => Self::Name,
            "uri" => Self::Uri,
            "taskId" => Self::TaskId,
            "protocolVersion" => Self::ProtocolVersion,
            "arguments" => Self::Arguments,
            "_meta" => Self::Meta,
            _ => return None,
        })
    }

    fn in_meta(key: &str) -> Option<Self> {
        Some(match key {
            PROTOCOL_VERSION => Self::MetaProtocolVersion,
            CLIENT_CAPABILITIES => Self::MetaClientCapabilities,
            PROGRESS_TOKEN => Self::MetaProgressToken,
            LOG_LEVEL => Self::MetaLogLevel,
            "traceparent" => Self::MetaTraceparent,
            "tracestate" => Self::MetaTracestate,
            _ => return None,
        })
    }
}

/// The members of one `params` text, as [`Params::outline`] gives them.
#[derive(Clone, Copy)]
pub struct Outline<'a> {
    text: &'a str,
    /// A copy: small, and an outline scanned for one reader is kept nowhere else.
    spans: Spans,
}

impl<'a> Outline<'a> {
    /// The member's value as written (a string keeps its quotes and escapes); `None` when
    /// absent. The keys of `_meta` are read only when `_meta` is an object.
    pub fn raw(&self, member: Member) -> Option<&'a str> {
        if self.spans.present & member.bit() == 0 {
            return None;
        }
        let (start, end) = self.spans.at[member as usize];
        self.text.get(start as usize..end as usize)
    }

    /// The member's value when it is a string, unescaped; `None` when absent or not a string.
    pub fn string(&self, member: Member) -> Option<Cow<'a, str>> {
        if let Some(plain) = self.plain_string(member) {
            return Some(Cow::Borrowed(plain));
        }
        let raw = self.raw(member).filter(|raw| raw.starts_with('"'))?;
        // Rare: let serde_json decode the escapes.
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    }

    /// The member's value when it is a string without escapes (then its text is its value);
    /// `None` when absent, not a string, or escaped.
    pub fn plain_string(&self, member: Member) -> Option<&'a str> {
        if self.spans.plain & member.bit() == 0 {
            return None;
        }
        let (start, end) = self.spans.at[member as usize];
        // Inside the quotes, which the scan saw at both ends.
        self.text.get(start as usize + 1..end as usize - 1)
    }

    /// Whether a recorded member appeared more than once (the last one is recorded). A
    /// serde struct refuses such params: a reader that must answer as serde does reads them
    /// with serde.
    pub fn has_repeats(&self) -> bool {
        self.spans.repeated
    }

    /// Whether every top-level member is one of `members` (absent ones included: `{}` has
    /// only `name`).
    ///
    /// ```
    /// use mcp_core::jsonrpc::{Member, Params};
    /// use serde_json::value::RawValue;
    ///
    /// let params = Params::from(RawValue::from_string(r#"{"name":"a","task":{}}"#.into()).unwrap());
    /// let outline = params.outline().unwrap();
    /// assert!(!outline.has_only(&[Member::Name, Member::Arguments]), "`task` is not listed");
    /// assert!(!outline.has_only(&[Member::Arguments]));
    /// ```
    pub fn has_only(&self, members: &[Member]) -> bool {
        let listed = members.iter().fold(0, |bits, member| bits | member.bit());
        !self.spans.others && self.spans.present & TOP_LEVEL & !listed == 0
    }
}

impl fmt::Debug for Outline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outline")
            .field("text", &self.text)
            .field("repeated", &self.spans.repeated)
            .field("others", &self.spans.others)
            .field("present", &format_args!("{:#b}", self.spans.present))
            .finish_non_exhaustive()
    }
}

/// Where each member's value lies in the text: `(start, end)` byte offsets, meaningful for
/// the members `present` has.
#[derive(Clone, Copy)]
struct Spans {
    at: [(u32, u32); MEMBERS],
    /// One bit per member ([`Member::bit`]): recorded.
    present: u16,
    /// One bit per member: its value is a string without escapes.
    plain: u16,
    /// The whole object was read and no key had an escape.
    exact: bool,
    repeated: bool,
    others: bool,
}

impl Spans {
    fn scan(text: &str) -> Self {
        let mut spans = Spans {
            at: [(0, 0); MEMBERS],
            present: 0,
            plain: 0,
            exact: false,
            repeated: false,
            others: false,
        };
        // Offsets are kept in 32 bits; no body limit lets a longer text through.
        if u32::try_from(text.len()).is_err() {
            return spans;
        }
        let mut scanner = Scanner::new(text);
        spans.exact = scanner
            .object(|s, key| {
                if key.escaped {
                    return None;
                }
                let Some(member) = Member::top_level(key.raw) else {
                    spans.others = true;
                    s.skip_value()?;
                    return Some(Flow::Continue);
                };
                s.peek()?;
                let start = s.offset();
                if member == Member::Meta {
                    // The last `_meta` is the one recorded, its keys with it.
                    spans.present &= TOP_LEVEL;
                    spans.plain &= TOP_LEVEL;
                    if s.peek()? == b'{' {
                        s.object(|s, key| {
                            if key.escaped {
                                return None;
                            }
                            match Member::in_meta(key.raw) {
                                Some(member) => {
                                    let start = s.offset();
                                    let plain = s.skip_value_is_plain_string()?;
                                    spans.record(member, start, s.offset(), plain);
                                }
                                None => s.skip_value()?,
                            }
                            Some(Flow::Continue)
                        })?;
                    } else {
                        s.skip_value()?;
                    }
                    spans.record(member, start, s.offset(), false);
                } else {
                    let plain = s.skip_value_is_plain_string()?;
                    spans.record(member, start, s.offset(), plain);
                }
                Some(Flow::Continue)
            })
            .is_some();
        spans
    }

    fn record(&mut self, member: Member, start: usize, end: usize, plain: bool) {
        let bit = member.bit();
        // A repeated `_meta` cleared its keys' bits: those are not repeats.
        if self.present & bit != 0 {
            self.repeated = true;
        }
        self.present |= bit;
        // Both fit: the text's length does (checked in `scan`).
        self.at[member as usize] = (start as u32, end as u32);
        if plain {
            self.plain |= bit;
        } else {
            self.plain &= !bit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Params {
        Params::from(RawValue::from_string(text.to_owned()).expect("valid JSON"))
    }

    #[test]
    fn records_members_and_meta_keys_with_their_text() {
        let p = params(
            r#" { "name" : "a\"b" , "arguments":{"name":"inner","_meta":{"progressToken":1}},
                 "_meta" : { "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities":{"x":[1,"}"]},"other":[],
                 "progressToken":-3,"traceparent":"00-ab"}, "x": null } "#,
        );
        let outline = p.outline().expect("exact");
        assert_eq!(outline.string(Member::Name).as_deref(), Some("a\"b"));
        assert_eq!(outline.plain_string(Member::Name), None, "escaped");
        assert_eq!(outline.plain_string(Member::MetaTraceparent), Some("00-ab"));
        assert_eq!(outline.plain_string(Member::Arguments), None, "an object");
        assert_eq!(
            outline.raw(Member::Arguments),
            Some(r#"{"name":"inner","_meta":{"progressToken":1}}"#)
        );
        assert_eq!(
            outline.string(Member::MetaProtocolVersion).as_deref(),
            Some("2026-07-28")
        );
        assert_eq!(
            outline.raw(Member::MetaClientCapabilities),
            Some(r#"{"x":[1,"}"]}"#)
        );
        assert_eq!(outline.raw(Member::MetaProgressToken), Some("-3"));
        assert_eq!(
            outline.string(Member::MetaTraceparent).as_deref(),
            Some("00-ab")
        );
        assert_eq!(outline.raw(Member::MetaLogLevel), None);
        assert_eq!(
            outline.string(Member::MetaProgressToken),
            None,
            "not a string"
        );
        assert!(
            !outline.has_only(&[Member::Name, Member::Arguments, Member::Meta]),
            "`x`"
        );
        assert!(!outline.has_repeats());
    }

    #[test]
    fn the_last_of_a_repeated_member_is_recorded_and_flagged() {
        let p = params(r#"{"name":"a","_meta":{"progressToken":1},"name":"b","_meta":null}"#);
        let outline = p.outline().expect("exact");
        assert_eq!(outline.string(Member::Name).as_deref(), Some("b"));
        assert_eq!(outline.plain_string(Member::Name), Some("b"));
        assert_eq!(outline.raw(Member::Meta), Some("null"));
        assert_eq!(outline.raw(Member::MetaProgressToken), None);
        assert!(outline.has_repeats());
        assert!(outline.has_only(&[Member::Name, Member::Meta]));
        assert!(!outline.has_only(&[Member::Name]), "`_meta`");
    }

    #[test]
    fn a_repeat_takes_the_last_value_s_plainness() {
        for (text, plain) in [
            (r#"{"name":"a\"","name":"b"}"#, Some("b")),
            (r#"{"name":"b","name":"a\""}"#, None),
            (r#"{"name":"b","name":1}"#, None),
        ] {
            let p = params(text);
            assert_eq!(
                p.outline().unwrap().plain_string(Member::Name),
                plain,
                "{text}"
            );
        }
    }

    #[test]
    fn escaped_keys_and_non_objects_have_no_outline() {
        for text in [
            r#"{"n\u0061me":"x"}"#,
            r#"{"_meta":{"progressT\u006fken":1}}"#,
            "[1,2]",
            "{}",
        ] {
            let p = params(text);
            assert_eq!(p.outline().is_some(), text == "{}", "{text}");
        }
    }

    #[test]
    fn the_last_reader_scans_without_keeping_unless_an_earlier_reader_kept() {
        let p = params(r#"{"name":"a","_meta":{"progressToken":1}}"#);
        let unkept = p.last_outline().expect("exact");
        assert!(p.spans.get().is_none(), "nothing kept");
        assert_eq!(unkept.raw(Member::MetaProgressToken), Some("1"));
        let kept = p.outline().expect("exact");
        assert!(p.spans.get().is_some());
        let last = p.last_outline().expect("exact");
        for member in [Member::Name, Member::Meta, Member::MetaProgressToken] {
            assert_eq!(last.raw(member), kept.raw(member));
            assert_eq!(unkept.raw(member), kept.raw(member));
        }
    }

    #[test]
    fn a_clone_or_a_replacement_carries_no_stale_outline() {
        let p = params(r#"{"name":"a"}"#);
        assert!(p.outline().is_some());
        let q = p.clone();
        assert_eq!(
            q.outline().and_then(|o| o.string(Member::Name)).as_deref(),
            Some("a")
        );
        let mut message = crate::jsonrpc::Request {
            id: 1.into(),
            method: "tools/call".into(),
            params: Some(p),
        };
        message.params = Some(params(r#"{"uri":"file:///x","name":"longer"}"#));
        let outline = message
            .params
            .as_ref()
            .and_then(Params::outline)
            .expect("exact");
        assert_eq!(outline.string(Member::Name).as_deref(), Some("longer"));
    }
}
