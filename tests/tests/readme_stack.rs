//! The README's "written out" default stack answers as `McpServer::builder(router)` does: the
//! same requests go to both, each around its own router. `written_out` is the README's block;
//! change the two together.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_core::{Json, RequestContext, Router, Tool};
use mcp_e2e::{TestClient, TestServer, read_until};
use mcp_tower::{
    AllowListLayer, BatchLayer, EndpointLayer, HostOriginLayer, McpServer, SessionConfig,
    SessionLayer, StreamableHttpConfig, StreamableHttpLayer,
};
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

/// The README's block, as is.
fn written_out(router: Router) -> mcp_tower::McpHttpService<hyper::body::Incoming> {
    let rpc = ServiceBuilder::new()
        .layer(BatchLayer::default())
        .layer(AllowListLayer::new())
        .service(router.clone());
    let http = ServiceBuilder::new()
        .layer(EndpointLayer::new("/mcp"))
        .layer(HostOriginLayer::new())
        .layer(SessionLayer::new(SessionConfig::default()).deliver_events_from(&router))
        .layer(StreamableHttpLayer::new(
            StreamableHttpConfig::default().events_from(&router),
        ))
        .service(rpc);
    BoxCloneSyncService::new(http)
}

fn router() -> Router {
    Router::builder()
        .tool(
            Tool::new("echo")
                .handler(|_: Json<serde_json::Value>, _: RequestContext| async { "hi" }),
        )
        .build()
}

/// A tool added at run time: the router announces that its tool list changed.
fn change_tools(router: &Router) {
    router.add_tool(
        Tool::new("late").handler(|_: Json<serde_json::Value>, _: RequestContext| async { "late" }),
    );
}

/// Whether `notifications/tools/list_changed` comes on `body` within two seconds.
async fn sees_list_change(mut body: hyper::body::Incoming) -> bool {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while !seen.contains("notifications/tools/list_changed") {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen.push_str(&String::from_utf8_lossy(data));
                }
            }
            _ => return false,
        }
    }
    true
}

/// What a stack did with the requests every stack gets.
#[derive(Debug, PartialEq)]
struct Observed {
    other_path_status: u16,
    listen_status: u16,
    listen_saw_list_change: bool,
    get_stream_saw_list_change: bool,
}

async fn observe(
    make: impl FnOnce(Router) -> mcp_tower::McpHttpService<hyper::body::Incoming>,
) -> Observed {
    let router = router();
    let server = TestServer::start(make(router.clone())).await;
    let client = TestClient::new(&server);

    let other = Request::post(format!("http://{}/elsewhere", server.addr))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        )))
        .unwrap();
    let other_path_status = Client::builder(TokioExecutor::new())
        .build_http()
        .request(other)
        .await
        .unwrap()
        .status()
        .as_u16();

    // A 2026-07-28 listen stream and a legacy session's GET stream, both open before the change.
    let listen = json!({"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}},
        "notifications": {"toolsListChanged": true}}});
    let mut listen = client
        .send_streaming(
            Method::POST,
            serde_json::to_vec(&listen).unwrap(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "subscriptions/listen"),
            ],
        )
        .await;
    let listen_status = listen.status().as_u16();
    let session = client.initialize("2025-11-25").await;
    let mut get = client
        .send_streaming(
            Method::GET,
            Bytes::new(),
            &[
                ("accept", "text/event-stream"),
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-11-25"),
            ],
        )
        .await;
    assert_eq!(get.status(), 200);
    if listen_status == 200 {
        read_until(
            listen.body_mut(),
            "notifications/subscriptions/acknowledged",
        )
        .await;
    }
    // The GET stream's priming event: the stream is registered with the session.
    read_until(get.body_mut(), "data:").await;

    change_tools(&router);
    Observed {
        other_path_status,
        listen_status,
        listen_saw_list_change: listen_status == 200 && sees_list_change(listen.into_body()).await,
        get_stream_saw_list_change: sees_list_change(get.into_body()).await,
    }
}

#[tokio::test]
async fn the_readme_stack_answers_as_the_default_does() {
    let default = observe(|router| McpServer::builder(router).into_http_service()).await;
    assert_eq!(
        default,
        Observed {
            other_path_status: 404,
            listen_status: 200,
            listen_saw_list_change: true,
            get_stream_saw_list_change: true,
        }
    );
    assert_eq!(observe(written_out).await, default);
}
