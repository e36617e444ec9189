//! [`ScopeLayer`]: the RPC-tier check of [`RequiredScopes`] per `tools/call`, `prompts/get`,
//! `resources/read` (and subscribe, unsubscribe), `completion/complete` (whose `ref` names a
//! prompt or a resource template: completing its arguments runs that prompt's or template's
//! code, so it needs that target's scopes) and the resources a 2026-07-28
//! `subscriptions/listen` names in its `resourceSubscriptions`. Every one of those URIs goes
//! through [`RequiredScopes::resource`]'s rule: a rule keyed by a resource template
//! (`file:///{path}`) guards the concrete URIs it matches, and a rule for the URI itself wins.
//!
//! It reads the [`Principal`] the HTTP tier put into [`McpRequest::extensions`] (no principal
//! means no scopes) and answers a request that lacks scopes with a JSON-RPC error
//! ([`crate::codes::FORBIDDEN`]) whose `data` carries the step-up challenge for the client:
//! `{"error":"insufficient_scope","scope":"granted missing","www_authenticate":"Bearer ..."}`;
//! the error's [`HttpRefusal`] has the HTTP bridge answer `403` with that `WWW-Authenticate`.
//! Notifications and client responses pass unchecked (they cannot call anything). Put it below
//! `BatchLayer`, so that it sees single messages; a batch that still reaches it is refused
//! whole when any of its requests lacks scopes.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use mcp_auth::{RequiredScopes, ScopeLayer};
//! use mcp_core::jsonrpc::{Message, Request};
//! use mcp_core::{McpRequest, McpResponse, Principal, ProtocolVersion};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let policy = RequiredScopes::new().tool("deploy", ["deploy"]);
//! let service = ServiceBuilder::new()
//!     .layer(ScopeLayer::new(policy))
//!     .service_fn(|_: McpRequest| async { Ok::<_, Infallible>(McpResponse::None) });
//!
//! let params = serde_json::value::to_raw_value(&serde_json::json!({"name": "deploy"})).unwrap();
//! let mut request = McpRequest::new(
//!     Message::Request(Request { id: 1.into(), method: "tools/call".into(), params: Some(params.into()) }),
//!     ProtocolVersion::V2025_11_25,
//! );
//! request.extensions.insert(Principal::new("alice").with_scopes(["mcp"]));
//! let response = service.oneshot(request).await.unwrap();
//! let error = response.as_single().unwrap().error_object().unwrap();
//! assert_eq!(error.code, mcp_auth::codes::FORBIDDEN);
//! assert_eq!(error.data.as_ref().unwrap()["scope"], "mcp deploy");
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mcp_core::jsonrpc::{ErrorObject, Message, Response};
use mcp_core::{AllowList, HttpRefusal, McpRequest, McpResponse, Principal};
use pin_project_lite::pin_project;
use serde::Deserialize;
use tower_layer::Layer;
use tower_service::Service;

use crate::rejection::codes;
use crate::scope::{MissingScopes, RequiredScopes, ScopeTarget, check_scopes};

/// Applies [`Scope`]: see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ScopeLayer {
    config: Arc<Config>,
}

#[derive(Debug)]
struct Config {
    policy: RequiredScopes,
    resource_metadata: Option<String>,
}

impl ScopeLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: RequiredScopes) -> Self {
        Self {
            config: Arc::new(Config {
                policy,
                resource_metadata: None,
            }),
        }
    }

    /// Puts `resource_metadata="url"` in the step-up challenges.
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        Self {
            config: Arc::new(Config {
                policy: self.config.policy.clone(),
                resource_metadata: Some(url.into()),
            }),
        }
    }
}

impl<S> Layer<S> for ScopeLayer {
    type Service = Scope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Scope {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// Refuses RPC requests whose principal lacks the scopes [`RequiredScopes`] asks for.
#[derive(Debug, Clone)]
pub struct Scope<S> {
    inner: S,
    config: Arc<Config>,
}

/// The target of `tools/call` and `prompts/get`. Only the member checked is read: a stray
/// member of another type (`"uri": 0`, which the router ignores) must not fail the parse.
#[derive(Deserialize)]
struct NameParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// The target of `resources/read`, `resources/subscribe` and `resources/unsubscribe`.
#[derive(Deserialize)]
struct UriParams<'a> {
    #[serde(borrow)]
    uri: Cow<'a, str>,
}

/// The targets of `subscriptions/listen` (2026-07-28): the resources it subscribes to.
#[derive(Deserialize)]
struct ListenParams<'a> {
    #[serde(borrow)]
    notifications: ListenFilter<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListenFilter<'a> {
    #[serde(borrow, default)]
    resource_subscriptions: Option<Vec<Cow<'a, str>>>,
}

/// The target of `completion/complete`: its `ref`.
#[derive(Deserialize)]
struct CompleteParams<'a> {
    #[serde(rename = "ref", borrow)]
    reference: CompleteRef<'a>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum CompleteRef<'a> {
    #[serde(rename = "ref/prompt")]
    Prompt {
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    /// `uri` is a resource URI or a URI template, as registered.
    #[serde(rename = "ref/resource")]
    Resource {
        #[serde(borrow)]
        uri: Cow<'a, str>,
    },
}

/// Reads the target of a guarded method. Unreadable params are refused here rather than
/// checked as a call of nothing in particular (the global scopes only): whatever the router
/// would make of them, they never reach it past a per-target scope. The refusal is the
/// router's own, word for word.
fn target_params<'a, T: Deserialize<'a>>(
    method: &str,
    params: Option<&'a serde_json::value::RawValue>,
) -> Result<T, ErrorObject> {
    mcp_core::jsonrpc::parse_params(method, params)
}

/// Whether the caller's allow-list ([`AllowList::of`]) hides `target`.
fn is_hidden(target: ScopeTarget<'_>, extensions: &http::Extensions) -> bool {
    let Some(allow) = AllowList::of(extensions) else {
        return false;
    };
    match target {
        ScopeTarget::Any => false,
        ScopeTarget::Tool(name) => !allow.allows_tool(name),
        ScopeTarget::Prompt(name) => !allow.allows_prompt(name),
        ScopeTarget::Resource(uri) => !allow.allows_resource(uri),
    }
}

impl Config {
    /// `Err` with the error to answer when `message` (a request) lacks scopes. `extensions`
    /// are the request's (for the caller's allow-list).
    fn check(
        &self,
        principal: &Principal,
        extensions: &http::Extensions,
        message: &Message,
    ) -> Result<(), ErrorObject> {
        let Message::Request(request) = message else {
            return Ok(());
        };
        let method = request.method.as_str();
        let params = request.params.as_deref();
        let (name, uri);
        let target = match method {
            "tools/call" | "prompts/get" => {
                name = target_params::<NameParams<'_>>(method, params)?.name;
                if method == "tools/call" {
                    ScopeTarget::Tool(&name)
                } else {
                    ScopeTarget::Prompt(&name)
                }
            }
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                uri = target_params::<UriParams<'_>>(method, params)?.uri;
                ScopeTarget::Resource(&uri)
            }
            // 2026-07-28: a subscription is a standing read of each resource it names.
            "subscriptions/listen" => return self.check_listen(principal, params),
            "completion/complete" => {
                match target_params::<CompleteParams<'_>>(method, params)?.reference {
                    CompleteRef::Prompt { name: prompt } => {
                        name = prompt;
                        ScopeTarget::Prompt(&name)
                    }
                    CompleteRef::Resource { uri: resource } => {
                        uri = resource;
                        ScopeTarget::Resource(&uri)
                    }
                }
            }
            _ => ScopeTarget::Any,
        };
        self.policy
            .check(principal, target)
            .or_else(|missing| {
                // A target the caller's allow-list hides is checked as a call of nothing in
                // particular (the global scopes only): the allow-list or the router answers
                // it as an unknown name, and a step-up naming its scope would tell the caller
                // that it exists. (The allow-list layer refuses such calls itself, but passes
                // on those whose params are malformed elsewhere, for the router to refuse as
                // it refuses unknown names.) Looked up only here, on the way to a refusal.
                if is_hidden(target, extensions) {
                    self.policy.check(principal, ScopeTarget::Any)
                } else {
                    Err(missing)
                }
            })
            .map_err(|missing| self.error(&missing))
    }

    /// A `subscriptions/listen` request needs the scopes of every resource in its
    /// `notifications.resourceSubscriptions` (as `resources/subscribe` needs its URI's), and
    /// the global ones.
    fn check_listen(
        &self,
        principal: &Principal,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), ErrorObject> {
        let listen: ListenParams<'_> = target_params("subscriptions/listen", params)?;
        let uris = listen
            .notifications
            .resource_subscriptions
            .unwrap_or_default();
        let required = self.policy.required_for(ScopeTarget::Any).chain(
            uris.iter()
                .flat_map(|uri| self.policy.required_for(ScopeTarget::Resource(uri))),
        );
        check_scopes(principal, required).map_err(|missing| self.error(&missing))
    }

    fn error(&self, missing: &MissingScopes) -> ErrorObject {
        let challenge = missing.challenge(self.resource_metadata.as_deref());
        let mut data = serde_json::json!({
            "error": "insufficient_scope",
            "scope": missing.step_up_scopes().join(" "),
        });
        let mut error = ErrorObject::new(codes::FORBIDDEN, missing.to_string());
        if let Ok(rendered) = challenge.render() {
            // The HTTP bridge answers 403 with this challenge; the data says the same to
            // clients that only read the JSON-RPC error.
            if let Ok(value) = http::HeaderValue::from_str(&rendered) {
                error = error.with_http_refusal(HttpRefusal::InsufficientScope(value));
            }
            data["www_authenticate"] = rendered.into();
        }
        error.with_data(data)
    }

    /// The refusal of `message`, or `None` to let it through.
    fn refuse(
        &self,
        principal: &Principal,
        extensions: &http::Extensions,
        message: &Message,
    ) -> Option<McpResponse> {
        if let Message::Batch(items) = message {
            let errors: Vec<Option<ErrorObject>> = items
                .iter()
                .map(|item| match item {
                    Ok(item) => self.check(principal, extensions, item).err(),
                    Err(_) => None,
                })
                .collect();
            if errors.iter().all(Option::is_none) {
                return None;
            }
            // Every request of the batch gets an answer: its own error, or a note that the
            // batch was refused because of another item.
            let responses = items
                .iter()
                .zip(errors)
                .filter_map(|(item, error)| match item {
                    Ok(Message::Request(request)) => Some(Response::error(
                        Some(request.id.clone()),
                        error.unwrap_or_else(|| {
                            ErrorObject::new(
                                codes::FORBIDDEN,
                                "batch refused: another request lacks scopes",
                            )
                        }),
                    )),
                    Ok(_) => None,
                    Err(response) => Some(response.clone()),
                })
                .collect();
            return Some(McpResponse::Batch(responses));
        }
        self.check(principal, extensions, message)
            .err()
            .map(|error| McpResponse::error_for(message, error))
    }
}

impl<S> Service<McpRequest> for Scope<S>
where
    S: Service<McpRequest, Response = McpResponse> + Clone,
{
    type Response = McpResponse;
    type Error = S::Error;
    type Future = ScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let anonymous;
        let principal = match request.extensions.get::<Principal>() {
            Some(principal) => principal,
            None => {
                anonymous = Principal::new("");
                &anonymous
            }
        };
        if let Some(response) = self
            .config
            .refuse(principal, &request.extensions, &request.message)
        {
            return ScopeFuture {
                kind: Kind::Refused {
                    response: Some(response),
                },
            };
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ScopeFuture {
            kind: Kind::Inner {
                future: inner.call(request),
            },
        }
    }
}

pin_project! {
    /// Response future of [`Scope`].
    pub struct ScopeFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Refused { response: Option<McpResponse> },
        Inner { #[pin] future: F },
    }
}

impl<F, E> Future for ScopeFuture<F>
where
    F: Future<Output = Result<McpResponse, E>>,
{
    type Output = Result<McpResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after completion: stay pending rather than panic.
                None => Poll::Pending,
            },
            KindProj::Inner { future } => future.poll(cx),
        }
    }
}

impl<F> fmt::Debug for ScopeFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
