//! The stdio session follows the plan its requests are served under: when
//! `AllowListLayer`'s resolver chooses another list, the notifications follow it too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mcp_core::{AllowList, Resource};
use tower::Layer;

use super::*;
use crate::AllowListLayer;

#[tokio::test]
async fn a_session_downgraded_by_a_resolver_hears_only_of_its_new_plan() {
    let resource = |uri: &str| {
        Resource::new(uri, uri).handler(|uri: String, _: RequestContext| async move { uri })
    };
    let router = Router::builder()
        .resource(resource("test://basic"))
        .resource(resource("test://premium"))
        .build();
    let downgraded = Arc::new(AtomicBool::new(false));
    let plan = Arc::clone(&downgraded);
    let resolver = move |_: &McpRequest| {
        Some(if plan.load(Ordering::SeqCst) {
            AllowList::new().resources(["test://basic"])
        } else {
            AllowList::new().resources(["test://basic", "test://premium"])
        })
    };
    let service = AllowListLayer::with_resolver(resolver).layer(router.clone());
    let mut client = serve(router, service);
    client.initialize(json!({})).await;
    for (id, uri) in [(1, "test://basic"), (2, "test://premium")] {
        let subscribe =
            json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":uri}});
        client.send(&subscribe.to_string()).await;
        assert_eq!(client.recv().await["result"], json!({}));
    }

    downgraded.store(true, Ordering::SeqCst);
    let read =
        json!({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"test://premium"}});
    client.send(&read.to_string()).await;
    assert_eq!(client.recv().await["error"]["code"], -32002);

    client.router.notify_resource_updated("test://premium");
    client.router.notify_resource_updated("test://basic");
    let heard = client.recv().await;
    assert_eq!(heard["params"]["uri"], "test://basic", "{heard}");
    client.finish().await;
}
