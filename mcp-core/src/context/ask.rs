//! Server→client requests a handler makes through its [`RequestContext`]: sampling,
//! elicitation, roots, and any other method, each under the client's declared capabilities.

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{RequestContext, elicit_form};
use crate::input::{InputRound, InputWait};
use crate::jsonrpc::{ErrorObject, codes, to_raw};
use crate::protocol::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitRequestParams, ElicitResult, IncludeContext, ListRootsResult,
};

impl RequestContext {
    /// Asks the client's LLM for a completion (`sampling/createMessage`).
    ///
    /// Under 2025-11-25 and earlier the handler waits here for the client's answer. Under
    /// 2026-07-28 it ends this round with `input_required` and **runs again from the top**
    /// when the client retries with the answer, so side effects before this call repeat: put
    /// them after the questions or make them idempotent (see [`RequestContext`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::jsonrpc::ErrorObject;
    /// use mcp_core::protocol::{CreateMessageRequestParams, SamplingMessage};
    /// use mcp_core::{RequestContext, Router, Tool};
    /// use serde_json::json;
    ///
    /// let router = Router::builder()
    ///     .tool(Tool::new("ask").raw_handler(|_, ctx: RequestContext| async move {
    ///         let question = SamplingMessage::user_text("Name a colour");
    ///         let answer = ctx.sample(CreateMessageRequestParams::new(vec![question], 20)).await?;
    ///         Ok::<_, ErrorObject>(format!("the model said {}", answer.content.text()))
    ///     }))
    ///     .build();
    ///
    /// // 2026-07-28: the first round hands the question to the client...
    /// let caps = json!({"sampling": {}});
    /// let first = call(&router, caps.clone(), json!({})).await;
    /// assert_eq!(first["resultType"], "input_required");
    /// assert_eq!(first["inputRequests"]["input-0"]["method"], "sampling/createMessage");
    /// // ...which retries with the answer under the question's key, and the sealed state.
    /// let answer = json!({"role": "assistant", "model": "m", "content": {"type": "text", "text": "teal"}});
    /// let retry = json!({"inputResponses": {"input-0": answer}, "requestState": first["requestState"]});
    /// let second = call(&router, caps, retry).await;
    /// assert_eq!(second["content"][0]["text"], "the model said teal");
    /// # }
    /// # async fn call(router: &mcp_core::Router, caps: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    /// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
    /// #     use serde_json::{Value, json};
    /// #     use tower::ServiceExt;
    /// #     // A 2026-07-28 `tools/call`; the client declares its capabilities in `_meta`.
    /// #     let mut params = json!({"name": "ask", "arguments": {}, "_meta": {
    /// #         "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    /// #         "io.modelcontextprotocol/clientCapabilities": caps}});
    /// #     params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    /// #     let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    /// #     let request = McpRequest::new(Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap(), ProtocolVersion::V2026_07_28);
    /// #     let response = router.clone().oneshot(request).await.unwrap();
    /// #     serde_json::from_slice::<Value>(&response.to_vec()).unwrap()["result"].clone()
    /// # }
    /// ```
    pub async fn sample(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ErrorObject> {
        self.sample_keyed(None, params).await
    }

    /// [`RequestContext::sample`] with a named question (see [`RequestContext::request_keyed`]).
    pub async fn sample_keyed(
        &self,
        key: Option<&str>,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ErrorObject> {
        // Tool use in sampling arrived in 2025-11-25, behind its own capability; so did the
        // `sampling.context` capability that context inclusion (soft-deprecated) now needs.
        let version = self.inner.version;
        let with_tools = params.tools.is_some() || params.tool_choice.is_some();
        let with_context = version.has_sampling_context()
            && params
                .include_context
                .is_some_and(|include| include != IncludeContext::None);
        let defined = !with_tools || version.has_sampling_tools();
        let parts: &[&str] = match (with_tools, with_context) {
            (true, true) => &["tools", "context"],
            (true, false) => &["tools"],
            (false, true) => &["context"],
            (false, false) => &[],
        };
        self.require_capability("sampling", parts, |caps| {
            defined
                && caps.sampling.as_ref().is_some_and(|sampling| {
                    (!with_tools || sampling.tools.is_some())
                        && (!with_context || sampling.context.is_some())
                })
        })?;
        self.request_keyed(key, "sampling/createMessage", &params)
            .await
    }

    /// Asks the user for input (`elicitation/create`, form or URL mode). A form answer that
    /// does not match the requested schema is an error, not an `Ok`.
    ///
    /// Under 2025-11-25 and earlier the handler waits here for the client's answer. Under
    /// 2026-07-28 it ends this round with `input_required` and **runs again from the top**
    /// when the client retries with the answer, so side effects before this call repeat: put
    /// them after the questions or make them idempotent (see [`RequestContext`]).
    ///
    /// [`RequestContext::elicit_keyed`] shows a question; [`RequestContext::sample`] the rounds.
    pub async fn elicit(&self, params: ElicitRequestParams) -> Result<ElicitResult, ErrorObject> {
        self.elicit_keyed(None, params).await
    }

    /// [`RequestContext::elicit`] with a named question (see [`RequestContext::request_keyed`]).
    ///
    /// ```
    /// # async fn handler(ctx: mcp_core::RequestContext) -> Result<(), mcp_core::jsonrpc::ErrorObject> {
    /// use mcp_core::protocol::{ElicitRequestFormParams, ElicitRequestParams};
    ///
    /// let schema = serde_json::json!({"type": "object", "properties": {"name": {"type": "string"}}});
    /// let question = ElicitRequestParams::Form(ElicitRequestFormParams::new(
    ///     "Your name?",
    ///     serde_json::from_value(schema).unwrap(),
    /// ));
    /// // A modern client sees `inputRequests: {"user_name": {...}}` and answers under that key.
    /// let answer = ctx.elicit_keyed(Some("user_name"), question).await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub async fn elicit_keyed(
        &self,
        key: Option<&str>,
        params: ElicitRequestParams,
    ) -> Result<ElicitResult, ErrorObject> {
        let url_mode = matches!(params, ElicitRequestParams::Url(_));
        // A capability the client's version does not define counts as undeclared: such a
        // client (whatever it declared) answers `elicitation/create` with "method not found".
        let version = self.inner.version;
        let defined = version.has_elicitation() && (!url_mode || version.has_icons());
        // A client that declared elicitation but not this mode is told which mode it lacks.
        let declared = version.has_elicitation()
            && self
                .client_capabilities()
                .is_some_and(|caps| caps.elicitation.is_some());
        let missing: &[&str] = match (declared, url_mode) {
            (false, _) => &[],
            (true, true) => &["url"],
            (true, false) => &["form"],
        };
        self.require_capability("elicitation", missing, |caps| {
            defined
                && match &caps.elicitation {
                    None => false,
                    // An empty elicitation capability means form mode only (2025-11-25).
                    Some(elicitation) if url_mode => elicitation.url.is_some(),
                    Some(elicitation) => elicitation.url.is_none() || elicitation.form.is_some(),
                }
        })?;
        let ElicitRequestParams::Form(form) = &params else {
            return self.request_keyed(key, "elicitation/create", &params).await;
        };
        if let Some(problem) = elicit_form::unsupported(&form.requested_schema, version) {
            return Err(ErrorObject::internal_error(format!(
                "elicitation/create cannot be sent: {problem}"
            )));
        }
        // `mode` came with URL elicitation (2025-11-25): a 2025-06-18 client does not know it.
        let without_mode;
        let sent = if form.mode.is_some() && !version.has_icons() {
            let mut form = form.clone();
            form.mode = None;
            without_mode = ElicitRequestParams::Form(form);
            &without_mode
        } else {
            &params
        };
        let mut answer: ElicitResult = self.request_keyed(key, "elicitation/create", sent).await?;
        if answer.action != ElicitAction::Accept {
            // Content comes with `accept` only (the schema's `ElicitResult`): what a declining
            // client sent along is not the user's submission, and is not checked.
            answer.content = None;
        }
        if answer.action == ElicitAction::Accept
            && let Some(problem) =
                elicit_form::mismatch(&form.requested_schema, answer.content.as_ref())
        {
            return Err(self.bad_answer(format!(
                "client answered elicitation/create with content that does not match the \
                 requested schema: {problem}"
            )));
        }
        Ok(answer)
    }

    /// Asks the client for its roots (`roots/list`).
    ///
    /// Under 2025-11-25 and earlier the handler waits here for the client's answer. Under
    /// 2026-07-28 it ends this round with `input_required` and **runs again from the top**
    /// when the client retries with the answer, so side effects before this call repeat: put
    /// them after the questions or make them idempotent (see [`RequestContext`]).
    ///
    /// The counter below counts runs of the handler: two rounds, two runs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use mcp_core::jsonrpc::ErrorObject;
    /// use mcp_core::{RequestContext, Router, Tool};
    /// use serde_json::json;
    ///
    /// let runs = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&runs);
    /// let router = Router::builder()
    ///     .tool(Tool::new("ask").raw_handler(move |_, ctx: RequestContext| {
    ///         let counter = Arc::clone(&counter);
    ///         async move {
    ///             counter.fetch_add(1, Ordering::SeqCst); // a side effect before the question
    ///             let roots = ctx.list_roots().await?;
    ///             Ok::<_, ErrorObject>(format!("{} roots", roots.roots.len()))
    ///         }
    ///     }))
    ///     .build();
    ///
    /// let caps = json!({"roots": {}});
    /// let first = call(&router, caps.clone(), json!({})).await;
    /// assert_eq!(first["inputRequests"]["input-0"]["method"], "roots/list");
    /// let answer = json!({"roots": [{"uri": "file:///work"}]});
    /// let retry = json!({"inputResponses": {"input-0": answer}, "requestState": first["requestState"]});
    /// let second = call(&router, caps, retry).await;
    /// assert_eq!(second["content"][0]["text"], "1 roots");
    /// assert_eq!(runs.load(Ordering::SeqCst), 2); // the handler ran once per round
    /// # }
    /// # async fn call(router: &mcp_core::Router, caps: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    /// #     use mcp_core::{McpRequest, ProtocolVersion, jsonrpc::Message};
    /// #     use serde_json::{Value, json};
    /// #     use tower::ServiceExt;
    /// #     // A 2026-07-28 `tools/call`; the client declares its capabilities in `_meta`.
    /// #     let mut params = json!({"name": "ask", "arguments": {}, "_meta": {
    /// #         "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    /// #         "io.modelcontextprotocol/clientCapabilities": caps}});
    /// #     params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    /// #     let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    /// #     let request = McpRequest::new(Message::parse(&serde_json::to_vec(&body).unwrap()).unwrap(), ProtocolVersion::V2026_07_28);
    /// #     let response = router.clone().oneshot(request).await.unwrap();
    /// #     serde_json::from_slice::<Value>(&response.to_vec()).unwrap()["result"].clone()
    /// # }
    /// ```
    pub async fn list_roots(&self) -> Result<ListRootsResult, ErrorObject> {
        self.list_roots_keyed(None).await
    }

    /// [`RequestContext::list_roots`] with a named question.
    pub async fn list_roots_keyed(
        &self,
        key: Option<&str>,
    ) -> Result<ListRootsResult, ErrorObject> {
        self.require_capability("roots", &[], |caps| caps.roots.is_some())?;
        self.request_keyed(key, "roots/list", &serde_json::json!({}))
            .await
    }

    /// Fails unless the client `declared` capability `name` (with its members `parts`, when
    /// some are needed), naming what is missing as the modern era's error data does.
    fn require_capability(
        &self,
        name: &str,
        parts: &[&str],
        declared: impl FnOnce(&ClientCapabilities) -> bool,
    ) -> Result<(), ErrorObject> {
        if self.client_capabilities().is_some_and(declared) {
            return Ok(());
        }
        let code = if self.inner.version.is_modern() {
            codes::MISSING_REQUIRED_CLIENT_CAPABILITY
        } else {
            codes::INVALID_REQUEST
        };
        let message = if parts.is_empty() {
            format!("Client does not support {name}")
        } else {
            let named: Vec<String> = parts.iter().map(|part| format!("{name}.{part}")).collect();
            format!("Client does not support {}", named.join(" and "))
        };
        let members: serde_json::Map<String, serde_json::Value> = parts
            .iter()
            .map(|part| ((*part).to_owned(), serde_json::json!({})))
            .collect();
        let required = serde_json::json!({ name: members });
        Err(ErrorObject::new(code, message)
            .with_data(serde_json::json!({ "requiredCapabilities": required })))
    }

    /// Sends any server→client request and decodes the answer.
    ///
    /// Under 2025-11-25 and earlier the handler waits here for the client's answer. Under
    /// 2026-07-28 it ends this round with `input_required` and **runs again from the top**
    /// when the client retries with the answer, so side effects before this call repeat: put
    /// them after the questions or make them idempotent (see [`RequestContext`]).
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: &P,
    ) -> Result<R, ErrorObject> {
        self.request_keyed(None, method, params).await
    }

    /// Like [`RequestContext::request`], naming the question: in the modern era the key of
    /// the `inputRequests` entry (and of the answer in `inputResponses`); ignored otherwise.
    pub async fn request_keyed<P: Serialize, R: DeserializeOwned>(
        &self,
        key: Option<&str>,
        method: &'static str,
        params: &P,
    ) -> Result<R, ErrorObject> {
        let params = to_raw(params)?;
        let raw = self.request_raw(method, params, key).await?;
        serde_json::from_str(raw.get()).map_err(|e| {
            // Without serde's place: it points into text the client never sent as such.
            let why = crate::jsonrpc::serde_message(&e);
            self.bad_answer(format!("client answered {method} with bad result: {why}"))
        })
    }

    /// The error a handler gets for a client's unusable answer.
    fn bad_answer(&self, message: String) -> ErrorObject {
        // A modern answer comes in the retried request's `inputResponses`: its params are at
        // fault. A legacy one is a message of its own, and the request that asked
        // (`tools/call`, say) had valid params: its handler failed.
        if self.protocol_version().is_modern() {
            ErrorObject::invalid_params(message)
        } else {
            ErrorObject::internal_error(message)
        }
    }

    async fn request_raw(
        &self,
        method: &'static str,
        params: Box<RawValue>,
        key: Option<&str>,
    ) -> Result<Box<RawValue>, ErrorObject> {
        if let Some(round) = &self.inner.input {
            let key = match key {
                Some(key) => key.to_owned(),
                None => InputRound::key(self.inner.input_sequence.fetch_add(1, Ordering::Relaxed)),
            };
            return match round.answer_or_ask(method, params, key) {
                InputWait::Answered(raw) => Ok(raw),
                InputWait::Asked => {
                    // The router sees the round is waiting and answers `input_required`; this
                    // future is dropped, so it never needs to resolve.
                    std::future::pending().await
                }
            };
        }
        if self.inner.version.is_modern() {
            // 2026-07-28 servers send no requests: they ask through `input_required`, which
            // only tools/call, prompts/get and resources/read may answer (completion may not).
            return Err(ErrorObject::internal_error(format!(
                "{method} cannot be asked here: in {} only tools/call, prompts/get and \
                 resources/read may ask the client for input",
                self.inner.version
            )));
        }
        let Some(peer) = &self.inner.peer else {
            return Err(ErrorObject::internal_error(format!(
                "{method} needs a transport that carries server-to-client requests"
            )));
        };
        let answer = peer.request(method, params);
        tokio::select! {
            answer = tokio::time::timeout(self.inner.request_timeout, answer) => {
                answer.unwrap_or_else(|_| {
                    Err(ErrorObject::internal_error(format!("client did not answer {method} in time")))
                })
            }
            () = self.cancellation_token().cancelled() => {
                Err(ErrorObject::internal_error("request cancelled"))
            }
        }
    }
}
