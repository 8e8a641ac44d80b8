//! What a tenant does on its own: list the site's names at start and every few minutes
//! ([`super::name_index`]), each tenant at its own moment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::name_index::next_listing;
use super::tenant::Tenant;

/// How soon a failed listing is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// List `tenant`'s names now and every `every` while the tenant lives; nothing when `every`
/// is zero.
pub fn spawn_name_listing(tenant: &Arc<Tenant>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let weak = Arc::downgrade(tenant);
    let id = tenant.id.clone();
    tokio::spawn(async move {
        loop {
            let Some(t) = weak.upgrade() else {
                return;
            };
            let started = Instant::now();
            let next = match t.list_names().await {
                Ok(()) => next_listing(started, every, &id),
                Err(e) => {
                    tracing::warn!(tenant.id = %id, error = %e, "listing the site's names failed; unknown names are asked of Tableau until it succeeds");
                    started + RETRY_AFTER_FAILURE.min(every)
                }
            };
            drop(t);
            tokio::time::sleep_until(next.into()).await;
        }
    });
}
