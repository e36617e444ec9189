//! The methods that run a registered handler (`tools/call`, `resources/read`, `prompts/get`,
//! `completion/complete`) and resource subscriptions, which follow the same visibility rule
//! as `resources/read`.

use serde::Serialize;
use serde_json::value::RawValue;

use super::dispatch::{Call, Empty, MethodResult};
use super::encode::Extras;
use super::params;
use crate::handler::completion::cap;
use crate::jsonrpc::{ErrorObject, Params, quoted};

/// Why `subscriptions/listen` is refused where no stream carries notifications.
const NO_NOTIFICATIONS: &str = "this server publishes no notifications";

impl Call<'_> {
    pub(super) async fn call_tool(&self, params: Option<&Params>) -> MethodResult {
        let params = params::CallToolParams::read(params)?;
        let allowed = self
            .allow_list()
            .is_none_or(|a| a.allows_tool(&params.name));
        let tool = self
            .inner
            .tools
            .load()
            .get(params.name.as_ref())
            .filter(|_| allowed)
            .map(|entry| entry.item.clone())
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!("Unknown tool: {}", quoted(&params.name)))
            })?;
        let arguments = params.arguments.unwrap_or(params::EMPTY_OBJECT);
        if self.version.is_modern()
            && let Some(parts) = self.extensions.get::<http::request::Parts>()
        {
            tool.check_header_params(&parts.headers, arguments)?;
        }
        if let super::tasks::Mode::Task(ttl) =
            self.task_mode(&tool, params.meta.as_ref(), params.task.as_ref())?
        {
            if !(tool.inner.defer_task && self.version.is_modern()) {
                return self.start_task(
                    tool,
                    params::owned_arguments(arguments)?,
                    params.meta,
                    ttl,
                );
            }
            let name = params.name.to_string();
            let arguments_text = crate::jsonrpc::canonical_json(arguments);
            let binding = move || {
                vec![
                    "tools/call".to_owned(),
                    name.clone(),
                    arguments_text.clone(),
                ]
            };
            // Boxed: inline, this rare path's state would grow every tools/call future.
            return Box::pin(self.call_deferred(
                tool,
                params::owned_arguments(arguments)?,
                params.meta,
                ttl,
                &binding,
                params.input_responses,
                params.request_state,
            ))
            .await;
        }
        let meta = params.meta;
        let name = params.name;
        let binding = || {
            vec![
                "tools/call".to_owned(),
                name.to_string(),
                crate::jsonrpc::canonical_json(arguments),
            ]
        };
        let outcome = self
            .run_with_inputs(
                &binding,
                params.input_responses,
                params.request_state,
                meta,
                |ctx| tool.call(arguments, ctx),
            )
            .await?;
        self.encode_outcome(outcome, |result| {
            Extras::complete().with_meta(result.meta.is_some())
        })
    }

    pub(super) async fn read_resource(&self, params: Option<&RawValue>) -> MethodResult {
        let params: params::ReadParams<'_> = params::required("resources/read", params)?;
        let uri = params.uri.as_ref();
        let allow = self.allow_list();
        let not_found = || {
            ErrorObject::new(self.version.resource_not_found_code(), "Resource not found")
                .with_data(serde_json::json!({ "uri": uri }))
        };
        let resource = self
            .inner
            .resources
            .load()
            .get(uri)
            .filter(|_| allow.is_none_or(|a| a.allows_resource(uri)))
            .map(|e| e.item.clone());
        let meta = params.meta;
        let binding = || vec!["resources/read".to_owned(), uri.to_owned()];
        let outcome = if let Some(resource) = resource {
            self.run_with_inputs(
                &binding,
                params.input_responses,
                params.request_state,
                meta,
                |ctx| (resource.read)(uri.to_owned(), ctx),
            )
            .await?
        } else {
            let matched = self.inner.templates.load().values().find_map(|e| {
                let allowed = allow.is_none_or(|a| a.allows_resource_template(e.item.name()));
                allowed
                    .then(|| e.item.matches(uri).map(|m| (e.item.clone(), m)))
                    .flatten()
            });
            let Some((template, matched)) = matched else {
                return Err(not_found());
            };
            self.run_with_inputs(
                &binding,
                params.input_responses,
                params.request_state,
                meta,
                |ctx| (template.read)(matched, ctx),
            )
            .await?
        };
        self.encode_outcome(outcome, |result| {
            Extras::cached(self.inner.cache.read_ttl_ms, self.list_scope())
                .with_meta(result.meta.is_some())
        })
    }

    pub(super) fn subscribe(&self, params: Option<&RawValue>, subscribe: bool) -> MethodResult {
        let method = if subscribe {
            "resources/subscribe"
        } else {
            "resources/unsubscribe"
        };
        let params: params::UriParams = params::owned(method, params)?;
        if subscribe && !self.may_read(&params.uri) {
            // As `resources/read` answers a hidden URI.
            return Err(ErrorObject::new(
                self.version.resource_not_found_code(),
                "Resource not found",
            )
            .with_data(serde_json::json!({ "uri": params.uri })));
        }
        if subscribe && !self.is_stateless() && !self.delivers_notifications() {
            // A session could keep the subscription, but no stream would carry its updates.
            return Err(ErrorObject::method_not_served(
                method,
                "this server has no stream to send resource updates on",
            ));
        }
        match self.session() {
            Some(session) if subscribe => session.subscribe(&params.uri)?,
            Some(session) => session.unsubscribe(&params.uri),
            // Subscriptions live in the session; a stateless server has nowhere to keep one,
            // nor a stream to send updates on, and does not advertise them: a success would
            // tell the client to wait for updates.
            None if self.is_stateless() => {
                return Err(ErrorObject::method_not_served(
                    method,
                    "this server is stateless and keeps no subscriptions",
                ));
            }
            None => {}
        }
        self.encode(&Empty {}, Extras::complete())
    }

    /// `subscriptions/listen` (2026-07-28). A router cannot stream: it answers with what the
    /// subscription would carry, and a transport that streams opens the stream only on this
    /// answer, so that the layers above (scopes, rate limits, telemetry, allow-lists) gate a
    /// listen request as they gate any other. The answer is the stream's closing result (the
    /// subscription id in `_meta`, `resultType`) with `notifications`: the requested types
    /// this server supports and the caller may see, which the acknowledgement repeats
    /// (unsupported ones are omitted, as the schema asks). Sent as it is, by a transport that
    /// cannot stream, it ends the subscription at once.
    pub(super) fn listen(&self, params: Option<&RawValue>) -> MethodResult {
        if !self.delivers_notifications() {
            let method = "subscriptions/listen";
            return Err(ErrorObject::method_not_served(method, NO_NOTIFICATIONS));
        }
        let params: crate::protocol::SubscriptionsListenRequestParams =
            params::owned("subscriptions/listen", params)?;
        let requested = params.notifications;
        let capabilities = self.capabilities();
        let asked =
            |flag: Option<bool>, supported: bool| (flag == Some(true) && supported).then_some(true);
        let uris: Vec<String> = requested
            .resource_subscriptions
            .unwrap_or_default()
            .into_iter()
            .filter(|uri| capabilities.resources.is_some() && self.may_read(uri))
            .collect();
        let honoured = crate::protocol::SubscriptionFilter {
            tools_list_changed: asked(requested.tools_list_changed, capabilities.tools.is_some()),
            prompts_list_changed: asked(
                requested.prompts_list_changed,
                capabilities.prompts.is_some(),
            ),
            resources_list_changed: asked(
                requested.resources_list_changed,
                capabilities.resources.is_some(),
            ),
            resource_subscriptions: (!uris.is_empty()).then_some(uris),
        };
        #[derive(Serialize)]
        struct Accepted<'a> {
            #[serde(rename = "_meta")]
            meta: crate::protocol::SubscriptionIdMeta<'a>,
            notifications: &'a crate::protocol::SubscriptionFilter,
        }
        self.encode(
            &Accepted {
                meta: crate::protocol::SubscriptionIdMeta {
                    subscription_id: &self.id,
                },
                notifications: &honoured,
            },
            Extras::complete().with_meta(true),
        )
    }

    /// Whether the caller's allow-list lets it read `uri` (and so hear of its updates).
    fn may_read(&self, uri: &str) -> bool {
        self.allow_list().is_none_or(|allow| {
            let (is_static, templates) = self.inner.served_by(uri);
            crate::event::may_read(allow, uri, is_static, &templates)
        })
    }

    pub(super) async fn get_prompt(&self, params: Option<&RawValue>) -> MethodResult {
        let params: params::GetPromptParams<'_> = params::required("prompts/get", params)?;
        let allowed = self
            .allow_list()
            .is_none_or(|a| a.allows_prompt(&params.name));
        let prompt = self
            .inner
            .prompts
            .load()
            .get(params.name.as_ref())
            .filter(|_| allowed)
            .map(|e| e.item.clone())
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!("Unknown prompt: {}", quoted(&params.name)))
            })?;
        let arguments = params.arguments.unwrap_or_default();
        let arguments_text = serde_json::to_string(&arguments).unwrap_or_default();
        let meta = params.meta;
        let name = params.name;
        let binding = || {
            vec![
                "prompts/get".to_owned(),
                name.to_string(),
                arguments_text.clone(),
            ]
        };
        let outcome = self
            .run_with_inputs(
                &binding,
                params.input_responses,
                params.request_state,
                meta,
                |ctx| prompt.get(arguments, ctx),
            )
            .await?;
        self.encode_outcome(outcome, |result| {
            Extras::complete().with_meta(result.meta.is_some())
        })
    }

    pub(super) async fn complete(&self, params: Option<&RawValue>) -> MethodResult {
        // A server that declares no `completions` (none of what this caller may see has
        // completion handlers) does not serve the method, as its capabilities say.
        if self.capabilities().completions.is_none() {
            return Err(ErrorObject::method_not_found("completion/complete"));
        }
        let params: params::CompleteParams = params::owned("completion/complete", params)?;
        let allow = self.allow_list();
        let completions = match &params.reference {
            params::CompleteReference::Prompt { name } => self
                .inner
                .prompts
                .load()
                .get(name.as_str())
                .filter(|_| allow.is_none_or(|a| a.allows_prompt(name)))
                .map(|e| e.item.completions.clone())
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {}", quoted(name)))
                })?,
            params::CompleteReference::Resource { uri } => self
                .inner
                .templates
                .load()
                .get(uri.as_str())
                .filter(|e| allow.is_none_or(|a| a.allows_resource_template(e.item.name())))
                .map(|e| e.item.completions.clone())
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!(
                        "Unknown resource template: {}",
                        quoted(uri)
                    ))
                })?,
        };
        let values = match completions.get(&params.argument.name) {
            Some(complete) => {
                let resolved = params.context.unwrap_or_default().arguments;
                // Its `_meta` as any request's: progress token, log level and (2026-07-28)
                // the client's declared capabilities.
                let ctx = self.context(params.meta, None);
                complete(params.argument.value, resolved, ctx).await
            }
            None => crate::protocol::Completion::default(),
        };
        let (values, total, has_more) = cap(values);
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Completion {
            values: Vec<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            total: Option<u64>,
            has_more: bool,
        }
        #[derive(Serialize)]
        struct CompleteResult {
            completion: Completion,
        }
        let result = CompleteResult {
            completion: Completion {
                values,
                total,
                has_more,
            },
        };
        self.encode(&result, Extras::complete())
    }
}
