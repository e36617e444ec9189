//! [`RequestId`]: a string or an integer of any spelling, read exactly from the message's
//! text, and the id a `notifications/cancelled` names.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::integer::{self, Integer, StringOrInteger};
use super::plain_string;

/// A request id: a string or an integer, never null.
///
/// An integer id has one form whatever its spelling (`7`, `7.0` and `7e0` are all
/// `Number(7)`), and is answered in that form; JSON-RPC asks for the same value back.
///
/// ```
/// use mcp_core::jsonrpc::{Message, RequestId};
///
/// let id = |spelling: &str| {
///     let body = format!(r#"{{"jsonrpc":"2.0","id":{spelling},"method":"ping"}}"#);
///     let Ok(Message::Request(request)) = Message::parse(body.as_bytes()) else { panic!() };
///     request.id
/// };
/// assert_eq!(id("7.0"), RequestId::Number(7));
/// assert_eq!(id("18446744073709551615"), RequestId::BigNumber("18446744073709551615".into()));
/// assert_eq!(id(r#""a-1""#), RequestId::from("a-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// An integer id that fits an `i64`.
    Number(i64),
    /// A string id.
    String(Arc<str>),
    /// An integer id outside `i64`, of at most 40 digits: its decimal digits, with a leading
    /// `-` when negative and no leading zeros.
    BigNumber(Arc<str>),
}

/// The id as sent, escaped so that it can be written unquoted into a log without forging a
/// field or a line there: control characters, whitespace (spaces, and Unicode line and
/// paragraph separators), quotes and backslashes. Ids are client text.
///
/// ```
/// use mcp_core::jsonrpc::RequestId;
///
/// assert_eq!(RequestId::from(7).to_string(), "7");
/// assert_eq!(RequestId::from("a-1").to_string(), "a-1");
/// assert_eq!(RequestId::from("1\nERROR forged").to_string(), r"1\nERROR\u{20}forged");
/// assert_eq!(
///     RequestId::from(r#"7 user.id="root""#).to_string(),
///     r#"7\u{20}user.id=\"root\""#
/// );
/// assert_eq!(RequestId::from("a\u{2028}b").to_string(), r"a\u{2028}b");
/// ```
impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unsafe_in_logs = |c: char| c.is_control() || c.is_whitespace() || c == '"' || c == '\\';
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::BigNumber(digits) => f.write_str(digits),
            RequestId::String(s) if !s.chars().any(unsafe_in_logs) => f.write_str(s),
            RequestId::String(s) => s.chars().try_for_each(|c| {
                if c.is_control() || c == '"' || c == '\\' {
                    write!(f, "{}", c.escape_default())
                } else if c.is_whitespace() {
                    // `escape_default` would leave a space as it is.
                    write!(f, "{}", c.escape_unicode())
                } else {
                    f.write_char(c)
                }
            }),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(Arc::from(s))
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => serializer.serialize_i64(*n),
            RequestId::String(s) => serializer.serialize_str(s),
            RequestId::BigNumber(digits) => integer::serialize_digits(digits, serializer),
        }
    }
}

/// Integers are exact to 64 bits; past that, serde hands over the nearest `f64`.
/// [`RequestId::from_json`] reads JSON text exactly.
impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(integer::StringOrIntegerVisitor)
            .map(id_of)
    }
}

fn id_of(value: StringOrInteger) -> RequestId {
    match value {
        StringOrInteger::String(s) => RequestId::String(s.into()),
        StringOrInteger::Integer(Integer::Small(n)) => RequestId::Number(n),
        StringOrInteger::Integer(Integer::Big(digits)) => RequestId::BigNumber(digits.into()),
    }
}

impl RequestId {
    /// The id the JSON value `text` spells, exactly: a string, or an integer of at most 40
    /// digits in any spelling. `None` for anything else.
    ///
    /// ```
    /// use mcp_core::jsonrpc::RequestId;
    ///
    /// let big = "123456789012345678901234567890";
    /// assert_eq!(RequestId::from_json(big), Some(RequestId::BigNumber(big.into())));
    /// assert_eq!(RequestId::from_json("1e2"), Some(RequestId::Number(100)));
    /// assert_eq!(RequestId::from_json(r#""a-1""#), Some(RequestId::from("a-1")));
    /// assert_eq!(RequestId::from_json("1.5"), None);
    /// ```
    pub fn from_json(text: &str) -> Option<Self> {
        plain_id(text).or_else(|| id_the_long_way(text))
    }
}

/// [`RequestId::from_json`] for what [`plain_id`] does not read.
#[inline(never)]
pub(super) fn id_the_long_way(text: &str) -> Option<RequestId> {
    integer::string_or_integer(text).map(id_of)
}

/// The request a `notifications/cancelled` names (`params.requestId`), read exactly from the
/// params' text; `None` when it names none.
///
/// ```
/// use mcp_core::jsonrpc::{RequestId, cancelled_request_id};
/// use serde_json::value::RawValue;
///
/// let params = RawValue::from_string(r#"{"requestId":1e20,"reason":"user"}"#.into()).unwrap();
/// let named = cancelled_request_id(&params);
/// assert_eq!(named, Some(RequestId::BigNumber("100000000000000000000".into())));
/// ```
pub fn cancelled_request_id(params: &RawValue) -> Option<RequestId> {
    #[derive(Deserialize)]
    struct Cancelled<'a> {
        #[serde(rename = "requestId", borrow)]
        request_id: Option<&'a RawValue>,
    }
    let cancelled: Cancelled<'_> = serde_json::from_str(params.get()).ok()?;
    RequestId::from_json(cancelled.request_id?.get())
}

/// An id as clients write it: an integer without sign that fits an `i64`, or a string
/// without escapes. `None` for any other spelling, which [`RequestId::from_json`] reads the
/// long way.
#[inline(always)]
pub(super) fn plain_id(raw: &str) -> Option<RequestId> {
    if let Some(text) = plain_string(raw) {
        return Some(RequestId::String(Arc::from(text)));
    }
    // The message parser validated the JSON: text starting with a digit is a number, and
    // `parse` refuses its fractions, exponents and values past `i64`.
    if !raw.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok().map(RequestId::Number)
}
