//! The SQLite store's read connections, apart from the writer's: in WAL mode a reader sees the
//! last committed state and never queues behind the writer's transaction. Connections are
//! opened on first need, at most `size` of them, and reused.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::StoreError;

/// A bounded pool of read-only connections to one database file.
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
}

impl ReadPool {
    /// A pool of at most `size` connections to `path`.
    pub(super) fn new(path: PathBuf, size: usize) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(size.max(1)),
        }
    }

    /// Run `f` on a read connection, on the blocking pool.
    pub(super) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        // Held until the read is done: one permit, one connection in use.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Task("the store is closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.checkout() {
                Some(c) => c,
                None => open_reader(&pool.path)?,
            };
            let out = f(&conn);
            pool.checkin(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn checkout(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

fn open_reader(path: &std::path::Path) -> Result<Connection, StoreError> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    // A read connection never writes, whatever a bug might ask of it.
    c.pragma_update(None, "query_only", true)?;
    Ok(c)
}
