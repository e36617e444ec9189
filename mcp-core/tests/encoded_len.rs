//! `encoded_len` must be the exact length `write_json` writes, or `None`: the HTTP transport
//! sizes the response body's buffer with it.

use mcp_core::McpResponse;
use mcp_core::jsonrpc::{ErrorObject, RequestId, Response};
use serde_json::value::RawValue;

fn result(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).expect("valid JSON")
}

fn written(response: &McpResponse) -> usize {
    let mut out = Vec::new();
    response.write_json(&mut out);
    out.len()
}

#[test]
fn results_with_number_ids_or_none_are_measured_exactly() {
    let ids = [0, 7, -1, 10, 99, 100, -12_345, i64::MAX, i64::MIN];
    let results = [
        "{}",
        r#"{"content":[{"type":"text","text":"é \" \\u00e9"}]}"#,
        "[1,2]",
    ];
    let big = ["9223372036854775808", "-123456789012345678901234567890"]
        .map(|digits| Some(RequestId::BigNumber(digits.into())));
    for id in ids
        .map(|n| Some(RequestId::Number(n)))
        .into_iter()
        .chain(big)
        .chain([None])
    {
        for json in results {
            let response = McpResponse::Single(Response {
                id: id.clone(),
                body: Ok(result(json).into()),
            });
            assert_eq!(
                response.encoded_len(),
                Some(written(&response)),
                "{id:?} {json}"
            );
        }
    }
}

#[test]
fn batches_add_brackets_and_commas() {
    for n in 0..4 {
        let batch = McpResponse::Batch(
            (0..n)
                .map(|i| Response::result(RequestId::Number(i * 10), result("{}")))
                .collect(),
        );
        assert_eq!(batch.encoded_len(), Some(written(&batch)), "{n} responses");
    }
    assert_eq!(McpResponse::None.encoded_len(), Some(0));
}

#[test]
fn string_ids_and_errors_are_not_measured() {
    let string_id = Response::result(RequestId::String("a\"b".into()), result("{}"));
    assert_eq!(string_id.encoded_len(), None);
    let error = Response::error(
        Some(RequestId::Number(1)),
        ErrorObject::internal_error("boom"),
    );
    assert_eq!(error.encoded_len(), None);
    let mixed = McpResponse::Batch(vec![
        Response::result(RequestId::Number(1), result("{}")),
        error,
    ]);
    assert_eq!(mixed.encoded_len(), None);
}
