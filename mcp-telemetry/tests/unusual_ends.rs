//! Calls that end in unusual ways are reported for what they are: cancelled (also when the
//! client leaves a streamed answer over real HTTP), a panicking notification, a panicking
//! hook, error codes outside the known list, tool errors read from `tasks/result`,
//! methods late in the table, and request ids that carry line breaks.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Context;
use std::time::Duration;

use http::Method;
use mcp_core::jsonrpc::{ErrorObject, Message, RawJson, Response};
use mcp_core::{ClientPeer, Json, McpRequest, McpResponse, RequestContext, Router, Tool};
use mcp_e2e::read_until;
use mcp_telemetry::{CallInfo, Failure, Outcome, TelemetryLayer};
use mcp_tower::StdioTransport;
use support::calls::request;
use support::run;
use tower::{Layer, Service, ServiceExt};

/// A tool that reports progress once, then waits until the request is cancelled.
fn router() -> Router {
    Router::builder()
        .tool(Tool::new("wait").handler(
            |_: Json<serde_json::Value>, ctx: RequestContext| async move {
                ctx.progress(1.0, None, None).await;
                ctx.cancelled().await;
                "cancelled".to_owned()
            },
        ))
        .build()
}

/// A service answering every request with `answer` (and notifications with nothing).
fn answering(
    answer: fn() -> Result<RawJson, ErrorObject>,
) -> impl Service<
    McpRequest,
    Response = McpResponse,
    Error = Infallible,
    Future = impl Future<Output = Result<McpResponse, Infallible>> + Send,
> + Clone {
    tower::service_fn(move |request: McpRequest| async move {
        Ok::<_, Infallible>(match request.message {
            Message::Request(r) => McpResponse::Single(match answer() {
                Ok(result) => Response::result(r.id, result),
                Err(error) => Response::error(Some(r.id), error),
            }),
            _ => McpResponse::None,
        })
    })
}

fn raw(json: &str) -> RawJson {
    RawJson::parse(json.to_owned()).unwrap()
}

const TOOLS_CALL: [(&str, &str); 1] = [("method", "tools/call")];

#[test]
fn a_cancelled_request_is_counted_as_cancelled_not_answered() {
    run(|capture, metrics| async move {
        let router = router();
        let mut service = TelemetryLayer::for_router(&router).layer(router);
        let (peer, _outbound) = ClientPeer::cancellable_channel(8);
        let mut call = request(
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"wait","arguments":{}}}"#,
        );
        call.extensions.insert(peer.clone());
        let mut future = Box::pin(service.ready().await.unwrap().call(call));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        peer.cancel();
        // The handler saw its token fire and finished; the transport would drop its answer.
        future.await.unwrap();

        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.requests.cancelled", &TOOLS_CALL),
            1
        );
        assert_eq!(
            snapshot.gauge("mcp.server.requests.in_flight", &TOOLS_CALL),
            Some(0.0)
        );
        // Not an answered call: no duration sample claims it went well.
        assert!(
            snapshot.dump("mcp.server.operation.duration").is_empty(),
            "{:?}",
            snapshot.dump("mcp.server.operation.duration")
        );
        assert_eq!(capture.events_named("request_cancelled").len(), 1);
        assert_eq!(
            capture.span("tools/call wait").field("error.type"),
            Some("cancelled")
        );
    });
}

/// A stdio server on in-memory pipes, initialized, running `tools/call wait` (id 7).
struct StdioCall;

type ClientLines = tokio::io::Lines<tokio::io::BufReader<tokio::io::DuplexStream>>;

impl StdioCall {
    /// Starts `service` on `transport`, sends `initialize` and the call, and reads the answer
    /// and the call's progress: the handler is waiting. Returns the client's input, the rest
    /// of its output, and the server's task.
    async fn start<S>(
        transport: StdioTransport,
        service: S,
    ) -> (
        tokio::io::DuplexStream,
        ClientLines,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )
    where
        S: Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (mut client, server_input) = tokio::io::duplex(1 << 16);
        let (server_output, client_output) = tokio::io::duplex(1 << 16);
        let serving = tokio::spawn(transport.serve_io(service, server_input, server_output));
        let mut lines = BufReader::new(client_output).lines();
        let initialize = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait","arguments":{},"_meta":{"progressToken":"p"}}}"#;
        client
            .write_all(format!("{initialize}\n{call}\n").as_bytes())
            .await
            .unwrap();
        for _ in 0..2 {
            lines.next_line().await.unwrap().expect("a line");
        }
        (client, lines, serving)
    }
}

#[test]
fn a_request_cancelled_over_stdio_is_counted_as_cancelled() {
    use tokio::io::AsyncWriteExt;
    run(|capture, metrics| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let (mut client, _lines, serving) = StdioCall::start(StdioTransport::new(), service).await;
        let cancel =
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}"#;
        client
            .write_all(format!("{cancel}\n").as_bytes())
            .await
            .unwrap();

        let mut cancelled = 0;
        for _ in 0..500 {
            cancelled = metrics
                .snapshot()
                .counter("mcp.server.requests.cancelled", &TOOLS_CALL);
            if cancelled > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(client);
        serving.await.unwrap().unwrap();
        let snapshot = metrics.snapshot();
        assert_eq!(cancelled, 1);
        assert_eq!(
            snapshot.counter("mcp.server.requests.disconnected", &TOOLS_CALL),
            0
        );
        assert_eq!(
            snapshot.gauge("mcp.server.requests.in_flight", &TOOLS_CALL),
            Some(0.0)
        );
        assert_eq!(capture.events_named("request_cancelled").len(), 1);
        assert!(capture.events_named("client_disconnected").is_empty());
        assert_eq!(
            capture.span("tools/call wait").field("error.type"),
            Some("cancelled")
        );
    });
}

#[test]
fn a_stdio_client_gone_with_a_request_running_is_a_disconnection() {
    run(|capture, metrics| async move {
        // A handler that ignores its cancellation: aborted after the shutdown grace.
        let router = Router::builder()
            .tool(Tool::new("wait").handler(
                |_: Json<serde_json::Value>, ctx: RequestContext| async move {
                    ctx.progress(1.0, None, None).await;
                    std::future::pending::<String>().await
                },
            ))
            .build();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let transport = StdioTransport::new().shutdown_grace(Duration::from_millis(50));
        let (client, mut lines, serving) = StdioCall::start(transport, service).await;
        // The client goes away: the end of its input ends every request with the connection.
        drop(client);
        let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        serving.await.unwrap().unwrap();
        drain.await.unwrap();
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.requests.disconnected", &TOOLS_CALL),
            1
        );
        assert_eq!(
            snapshot.counter("mcp.server.requests.cancelled", &TOOLS_CALL),
            0
        );
        assert_eq!(
            capture.span("tools/call wait").field("error.type"),
            Some("disconnected")
        );
    });
}

#[test]
fn a_client_leaving_a_streamed_answer_is_counted_over_http() {
    run(|capture, metrics| async move {
        let router = router();
        let (_server, client) =
            support::serve_rpc(TelemetryLayer::for_router(&router).layer(router)).await;
        let body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"wait","arguments":{},"_meta":{"progressToken":"p"}}}"#;
        let response = client
            .send_streaming(
                Method::POST,
                body,
                &[("mcp-protocol-version", "2025-11-25")],
            )
            .await;
        // The answer is streamed (a progress notification came first); then the client leaves.
        let mut stream = response.into_body();
        read_until(&mut stream, "notifications/progress").await;
        drop(stream);
        drop(client);

        let mut cancelled = 0;
        for _ in 0..500 {
            cancelled += metrics
                .snapshot()
                .counter("mcp.server.requests.cancelled", &TOOLS_CALL);
            if cancelled > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(cancelled, 1);
        assert_eq!(capture.events_named("request_cancelled").len(), 1);
        assert!(capture.events_named("client_disconnected").is_empty());
    });
}

#[test]
fn a_panicking_notification_is_a_protocol_error() {
    run(|capture, metrics| async move {
        let panics = tower::service_fn(|_: McpRequest| async {
            if true {
                panic!("notification handler broke");
            }
            Ok::<_, Infallible>(McpResponse::None)
        });
        let response = TelemetryLayer::new()
            .layer(panics)
            .oneshot(request(
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            ))
            .await
            .unwrap();
        assert!(response.is_none());
        let labels = [
            ("method", "notifications/initialized"),
            ("outcome", "protocol_error"),
            ("code", "-32603"),
            ("protocol_version", "2025-11-25"),
        ];
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &labels)
                .len(),
            1,
            "{:?}",
            snapshot.dump("mcp.server.operation.duration")
        );
        let span = capture.span("notifications/initialized");
        assert_eq!(span.field("error.type"), Some("-32603"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
    });
}

#[test]
fn panicking_hooks_are_logged_and_the_call_is_answered() {
    run(|capture, metrics| async move {
        let layer = TelemetryLayer::new()
            .on_request(|_: &_, _: &tracing::Span| {
                panic!("request hook broke");
            })
            .on_response(
                |_: &CallInfo, _: &McpResponse, _: Outcome, _: Duration, _: &tracing::Span| {
                    panic!("response hook broke");
                },
            )
            .on_failure(
                |_: &CallInfo, _: Failure<'_>, _: Duration, _: &tracing::Span| {
                    panic!("failure hook broke")
                },
            );
        let service = layer.layer(answering(|| Err(ErrorObject::method_not_found("nope"))));
        let response = service
            .oneshot(request(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            .await
            .unwrap();
        let McpResponse::Single(response) = response else {
            panic!("one answer expected: {response:?}");
        };
        assert_eq!(response.error_object().unwrap().code, -32601);
        let events = capture.events_named("hook_panicked");
        let hooks: Vec<_> = events.iter().map(|e| e.field("mcp.hook")).collect();
        assert_eq!(
            hooks,
            [Some("on_request"), Some("on_response"), Some("on_failure")]
        );
        assert_eq!(events[0].level, tracing::Level::ERROR);
        assert_eq!(events[0].field("panic.message"), Some("request hook broke"));
        assert_eq!(events[0].field("mcp.method.name"), Some("ping"));
        let gauge = metrics
            .snapshot()
            .gauge("mcp.server.requests.in_flight", &[("method", "ping")]);
        assert!(matches!(gauge, None | Some(0.0)), "{gauge:?}");
    });
}

#[test]
fn a_failure_hook_panicking_while_a_panic_unwinds_does_not_abort() {
    run(|capture, _metrics| async move {
        let layer = TelemetryLayer::new().on_failure(
            |_: &CallInfo, _: Failure<'_>, _: Duration, _: &tracing::Span| {
                panic!("failure hook broke")
            },
        );
        let mut service = layer.layer(router());
        let call = service.ready().await.unwrap().call(request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait","arguments":{}}}"#,
        ));
        // The call is dropped unanswered while another panic unwinds: its state reports a
        // client gone through the failure hook, which panics too. Uncaught, that second panic
        // would abort the test process.
        let unwound = std::panic::catch_unwind(AssertUnwindSafe(move || {
            let _dropped_while_unwinding = call;
            panic!("the caller broke");
        }));
        assert!(unwound.is_err());
        let events = capture.events_named("hook_panicked");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].field("mcp.hook"), Some("on_failure"));
    });
}

#[test]
fn error_codes_outside_the_list_keep_their_code_on_spans_only() {
    run(|capture, metrics| async move {
        let service = TelemetryLayer::new().layer(answering(|| {
            Err(ErrorObject::new(-32050, "custom refusal"))
        }));
        service
            .oneshot(request(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            .await
            .unwrap();
        let span = capture.span("ping");
        assert_eq!(span.field("error.type"), Some("-32050"));
        assert_eq!(span.field("rpc.response.status_code"), Some("-32050"));
        // The label folds it: handlers may return any integer.
        let labels = [
            ("method", "ping"),
            ("outcome", "protocol_error"),
            ("code", "_OTHER"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            metrics
                .snapshot()
                .histogram("mcp.server.operation.duration", &labels)
                .len(),
            1
        );
    });
}

#[test]
fn a_task_result_with_is_error_is_a_tool_error() {
    run(|_capture, metrics| async move {
        let service = TelemetryLayer::new().layer(answering(|| {
            Ok(raw(
                r#"{"content":[{"type":"text","text":"no"}],"isError":true}"#,
            ))
        }));
        service
            .oneshot(request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tasks/result","params":{"taskId":"t"}}"#,
            ))
            .await
            .unwrap();
        let labels = [
            ("method", "tasks/result"),
            ("outcome", "tool_error"),
            ("protocol_version", "2025-11-25"),
        ];
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &labels)
                .len(),
            1,
            "{:?}",
            snapshot.dump("mcp.server.operation.duration")
        );
    });
}

#[test]
fn tasks_update_is_a_known_method() {
    run(|capture, metrics| async move {
        let service = TelemetryLayer::new().layer(answering(|| Ok(raw("{}"))));
        service
            .oneshot(request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tasks/update","params":{"taskId":"t"}}"#,
            ))
            .await
            .unwrap();
        assert_eq!(
            metrics
                .snapshot()
                .counter("mcp.server.requests", &[("method", "tasks/update")]),
            1
        );
        assert_eq!(
            capture.span("tasks/update").field("mcp.method.name"),
            Some("tasks/update")
        );
    });
}

/// A string id is the span attribute as sent (it must match the client span's), and a log
/// line quotes and escapes it: line breaks and field separators in it forge nothing.
#[test]
fn string_ids_are_attributes_as_sent_and_escaped_in_logs() {
    // JSON escapes: the ids hold a real line break, a Unicode line separator, and the space
    // and quotes that would start a forged `user.id` field in an unquoted value.
    let cases = [
        (
            r#""1\n2026-01-01T00:00:00Z ERROR forged""#,
            "1\n2026-01-01T00:00:00Z ERROR forged",
        ),
        (r#""1\u2028ERROR forged""#, "1\u{2028}ERROR forged"),
        (r#""7 user.id=\"root\"""#, "7 user.id=\"root\""),
    ];
    run(|capture, _metrics| async move {
        let service =
            TelemetryLayer::new().layer(answering(|| Err(ErrorObject::new(-32000, "no"))));
        for (id, sent) in cases {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            service.clone().oneshot(request(&body)).await.unwrap();
            let span = capture.spans().pop().expect("a span");
            assert_eq!(span.field("jsonrpc.request.id"), Some(sent));
        }
    });
    // The same calls under the fmt subscriber, with span closings logged: one line each.
    let written = Written::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(written.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    let _tracing = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let service = TelemetryLayer::new().layer(answering(|| Err(ErrorObject::new(-32000, "no"))));
    for (id, _) in cases {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        runtime
            .block_on(service.clone().oneshot(request(&body)))
            .unwrap();
    }
    let log = written.text();
    // No line break got through, and each id is one quoted, escaped value.
    assert_eq!(log.lines().count(), cases.len(), "{log}");
    for (line, (_, sent)) in log.lines().zip(cases) {
        assert!(line.contains("close"), "{line}");
        assert!(
            line.contains(&format!("jsonrpc.request.id={sent:?} ")),
            "{line}"
        );
    }
}

/// What the fmt subscriber wrote, shared with the test.
#[derive(Clone, Default)]
struct Written(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Written {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Written {
    type Writer = Written;

    fn make_writer(&'a self) -> Written {
        self.clone()
    }
}
