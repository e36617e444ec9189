//! One function per method. Each returns the encoded result or a JSON-RPC error; the methods
//! that run a handler are in `handlers`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::encode::{Extras, Scope, encode};
use super::params::{self, RequestMeta};
use super::registry::{Entries, page};
use super::{RouterFuture, RouterInner};
use crate::context::{HeldRound, RequestContext, SharedCapabilities};
use crate::jsonrpc::{ErrorObject, Message, Params, RawJson, RequestId, Response, codes};
use crate::principal::{AllowList, Principal};
use crate::protocol::{
    InitializeRequestParams, InitializeResult, PromptsCapability, ResourcesCapability,
    ServerCapabilities, ServerTaskRequests, ServerTasksCapability, ToolTaskRequests,
    ToolsCapability,
};
use crate::request::{McpRequest, McpResponse};
use crate::session::{NoNotificationStream, SessionHandle, StatelessTransport};
use crate::version::ProtocolVersion;

pub(crate) type MethodResult = Result<RawJson, ErrorObject>;

/// Names a request for sealing its `requestState` (method, target, arguments); called only
/// when a state is opened or sealed, so plain calls never serialise their arguments again.
pub(crate) type Binding<'a> = &'a (dyn Fn() -> Vec<String> + Sync);

/// Answers `request`. Methods that run no handler are answered here, before the future is
/// made, so their future is a ready value; each method that runs a handler gets a boxed future
/// of its own, sized for that method alone (one `async fn` over all methods is as large as
/// the largest of them: past 1 KiB, every call's allocation would leave malloc's fast paths).
pub(crate) fn dispatch(inner: &Arc<RouterInner>, request: McpRequest) -> RouterFuture {
    let McpRequest {
        message,
        version,
        extensions,
    } = request;
    if let Some(session) = extensions.get::<SessionHandle>() {
        session.set_allow_list(AllowList::of(&extensions));
    }
    let request = match message {
        Message::Request(request) => request,
        Message::Batch(_) => {
            return RouterFuture::ready(McpResponse::Single(Response::error(
                None,
                ErrorObject::invalid_request("Invalid Request: batches need the BatchLayer"),
            )));
        }
        // Notifications and client responses are the transport's business; nothing to answer.
        Message::Notification(_) | Message::Response(_) => {
            return RouterFuture::ready(McpResponse::None);
        }
    };
    if !version.has_method(&request.method) {
        let error = ErrorObject::method_not_found(&request.method);
        return RouterFuture::ready(respond(request.id, Err(error)));
    }
    let extensions = Arc::new(extensions);
    /// The boxed future of a method that runs a handler, given its params as `$params` makes
    /// them (`tools/call` reads their outline, the others parse them).
    macro_rules! with_handler {
        ($method:ident, $params:path) => {{
            let inner = Arc::clone(inner);
            return RouterFuture::pending(async move {
                let call = Call {
                    inner: &inner,
                    version,
                    id: request.id.clone(),
                    extensions,
                };
                let result = match call.$method($params(&request.params)).await {
                    Err(error) if version.is_modern() && error.code == codes::INVALID_PARAMS => {
                        let params = request.params.as_ref();
                        Err(reserved_meta_first(&request.method, params, error))
                    }
                    result => result,
                };
                Ok(respond(request.id, result))
            });
        }};
    }
    match request.method.as_str() {
        "tools/call" => with_handler!(call_tool, Option::as_ref),
        "resources/read" => with_handler!(read_resource, Option::as_deref),
        "prompts/get" => with_handler!(get_prompt, Option::as_deref),
        "completion/complete" => with_handler!(complete, Option::as_deref),
        "tasks/result" => with_handler!(task_result, Option::as_deref),
        _ => {}
    }
    let call = Call {
        inner,
        version,
        id: request.id.clone(),
        extensions,
    };
    if version.is_modern()
        && let Err(error) = params::check_reserved_meta(&request.method, request.params.as_ref())
    {
        return RouterFuture::ready(respond(request.id, Err(error)));
    }
    let params = request.params.as_deref();
    let result = match request.method.as_str() {
        "initialize" => call.initialize(params),
        "ping" => params::optional::<params::MetaOnlyParams>("ping", params)
            .and_then(|_| call.encode(&Empty {}, Extras::complete())),
        "server/discover" => call.discover(),
        "tools/list" => call.list_tools(params),
        "resources/list" => call.list_resources(params),
        "resources/templates/list" => call.list_templates(params),
        "resources/subscribe" => call.subscribe(params, true),
        "resources/unsubscribe" => call.subscribe(params, false),
        "subscriptions/listen" => call.listen(params),
        "prompts/list" => call.list_prompts(params),
        "logging/setLevel" => call.set_level(params),
        "tasks/get" => call.get_task(params),
        "tasks/update" => call.update_task(params),
        "tasks/cancel" => call.cancel_task(params),
        "tasks/list" => call.list_tasks(params),
        method => Err(ErrorObject::method_not_found(method)),
    };
    RouterFuture::ready(respond(request.id, result))
}

/// A 2026-07-28 handler method's -32602 caused by the fields of `_meta` that every method
/// answers alike, told as that (see [`params::check_reserved_meta`]): checked only once the
/// method failed, so that calls that succeed read their `_meta` once.
#[cold]
#[inline(never)]
fn reserved_meta_first(method: &str, params: Option<&Params>, error: ErrorObject) -> ErrorObject {
    params::check_reserved_meta(method, params)
        .err()
        .unwrap_or(error)
}

/// The response to request `id`.
fn respond(id: RequestId, result: MethodResult) -> McpResponse {
    McpResponse::Single(match result {
        Ok(result) => Response::result(id, result),
        Err(error) => Response::error(Some(id), error),
    })
}

#[derive(Serialize)]
pub(super) struct Empty {}

/// `{"<field>":[...],"nextCursor":"..."}` of a `*/list` result.
struct ListBody<'a, T> {
    field: &'a str,
    entries: Entries<'a, T>,
    next_cursor: Option<&'a str>,
}

impl<T> Serialize for ListBody<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map =
            serializer.serialize_map(Some(1 + usize::from(self.next_cursor.is_some())))?;
        map.serialize_entry(self.field, &self.entries)?;
        if let Some(cursor) = self.next_cursor {
            map.serialize_entry("nextCursor", cursor)?;
        }
        map.end()
    }
}

/// One request being dispatched.
pub(crate) struct Call<'a> {
    pub(crate) inner: &'a RouterInner,
    pub(crate) version: ProtocolVersion,
    pub(crate) id: RequestId,
    pub(crate) extensions: Arc<http::Extensions>,
}

impl Call<'_> {
    pub(crate) fn encode<T: Serialize>(&self, result: &T, extras: Extras) -> MethodResult {
        encode(
            self.version,
            self.inner.server_info_meta.as_deref(),
            result,
            extras,
        )
    }

    pub(super) fn allow_list(&self) -> Option<&AllowList> {
        AllowList::of(&self.extensions)
    }

    /// Results are private when they may depend on who asks: for any authenticated caller
    /// (as HTTP shared caches keep no answer to a request with credentials, RFC 9111 §3.5),
    /// since another principal of the same server may have an allow-list and see less.
    pub(super) fn list_scope(&self) -> Scope {
        if self.allow_list().is_some() || self.extensions.get::<Principal>().is_some() {
            Scope::Private
        } else {
            Scope::Public
        }
    }

    pub(super) fn session(&self) -> Option<&SessionHandle> {
        self.extensions.get::<SessionHandle>()
    }

    /// Whether the transport keeps no sessions and this is a legacy request: nothing the
    /// client sets outlives the request, and no stream carries list changes or updates.
    /// (Modern list changes and updates come on `subscriptions/listen`.)
    pub(super) fn is_stateless(&self) -> bool {
        !self.version.is_modern() && self.extensions.get::<StatelessTransport>().is_some()
    }

    /// Whether list changes and resource updates can reach this caller: its transport has a
    /// stream for them (a session's GET stream, `subscriptions/listen`).
    pub(super) fn delivers_notifications(&self) -> bool {
        !self.is_stateless() && self.extensions.get::<NoNotificationStream>().is_none()
    }

    pub(super) fn capabilities(&self) -> ServerCapabilities {
        let delivers = self.delivers_notifications();
        let allow = self.allow_list();
        let tools = self.inner.tools.load();
        let has_tools = tools
            .values()
            .any(|e| allow.is_none_or(|a| a.allows_tool(e.item.name())));
        let prompts = self.inner.prompts.load();
        let has_prompts = prompts
            .values()
            .any(|e| allow.is_none_or(|a| a.allows_prompt(e.item.name())));
        // Every capability is judged on what this caller may see: advertising one the
        // allow-list empties would tell a plan that hidden items exist.
        let templates = self.inner.templates.load();
        let visible_template = |name: &str| allow.is_none_or(|a| a.allows_resource_template(name));
        let has_resources = self
            .inner
            .resources
            .load()
            .values()
            .any(|e| allow.is_none_or(|a| a.allows_resource(e.item.uri())))
            || templates.values().any(|e| visible_template(e.item.name()));
        let has_completions = prompts.values().any(|e| {
            !e.item.completions.is_empty() && allow.is_none_or(|a| a.allows_prompt(e.item.name()))
        }) || templates
            .values()
            .any(|e| !e.item.completions.is_empty() && visible_template(e.item.name()));
        let has_tasks = self.advertises_tool_tasks();
        let legacy_tasks = (has_tasks
            && !self.version.is_modern()
            && self.version.has_method("tasks/get"))
        .then(|| ServerTasksCapability {
            list: self.has_task_owner().then(Default::default),
            cancel: Some(Default::default()),
            requests: Some(ServerTaskRequests {
                tools: Some(ToolTaskRequests {
                    call: Some(Default::default()),
                }),
            }),
        });
        let extensions = (has_tasks && self.version.is_modern()).then(|| {
            let mut extensions = serde_json::Map::new();
            extensions.insert(
                super::tasks::TASKS_EXTENSION.to_owned(),
                serde_json::json!({}),
            );
            extensions
        });
        ServerCapabilities {
            tasks: legacy_tasks,
            extensions,
            logging: Some(Default::default()),
            completions: has_completions.then(Default::default),
            tools: has_tools.then_some(ToolsCapability {
                list_changed: Some(delivers),
            }),
            prompts: has_prompts.then_some(PromptsCapability {
                list_changed: Some(delivers),
            }),
            resources: has_resources.then_some(ResourcesCapability {
                subscribe: delivers.then_some(true),
                list_changed: Some(delivers),
            }),
            ..Default::default()
        }
    }

    fn initialize(&self, params: Option<&RawValue>) -> MethodResult {
        let params: InitializeRequestParams = params::owned("initialize", params)?;
        let version = ProtocolVersion::negotiate(&params.protocol_version);
        let mut result = InitializeResult::new(
            version.as_str(),
            self.capabilities(),
            self.inner.server_info.clone(),
        );
        result.instructions.clone_from(&self.inner.instructions);
        self.encode(&result, Extras::complete())
    }

    fn discover(&self) -> MethodResult {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Discover<'a> {
            supported_versions: Vec<&'static str>,
            capabilities: ServerCapabilities,
            #[serde(skip_serializing_if = "Option::is_none")]
            instructions: Option<&'a str>,
        }
        let result = Discover {
            // Only the versions the transport serves.
            supported_versions: self
                .extensions
                .get::<crate::version::ServedEras>()
                .copied()
                .unwrap_or(crate::version::ServedEras::BOTH)
                .supported_strings(),
            capabilities: self.capabilities(),
            instructions: self.inner.instructions.as_deref(),
        };
        let scope = self.list_scope();
        self.encode(
            &result,
            Extras::cached(self.inner.cache.discover_ttl_ms, scope),
        )
    }

    /// Encodes `{"<field>":[...],"nextCursor":...}` from pre-serialised definitions.
    fn list<T>(
        &self,
        method: &str,
        field: &str,
        registry: &super::registry::Registry<T>,
        params: Option<&RawValue>,
        visible: impl FnMut(&T) -> bool,
    ) -> MethodResult {
        let params: params::ListParams<'_> = params::optional(method, params)?;
        let snapshot = registry.load();
        let cursor = params.cursor.as_deref();
        let page = page(&snapshot, field, cursor, self.inner.page_size, visible)?;
        let body = ListBody {
            field,
            entries: Entries {
                entries: &page.entries,
                era: self.version.era(),
            },
            next_cursor: page.next_cursor.as_deref(),
        };
        let extras = Extras::cached(self.inner.cache.list_ttl_ms, self.list_scope());
        self.encode(&body, extras)
    }

    fn list_tools(&self, params: Option<&RawValue>) -> MethodResult {
        let allow = self.allow_list().cloned();
        self.list("tools/list", "tools", &self.inner.tools, params, |tool| {
            allow.as_ref().is_none_or(|a| a.allows_tool(tool.name()))
        })
    }

    fn list_resources(&self, params: Option<&RawValue>) -> MethodResult {
        let allow = self.allow_list().cloned();
        self.list(
            "resources/list",
            "resources",
            &self.inner.resources,
            params,
            |resource| {
                allow
                    .as_ref()
                    .is_none_or(|a| a.allows_resource(resource.uri()))
            },
        )
    }

    fn list_templates(&self, params: Option<&RawValue>) -> MethodResult {
        let allow = self.allow_list().cloned();
        self.list(
            "resources/templates/list",
            "resourceTemplates",
            &self.inner.templates,
            params,
            |template| {
                allow
                    .as_ref()
                    .is_none_or(|a| a.allows_resource_template(template.name()))
            },
        )
    }

    fn list_prompts(&self, params: Option<&RawValue>) -> MethodResult {
        let allow = self.allow_list().cloned();
        self.list(
            "prompts/list",
            "prompts",
            &self.inner.prompts,
            params,
            |prompt| {
                allow
                    .as_ref()
                    .is_none_or(|a| a.allows_prompt(prompt.name()))
            },
        )
    }

    /// Builds the handler's context.
    pub(super) fn context(
        &self,
        meta: Option<RequestMeta>,
        round: Option<HeldRound>,
    ) -> RequestContext {
        self.context_parts(meta).build(round, None)
    }

    /// What builds handler contexts for this request, also after it is gone (tasks).
    pub(crate) fn context_seed(&self, meta: Option<RequestMeta>) -> super::tasks::ContextSeed {
        let parts = self.context_parts(meta);
        super::tasks::ContextSeed {
            build: Box::new(move |round, escalation| {
                parts
                    .clone()
                    .build(round.map(HeldRound::Shared), escalation)
            }),
            relay: None,
        }
    }

    fn context_parts(&self, meta: Option<RequestMeta>) -> ContextParts {
        let meta = meta.unwrap_or_default();
        let capabilities = if self.version.is_modern() {
            Some(meta.client_capabilities.unwrap_or_default())
        } else {
            self.session()
                .map(|s| SharedCapabilities::Declared(s.client_capabilities()))
        };
        ContextParts {
            id: self.id.clone(),
            version: self.version,
            extensions: Arc::clone(&self.extensions),
            timeout: self.inner.client_request_timeout,
            progress_token: meta.progress_token,
            log_level: meta.log_level,
            capabilities,
        }
    }

    fn set_level(&self, params: Option<&RawValue>) -> MethodResult {
        let params: params::SetLevelParams = params::owned("logging/setLevel", params)?;
        if let Some(session) = self.session() {
            session.set_log_level(params.level);
        } else if self.is_stateless() {
            // A level lives in the session; a stateless server has nowhere to keep one, and
            // a success that changed nothing would mislead the client (its logs keep coming).
            // -32603: the logging page's answer to a level that cannot be configured.
            return Err(ErrorObject::internal_error(
                "This server is stateless and keeps no log level between requests; it sends \
                 logs at every level",
            ));
        }
        self.encode(&Empty {}, Extras::complete())
    }
}

/// Everything a handler context is built from (built once per run on the hot path; cloned per
/// run only for tasks, which may run their handler several times).
#[derive(Clone)]
struct ContextParts {
    id: RequestId,
    version: ProtocolVersion,
    extensions: Arc<http::Extensions>,
    timeout: std::time::Duration,
    progress_token: Option<crate::protocol::ProgressToken>,
    log_level: Option<crate::protocol::LoggingLevel>,
    capabilities: Option<SharedCapabilities>,
}

impl ContextParts {
    fn build(
        self,
        round: Option<HeldRound>,
        escalation: Option<Arc<crate::context::Escalation>>,
    ) -> RequestContext {
        RequestContext::builder(self.id, self.version)
            .shared_extensions(self.extensions)
            .escalation(escalation)
            .progress_token(self.progress_token)
            .log_level(self.log_level)
            .shared_client_capabilities(self.capabilities)
            .held_round(round)
            .request_timeout(self.timeout)
            .build()
    }
}
