//! The ceiling: hyper (HTTP/1.1, `TCP_NODELAY`) and serde_json, no framework. It parses the
//! JSON-RPC request, computes `add` and returns a valid, otherwise fixed result.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpListener;

use crate::proto::{ABOUT_TEXT, ABOUT_URI, MODERN};
use crate::scenario::Variant;

#[derive(Deserialize)]
struct RpcRequest<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: &'a str,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: &'a str,
    arguments: AddArgs,
}

#[derive(Deserialize)]
struct AddArgs {
    a: f64,
    b: f64,
}

const INITIALIZE: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"resources":{}},"serverInfo":{"name":"raw","version":"0.1.0"}}"#;
const TOOLS: &str = r#"{"tools":[{"name":"add","description":"Adds two numbers","inputSchema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}},{"name":"echo","description":"Echoes the message back","inputSchema":{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}}]}"#;

pub(crate) async fn serve(listener: TcpListener, variant: Variant) -> std::io::Result<()> {
    let sse = variant == Variant::Sse;
    super::announce(listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("raw: accept: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(request, sse));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = code;
    response
}

async fn handle(
    request: Request<Incoming>,
    sse: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST {
        return Ok(status(StatusCode::METHOD_NOT_ALLOWED));
    }
    // 2026-07-28 results must name their `resultType`; legacy ones have none.
    let modern = request
        .headers()
        .get("mcp-protocol-version")
        .is_some_and(|v| v.as_bytes() == MODERN.as_bytes());
    let Ok(body) = request.into_body().collect().await else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let body = body.to_bytes();
    let Ok(rpc) = serde_json::from_slice::<RpcRequest<'_>>(&body) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let Some(id) = rpc.id else {
        // A notification.
        return Ok(status(StatusCode::ACCEPTED));
    };
    let mut session = false;
    let computed;
    let result: &str = match rpc.method {
        "initialize" => {
            session = true;
            INITIALIZE
        }
        "tools/list" => TOOLS,
        "resources/read" => {
            computed = format!(
                r#"{{"contents":[{{"uri":"{ABOUT_URI}","mimeType":"text/plain","text":"{ABOUT_TEXT}"}}]}}"#
            );
            &computed
        }
        "tools/call" => {
            let params = rpc
                .params
                .and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok());
            match params {
                Some(params) if params.name == "add" => {
                    let text = (params.arguments.a + params.arguments.b).to_string();
                    computed = format!(
                        r#"{{"content":[{{"type":"text","text":"{text}"}}],"isError":false}}"#
                    );
                    &computed
                }
                _ => return Ok(status(StatusCode::BAD_REQUEST)),
            }
        }
        _ => "{}",
    };
    let json = match result.strip_prefix('{') {
        Some(fields) if modern => {
            let separator = if fields == "}" { "" } else { "," };
            format!(
                r#"{{"jsonrpc":"2.0","id":{},"result":{{"resultType":"complete"{separator}{fields}}}"#,
                id.get()
            )
        }
        _ => format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.get()),
    };
    let (content_type, payload) = if sse {
        (
            "text/event-stream",
            format!("event: message\ndata: {json}\n\n"),
        )
    } else {
        ("application/json", json)
    };
    let mut response = Response::new(Full::new(Bytes::from(payload)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if session {
        response
            .headers_mut()
            .insert("mcp-session-id", HeaderValue::from_static("raw-session"));
    }
    Ok(response)
}
