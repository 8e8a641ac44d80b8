//! tableau-scim: a SCIM 2.0 server that provisions users and groups into Tableau.
//!
//! Layers, outermost first (ARCHITECTURE.md draws them): the commands and wiring ([`serve`],
//! [`demo`], [`check`], [`reconcile`], [`report`], [`migrate_store`], [`stack`]), the admin
//! [`console`] and the [`config`]; [`http`] (actix-web handlers); [`backend`] (the resource
//! store the handlers call); [`bridge`] (where SCIM and Tableau meet); below it [`scim`] (the
//! protocol, pure), [`tableau`] (the REST client) and [`store`] (what Tableau cannot hold).
//! Beside them the [`emulator`], which stands in for Tableau in tests, benches and the demo.

pub mod audit_export;
pub mod backend;
pub mod bridge;
pub mod check;
pub mod clock;
pub mod config;
pub mod console;
pub mod demo;
pub mod emulator;
pub mod export;
pub mod holds;
pub mod http;
pub mod logging;
pub mod migrate_store;
pub mod pem_roots;
pub mod preview;
pub mod reconcile;
pub mod reload;
pub mod reloadable;
pub mod report;
pub mod scim;
pub mod serve;
pub mod stack;
pub mod store;
pub mod tableau;
pub mod telemetry;
