//! What one SCIM request did, for its log line: the operation and the Tableau calls it cost.
//! The store behind the handlers fills it in; the request middleware reads it when the
//! request ends. Per task, so concurrent requests never mix.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static TRACE: Cell<RequestTrace>;
    static REQUEST_ID: String;
}

/// Run `f` (a request) under its request id, which [`request_id`] gives to what it calls (a
/// change held by the breaker names the IdP request it came in).
pub async fn with_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The id of the request being served, outside one none.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The operation of a request and its Tableau calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestTrace {
    /// The operation (`create_user`, `get_group`...), once one ran.
    pub op: Option<&'static str>,
    /// Tableau requests it sent (every attempt).
    pub tableau_calls: u64,
}

/// Run `f` (a request) and return what it recorded.
pub async fn traced<F: Future>(f: F) -> (F::Output, RequestTrace) {
    TRACE
        .scope(Cell::new(RequestTrace::default()), async move {
            let out = f.await;
            (out, TRACE.try_with(Cell::get).unwrap_or_default())
        })
        .await
}

/// Record the request's operation and its Tableau calls (outside [`traced`], nothing).
pub fn record(op: &'static str, tableau_calls: u64) {
    let _ = TRACE.try_with(|t| {
        t.set(RequestTrace {
            op: Some(op),
            tableau_calls: t.get().tableau_calls + tableau_calls,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_sees_its_own_operation_only() {
        let (a, b) = tokio::join!(
            traced(async { record("get_user", 0) }),
            traced(async {
                record("create_user", 2);
                tokio::task::yield_now().await;
            })
        );
        assert_eq!(a.1.op, Some("get_user"));
        assert_eq!(
            b.1,
            RequestTrace {
                op: Some("create_user"),
                tableau_calls: 2
            }
        );
        // Outside a request: ignored, no panic.
        record("get_user", 1);
    }
}
