use http::{HeaderValue, Uri};
use tower::ServiceExt;

use super::*;

/// An HTTP/1.1 request, or an HTTP/2 one (`:authority`, no `Host`) when `uri` has an
/// authority and there is no `host`.
fn refusal(config: &HostOriginLayer, host: Option<HeaderValue>, uri: &str) -> Option<Refusal> {
    let mut headers = HeaderMap::new();
    let uri = uri.parse::<Uri>().expect("uri");
    let version = match host {
        Some(host) => {
            headers.insert(header::HOST, host);
            http::Version::HTTP_11
        }
        None if uri.authority().is_some() => http::Version::HTTP_2,
        None => http::Version::HTTP_11,
    };
    config.config.refusal(&headers, &uri, version)
}

fn host_allowed(config: &HostOriginLayer, host: Option<HeaderValue>, uri: &str) -> bool {
    match refusal(config, host, uri) {
        None => true,
        Some(refusal) => {
            assert_eq!(refusal, Refusal::Host);
            false
        }
    }
}

fn host(value: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(value).expect("value"))
}

#[test]
fn hosts_are_matched_without_port_and_case() {
    let loopback = HostOriginLayer::new();
    let named = HostOriginLayer::new().allow_host("MCP.example.com");
    for allowed in [
        "127.0.0.1:8080",
        "127.0.0.1",
        "localhost:3000",
        "LocalHost",
        "[::1]:9000",
        "[::1]",
        // An empty port is valid in a Host (RFC 3986 `port = *DIGIT`).
        "localhost:",
    ] {
        assert!(host_allowed(&loopback, host(allowed), "/mcp"), "{allowed}");
    }
    for refused in [
        "evil.example.com",
        "127.0.0.2:8080",
        "localhost.evil.com",
        "[::2]:80",
        "",
    ] {
        assert!(!host_allowed(&loopback, host(refused), "/mcp"), "{refused}");
    }
    assert!(host_allowed(&named, host("mcp.EXAMPLE.com:443"), "/mcp"));
    assert!(!host_allowed(&loopback, host("mcp.example.com"), "/mcp"));
    // A byte outside ASCII matches no name.
    let latin1 = HeaderValue::from_bytes(b"localhost\xff").expect("obs-text is allowed");
    assert!(!host_allowed(&loopback, Some(latin1), "/mcp"));
    // Without a Host header (HTTP/2), the URI's authority is checked.
    assert!(host_allowed(&loopback, None, "http://localhost:8080/mcp"));
    // Neither: a malformed HTTP/1.1 request (400); an HTTP/1.0 one is only not ours.
    assert_eq!(refusal(&loopback, None, "/mcp"), Some(Refusal::MissingHost));
    // HTTP/1.1 needs its Host in absolute-form too, and when any host is allowed.
    let http11 = |config: &HostOriginLayer, uri: &'static str| {
        config.config.refusal(
            &HeaderMap::new(),
            &Uri::from_static(uri),
            http::Version::HTTP_11,
        )
    };
    let any_host = HostOriginLayer::new().allow_any_host();
    for (config, uri) in [
        (&loopback, "http://localhost/mcp"),
        (&any_host, "/mcp"),
        (&any_host, "http://localhost/mcp"),
    ] {
        assert_eq!(http11(config, uri), Some(Refusal::MissingHost), "{uri}");
    }
    let http10 = loopback.config.refusal(
        &HeaderMap::new(),
        &Uri::from_static("/mcp"),
        http::Version::HTTP_10,
    );
    assert_eq!(http10, Some(Refusal::Host));
}

#[test]
fn host_is_parsed_strictly() {
    let loopback = HostOriginLayer::new();
    // Only `:` and at most five digits may follow the host: cutting at the first `:`
    // would read each of these as a loopback host.
    for refused in [
        "localhost:80@evil.example.com",
        "127.0.0.1:80@evil.example.com",
        "localhost:8080/evil",
        "localhost:80:80",
        "localhost:8o",
        "127.0.0.1:123456",
        "[::1]@evil.example.com",
        "[::1]:80@evil.example.com",
        "[::1",
        "::1",
    ] {
        // Not a host and port at all: 400, whether or not hosts are checked.
        for config in [&loopback, &HostOriginLayer::new().allow_any_host()] {
            let refused_as = refusal(config, host(refused), "/mcp");
            assert_eq!(refused_as, Some(Refusal::MalformedHost), "{refused}");
        }
    }
}

#[test]
fn repeated_host_is_a_bad_request() {
    // This test used to assert that the first Host counts (refused before Origin when it
    // is foreign): RFC 9112 §3.2 requires 400 for any second Host line, whichever is
    // first, identical values and absolute-form targets included.
    let loopback = HostOriginLayer::new();
    let any_host = HostOriginLayer::new().allow_any_host();
    for (first, second) in [
        ("127.0.0.1", "evil.example.com"),
        ("evil.example.com", "localhost"),
        ("localhost", "localhost"),
    ] {
        let mut headers = HeaderMap::new();
        headers.append(header::HOST, HeaderValue::from_static(first));
        headers.append(header::HOST, HeaderValue::from_static(second));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example.com"),
        );
        for uri in ["/mcp", "http://localhost/mcp"] {
            for config in [&loopback, &any_host] {
                assert_eq!(
                    config
                        .config
                        .refusal(&headers, &Uri::from_static(uri), http::Version::HTTP_11),
                    Some(Refusal::RepeatedHost),
                    "{first}, {second}, {uri}"
                );
            }
        }
    }
}

#[test]
fn absolute_form_target_is_checked_instead_of_host() {
    let loopback = HostOriginLayer::new();
    // RFC 9112 §3.2.2: the target's authority counts, the Host is ignored.
    for (host_value, uri) in [
        (Some("127.0.0.1"), "http://evil.example/mcp"),
        (Some("localhost"), "http://evil.example:8080/mcp"),
        (None, "http://evil.example.com/mcp"),
        // Userinfo must not pass for a loopback host.
        (Some("127.0.0.1"), "http://localhost:80@evil.example/mcp"),
        (Some("127.0.0.1"), "http://localhost@evil.example/mcp"),
    ] {
        assert_eq!(
            refusal(&loopback, host_value.and_then(host), uri),
            Some(Refusal::Authority),
            "{host_value:?} {uri}"
        );
    }
    // This used to be refused, by its Host, when the Host was what counted; the loopback
    // target is what the request is for, and the Host is ignored.
    assert_eq!(
        refusal(&loopback, host("evil.example.com"), "http://localhost/mcp"),
        None
    );
    // HTTP/2 puts `:authority` in the URI, often without a Host header.
    for uri in [
        "http://127.0.0.1:8080/mcp",
        "http://localhost/mcp",
        "https://[::1]:8443/mcp",
    ] {
        assert_eq!(refusal(&loopback, None, uri), None, "{uri}");
        assert_eq!(refusal(&loopback, host("127.0.0.1"), uri), None, "{uri}");
    }
    let named = HostOriginLayer::new().allow_host("mcp.example.com");
    assert_eq!(
        refusal(&named, None, "https://MCP.example.com:443/mcp"),
        None
    );
    let any_host = HostOriginLayer::new().allow_any_host();
    assert_eq!(refusal(&any_host, None, "http://evil.example/mcp"), None);
}

#[test]
fn origins_must_be_loopback_or_listed() {
    let config = HostOriginLayer::new().allow_origin("https://app.example.com/");
    let allowed = |origin: Option<&str>| {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        if let Some(origin) = origin {
            let origin = HeaderValue::from_str(origin).expect("value");
            headers.append(header::ORIGIN, origin);
            // Only the first counts, as `HeaderMap::get` gives it.
            headers.append(header::ORIGIN, HeaderValue::from_static("http://localhost"));
        }
        match config
            .config
            .refusal(&headers, &Uri::from_static("/mcp"), http::Version::HTTP_11)
        {
            None => true,
            Some(refusal) => {
                assert_eq!(refusal, Refusal::Origin);
                false
            }
        }
    };
    assert!(allowed(None));
    for origin in [
        "http://localhost:5173",
        "http://localhost",
        "HTTP://LOCALHOST:1",
        "http://127.0.0.1:65535",
        "https://[::1]",
        "http://[::1]:8080",
        "https://APP.example.com",
    ] {
        assert!(allowed(Some(origin)), "{origin}");
    }
    for origin in [
        "http://evil.example.com",
        "file://localhost",
        "null",
        // `scheme "://" host [ ":" port ]` only (RFC 6454 §7).
        "http://localhost:80@evil.com",
        "http://localhost@evil.com",
        "http://[::1]:80@evil.com",
        "http://[::1]@evil.com",
        "http://localhost/",
        "http://localhost:8080/evil",
        "http://localhost:",
        "http://localhost:8o",
        "http://localhost:123456",
        "http://localhost:80:80",
        "http://[::1",
        "http://[::1]x",
    ] {
        assert!(!allowed(Some(origin)), "{origin}");
    }
}

#[tokio::test]
async fn refusals_are_json_rpc_errors() {
    let inner = tower::service_fn(|_: Request<()>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(b"inner")))
    });
    let service = HostOriginLayer::new().layer(inner);
    let send = |headers: &[(&'static str, &'static str)], uri: &'static str| {
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        service.clone().oneshot(request.body(()).expect("request"))
    };
    // (headers, request target, status, JSON-RPC code and message)
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        u16,
        Option<(i64, &'static str)>,
    );
    let cases: [Case; 5] = [
        (&[("host", "127.0.0.1:3000")], "/mcp", 200, None),
        (
            &[("host", "127.0.0.1"), ("host", "evil.example.com")],
            "/mcp",
            400,
            Some((-32600, "Bad Request: more than one Host header")),
        ),
        (
            &[("host", "evil.example.com")],
            "/mcp",
            403,
            Some((-32000, "Forbidden: Host header is not allowed")),
        ),
        (
            &[("host", "127.0.0.1")],
            "http://evil.example/mcp",
            403,
            Some((-32000, "Forbidden: request target authority is not allowed")),
        ),
        (
            &[
                ("host", "127.0.0.1"),
                ("origin", "http://localhost:80@evil.com"),
            ],
            "/mcp",
            403,
            Some((-32000, "Forbidden: Origin is not allowed")),
        ),
    ];
    for (headers, uri, status, error) in cases {
        let response = send(headers, uri).await.expect("infallible");
        assert_eq!(response.status().as_u16(), status, "{headers:?} {uri}");
        let body = response.into_body();
        match error {
            None => assert_eq!(body, "inner"),
            Some((code, message)) => {
                let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
                assert_eq!(body["error"]["code"], code);
                assert_eq!(body["error"]["message"], message);
            }
        }
    }
}
