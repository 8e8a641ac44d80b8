//! Which requests are traced, decided when a request arrives rather than when its spans close:
//! a request not kept makes no spans at all (BENCHMARKS.md section 20 measured what its child
//! spans cost when the decision came at their end). The decision follows a `traceparent`'s
//! sampled flag, else the configured ratio; the tracing layer's filter reads it from a
//! task-local ([`traced_here`]) for every span made inside the request.

use std::future::Future;
use std::sync::OnceLock;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

tokio::task_local! {
    static TRACED: bool;
}

/// The share of new traces kept, once tracing is on.
static RATIO: OnceLock<f64> = OnceLock::new();

/// Tracing is on with `ratio` (set once, by the layer).
pub(super) fn set_ratio(ratio: f64) {
    let _ = RATIO.set(ratio);
}

/// Whether a request is traced: its parent's flag when a valid `traceparent` names one, else
/// a draw in `[0, 1)` under the ratio; always without tracing (spans nobody takes cost
/// nothing).
pub fn decide(parent_sampled: Option<bool>, ratio: Option<f64>, draw: f64) -> bool {
    match (ratio, parent_sampled) {
        (None, _) => true,
        (Some(_), Some(sampled)) => sampled,
        (Some(r), None) => draw < r,
    }
}

/// [`decide`] for a request now.
pub fn decide_now(parent_sampled: Option<bool>) -> bool {
    decide(parent_sampled, RATIO.get().copied(), rand::random::<f64>())
}

/// Run `f` (a request) as traced or not: what it calls asks [`traced_here`].
pub async fn within<F: Future>(traced: bool, f: F) -> F::Output {
    TRACED.scope(traced, f).await
}

/// Whether the tracing layer takes a span made here: not inside a request that is not traced.
/// Outside any request (background work) it does and the sampler decides.
pub fn traced_here() -> bool {
    TRACED.try_with(|t| *t).unwrap_or(true)
}

/// The sampler of new traces: a request's span (kind server) was decided on arrival
/// ([`decide`]) and is kept; other roots (background work) are kept at the ratio. Spans with a
/// parent follow it (the SDK's `ParentBased`).
#[derive(Debug, Clone)]
pub(super) struct Roots {
    ratio: Sampler,
}

impl Roots {
    pub(super) fn sampler(ratio: f64) -> Sampler {
        Sampler::ParentBased(Box::new(Roots {
            ratio: Sampler::TraceIdRatioBased(ratio),
        }))
    }
}

impl ShouldSample for Roots {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if *span_kind == SpanKind::Server {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: Default::default(),
            };
        }
        self.ratio
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_decides_else_the_ratio_and_without_tracing_everything_is_made() {
        assert!(decide(None, None, 0.99));
        assert!(
            decide(Some(false), None, 0.0),
            "no tracing: spans cost nothing anyway"
        );
        assert!(
            decide(Some(true), Some(0.0), 0.99),
            "a sampled parent is followed"
        );
        assert!(
            !decide(Some(false), Some(1.0), 0.0),
            "so is one not sampled"
        );
        assert!(decide(None, Some(0.1), 0.05));
        assert!(!decide(None, Some(0.1), 0.1));
        assert!(!decide(None, Some(0.0), 0.0));
        assert!(decide(None, Some(1.0), 0.999_999));
    }

    #[test]
    fn a_request_span_is_kept_and_background_roots_go_by_the_ratio() {
        let roots = Roots {
            ratio: Sampler::TraceIdRatioBased(0.0),
        };
        let id = TraceId::from(7u128);
        let kept =
            roots.should_sample(None, id, "POST /scim/v2/Users", &SpanKind::Server, &[], &[]);
        assert_eq!(kept.decision, SamplingDecision::RecordAndSample);
        let background =
            roots.should_sample(None, id, "store user_rows", &SpanKind::Client, &[], &[]);
        assert_eq!(background.decision, SamplingDecision::Drop);
    }

    #[tokio::test]
    async fn inside_a_request_its_decision_holds_and_outside_spans_are_made() {
        assert!(traced_here());
        assert!(!within(false, async { traced_here() }).await);
        assert!(within(true, async { traced_here() }).await);
    }
}
