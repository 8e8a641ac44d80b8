//! A tenant's policies: what its configuration says deprovisioning, a full license tier, a
//! rejected create and a deactivation of a member of granting groups do. Data only: the pure
//! plans read it, the configuration builds it.

use serde::Deserialize;

use crate::tableau::{Deployment, SiteRole};

/// What a deactivation does to a user's membership of groups that grant a role at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSignInGrants {
    /// Take the user out of them (back in on reactivation, where the IdP asserted it).
    Remove,
    /// Refuse the deactivation with 409, naming the groups: an administrator decides.
    Refuse,
}

/// What DELETE /Users does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deprovision {
    /// Remove the user from the site (falling back to Unlicensed when they own content and no
    /// `map_assets_to` owner is configured).
    Remove,
    /// Keep the user, Unlicensed.
    Unlicense,
    /// Hand the user's content to a recipient (their manager, or the tenant's custodian),
    /// then remove the user: what Tableau Cloud cannot do with `mapAssetsTo`. Without a
    /// recipient who can own content, as `Remove`, said in the audit.
    Transfer,
}

/// What a userName change does (Tableau cannot rename a user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rename {
    /// An identity move: a new Tableau user under the new name with the old one's role,
    /// sign-in method, groups and content, then the old user removed; the SCIM id stays.
    Move,
    /// Refuse with 400 `mutability`.
    Refuse,
}

/// What happens when Tableau grants a lower role than asked because no seat is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnLicenseExhausted {
    /// Accept: the response shows the real role; a warning is logged and counted.
    Downgrade,
    /// Refuse with 409, naming the full tier.
    Reject,
}

/// What a rejected create leaves in Tableau.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RejectedUser {
    /// Leave the new user Unlicensed (the IdP's retry finds and upgrades it when a seat frees).
    Unlicensed,
    /// Remove the new user again.
    Remove,
}

/// Per-tenant policies.
#[derive(Debug, Clone)]
pub struct Policy {
    /// DELETE /Users.
    pub deprovision: Deprovision,
    /// A userName change.
    pub rename: Rename,
    /// The breaker of mass changes.
    pub safety: crate::bridge::safety::plan::Safety,
    /// Whether a change that makes someone a site or server administrator waits for an
    /// administrator's approval (held like a mass change, released by approval).
    pub approve_admin_grants: bool,
    /// A full license tier.
    pub on_license_exhausted: OnLicenseExhausted,
    /// What a rejected create leaves.
    pub rejected_user: RejectedUser,
    /// Owner for a removed user's content (`mapAssetsTo`; Tableau Server only).
    pub map_assets_to: Option<String>,
    /// `Transfer`: the Tableau user name of the account that receives a departing user's
    /// content when their manager cannot.
    pub custodian: Option<String>,
    /// `Transfer`: whether the user's manager (the enterprise extension's `manager.value`)
    /// receives the content first.
    pub custody_to_manager: bool,
    /// `Transfer`: whether a deactivation hands the content over too (the user stays,
    /// Unlicensed, for a reactivation; a later DELETE removes them).
    pub custody_on_deactivation: bool,
    /// `authSetting` for new users.
    pub auth_setting: Option<String>,
    /// `idpConfigurationId` for new users (Tableau Cloud).
    pub idp_configuration_id: Option<String>,
    /// Minimum site role of groups created through SCIM.
    pub group_minimum_site_role: Option<SiteRole>,
    /// Tableau Cloud or Tableau Server (what Update User may carry).
    pub deployment: Deployment,
    /// What a deactivation does to the user's groups that grant a role at sign-in.
    pub on_sign_in_grants: OnSignInGrants,
    /// Whether the IdP may demote, deactivate or delete site and server administrators it did
    /// not provision through SCIM.
    pub manage_unprovisioned_admins: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            deprovision: Deprovision::Remove,
            rename: Rename::Move,
            safety: crate::bridge::safety::plan::Safety::default(),
            approve_admin_grants: false,
            on_license_exhausted: OnLicenseExhausted::Downgrade,
            rejected_user: RejectedUser::Unlicensed,
            map_assets_to: None,
            custodian: None,
            custody_to_manager: true,
            custody_on_deactivation: false,
            auth_setting: None,
            idp_configuration_id: None,
            group_minimum_site_role: None,
            deployment: Deployment::Server,
            on_sign_in_grants: OnSignInGrants::Remove,
            manage_unprovisioned_admins: false,
        }
    }
}
