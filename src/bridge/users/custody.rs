//! `deprovision = "transfer"`: a departing user's content goes to their manager or the
//! tenant's custodian, then the user is removed and the seat freed. It works on Tableau Cloud,
//! where Remove User's `mapAssetsTo` is refused to site administrators.
//!
//! The steps, each repeatable: cut access (Unlicensed), list what the user owns, hand each
//! item over (its owner read back from Tableau's answer), remove the user. A fault mid-way
//! answers the IdP with an error; its retry lists again, and what already moved is no longer
//! the user's, so nothing is handed over twice and nothing is lost. What Tableau will not hand
//! over (an item refused to the recipient, or content no REST call transfers, such as a
//! collection) keeps the user in Tableau, Unlicensed, and the audit says what stayed.

use crate::bridge::audit::AuditEvent;
use crate::bridge::error::BridgeResult;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::custody_plan::{choose_recipient, manager_id, CustodyChoice};
use crate::bridge::users::plan::unlicense;
use crate::store::UserRow;
use futures_util::stream::{self, StreamExt};

use crate::tableau::content::{ContentItem, ContentKind};
use crate::tableau::model::User;
use crate::tableau::TableauError;

/// Owner changes of one kind in flight at once: the client's default bound on calls in flight
/// ([`crate::tableau::ClientConfig::DEFAULT_MAX_IN_FLIGHT`]), which the throttle enforces
/// per tenant anyway.
const HAND_OVER_IN_FLIGHT: usize = 8;

/// What a custody run did.
pub(crate) enum Custody {
    /// The content moved and the user was removed.
    Removed,
    /// Tableau kept the user (content it will not hand over): left Unlicensed.
    Kept,
}

impl Tenant {
    /// Hand `user`'s content to the recipient [`choose_recipient`] picks, then remove the user.
    /// Without a recipient, the user is removed as `deprovision = "remove"` would (Tableau
    /// keeps an owner, Unlicensed), and the audit says who was passed over and why.
    pub(crate) async fn transfer_and_remove(
        &self,
        user: &User,
        row: Option<&UserRow>,
        custodian: Option<&str>,
        to_manager: bool,
    ) -> BridgeResult<Custody> {
        let id = user.id.as_ref();
        let choice = self
            .custody_recipient(user, row, custodian, to_manager)
            .await?;
        for why in &choice.passed_over {
            self.audit(
                AuditEvent::new(Operation::DeleteUser, id).outcome(format!("custody: {why}")),
            );
        }
        // Access ends first: the transfer may take a while, the departure may not.
        let upd = unlicense(user);
        if !upd.is_empty() {
            self.client.update_user(id, &upd).await?;
        }
        let mut kept: Vec<String> = Vec::new();
        match &choice.recipient {
            Some((to, name, what)) => {
                let (moved, of) = self
                    .hand_all(id, to, &mut kept, Operation::DeleteUser)
                    .await?;
                self.audit(AuditEvent::new(Operation::DeleteUser, id).outcome(format!(
                    "custody: {moved} of {of} items handed to the {what} '{name}'"
                )));
            }
            None => self.audit(AuditEvent::new(Operation::DeleteUser, id).outcome(
                "custody: nobody can receive the content; removed as deprovision = \"remove\" would",
            )),
        }
        match self.client.remove_user(id, None).await {
            Ok(_) => Ok(Custody::Removed),
            Err(TableauError::Api { status: 409, .. }) => {
                self.audit(AuditEvent::new(Operation::DeleteUser, id).outcome(format!(
                    "custody: Tableau keeps the user, Unlicensed: they still own content it does not hand over{}",
                    if kept.is_empty() { " (a collection, or content of a kind not transferred)".to_string() } else { format!(": {}", kept.join(", ")) }
                )));
                Ok(Custody::Kept)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `custody_on_deactivation`: a deactivated user's content goes to the recipient
    /// [`choose_recipient`] picks, the user staying (Unlicensed) for a reactivation. Repeatable
    /// like the custody of a DELETE: what moved is no longer the user's.
    pub(crate) async fn hand_over_on_deactivation(
        &self,
        user: &User,
        row: Option<&UserRow>,
        op: Operation,
    ) -> BridgeResult<()> {
        let id = user.id.as_ref();
        let choice = self
            .custody_recipient(
                user,
                row,
                self.policy().custodian.as_deref(),
                self.policy().custody_to_manager,
            )
            .await?;
        for why in &choice.passed_over {
            self.audit(AuditEvent::new(op, id).outcome(format!("custody: {why}")));
        }
        let Some((to, name, what)) = &choice.recipient else {
            self.audit(AuditEvent::new(op, id).outcome(
                "custody on deactivation: nobody can receive the content; it stays the user's",
            ));
            return Ok(());
        };
        let (moved, of) = self.hand_all(id, to, &mut Vec::new(), op).await?;
        self.audit(AuditEvent::new(op, id).outcome(format!(
            "custody on deactivation: {moved} of {of} items handed to the {what} '{name}'"
        )));
        Ok(())
    }

    /// Everything `from` owns now, handed to `to` ([`Self::hand_over`]): how many moved, of
    /// how many listed.
    async fn hand_all(
        &self,
        from: &str,
        to: &str,
        kept: &mut Vec<String>,
        op: Operation,
    ) -> BridgeResult<(usize, usize)> {
        let items = self.client.owned_content(from).await?;
        let moved = self.hand_over(from, &items, to, kept, op).await?;
        Ok((moved, items.len()))
    }

    /// The manager the IdP named (if `to_manager`) and the custodian, as Tableau has them,
    /// and the choice between them.
    async fn custody_recipient(
        &self,
        user: &User,
        row: Option<&UserRow>,
        custodian: Option<&str>,
        to_manager: bool,
    ) -> BridgeResult<CustodyChoice> {
        let manager = match manager_id(row).filter(|_| to_manager) {
            Some(m) => Some((m, self.load_user(m).await?.map(|(u, _)| u))),
            None => None,
        };
        let custodian = match custodian {
            Some(c) => Some((c, self.find_by_name(c).await?.map(|(u, _)| u))),
            None => None,
        };
        Ok(choose_recipient(
            user,
            to_manager,
            manager.as_ref().map(|(n, u)| (*n, u.as_deref())),
            custodian.as_ref().map(|(n, u)| (*n, u.as_deref())),
        ))
    }

    /// Give each item to `to`, kind by kind in transfer order ([`ContentKind::ALL`]), up to
    /// [`HAND_OVER_IN_FLIGHT`] owner changes of a kind at once (the tenant's throttle still
    /// bounds what reaches Tableau): 1,000 items at 50 ms are seconds, not a minute an IdP
    /// would time out on. An item Tableau refuses to the recipient (a 4xx) is noted in `kept`
    /// and audited, and the rest go on; a fault stops the run with its error once the kind's
    /// changes in flight have answered, for the IdP's retry. Returns how many moved.
    pub(crate) async fn hand_over(
        &self,
        from: &str,
        items: &[ContentItem],
        to: &str,
        kept: &mut Vec<String>,
        op: Operation,
    ) -> BridgeResult<usize> {
        let mut moved = 0;
        let mut fault = None;
        for kind in ContentKind::ALL {
            // The futures are made first: a stream of closures returning futures is not
            // `Send` for every lifetime, which the tenant's spawned tasks need.
            let changes: Vec<_> = items
                .iter()
                .filter(|i| i.kind == kind)
                .map(|item| self.change_one(item, to))
                .collect();
            let answers: Vec<_> = stream::iter(changes)
                .buffer_unordered(HAND_OVER_IN_FLIGHT)
                .collect()
                .await;
            for (item, answer) in answers {
                match answer {
                    Ok(_) => moved += 1,
                    Err(
                        e @ TableauError::Api {
                            status: 400..=499, ..
                        },
                    ) => {
                        let what = format!("{} '{}'", item.kind, item.name);
                        self.audit(
                            AuditEvent::new(op, from)
                                .outcome(format!("{what} not handed over: {e}")),
                        );
                        kept.push(what);
                    }
                    Err(e) => fault = Some(e),
                }
            }
            if let Some(e) = fault {
                return Err(e.into());
            }
        }
        Ok(moved)
    }

    /// One owner change, with the item it was for.
    async fn change_one<'a>(
        &self,
        item: &'a ContentItem,
        to: &str,
    ) -> (&'a ContentItem, Result<ContentItem, TableauError>) {
        (item, self.client.change_owner(item, to).await)
    }
}
