//! The core dispatch service: JSON-RPC method → tools, resources, prompts, completion, ...

mod dispatch;
mod encode;
mod future;
mod handlers;
mod inputs;
pub(crate) mod objects;
mod params;
mod registry;
mod task_relay;
mod task_run;
mod tasks;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::event::ServerEvent;
use crate::handler::{Prompt, Resource, ResourceTemplate, Tool};
use crate::input::RequestStateSealer;
use crate::protocol::Implementation;
use crate::request::{McpRequest, McpResponse};
use registry::Registry;

pub use encode::CachePolicy;
pub use future::RouterFuture;

/// The default number of items per `*/list` page.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The method-dispatch [`tower::Service`](tower_service::Service) at the heart of a server.
///
/// Cheap to clone (an `Arc` inside), always ready, never fails: every problem is a JSON-RPC
/// error response. Tools, resources and prompts can be added and removed at runtime; the
/// change is announced on [`Router::events`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{Json, McpRequest, McpResponse, ProtocolVersion, RequestContext, Router, Tool};
/// use mcp_core::jsonrpc::Message;
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Add { a: i64, b: i64 }
///
/// let router = Router::builder()
///     .name("calculator", "1.0.0")
///     .tool(Tool::new("add").handler(|Json(x): Json<Add>, _: RequestContext| async move {
///         (x.a + x.b).to_string()
///     }))
///     .build();
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
/// let message = Message::parse(body).unwrap();
/// let response = router.oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
/// let McpResponse::Single(response) = response else { unreachable!() };
/// assert_eq!(response.body.unwrap().get(), r#"{"content":[{"type":"text","text":"5"}]}"#);
/// # }
/// ```
#[derive(Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("server_info", &self.inner.server_info)
            .finish_non_exhaustive()
    }
}

pub(crate) struct RouterInner {
    pub(crate) server_info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Registry<Tool>,
    pub(crate) resources: Registry<Resource>,
    pub(crate) templates: Registry<ResourceTemplate>,
    pub(crate) prompts: Registry<Prompt>,
    pub(crate) page_size: usize,
    pub(crate) cache: CachePolicy,
    pub(crate) events: broadcast::Sender<ServerEvent>,
    pub(crate) sealer: RequestStateSealer,
    pub(crate) client_request_timeout: Duration,
    pub(crate) tasks: crate::tasks::TaskStore,
    /// `{"io.modelcontextprotocol/serverInfo":{...}}`, encoded once.
    pub(crate) server_info_meta: Option<Box<serde_json::value::RawValue>>,
    /// See [`Router::names_revision`].
    names_revision: AtomicU64,
}

impl RouterInner {
    /// What serves `uri`: whether a static resource has it, and the names of the resource
    /// templates that match it.
    pub(crate) fn served_by(&self, uri: &str) -> (bool, Vec<String>) {
        let is_static = self.resources.load().get(uri).is_some();
        let templates = self
            .templates
            .load()
            .values()
            .filter(|e| e.item.matches(uri).is_some())
            .map(|e| e.item.name().to_owned())
            .collect();
        (is_static, templates)
    }
}

/// Revisions are drawn from one counter for the process, so that no two routers (or two
/// states of one router) share one.
fn next_revision() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Configures a [`Router`].
pub struct RouterBuilder {
    server_info: Implementation,
    instructions: Option<String>,
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
    page_size: usize,
    cache: CachePolicy,
    event_capacity: usize,
    sealer: Option<RequestStateSealer>,
    client_request_timeout: Duration,
    tasks: crate::tasks::TaskConfig,
    server_info_in_results: bool,
}

impl std::fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("server_info", &self.server_info)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// Starts configuring a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder {
            server_info: Implementation::new("mcp-tower", env!("CARGO_PKG_VERSION")),
            instructions: None,
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            cache: CachePolicy::default(),
            event_capacity: 1024,
            sealer: None,
            client_request_timeout: crate::context::DEFAULT_CLIENT_REQUEST_TIMEOUT,
            tasks: crate::tasks::TaskConfig::default(),
            server_info_in_results: true,
        }
    }

    /// Adds or replaces a tool at runtime and announces `tools/list_changed`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::{RequestContext, Router, ServerEvent, Tool};
    ///
    /// let router = Router::builder().build();
    /// let mut events = router.events(); // what the transports listen to
    /// router.add_tool(Tool::new("late").raw_handler(|_, _: RequestContext| async { "here" }));
    /// assert!(router.has_tool("late"));
    /// assert_eq!(events.recv().await.unwrap(), ServerEvent::ToolsListChanged { name: "late".into() });
    /// assert!(router.remove_tool("late"));
    /// assert!(!router.remove_tool("late")); // gone: nothing to announce
    /// assert_eq!(events.recv().await.unwrap(), ServerEvent::ToolsListChanged { name: "late".into() });
    /// assert!(events.try_recv().is_err());
    /// # }
    /// ```
    pub fn add_tool(&self, tool: Tool) {
        let name = insert_tool(&self.inner.tools, tool);
        self.list_changed(ServerEvent::ToolsListChanged { name });
    }

    /// Removes a tool; announces `tools/list_changed` when it existed.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.inner.tools.remove(name);
        if removed {
            self.list_changed(ServerEvent::ToolsListChanged {
                name: name.to_owned(),
            });
        }
        removed
    }

    /// Adds or replaces a resource and announces `resources/list_changed`.
    pub fn add_resource(&self, resource: Resource) {
        self.inner.resources.insert(
            resource.uri().to_owned(),
            resource.clone(),
            resource.definition(),
        );
        self.list_changed(ServerEvent::ResourcesListChanged {
            uri: resource.uri().to_owned(),
        });
    }

    /// Removes a resource; announces `resources/list_changed` when it existed.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = self.inner.resources.remove(uri);
        if removed {
            self.list_changed(ServerEvent::ResourcesListChanged {
                uri: uri.to_owned(),
            });
        }
        removed
    }

    /// Adds or replaces a resource template (by its template text) and announces
    /// `resources/list_changed`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::{RequestContext, ResourceTemplate, Router, ServerEvent, TemplateMatch};
    ///
    /// let router = Router::builder().build();
    /// let mut events = router.events();
    /// router.add_resource_template(
    ///     ResourceTemplate::new("logs://{day}", "logs")
    ///         .handler(|m: TemplateMatch, _: RequestContext| async move { m.uri }),
    /// );
    /// let expected = ServerEvent::ResourceTemplatesListChanged { name: "logs".into() };
    /// assert_eq!(events.recv().await.unwrap(), expected);
    /// assert!(router.remove_resource_template("logs://{day}"));
    /// assert!(!router.remove_resource_template("logs://{day}"));
    /// # }
    /// ```
    pub fn add_resource_template(&self, template: ResourceTemplate) {
        self.inner.templates.insert(
            template.uri_template().to_owned(),
            template.clone(),
            template.definition(),
        );
        self.list_changed(ServerEvent::ResourceTemplatesListChanged {
            name: template.name().to_owned(),
        });
    }

    /// Removes the resource template with this template text; announces
    /// `resources/list_changed` when it existed.
    pub fn remove_resource_template(&self, uri_template: &str) -> bool {
        let removed = self
            .inner
            .templates
            .load()
            .get(uri_template)
            .map(|entry| entry.item.name().to_owned());
        let Some(name) = removed.filter(|_| self.inner.templates.remove(uri_template)) else {
            return false;
        };
        self.list_changed(ServerEvent::ResourceTemplatesListChanged { name });
        true
    }

    /// Adds or replaces a prompt and announces `prompts/list_changed`.
    pub fn add_prompt(&self, prompt: Prompt) {
        self.inner.prompts.insert(
            prompt.name().to_owned(),
            prompt.clone(),
            prompt.definition(),
        );
        self.list_changed(ServerEvent::PromptsListChanged {
            name: prompt.name().to_owned(),
        });
    }

    /// Removes a prompt; announces `prompts/list_changed` when it existed.
    pub fn remove_prompt(&self, name: &str) -> bool {
        let removed = self.inner.prompts.remove(name);
        if removed {
            self.list_changed(ServerEvent::PromptsListChanged {
                name: name.to_owned(),
            });
        }
        removed
    }

    /// Announces that the resource at `uri` changed (`notifications/resources/updated`) to
    /// its subscribers that may read it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::{RequestContext, ResourceTemplate, Router, ServerEvent, TemplateMatch};
    ///
    /// let logs = ResourceTemplate::new("logs://{day}", "logs")
    ///     .handler(|m: TemplateMatch, _: RequestContext| async move { m.uri });
    /// let router = Router::builder().resource_template(logs).build();
    /// let mut events = router.events();
    /// router.notify_resource_updated("logs://monday");
    /// // The event names what serves the URI, so that only subscribers allowed to read it hear.
    /// let ServerEvent::ResourceUpdated { uri, is_static, templates, .. } = events.recv().await.unwrap() else { panic!() };
    /// assert_eq!((uri.as_str(), is_static, templates), ("logs://monday", false, vec!["logs".to_owned()]));
    /// # }
    /// ```
    pub fn notify_resource_updated(&self, uri: impl Into<String>) {
        let uri = uri.into();
        let (is_static, templates) = self.inner.served_by(&uri);
        self.announce(ServerEvent::ResourceUpdated {
            uri,
            is_static,
            templates,
        });
    }

    /// Sends a server-level log message (`notifications/message`) to the sessions whose
    /// `logging/setLevel` admits it. Request-scoped logs go through
    /// [`RequestContext::log`](crate::RequestContext::log) instead.
    pub fn log(
        &self,
        level: crate::protocol::LoggingLevel,
        logger: Option<&str>,
        data: impl serde::Serialize,
    ) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        self.announce(ServerEvent::Log {
            level,
            logger: logger.map(str::to_owned),
            data,
        });
    }

    /// Subscribes to list changes, resource updates and server-level logs.
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.inner.events.subscribe()
    }

    /// The server's name and version.
    pub fn server_info(&self) -> &Implementation {
        &self.inner.server_info
    }

    /// Whether a tool with this name is registered (telemetry folds unknown names).
    pub fn has_tool(&self, name: &str) -> bool {
        self.inner.tools.load().contains_key(name)
    }

    /// Whether a resource with this URI is registered (not one a template matches: those are
    /// unbounded, and telemetry folds them).
    ///
    /// ```
    /// use mcp_core::{RequestContext, Resource, Router};
    ///
    /// let router = Router::builder()
    ///     .resource(Resource::new("test://about", "about").handler(|_uri: String, _: RequestContext| async { "about" }))
    ///     .build();
    /// assert!(router.has_resource("test://about"));
    /// assert!(!router.has_resource("test://elsewhere"));
    /// ```
    pub fn has_resource(&self, uri: &str) -> bool {
        self.inner.resources.load().contains_key(uri)
    }

    /// A number that changes whenever a tool, prompt or resource is added or removed, and that
    /// no other router in the process ever has: what [`has_tool`](Self::has_tool),
    /// [`has_prompt`](Self::has_prompt) and [`has_resource`](Self::has_resource) answered
    /// stays true while it is unchanged, so callers on a hot path can remember answers
    /// instead of asking again.
    ///
    /// ```
    /// use mcp_core::{Json, RequestContext, Router, Tool};
    ///
    /// let router = Router::builder().build();
    /// let before = router.names_revision();
    /// let tool = Tool::new("echo")
    ///     .handler(|Json(v): Json<serde_json::Value>, _: RequestContext| async move { v.to_string() });
    /// router.add_tool(tool);
    /// assert_ne!(router.names_revision(), before);
    /// assert_ne!(Router::builder().build().names_revision(), router.names_revision());
    /// ```
    pub fn names_revision(&self) -> u64 {
        // Acquire: whoever reads a revision sees the registries as they were when it was set.
        self.inner.names_revision.load(Ordering::Acquire)
    }

    /// Called after a registry changed: the names move on (a reader that sees the new
    /// revision sees the change, see `names_revision`), and `event` is announced.
    fn list_changed(&self, event: ServerEvent) {
        self.inner
            .names_revision
            .store(next_revision(), Ordering::Release);
        self.announce(event);
    }

    /// The tool registered under `name`.
    pub fn tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.load().get(name).map(|e| e.item.clone())
    }

    /// Whether a prompt with this name is registered.
    pub fn has_prompt(&self, name: &str) -> bool {
        self.inner.prompts.load().contains_key(name)
    }

    fn announce(&self, event: ServerEvent) {
        // No receiver is fine: nobody is listening yet.
        let _ = self.inner.events.send(event);
    }
}

impl RouterBuilder {
    /// The `serverInfo` name and version.
    pub fn name(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.server_info = Implementation::new(name, version);
        self
    }

    /// The full `serverInfo` (title, icons, website...).
    pub fn server_info(mut self, info: Implementation) -> Self {
        self.server_info = info;
        self
    }

    /// Whether 2026-07-28 results carry `_meta["io.modelcontextprotocol/serverInfo"]`, the
    /// server's name and version (default: yes, as the spec says servers SHOULD "unless
    /// specifically configured not to do so"). Turn it off to keep the server's software and
    /// version out of every response; `initialize` (legacy era) still names the server, since
    /// its result requires `serverInfo`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::jsonrpc::Message;
    /// use mcp_core::{McpRequest, ProtocolVersion, Router};
    /// use tower::ServiceExt;
    ///
    /// let router = Router::builder().server_info_in_results(false).build();
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"server/discover",
    ///     "params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    /// let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2026_07_28);
    /// let response = router.oneshot(request).await.unwrap();
    /// let result = response.as_single().unwrap().body.as_ref().unwrap().get();
    /// assert!(result.contains(r#""resultType":"complete""#));
    /// assert!(!result.contains("serverInfo"));
    /// # }
    /// ```
    pub fn server_info_in_results(mut self, include: bool) -> Self {
        self.server_info_in_results = include;
        self
    }

    /// Instructions for the model, returned by `initialize` / `server/discover`.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Registers a tool. Each name once: [`build`](Self::build) panics on a second tool of
    /// the same name ([`Router::add_tool`] replaces one at runtime).
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Registers a static resource. Each URI once, as for [`tool`](Self::tool).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Registers a resource template. Each template text once, as for [`tool`](Self::tool).
    pub fn resource_template(mut self, template: ResourceTemplate) -> Self {
        self.templates.push(template);
        self
    }

    /// Registers a prompt. Each name once, as for [`tool`](Self::tool).
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompts.push(prompt);
        self
    }

    /// Items per `*/list` page (default 100, at least 1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::{RequestContext, Router, Tool};
    /// use serde_json::json;
    ///
    /// let tool = |name: &str| Tool::new(name).raw_handler(|_, _: RequestContext| async { "" });
    /// let router = Router::builder().page_size(1).tool(tool("a")).tool(tool("b")).build();
    /// let first = call(&router, "tools/list", json!({})).await;
    /// assert_eq!(first["tools"].as_array().unwrap().len(), 1);
    /// let second = call(&router, "tools/list", json!({"cursor": first["nextCursor"]})).await;
    /// assert_eq!(second["tools"][0]["name"], "b");
    /// assert!(second.get("nextCursor").is_none());
    /// # }
    /// # async fn call(router: &mcp_core::Router, method: &str, params: serde_json::Value) -> serde_json::Value {
    /// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
    /// #     use tower::ServiceExt;
    /// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    /// #     let message = Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    /// #     let response = router.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
    /// #     serde_json::from_slice::<serde_json::Value>(&response.to_vec()).unwrap()["result"].clone()
    /// # }
    /// ```
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// `ttlMs` / `cacheScope` of modern-era lists and reads.
    pub fn cache_policy(mut self, cache: CachePolicy) -> Self {
        self.cache = cache;
        self
    }

    /// How many undelivered events a slow listener may fall behind before it misses some
    /// (default 1024). The transports end a 2026-07-28 subscription that falls further
    /// behind, with its closing result, so that its client listens again; legacy sessions are
    /// sent every `list_changed` and a `resources/updated` per subscription, so that their
    /// clients list and read again (server logs missed are lost).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The key sealing `requestState` (modern era); set the same key on every node, so a
    /// retry that lands on another node opens the state ([`RequestStateSealer`] shows one
    /// sealed and opened). Without it each router draws a random key. Panics when `key` is
    /// shorter than [`MIN_REQUEST_STATE_KEY_BYTES`](crate::MIN_REQUEST_STATE_KEY_BYTES).
    pub fn request_state_key(mut self, key: &[u8], max_age: Duration) -> Self {
        self.sealer = Some(RequestStateSealer::new(key, max_age));
        self
    }

    /// The sealer of `requestState`, for one that also opens the states of a key being
    /// retired ([`RequestStateSealer::also_opening`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_core::{RequestStateSealer, Router};
    ///
    /// let sealer = RequestStateSealer::new(b"the new key, at least 32 bytes long", Duration::from_secs(600))
    ///     .also_opening(b"the old key, at least 32 bytes long");
    /// let router = Router::builder().request_state_sealer(sealer).build();
    /// # let _ = router;
    /// ```
    pub fn request_state_sealer(mut self, sealer: RequestStateSealer) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// How long a server→client request waits for the client (default 60 s).
    pub fn client_request_timeout(mut self, timeout: Duration) -> Self {
        self.client_request_timeout = timeout;
        self
    }

    /// Limits of the task store (tools that declare task support).
    pub fn tasks(mut self, config: crate::tasks::TaskConfig) -> Self {
        self.tasks = config;
        self
    }

    /// Builds the router.
    ///
    /// # Panics
    ///
    /// When two tools or two prompts share a name, two resources a URI, or two resource
    /// templates their text: one would silently replace the other, and a server assembled
    /// from several modules would lose a definition without a word.
    ///
    /// ```should_panic
    /// use mcp_core::{RequestContext, Router, Tool};
    ///
    /// let tool = || Tool::new("add").raw_handler(|_, _: RequestContext| async { "3" });
    /// let _ = Router::builder().tool(tool()).tool(tool()).build(); // panics: `add` twice
    /// ```
    pub fn build(self) -> Router {
        refuse_duplicates("tool", self.tools.iter().map(Tool::name));
        refuse_duplicates("resource", self.resources.iter().map(Resource::uri));
        refuse_duplicates(
            "resource template",
            self.templates.iter().map(ResourceTemplate::uri_template),
        );
        refuse_duplicates("prompt", self.prompts.iter().map(Prompt::name));
        let (events, _) = broadcast::channel(self.event_capacity);
        let server_info_meta = self
            .server_info_in_results
            .then(|| encode::server_info_meta(&self.server_info));
        let inner = RouterInner {
            server_info: self.server_info,
            instructions: self.instructions,
            tools: Registry::default(),
            resources: Registry::default(),
            templates: Registry::default(),
            prompts: Registry::default(),
            page_size: self.page_size,
            cache: self.cache,
            events,
            sealer: self
                .sealer
                .unwrap_or_else(|| RequestStateSealer::random(Duration::from_secs(600))),
            client_request_timeout: self.client_request_timeout,
            tasks: crate::tasks::TaskStore::new(self.tasks),
            server_info_meta,
            names_revision: AtomicU64::new(next_revision()),
        };
        for tool in self.tools {
            insert_tool(&inner.tools, tool);
        }
        for resource in self.resources {
            let key = resource.uri().to_owned();
            inner
                .resources
                .insert(key, resource.clone(), resource.definition());
        }
        for template in self.templates {
            let key = template.uri_template().to_owned();
            inner
                .templates
                .insert(key, template.clone(), template.definition());
        }
        for prompt in self.prompts {
            let key = prompt.name().to_owned();
            inner
                .prompts
                .insert(key, prompt.clone(), prompt.definition());
        }
        Router {
            inner: Arc::new(inner),
        }
    }
}

impl tower_service::Service<McpRequest> for Router {
    type Response = McpResponse;
    type Error = Infallible;
    type Future = RouterFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        dispatch::dispatch(&self.inner, request)
    }
}

/// Panics when `keys` holds one twice (see [`RouterBuilder::build`]).
fn refuse_duplicates<'a>(kind: &str, keys: impl Iterator<Item = &'a str>) {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        assert!(
            seen.insert(key),
            "Router::builder: {kind} `{key}` is registered twice; each {kind} is registered \
             once (Router::add_* replace one at runtime)"
        );
    }
}

/// Registers `tool`, its definition encoded for both eras; returns its name.
fn insert_tool(tools: &Registry<Tool>, tool: Tool) -> String {
    let definition = tool.definition().clone();
    let legacy = definition.legacy_view();
    tools.insert_with_legacy(definition.name.clone(), tool, &definition, legacy.as_ref());
    definition.name
}
