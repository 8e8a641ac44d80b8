//! One budget of Tableau calls per site across replicas. Tableau limits a site, not a process
//! (KB "Concurrency limits in REST APIs on Tableau Cloud": per site; a gateway in front of
//! Tableau Server limits what reaches it, whoever sends it), so replicas of a tenant share:
//!
//! - **calls in flight**: `server.tableau_concurrency` is the site's, each live replica taking
//!   its share (rounded up), and a dead replica's share returns to the others once it stops
//!   reporting ([`LIVE_FOR`]);
//! - **the rate and pauses**: a limit or a lone 429 one replica meets is published, and every
//!   replica adopts it within [`SYNC_EVERY`]: the site's rate split by the live replicas, the
//!   pause until the same moment.
//!
//! Why shares exchanged every quarter second rather than a token taken from the database per
//! call: a token per call puts a database round trip (and the contention of every replica on
//! one row) in front of every Tableau call; a share costs one query per replica every
//! [`SYNC_EVERY`], whatever the traffic, at the price that a 429's news reaches the others up
//! to that late (BENCHMARKS.md section 17). Without a shared store nothing of this runs.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;

use super::throttle::Throttle;

/// How often a replica reports and reads the site's budget.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);

/// A replica that has not reported for this long no longer counts among the live ones (its
/// share returns to the others).
pub const LIVE_FOR: Duration = Duration::from_secs(2);

/// What a replica learnt of Tableau's limit since its last report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetNews {
    /// The site's call rate it set (its own rate times the live replicas), if it met a limit.
    pub site_rate: Option<f64>,
    /// How long every call must wait from now (a `Retry-After`, a lone 429's pause).
    pub pause: Duration,
}

/// The site's budget as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteBudget {
    /// Live replicas sharing it (at least 1: the one asking).
    pub replicas: usize,
    /// The latest news any replica published, with its position (increasing).
    pub latest: Option<(i64, PublishedLimit)>,
}

/// A limit as published: the site's rate (if a limit was met) and how long is left of the
/// pause it asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedLimit {
    /// The site's call rate.
    pub site_rate: Option<f64>,
    /// What is left of its pause now.
    pub pause_left: Duration,
    /// How long ago it was published.
    pub age: Duration,
    /// Whether this replica published it.
    pub own: bool,
}

/// The store side of a site's budget (the bridge's, on the replicas' store).
#[async_trait]
pub trait BudgetShare: Send + Sync {
    /// Report this replica alive, publish `news` if any, and read the site's budget.
    async fn exchange(&self, news: Option<BudgetNews>) -> Result<SiteBudget, String>;
}

/// Exchange `throttle`'s news with `share` every [`SYNC_EVERY`] until the throttle is gone (its
/// client dropped). A failed exchange is logged and retried at the next tick; meanwhile the
/// replica goes on with the budget it last read, and its news is published with the next
/// exchange that succeeds.
pub async fn sync(throttle: Weak<Throttle>, share: Arc<dyn BudgetShare>, label: String) {
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let Some(t) = throttle.upgrade() else {
            return;
        };
        let news = t.take_news();
        match share.exchange(news).await {
            Ok(budget) => {
                failing = false;
                t.adopt(budget);
            }
            Err(e) => {
                if let Some(news) = news {
                    t.keep_news(news);
                }
                if !failing {
                    tracing::warn!(tenant.id = %label, error = %e, "the shared Tableau call budget could not be read; this replica goes on with the last one read");
                }
                failing = true;
            }
        }
    }
}

impl super::TableauClient {
    /// Live replicas sharing this client's budget of calls, as last read (1 alone).
    pub fn budget_replicas(&self) -> usize {
        self.throttle.replicas()
    }

    /// What a budget belongs to: the server and the site (every tenant and credential on one
    /// site shares Tableau's limit).
    pub fn budget_scope(&self) -> String {
        format!("{} {}", self.cfg.server_url, self.cfg.site)
    }

    /// Share this client's budget of calls with the other replicas through `share`: a task
    /// exchanges it every [`SYNC_EVERY`] for as long as the client lives. Returns whether it
    /// runs (it needs a Tokio runtime; a one-shot command without one keeps its own budget).
    pub fn share_budget(&self, share: Arc<dyn BudgetShare>) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let throttle = Arc::downgrade(&self.throttle);
        runtime.spawn(sync(throttle, share, self.cfg.label.clone()));
        true
    }
}
