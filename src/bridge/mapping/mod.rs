//! SCIM and Tableau side by side, pure: resources to Tableau users and groups and back
//! (`resources.rs`), IdP role values and groups to a site role (`roles.rs`), what a group grants at
//! sign-in (`grants.rs`), and what Tableau cannot hold (`text_checks.rs`). No `Tenant` methods.

pub mod grants;
mod resources;
pub mod roles;
pub mod text_checks;

pub use resources::*;
