//! Prompts: definition, required-argument checks, completion of arguments.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use super::BoxFuture;
use super::completion::Completions;
use crate::context::RequestContext;
use crate::jsonrpc::ErrorObject;
use crate::protocol::{self, GetPromptResult, Icon, PromptArgument, PromptMessage};

type GetFn = dyn Fn(
        BTreeMap<String, String>,
        RequestContext,
    ) -> BoxFuture<'static, Result<GetPromptResult, ErrorObject>>
    + Send
    + Sync;

/// A prompt template. Build one with [`Prompt::new`].
///
/// ```
/// use mcp_core::{Prompt, RequestContext};
/// use mcp_core::protocol::PromptMessage;
///
/// let greet = Prompt::new("greet")
///     .description("Greets someone")
///     .argument("name", "Who to greet", true)
///     .handler(|args, _ctx: RequestContext| async move {
///         vec![PromptMessage::user_text(format!("Say hello to {}", args["name"]))]
///     });
/// assert_eq!(greet.name(), "greet");
/// ```
#[derive(Clone)]
pub struct Prompt {
    pub(crate) definition: Arc<protocol::Prompt>,
    pub(crate) get: Arc<GetFn>,
    pub(crate) completions: Completions,
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.definition.name)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Prompt`].
///
/// [`complete`](Self::complete) answers `completion/complete` for one argument: it gets what
/// the user typed so far and the arguments already chosen.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::protocol::PromptMessage;
/// use mcp_core::{Prompt, RequestContext, Router};
/// use serde_json::json;
///
/// let translate = Prompt::new("translate")
///     .argument("language", "The language to translate into", true)
///     .complete("language", |typed, _chosen, _ctx: RequestContext| async move {
///         ["french", "finnish", "german"].into_iter().filter(|l| l.starts_with(&typed)).map(String::from).collect()
///     })
///     .handler(|args, _ctx: RequestContext| async move {
///         vec![PromptMessage::user_text(format!("Translate into {}", args["language"]))]
///     });
/// let router = Router::builder().prompt(translate).build();
///
/// let params = json!({"ref": {"type": "ref/prompt", "name": "translate"},
///     "argument": {"name": "language", "value": "f"}});
/// let completion = &call(&router, "completion/complete", params).await["result"]["completion"];
/// assert_eq!(completion["values"], json!(["french", "finnish"]));
/// // A required argument left out is the client's error.
/// let missing = call(&router, "prompts/get", json!({"name": "translate"})).await;
/// assert_eq!(missing["error"]["code"], -32602);
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
pub struct PromptBuilder {
    definition: protocol::Prompt,
    completions: Completions,
}

impl Prompt {
    /// Starts a prompt named `name`.
    // `Tool::new(..)...handler(..)` reads best; the builder finishes into `Self`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> PromptBuilder {
        PromptBuilder {
            definition: protocol::Prompt::new(name),
            completions: Completions::default(),
        }
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The definition advertised in `prompts/list`.
    pub fn definition(&self) -> &protocol::Prompt {
        &self.definition
    }

    /// Checks required arguments, then runs the handler.
    pub(crate) async fn get(
        &self,
        arguments: BTreeMap<String, String>,
        ctx: RequestContext,
    ) -> Result<GetPromptResult, ErrorObject> {
        let missing: Vec<&str> = self
            .definition
            .arguments
            .iter()
            .flatten()
            .filter(|arg| arg.required == Some(true) && !arguments.contains_key(&arg.name))
            .map(|arg| arg.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ErrorObject::invalid_params(format!(
                "Prompt {} is missing required arguments: {}",
                self.name(),
                missing.join(", ")
            )));
        }
        let version = ctx.protocol_version();
        let mut result = (self.get)(arguments, ctx).await?;
        for message in &mut result.messages {
            message.content.make_readable_by(version);
        }
        Ok(result)
    }
}

impl PromptBuilder {
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

    /// Adds an icon.
    pub fn icon(mut self, icon: Icon) -> Self {
        self.definition
            .icons
            .get_or_insert_with(Vec::new)
            .push(icon);
        self
    }

    /// Declares an argument.
    pub fn argument(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        required: bool,
    ) -> Self {
        let mut argument = PromptArgument::new(name);
        argument.description = Some(description.into());
        argument.required = Some(required);
        self.definition
            .arguments
            .get_or_insert_with(Vec::new)
            .push(argument);
        self
    }

    /// Completion for `argument`: `(partial, resolved arguments, ctx) → values`.
    pub fn complete<F, Fut>(mut self, argument: impl Into<String>, complete: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completions.add(argument, complete);
        self
    }

    /// Completion for `argument` that fetches a page of its matches: `(partial, resolved
    /// arguments, ctx) →` a [`Completion`](protocol::Completion) with the values and the
    /// number of matches in all (`total`) or that there are more (`has_more`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mcp_core::protocol::Completion;
    /// use mcp_core::protocol::PromptMessage;
    /// use mcp_core::{Prompt, RequestContext, Router};
    ///
    /// let cities = Prompt::new("weather")
    ///     .argument("city", "The city", true)
    ///     // A search service that answers with its first 3 matches of 5 000.
    ///     .complete_page("city", |prefix: String, _, _: RequestContext| async move {
    ///         Completion {
    ///             values: vec![format!("{prefix}ris"), format!("{prefix}mplona"), format!("{prefix}lermo")],
    ///             total: Some(5_000),
    ///             has_more: None,
    ///         }
    ///     })
    ///     .handler(|_, _: RequestContext| async { vec![PromptMessage::user_text("Sunny.")] });
    /// let router = Router::builder().prompt(cities).build();
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{
    ///     "ref":{"type":"ref/prompt","name":"weather"},"argument":{"name":"city","value":"Pa"}}}"#;
    /// let message = mcp_core::jsonrpc::Message::parse(body).unwrap();
    /// let request = mcp_core::McpRequest::new(message, mcp_core::ProtocolVersion::V2025_11_25);
    /// let answer = tower::ServiceExt::oneshot(router, request).await.unwrap();
    /// let answer: serde_json::Value = serde_json::from_slice(&answer.to_vec()).unwrap();
    /// assert_eq!(answer["result"]["completion"]["total"], 5000);
    /// assert_eq!(answer["result"]["completion"]["hasMore"], true);
    /// # }
    /// ```
    pub fn complete_page<F, Fut>(mut self, argument: impl Into<String>, complete: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = protocol::Completion> + Send + 'static,
    {
        self.completions.add(argument, complete);
        self
    }

    /// Attaches the handler; it gets the arguments by name.
    ///
    /// # Panics
    ///
    /// When an argument is declared twice, or a completion names an argument that is not
    /// declared.
    pub fn handler<F, Fut, R>(self, handler: F) -> Prompt
    where
        F: Fn(BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoPromptResult,
    {
        let owner = format!("prompt {}", self.definition.name);
        let arguments = self.definition.arguments.as_deref().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for argument in arguments {
            assert!(
                seen.insert(argument.name.as_str()),
                "{owner}: argument `{}` is declared twice",
                argument.name
            );
        }
        let names = arguments.iter().map(|argument| argument.name.as_str());
        self.completions.assert_declared(&owner, "argument", names);
        Prompt {
            definition: Arc::new(self.definition),
            completions: self.completions,
            get: Arc::new(move |arguments, ctx| {
                let future = handler(arguments, ctx);
                Box::pin(async move { future.await.into_prompt_result() })
            }),
        }
    }
}

/// Anything a prompt handler may return: a [`GetPromptResult`], its messages alone, or either
/// in a `Result` whose error (an [`ErrorObject`]) becomes the JSON-RPC error.
///
/// ```
/// use mcp_core::IntoPromptResult;
/// use mcp_core::jsonrpc::ErrorObject;
/// use mcp_core::protocol::PromptMessage;
///
/// let messages = vec![PromptMessage::user_text("hello")];
/// assert_eq!(messages.into_prompt_result().unwrap().messages.len(), 1);
/// let refused: Result<Vec<PromptMessage>, _> = Err(ErrorObject::invalid_params("no such topic"));
/// assert_eq!(refused.into_prompt_result().unwrap_err().code, -32602);
/// ```
pub trait IntoPromptResult: Send {
    /// Converts into the result (or a protocol error).
    fn into_prompt_result(self) -> Result<GetPromptResult, ErrorObject>;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> Result<GetPromptResult, ErrorObject> {
        Ok(self)
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> Result<GetPromptResult, ErrorObject> {
        Ok(GetPromptResult::new(self))
    }
}

impl<R: IntoPromptResult> IntoPromptResult for Result<R, ErrorObject> {
    fn into_prompt_result(self) -> Result<GetPromptResult, ErrorObject> {
        self?.into_prompt_result()
    }
}
