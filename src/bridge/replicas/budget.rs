//! A tenant's share of its Tableau site's call budget, kept in the replicas' store
//! (`tableau::client::budget` decides what is shared; this only carries it).

use std::sync::Arc;

use crate::store::shared::{BudgetReport, Shared};
use crate::tableau::client::budget::{
    BudgetNews, BudgetShare, PublishedLimit, SiteBudget, LIVE_FOR,
};

/// One site's budget on the shared store.
pub(super) struct SiteShare {
    pub(super) shared: Arc<dyn Shared>,
    /// The budget's key: the Tableau server and site.
    pub(super) budget: String,
}

#[async_trait::async_trait]
impl BudgetShare for SiteShare {
    async fn exchange(&self, news: Option<BudgetNews>) -> Result<SiteBudget, String> {
        let report = news.map(|n| BudgetReport {
            site_rate: n.site_rate,
            pause: n.pause,
        });
        let read = self
            .shared
            .budget_exchange(&self.budget, report, LIVE_FOR)
            .await
            .map_err(|e| e.to_string())?;
        let me = self.shared.replica();
        Ok(SiteBudget {
            replicas: read.replicas,
            latest: read.latest.map(|e| {
                (
                    e.seq,
                    PublishedLimit {
                        site_rate: e.site_rate,
                        pause_left: e.pause_left,
                        age: e.age,
                        own: e.origin == me,
                    },
                )
            }),
        })
    }
}
