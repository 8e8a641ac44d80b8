//! Signing in to the console with the company's identity provider over OpenID Connect
//! (authorization code with PKCE), its groups mapped to a role per tenant. Admin tokens keep
//! working beside it, for automation and break-glass.
//!
//! `provider` is the relying party (the `openidconnect` crate), `http_client` the HTTP client
//! it calls, `pending` the sign-ins on their way through the provider, `roles` what groups
//! open (pure).

pub mod http_client;
pub mod pending;
pub mod provider;
pub mod roles;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

pub use provider::{Person, RelyingParty, SignInError};
pub use roles::{Rights, Role, RoleGrant};

/// `[server.console_oidc]`, checked.
#[derive(Debug, Clone)]
pub struct ConsoleOidcConfig {
    /// The provider's issuer, exactly as its discovery document writes it.
    pub issuer: String,
    /// The console's client id at the provider.
    pub client_id: String,
    /// Its client secret (`client_secret_basic`).
    pub client_secret: SecretString,
    /// Where browsers reach the console (`https://scim.example.com`): the redirect URI
    /// registered at the provider is this followed by `/admin/oidc/callback`, the logout's
    /// return this followed by `/admin/signed-out`.
    pub console_url: String,
    /// The provider's name on the sign-in button.
    pub name: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The ID token claim holding the groups.
    pub groups_claim: String,
    /// Which groups open what.
    pub grants: Vec<RoleGrant>,
    /// How long a console session opened this way lasts.
    pub session_ttl: Duration,
    /// A CA bundle for a provider whose certificate comes from a private authority.
    pub ca_file: Option<PathBuf>,
}
