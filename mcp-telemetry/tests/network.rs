//! The span's `network.*` attributes (OpenTelemetry's MCP conventions recommend them), from
//! what each transport attaches: a real server on 127.0.0.1:0, the stdio transport on an
//! in-memory pipe, and a call made in process, which has none.

mod support;

use mcp_core::jsonrpc::Message;
use mcp_core::{McpRequest, ProtocolVersion, Router};
use mcp_telemetry::TelemetryLayer;
use mcp_tower::StdioTransport;
use serde_json::json;
use support::{SpanRecord, add_tool, run};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::{Layer, ServiceExt};

const FIELDS: [&str; 7] = [
    "network.transport",
    "network.protocol.name",
    "network.protocol.version",
    "network.peer.address",
    "network.peer.port",
    "client.address",
    "client.port",
];

const ADD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;

fn router() -> Router {
    Router::builder().tool(add_tool()).build()
}

fn network_fields(span: &SpanRecord) -> Vec<Option<&str>> {
    FIELDS.iter().map(|field| span.field(field)).collect()
}

#[test]
fn a_call_over_http_names_tcp_http_1_1_and_the_peer() {
    run(|capture, _| async move {
        let router = router();
        let (server, client) =
            support::serve_rpc(TelemetryLayer::for_router(&router).layer(router)).await;
        let headers = [("mcp-protocol-version", "2025-11-25")];
        let reply = client
            .post(&serde_json::from_str(ADD).unwrap(), &headers)
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);

        let span = capture.span("tools/call add");
        let fields = network_fields(&span);
        assert_eq!(
            fields[..4],
            [Some("tcp"), Some("http"), Some("1.1"), Some("127.0.0.1")]
        );
        let port: u16 = fields[4].expect("the peer's port").parse().unwrap();
        assert_ne!(
            port,
            server.addr.port(),
            "the client's end, not the server's"
        );
        // The MCP server span's names for the caller: the same peer.
        assert_eq!(fields[5..], fields[3..5]);
    });
}

#[test]
fn a_call_over_stdio_names_a_pipe_and_no_http() {
    run(|capture, _| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},
            "clientInfo":{"name":"t","version":"1"}}});
        let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        let (mut stdin, input) = tokio::io::duplex(1 << 16);
        let (stdout, output) = tokio::io::duplex(1 << 16);
        let serving = tokio::spawn(StdioTransport::new().serve_io(service, input, stdout));
        // The input stays open until the answer is out: at its end, calls still running are
        // cancelled, and their answers not written.
        stdin
            .write_all(format!("{initialize}\n{initialized}\n{ADD}\n").as_bytes())
            .await
            .unwrap();
        let mut lines = BufReader::new(output).lines();
        let answer = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("an answer to the call");
            if line.contains(r#""id":1,"#) {
                break line;
            }
        };
        assert!(answer.contains(r#""text":"5""#), "{answer}");
        drop(stdin);
        serving.await.unwrap().unwrap();

        let span = capture.span("tools/call add");
        assert_eq!(
            network_fields(&span),
            [Some("pipe"), None, None, None, None, None, None]
        );
    });
}

#[test]
fn a_call_made_in_process_has_no_network_attributes() {
    run(|capture, _| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let request = McpRequest::new(
            Message::parse(ADD.as_bytes()).unwrap(),
            ProtocolVersion::V2025_11_25,
        );
        service.oneshot(request).await.unwrap();
        let span = capture.span("tools/call add");
        assert_eq!(network_fields(&span), [None; 7]);
    });
}
