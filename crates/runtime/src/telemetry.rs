//! Telemetry: `tracing` for logs and spans, bridged to OpenTelemetry so every span
//! has W3C trace and span ids, exported over OTLP/gRPC when
//! `telemetry.otlp_endpoint` is set. [`init`] runs once per process and returns a
//! guard that flushes spans when `main` drops it.
//!
//! The one injector/extractor for trace context lives here too: gRPC metadata
//! (incoming), outbox rows and Kafka headers (`traceparent`) all go through
//! [`traceparent_of`] and [`set_parent`], so one trace spans command → outbox →
//! Kafka → consumer.

use std::collections::HashMap;

use opentelemetry::{
    KeyValue,
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider, SpanExporter},
};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::settings::TelemetrySettings;

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `telemetry.log_filter` does not parse.
    #[error("settings: invalid `telemetry.log_filter`: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built.
    #[error("settings: invalid `telemetry.otlp_endpoint`: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber is already installed.
    #[error("telemetry already initialised: {0}")]
    AlreadySet(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; flushes and shuts it down on drop.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Nothing useful can be done with a failed flush while the process exits.
        let _ = self.provider.shutdown();
    }
}

/// Starts logging and tracing for `service_name` as the settings say.
pub fn init(
    settings: &TelemetrySettings,
    service_name: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    let mut builder = provider_builder(settings, service_name);
    if !settings.otlp_endpoint.is_empty() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.otlp_endpoint.clone())
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    install(settings, builder.build())
}

/// As [`init`], exporting spans synchronously to `exporter` (tests inspect spans
/// this way).
pub fn init_with_exporter<E: SpanExporter + 'static>(
    settings: &TelemetrySettings,
    service_name: &str,
    exporter: E,
) -> Result<TelemetryGuard, TelemetryError> {
    let provider = provider_builder(settings, service_name)
        .with_simple_exporter(exporter)
        .build();
    install(settings, provider)
}

fn provider_builder(
    settings: &TelemetrySettings,
    service_name: &str,
) -> opentelemetry_sdk::trace::TracerProviderBuilder {
    SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(resource(service_name))
}

/// The process as OpenTelemetry names it: `service.name`, a
/// `service.instance.id` (a random UUID unless `OTEL_RESOURCE_ATTRIBUTES`
/// gives one, e.g. the pod name from the downward API), and whatever else
/// that variable sets (`k8s.pod.name`, `k8s.namespace.name`, …).
fn resource(service_name: &str) -> Resource {
    // The default detectors read OTEL_RESOURCE_ATTRIBUTES; the instance id
    // is added below it, so the variable's value wins.
    let from_env = Resource::builder().build();
    let mut builder = Resource::builder().with_service_name(service_name.to_owned());
    if from_env
        .get(&opentelemetry::Key::new("service.instance.id"))
        .is_none()
    {
        builder = builder.with_attribute(KeyValue::new(
            "service.instance.id",
            uuid::Uuid::new_v4().to_string(),
        ));
    }
    builder.build()
}

/// The SERVER span of one gRPC request, named and attributed as the
/// OpenTelemetry RPC conventions say (`rpc.system`, `rpc.service`,
/// `rpc.method`; `rpc.grpc.status_code` once answered), from the request
/// path `/package.Service/Method` (never the message: no PHI).
pub fn server_span(path: &str) -> Span {
    let full = path.strip_prefix('/').unwrap_or(path);
    let (service, method) = full.split_once('/').unwrap_or((full, ""));
    tracing::info_span!(
        "grpc.request",
        otel.name = %full,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
    )
}

/// Records the answer's gRPC status on the current request span; the codes
/// the conventions count as a server's fault also mark the span ERROR.
pub fn record_grpc_status(code: tonic::Code) {
    use tonic::Code;
    let span = Span::current();
    span.record("rpc.grpc.status_code", code as i64);
    if matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
}

fn install(
    settings: &TelemetrySettings,
    provider: SdkTracerProvider,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_new(&settings.log_filter)?;
    let fmt = if settings.log_format == "json" {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    // Spans reach OpenTelemetry at INFO whatever the log filter says, so quieting
    // logs never breaks trace propagation.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("iop"))
        .with_filter(LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init()?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(TelemetryGuard { provider })
}

/// The W3C `traceparent` of `span`, if it belongs to a sampled or recorded trace.
pub fn traceparent_of(span: &Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote span named by `traceparent` (if valid).
pub fn set_parent(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        // Fails only when the OpenTelemetry layer is absent; the span then has no ids to link.
        let _ = span.set_parent(cx);
    }
}

/// Makes `span` a child of the context carried in HTTP/2 headers (gRPC metadata).
pub fn set_parent_from_headers(span: &Span, headers: &http::HeaderMap) {
    struct Headers<'a>(&'a http::HeaderMap);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(http::HeaderName::as_str).collect()
        }
    }
    let cx = TraceContextPropagator::new().extract(&Headers(headers));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The trace id of `span` as 32 hex digits, if it has one.
pub fn trace_id_of(span: &Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}
