//! `/Groups`: what a group change means (pure) and the I/O that carries it out. The `Tenant`
//! methods of this room, by file:
//!
//! - `requests.rs`: `get_group`, `list_groups`, `create_group`, `delete_group`, and what
//!   they share (`site_groups`, `load_group`, `existing_group`,
//!   `group_member_ids`, `add_group_members`, `audit_kept_out`);
//! - `update.rs`: `update_group` (PUT and PATCH) in named steps (`change_group_in_tableau`);
//! - `roles.rs`: site roles granted by group membership (`granting_groups_of`,
//!   `reevaluate_role`).
//!
//! Pure: `plan.rs` (renames, members by set difference, roles to re-evaluate), `asserted.rs`
//! (the members the IdP asserted, kept apart from Tableau's).

pub mod asserted;
pub mod plan;
mod requests;
mod roles;
mod update;
