//! The end of serving: end of input, the shutdown token, a broken output.

use super::*;

/// Requests read just before the end of input are answered, however soon it comes (`echo
/// '...' | server`): the end of input cancels their tokens but does not drop them.
#[tokio::test]
async fn requests_read_right_before_the_end_of_input_are_answered() {
    for _ in 0..20 {
        let mut client = Client::start(StdioTransport::new());
        let pings: String = (1..=3)
            .map(|id| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n"))
            .collect();
        client.writer.write_all(pings.as_bytes()).await.unwrap();
        client.close_input().await;
        let mut ids = Vec::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(5), client.lines.next_line()).await
        {
            let answer: Value = serde_json::from_str(&line).unwrap();
            ids.push(answer["id"].as_i64().unwrap());
        }
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
        client.server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn end_of_input_fails_pending_client_requests() {
    let mut client = Client::start(StdioTransport::new());
    client.initialize(json!({"roots": {}})).await;
    client.send(&call(4, "roots", json!({}))).await;
    assert_eq!(client.recv().await["method"], "roots/list");
    client.writer.shutdown().await.unwrap();
    // The handler's wait ends with an error result instead of the 60 s timeout.
    let response = client.recv().await;
    assert_eq!(response["id"], 4);
    assert!(response.get("result").is_some() || response.get("error").is_some());
    client.finish().await;
}

#[tokio::test]
async fn end_of_input_cancels_running_requests_and_writes_their_answers() {
    // A long grace: ending in time proves the tokens fired, not that the grace ran out.
    let mut client = Client::start(StdioTransport::new().shutdown_grace(Duration::from_secs(60)));
    client.initialize(json!({})).await;
    client
        .send(&call(7, "wait", json!({"_meta": {"progressToken": 1}})))
        .await;
    assert_eq!(client.recv().await["method"], "notifications/progress");
    client.close_input().await;
    // The handler saw its token fire and finished; its answer still goes out.
    let response = client.recv().await;
    assert_eq!(response["id"], 7);
    assert_eq!(response["result"]["content"][0]["text"], "cancelled");
    client.finish().await;
}

#[tokio::test]
async fn end_of_input_aborts_requests_that_outlive_the_grace() {
    let grace = Duration::from_millis(200);
    let mut client = Client::start(StdioTransport::new().shutdown_grace(grace));
    client.initialize(json!({})).await;
    client
        .send(&call(8, "sleep", json!({"_meta": {"progressToken": 1}})))
        .await;
    assert_eq!(client.recv().await["method"], "notifications/progress");
    let closed = tokio::time::Instant::now();
    // `finish` allows 5 s; the handler would sleep for 60 and is aborted without an answer.
    client.finish().await;
    assert!(closed.elapsed() >= grace);
}

#[tokio::test]
async fn requests_queued_at_end_of_input_do_not_start() {
    let mut client = Client::start(
        StdioTransport::new()
            .max_concurrent_requests(1)
            .shutdown_grace(Duration::from_secs(60)),
    );
    client.initialize(json!({})).await;
    client
        .send(&call(1, "wait", json!({"_meta": {"progressToken": 1}})))
        .await;
    assert_eq!(client.recv().await["method"], "notifications/progress");
    // Waits for the only slot; at the end of input it is dropped, not run for 60 s.
    client.send(&call(2, "sleep", json!({}))).await;
    client.close_input().await;
    assert_eq!(client.recv().await["id"], 1);
    client.finish().await;
}

#[tokio::test]
async fn the_shutdown_token_ends_serving_like_end_of_input() {
    let shutdown = CancellationToken::new();
    let mut client = Client::start(StdioTransport::new().shutdown_token(shutdown.clone()));
    client.initialize(json!({})).await;
    client
        .send(&call(3, "wait", json!({"_meta": {"progressToken": 1}})))
        .await;
    assert_eq!(client.recv().await["method"], "notifications/progress");
    shutdown.cancel();
    assert_eq!(
        client.recv().await["result"]["content"][0]["text"],
        "cancelled"
    );
    // The input is still open: serving ended by itself.
    let served = tokio::time::timeout(Duration::from_secs(5), &mut client.server).await;
    served.expect("serving ends").unwrap().unwrap();
    assert!(client.lines.next_line().await.unwrap().is_none());
}

#[tokio::test]
async fn serving_ends_at_once_when_the_output_breaks() {
    let router = Router::builder().build();
    let (mut client_write, server_read) = tokio::io::duplex(1024);
    let (server_write, client_read) = tokio::io::duplex(1024);
    let serving = tokio::spawn(
        StdioTransport::new()
            .shutdown_grace(Duration::from_secs(60))
            .serve_io(router, server_read, server_write),
    );
    // The client stops reading but keeps the input open.
    drop(client_read);
    client_write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
        .await
        .unwrap();
    let served = tokio::time::timeout(Duration::from_secs(5), serving).await;
    assert!(served.expect("serving ends").unwrap().is_err());
}

/// A cancelled request gives its queue slot back when its task ends; a client that cancels
/// each request before sending the next, all in one burst, must not be told the server is
/// busy because the reader ran ahead of those tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_cancelled_in_a_burst_free_their_slots_for_the_next() {
    let mut client = Client::start(StdioTransport::new().max_queued_requests(2));
    client.initialize(json!({})).await;
    let mut burst = String::new();
    for id in 1..=200 {
        let call = json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
                          "params":{"name":"wait","arguments":{}}});
        let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled",
                            "params":{"requestId":id}});
        burst.push_str(&format!("{call}\n{cancel}\n"));
    }
    burst.push_str(r#"{"jsonrpc":"2.0","id":"last","method":"ping"}"#);
    client.send(&burst).await;
    // Cancelled requests get no answer: the first line is the ping's, unless some were
    // refused as busy.
    let answer = client.recv().await;
    assert_eq!(answer["id"], "last", "{answer}");
    client.finish().await;
}

/// Admitted requests are bounded in bytes too: past the budget a request is refused as busy,
/// with its id, small ones still fit, and a request that ends gives its bytes back.
#[tokio::test]
async fn admitted_requests_are_bounded_in_bytes() {
    let mut client = Client::start(StdioTransport::new().max_queued_bytes(6 * 1024));
    client.initialize(json!({})).await;
    let pad = "x".repeat(3000);
    let waiting = |id: i64| {
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{
            "name":"wait","arguments":{"pad":pad},"_meta":{"progressToken":id}}})
        .to_string()
    };
    client.send(&waiting(1)).await;
    // It runs, holding 4 of the 6 KiB.
    assert_eq!(client.recv().await["method"], "notifications/progress");
    client.send(&waiting(2)).await;
    let refused = client.recv().await;
    assert_eq!(refused["id"], 2, "{refused}");
    assert_eq!(refused["error"]["code"], codes::SERVER_ERROR, "{refused}");
    client
        .send(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        .await;
    assert_eq!(client.recv().await["id"], 3);
    let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled",
                        "params":{"requestId":1}});
    client.send(&cancel.to_string()).await;
    // Once the cancelled request's task has ended, its bytes are free again.
    let mut id = 4;
    loop {
        client.send(&waiting(id)).await;
        let answer = client.recv().await;
        if answer["method"] == "notifications/progress" {
            break;
        }
        assert_eq!(answer["error"]["code"], codes::SERVER_ERROR, "{answer}");
        assert!(id < 100, "the bytes never came back");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        id += 1;
    }
    // Cancelled, it gets no answer.
    let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled",
                        "params":{"requestId":id}});
    client.send(&cancel.to_string()).await;
    client.finish().await;
}

/// The largest settings serve as the defaults do (they once panicked: a semaphore past its
/// most permits at the start, the clock's arithmetic at the end of input).
#[tokio::test]
async fn the_largest_settings_serve_and_end() {
    let mut client = Client::start(
        StdioTransport::new()
            .max_queued_requests(usize::MAX)
            .max_concurrent_requests(usize::MAX)
            .max_queued_bytes(usize::MAX)
            .shutdown_grace(Duration::MAX),
    );
    client.initialize(json!({})).await;
    client
        .send(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .await;
    assert_eq!(client.recv().await["id"], 1);
    client.finish().await;
}
