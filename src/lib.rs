//! tableau-scim: a SCIM 2.0 server that provisions users and groups into Tableau.
//!
//! Layers, outermost first: [`http`] (actix-web handlers), [`backend`] (the resource store the
//! handlers call), [`scim`] (the protocol, pure).
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod backend;
pub mod bridge;
pub mod check;
pub mod config;
pub mod console;
pub mod demo;
pub mod emulator;
pub mod http;
pub mod logging;
pub mod migrate_store;
pub mod reconcile;
pub mod report;
pub mod scim;
pub mod serve;
pub mod stack;
pub mod store;
pub mod tableau;
