//! Traces over OTLP/HTTP (protobuf), when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. The SDK reads the standard settings
//! itself: `OTEL_SERVICE_NAME` (default here: `firmenportal`), `OTEL_TRACES_SAMPLER` and
//! `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_HEADERS`. Without an
//! endpoint no layer is installed: nothing is exported and no span costs more than it
//! did.
//!
//! Spans go through a bounded queue to a batch exporter on a thread of its own, so a
//! collector that is down or slow never holds a request. What cannot be queued or
//! exported is counted in `firmenportal_spans_dropped_total`.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
    SpanProcessor,
};

/// Spans waiting for export at most; beyond, a span is dropped and counted.
const QUEUE: usize = 2048;
/// How long one export may take before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Spans dropped before export, for any reason; every instance's registry shows it.
pub static SPANS_DROPPED: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::IntCounter::new(
        "firmenportal_spans_dropped_total",
        "Trace spans dropped before export (queue full or export failed)",
    )
    .expect("a counter with a static name")
});

/// Set once the exporter runs: the spans below requests (database, hashing, e-mail,
/// webhooks) are made only then, so that without traces they cost nothing.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans are exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Whether the environment asks for traces.
pub fn configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// Keeps the exporter running; dropping it exports what is queued (bounded by the
/// export timeout) and stops it.
pub struct TracesGuard {
    provider: SdkTracerProvider,
    // Drives the exporter's HTTP client; dropped after the provider's last export.
    _runtime: tokio::runtime::Runtime,
}

impl Drop for TracesGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("traces: the last spans could not be exported: {error}");
        }
    }
}

/// The tracer of the OTLP pipeline, or an error to report (the service then runs
/// without traces).
pub fn tracer() -> Result<(opentelemetry_sdk::trace::SdkTracer, TracesGuard), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .map_err(|e| format!("traces runtime: {e}"))?;
    let client = OnRuntime {
        client: opentelemetry_http::hyper::HyperClient::with_default_connector(
            EXPORT_TIMEOUT,
            None,
        ),
        runtime: runtime.handle().clone(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(client)
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let queued = Arc::new(AtomicUsize::new(0));
    let batches = BatchSpanProcessor::builder(CountingExporter {
        inner: exporter,
        queued: queued.clone(),
    })
    .with_batch_config(
        BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE)
            .build(),
    )
    .build();
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "firmenportal".into());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BoundedQueue {
            inner: batches,
            queued,
        })
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("firmenportal");
    EXPORTING.store(true, Ordering::Relaxed);
    Ok((
        tracer,
        TracesGuard {
            provider,
            _runtime: runtime,
        },
    ))
}

/// The hyper client needs a Tokio runtime; the batch exporter runs on a plain thread. The
/// request is spawned onto the exporter's own runtime and awaited from there.
#[derive(Debug)]
struct OnRuntime {
    client: opentelemetry_http::hyper::HyperClient,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await
            .map_err(|e| Box::new(e) as opentelemetry_http::HttpError)?
    }
}

/// Counts a failed export's spans as dropped, and tells the queue what left it.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    queued: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans = batch.len();
        self.queued.fetch_sub(spans, Ordering::Relaxed);
        let exported = self.inner.export(batch);
        async move {
            let result = exported.await;
            if result.is_err() {
                SPANS_DROPPED.inc_by(spans as u64);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Hands a finished span to the batch processor only while fewer than [`QUEUE`] wait
/// for export (so its own queue never overflows uncounted); otherwise drops and counts
/// it. A request never waits for the collector.
#[derive(Debug)]
struct BoundedQueue<P> {
    inner: P,
    queued: Arc<AtomicUsize>,
}

impl<P: SpanProcessor> SpanProcessor for BoundedQueue<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let taken = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |queued| {
                (queued < QUEUE).then_some(queued + 1)
            });
        match taken {
            Ok(_) => self.inner.on_end(span),
            Err(_) => SPANS_DROPPED.inc(),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

tokio::task_local! {
    /// The trace id of the request being served, for its problem documents.
    static TRACE_ID: String;
}

/// The trace id of the request this task serves, if it serves one.
pub fn current_trace_id() -> Option<String> {
    TRACE_ID.try_with(Clone::clone).ok()
}

/// Runs `work` as part of the request whose trace id is `trace_id`.
pub async fn with_trace_id<F: std::future::Future>(trace_id: String, work: F) -> F::Output {
    TRACE_ID.scope(trace_id, work).await
}

/// The request's headers, for the W3C propagator.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Makes `span` a child of the caller's W3C `traceparent`, if it sent one, records and
/// answers the request's trace id: the exported trace's, or (a span that is not
/// recorded) the caller's or a new one.
pub fn continue_trace(
    span: &tracing::Span,
    headers: &actix_web::http::header::HeaderMap,
) -> String {
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parent =
        opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&Headers(headers));
    // Fails only when the span is not recorded: nothing to parent then.
    let _ = span.set_parent(parent);
    let exported = span.context().span().span_context().trace_id();
    let trace_id = if exported == opentelemetry::trace::TraceId::INVALID {
        caller_or_new_trace_id(headers)
    } else {
        exported.to_string()
    };
    span.record("trace_id", trace_id.as_str());
    trace_id
}

/// The trace id of a request when spans are not exported: the caller's W3C
/// `traceparent`'s, or a new one.
pub fn caller_or_new_trace_id(headers: &actix_web::http::header::HeaderMap) -> String {
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::TraceContextExt as _;
    let parent =
        opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&Headers(headers));
    let caller = parent.span().span_context().trace_id();
    if caller == opentelemetry::trace::TraceId::INVALID {
        uuid::Uuid::new_v4().simple().to_string()
    } else {
        caller.to_string()
    }
}

/// The W3C `traceparent` of the current span, when spans are exported: stored with work
/// that runs later (an e-mail), so that its span joins the request's trace.
pub fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if !exporting() {
        return None;
    }
    let context = tracing::Span::current().context();
    let span = context.span();
    let span = span.span_context();
    span.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span.trace_id(),
            span.span_id(),
            span.trace_flags().to_u8()
        )
    })
}

/// Makes `span` a child of a stored W3C `traceparent`.
pub fn set_parent_from(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::propagation::TextMapPropagator as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let carrier: std::collections::HashMap<String, String> =
        [("traceparent".to_string(), traceparent.to_string())].into();
    let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(parent);
}

/// Names the span now (a server span's route is known only after routing). The span's
/// OpenTelemetry counterpart exists from the moment its trace id was read, so its name is
/// set there; tracing's `otel.name` field would no longer reach it.
pub fn rename(span: &tracing::Span, name: &str) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if exporting() {
        span.context().span().update_name(name.to_string());
    }
}
