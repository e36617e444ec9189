//! Per-caller tool sets: decides which [`AllowList`] applies to a request, puts it into the
//! request extensions (where the [`Router`](mcp_core::Router) filters `*/list` results and
//! capabilities with it), and refuses calls of hidden names itself, with exactly the error an
//! unknown name gets, so that the layers below never see them.
//!
//! The allow-list comes from a resolver (per billing plan, per session, ...) when one is
//! configured and returns one; otherwise from an `AllowList` already in the extensions;
//! otherwise from the authenticated [`Principal`]. No allow-list means no restriction.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use mcp_core::jsonrpc::Message;
//! use mcp_core::{AllowList, McpRequest, Principal, ProtocolVersion, RequestContext, Router, Tool};
//! use mcp_tower::AllowListLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let router = Router::builder()
//!     .tool(Tool::new("search").raw_handler(|_, _: RequestContext| async { "found" }))
//!     .tool(Tool::new("delete").raw_handler(|_, _: RequestContext| async { "gone" }))
//!     .build();
//! // Free-plan callers (a `Plan` value some outer layer inserted) only get `search`.
//! #[derive(Clone)]
//! struct Plan(&'static str);
//! let service = ServiceBuilder::new()
//!     .layer(AllowListLayer::with_resolver(|request: &McpRequest| {
//!         match request.extensions.get::<Plan>() {
//!             Some(Plan("free")) => Some(AllowList::new().tools(["search"])),
//!             _ => None,
//!         }
//!     }))
//!     .service(router);
//!
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete"}}"#;
//! let mut request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
//! request.extensions.insert(Plan("free"));
//! let response = service.oneshot(request).await.unwrap();
//! let error = response.as_single().unwrap().error_object().unwrap();
//! assert_eq!(error.message, "Unknown tool: delete");
//! # }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mcp_core::jsonrpc::{ErrorObject, Member, Message, Response, quoted};
use mcp_core::protocol::{ClientCapabilities, LoggingLevel, ProgressToken};
use mcp_core::{AllowList, McpRequest, McpResponse, Principal, ProtocolVersion, ResourceTemplate};
use pin_project_lite::pin_project;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tower_layer::Layer;
use tower_service::Service;

/// Decides which [`AllowList`] applies to a request (`None`: this resolver has no opinion).
///
/// Implemented for every `Fn(&McpRequest) -> Option<AllowList>`; implement it on a type when
/// the decision needs state of its own (a plan table, a session store).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::collections::HashMap;
///
/// use mcp_core::jsonrpc::Message;
/// use mcp_core::{AllowList, McpRequest, Principal, ProtocolVersion, RequestContext, Router, Tool};
/// use mcp_tower::{AllowListLayer, allow_list::ResolveAllowList};
/// use tower::{Layer, ServiceExt};
///
/// /// Each customer's tools, by the authenticated subject.
/// struct Plans(HashMap<String, AllowList>);
///
/// impl ResolveAllowList for Plans {
///     fn resolve(&self, request: &McpRequest) -> Option<AllowList> {
///         let subject = request.extensions.get::<Principal>()?.subject();
///         self.0.get(subject).cloned()
///     }
/// }
///
/// let plans = Plans(HashMap::from([("alice".to_owned(), AllowList::new().tools(["search"]))]));
/// # let tool = |name: &str| Tool::new(name).raw_handler(|_, _: RequestContext| async { "ok" });
/// let router = Router::builder().tool(tool("search")).tool(tool("delete")).build();
/// let service = AllowListLayer::with_resolver(plans).layer(router);
/// let list = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
/// let mut request = McpRequest::new(list, ProtocolVersion::V2025_11_25);
/// request.extensions.insert(Principal::new("alice"));
/// let response = service.oneshot(request).await.unwrap();
/// let result = response.as_single().unwrap().body.as_ref().unwrap().get();
/// assert!(result.contains(r#""name":"search""#) && !result.contains("delete"));
/// # }
/// ```
pub trait ResolveAllowList: Send + Sync + 'static {
    /// The allow-list for `request`, if this resolver decides it.
    fn resolve(&self, request: &McpRequest) -> Option<AllowList>;
}

impl<F> ResolveAllowList for F
where
    F: Fn(&McpRequest) -> Option<AllowList> + Send + Sync + 'static,
{
    fn resolve(&self, request: &McpRequest) -> Option<AllowList> {
        self(request)
    }
}

/// Applies allow-lists to the RPC tier; see the [module docs](self).
#[derive(Clone, Default)]
pub struct AllowListLayer {
    config: Arc<Config>,
}

#[derive(Clone, Default)]
struct Config {
    resolver: Option<Arc<dyn ResolveAllowList>>,
    /// The router's resource templates, when the user told us: without them we cannot tell
    /// whether a URI outside the allowed static resources would be served by a template.
    templates: Option<Vec<ResourceTemplate>>,
}

impl std::fmt::Debug for AllowListLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllowListLayer")
            .field("resolver", &self.config.resolver.is_some())
            .field("templates", &self.config.templates.as_ref().map(Vec::len))
            .finish()
    }
}

impl AllowListLayer {
    /// Applies the allow-list of the request's [`Principal`] (or an `AllowList` extension
    /// an outer layer inserted).
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks `resolver` first; when it returns `None`, falls back as [`AllowListLayer::new`].
    ///
    /// The resolver runs at the RPC tier, per call. A legacy session's notifications (list
    /// changes, resource updates) follow the list of its latest request, which the router
    /// records in the session, whichever layer set it. A `subscriptions/listen` stream's are
    /// filtered by the allow-list the transport sees when the stream opens: the
    /// [`Principal`]'s, or an `AllowList` extension inserted at the HTTP tier. To have a
    /// plan's list filter those too, put it on the principal (e.g.
    /// `JwtAuthenticatorBuilder::allow_list_from`).
    pub fn with_resolver(resolver: impl ResolveAllowList) -> Self {
        Self {
            config: Arc::new(Config {
                resolver: Some(Arc::new(resolver)),
                templates: None,
            }),
        }
    }

    /// The resource templates the router serves (the same ones given to its builder).
    ///
    /// With them the layer also refuses `resources/read` of hidden URIs itself. Without them a
    /// URI outside the allowed static resources might still be served by an allowed template,
    /// so such reads are passed on and the router refuses them (with the same error).
    pub fn resource_templates(
        mut self,
        templates: impl IntoIterator<Item = ResourceTemplate>,
    ) -> Self {
        Arc::make_mut(&mut self.config).templates = Some(templates.into_iter().collect());
        self
    }
}

impl<S> Layer<S> for AllowListLayer {
    type Service = AllowListService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AllowListService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`AllowListLayer`].
#[derive(Clone)]
pub struct AllowListService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for AllowListService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllowListService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Service<McpRequest> for AllowListService<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = Infallible>,
{
    type Response = McpResponse;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: McpRequest) -> Self::Future {
        let resolver = self.config.resolver.as_ref();
        if let Some(allow) = resolver.and_then(|r| r.resolve(&request)) {
            request.extensions.insert(allow);
        } else if request.extensions.get::<AllowList>().is_none() {
            // Made explicit so that layers below read one extension, whatever its source.
            let principal = request.extensions.get::<Principal>();
            if let Some(allow) = principal.and_then(Principal::allow_list).cloned() {
                request.extensions.insert(allow);
            }
        }
        if let Some(allow) = request.extensions.get::<AllowList>()
            && let Some(response) = self
                .config
                .refusal(&request.message, request.version, allow)
        {
            // Refused before the router, which records each request's list in its session:
            // the session's notifications follow this plan from now on too.
            if let Some(session) = request.extensions.get::<mcp_core::SessionHandle>() {
                session.set_allow_list(Some(allow));
            }
            return ResponseFuture {
                state: State::Refused {
                    response: Some(McpResponse::Single(response)),
                },
            };
        }
        ResponseFuture {
            state: State::Inner {
                future: self.inner.call(request),
            },
        }
    }
}

// The params of the three guarded methods, with the same shape the router parses: a request
// the router would reject as malformed is passed on, so hidden and unknown names fail alike.

#[derive(Deserialize)]
#[allow(dead_code)] // Fields are parsed only to mirror the router's validation.
struct MetaShape {
    #[serde(rename = "progressToken", default)]
    progress_token: Option<ProgressToken>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    client_capabilities: Option<ClientCapabilities>,
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        deserialize_with = "present_level"
    )]
    log_level: Option<LoggingLevel>,
}

/// A present `logLevel` must be a level: the router refuses `null` there too.
fn present_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<LoggingLevel>, D::Error> {
    LoggingLevel::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Fields are parsed only to mirror the router's validation.
struct CallShape<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    arguments: Option<IgnoredAny>,
    #[serde(rename = "_meta", default)]
    meta: Option<MetaShape>,
    #[serde(default)]
    input_responses: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    request_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Fields are parsed only to mirror the router's validation.
struct PromptShape<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    arguments: Option<BTreeMap<String, String>>,
    #[serde(rename = "_meta", default)]
    meta: Option<MetaShape>,
    #[serde(default)]
    input_responses: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    request_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Fields are parsed only to mirror the router's validation.
struct ReadShape<'a> {
    #[serde(borrow)]
    uri: Cow<'a, str>,
    #[serde(rename = "_meta", default)]
    meta: Option<MetaShape>,
    #[serde(default)]
    input_responses: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    request_state: Option<String>,
}

impl Config {
    /// The router's answer to a call of a hidden name, or `None` to pass the message on.
    fn refusal(
        &self,
        message: &Message,
        version: ProtocolVersion,
        allow: &AllowList,
    ) -> Option<Response> {
        let Message::Request(request) = message else {
            return None;
        };
        let params = request.params.as_ref()?;
        // Most calls name something allowed: the name alone passes them on, read from the
        // params' outline (kept for the router), without a parse. Only a refusal needs the
        // whole shape checked. Without an outline (an escaped key might spell the name), or
        // when the name is not a string, serde decides. Whichever value the router ends up
        // reading, a name that passes here is allowed, or the params are malformed (a
        // duplicate key) and the router refuses them.
        let target = |member| params.outline()?.string(member);
        let error = match request.method.as_str() {
            "tools/call" if target(Member::Name).is_some_and(|n| allow.allows_tool(&n)) => None,
            "prompts/get" if target(Member::Name).is_some_and(|n| allow.allows_prompt(&n)) => None,
            "resources/read" if target(Member::Uri).is_some_and(|u| allow.allows_resource(&u)) => {
                None
            }
            "tools/call" => {
                let params: CallShape<'_> = serde_json::from_str(params.get()).ok()?;
                (!allow.allows_tool(&params.name)).then(|| {
                    ErrorObject::invalid_params(format!("Unknown tool: {}", quoted(&params.name)))
                })
            }
            "prompts/get" => {
                let params: PromptShape<'_> = serde_json::from_str(params.get()).ok()?;
                (!allow.allows_prompt(&params.name)).then(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {}", quoted(&params.name)))
                })
            }
            "resources/read" => {
                let params: ReadShape<'_> = serde_json::from_str(params.get()).ok()?;
                self.resource_hidden(&params.uri, allow).then(|| {
                    ErrorObject::new(version.resource_not_found_code(), "Resource not found")
                        .with_data(serde_json::json!({ "uri": params.uri }))
                })
            }
            _ => None,
        }?;
        Some(Response::error(Some(request.id.clone()), error))
    }

    /// Whether the router is certain not to serve `uri` to this caller.
    fn resource_hidden(&self, uri: &str, allow: &AllowList) -> bool {
        if allow.allows_resource(uri) {
            return false;
        }
        let Some(templates) = &self.templates else {
            return false;
        };
        !templates.iter().any(|template| {
            allow.allows_resource_template(template.name()) && template.matches(uri).is_some()
        })
    }
}

pin_project! {
    /// The response future of [`AllowListService`].
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// Passed to the inner service.
        Inner {
            #[pin]
            future: F,
        },
        /// A hidden name, answered like an unknown one.
        Refused {
            response: Option<McpResponse>,
        },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<McpResponse, Infallible>>,
{
    type Output = Result<McpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => Poll::Ready(Ok(response.take().unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests;
