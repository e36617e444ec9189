//! The allow-list layer in front of a real router: hidden names, filtered lists, resolvers,
//! batches and malformed params.

use std::sync::Mutex;

use mcp_core::jsonrpc::codes;
use mcp_core::{Prompt, RequestContext, Resource, Router, Tool};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::batch::BatchLayer;

fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("users://{id}", "user")
            .handler(|m: mcp_core::TemplateMatch, _: RequestContext| async move { m.uri }),
        ResourceTemplate::new("admin://{id}", "admin")
            .handler(|m: mcp_core::TemplateMatch, _: RequestContext| async move { m.uri }),
    ]
}

fn router() -> Router {
    let mut builder = Router::builder();
    for name in ["public", "secret"] {
        builder = builder
            .tool(Tool::new(name).raw_handler(move |_, _: RequestContext| async move { name }))
            .prompt(
                Prompt::new(name).handler(move |_, _: RequestContext| async move {
                    vec![mcp_core::protocol::PromptMessage::user_text(name)]
                }),
            )
            .resource(
                Resource::new(format!("file:///{name}"), name)
                    .handler(|uri, _: RequestContext| async move { uri }),
            );
    }
    for template in templates() {
        builder = builder.resource_template(template);
    }
    builder.build()
}

/// The stack under test; `seen` records the params of every request reaching the router.
fn stack(
    layer: AllowListLayer,
    seen: Arc<Mutex<Vec<String>>>,
) -> impl Service<McpRequest, Response = McpResponse, Error = Infallible, Future: Send> + Clone {
    let router = router();
    let recorder = service_fn(move |request: McpRequest| {
        if let Some(params) = request.message.params() {
            seen.lock().unwrap().push(params.get().to_owned());
        }
        router.clone().oneshot(request)
    });
    ServiceBuilder::new()
        .layer(BatchLayer::new())
        .layer(layer)
        .service(recorder)
}

async fn send(
    service: &(impl Service<McpRequest, Response = McpResponse, Error = Infallible> + Clone),
    body: &str,
    version: ProtocolVersion,
    principal: Option<Principal>,
) -> String {
    let mut request = McpRequest::new(Message::parse(body.as_bytes()).unwrap(), version);
    if let Some(principal) = principal {
        request.extensions.insert(principal);
    }
    let response = service.clone().oneshot(request).await.unwrap();
    let mut out = Vec::new();
    response.write_json(&mut out);
    String::from_utf8(out).unwrap()
}

fn call(method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
}

fn restricted() -> Principal {
    Principal::new("alice").with_allow_list(
        AllowList::new()
            .tools(["public"])
            .prompts(["public"])
            .resources(["file:///public"])
            .resource_templates(["user"]),
    )
}

#[tokio::test]
async fn an_allowed_name_cannot_smuggle_a_hidden_one() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = stack(AllowListLayer::new(), Arc::clone(&seen));
    let v = ProtocolVersion::V2025_11_25;
    for (method, params) in [
        // A repeated name: the quick path reads the last one, the router refuses the repeat;
        // whichever comes first, the hidden tool does not run.
        ("tools/call", r#"{"name":"public","name":"secret"}"#),
        ("tools/call", r#"{"name":"secret","name":"public"}"#),
        ("tools/call", r#"{"name":"public","n\u0061me":"secret"}"#),
        ("prompts/get", r#"{"name":"public","name":"secret"}"#),
        (
            "resources/read",
            r#"{"uri":"file:///public","uri":"file:///secret"}"#,
        ),
        // Escaped first: the quick path steps aside and the whole shape is read.
        ("tools/call", r#"{"n\u0061me":"secret"}"#),
    ] {
        let answer = send(&service, &call(method, params), v, Some(restricted())).await;
        assert!(answer.contains(r#""error""#), "{method} {params}: {answer}");
        assert!(
            !answer.contains(r#""result""#),
            "{method} {params}: {answer}"
        );
    }
    // The allowed names themselves still run.
    let answer = send(
        &service,
        &call("tools/call", r#"{"name":"public"}"#),
        v,
        Some(restricted()),
    )
    .await;
    assert!(answer.contains(r#""text":"public""#), "{answer}");
}

#[tokio::test]
async fn hidden_names_fail_like_unknown_ones_and_never_reach_the_router() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = stack(
        AllowListLayer::new().resource_templates(templates()),
        Arc::clone(&seen),
    );
    let v = ProtocolVersion::V2025_11_25;
    let p = || Some(restricted());
    let hidden = send(
        &service,
        &call("tools/call", r#"{"name":"secret"}"#),
        v,
        p(),
    )
    .await;
    let unknown = send(&service, &call("tools/call", r#"{"name":"nope"}"#), v, p()).await;
    assert_eq!(hidden, unknown.replace("nope", "secret"));
    assert!(hidden.contains(r#""code":-32602,"message":"Unknown tool: secret""#));

    let hidden = send(
        &service,
        &call("prompts/get", r#"{"name":"secret"}"#),
        v,
        p(),
    )
    .await;
    let unknown = send(&service, &call("prompts/get", r#"{"name":"nope"}"#), v, p()).await;
    assert_eq!(hidden, unknown.replace("nope", "secret"));

    // Long names are cut short the same way: a hidden one gets the router's error exactly.
    let hidden = "secret".repeat(100);
    let unknown = "nopes_".repeat(100);
    for method in ["tools/call", "prompts/get"] {
        let params = |name: &str| format!(r#"{{"name":"{name}"}}"#);
        let restricted = send(&service, &call(method, &params(&hidden)), v, p()).await;
        let unrestricted = send(&service, &call(method, &params(&unknown)), v, None).await;
        assert!(restricted.len() < 400, "{restricted}");
        assert_eq!(restricted.len(), unrestricted.len(), "{method}");
    }

    for uri in ["file:///secret", "admin://7"] {
        let hidden = send(
            &service,
            &call("resources/read", &format!(r#"{{"uri":"{uri}"}}"#)),
            v,
            p(),
        )
        .await;
        let unknown = send(
            &service,
            &call("resources/read", r#"{"uri":"file:///nope"}"#),
            v,
            p(),
        )
        .await;
        assert_eq!(hidden, unknown.replace("file:///nope", uri));
        assert!(hidden.contains(&format!("{}", codes::RESOURCE_NOT_FOUND)));
    }
    let modern = send(
        &service,
        &call("resources/read", r#"{"uri":"file:///secret"}"#),
        ProtocolVersion::V2026_07_28,
        p(),
    )
    .await;
    assert!(modern.contains(r#""code":-32602"#), "{modern}");

    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|params| !params.contains("secret") && !params.contains("admin")),
        "{seen:?}"
    );

    // Allowed names work.
    let ok = send(
        &service,
        &call("tools/call", r#"{"name":"public"}"#),
        v,
        p(),
    )
    .await;
    assert!(ok.contains(r#""text":"public""#), "{ok}");
    let ok = send(
        &service,
        &call("resources/read", r#"{"uri":"users://1"}"#),
        v,
        p(),
    )
    .await;
    assert!(ok.contains("users://1") && ok.contains("contents"), "{ok}");
}

#[tokio::test]
async fn lists_are_filtered_and_unrestricted_callers_see_everything() {
    let service = stack(AllowListLayer::new(), Default::default());
    let v = ProtocolVersion::V2025_11_25;
    let list = call("tools/list", "{}");
    let filtered = send(&service, &list, v, Some(restricted())).await;
    assert!(
        filtered.contains("public") && !filtered.contains("secret"),
        "{filtered}"
    );
    let full = send(&service, &list, v, Some(Principal::new("root"))).await;
    assert!(full.contains("public") && full.contains("secret"), "{full}");
    let full = send(
        &service,
        &call("tools/call", r#"{"name":"secret"}"#),
        v,
        None,
    )
    .await;
    assert!(full.contains(r#""text":"secret""#), "{full}");
}

#[tokio::test]
async fn resolver_decides_and_batch_items_are_checked_one_by_one() {
    #[derive(Clone)]
    struct Plan(&'static str);
    let layer = AllowListLayer::with_resolver(|request: &McpRequest| {
        matches!(request.extensions.get::<Plan>(), Some(Plan("free")))
            .then(|| AllowList::new().tools(["public"]))
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = stack(layer, Arc::clone(&seen));
    let body = format!(
        "[{},{}]",
        call("tools/call", r#"{"name":"public"}"#),
        call("tools/call", r#"{"name":"secret"}"#).replace(r#""id":1"#, r#""id":2"#)
    );
    let mut request = McpRequest::new(
        Message::parse(body.as_bytes()).unwrap(),
        ProtocolVersion::V2025_03_26,
    );
    request.extensions.insert(Plan("free"));
    let mut out = Vec::new();
    service
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .write_json(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(r#""text":"public""#), "{out}");
    assert!(
        out.contains(r#""id":2,"error":{"code":-32602,"message":"Unknown tool: secret"}"#),
        "{out}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Without the plan the resolver abstains: the principal's list (none here) applies.
    let open = send(
        &service,
        &call("tools/call", r#"{"name":"secret"}"#),
        ProtocolVersion::V2025_03_26,
        None,
    )
    .await;
    assert!(open.contains(r#""text":"secret""#), "{open}");
}

#[tokio::test]
async fn malformed_params_are_left_to_the_router() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = stack(AllowListLayer::new(), Arc::clone(&seen));
    let out = send(
        &service,
        &call("tools/call", r#"{"name":"secret","requestState":5}"#),
        ProtocolVersion::V2025_11_25,
        Some(restricted()),
    )
    .await;
    assert!(out.contains("Invalid params for tools/call"), "{out}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}
