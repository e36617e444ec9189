//! [`TelemetryLayer`]: the configuration of the RPC-tier telemetry, shared by every service
//! it makes.

use std::sync::Arc;

use mcp_core::Router;
use mcp_core::jsonrpc::ErrorObject;
use tower_layer::Layer;
use tracing::Level;

use crate::hooks::{
    DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, OnFailure, OnRequest, OnResponse,
};
use crate::known::{KnownTargets, NoTargets};
use crate::outcome::default_is_rate_limited;
use crate::service::Telemetry;
use crate::{clock, recorder};

/// Spans and metrics for every JSON-RPC request and notification of the RPC tier.
///
/// Place it below `BatchLayer` so that each item of a batch is its own call:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mcp_core::{Json, McpRequest, McpResponse, ProtocolVersion, RequestContext, Router, Tool};
/// use mcp_core::jsonrpc::Message;
/// use mcp_telemetry::TelemetryLayer;
/// use mcp_tower::{AllowListLayer, BatchLayer};
/// use tower::{ServiceBuilder, ServiceExt};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Add { a: i64, b: i64 }
///
/// let router = Router::builder()
///     .tool(Tool::new("add").handler(|Json(x): Json<Add>, _: RequestContext| async move {
///         (x.a + x.b).to_string()
///     }))
///     .build();
/// let rpc = ServiceBuilder::new()
///     .layer(BatchLayer::new())
///     // Labels tools and prompts the router knows by name, folds the rest into `_other`.
///     .layer(TelemetryLayer::for_router(&router))
///     .layer(AllowListLayer::new())
///     .service(router);
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
/// let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
/// let response = rpc.oneshot(request).await.unwrap();
/// assert!(matches!(response, McpResponse::Single(r) if !r.is_error()));
/// # }
/// ```
///
/// Each call gets a span (static name `mcp.request`; its OpenTelemetry name `{method}
/// {target}` is the `otel.name` field, as `tracing-opentelemetry` expects) with the MCP
/// semantic-convention attributes, among them how the call arrived when the transport says:
/// `network.transport` (`tcp` over HTTP, `pipe` over stdio), `network.protocol.name` and
/// `.version`, and the connection's `network.peer.address` and `.port`, also as
/// `client.address` and `.port` (mcp-tower's server attaches the peer). A JSON-RPC error marks
/// the span failed, as the MCP conventions ask: `error.type` and `rpc.response.status_code`
/// hold the code, the status is ERROR with the error's message (a tool's `isError` result is
/// `error.type` `tool_error`). The hooks record the metrics (see
/// [`hooks`](crate::hooks)). A panicking handler is answered with -32603 "Internal error".
#[derive(Clone)]
pub struct TelemetryLayer<
    OnReq = DefaultOnRequest,
    OnRes = DefaultOnResponse,
    OnFail = DefaultOnFailure,
> {
    pub(crate) config: Arc<Config>,
    pub(crate) on_request: OnReq,
    pub(crate) on_response: OnRes,
    pub(crate) on_failure: OnFail,
}

/// What every call of one layer shares.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) known: Arc<dyn KnownTargets>,
    pub(crate) span_level: Level,
    pub(crate) uri_in_span_name: bool,
    pub(crate) uri_in_metrics: bool,
    pub(crate) is_rate_limited: fn(&ErrorObject) -> bool,
    pub(crate) keep_handles: bool,
    #[cfg(feature = "opentelemetry")]
    pub(crate) join_caller_trace: bool,
}

impl<OnReq, OnRes, OnFail> std::fmt::Debug for TelemetryLayer<OnReq, OnRes, OnFail> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryLayer")
            .field("span_level", &self.config.span_level)
            .field("uri_in_span_name", &self.config.uri_in_span_name)
            .field("uri_in_metrics", &self.config.uri_in_metrics)
            .field("keep_metric_handles", &self.config.keep_handles)
            .finish_non_exhaustive()
    }
}

impl Default for TelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryLayer {
    /// The default hooks, INFO spans, and no known targets: every tool and prompt name is
    /// folded into `_other` in metrics (spans keep the real names).
    pub fn new() -> Self {
        // The clock calibrates on first use (under a millisecond): here, not in a request.
        clock::calibrate();
        recorder::find_global_now_and_then();
        Self {
            config: Arc::new(Config {
                known: Arc::new(NoTargets),
                span_level: Level::INFO,
                uri_in_span_name: false,
                uri_in_metrics: false,
                is_rate_limited: default_is_rate_limited,
                keep_handles: true,
                #[cfg(feature = "opentelemetry")]
                join_caller_trace: true,
            }),
            on_request: DefaultOnRequest::default(),
            on_response: DefaultOnResponse::default(),
            on_failure: DefaultOnFailure::default(),
        }
    }

    /// Like [`new`](Self::new), labelling the tools and prompts registered on `router`
    /// (also those added later). Other names stay folded into `_other`: clients choose them,
    /// and each label value is a new series.
    ///
    /// ```
    /// use mcp_core::jsonrpc::Message;
    /// use mcp_core::{McpRequest, ProtocolVersion, RequestContext, Router, Tool};
    /// use mcp_telemetry::TelemetryLayer;
    /// use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    /// use tower::{Layer, ServiceExt};
    ///
    /// let router = Router::builder()
    ///     .tool(Tool::new("add").raw_handler(|_, _: RequestContext| async { "3" }))
    ///     .build();
    /// let service = TelemetryLayer::for_router(&router).layer(router);
    /// # let call = |name: &str| {
    /// #     let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
    /// #                                   "params": {"name": name}});
    /// #     McpRequest::new(Message::parse(body.to_string().as_bytes()).unwrap(), ProtocolVersion::V2025_11_25)
    /// # };
    /// let recorder = DebuggingRecorder::new();
    /// let snapshotter = recorder.snapshotter();
    /// metrics::with_local_recorder(&recorder, || {
    ///     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    ///     for name in ["add", "add", "made-up-by-a-client"] {
    ///         runtime.block_on(service.clone().oneshot(call(name))).unwrap();
    ///     }
    /// });
    /// let snapshot = snapshotter.snapshot().into_vec();
    /// let requests = |target: &str| snapshot.iter().find_map(|(key, _, _, value)| {
    ///     let labelled = key.key().labels().any(|l| l.key() == "target" && l.value() == target);
    ///     (key.key().name() == "mcp.server.requests" && labelled).then_some(value)
    /// });
    /// assert_eq!(requests("add"), Some(&DebugValue::Counter(2)));
    /// assert_eq!(requests("_other"), Some(&DebugValue::Counter(1)));
    /// assert_eq!(requests("made-up-by-a-client"), None);
    /// ```
    pub fn for_router(router: &Router) -> Self {
        Self::new().known_targets(router.clone())
    }
}

impl<OnReq, OnRes, OnFail> TelemetryLayer<OnReq, OnRes, OnFail> {
    /// Which target names get their own `target` label value.
    ///
    /// Use it when the names the server serves are not (all) on one [`Router`], e.g. tools
    /// of a proxied server; [`for_router`](TelemetryLayer::for_router) covers the common case.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    ///
    /// use mcp_core::{McpRequest, ProtocolVersion, Router, jsonrpc::Message};
    /// use mcp_telemetry::{CallInfo, TargetKind, TelemetryLayer};
    /// use tower::{Layer, ServiceExt};
    ///
    /// let labels = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&labels);
    /// let layer = TelemetryLayer::new()
    ///     .known_targets(|kind: TargetKind, name: &str| kind == TargetKind::Tool && name == "search")
    ///     // Shows the label the default hooks would use; the metrics get the same.
    ///     .on_request(move |call: &CallInfo, _: &tracing::Span| {
    ///         seen.lock().unwrap().push(call.target_label().unwrap().to_owned());
    ///     });
    /// let service = layer.layer(Router::builder().build());
    /// for name in ["search", "made-up"] {
    ///     let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
    ///     let message = Message::parse(body.as_bytes()).unwrap();
    ///     service.clone().oneshot(McpRequest::new(message, ProtocolVersion::V2025_11_25)).await.unwrap();
    /// }
    /// assert_eq!(*labels.lock().unwrap(), ["search", "_other"]);
    /// # }
    /// ```
    pub fn known_targets(mut self, known: impl KnownTargets) -> Self {
        Arc::make_mut(&mut self.config).known = Arc::new(known);
        self
    }

    /// The level of the call spans (default INFO).
    pub fn span_level(mut self, level: Level) -> Self {
        Arc::make_mut(&mut self.config).span_level = level;
        self
    }

    /// Whether `resources/*` span names end with the URI (default false: URIs are unbounded,
    /// the OpenTelemetry conventions advise against them in span names).
    pub fn resource_uri_in_span_name(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).uri_in_span_name = enabled;
        self
    }

    /// Whether `resources/read`, `resources/subscribe` and `resources/unsubscribe` metrics get
    /// a `target` label with the URI: the server's own resources each their own value, other
    /// URIs `_other` (default false: their metrics have no `target` label, as the
    /// OpenTelemetry conventions make `mcp.resource.uri` opt-in on metrics, since a server
    /// may serve thousands of resources). Spans carry the URI either way.
    ///
    /// ```
    /// use mcp_core::{McpRequest, ProtocolVersion, Resource, RequestContext, Router};
    /// use mcp_core::jsonrpc::Message;
    /// use mcp_telemetry::TelemetryLayer;
    /// use metrics_util::debugging::DebuggingRecorder;
    /// use tower::{Layer, ServiceExt};
    ///
    /// let router = Router::builder()
    ///     .resource(Resource::new("docs://readme", "readme")
    ///         .handler(|_uri: String, _: RequestContext| async { "Read me." }))
    ///     .build();
    /// let read = br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"docs://readme"}}"#;
    /// let labels = |layer: TelemetryLayer| {
    ///     let recorder = DebuggingRecorder::new();
    ///     let snapshotter = recorder.snapshotter();
    ///     metrics::with_local_recorder(&recorder, || {
    ///         let request = McpRequest::new(Message::parse(read).unwrap(), ProtocolVersion::V2025_11_25);
    ///         let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    ///         runtime.block_on(layer.layer(router.clone()).oneshot(request)).unwrap();
    ///     });
    ///     let snapshot = snapshotter.snapshot().into_vec();
    ///     let (requests, ..) = snapshot
    ///         .iter()
    ///         .find(|(key, ..)| key.key().name() == "mcp.server.requests")
    ///         .unwrap();
    ///     requests.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect::<Vec<_>>()
    /// };
    /// assert_eq!(labels(TelemetryLayer::for_router(&router)), ["method=resources/read"]);
    /// assert_eq!(
    ///     labels(TelemetryLayer::for_router(&router).resource_uri_in_metrics(true)),
    ///     ["method=resources/read", "target=docs://readme"],
    /// );
    /// ```
    pub fn resource_uri_in_metrics(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).uri_in_metrics = enabled;
        self
    }

    /// How a rate-limit refusal is recognised among protocol errors (default: an error
    /// marked [`HttpRefusal::RateLimited`](mcp_core::HttpRefusal::RateLimited), or code
    /// -32000 with "rate limit" in the message or `retryAfterMs` / `retryAfter` in the data,
    /// as mcp-auth's `RateLimitLayer` answers).
    ///
    /// Give it the error of a limiter of your own, so that its refusals reach the
    /// [`OnFailure`] hook as [`Failure::RateLimited`](crate::Failure::RateLimited) (counted
    /// in `mcp.server.rate_limited` by the default hook) rather than as protocol errors:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// use mcp_core::jsonrpc::{ErrorObject, Message};
    /// use mcp_core::{McpRequest, ProtocolVersion, RequestContext, Router, Tool};
    /// use mcp_telemetry::{CallInfo, Failure, TelemetryLayer};
    /// use tower::{Layer, ServiceExt};
    ///
    /// // A tool that refuses with the limiter's own code.
    /// let router = Router::builder()
    ///     .tool(Tool::new("search").raw_handler(|_, _: RequestContext| async {
    ///         Err::<String, _>(ErrorObject::new(-32029, "slow down"))
    ///     }))
    ///     .build();
    /// let rate_limited = Arc::new(Mutex::new(None));
    /// let seen = Arc::clone(&rate_limited);
    /// let layer = TelemetryLayer::new()
    ///     .rate_limited_when(|error| error.code == -32029)
    ///     .on_failure(move |_: &CallInfo, failure: Failure<'_>, _: Duration, _: &tracing::Span| {
    ///         *seen.lock().unwrap() = Some(matches!(failure, Failure::RateLimited(_)));
    ///     });
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}"#;
    /// let request = McpRequest::new(Message::parse(body).unwrap(), ProtocolVersion::V2025_11_25);
    /// layer.layer(router).oneshot(request).await.unwrap();
    /// assert_eq!(*rate_limited.lock().unwrap(), Some(true));
    /// # }
    /// ```
    pub fn rate_limited_when(mut self, predicate: fn(&ErrorObject) -> bool) -> Self {
        Arc::make_mut(&mut self.config).is_rate_limited = predicate;
        self
    }

    /// Whether metric handles of the global recorder are kept for the life of the process
    /// (default true).
    ///
    /// Registering a metric with a recorder is a registry lookup, which with a Prometheus
    /// recorder cost more than everything else the layer does; kept handles skip it. Turn
    /// this off when the recorder drops idle series (`PrometheusBuilder::idle_timeout`): a
    /// kept handle goes on writing to a series the recorder has dropped, which then never
    /// reappears. Thread-local recorders (`metrics::with_local_recorder`) always get a
    /// registration per use.
    ///
    /// The recorder in scope is looked at once, when a call starts: if it is the global
    /// recorder, all of the call's metrics go there. The global recorder is looked for when
    /// layers are made or applied (at most once a second), and by
    /// [`describe_metrics`](crate::names::describe_metrics): install it before building the
    /// stack, or describe the metrics after installing it (`prometheus::install` does).
    ///
    /// ```
    /// use mcp_telemetry::TelemetryLayer;
    ///
    /// let layer = TelemetryLayer::new().keep_metric_handles(false);
    /// # let _ = layer;
    /// ```
    pub fn keep_metric_handles(mut self, keep: bool) -> Self {
        Arc::make_mut(&mut self.config).keep_handles = keep;
        self
    }

    /// Whether a call's span joins the caller's trace (default true; feature
    /// `opentelemetry`).
    ///
    /// A valid `params._meta.traceparent` (with `tracestate`, when valid) becomes the remote
    /// parent of the call's span in `tracing-opentelemetry`, as SEP-414 and the OpenTelemetry
    /// MCP conventions describe: the client's span, the server's span and the spans of
    /// whatever the handler calls form one trace. Without a `traceparent`, or with an invalid
    /// one, the call starts a new trace. Turn this off where callers are not trusted to
    /// choose trace ids (a public server whose traces start at its edge); the ids are still
    /// recorded as the span's `trace_id` and `parent_span_id` fields.
    ///
    /// ```
    /// use mcp_telemetry::TelemetryLayer;
    /// use opentelemetry::trace::TracerProvider as _;
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// // The application's OpenTelemetry pipeline (with an OTLP exporter in production).
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("my-server")));
    /// tracing::subscriber::set_global_default(subscriber).unwrap();
    ///
    /// // Calls that carry `_meta.traceparent` continue the caller's trace...
    /// let layer = TelemetryLayer::new();
    /// // ...except on a public server whose traces start at its edge.
    /// let edge = TelemetryLayer::new().join_caller_trace(false);
    /// # let _ = (layer, edge);
    /// ```
    #[cfg(feature = "opentelemetry")]
    pub fn join_caller_trace(mut self, join: bool) -> Self {
        Arc::make_mut(&mut self.config).join_caller_trace = join;
        self
    }

    /// Replaces what is recorded when a call starts.
    pub fn on_request<New: OnRequest>(self, on_request: New) -> TelemetryLayer<New, OnRes, OnFail> {
        TelemetryLayer {
            config: self.config,
            on_request,
            on_response: self.on_response,
            on_failure: self.on_failure,
        }
    }

    /// Replaces what is recorded when a call is answered.
    pub fn on_response<New: OnResponse>(
        self,
        on_response: New,
    ) -> TelemetryLayer<OnReq, New, OnFail> {
        TelemetryLayer {
            config: self.config,
            on_request: self.on_request,
            on_response,
            on_failure: self.on_failure,
        }
    }

    /// Replaces what is recorded when a call fails.
    pub fn on_failure<New: OnFailure>(self, on_failure: New) -> TelemetryLayer<OnReq, OnRes, New> {
        TelemetryLayer {
            config: self.config,
            on_request: self.on_request,
            on_response: self.on_response,
            on_failure,
        }
    }
}

impl<S, OnReq, OnRes, OnFail> Layer<S> for TelemetryLayer<OnReq, OnRes, OnFail>
where
    OnReq: Clone,
    OnRes: Clone,
    OnFail: Clone,
{
    type Service = Telemetry<S, OnReq, OnRes, OnFail>;

    fn layer(&self, inner: S) -> Self::Service {
        // The recorder may have been installed since the layer was made.
        recorder::find_global_now_and_then();
        Telemetry {
            inner,
            config: Arc::clone(&self.config),
            on_request: self.on_request.clone(),
            on_response: self.on_response.clone(),
            on_failure: self.on_failure.clone(),
        }
    }
}
