//! Test helpers: a capturing `tracing` layer, a recording `metrics` recorder installed for
//! one thread, and a runtime on that thread.

#![allow(dead_code, unreachable_pub)]

pub mod calls;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span: its static name and every field recorded on it.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    pub name: &'static str,
    pub fields: BTreeMap<String, String>,
}

impl SpanRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// An event: target, level, fields (the message under `message`) and the enclosing span's
/// `otel.name`.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub target: String,
    pub level: tracing::Level,
    pub fields: BTreeMap<String, String>,
    pub span: Option<String>,
}

impl EventRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Captured {
    open: HashMap<u64, SpanRecord>,
    closed: Vec<SpanRecord>,
    events: Vec<EventRecord>,
}

/// Records span names and fields, and events.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Captured>>);

impl Capture {
    /// The spans closed so far.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.0.lock().unwrap().closed.clone()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<EventRecord> {
        self.0.lock().unwrap().events.clone()
    }

    /// The events with this `mcp.event`.
    pub fn events_named(&self, name: &str) -> Vec<EventRecord> {
        self.events()
            .into_iter()
            .filter(|e| e.field("mcp.event") == Some(name))
            .collect()
    }

    /// The one closed span with this `otel.name`.
    pub fn span(&self, otel_name: &str) -> SpanRecord {
        let spans: Vec<_> = self
            .spans()
            .into_iter()
            .filter(|s| s.field("otel.name") == Some(otel_name))
            .collect();
        assert_eq!(
            spans.len(),
            1,
            "spans named {otel_name:?}: {:#?}",
            self.spans()
        );
        spans.into_iter().next().unwrap()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut record = SpanRecord {
            name: attrs.metadata().name(),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut record.fields));
        self.0.lock().unwrap().open.insert(id.into_u64(), record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(record) = self.0.lock().unwrap().open.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let parent = event
            .parent()
            .cloned()
            .or_else(|| ctx.current_span().id().cloned());
        let mut captured = self.0.lock().unwrap();
        let span = parent
            .and_then(|id| captured.open.get(&id.into_u64()))
            .and_then(|s| s.field("otel.name").map(str::to_owned));
        captured.events.push(EventRecord {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            span,
        });
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut captured = self.0.lock().unwrap();
        if let Some(record) = captured.open.remove(&id.into_u64()) {
            captured.closed.push(record);
        }
    }
}

/// Recorded metrics; each snapshot drains what it reports (counters and gauges show the
/// change since the previous snapshot).
pub struct Metrics(Snapshotter);

impl Metrics {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(
            self.0
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| (key, value))
                .collect(),
        )
    }
}

pub struct Snapshot(Vec<(CompositeKey, DebugValue)>);

impl Snapshot {
    fn find(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0.iter().find_map(|(key, value)| {
            let k = key.key();
            let mut have: Vec<(&str, &str)> = k.labels().map(|l| (l.key(), l.value())).collect();
            let mut want = labels.to_vec();
            have.sort_unstable();
            want.sort_unstable();
            (key.kind() == kind && k.name() == name && have == want).then_some(value)
        })
    }

    /// A counter's value (0 when absent).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(MetricKind::Counter, name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            _ => 0,
        }
    }

    /// A gauge's value (None when never set).
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.find(MetricKind::Gauge, name, labels) {
            Some(DebugValue::Gauge(v)) => Some(v.into_inner()),
            _ => None,
        }
    }

    /// A histogram's samples (empty when absent).
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(MetricKind::Histogram, name, labels) {
            Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
            _ => Vec::new(),
        }
    }

    /// Every series of a metric, for failure messages.
    pub fn dump(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key.key().name() == name)
            .map(|(key, value)| format!("{:?} {value:?}", key.key()))
            .collect()
    }
}

/// Runs `test` on a current-thread runtime with a fresh recorder and a capturing subscriber
/// installed for this thread only, so that tests running in parallel do not see each other.
pub fn run<F, Fut>(test: F)
where
    F: FnOnce(Capture, Metrics) -> Fut,
    Fut: Future<Output = ()>,
{
    let recorder = DebuggingRecorder::new();
    let metrics = Metrics(recorder.snapshotter());
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let _tracing = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test(capture, metrics));
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

/// The `add` tool every suite here calls.
pub fn add_tool() -> mcp_core::Tool {
    use mcp_core::{Json, RequestContext, Tool};
    Tool::new("add")
        .handler(|Json(x): Json<AddArgs>, _: RequestContext| async move { (x.a + x.b).to_string() })
}

/// A real server on 127.0.0.1:0 (Host/Origin checks and stateless Streamable HTTP around
/// `rpc`), and a client of it.
pub async fn serve_rpc<S>(rpc: S) -> (mcp_e2e::TestServer, mcp_e2e::TestClient)
where
    S: tower::Service<
            mcp_core::McpRequest,
            Response = mcp_core::McpResponse,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    use tower::ServiceBuilder;
    let http = ServiceBuilder::new()
        .layer(mcp_tower::HostOriginLayer::new())
        .layer(mcp_tower::StreamableHttpLayer::default())
        .service(rpc);
    let server = mcp_e2e::TestServer::start(tower::util::BoxCloneSyncService::new(http)).await;
    let client = mcp_e2e::TestClient::new(&server);
    (server, client)
}
