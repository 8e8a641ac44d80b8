//! A call budget shared by replicas (`Shared::budget_exchange`): a row per replica saying it
//! is alive, and a row per budget with the latest limit or pause one of them met. Three short
//! statements per exchange, every quarter second per replica and site, whatever the traffic.

use std::time::Duration;

use deadpool_postgres::Pool;

use super::super::shared::{BudgetEntry, BudgetRead, BudgetReport};
use super::super::StoreError;

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn duration_ms(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).clamp(0.0, 86_400.0))
}

/// Report `replica` alive in `budget`, publish `news`, read the budget back.
pub(super) async fn exchange(
    pool: &Pool,
    replica: &str,
    budget: &str,
    news: Option<BudgetReport>,
    live_for: Duration,
) -> Result<BudgetRead, StoreError> {
    let c = pool.get().await?;
    // Replicas gone for an hour are forgotten: the table holds the replicas started lately.
    c.execute(
        &c.prepare_cached(
            "WITH gone AS (DELETE FROM budget_replicas WHERE budget = $1 AND seen_at < now() - interval '1 hour')
             INSERT INTO budget_replicas (budget, replica, seen_at) VALUES ($1, $2, now())
             ON CONFLICT (budget, replica) DO UPDATE SET seen_at = now()",
        )
        .await?,
        &[&budget, &replica],
    )
    .await?;
    if let Some(n) = news {
        // A pause never shortens one still running; a report without a rate (a lone 429's
        // pause) says no limit is known.
        c.execute(
            &c.prepare_cached(
                "INSERT INTO budget_limits (budget, seq, origin, site_rate, resume_at, at)
                 VALUES ($1, 1, $2, $3, now() + $4 * interval '1 millisecond', now())
                 ON CONFLICT (budget) DO UPDATE SET seq = budget_limits.seq + 1,
                   origin = EXCLUDED.origin, site_rate = EXCLUDED.site_rate,
                   resume_at = GREATEST(budget_limits.resume_at, EXCLUDED.resume_at), at = now()",
            )
            .await?,
            &[&budget, &replica, &n.site_rate, &millis(n.pause)],
        )
        .await?;
    }
    let live_ms = millis(live_for);
    let row = c
        .query_one(
            &c.prepare_cached(
                "SELECT (SELECT count(*) FROM budget_replicas
                          WHERE budget = $1 AND seen_at > now() - $2 * interval '1 millisecond'),
                        l.seq, l.origin, l.site_rate,
                        (extract(epoch FROM (l.resume_at - now())) * 1000)::float8,
                        (extract(epoch FROM (now() - l.at)) * 1000)::float8
                 FROM (SELECT 1) AS one LEFT JOIN budget_limits l ON l.budget = $1",
            )
            .await?,
            &[&budget, &live_ms],
        )
        .await?;
    let replicas: i64 = row.get(0);
    let latest = row.get::<_, Option<i64>>(1).map(|seq| BudgetEntry {
        seq,
        origin: row.get(2),
        site_rate: row.get(3),
        pause_left: duration_ms(row.get::<_, Option<f64>>(4).unwrap_or(0.0)),
        age: duration_ms(row.get::<_, Option<f64>>(5).unwrap_or(0.0)),
    });
    Ok(BudgetRead {
        replicas: usize::try_from(replicas).unwrap_or(1).max(1),
        latest,
    })
}
