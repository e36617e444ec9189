//! The round-trip checkers: each parses an example value into its Rust type(s), serialises it
//! back and returns what came out, so the caller can compare it with what went in.

use mcp_core::protocol::{InputRequest, InputRequiredResult, ServerNotification};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub(crate) type Outcome = Result<Value, String>;
pub(crate) type Checker = Box<dyn Fn(&Value) -> Outcome>;

/// Deserialises `value` (from its text, as the server would) into `T` and serialises it back.
fn rt<T: DeserializeOwned + Serialize + 'static>(value: &Value) -> Outcome {
    let text = value.to_string();
    let parsed: T = serde_json::from_str(&text)
        .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<T>()))?;
    serde_json::to_value(&parsed).map_err(|e| format!("does not serialise: {e}"))
}

fn object(value: &Value) -> Result<&Map<String, Value>, String> {
    value.as_object().ok_or_else(|| "not an object".to_owned())
}

fn expect_method(value: &Value, method: &str) -> Result<(), String> {
    match value.get("method") {
        Some(Value::String(m)) if m == method => Ok(()),
        other => Err(format!("method is {other:?}, expected {method}")),
    }
}

/// Round-trips a value through its own type.
pub(crate) fn plain<T: DeserializeOwned + Serialize + 'static>() -> Checker {
    Box::new(rt::<T>)
}

/// Round-trips through the struct `T` and through the enum `E` that wraps it; `is_variant`
/// checks the enum picked the right variant.
pub(crate) fn both<T, E>(is_variant: fn(&E) -> bool) -> Checker
where
    T: DeserializeOwned + Serialize + 'static,
    E: DeserializeOwned + Serialize + 'static,
{
    Box::new(move |value| {
        let direct = rt::<T>(value)?;
        let parsed: E = serde_json::from_value(value.clone())
            .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<E>()))?;
        if !is_variant(&parsed) {
            return Err(format!(
                "parsed as the wrong variant of {}",
                std::any::type_name::<E>()
            ));
        }
        let via_enum = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if via_enum != direct {
            return Err(format!("struct and enum disagree: {direct} vs {via_enum}"));
        }
        Ok(direct)
    })
}

/// A block of a `"type"`-tagged enum `E`: parsed through `E`, and through the payload struct
/// `T` (which does not carry `"type"`) wrapped back into `E`.
pub(crate) fn tagged<T, E>(tag: &'static str, wrap: fn(T) -> E) -> Checker
where
    T: DeserializeOwned + Serialize + 'static,
    E: DeserializeOwned + Serialize + 'static,
{
    Box::new(move |value| {
        if value.get("type") != Some(&json!(tag)) {
            return Err(format!("type is not {tag}"));
        }
        let via_enum = rt::<E>(value)?;
        let mut payload = object(value)?.clone();
        payload.remove("type");
        let parsed: T = serde_json::from_value(Value::Object(payload))
            .map_err(|e| format!("does not parse as {}: {e}", std::any::type_name::<T>()))?;
        let wrapped = serde_json::to_value(wrap(parsed)).map_err(|e| e.to_string())?;
        if wrapped != via_enum {
            return Err(format!("struct and enum disagree: {wrapped} vs {via_enum}"));
        }
        Ok(via_enum)
    })
}

/// A request (`*Request`): checks the method and round-trips the params through `P`.
pub(crate) fn request<P: DeserializeOwned + Serialize + 'static>(method: &'static str) -> Checker {
    Box::new(move |value| {
        expect_method(value, method)?;
        let mut out = object(value)?.clone();
        if let Some(params) = value.get("params") {
            out.insert("params".to_owned(), rt::<P>(params)?);
        }
        Ok(Value::Object(out))
    })
}

/// A server→client request that is also an [`InputRequest`] in the modern era: as
/// [`request`], and the message without `jsonrpc`/`id` round-trips through `InputRequest`.
pub(crate) fn input_request<P: DeserializeOwned + Serialize + 'static>(
    method: &'static str,
) -> Checker {
    let plain_request = request::<P>(method);
    Box::new(move |value| {
        let out = plain_request(value)?;
        let mut bare = object(value)?.clone();
        bare.remove("jsonrpc");
        bare.remove("id");
        let bare = Value::Object(bare);
        let parsed: InputRequest = serde_json::from_value(bare.clone())
            .map_err(|e| format!("not an InputRequest: {e}"))?;
        if parsed.method() != method {
            return Err(format!("InputRequest::method() is {}", parsed.method()));
        }
        let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if again != bare {
            return Err(format!("InputRequest round trip changed it: {again}"));
        }
        Ok(out)
    })
}

/// A server notification: params through `P`, the whole message through
/// [`ServerNotification`].
pub(crate) fn notification<P: DeserializeOwned + Serialize + 'static>(
    method: &'static str,
) -> Checker {
    let plain_request = request::<P>(method);
    Box::new(move |value| {
        let out = plain_request(value)?;
        let mut bare = object(value)?.clone();
        bare.remove("jsonrpc");
        let bare = Value::Object(bare);
        let parsed: ServerNotification = serde_json::from_value(bare.clone())
            .map_err(|e| format!("not a ServerNotification: {e}"))?;
        if parsed.method() != method {
            return Err(format!(
                "ServerNotification::method() is {}",
                parsed.method()
            ));
        }
        let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if again != bare {
            return Err(format!("ServerNotification round trip changed it: {again}"));
        }
        Ok(out)
    })
}

/// A JSON-RPC response (`*ResultResponse`): the result through `R`, or through
/// [`InputRequiredResult`] when `resultType` says so.
pub(crate) fn response<R: DeserializeOwned + Serialize + 'static>() -> Checker {
    Box::new(|value| {
        if value.get("jsonrpc") != Some(&json!("2.0")) || value.get("id").is_none() {
            return Err("not a JSON-RPC response".to_owned());
        }
        let result = value.get("result").ok_or("no result")?;
        let result = if result.get("resultType") == Some(&json!("input_required")) {
            rt::<InputRequiredResult>(result)?
        } else {
            rt::<R>(result)?
        };
        let mut out = object(value)?.clone();
        out.insert("result".to_owned(), result);
        Ok(Value::Object(out))
    })
}

/// A JSON-RPC error object with typed `data`.
#[derive(Serialize, Deserialize)]
struct ErrorObject<D> {
    code: i32,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<D>,
}

/// An error: a bare error object, or a whole error response; the error object goes through
/// [`ErrorObject<D>`] and its code must be `code`.
pub(crate) fn error<D: DeserializeOwned + Serialize + 'static>(code: i32) -> Checker {
    Box::new(move |value| {
        let (envelope, error) = match value.get("error") {
            Some(error) => (true, error),
            None => (false, value),
        };
        let parsed: ErrorObject<D> = serde_json::from_value(error.clone()).map_err(|e| {
            format!(
                "not an error object with {}: {e}",
                std::any::type_name::<D>()
            )
        })?;
        if parsed.code != code {
            return Err(format!("code is {}, expected {code}", parsed.code));
        }
        let error = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
        if !envelope {
            return Ok(error);
        }
        let mut out = object(value)?.clone();
        out.insert("error".to_owned(), error);
        Ok(Value::Object(out))
    })
}
