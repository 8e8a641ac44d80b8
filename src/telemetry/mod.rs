//! Tracing over OpenTelemetry (OTLP/HTTP, protobuf) when `[server.tracing]` is set: a span per
//! HTTP request (`http.server`, in `crate::http::observe`) with child spans for key-lock waits
//! (`lock.wait`), store calls (`store`, [`crate::store::traced::TracedStore`]), the wait for a
//! Tableau slot and each Tableau call (`tableau.call`, one per attempt). The request id is an
//! attribute of the request's span; a `traceparent` header (W3C Trace Context) from a gateway
//! in front makes the request's span its child.
//!
//! What a span may hold is decided where it is made: names of operations and endpoints, status
//! codes, counts, the tenant's id, the request id. Never a URL's query, a header, a body, a
//! user name or a secret. Events (log lines) at `info` and above inside a span ride along as its
//! events: they are the log lines, which hold no secrets either.
//!
//! Bounds: spans wait in a queue of `queue` (2,048 by default) and past it are dropped (the
//! SDK counts them); batches of at most 512 go every 5 s; 128 attributes and 128 events per
//! span at most (the SDK's limits).

mod exporter;
mod sampling;

pub use sampling::{decide_now, traced_here, within};

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{propagation::TextMapPropagator, Context};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use secrecy::{ExposeSecret, SecretString};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

/// Spans waiting to be sent, by default.
pub const DEFAULT_QUEUE: usize = 2048;

/// Where and how spans go (`[server.tracing]`).
#[derive(Debug, Clone)]
pub struct TracingConfig {
    /// The collector's OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// `service.name` of the spans.
    pub service_name: String,
    /// The share of new traces kept (0 to 1); a trace begun upstream keeps its own decision.
    pub sample_ratio: f64,
    /// The `Authorization` header a hosted collector asks for (a file or
    /// `TABLEAU_SCIM_OTLP_AUTHORIZATION`).
    pub authorization: Option<SecretString>,
    /// Spans waiting to be sent at most.
    pub queue: usize,
}

/// The running exporter: shut it down at exit so the last spans are sent.
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// Send what is queued and stop (off the runtime's threads: the export runs on them).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// The layer that turns our spans into OpenTelemetry spans, and its exporter. Takes the spans
/// of this crate at `debug` and above (the child spans are `debug`, so the log's default
/// filter leaves them out of log lines) but not the log's own `request` span, which the
/// `http.server` span stands for; events at `info` and above.
pub fn layer<S>(cfg: &TracingConfig) -> Result<(impl Layer<S>, Tracing), String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "tracing needs the server's runtime".to_string())?;
    let mut headers = std::collections::HashMap::new();
    if let Some(a) = &cfg.authorization {
        headers.insert("authorization".to_string(), a.expose_secret().to_string());
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(cfg.endpoint.clone())
        .with_timeout(Duration::from_secs(10))
        .with_headers(headers)
        .with_http_client(exporter::OtlpClient::new(runtime)?)
        .build()
        .map_err(|e| format!("server.tracing: {e}"))?;
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(cfg.queue)
                .with_max_export_batch_size(cfg.queue.min(512))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampling::Roots::sampler(cfg.sample_ratio))
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.clone())
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    sampling::set_ratio(cfg.sample_ratio);
    let tracer = provider.tracer("tableau-scim");
    // Every span is built whether or not its trace is kept (the sampler decides when it
    // closes), so it carries only what it was made with: no source location, thread, target,
    // busy/idle timings, nor an OpenTelemetry context entered on each poll (nothing else here
    // reads one). Each was a cost per span (BENCHMARKS.md section 20).
    let layer = tracing_opentelemetry::layer()
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_tracer(tracer)
        .with_filter(
            // Which callsites the layer takes is fixed (`exported`); whether it takes a span
            // is asked again each time, since a request not traced makes none (`sampling`).
            tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
                exported(meta) && (!meta.is_span() || sampling::traced_here())
            })
            .with_callsite_filter(|meta| {
                use tracing::subscriber::Interest;
                match (exported(meta), meta.is_span()) {
                    (false, _) => Interest::never(),
                    (true, true) => Interest::sometimes(),
                    (true, false) => Interest::always(),
                }
            }),
        );
    Ok((layer, Tracing { provider }))
}

/// Whether the tracing layer takes what `meta` describes (see [`layer`]).
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    if meta.is_span() {
        meta.target().starts_with("tableau_scim")
            && !meta.target().starts_with("tableau_scim::emulator")
            && meta.name() != "request"
            && *meta.level() <= Level::DEBUG
    } else {
        *meta.level() <= Level::INFO
    }
}

/// The sampled flag of the parent a `traceparent` names, or `None` when it names none (a
/// malformed header: the request then starts a trace of its own).
pub fn parent_sampled(traceparent: &str) -> Option<bool> {
    use opentelemetry::trace::TraceContextExt;
    let cx = parent_of(traceparent, None);
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.is_sampled())
}

/// The remote parent a W3C `traceparent` (and `tracestate`) header names; an empty context
/// when it is malformed (the request then starts a trace of its own).
pub fn parent_of(traceparent: &str, tracestate: Option<&str>) -> Context {
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_string(), traceparent.to_string());
    if let Some(s) = tracestate {
        carrier.insert("tracestate".to_string(), s.to_string());
    }
    TraceContextPropagator::new().extract(&carrier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn a_valid_traceparent_is_the_parent_and_a_malformed_one_is_ignored() {
        let cx = parent_of(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            None,
        );
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_valid() && sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        for bad in [
            "",
            "00-zz-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        ] {
            assert!(
                !parent_of(bad, None).span().span_context().is_valid(),
                "{bad}"
            );
            assert_eq!(parent_sampled(bad), None, "{bad}");
        }
        assert_eq!(
            parent_sampled("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
            Some(false)
        );
        assert_eq!(
            parent_sampled("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            Some(true)
        );
    }
}
