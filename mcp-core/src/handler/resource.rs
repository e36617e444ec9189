//! Static resources and resource templates (RFC 6570).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use super::BoxFuture;
use super::completion::Completions;
use super::uri_template::UriTemplate;
use crate::context::RequestContext;
use crate::jsonrpc::ErrorObject;
use crate::protocol::{self, Icon, ReadResourceResult, ResourceContents};

type ReadFn = dyn Fn(String, RequestContext) -> BoxFuture<'static, Result<ReadResourceResult, ErrorObject>>
    + Send
    + Sync;

type TemplateReadFn = dyn Fn(TemplateMatch, RequestContext) -> BoxFuture<'static, Result<ReadResourceResult, ErrorObject>>
    + Send
    + Sync;

/// A resource at a fixed URI.
///
/// ```
/// use mcp_core::{RequestContext, Resource};
///
/// let readme = Resource::new("file:///README.md", "readme")
///     .mime_type("text/markdown")
///     .handler(|_uri: String, _ctx: RequestContext| async { "# Hello" });
/// assert_eq!(readme.uri(), "file:///README.md");
/// ```
#[derive(Clone)]
pub struct Resource {
    pub(crate) definition: Arc<protocol::Resource>,
    pub(crate) read: Arc<ReadFn>,
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.definition.uri)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Resource`]. A handler returning text gets it wrapped in contents carrying
/// the URI read and the declared MIME type ([`IntoReadResult`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{RequestContext, Resource, Router};
/// use serde_json::json;
///
/// let readme = Resource::new("file:///README.md", "readme")
///     .description("The project's front page")
///     .mime_type("text/markdown")
///     .handler(|_uri: String, _ctx: RequestContext| async { "# Hello" });
/// let router = Router::builder().resource(readme).build();
///
/// let listed = call(&router, "resources/list", json!({})).await;
/// assert_eq!(listed["result"]["resources"][0]["mimeType"], "text/markdown");
/// let read = call(&router, "resources/read", json!({"uri": "file:///README.md"})).await;
/// assert_eq!(read["result"]["contents"], json!([{"uri": "file:///README.md", "mimeType": "text/markdown", "text": "# Hello"}]));
/// # }
/// # async fn call(router: &mcp_core::Router, method: &str, params: serde_json::Value) -> serde_json::Value {
/// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
/// #     use tower::ServiceExt;
/// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
/// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
/// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// #     serde_json::from_slice(&response.to_vec()).unwrap()
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ResourceBuilder {
    definition: protocol::Resource,
}

impl Resource {
    /// Starts a resource at `uri` named `name`.
    // `Tool::new(..)...handler(..)` reads best; the builder finishes into `Self`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> ResourceBuilder {
        ResourceBuilder {
            definition: protocol::Resource::new(uri, name),
        }
    }

    /// The resource's URI.
    pub fn uri(&self) -> &str {
        &self.definition.uri
    }

    /// The definition advertised in `resources/list`.
    pub fn definition(&self) -> &protocol::Resource {
        &self.definition
    }
}

impl ResourceBuilder {
    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.definition.title = Some(title.into());
        self
    }

    /// A description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition.description = Some(description.into());
        self
    }

    /// The MIME type of the contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.definition.mime_type = Some(mime_type.into());
        self
    }

    /// The size in bytes, if known.
    pub fn size(mut self, size: u64) -> Self {
        self.definition.size = Some(size);
        self
    }

    /// Adds an icon.
    pub fn icon(mut self, icon: Icon) -> Self {
        self.definition
            .icons
            .get_or_insert_with(Vec::new)
            .push(icon);
        self
    }

    /// Attaches the read handler; it gets the URI read.
    pub fn handler<F, Fut, R>(self, handler: F) -> Resource
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReadResult,
    {
        if !looks_like_uri(&self.definition.uri) {
            // The schema's `"format": "uri"`: clients may refuse or mangle the listing.
            tracing::warn!(
                resource = %self.definition.uri,
                "resource URIs should be absolute URIs (a scheme, then no spaces or controls)"
            );
        }
        let mime = self.definition.mime_type.clone();
        Resource {
            definition: Arc::new(self.definition),
            read: Arc::new(move |uri, ctx| {
                let future = handler(uri.clone(), ctx);
                let mime = mime.clone();
                Box::pin(async move { future.await.into_read_result(&uri, mime.as_deref()) })
            }),
        }
    }
}

/// Whether `uri` has a scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`, then
/// `:`) and holds no space or control character.
fn looks_like_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A concrete URI matched by a template, with its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMatch {
    /// The URI read.
    pub uri: String,
    /// The template variables, by name.
    pub variables: BTreeMap<String, String>,
}

/// A family of resources described by an RFC 6570 URI template.
///
/// ```
/// use mcp_core::{RequestContext, ResourceTemplate, TemplateMatch};
///
/// let data = ResourceTemplate::new("test://template/{id}/data", "data")
///     .mime_type("application/json")
///     .complete("id", |prefix, _resolved, _ctx| async move {
///         ["1", "2", "10"].iter().filter(|v| v.starts_with(&prefix)).map(|v| v.to_string()).collect()
///     })
///     .handler(|m: TemplateMatch, _ctx: RequestContext| async move {
///         format!(r#"{{"id":"{}"}}"#, m.variables["id"])
///     });
/// assert_eq!(data.uri_template(), "test://template/{id}/data");
/// ```
#[derive(Clone)]
pub struct ResourceTemplate {
    pub(crate) definition: Arc<protocol::ResourceTemplate>,
    pub(crate) template: Arc<UriTemplate>,
    pub(crate) read: Arc<TemplateReadFn>,
    pub(crate) completions: Completions,
}

impl std::fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("uri_template", &self.definition.uri_template)
            .finish_non_exhaustive()
    }
}

/// Configures a [`ResourceTemplate`]. The handler gets the URI read and the template's
/// variables taken from it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{RequestContext, ResourceTemplate, Router, TemplateMatch};
/// use serde_json::json;
///
/// let user = ResourceTemplate::new("users://{id}/profile", "user profile")
///     .mime_type("application/json")
///     .handler(|m: TemplateMatch, _ctx: RequestContext| async move {
///         json!({"id": m.variables["id"]}).to_string()
///     });
/// let router = Router::builder().resource_template(user).build();
///
/// let listed = call(&router, "resources/templates/list", json!({})).await;
/// assert_eq!(listed["result"]["resourceTemplates"][0]["uriTemplate"], "users://{id}/profile");
/// let read = call(&router, "resources/read", json!({"uri": "users://42/profile"})).await;
/// assert_eq!(read["result"]["contents"][0]["text"], r#"{"id":"42"}"#);
/// assert_eq!(read["result"]["contents"][0]["uri"], "users://42/profile");
/// # }
/// # async fn call(router: &mcp_core::Router, method: &str, params: serde_json::Value) -> serde_json::Value {
/// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
/// #     use tower::ServiceExt;
/// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
/// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
/// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// #     serde_json::from_slice(&response.to_vec()).unwrap()
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ResourceTemplateBuilder {
    definition: protocol::ResourceTemplate,
    completions: Completions,
}

impl ResourceTemplate {
    /// Starts a template. `uri_template` is an RFC 6570 template, read as
    /// [`UriTemplate::parse`](crate::UriTemplate::parse) reads it (every operator; not explode
    /// in `;`, `?` and `&`); [`handler`](ResourceTemplateBuilder::handler) panics on one it
    /// refuses, so check a template that comes from configuration with `UriTemplate::parse`
    /// first.
    // `Tool::new(..)...handler(..)` reads best; the builder finishes into `Self`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        uri_template: impl Into<String>,
        name: impl Into<String>,
    ) -> ResourceTemplateBuilder {
        ResourceTemplateBuilder {
            definition: protocol::ResourceTemplate::new(uri_template, name),
            completions: Completions::default(),
        }
    }

    /// The template text.
    pub fn uri_template(&self) -> &str {
        &self.definition.uri_template
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The definition advertised in `resources/templates/list`.
    pub fn definition(&self) -> &protocol::ResourceTemplate {
        &self.definition
    }

    /// Matches a concrete URI.
    pub fn matches(&self, uri: &str) -> Option<TemplateMatch> {
        self.template.matches(uri).map(|variables| TemplateMatch {
            uri: uri.to_owned(),
            variables,
        })
    }
}

impl ResourceTemplateBuilder {
    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.definition.title = Some(title.into());
        self
    }

    /// A description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition.description = Some(description.into());
        self
    }

    /// The MIME type of the contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.definition.mime_type = Some(mime_type.into());
        self
    }

    /// Completion for the template variable `variable`: `(partial, resolved, ctx) → values`.
    pub fn complete<F, Fut>(mut self, variable: impl Into<String>, complete: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completions.add(variable, complete);
        self
    }

    /// Completion for the template variable `variable` that fetches a page of its matches:
    /// `(partial, resolved, ctx) →` a [`Completion`](protocol::Completion) with the values and
    /// the number of matches in all (`total`) or that there are more (`has_more`).
    pub fn complete_page<F, Fut>(mut self, variable: impl Into<String>, complete: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = protocol::Completion> + Send + 'static,
    {
        self.completions.add(variable, complete);
        self
    }

    /// Attaches the read handler; it gets the matched URI and variables.
    ///
    /// # Panics
    ///
    /// When the template text is not one [`UriTemplate::parse`](crate::UriTemplate::parse)
    /// accepts, or a completion names a variable the template does not have.
    pub fn handler<F, Fut, R>(self, handler: F) -> ResourceTemplate
    where
        F: Fn(TemplateMatch, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReadResult,
    {
        let owner = format!("resource template {}", self.definition.name);
        let template = UriTemplate::parse(&self.definition.uri_template)
            .unwrap_or_else(|e| panic!("{owner}: {e}"));
        let variables: Vec<&str> = template.variables().collect();
        self.completions
            .assert_declared(&owner, "variable", variables.iter().copied());
        let mime = self.definition.mime_type.clone();
        ResourceTemplate {
            definition: Arc::new(self.definition),
            template: Arc::new(template),
            completions: self.completions,
            read: Arc::new(move |matched, ctx| {
                let uri = matched.uri.clone();
                let future = handler(matched, ctx);
                let mime = mime.clone();
                Box::pin(async move { future.await.into_read_result(&uri, mime.as_deref()) })
            }),
        }
    }
}

/// Anything a read handler may return.
pub trait IntoReadResult: Send {
    /// Converts into the result, given the URI read and the declared MIME type.
    fn into_read_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, ErrorObject>;
}

impl IntoReadResult for ReadResourceResult {
    fn into_read_result(self, _: &str, _: Option<&str>) -> Result<ReadResourceResult, ErrorObject> {
        Ok(self)
    }
}

impl IntoReadResult for ResourceContents {
    fn into_read_result(self, _: &str, _: Option<&str>) -> Result<ReadResourceResult, ErrorObject> {
        Ok(ReadResourceResult::new(vec![self]))
    }
}

impl IntoReadResult for Vec<ResourceContents> {
    fn into_read_result(self, _: &str, _: Option<&str>) -> Result<ReadResourceResult, ErrorObject> {
        Ok(ReadResourceResult::new(self))
    }
}

impl IntoReadResult for String {
    fn into_read_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, ErrorObject> {
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            uri,
            mime_type.map(str::to_owned),
            self,
        )]))
    }
}

impl IntoReadResult for &'static str {
    fn into_read_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, ErrorObject> {
        self.to_owned().into_read_result(uri, mime_type)
    }
}

impl<R: IntoReadResult> IntoReadResult for Result<R, ErrorObject> {
    fn into_read_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, ErrorObject> {
        self?.into_read_result(uri, mime_type)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_have_a_scheme_and_no_spaces() {
        for uri in [
            "file:///a.txt",
            "test://x/y",
            "urn:isbn:0451450523",
            "git+ssh://h/r",
        ] {
            assert!(super::looks_like_uri(uri), "{uri}");
        }
        for not in [
            "not a uri",
            "/relative/path",
            "1abc://x",
            "a b:c",
            "file:///a\nb",
            "",
        ] {
            assert!(!super::looks_like_uri(not), "{not:?}");
        }
    }
}
