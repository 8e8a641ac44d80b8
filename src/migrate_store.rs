//! `tableau-scim migrate-store --config FILE --to postgres://...`: copy the SQLite store of
//! `data_dir` into PostgreSQL, every tenant of the configuration: users (tombstones included),
//! groups and their asserted members, the last reconciliation, the audit trail in its order
//! with its times. Refuses a target that already holds a tenant's users, groups or audit rows
//! (a second copy would duplicate the trail). Stop `serve` first; point it at the new store
//! with `[server] store_url` afterwards.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;
use crate::serve::open_store;
use crate::store::{AuditQuery, PgStore, Store};

/// The command's options.
#[derive(Debug, clap::Args)]
pub struct MigrateStoreArgs {
    /// The TOML configuration file (its `data_dir` holds the SQLite store; its tenants are
    /// copied).
    #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
    pub config: PathBuf,
    /// The PostgreSQL database to copy into (`postgres://user@host:port/db`; the password from
    /// `TABLEAU_SCIM_STORE_PASSWORD` or the file's `store_password_file`).
    #[arg(long)]
    pub to: String,
}

/// What was copied for one tenant.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// User rows.
    pub users: usize,
    /// Group rows.
    pub groups: usize,
    /// Asserted memberships.
    pub members: usize,
    /// Audit rows.
    pub audit: usize,
}

/// How many audit rows `store` holds for `tenant` (reading one; the count comes with it).
async fn audit_rows(store: &dyn Store, tenant: &str) -> Result<usize, crate::store::StoreError> {
    let one = AuditQuery {
        limit: 1,
        ..AuditQuery::default()
    };
    Ok(store.audit_entries(tenant, &one).await?.1)
}

/// Copy `tenant`'s state from `from` into `to`, refusing a target that already holds some.
pub async fn copy_tenant(from: &dyn Store, to: &dyn Store, tenant: &str) -> Result<Copied, String> {
    let e = |e: crate::store::StoreError| e.to_string();
    let audit_there = audit_rows(to, tenant).await.map_err(e)?;
    if !to.users(tenant).await.map_err(e)?.is_empty()
        || !to.groups(tenant).await.map_err(e)?.is_empty()
        || audit_there > 0
    {
        return Err(format!(
            "tenant {tenant}: the target already holds its data; copy into an empty database"
        ));
    }
    let mut copied = Copied::default();
    for u in from.users(tenant).await.map_err(e)? {
        to.put_user(tenant, u).await.map_err(e)?;
        copied.users += 1;
    }
    for g in from.groups(tenant).await.map_err(e)? {
        to.put_group(tenant, g).await.map_err(e)?;
        copied.groups += 1;
    }
    for (group, members) in from.all_asserted_members(tenant).await.map_err(e)? {
        copied.members += members.len();
        to.change_asserted_members(tenant, &group, members, Vec::new())
            .await
            .map_err(e)?;
    }
    if let Some(d) = from.drift(tenant).await.map_err(e)? {
        to.put_drift(tenant, d).await.map_err(e)?;
    }
    // The SCIM ids of moved people and the moves under way: without them an IdP's id would
    // name a removed Tableau user.
    for (id, luid) in from.aliases(tenant).await.map_err(e)? {
        to.finish_move(tenant, &id, Some(&luid)).await.map_err(e)?;
    }
    for job in from.moves(tenant).await.map_err(e)? {
        to.put_move(tenant, job).await.map_err(e)?;
    }
    // Newest first from the store: written oldest first, so the order (and the sequence) holds.
    let (entries, _) = from
        .audit_entries(tenant, &AuditQuery::default())
        .await
        .map_err(e)?;
    for entry in entries.into_iter().rev() {
        to.audit(tenant, &entry.at, entry.row).map_err(e)?;
        copied.audit += 1;
    }
    // Reading the trail back waits until every queued row is committed.
    let written = audit_rows(to, tenant).await.map_err(e)?;
    if written != copied.audit {
        return Err(format!(
            "tenant {tenant}: {} audit rows copied, {written} found afterwards",
            copied.audit
        ));
    }
    Ok(copied)
}

/// Run it: 0 when every tenant was copied, 2 otherwise.
pub async fn run(args: MigrateStoreArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("tableau-scim migrate-store: {e}");
        ExitCode::from(2)
    };
    let config = match config::load(&args.config, &config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let from = match open_store(&config) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // The password as the configuration reads it: TABLEAU_SCIM_STORE_PASSWORD, else
    // store_password_file.
    let to = match PgStore::connect(&args.to, config.server.store_password.as_ref()).await {
        Ok(s) => s,
        Err(e) => return fail(format!("--to: {e}")),
    };
    for t in &config.tenants {
        match copy_tenant(from.as_ref(), &to, &t.id).await {
            Ok(c) => println!(
                "tenant {}: {} users, {} groups, {} asserted memberships, {} audit rows copied",
                t.id, c.users, c.groups, c.members, c.audit
            ),
            Err(e) => return fail(e),
        }
    }
    ExitCode::SUCCESS
}
