//! `/Users`: the decisions (what a create, a change or a deprovisioning means, pure) and the
//! I/O that carries them out. The `Tenant` methods of this room, by file:
//!
//! - `writes.rs`: `create_user`, `update_user`, `delete_user` (and `created_despite`,
//!   `revive_or_conflict`, `remember_created`);
//! - `reads.rs`: `get_user`, `list_users`, `lock_user`, `load_user`, `find_by_name`, the
//!   name listing (`list_names`, `publish_listing`, `names_complete`), store rows (`row_of`,
//!   `put_row`, `rows_of_page`), pages (`cached_site_users`, `list_users_paged`, `user_page`,
//!   `targeted_lookup`), `visible`, `visible_directory_user`;
//! - `tableau.rs`: `update_in_tableau` (Tableau's refusals in SCIM terms), `vanished`,
//!   `license_refused`, `check_added_license`, `note_license_shortfall`;
//! - `sign_in_grants.rs`: groups that grant a role at sign-in (`granting_groups_with`,
//!   `granting_groups_to_leave`, `leave_granting_groups`, `keep_deactivated_out`,
//!   `rejoin_granting_groups`);
//! - `custody.rs`: `deprovision = "transfer"` (`transfer_and_remove`, `custody_recipient`,
//!   `hand_over`);
//! - `moves.rs`: `rename = "move"` (`moves_loaded`, `resume_moves`, `move_user`, `run_move`
//!   and its steps `move_add`, `move_groups`, `move_content`, `move_remove`, `move_switch`);
//! - `directory.rs`: Tableau Server on Active Directory (`learn_identity_store`,
//!   `may_be_directory_name`, `directory_user`, `directory_account`).
//!
//! Pure: `plan.rs` (with `plan_tests.rs`), `names.rs`, `custody_plan.rs` (who receives a
//! departing user's content), `move_plan.rs` (what an identity move is and asks Tableau for).

pub(crate) mod custody;
pub mod custody_plan;
pub mod directory;
pub mod move_plan;
mod moves;
pub mod names;
pub mod plan;
mod reads;
pub mod sign_in_grants;
mod tableau;
mod writes;
