//! The SQLite store's one writer: a thread that owns the write connection and commits whatever
//! has queued up as one transaction (group commit). Every write is a single statement, so one
//! that fails is undone by SQLite alone and fails alone, without a savepoint. A write is
//! acknowledged only after its transaction committed. Measured in BENCHMARKS.md section 1: a
//! transaction per write was the largest cost of a SCIM write against the emulator.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::StoreError;

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 256;

/// One SQL statement; see the module documentation for why never more.
pub(super) type WriteFn = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

/// Who waits for a write's outcome; nobody for audit rows.
pub(super) type Reply = Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>;

/// One queued write.
struct WriteJob {
    apply: WriteFn,
    reply: Reply,
}

pub(super) fn writer_stopped() -> StoreError {
    StoreError::Task("the store writer has stopped".into())
}

/// The writer thread and its queue. Dropping it lets the thread finish the queue and waits for
/// it, so nothing acknowledged or queued is lost on an orderly stop.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<WriteJob>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Start the writer thread on `conn`.
    pub(super) fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel::<WriteJob>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(&conn, &queue))
            .map_err(|e| StoreError::Task(format!("cannot start the store writer: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queue `apply`; `reply` hears its outcome once its transaction has committed or failed.
    pub(super) fn enqueue(&self, apply: WriteFn, reply: Reply) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or_else(writer_stopped)?
            .send(WriteJob { apply, reply })
            .map_err(|_| writer_stopped())
    }

    /// Queue `apply` and wait until its transaction has committed.
    pub(super) async fn write(&self, apply: WriteFn) -> Result<(), StoreError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.enqueue(apply, Some(done))?;
        outcome.await.map_err(|_| writer_stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

fn answer(reply: Reply, outcome: Result<(), StoreError>) {
    match (reply, outcome) {
        (Some(waiting), outcome) => {
            let _ = waiting.send(outcome);
        }
        (None, Err(e)) => {
            tracing::error!(error = %e, "a queued write (an audit row, a breaker count) was not written")
        }
        (None, Ok(())) => {}
    }
}

fn writer_loop(conn: &Connection, jobs: &mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(conn, batch);
    }
}

fn commit_batch(c: &Connection, batch: Vec<WriteJob>) {
    // Cached statements: rusqlite's `transaction()` parses BEGIN and COMMIT each time, which
    // showed up in the profile.
    let run = |sql: &str| c.prepare_cached(sql).and_then(|mut st| st.execute([]));
    let mut outcomes: Vec<(Reply, Result<(), StoreError>)> = Vec::with_capacity(batch.len());
    // Outcomes from `open` on belong to the transaction in progress, if `in_tx`.
    let mut open = 0;
    let mut in_tx = run("BEGIN").is_ok();
    for job in batch {
        let outcome = (job.apply)(c);
        let rolled_back = in_tx && outcome.is_err() && c.is_autocommit();
        outcomes.push((job.reply, outcome));
        if rolled_back {
            // Some errors (I/O, disk full) make SQLite roll the whole transaction back: the
            // writes before this one in it are gone too, and must not be reported as done.
            undo(&mut outcomes[open..], "rolled back with a failing write");
            open = outcomes.len();
            in_tx = run("BEGIN").is_ok();
        }
    }
    if in_tx {
        if let Err(e) = run("COMMIT") {
            let _ = run("ROLLBACK");
            undo(&mut outcomes[open..], &format!("commit failed: {e}"));
        }
    }
    for (reply, outcome) in outcomes {
        answer(reply, outcome);
    }
}

/// Mark writes whose transaction did not commit as failed.
fn undo(outcomes: &mut [(Reply, Result<(), StoreError>)], why: &str) {
    for (_, outcome) in outcomes {
        if outcome.is_ok() {
            *outcome = Err(StoreError::Task(why.to_string()));
        }
    }
}
