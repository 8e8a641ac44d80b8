//! Everything the bridge knows about Tableau: the REST client, its model and XML dialect, site
//! roles, and the emulator that stands in for Tableau in tests, benchmarks and the demo.

pub mod aliases;
pub mod api_version;
pub mod auth_config;
pub mod client;
pub mod content;
pub mod deployment;
pub mod directory_names;
pub mod error;
pub mod jwt;
pub mod limits;
pub mod model;
pub mod retry;
pub mod site_role;
pub mod snapshot;
pub mod stats;
pub mod xml;

pub use client::{
    ClientConfig, Credentials, NameMatch, Session, SessionSeal, SessionShare, TableauClient,
};
pub use deployment::Deployment;
pub use error::TableauError;
pub use site_role::{LicenseTier, SiteRole};
