//! Audit rows are queued, not awaited (the [`super::super::Store::audit`] contract): one task
//! takes what has queued up and inserts it in one transaction. A flush waits until everything
//! queued before it is committed, so a read of the trail sees every row queued before it.

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::super::{AuditRow, StoreError};

/// Most rows inserted in one transaction.
const BATCH: usize = 256;

enum Job {
    Row {
        tenant: String,
        at: String,
        row: AuditRow,
    },
    Flush(oneshot::Sender<Result<(), StoreError>>),
}

/// The queue and its task.
#[derive(Clone)]
pub(super) struct AuditQueue {
    jobs: mpsc::UnboundedSender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Task("the audit queue has stopped".into())
}

impl AuditQueue {
    /// Start the task inserting into `pool`'s database.
    pub(super) fn start(pool: Pool) -> AuditQueue {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match queue.try_recv() {
                        Ok(j) => batch.push(j),
                        Err(_) => break,
                    }
                }
                let result = insert(&pool, &batch).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, "audit rows not written");
                }
                for job in batch {
                    if let Job::Flush(done) = job {
                        let _ = done.send(
                            result
                                .as_ref()
                                .map(|_| ())
                                .map_err(|e| StoreError::Postgres(e.to_string())),
                        );
                    }
                }
            }
        });
        AuditQueue { jobs }
    }

    /// Queue a row.
    pub(super) fn push(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        self.jobs
            .send(Job::Row {
                tenant: tenant.to_string(),
                at: at.to_string(),
                row,
            })
            .map_err(|_| stopped())
    }

    /// Wait until every row queued before this call is committed.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.jobs.send(Job::Flush(done)).map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }
}

async fn insert(pool: &Pool, batch: &[Job]) -> Result<(), StoreError> {
    if !batch.iter().any(|j| matches!(j, Job::Row { .. })) {
        return Ok(());
    }
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    let st = tx
        .prepare_cached(
            "INSERT INTO audit (at, tenant, operation, resource, tableau_calls, role_before, role_after, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    for job in batch {
        if let Job::Row { tenant, at, row } = job {
            let calls = i64::try_from(row.tableau_calls).unwrap_or(i64::MAX);
            tx.execute(
                &st,
                &[
                    at,
                    tenant,
                    &row.operation,
                    &row.resource,
                    &calls,
                    &row.role_before,
                    &row.role_after,
                    &row.outcome,
                ],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
