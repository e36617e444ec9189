//! What the load generator sends and how it checks every answer.

use std::borrow::Cow;
use std::io::Write;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The modern (stateless) protocol version.
pub(crate) const MODERN: &str = "2026-07-28";
/// The legacy version the load generator speaks.
pub(crate) const LEGACY: &str = "2025-11-25";
/// The resource every server serves for `resources/read`.
pub(crate) const ABOUT_URI: &str = "quickstart://about";
/// Its text.
pub(crate) const ABOUT_TEXT: &str = "An mcp-tower quickstart server.";

/// `_meta` of a modern request, with the comma that separates it from what comes before.
const META_SEP: &str = r#","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

/// Which era's request shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// 2026-07-28: `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` headers and `_meta`.
    Modern,
    /// 2025-11-25: the version header only.
    Legacy,
}

/// Which call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `tools/call add {a, b}`.
    Add,
    /// `tools/list`.
    List,
    /// `resources/read quickstart://about`.
    Read,
}

/// One request shape: era and call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) era: Era,
    pub(crate) call: Call,
}

impl Shape {
    /// The JSON-RPC body of request `id`; `a` and `b` are the addends of `add`.
    pub(crate) fn body(&self, id: u64, a: u64, b: u64, out: &mut Vec<u8>) {
        out.clear();
        let meta_sep = match self.era {
            Era::Modern => META_SEP,
            Era::Legacy => "",
        };
        // Writing into a Vec cannot fail.
        let _ = match self.call {
            Call::Add => write!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":{a},"b":{b}}}{meta_sep}}}}}"#
            ),
            Call::List => write!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{{}}}}}"#,
                meta_sep.trim_start_matches(',')
            ),
            Call::Read => write!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"resources/read","params":{{"uri":"{ABOUT_URI}"{meta_sep}}}}}"#
            ),
        };
    }

    /// The headers of every request of this shape (Host and session added by the caller).
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = base_headers();
        match self.era {
            Era::Legacy => {
                headers.insert("mcp-protocol-version", HeaderValue::from_static(LEGACY));
            }
            Era::Modern => {
                headers.insert("mcp-protocol-version", HeaderValue::from_static(MODERN));
                let (method, name) = match self.call {
                    Call::Add => ("tools/call", Some("add")),
                    Call::List => ("tools/list", None),
                    Call::Read => ("resources/read", Some(ABOUT_URI)),
                };
                headers.insert("mcp-method", HeaderValue::from_static(method));
                if let Some(name) = name {
                    headers.insert("mcp-name", HeaderValue::from_static(name));
                }
            }
        }
        headers
    }

    /// Checks one answer: status 200, a JSON or SSE body whose response has our id and the
    /// right result.
    pub(crate) fn check(
        &self,
        id: u64,
        a: u64,
        b: u64,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        if status != StatusCode::OK {
            return Err(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
        let reply = find_reply(headers, body)?;
        if reply.jsonrpc != Some("2.0") {
            return Err(format!(
                "jsonrpc member {:?} (expected \"2.0\")",
                reply.jsonrpc
            ));
        }
        if reply.id != Some(id) {
            return Err(format!("wrong id {:?} (expected {id})", reply.id));
        }
        if let Some(error) = reply.error {
            return Err(format!("JSON-RPC error {}", error.get()));
        }
        let result = reply.result.ok_or("no result")?;
        match self.call {
            Call::Add => {
                let result: CallResult<'_> =
                    serde_json::from_str(result.get()).map_err(|e| format!("result: {e}"))?;
                self.check_result_type(result.result_type)?;
                let expected = add_text(a, b);
                match result.content.first() {
                    Some(content) if content.text == expected && !result.is_error => Ok(()),
                    _ => Err(format!(
                        "wrong add result {} (expected {expected})",
                        result_text(result.content.first())
                    )),
                }
            }
            Call::List => {
                let result: ListResult<'_> =
                    serde_json::from_str(result.get()).map_err(|e| format!("result: {e}"))?;
                self.check_result_type(result.result_type)?;
                let has = |name: &str| result.tools.iter().any(|t| t.name == name);
                if has("add") && has("echo") {
                    Ok(())
                } else {
                    Err("tools/list lacks add or echo".to_owned())
                }
            }
            Call::Read => {
                let result: ReadResult<'_> =
                    serde_json::from_str(result.get()).map_err(|e| format!("result: {e}"))?;
                self.check_result_type(result.result_type)?;
                match result.contents.first() {
                    Some(content) if content.text == ABOUT_TEXT => Ok(()),
                    _ => Err("wrong resources/read result".to_owned()),
                }
            }
        }
    }
}

impl Shape {
    /// A 2026-07-28 result must say which kind it is (`resultType` is required there).
    fn check_result_type(&self, result_type: Option<&str>) -> Result<(), String> {
        match (self.era, result_type) {
            (Era::Legacy, _) | (Era::Modern, Some("complete")) => Ok(()),
            (Era::Modern, other) => Err(format!("resultType {other:?} in a {MODERN} answer")),
        }
    }
}

fn result_text(content: Option<&Text<'_>>) -> String {
    content.map(|c| c.text.to_string()).unwrap_or_default()
}

/// What every server answers to `add {a, b}`: the f64 sum as Rust prints it.
pub(crate) fn add_text(a: u64, b: u64) -> String {
    (a as f64 + b as f64).to_string()
}

/// Content negotiation and media type of every POST.
pub(crate) fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    headers
}

/// The body of `initialize` (legacy).
pub(crate) fn initialize_body() -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LEGACY}","capabilities":{{}},"clientInfo":{{"name":"load","version":"0.1.0"}}}}}}"#
    )
    .into_bytes()
}

/// The body of `notifications/initialized`.
pub(crate) const INITIALIZED: &[u8] = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The body of `resources/subscribe` for the about resource.
pub(crate) fn subscribe_body(id: u64) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"resources/subscribe","params":{{"uri":"{ABOUT_URI}"}}}}"#
    )
    .into_bytes()
}

/// A JSON-RPC response, borrowed from the body.
#[derive(Deserialize)]
pub(crate) struct Reply<'a> {
    /// `"2.0"` in every JSON-RPC 2.0 message (checked: a server that leaves it out fails
    /// strict clients).
    #[serde(borrow, default)]
    pub(crate) jsonrpc: Option<&'a str>,
    #[serde(default)]
    pub(crate) id: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(rename = "resultType", borrow, default)]
    result_type: Option<&'a str>,
    #[serde(borrow)]
    content: Vec<Text<'a>>,
    #[serde(rename = "isError", default)]
    is_error: bool,
}

#[derive(Deserialize)]
struct Text<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ListResult<'a> {
    #[serde(rename = "resultType", borrow, default)]
    result_type: Option<&'a str>,
    #[serde(borrow)]
    tools: Vec<Named<'a>>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ReadResult<'a> {
    #[serde(rename = "resultType", borrow, default)]
    result_type: Option<&'a str>,
    #[serde(borrow)]
    contents: Vec<Text<'a>>,
}

/// The media type a scenario's answers must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/json`: a server that falls back to SSE is noticed.
    Json,
    /// `text/event-stream`.
    Sse,
    /// Either (rmcp answers SSE in session mode, whatever it is asked).
    Either,
}

impl Media {
    /// Checks the answer's `Content-Type`.
    pub(crate) fn check(self, headers: &HeaderMap) -> Result<(), String> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        match self {
            Media::Json if !is_json => Err("not answered as application/json".to_owned()),
            Media::Sse if !is_sse(headers) => Err("not answered as text/event-stream".to_owned()),
            _ => Ok(()),
        }
    }
}

/// Whether the answer is an SSE stream.
pub(crate) fn is_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The JSON-RPC response in a JSON body, or the first one among the events of an SSE body.
pub(crate) fn find_reply<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Reply<'a>, String> {
    if !is_sse(headers) {
        return serde_json::from_slice(body).map_err(|e| {
            format!(
                "bad JSON ({e}): {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| "SSE body is not UTF-8")?;
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data.is_empty() {
            continue;
        }
        if let Ok(reply) = serde_json::from_str::<Reply<'a>>(data)
            && (reply.result.is_some() || reply.error.is_some())
        {
            return Ok(reply);
        }
    }
    Err(format!(
        "no response in SSE body: {}",
        &text[..text.len().min(200)]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json() {
        for era in [Era::Modern, Era::Legacy] {
            for call in [Call::Add, Call::List, Call::Read] {
                let mut out = Vec::new();
                Shape { era, call }.body(7, 1, 2, &mut out);
                let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(value["id"], 7);
                if era == Era::Modern {
                    assert_eq!(
                        value["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
                        MODERN
                    );
                }
            }
        }
    }

    #[test]
    fn checks_json_and_sse() {
        let shape = Shape {
            era: Era::Legacy,
            call: Call::Add,
        };
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = br#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"5"}],"isError":false}}"#;
        assert!(shape.check(3, 2, 3, StatusCode::OK, &json, body).is_ok());
        assert!(shape.check(3, 2, 4, StatusCode::OK, &json, body).is_err());
        assert!(shape.check(4, 2, 3, StatusCode::OK, &json, body).is_err());
        let unversioned = br#"{"id":3,"result":{"content":[{"type":"text","text":"5"}]}}"#;
        assert!(
            shape
                .check(3, 2, 3, StatusCode::OK, &json, unversioned)
                .is_err()
        );
        let mut sse = HeaderMap::new();
        sse.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        let body = b"id: 0\nretry: 1000\ndata: \n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"5\"}]}}\n\n";
        assert!(shape.check(3, 2, 3, StatusCode::OK, &sse, body).is_ok());
        // A 2026-07-28 answer must name its result type.
        let modern = Shape {
            era: Era::Modern,
            call: Call::Add,
        };
        let body = br#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"5"}]}}"#;
        assert!(modern.check(3, 2, 3, StatusCode::OK, &json, body).is_err());
        let body = br#"{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete","content":[{"type":"text","text":"5"}]}}"#;
        assert!(modern.check(3, 2, 3, StatusCode::OK, &json, body).is_ok());
    }
}
