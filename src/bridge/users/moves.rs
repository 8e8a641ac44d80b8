//! An identity move (`rename = "move"`): a userName change carried out the only way Tableau
//! allows (knowledge article 001473865; on Cloud the name is the sign-in email): Add User under
//! the new name with the old user's site role and sign-in method, the same groups, every owned
//! item handed over, the old user removed. The SCIM id stays the person's: the client
//! translates it to the new LUID from then on ([`crate::tableau::aliases`]).
//!
//! The job is durable: its state is in the store before each step is taken, and each step can
//! be taken again (Add User after a crash takes the user Tableau has by the new name; joining a
//! group twice is harmless; the content step lists what the old user still owns, so nothing is
//! handed over twice; Remove User of a removed user is done). A request cut off mid-move, a
//! crash or a `kill -9` leave the job in the store: the IdP's retry of the same change, or the
//! next start of any replica, finishes it. The old user is removed only after the content step
//! found nothing left to hand over.
//!
//! The whole move runs before the SCIM answer: at 8 owner changes in flight, 1,000 items take
//! about 7 s at 50 ms per Tableau call (BENCHMARKS.md), inside the IdPs' request timeouts; the
//! IdP then reads the person under the new name at once, on any replica.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

use crate::backend::timestamp;
use crate::bridge::audit::AuditEvent;
use crate::bridge::cache::change::CacheChange;
use crate::bridge::error::{BridgeError, BridgeResult};
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::move_plan::{
    check_move, completion, groups_to_join, name_taken, new_user, next_step, plan_move,
    seat_refusal, seat_refused,
};
use crate::bridge::users::plan::unlicense;
use crate::store::{MoveRow, MoveStep, UserRow};
use crate::tableau::model::User;
use crate::tableau::{NameMatch, TableauError};

impl Tenant {
    /// The aliases and the moves under way, read from the store once before anything asks
    /// Tableau about a user: until then an id read from Tableau could not be translated.
    pub(crate) async fn moves_loaded(&self) -> BridgeResult<()> {
        self.moves_loaded
            .get_or_try_init(|| async {
                let aliases = self.client.aliases();
                for (ours, luid) in self.store.aliases(&self.id).await? {
                    aliases.set(&ours, &luid);
                }
                for job in self.store.moves(&self.id).await? {
                    if let Some(to) = &job.to_id {
                        aliases.hide(to, true);
                    }
                }
                Ok::<(), BridgeError>(())
            })
            .await
            .map(drop)
    }

    /// Finish every move the store holds (at start: a crash or a `kill -9` left them), each
    /// under its user's lock, whichever replica gets it first.
    pub async fn resume_moves(&self) -> BridgeResult<usize> {
        self.moves_loaded().await?;
        let mut done = 0;
        for job in self.store.moves(&self.id).await? {
            let _serial = self.locks.lock(&job.from_name).await?;
            // Another replica may have finished it while this one waited.
            let Some(job) = self
                .store
                .moves(&self.id)
                .await?
                .into_iter()
                .find(|j| j.id == job.id)
            else {
                continue;
            };
            tracing::info!(tenant.id = %self.id, user.id = %job.id, step = job.step.as_str(), "resuming an identity move");
            self.run_move(job, false).await?;
            done += 1;
        }
        Ok(done)
    }

    /// Move `cur` (SCIM id `id`, under the caller's lock of its name) to `to_name`: refused
    /// before any change when Tableau has the name or cannot seat the new user; otherwise the
    /// job runs to its end and the moved user (the SCIM id, the new name) comes back with its
    /// store row. A move of this user already under way (a retry after a cut-off request) is
    /// finished instead; one to another name is refused until it ends.
    pub(crate) async fn move_user(
        &self,
        id: &str,
        cur: &User,
        to_name: &str,
        desired: &Value,
    ) -> BridgeResult<(Arc<User>, Option<Arc<UserRow>>)> {
        let under_way = self
            .store
            .moves(&self.id)
            .await?
            .into_iter()
            .find(|j| j.id == id);
        let user = match under_way {
            Some(job) if job.to_name.eq_ignore_ascii_case(to_name) => {
                self.run_move(job, false).await?
            }
            Some(job) => {
                return Err(crate::scim::ScimError::Conflict(format!(
                    "a move of '{}' to '{}' is under way; change the userName again when it has finished",
                    job.from_name, job.to_name
                ))
                .into())
            }
            None => {
                let me = self.client.session().await?;
                let luid = self.client.aliases().to_tableau(id).into_owned();
                check_move(cur, &me.user_id, &luid)?;
                if self.find_by_name(to_name).await?.is_some() {
                    self.audit(
                        AuditEvent::new(Operation::MoveUser, id).outcome(format!(
                            "refused: a Tableau user named '{to_name}' exists"
                        )),
                    );
                    return Err(name_taken(&cur.name, to_name).into());
                }
                let job = plan_move(id, cur, &luid, to_name, desired, &self.policy(), &timestamp());
                self.store.put_move(&self.id, job.clone()).await?;
                self.run_move(job, true).await?
            }
        };
        let row = self.row_of(id).await?;
        Ok((user, row))
    }

    /// Take the job's steps from the one it names to the end; `fresh`: nothing of it was taken
    /// before (no lookup of a user an earlier attempt may have added).
    async fn run_move(&self, mut job: MoveRow, fresh: bool) -> BridgeResult<Arc<User>> {
        self.counters.moves_running.fetch_add(1, Ordering::Relaxed);
        let out = self.steps(&mut job, fresh).await;
        self.counters.moves_running.fetch_sub(1, Ordering::Relaxed);
        match &out {
            Ok(_) => {
                self.counters.moves_done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters.move_faults.fetch_add(1, Ordering::Relaxed);
                self.audit(
                    AuditEvent::new(Operation::MoveUser, &job.id).outcome(format!(
                        "step {}: {e}; the move resumes on the next attempt",
                        job.step.as_str()
                    )),
                );
                // The store keeps the fault for the console; the job itself is unchanged.
                if job.step != MoveStep::Add || job.to_id.is_some() {
                    let kept = MoveRow {
                        error: Some(e.to_string()),
                        ..job.clone()
                    };
                    if let Err(e) = self.store.put_move(&self.id, kept).await {
                        tracing::warn!(tenant.id = %self.id, error = %e, "move fault not recorded");
                    }
                }
            }
        }
        out
    }

    async fn steps(&self, job: &mut MoveRow, fresh: bool) -> BridgeResult<Arc<User>> {
        loop {
            let outcome = match job.step {
                MoveStep::Add => self.move_add(job, fresh).await?,
                MoveStep::Groups => self.move_groups(job).await?,
                MoveStep::Content => self.move_content(job).await?,
                MoveStep::Remove => self.move_remove(job).await?,
                MoveStep::Switch => return self.move_switch(job).await,
            };
            self.audit(
                AuditEvent::new(Operation::MoveUser, &job.id)
                    .roles(None, Some(&job.site_role))
                    .outcome(format!("step {}: {outcome}", job.step.as_str())),
            );
            job.step = next_step(job.step);
            job.error = None;
            // Recorded before the step it names is taken.
            self.store.put_move(&self.id, job.clone()).await?;
        }
    }

    /// Add User under the new name, or after a crash the user an earlier attempt added.
    async fn move_add(&self, job: &mut MoveRow, fresh: bool) -> BridgeResult<String> {
        let found = if fresh {
            None
        } else {
            self.client
                .find_user_by_name(&job.to_name, NameMatch::CaseInsensitive)
                .await?
        };
        let added = match found {
            Some(u) => u,
            None => match self.client.add_user(&new_user(job)).await {
                Ok(u) => u,
                Err(e) => return Err(self.give_up(job, e).await),
            },
        };
        let luid = added.id.to_string();
        if seat_refused(job, &added) {
            self.client.remove_user(&luid, None).await?;
            self.store.finish_move(&self.id, &job.id, None).await?;
            self.audit(
                AuditEvent::new(Operation::MoveUser, &job.id)
                    .outcome("refused: no free seat for the new user; it was removed again"),
            );
            return Err(seat_refusal(job).into());
        }
        let upd = completion(job, &added, self.policy().deployment);
        if !upd.is_empty() {
            self.client.update_user(&luid, &upd).await?;
        }
        self.client.aliases().hide(&luid, true);
        self.caches.outbox.push(CacheChange::Hidden {
            tableau_id: luid.clone(),
        });
        job.to_id = Some(luid.clone());
        Ok(format!(
            "'{}' added as {} ({luid})",
            job.to_name, added.site_role
        ))
    }

    /// Add User refused the move: nothing changed, so the job ends with the refusal (a fault
    /// Tableau may recover from keeps it, for the retry).
    async fn give_up(&self, job: &MoveRow, e: TableauError) -> BridgeError {
        if !matches!(
            e,
            TableauError::Api {
                status: 400..=499,
                ..
            }
        ) {
            return e.into();
        }
        if let Err(store) = self.store.finish_move(&self.id, &job.id, None).await {
            return store.into();
        }
        self.audit(
            AuditEvent::new(Operation::MoveUser, &job.id)
                .outcome(format!("refused by Tableau: {e}")),
        );
        if e.is_user_exists() {
            return name_taken(&job.from_name, &job.to_name).into();
        }
        e.into()
    }

    /// Join the new user to every group of the old one.
    async fn move_groups(&self, job: &MoveRow) -> BridgeResult<String> {
        let to = job.to_id.clone().unwrap_or_default();
        let groups = groups_to_join(&self.client.groups_of_user(&job.from_id).await?);
        for g in &groups {
            self.client
                .add_members(g, std::slice::from_ref(&to))
                .await?;
        }
        Ok(format!("joined {} groups", groups.len()))
    }

    /// Hand over everything the old user still owns.
    async fn move_content(&self, job: &mut MoveRow) -> BridgeResult<String> {
        let to = job.to_id.clone().unwrap_or_default();
        let items = self.client.owned_content(&job.from_id).await?;
        job.items = job.moved + items.len() as u64;
        let mut kept = Vec::new();
        let moved = self
            .hand_over(&job.from_id, &items, &to, &mut kept, Operation::MoveUser)
            .await?;
        job.moved += moved as u64;
        Ok(format!(
            "{moved} of {} items handed over{}",
            items.len(),
            if kept.is_empty() {
                String::new()
            } else {
                format!("; kept by Tableau: {}", kept.join(", "))
            }
        ))
    }

    /// Remove the old user; Tableau keeps one that still owns what no call transfers (a
    /// collection), which is then made Unlicensed: the seat goes, the audit says why it stays.
    async fn move_remove(&self, job: &MoveRow) -> BridgeResult<String> {
        match self.client.remove_user(&job.from_id, None).await {
            Ok(_) => Ok(format!("'{}' removed", job.from_name)),
            Err(TableauError::Api { status: 409, .. }) => {
                let old = User {
                    id: job.from_id.as_str().into(),
                    name: job.from_name.as_str().into(),
                    site_role: job.site_role.as_str().into(),
                    ..User::default()
                };
                self.client
                    .update_user(&job.from_id, &unlicense(&old))
                    .await?;
                Ok(format!(
                    "'{}' kept by Tableau, Unlicensed: it owns content no REST call transfers",
                    job.from_name
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The SCIM id now means the new user: its row under the new name, the alias (with the
    /// job's end, in one write), the caches and the other replicas.
    async fn move_switch(&self, job: &MoveRow) -> BridgeResult<Arc<User>> {
        let to = job.to_id.clone().unwrap_or_default();
        if let Some(row) = self.row_of(&job.id).await? {
            self.put_row(UserRow {
                user_name: job.to_name.clone(),
                last_modified: timestamp(),
                ..(*row).clone()
            })
            .await?;
        }
        self.store.finish_move(&self.id, &job.id, Some(&to)).await?;
        self.client.aliases().set(&job.id, &to);
        self.caches.outbox.push(CacheChange::Alias {
            id: job.id.clone(),
            tableau_id: to.clone(),
        });
        let old = User {
            id: job.id.as_str().into(),
            name: job.from_name.as_str().into(),
            ..User::default()
        };
        self.caches.forget_user(&old);
        // The user as the job made it: no Get User to learn what the job set itself.
        let user = User {
            id: job.id.as_str().into(),
            name: job.to_name.as_str().into(),
            site_role: job.site_role.as_str().into(),
            full_name: job.full_name.as_deref().map(Into::into),
            email: job.email.as_deref().map(Into::into),
            auth_setting: job.auth_setting.as_deref().map(Into::into),
            idp_configuration_id: job.idp_configuration_id.as_deref().map(Into::into),
            ..User::default()
        };
        self.caches.put_user(&user);
        self.audit(
            AuditEvent::new(Operation::MoveUser, &job.id)
                .roles(None, Some(&user.site_role))
                .outcome(format!(
                    "moved from '{}' to '{}' ({} items)",
                    job.from_name, job.to_name, job.moved
                )),
        );
        Ok(Arc::new(user))
    }
}
