//! `subscriptions/listen` streams are capped per principal as well as for the server, so that
//! one client cannot take every slot (audit finding A2): beyond its cap a principal gets 429
//! while others still get streams, a closed stream gives its slot back, and anonymous
//! clients count against the server's cap only.

use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use mcp_e2e::{Reply, TestClient, read_until};
use mcp_tower::{McpServer, StreamableHttpConfig};
use serde_json::json;

use super::{router, start_as_x_user};

fn listen(id: u32) -> Vec<u8> {
    let body = json!({"jsonrpc":"2.0","id":id,"method":"subscriptions/listen","params":{
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}},
        "notifications": {"toolsListChanged": true}}});
    serde_json::to_vec(&body).unwrap()
}

/// The headers of a listen request, by `user` (anonymous when `None`).
fn headers(user: Option<&str>) -> Vec<(&str, &str)> {
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    headers.extend(user.map(|user| ("x-user", user)));
    headers
}

/// Opens a listen stream as `user`, and reads its acknowledgement.
async fn open(client: &TestClient, id: u32, user: Option<&str>) -> hyper::body::Incoming {
    let response = client
        .send_streaming(Method::POST, listen(id), &headers(user))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{user:?}, listen {id}");
    let mut body = response.into_body();
    read_until(&mut body, "acknowledged").await;
    body
}

/// A listen request as `user` that must be refused: its status, headers and JSON body. (A
/// stream would never end: it is not read.)
async fn refused(client: &TestClient, id: u32, user: Option<&str>) -> Reply {
    let response = client
        .send_streaming(Method::POST, listen(id), &headers(user))
        .await;
    assert_ne!(
        response.status(),
        StatusCode::OK,
        "{user:?}, listen {id}: a stream"
    );
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

#[tokio::test]
async fn one_principal_cannot_take_every_listen_slot() {
    let router = router();
    let config = StreamableHttpConfig::default()
        .events_from(&router)
        .max_listeners(6)
        .max_listeners_per_principal(2);
    let served = McpServer::builder(router)
        .http_config(config)
        .into_http_service();
    let (_server, client) = start_as_x_user(served).await;

    let mut alice = vec![open(&client, 1, Some("alice")).await];
    alice.push(open(&client, 2, Some("alice")).await);
    // At her cap: 429, as at the session cap, a -32000 error naming the request. Refusals
    // give back the server slot they counted, or these three would fill the server.
    for id in 3..6 {
        let refused = refused(&client, id, Some("alice")).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{refused:?}");
        assert_eq!(refused.json()["id"], id);
        assert_eq!(refused.json()["error"]["code"], -32000);
        assert!(refused.header("retry-after").is_none());
    }

    // Others still get streams; anonymous ones only count against the server's cap.
    let _bob = open(&client, 6, Some("bob")).await;
    let mut anonymous = Vec::new();
    for id in 7..10 {
        anonymous.push(open(&client, id, None).await);
    }
    let full = refused(&client, 10, None).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE, "{full:?}");

    // Alice's client drops one of her streams: its slot comes back to her (and the server's
    // with it: until then she is refused, 503 while the server is full).
    drop(alice.pop());
    let mut reopened = None;
    for id in 11..400 {
        let response = client
            .send_streaming(Method::POST, listen(id), &headers(Some("alice")))
            .await;
        if response.status() == StatusCode::OK {
            reopened = Some(response);
            break;
        }
        let status = response.status();
        assert!(status == 429 || status == 503, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reopened = reopened.expect("alice's slot back within 8 s").into_body();
    read_until(&mut reopened, "acknowledged").await;
    drop(anonymous);
}
