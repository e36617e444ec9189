//! The HTTP-tier companion: durations by status, body sizes, refusals, SSE stream lifecycles.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use mcp_telemetry::HttpTelemetryLayer;
use mcp_tower::McpBody;
use support::run;
use tower::{Layer, ServiceExt};

fn respond(
    status: StatusCode,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_request: Request<Full<Bytes>>| async move {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        for (name, value) in headers {
            response
                .headers_mut()
                .insert(*name, header::HeaderValue::from_static(value));
        }
        Ok::<_, Infallible>(response)
    })
}

fn post(body: &'static str) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[test]
fn duration_status_and_body_sizes_are_recorded() {
    run(|_capture, metrics| async move {
        let service = HttpTelemetryLayer::new().layer(respond(StatusCode::OK, &[], "hello"));
        let response = service.oneshot(post(r#"{"jsonrpc":"2.0"}"#)).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello");

        let snapshot = metrics.snapshot();
        let labels = [("method", "POST"), ("status", "200")];
        assert_eq!(
            snapshot
                .histogram("http.server.request.duration", &labels)
                .len(),
            1
        );
        assert_eq!(
            snapshot.histogram("http.server.response.body.size", &labels),
            [5.0]
        );
        assert_eq!(
            snapshot.histogram("http.server.request.body.size", &[("method", "POST")]),
            [17.0]
        );
    });
}

/// A client gone before its response is the HTTP tier's own event, named apart from the RPC
/// tier's `client_disconnected` for the call in flight (counting one name counts one tier).
#[test]
fn a_client_gone_before_the_response_is_an_http_event() {
    run(|capture, _metrics| async move {
        let never = tower::service_fn(|_request: Request<Full<Bytes>>| {
            std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
        });
        let mut service = HttpTelemetryLayer::new().layer(never);
        let future = tower::Service::call(&mut service, post("{}"));
        drop(future);
        let events = capture.events_named("http_client_disconnected");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].field("http.request.method"), Some("POST"));
        assert!(capture.events_named("client_disconnected").is_empty());
    });
}

#[test]
fn a_refused_request_does_not_record_the_length_it_claims() {
    run(|_capture, metrics| async move {
        // As a transport answers `Content-Length: 999999999999` with 413 before reading it.
        let huge = Request::post("/mcp")
            .header(header::CONTENT_LENGTH, "999999999999")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let refusing = tower::service_fn(|request: Request<_>| async move {
            assert_eq!(http_body::Body::size_hint(request.body()).exact(), Some(0));
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            Ok::<_, Infallible>(response)
        });
        drop(
            HttpTelemetryLayer::new()
                .layer(refusing)
                .oneshot(huge)
                .await
                .unwrap(),
        );
        for status in [StatusCode::UNAUTHORIZED, StatusCode::PAYLOAD_TOO_LARGE] {
            let service = HttpTelemetryLayer::new().layer(respond(status, &[], ""));
            drop(
                service
                    .oneshot(post(r#"{"claimed":"size"}"#))
                    .await
                    .unwrap(),
            );
        }
        let snapshot = metrics.snapshot();
        assert!(
            snapshot
                .histogram("http.server.request.body.size", &[("method", "POST")])
                .is_empty()
        );
        // The refusals themselves are counted.
        let refused = [("method", "POST"), ("status", "413")];
        assert_eq!(
            snapshot
                .histogram("http.server.request.duration", &refused)
                .len(),
            2
        );
    });
}

#[test]
fn auth_and_rate_limit_refusals_are_counted() {
    run(|_capture, metrics| async move {
        let challenge = &[("www-authenticate", "Bearer error=\"insufficient_scope\"")];
        for (status, headers) in [
            (
                StatusCode::UNAUTHORIZED,
                &[("www-authenticate", "Bearer")][..],
            ),
            (StatusCode::FORBIDDEN, &challenge[..]),
            // The Host/Origin check's 403 has no challenge: not an auth refusal.
            (StatusCode::FORBIDDEN, &[][..]),
            (StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "1")][..]),
            (StatusCode::IM_A_TEAPOT, &[][..]),
        ] {
            let service = HttpTelemetryLayer::new().layer(respond(status, headers, ""));
            let response = service.oneshot(post("{}")).await.unwrap();
            drop(response);
        }
        // A 429 that restates an RPC-tier refusal was counted at that tier already.
        let restated = HttpTelemetryLayer::new().layer(tower::service_fn(|_| async {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response.extensions_mut().insert(mcp_core::RefusedAtRpcTier);
            Ok::<_, Infallible>(response)
        }));
        drop(restated.oneshot(post("{}")).await.unwrap());
        // Refusals that say what they are: mcp-auth's 403 without a challenge and its 400 are
        // authentication refusals; a 429 at a session cap is not a rate limit.
        for (status, refused_by) in [
            (StatusCode::FORBIDDEN, mcp_core::RefusedBy::Authentication),
            (StatusCode::BAD_REQUEST, mcp_core::RefusedBy::Authentication),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                mcp_core::RefusedBy::Authentication,
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                mcp_core::RefusedBy::SessionLimit,
            ),
        ] {
            let marked = HttpTelemetryLayer::new().layer(tower::service_fn(move |_| async move {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = status;
                response.extensions_mut().insert(refused_by);
                Ok::<_, Infallible>(response)
            }));
            drop(marked.oneshot(post("{}")).await.unwrap());
        }
        let snapshot = metrics.snapshot();
        let refused = "mcp.server.auth.refused";
        assert_eq!(snapshot.counter(refused, &[("reason", "unauthorized")]), 1);
        assert_eq!(snapshot.counter(refused, &[("reason", "forbidden")]), 2);
        assert_eq!(snapshot.counter(refused, &[("reason", "bad_request")]), 1);
        assert_eq!(snapshot.counter(refused, &[("reason", "unavailable")]), 1);
        assert_eq!(
            snapshot.counter("mcp.server.rate_limited", &[("tier", "http")]),
            1
        );
        let forbidden = [("method", "POST"), ("status", "403")];
        assert_eq!(
            snapshot
                .histogram("http.server.request.duration", &forbidden)
                .len(),
            3
        );
        // Uncommon statuses are labelled by class.
        let teapot = [("method", "POST"), ("status", "4xx")];
        assert_eq!(
            snapshot
                .histogram("http.server.request.duration", &teapot)
                .len(),
            1
        );
    });
}

fn sse_service(
    body: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<Bytes>>>>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<McpBody>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_request: Request<Full<Bytes>>| {
        let receiver = body.lock().unwrap().take().expect("one stream");
        async move {
            let mut response = Response::new(McpBody::stream(receiver));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/event-stream"),
            );
            Ok::<_, Infallible>(response)
        }
    })
}

#[test]
fn sse_streams_are_counted_open_until_dropped() {
    run(|capture, metrics| async move {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(receiver)));
        let service = HttpTelemetryLayer::new().layer(sse_service(slot));
        let request = Request::get("/mcp")
            .header("mcp-session-id", "abc")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        let kind = [("kind", "get")];
        assert_eq!(
            metrics
                .snapshot()
                .gauge("mcp.server.sse.streams.open", &kind),
            Some(1.0)
        );

        sender
            .send(Bytes::from_static(b"data: {}\n\n"))
            .await
            .unwrap();
        let mut body = response.into_body();
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "data: {}\n\n");
        // The client goes away with the stream still open.
        drop(body);

        let snapshot = metrics.snapshot();
        // Snapshots drain: the gauge shows the change since the previous one.
        assert_eq!(
            snapshot.gauge("mcp.server.sse.streams.open", &kind),
            Some(-1.0)
        );
        assert_eq!(
            snapshot
                .histogram("mcp.server.sse.stream.duration", &kind)
                .len(),
            1
        );
        let size = [("method", "GET"), ("status", "200")];
        assert_eq!(
            snapshot.histogram("http.server.response.body.size", &size),
            [10.0]
        );
        let opened = capture.events_named("stream_opened");
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].field("mcp.session.id"), Some("abc"));
        let closed = capture.events_named("stream_closed");
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].field("reason"), Some("client_disconnected"));
        assert_eq!(closed[0].field("bytes"), Some("10"));
    });
}

#[test]
fn an_sse_stream_that_ends_is_closed_as_completed() {
    run(|capture, metrics| async move {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(receiver)));
        let service = HttpTelemetryLayer::new().layer(sse_service(slot));
        let response = service.oneshot(post("{}")).await.unwrap();
        sender
            .send(Bytes::from_static(b"data: 1\n\n"))
            .await
            .unwrap();
        drop(sender);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "data: 1\n\n");

        let snapshot = metrics.snapshot();
        let kind = [("kind", "post")];
        assert_eq!(
            snapshot.gauge("mcp.server.sse.streams.open", &kind),
            Some(0.0)
        );
        assert_eq!(
            snapshot
                .histogram("mcp.server.sse.stream.duration", &kind)
                .len(),
            1
        );
        let closed = capture.events_named("stream_closed");
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].field("reason"), Some("completed"));
    });
}
