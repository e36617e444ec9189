//! The RPC-tier layer: spans with the MCP semantic-convention fields, metrics by outcome,
//! folding of unknown names, batches, hooks and client text. Failures are in `failures.rs`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_core::jsonrpc::{ErrorObject, Message};
use mcp_core::protocol::{ClientCapabilities, LoggingLevel};
use mcp_core::{
    Json, McpRequest, McpResponse, Principal, ProtocolVersion, RequestContext, Session,
    SessionHandle, Tool,
};
use mcp_telemetry::{CallInfo, Failure, Outcome, TelemetryLayer};
use mcp_tower::BatchLayer;
use support::calls::{request, router, send, single};
use support::run;
use tower::{Layer, ServiceBuilder, ServiceExt};

#[derive(Debug)]
struct FakeSession;

impl Session for FakeSession {
    fn id(&self) -> &str {
        "session-1"
    }
    fn protocol_version(&self) -> ProtocolVersion {
        ProtocolVersion::V2025_11_25
    }
    fn client_capabilities(&self) -> Arc<ClientCapabilities> {
        Arc::default()
    }
    fn log_level(&self) -> Option<LoggingLevel> {
        None
    }
    fn set_log_level(&self, _level: LoggingLevel) {}
    fn subscribe(&self, _uri: &str) -> Result<(), ErrorObject> {
        Ok(())
    }
    fn unsubscribe(&self, _uri: &str) {}
    fn is_subscribed(&self, _uri: &str) -> bool {
        false
    }
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn a_tool_call_gets_a_span_with_the_semantic_convention_fields_and_metrics() {
    run(|capture, metrics| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        let mut call = request(&format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"add","arguments":{{"a":2,"b":3}},"_meta":{{"traceparent":"{TRACEPARENT}"}}}}}}"#
        ));
        call.extensions
            .insert::<SessionHandle>(Arc::new(FakeSession));
        call.extensions.insert(Principal::new("alice"));
        let response = single(service.oneshot(call).await.unwrap());
        assert!(!response.is_error());

        let span = capture.span("tools/call add");
        assert_eq!(span.name, "mcp.request");
        for (field, value) in [
            ("otel.kind", "server"),
            ("mcp.method.name", "tools/call"),
            ("gen_ai.tool.name", "add"),
            ("gen_ai.operation.name", "execute_tool"),
            ("jsonrpc.request.id", "7"),
            ("mcp.session.id", "session-1"),
            ("mcp.protocol.version", "2025-11-25"),
            ("user.id", "alice"),
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("parent_span_id", "00f067aa0ba902b7"),
        ] {
            assert_eq!(span.field(field), Some(value), "{field} in {span:#?}");
        }
        assert_eq!(span.field("error.type"), None);
        assert_eq!(span.field("otel.status_code"), None);

        let snapshot = metrics.snapshot();
        let labels = [("method", "tools/call"), ("target", "add")];
        assert_eq!(snapshot.counter("mcp.server.requests", &labels), 1);
        let ok = [
            ("method", "tools/call"),
            ("target", "add"),
            ("outcome", "ok"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &ok)
                .len(),
            1,
            "{:#?}",
            snapshot.dump("mcp.server.operation.duration")
        );
        let in_flight = [("method", "tools/call")];
        assert_eq!(
            snapshot.gauge("mcp.server.requests.in_flight", &in_flight),
            Some(0.0)
        );
    });
}

#[test]
fn a_target_or_trace_under_an_escaped_key_is_still_attributed() {
    run(|capture, metrics| async move {
        let router = router();
        let service = TelemetryLayer::for_router(&router).layer(router);
        // `n\u0061me` is `name`: the router runs `add`, and telemetry must say so.
        let call = request(&format!(
            r#"{{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{{"n\u0061me":"add","arguments":{{"a":2,"b":3}},"_meta":{{"tr\u0061ceparent":"{TRACEPARENT}"}}}}}}"#
        ));
        let response = single(service.oneshot(call).await.unwrap());
        assert!(!response.is_error());

        let span = capture.span("tools/call add");
        assert_eq!(span.field("gen_ai.tool.name"), Some("add"));
        assert_eq!(
            span.field("trace_id"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let labels = [("method", "tools/call"), ("target", "add")];
        assert_eq!(
            metrics.snapshot().counter("mcp.server.requests", &labels),
            1
        );
    });
}

#[test]
fn an_is_error_result_is_a_tool_error_and_an_unknown_tool_a_protocol_error() {
    run(|capture, metrics| async move {
        let router = router();
        let mut service = TelemetryLayer::for_router(&router).layer(router);
        let failed = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fail","arguments":{}}}"#;
        let response = single(send(&mut service, failed).await);
        assert!(!response.is_error(), "a tool error is a result");
        let unknown = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nope","arguments":{}}}"#;
        let response = single(send(&mut service, unknown).await);
        assert_eq!(response.error_object().unwrap().code, -32602);

        let span = capture.span("tools/call fail");
        assert_eq!(span.field("error.type"), Some("tool_error"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
        // The span name leaves an unknown name out (bounded, and written unquoted into logs);
        // the attribute keeps the name sent.
        let span = capture.span("tools/call");
        assert_eq!(span.field("gen_ai.tool.name"), Some("nope"));
        assert_eq!(span.field("rpc.response.status_code"), Some("-32602"));
        // A failed operation, whoever's mistake: the MCP conventions record every JSON-RPC
        // error as the span's `error.type` and status.
        assert_eq!(span.field("error.type"), Some("-32602"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
        assert!(
            span.field("otel.status_description")
                .is_some_and(|d| d.contains("nope"))
        );

        let snapshot = metrics.snapshot();
        let tool_error = [
            ("method", "tools/call"),
            ("target", "fail"),
            ("outcome", "tool_error"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &tool_error)
                .len(),
            1
        );
        let protocol_error = [
            ("method", "tools/call"),
            ("target", "_other"),
            ("outcome", "protocol_error"),
            ("code", "-32602"),
            ("protocol_version", "2025-11-25"),
        ];
        assert_eq!(
            snapshot
                .histogram("mcp.server.operation.duration", &protocol_error)
                .len(),
            1,
            "{:#?}",
            snapshot.dump("mcp.server.operation.duration")
        );
        let events = capture.events_named("tool_error");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].span.as_deref(), Some("tools/call fail"));
    });
}

#[test]
fn each_batch_item_is_a_call_of_its_own() {
    run(|capture, metrics| async move {
        let router = router();
        let service = ServiceBuilder::new()
            .layer(BatchLayer::new())
            .layer(TelemetryLayer::for_router(&router))
            .service(router);
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
            {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":1}}},
            {"jsonrpc":"2.0","method":"notifications/initialized"}]"#;
        let batch = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_03_26);
        let McpResponse::Batch(responses) = service.oneshot(batch).await.unwrap() else {
            panic!("a batch answer");
        };
        assert_eq!(responses.len(), 2);

        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.counter("mcp.server.requests", &[("method", "ping")]),
            1
        );
        let add = [("method", "tools/call"), ("target", "add")];
        assert_eq!(snapshot.counter("mcp.server.requests", &add), 1);
        let initialized = [("method", "notifications/initialized")];
        assert_eq!(snapshot.counter("mcp.server.requests", &initialized), 1);
        assert_eq!(capture.spans().len(), 3);
        let span = capture.span("notifications/initialized");
        assert_eq!(span.field("jsonrpc.request.id"), None);
        assert_eq!(span.field("mcp.protocol.version"), Some("2025-03-26"));
    });
}

#[test]
fn unknown_methods_and_unregistered_names_are_folded() {
    run(|capture, metrics| async move {
        let router = router();
        // The router knows its registered resources too.
        let mut service = TelemetryLayer::for_router(&router)
            .resource_uri_in_metrics(true)
            .layer(router.clone());
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"made/up"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"greet"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"missing"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"test://about"}}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"test://elsewhere"}}"#,
        ] {
            send(&mut service, body).await;
        }
        // Added at runtime: labelled from then on.
        router.add_tool(
            Tool::new("late")
                .handler(|_: Json<serde_json::Value>, _: RequestContext| async { "late" }),
        );
        let late = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"late"}}"#;
        send(&mut service, late).await;

        let snapshot = metrics.snapshot();
        let count = |labels: &[(&str, &str)]| snapshot.counter("mcp.server.requests", labels);
        assert_eq!(count(&[("method", "_other")]), 1);
        assert_eq!(count(&[("method", "prompts/get"), ("target", "greet")]), 1);
        assert_eq!(count(&[("method", "prompts/get"), ("target", "_other")]), 1);
        assert_eq!(
            count(&[("method", "resources/read"), ("target", "test://about")]),
            1
        );
        assert_eq!(
            count(&[("method", "resources/read"), ("target", "_other")]),
            1
        );
        assert_eq!(count(&[("method", "tools/call"), ("target", "late")]), 1);

        // The span name folds the unknown method; the attribute keeps it.
        assert_eq!(
            capture.span("_other").field("mcp.method.name"),
            Some("made/up")
        );
        assert_eq!(
            capture
                .span("prompts/get greet")
                .field("gen_ai.prompt.name"),
            Some("greet")
        );
        // URIs stay out of span names unless asked for.
        let reads: Vec<_> = capture
            .spans()
            .into_iter()
            .filter(|s| s.field("otel.name") == Some("resources/read"))
            .collect();
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[0].field("mcp.resource.uri"), Some("test://about"));
    });
}

#[test]
fn client_text_never_reaches_logs_unescaped() {
    run(|capture, _| async move {
        let mut service = TelemetryLayer::new().layer(router());
        // JSON escapes: the method holds a real line break and an ESC.
        let forged = r"made/up\n2026-01-01T00:00:00Z  INFO mcp_telemetry: FORGED\u001b[2J";
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{forged}"}}"#);
        send(&mut service, &body).await;
        // Written unquoted into logs: the span name carries no client text.
        let span = capture.span("_other");
        assert!(span.field("mcp.method.name").unwrap().contains('\n'));
        // The logged error message is quoted and escaped (Debug), never raw.
        let errors = capture.events_named("protocol_error");
        let message = errors[0].field("error.message").expect("a message");
        assert!(message.starts_with('"'), "{message}");
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
        assert!(message.contains("FORGED"), "{message}");
    });
}

#[test]
fn client_text_in_attributes_is_capped() {
    run(|capture, _| async move {
        let mut service = TelemetryLayer::new().layer(router());
        let name = "n".repeat(1 << 20);
        let method = format!("made/{}", "m".repeat(1 << 20));
        let id = "i".repeat(1 << 20);
        for body in [
            format!(
                r#"{{"jsonrpc":"2.0","id":"{id}","method":"tools/call","params":{{"name":"{name}"}}}}"#
            ),
            format!(r#"{{"jsonrpc":"2.0","id":2,"method":"{method}"}}"#),
        ] {
            send(&mut service, &body).await;
        }
        let span = capture.span("tools/call");
        let id = span.field("jsonrpc.request.id").unwrap().len();
        assert!((1000..=1024).contains(&id), "{id}");
        let tool = capture
            .span("tools/call")
            .field("gen_ai.tool.name")
            .unwrap()
            .len();
        let method = capture
            .span("_other")
            .field("mcp.method.name")
            .unwrap()
            .len();
        assert!(tool <= 1024 && method <= 1024, "{tool}, {method}");
        assert!(
            tool > 1000 && method > 1000,
            "cut, not dropped: {tool}, {method}"
        );
    });
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Request(String, Option<String>),
    Response(String, Outcome),
    Failure(String, String),
}

#[test]
fn hooks_replace_what_is_recorded() {
    run(|_capture, metrics| async move {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (on_request, on_response, on_failure) = (seen.clone(), seen.clone(), seen.clone());
        let router = router();
        let layer = TelemetryLayer::for_router(&router)
            .on_request(move |call: &CallInfo, _: &tracing::Span| {
                let target = call.target_label().map(str::to_owned);
                on_request
                    .lock()
                    .unwrap()
                    .push(Seen::Request(call.method().to_owned(), target));
            })
            .on_response(
                move |call: &CallInfo,
                      _: &McpResponse,
                      outcome: Outcome,
                      _: Duration,
                      _: &tracing::Span| {
                    on_response
                        .lock()
                        .unwrap()
                        .push(Seen::Response(call.method().to_owned(), outcome));
                },
            )
            .on_failure(
                move |call: &CallInfo, failure: Failure<'_>, _: Duration, _: &tracing::Span| {
                    let kind = match failure {
                        Failure::ToolError => "tool_error",
                        Failure::Panicked(_) => "panicked",
                        _ => "other",
                    };
                    on_failure
                        .lock()
                        .unwrap()
                        .push(Seen::Failure(call.method().to_owned(), kind.to_owned()));
                },
            );
        let mut service = layer.layer(router);
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fail","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"boom","arguments":{}}}"#,
        ] {
            send(&mut service, body).await;
        }
        let call = "tools/call".to_owned();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Seen::Request(call.clone(), Some("fail".into())),
                Seen::Response(call.clone(), Outcome::ToolError),
                Seen::Failure(call.clone(), "tool_error".into()),
                Seen::Request(call.clone(), Some("boom".into())),
                Seen::Response(call.clone(), Outcome::ProtocolError(-32603)),
                Seen::Failure(call, "panicked".into()),
            ]
        );
        // The default hooks are gone: no request count, no duration, no panic count.
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.dump("mcp.server.requests"), Vec::<String>::new());
        assert_eq!(
            snapshot.dump("mcp.server.operation.duration"),
            Vec::<String>::new()
        );
        assert_eq!(snapshot.dump("mcp.server.panics"), Vec::<String>::new());
    });
}

#[test]
fn a_legacy_unknown_resource_fails_its_span_as_a_modern_one_does() {
    run(|capture, _| async move {
        let router = router();
        let mut service = TelemetryLayer::for_router(&router).layer(router);
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://nowhere"}}"#;
        let response = single(send(&mut service, body).await);
        assert_eq!(response.error_object().unwrap().code, -32002);
        let span = capture.span("resources/read");
        assert_eq!(span.field("rpc.response.status_code"), Some("-32002"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
        assert_eq!(span.field("error.type"), Some("-32002"));
    });
}

#[test]
fn client_responses_pass_through_untouched() {
    run(|capture, metrics| async move {
        let service = TelemetryLayer::new().layer(router());
        let body = r#"{"jsonrpc":"2.0","id":9,"result":{}}"#;
        assert!(service.oneshot(request(body)).await.unwrap().is_none());
        assert!(capture.spans().is_empty());
        assert_eq!(
            metrics.snapshot().dump("mcp.server.requests"),
            Vec::<String>::new()
        );
    });
}
