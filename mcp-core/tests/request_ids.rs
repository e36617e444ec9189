//! Request ids in every spelling a client may use: the plain ones (read on a fast path) and
//! the rest come out the same as JSON says they are, and go back out as that value.

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

fn big(digits: &str) -> Option<RequestId> {
    Some(RequestId::BigNumber(digits.into()))
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
        // Past 18 digits, signed numbers and other spellings: the long way.
        ("9223372036854775807", number(i64::MAX)),
        ("-7", number(-7)),
        ("-9223372036854775808", number(i64::MIN)),
        // JSON Schema's `integer` (MCP's id type) is any number without a fraction.
        ("9223372036854775808", big("9223372036854775808")),
        ("18446744073709551615", big("18446744073709551615")),
        ("-9223372036854775809", big("-9223372036854775809")),
        ("1.0", number(1)),
        ("1e3", number(1000)),
        ("-0", number(0)),
        ("1.5", None),
        ("1e-3", None),
        ("1e40", None),
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
fn integer_ids_are_answered_as_the_value_they_spell() {
    use mcp_core::jsonrpc::{ErrorObject, Response};
    for (spelling, answered) in [
        ("18446744073709551615", "18446744073709551615"),
        ("-9223372036854775809", "-9223372036854775809"),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
        ("7.0", "7"),
        ("2e1", "20"),
    ] {
        let id = id_of(spelling).expect(spelling);
        let response = Response::error(Some(id.clone()), ErrorObject::internal_error("x"));
        let bytes = response.to_vec();
        // The id's text as written (a `Value` would round it past 64 bits).
        let written: std::collections::HashMap<&str, &serde_json::value::RawValue> =
            serde_json::from_slice(&bytes).unwrap();
        assert_eq!(written["id"].get(), answered, "{spelling}");
        assert_eq!(serde_json::to_string(&id).unwrap(), answered);
        assert_eq!(RequestId::from_json(answered), Some(id.clone()));
        assert_eq!(id.to_string(), answered);
    }
}

#[test]
fn a_refused_id_is_answered_invalid_request_without_an_id() {
    let body = br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#;
    let error = Message::parse(body).unwrap_err();
    let written: serde_json::Value = serde_json::from_slice(&error.to_vec()).unwrap();
    assert_eq!(written["id"], serde_json::Value::Null);
    assert_eq!(written["error"]["code"], -32600);
}
