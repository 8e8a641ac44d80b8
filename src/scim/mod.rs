//! The SCIM 2.0 protocol (RFC 7643, RFC 7644): filters, PATCH, schemas, resources and errors.
//! Pure: no I/O, nothing about Tableau.

pub mod bounds;
pub mod change;
pub mod error;
pub mod filter;
pub mod json;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod stored;
pub mod urn;
pub mod version;

pub use error::{truncated, ScimError, ScimResult, ScimType};
