//! The modern, stateless era (2026-07-28): `server/discover`, `input_required` results and
//! their input requests/responses, `subscriptions/listen`, the reserved `_meta` keys, and the
//! era's error codes with their `data` shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::capabilities::{ClientCapabilities, ServerCapabilities};
use super::common::{Meta, ProgressToken, RequestParams};
use super::elicitation::{ElicitRequestParams, ElicitResult};
use super::methods;
use super::roots::ListRootsResult;
use super::sampling::{CreateMessageRequestParams, CreateMessageResult};

/// Reserved `_meta` keys.
pub mod meta_keys {
    /// `progressToken` (requests, all versions).
    pub const PROGRESS_TOKEN: &str = "progressToken";
    /// The protocol version of a modern request (required).
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    /// The client's capabilities for this request (required).
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    /// The client implementation.
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    /// The log level the client wants for this request (absent: no log messages).
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    /// The server implementation (results).
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    /// The subscription stream a notification or a `subscriptions/listen` result belongs to.
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
    /// The task a message belongs to (2025-11-25).
    pub const RELATED_TASK: &str = super::super::tasks::RELATED_TASK_META_KEY;
}

/// An HTTP header does not match the body, or a required header is missing (HTTP 400).
pub const HEADER_MISMATCH: i32 = -32020;
/// The request needs a client capability the client did not declare (HTTP 400); `data` is
/// [`MissingRequiredClientCapabilityErrorData`].
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// The requested protocol version is not supported (HTTP 400); `data` is
/// [`UnsupportedProtocolVersionErrorData`].
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;

/// The `data` of an [`UNSUPPORTED_PROTOCOL_VERSION`] error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedProtocolVersionErrorData {
    /// The versions the server supports.
    pub supported: Vec<String>,
    /// The version the client asked for.
    pub requested: String,
}

/// The `data` of a [`MISSING_REQUIRED_CLIENT_CAPABILITY`] error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingRequiredClientCapabilityErrorData {
    /// The capabilities the request needs.
    pub required_capabilities: ClientCapabilities,
}

/// How a client should read a result (`resultType`; absent means `complete`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultType {
    /// The final result.
    #[default]
    Complete,
    /// An [`InputRequiredResult`]: answer the input requests and retry.
    InputRequired,
}

/// Who may cache a result (`cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Any client or intermediary, across authorization contexts.
    Public,
    /// Only within the same authorization context.
    Private,
}

/// The result of `server/discover`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The protocol versions the server supports.
    pub supported_versions: Vec<String>,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// Usage guidance for the client (and its model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Result type (normally added by the server when writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Cache lifetime hint in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Cache scope hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
}

impl DiscoverResult {
    /// A result announcing `supported_versions` and `capabilities`.
    pub fn new(supported_versions: Vec<String>, capabilities: ServerCapabilities) -> Self {
        Self {
            supported_versions,
            capabilities,
            ..Self::default()
        }
    }
}

/// A request the server needs the client to fulfil before it can complete, tagged by
/// `"method"` with the request's `"params"` (no `jsonrpc`, no `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum InputRequest {
    /// `sampling/createMessage`.
    #[serde(rename = "sampling/createMessage")]
    CreateMessage {
        /// The params.
        params: CreateMessageRequestParams,
    },
    /// `roots/list`.
    #[serde(rename = "roots/list")]
    ListRoots {
        /// The params, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<RequestParams>,
    },
    /// `elicitation/create`.
    #[serde(rename = "elicitation/create")]
    Elicit {
        /// The params.
        params: ElicitRequestParams,
    },
}

impl InputRequest {
    /// A sampling request.
    pub fn create_message(params: CreateMessageRequestParams) -> Self {
        InputRequest::CreateMessage { params }
    }

    /// A roots request.
    pub fn list_roots() -> Self {
        InputRequest::ListRoots { params: None }
    }

    /// An elicitation request.
    pub fn elicit(params: impl Into<ElicitRequestParams>) -> Self {
        InputRequest::Elicit {
            params: params.into(),
        }
    }

    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            InputRequest::CreateMessage { .. } => methods::SAMPLING_CREATE_MESSAGE,
            InputRequest::ListRoots { .. } => methods::ROOTS_LIST,
            InputRequest::Elicit { .. } => methods::ELICITATION_CREATE,
        }
    }
}

/// Input requests keyed by a server-chosen name; the answers come back under the same keys.
pub type InputRequests = BTreeMap<String, InputRequest>;

/// The client's answer to one [`InputRequest`] (told apart by its fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputResponse {
    /// The answer to `sampling/createMessage`.
    CreateMessage(CreateMessageResult),
    /// The answer to `roots/list`.
    ListRoots(ListRootsResult),
    /// The answer to `elicitation/create`.
    Elicit(ElicitResult),
}

/// Answers keyed like the [`InputRequests`] they answer.
pub type InputResponses = BTreeMap<String, InputResponse>;

/// A result telling the client to fulfil input requests and retry the original request with
/// `inputResponses` (and `requestState`). Always written with `"resultType": "input_required"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Always [`ResultType::InputRequired`].
    #[serde(default = "input_required")]
    pub result_type: ResultType,
    /// What the client must fulfil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
    /// Opaque state the client echoes on retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

fn input_required() -> ResultType {
    ResultType::InputRequired
}

impl InputRequiredResult {
    /// A result asking for `input_requests`, with optional state to echo.
    pub fn new(input_requests: InputRequests, request_state: Option<String>) -> Self {
        Self {
            meta: None,
            result_type: ResultType::InputRequired,
            input_requests: Some(input_requests),
            request_state,
        }
    }
}

impl Default for InputRequiredResult {
    fn default() -> Self {
        Self {
            meta: None,
            result_type: ResultType::InputRequired,
            input_requests: None,
            request_state: None,
        }
    }
}

/// The retry fields every modern request may carry (`inputResponses`, `requestState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputResponseRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Answers to an earlier `input_required` result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<InputResponses>,
    /// Opaque state echoed from an earlier `input_required` result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

/// Which notifications a `subscriptions/listen` stream carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    /// `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_list_changed: Option<bool>,
    /// `notifications/resources/updated` for these resource URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_subscriptions: Option<Vec<String>>,
}

/// The `_meta` of every message of a `subscriptions/listen` subscription:
/// `{"io.modelcontextprotocol/subscriptionId": id}`, where `id` is the listen request's id.
///
/// Serialise it rather than a [`Meta`] map: a map holds an integer id past 64 bits only as
/// the nearest `f64`, while the [`RequestId`](crate::jsonrpc::RequestId) is written with the
/// value the client sent.
///
/// ```
/// use mcp_core::jsonrpc::RequestId;
/// use mcp_core::protocol::SubscriptionIdMeta;
///
/// let id = RequestId::from_json("123456789012345678901234567890").unwrap();
/// let meta = serde_json::to_string(&SubscriptionIdMeta { subscription_id: &id }).unwrap();
/// assert_eq!(meta, r#"{"io.modelcontextprotocol/subscriptionId":123456789012345678901234567890}"#);
/// ```
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SubscriptionIdMeta<'a> {
    /// The id of the `subscriptions/listen` request that opened the subscription.
    #[serde(rename = "io.modelcontextprotocol/subscriptionId")]
    pub subscription_id: &'a crate::jsonrpc::RequestId,
}

/// Params of `subscriptions/listen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionsListenRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// What the client wants to hear about: an object (an array is refused, though serde
    /// reads structs from arrays by position).
    #[serde(deserialize_with = "crate::router::objects::notifications")]
    pub notifications: SubscriptionFilter,
}

/// Params of `notifications/subscriptions/acknowledged`: what the server will deliver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionsAcknowledgedNotificationParams {
    /// Notification metadata (`io.modelcontextprotocol/subscriptionId`).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The notifications the stream will carry.
    pub notifications: SubscriptionFilter,
}

/// The result that closes a `subscriptions/listen` stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionsListenResult {
    /// Result metadata; carries `io.modelcontextprotocol/subscriptionId` (required).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Result type (normally added by the server when writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
}

impl SubscriptionsListenResult {
    /// The result closing the stream opened by the request `subscription_id`.
    pub fn new(subscription_id: ProgressToken) -> Self {
        let mut meta = Meta::new();
        meta.insert(
            meta_keys::SUBSCRIPTION_ID.to_owned(),
            subscription_id_value(subscription_id),
        );
        Self {
            meta: Some(meta),
            result_type: None,
        }
    }
}

fn subscription_id_value(id: ProgressToken) -> serde_json::Value {
    match id {
        ProgressToken::Number(n) => n.into(),
        ProgressToken::String(s) => s.into(),
        // A `Value` holds integers to 64 bits exactly; past that, the nearest `f64`.
        ProgressToken::BigNumber(digits) => {
            serde_json::from_str(&digits).unwrap_or(serde_json::Value::String(digits))
        }
    }
}
