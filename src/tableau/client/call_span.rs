//! The tracing span of one attempt at a Tableau call: what it records and what it never does.

/// The span of one attempt (`debug`: tracing takes it, the log's default filter does not):
/// the endpoint's shape (`GET /users/{id}`) and the attempt, never the URL, whose path and
/// query hold ids and names, nor a header (the session token travels in one).
pub(super) fn start(key: &str, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "tableau.call",
        otel.name = %key,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        tableau.endpoint = %key,
        tableau.attempt = attempt,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Record how an attempt ended on its span: the status, or the kind of transport failure.
pub(super) fn record(span: &tracing::Span, sent: Result<reqwest::StatusCode, &reqwest::Error>) {
    if span.is_disabled() {
        return;
    }
    match sent {
        Ok(status) => {
            let status = status.as_u16();
            span.record("http.response.status_code", status);
            if status >= 400 {
                span.record("otel.status_code", "ERROR");
            }
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect"
            } else {
                "transport"
            };
            span.record("error.type", kind);
            span.record("otel.status_code", "ERROR");
        }
    }
}
