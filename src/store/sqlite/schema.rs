//! The store's schema: numbered migrations, each run once in its own transaction with the
//! version bump, and a refusal to open a file written by a newer build.

use rusqlite::Connection;

use super::super::StoreError;

/// Numbered migrations; never edit one that has shipped, add the next.
const MIGRATIONS: &[&str] = &[
    // 1: users, groups, audit.
    "CREATE TABLE users (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        external_id TEXT,
        attributes TEXT NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        restore_role TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
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
     CREATE INDEX groups_external_id ON groups (tenant, external_id);
     CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        tenant TEXT NOT NULL,
        operation TEXT NOT NULL,
        resource TEXT NOT NULL,
        tableau_calls INTEGER NOT NULL,
        role_before TEXT,
        role_after TEXT,
        outcome TEXT NOT NULL
     );",
    // 2: the members the IdP asserted for each group (drift), and the last reconciliation.
    // A group is in `members_known` once a write through us recorded its members; groups
    // written before this version are not until their next write (what the IdP asserted for
    // them then was never recorded).
    "CREATE TABLE members_known (
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        PRIMARY KEY (tenant, group_id)
     ) WITHOUT ROWID;
     CREATE TABLE group_members (
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (tenant, group_id, user_id)
     ) WITHOUT ROWID;
     CREATE INDEX group_members_user ON group_members (tenant, user_id);
     CREATE TABLE drift (
        tenant TEXT NOT NULL PRIMARY KEY,
        at TEXT NOT NULL,
        complete INTEGER NOT NULL,
        report TEXT NOT NULL
     );",
    // 3: users by the userName the IdP wrote (on an Active Directory server Tableau stores the
    // directory's account name, the IdP its UPN: bridge::directory), the tombstones a
    // listing leaves out, and whether a user was created through SCIM (`provisioned`).
    "CREATE INDEX users_user_name ON users (tenant, lower(user_name));
     CREATE INDEX users_deleted ON users (tenant) WHERE deleted = 1;
     ALTER TABLE users ADD COLUMN provisioned INTEGER NOT NULL DEFAULT 0;",
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
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
];

/// The schema version this build writes.
pub(super) fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Run the migrations the file has not seen; refuse a file from a newer build.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = known_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}
