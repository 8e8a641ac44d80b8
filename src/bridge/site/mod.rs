//! The tenant's site as a whole: who has access (`access.rs`, `Tenant::access`), readiness
//! (`health.rs`, `BridgeHealth`), and the work that runs in the background (`background.rs`:
//! the name listing, scheduled reconciliation, audit retention).

pub mod access;
pub mod background;
pub mod health;
pub mod what_if;
