//! The HTTP layer (actix-web): routes, authentication, body and query parsing, rendering.
//! Handlers parse, call the [`ResourceStore`](crate::backend::ResourceStore) once, and render.

pub mod auth;
pub mod body;
pub mod discovery;
pub mod error;
pub mod guard;
pub mod limits;
pub mod oauth;
pub mod observe;
pub mod request_metrics;
mod request_span;
pub mod resources;
pub mod response;
pub mod routes;
pub mod server;
pub mod state;
pub mod tokens;

pub use crate::reloadable::Reloadable;
pub use oauth::OAuthClientConfig;
pub use routes::configure;
pub use server::{start, start_metrics, start_with, tls_config, RunningServer};
pub use state::{base_url, AppState, Current, ExtraRoutes, HttpSettings, TenantEntry};
pub use tokens::{TokenDigest, TokenSet};
