//! The console's state: its tenants, the admin tokens that open it, the sessions, and what it
//! keeps read from Tableau for a while.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpResponse;

use super::session::Sessions;
use crate::backend::TenantHealth;
use crate::bridge::cache::ttl::TtlCache;
use crate::bridge::Tenant;
use crate::http::{Reloadable, TokenSet};

/// How long a Tableau version read for the overview is shown.
pub(super) const VERSION_FOR: Duration = Duration::from_secs(600);
/// How long the seats read for the overview are shown (one Query Site).
pub(super) const SEATS_FOR: Duration = Duration::from_secs(60);

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// Most sessions one admin token holds at once (a few browsers, a few machines); the console
/// holds at most this many per configured admin token.
pub const SESSIONS_PER_TOKEN: usize = 16;

/// One tenant as the console sees it.
#[derive(Clone)]
pub struct ConsoleTenant {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// Its admin tokens (this tenant only; replaced by a configuration reload).
    pub admin_tokens: Arc<Reloadable<TokenSet>>,
    /// Its health, as `/readyz` asks it.
    pub health: Arc<dyn TenantHealth>,
}

/// A step of a handler: its value, or the response to give instead (boxed: a response is
/// large, and most steps succeed).
pub(super) type Step<T> = Result<T, Box<HttpResponse>>;

/// Figures read from Tableau per tenant id, served for a while (the bridge's cache: expiry
/// and one load at a time per key).
pub(super) type Cached<T> = TtlCache<String, T>;

/// Tenants a console serves at most, for its caches' bounds.
const MAX_TENANTS: usize = 10_000;

/// The console.
pub struct Console {
    /// The tenants (replaced by a configuration reload that adds or removes one).
    pub(super) tenants: Arc<Reloadable<Vec<ConsoleTenant>>>,
    pub(super) server_tokens: Arc<Reloadable<TokenSet>>,
    pub(super) sessions: Sessions,
    /// Clients reach it over HTTPS (TLS here or behind a proxy): cookies are `Secure`.
    pub(super) secure: bool,
    pub(super) versions: Cached<String>,
    pub(super) seats: Cached<Result<crate::tableau::model::SiteInfo, String>>,
    /// A "run now" per tenant at a time.
    pub(super) running: Mutex<Vec<String>>,
    /// The access list last built per tenant: paging and filtering reuse it for a few seconds.
    pub(super) access: Cached<Arc<Vec<crate::bridge::site::access::AccessEntry>>>,
    /// The configuration reload, when the server was started from a file.
    pub(super) reload: std::sync::OnceLock<super::ReloadFn>,
    /// Sign-in through the identity provider, when `[server.console_oidc]` is set.
    pub(super) oidc: Option<OidcSignIn>,
}

/// Sign-in through the identity provider: the relying party, the sign-ins on their way, and
/// which groups open what (replaced by a configuration reload).
pub(super) struct OidcSignIn {
    pub(super) party: super::oidc::RelyingParty,
    pub(super) pending: super::oidc::pending::Pending,
    pub(super) grants: Arc<Reloadable<Vec<super::oidc::RoleGrant>>>,
}

/// How long a built access list serves further pages and filters (at 100,000 users building it
/// takes a few hundred milliseconds; BENCHMARKS.md section 10).
pub const ACCESS_FOR: Duration = Duration::from_secs(15);

impl Console {
    /// A console over `tenants`, opened by `server_tokens` (every tenant) and each tenant's
    /// own tokens; `secure`: clients reach it over HTTPS.
    pub fn new(
        tenants: Vec<ConsoleTenant>,
        server_tokens: Arc<Reloadable<TokenSet>>,
        secure: bool,
    ) -> Console {
        Console {
            tenants: Arc::new(Reloadable::new(tenants)),
            server_tokens,
            sessions: Sessions::new(SESSION_TTL, SESSIONS_PER_TOKEN),
            secure,
            versions: TtlCache::new(VERSION_FOR, MAX_TENANTS),
            seats: TtlCache::new(SEATS_FOR, MAX_TENANTS),
            running: Mutex::new(Vec::new()),
            access: TtlCache::new(ACCESS_FOR, MAX_TENANTS),
            reload: std::sync::OnceLock::new(),
            oidc: None,
        }
    }

    /// Offer sign-in through the identity provider `party` besides admin tokens.
    pub fn with_sign_in(mut self, party: super::oidc::RelyingParty) -> Console {
        let grants = Arc::new(Reloadable::new(party.config().grants.clone()));
        self.oidc = Some(OidcSignIn {
            party,
            pending: Default::default(),
            grants,
        });
        self
    }

    /// The grants of sign-in through the provider, for a reload to replace.
    pub fn sign_in_grants(&self) -> Option<Arc<Reloadable<Vec<super::oidc::RoleGrant>>>> {
        self.oidc.as_ref().map(|o| o.grants.clone())
    }

    /// The tenant list, for a reload to replace.
    pub fn tenant_list(&self) -> Arc<Reloadable<Vec<ConsoleTenant>>> {
        self.tenants.clone()
    }

    /// Offer the configuration reload (`POST /admin/reload`) to admins of every tenant.
    pub fn offer_reload(&self, reload: super::ReloadFn) {
        let _ = self.reload.set(reload);
    }
}
