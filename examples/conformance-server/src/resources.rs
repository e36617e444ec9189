//! Resources and the resource template of the conformance suites
//! (docs/conformance-expectations.md §3.3). Unknown URIs are answered by the router with
//! `-32602` and `data: {"uri": ...}`.

use mcp_core::protocol::ResourceContents;
use mcp_core::{RequestContext, Resource, ResourceTemplate, TemplateMatch};

use crate::TEST_IMAGE_BASE64;

/// The static resources, in listing order (`caching` reads the first one).
pub(crate) fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "static-text")
            .title("Static Text Resource")
            .description("A static text resource for testing")
            .mime_type("text/plain")
            .handler(|_uri: String, _: RequestContext| async {
                "This is the content of the static text resource."
            }),
        Resource::new("test://static-binary", "static-binary")
            .title("Static Binary Resource")
            .description("A static binary resource (a 1x1 PNG) for testing")
            .mime_type("image/png")
            .handler(|uri: String, _: RequestContext| async move {
                ResourceContents::blob(uri, "image/png".to_owned(), TEST_IMAGE_BASE64)
            }),
        Resource::new("test://watched-resource", "watched-resource")
            .title("Watched Resource")
            .description("A resource clients can subscribe to")
            .mime_type("text/plain")
            .handler(|_uri: String, _: RequestContext| async { "Watched resource content" }),
    ]
}

/// `test://template/{id}/data`.
pub(crate) fn template() -> ResourceTemplate {
    ResourceTemplate::new("test://template/{id}/data", "template")
        .title("Resource Template")
        .description("A resource template with parameter substitution")
        .mime_type("application/json")
        .handler(|m: TemplateMatch, _: RequestContext| async move {
            let id = m.variables.get("id").cloned().unwrap_or_default();
            serde_json::json!({
                "id": id,
                "templateTest": true,
                "data": format!("Data for ID: {id}"),
            })
            .to_string()
        })
}
