//! OAuth 2.0 client credentials for SCIM (RFC 6749 4.4): a token endpoint per tenant
//! (`/tenants/{tenant}/oauth/token`, and `/oauth/token` where the client id says the tenant)
//! issuing short-lived bearer tokens (RFC 6750) that the SCIM endpoints accept beside the
//! tenant's static tokens. Client secrets are held as SHA-256 digests, like SCIM tokens.

pub mod access_token;
pub mod error;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use self::access_token::{AccessTokenKey, Claims, Refusal};
use self::error::OAuthError;
use super::guard::{Rejection, Verdict};
use super::state::{AppState, TenantEntry};
use super::tokens::{TokenDigest, TokenSet};

/// The longest lifetime a token may be given: an access token cannot be revoked before it
/// expires, so rotating a client secret takes effect within this; Microsoft's gallery rules
/// ask for 60 minutes to six hours (app-gallery-user-provisioning-requirements).
pub const MAX_LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// The lifetime when none is configured: Entra ID's own access tokens' default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A tenant's OAuth client, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientConfig {
    /// The client id the IdP sends.
    pub client_id: String,
    /// Digests of the accepted client secrets (several, so a secret can be rotated).
    pub secrets: Vec<TokenDigest>,
    /// How long an access token lives.
    pub lifetime: Duration,
}

/// A tenant's OAuth client, ready to serve: its secrets and the key its tokens are signed with.
#[derive(Debug)]
pub struct OAuthClient {
    /// The client id.
    pub client_id: String,
    /// The accepted secrets.
    pub secrets: TokenSet,
    /// The key of the tenant's access tokens.
    pub key: AccessTokenKey,
    /// How long an access token lives.
    pub lifetime: Duration,
}

impl OAuthClient {
    /// Tenant `tenant`'s client, its key derived from the replicas' shared key when given.
    pub fn new(config: &OAuthClientConfig, tenant: &str, shared_key: Option<&[u8]>) -> OAuthClient {
        OAuthClient {
            client_id: config.client_id.clone(),
            secrets: TokenSet::new(config.secrets.clone()),
            key: AccessTokenKey::derive(shared_key, tenant),
            lifetime: config.lifetime,
        }
    }
}

fn unix_now() -> u64 {
    crate::clock::system_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The tenant an access token is for, if one of this server's tenants signed it and it has not
/// expired. A token in another form is `Invalid` at once (it may be a static token).
pub fn tenant_of_access_token(state: &AppState, token: &str) -> Result<Arc<TenantEntry>, Refusal> {
    let tenant = access_token::unverified_tenant(token).ok_or(Refusal::Invalid)?;
    let entry = state
        .tenants
        .get()
        .iter()
        .find(|t| t.id == tenant)
        .cloned()
        .ok_or(Refusal::Invalid)?;
    let oauth = entry.oauth.get();
    let client = oauth.as_ref().as_ref().ok_or(Refusal::Invalid)?;
    let claims = access_token::verify(&client.key, &entry.id, token, unix_now())?;
    // A token issued to a client id the tenant no longer has (changed by a reload) is refused.
    if claims.client_id != client.client_id {
        return Err(Refusal::Invalid);
    }
    Ok(entry.clone())
}

async fn read_body(mut payload: web::Payload) -> Result<Vec<u8>, OAuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::InvalidRequest("the body could not be read".into()))?;
        if body.len() + chunk.len() > request::MAX_BODY_BYTES {
            return Err(OAuthError::InvalidRequest(format!(
                "a token request is at most {} bytes",
                request::MAX_BODY_BYTES
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The tenant whose client presented these credentials, if any: the client id names it (on a
/// tenant's own path, only that tenant), the secret is compared in constant time.
fn client_tenant(
    state: &AppState,
    path_tenant: Option<&str>,
    presented: &request::Presented,
) -> Option<Arc<TenantEntry>> {
    let entry = state
        .tenants
        .get()
        .iter()
        .find(|t| {
            path_tenant.is_none_or(|p| p == t.id)
                && t.oauth
                    .get()
                    .as_ref()
                    .as_ref()
                    .is_some_and(|c| presented.client_id.contains(&c.client_id))
        })
        .cloned()?;
    let oauth = entry.oauth.get();
    let client = oauth.as_ref().as_ref()?;
    let mut accepted = false;
    for s in &presented.client_secret {
        accepted |= client.secrets.accepts(s);
    }
    accepted.then(|| entry.clone())
}

/// `POST /oauth/token`, `POST /tenants/{tenant}/oauth/token`: a client credentials grant. A
/// wrong client or secret counts against the address like a wrong SCIM token.
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let path_tenant = req.match_info().get("tenant");
    if let Some(p) = path_tenant {
        if !state
            .tenants
            .get()
            .iter()
            .any(|t| t.id == p && t.oauth.get().is_some())
        {
            return Err(OAuthError::NotFound(format!(
                "no tenant '{}' issuing access tokens here",
                crate::scim::truncated(p, 64)
            )));
        }
    }
    let body = read_body(payload).await?;
    let header_text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let asked = request::parse(
        header_text(header::CONTENT_TYPE),
        header_text(header::AUTHORIZATION),
        &body,
    )?;
    let Some(entry) = client_tenant(&state, path_tenant, &asked.client) else {
        let key = super::auth::client_of(&req, state.settings.trust_forwarded_headers);
        return Err(match state.guard.failed(key, Rejection::Invalid) {
            Verdict::Refuse => OAuthError::InvalidClient {
                basic: asked.client.basic,
                why: "the client id or secret is not valid here".into(),
            },
            Verdict::Block { retry_after_secs } => OAuthError::TooManyRequests(retry_after_secs),
        });
    };
    let oauth = entry.oauth.get();
    let Some(client) = oauth.as_ref() else {
        return Err(OAuthError::NotFound(
            "this tenant issues no access tokens".into(),
        ));
    };
    let lifetime = client.lifetime.as_secs();
    let claims = Claims {
        tenant: entry.id.clone(),
        client_id: client.client_id.clone(),
        expires_at: unix_now().saturating_add(lifetime),
        nonce: access_token::nonce(),
    };
    let token = access_token::issue(&client.key, &claims);
    tracing::Span::current().record("tenant.id", entry.id.as_str());
    tracing::info!(tenant = %entry.id, client_id = %client.client_id, expires_in = lifetime, "issued an OAuth access token");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": request::SCOPE,
        })))
}

/// Register the token endpoints.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in ["/oauth/token", "/tenants/{tenant}/oauth/token"] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(token))
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(OAuthError::InvalidRequest(
                        "the token endpoint takes POST only".into(),
                    ))
                })),
        );
    }
}
