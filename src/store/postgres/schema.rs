//! The PostgreSQL store's schema: numbered migrations in `schema_migrations`, applied under an
//! advisory lock so that replicas starting together do not race, and a refusal to start
//! against a schema newer than this build.

use deadpool_postgres::Object;

use super::super::StoreError;

/// Numbered migrations; never edit one that has shipped, add the next. The same data as the
/// SQLite store's (users, groups and their asserted members, audit, the last reconciliation).
const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store's migrations 1 and 2 hold.
    "CREATE TABLE users (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        external_id TEXT,
        attributes TEXT NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        restore_role TEXT,
        deleted BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (tenant, id)
     );
     CREATE INDEX users_external_id ON users (tenant, external_id);
     CREATE TABLE groups (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        external_id TEXT,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
     );
     CREATE TABLE members_known (
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        PRIMARY KEY (tenant, group_id)
     );
     CREATE TABLE group_members (
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (tenant, group_id, user_id)
     );
     CREATE INDEX group_members_user ON group_members (tenant, user_id);
     CREATE TABLE audit (
        seq BIGSERIAL PRIMARY KEY,
        at TEXT NOT NULL,
        tenant TEXT NOT NULL,
        operation TEXT NOT NULL,
        resource TEXT NOT NULL,
        tableau_calls BIGINT NOT NULL,
        role_before TEXT,
        role_after TEXT,
        outcome TEXT NOT NULL
     );
     CREATE INDEX audit_tenant_seq ON audit (tenant, seq);
     CREATE INDEX audit_at ON audit (at);
     CREATE TABLE drift (
        tenant TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        complete BOOLEAN NOT NULL,
        report TEXT NOT NULL
     );",
    // 2: what replicas share (store::shared): the change feed, leases on periodic
    // work, the Tableau session of each tenant (keyed by the tenant and the server, site and
    // credential it belongs to).
    "CREATE TABLE changes (
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        origin TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT now(),
        body TEXT NOT NULL
     );
     CREATE INDEX changes_tenant_seq ON changes (tenant, seq);
     CREATE INDEX changes_at ON changes (at);
     CREATE TABLE leases (
        tenant TEXT NOT NULL,
        job TEXT NOT NULL,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (tenant, job)
     );
     CREATE TABLE tableau_sessions (
        session_key TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        server TEXT NOT NULL,
        site_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        signed_in_at TIMESTAMPTZ NOT NULL
     );",
    // 3: users by the userName the IdP wrote, the tombstones, and `provisioned` (SQLite's
    // migration 3).
    "CREATE INDEX users_user_name ON users (tenant, lower(user_name));
     CREATE INDEX users_deleted ON users (tenant) WHERE deleted;
     ALTER TABLE users ADD COLUMN provisioned BOOLEAN NOT NULL DEFAULT FALSE;",
    // 4: identity moves under way (store::moves, one JSON body each: read whole, by one
    // job) and the aliases they leave (the SCIM id to the person's LUID now).
    "CREATE TABLE user_moves (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
     );
     CREATE TABLE user_aliases (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        tableau_id TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
     );",
    // 5: the breaker of mass changes (bridge::safety): the destructive changes of the window,
    // counted per minute (a window's count reads at most its minutes, however busy), and the
    // changes held while it is open.
    "CREATE TABLE safety_minutes (
        tenant TEXT NOT NULL,
        minute BIGINT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (tenant, minute)
     );
     CREATE TABLE holds (
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        resource TEXT NOT NULL,
        name TEXT NOT NULL,
        operation TEXT NOT NULL,
        summary TEXT NOT NULL,
        change TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        role_before TEXT,
        role_after TEXT,
        request_id TEXT NOT NULL,
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        decided_by TEXT,
        outcome TEXT
     );
     CREATE INDEX holds_resource ON holds (tenant, resource);
     CREATE INDEX holds_state ON holds (tenant, state);",
    // 6: one budget of Tableau calls per site across replicas (tableau::client::budget):
    // who is alive, and the latest limit or pause one of them met.
    "CREATE TABLE budget_replicas (
        budget TEXT NOT NULL,
        replica TEXT NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (budget, replica)
     );
     CREATE TABLE budget_limits (
        budget TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        origin TEXT NOT NULL,
        site_rate DOUBLE PRECISION,
        resume_at TIMESTAMPTZ NOT NULL,
        at TIMESTAMPTZ NOT NULL
     );",
];

/// The schema version this build writes.
pub(super) fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The advisory-lock key of migrations (any fixed 64-bit number; the same in every build).
const MIGRATION_LOCK: i64 = 0x7473_6369_6d5f_6d67; // "tscim_mg"

/// Apply the migrations the database has not seen, one transaction each, all under the
/// migration lock; refuse a database migrated by a newer build.
pub(super) async fn migrate(conn: &mut Object) -> Result<(), StoreError> {
    let tx = conn.transaction().await?;
    // The lock first: even creating the version table races between replicas otherwise.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let known = known_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
