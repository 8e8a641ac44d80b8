//! The PostgreSQL store's connections: the pools (one for the store, one that holds key locks),
//! connecting and migrating, and reading a database's schema version without migrating.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::audit_queue::AuditQueue;
use super::tls::split_url;
use super::{schema, shared, PgShared};
use crate::store::StoreError;

/// Connections per replica: a SCIM request uses one at a time, briefly.
const POOL_SIZE: usize = 16;

/// Connections per replica that hold key locks (one per key locked at once; requests beyond
/// wait for one). Apart from `POOL_SIZE`, so that lock holders always reach the store.
const LOCK_POOL_SIZE: usize = 16;

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: Pool,
    pub(super) audit: AuditQueue,
    pub(super) shared: std::sync::Arc<PgShared>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never shown.
        f.write_str("PgStore")
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://user@host:port/db`, with libpq's `sslmode` and
    /// `sslrootcert`: [`super::tls`]) with `password`, and migrate it. The store's and the
    /// key locks' connections alike go over the TLS the URL asks for.
    pub async fn connect(
        url: &str,
        password: Option<&secrecy::SecretString>,
    ) -> Result<PgStore, StoreError> {
        let (config, tls) = config_of(url, password)?;
        let pool = pool_of(config.clone(), tls.clone(), POOL_SIZE)?;
        let mut lock_config = config;
        lock_config.options(format!("-c lock_timeout={}", shared::LOCK_TIMEOUT));
        let locks = pool_of(lock_config, tls, LOCK_POOL_SIZE)?;
        let mut conn = pool.get().await?;
        schema::migrate(&mut conn).await?;
        drop(conn);
        Ok(PgStore {
            audit: AuditQueue::start(pool.clone()),
            shared: std::sync::Arc::new(PgShared::new(locks, pool.clone())),
            pool,
        })
    }

    /// The schema version this build writes.
    pub fn schema_version() -> i64 {
        schema::known_version()
    }

    /// `check-config`: reach the database at `url` and read its schema version (0: never
    /// migrated), without migrating it.
    pub async fn schema_version_at(
        url: &str,
        password: Option<&secrecy::SecretString>,
    ) -> Result<i64, StoreError> {
        let (config, tls) = config_of(url, password)?;
        let (client, conn) = config.connect(tls).await?;
        let task = tokio::spawn(conn);
        let exists: bool = client
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .await?
            .get(0);
        let version = if exists {
            client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )
                .await?
                .get(0)
        } else {
            0
        };
        drop(client);
        let _ = task.await;
        Ok(version)
    }
}

/// A pool of at most `size` connections to `config` (recycled without a query: fast).
fn pool_of(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    size: usize,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Postgres(e.to_string()))
}

/// The connection settings of `url` with `password` (kept out of the URL: configuration), and
/// the TLS connector its `sslmode` asks for.
fn config_of(
    url: &str,
    password: Option<&secrecy::SecretString>,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect), StoreError> {
    use secrecy::ExposeSecret;
    let (url, tls) = split_url(url)?;
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::Postgres(e.to_string()))?;
    config.ssl_mode(tls.pg_mode());
    if let Some(p) = password {
        config.password(p.expose_secret());
    }
    Ok((config, tls.connector()?))
}
