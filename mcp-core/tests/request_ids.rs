//! Request ids in every spelling a client may use: the plain ones (read without serde) and
//! the rest (read by serde) come out the same as JSON says they are.

use mcp_core::jsonrpc::{Message, RequestId};

fn id_of(spelling: &str) -> Option<RequestId> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":{spelling},"method":"ping"}}"#);
    match Message::parse(body.as_bytes()) {
        Ok(Message::Request(request)) => Some(request.id),
        _ => None,
    }
}

fn number(n: i64) -> Option<RequestId> {
    Some(RequestId::Number(n))
}

fn string(s: &str) -> Option<RequestId> {
    Some(RequestId::String(s.into()))
}

#[test]
fn ids_read_as_json_says() {
    let cases = [
        ("0", number(0)),
        ("7", number(7)),
        ("999999999999999999", number(999_999_999_999_999_999)),
        // Past 18 digits, and signed numbers: serde's reading.
        ("9223372036854775807", number(i64::MAX)),
        ("-7", number(-7)),
        ("-9223372036854775808", number(i64::MIN)),
        ("9223372036854775808", None),
        ("1.0", None),
        ("1e3", None),
        (r#""abc""#, string("abc")),
        (r#""""#, string("")),
        (r#""a\"b""#, string("a\"b")),
        (r#""\u0041""#, string("A")),
        ("true", None),
        ("[1]", None),
    ];
    for (spelling, expected) in cases {
        assert_eq!(id_of(spelling), expected, "id {spelling}");
    }
}

#[test]
fn minus_zero_is_read_as_serde_reads_it() {
    // serde_json reads `-0` as a float, which is no request id.
    assert_eq!(id_of("-0"), None);
}
