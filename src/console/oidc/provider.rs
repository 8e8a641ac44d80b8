//! The console's OpenID Connect relying party (the `openidconnect` crate): the provider's
//! metadata and keys read once and kept, an authorization request with PKCE (S256), a state
//! and a nonce, and on the way back the code exchanged and the ID token verified (signature
//! against the provider's keys, issuer, audience, expiry, nonce). Calls to the provider are
//! bounded: discovery at most once per [`RETRY_DISCOVERY_AFTER`] after a failure, and again
//! only when a token is signed by a key we do not hold (the provider rotated its keys); one
//! code exchange per sign-in that comes back with a live state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};

use super::http_client::ProviderHttp;
use super::ConsoleOidcConfig;

/// After a failed discovery, the next attempt waits this long (sign-in pages answer 503 in
/// between, with no call to the provider).
pub const RETRY_DISCOVERY_AFTER: Duration = Duration::from_secs(10);

/// The claims beyond the standard ones, kept as they came: the configuration names which
/// holds the groups.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type ConsoleIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What discovery found.
struct Discovered {
    client: OidcClient,
    end_session: Option<EndSessionUrl>,
}

#[derive(Default)]
struct DiscoveryState {
    current: Option<Arc<Discovered>>,
    failed_at: Option<Instant>,
}

/// Why a sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached or answered wrongly: try again later (503).
    #[error("the identity provider could not be used: {0}")]
    Provider(String),
    /// The provider refused, or what came back does not verify (403).
    #[error("{0}")]
    Refused(String),
    /// The sign-in was not started in this browser, or took too long (400).
    #[error("this sign-in was not started in this browser, or took longer than 10 minutes; sign in again")]
    Stale,
}

/// Who signed in, as the ID token says.
#[derive(Debug, Clone)]
pub struct Person {
    /// The provider's subject identifier.
    pub subject: String,
    /// How the audit trail names them: email, else preferred user name, else name, else the
    /// subject.
    pub name: String,
    /// Their groups (the configured claim).
    pub groups: Vec<String>,
    /// The ID token, for the provider's logout (`id_token_hint`); never shown or logged.
    pub id_token: SecretString,
}

/// Longest name the audit trail takes from a token.
const MAX_NAME: usize = 256;

/// The relying party.
pub struct RelyingParty {
    config: ConsoleOidcConfig,
    http: ProviderHttp,
    discovery: tokio::sync::Mutex<DiscoveryState>,
}

/// Where to send the browser, and what to remember until it comes back.
pub struct Authorization {
    /// The provider's authorization URL.
    pub url: String,
    /// The request's state.
    pub state: String,
    /// The PKCE verifier.
    pub verifier: SecretString,
    /// The nonce.
    pub nonce: String,
}

fn provider_error(e: impl std::fmt::Display) -> SignInError {
    SignInError::Provider(e.to_string())
}

impl RelyingParty {
    /// A relying party for `config` (nothing is asked of the provider until the first sign-in).
    pub fn new(config: ConsoleOidcConfig) -> Result<RelyingParty, String> {
        let http = ProviderHttp::new(config.ca_file.as_deref())?;
        Ok(RelyingParty {
            config,
            http,
            discovery: tokio::sync::Mutex::new(DiscoveryState::default()),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &ConsoleOidcConfig {
        &self.config
    }

    fn callback_url(&self) -> String {
        format!("{}/admin/oidc/callback", self.config.console_url)
    }

    /// The provider's metadata and keys: kept, or read now (`refresh`: read again, for keys
    /// the provider rotated). A failure is kept for [`RETRY_DISCOVERY_AFTER`].
    async fn discovered(&self, refresh: bool) -> Result<Arc<Discovered>, SignInError> {
        let mut state = self.discovery.lock().await;
        if let (Some(d), false) = (&state.current, refresh) {
            return Ok(d.clone());
        }
        if let Some(at) = state.failed_at {
            if at.elapsed() < RETRY_DISCOVERY_AFTER {
                return match (&state.current, refresh) {
                    (Some(d), true) => Ok(d.clone()),
                    _ => Err(SignInError::Provider(
                        "its discovery failed a moment ago; try again in a few seconds".into(),
                    )),
                };
            }
        }
        match self.discover().await {
            Ok(d) => {
                let d = Arc::new(d);
                state.current = Some(d.clone());
                state.failed_at = None;
                Ok(d)
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "console sign-in: the identity provider's discovery failed");
                state.failed_at = Some(Instant::now());
                Err(e)
            }
        }
    }

    async fn discover(&self) -> Result<Discovered, SignInError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(provider_error)?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(provider_error)?;
        let end_session = meta.additional_metadata().end_session_endpoint.clone();
        let client = OidcClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_string(),
            )),
        )
        .set_redirect_uri(RedirectUrl::new(self.callback_url()).map_err(provider_error)?);
        Ok(Discovered {
            client,
            end_session,
        })
    }

    /// A new authorization request: PKCE S256, a random state and nonce, the configured
    /// scopes.
    pub async fn authorize(&self) -> Result<Authorization, SignInError> {
        let d = self.discovered(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in self.config.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(openidconnect::Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: SecretString::from(verifier.secret().clone()),
            nonce: nonce.secret().clone(),
        })
    }

    /// The code exchanged (with the PKCE verifier) and the ID token verified against `nonce`:
    /// who signed in.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &SecretString,
        nonce: &str,
    ) -> Result<Person, SignInError> {
        let d = self.discovered(false).await?;
        let tokens = d
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(provider_error)?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    SignInError::Refused(format!("the identity provider refused the code: {r}"))
                }
                other => provider_error(other),
            })?;
        let Some(id_token) = tokens.id_token() else {
            return Err(SignInError::Refused(
                "the identity provider sent no ID token".into(),
            ));
        };
        match self.person(&d, id_token, nonce) {
            Err(SignInError::Refused(why)) if why.starts_with(KEY_UNKNOWN) => {
                // A key we do not hold: the provider may have rotated; read its keys again.
                let d = self.discovered(true).await?;
                self.person(&d, id_token, nonce)
            }
            other => other,
        }
    }

    fn person(
        &self,
        d: &Discovered,
        id_token: &ConsoleIdToken,
        nonce: &str,
    ) -> Result<Person, SignInError> {
        let verifier = d.client.id_token_verifier().set_time_fn(crate::clock::now);
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map_err(|e| match e {
                openidconnect::ClaimsVerificationError::SignatureVerification(s) => {
                    SignInError::Refused(format!("{KEY_UNKNOWN}: {s}"))
                }
                other => SignInError::Refused(format!("the ID token does not verify: {other}")),
            })?;
        let subject = claims.subject().as_str().to_string();
        let name = claims
            .email()
            .map(|e| e.as_str().to_string())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_string()))
            .or_else(|| {
                claims
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string())
            })
            .unwrap_or_else(|| subject.clone());
        let name: String = name.chars().take(MAX_NAME).collect();
        let groups = super::roles::groups_in(
            claims
                .additional_claims()
                .other
                .get(&self.config.groups_claim),
        );
        Ok(Person {
            subject,
            name,
            groups,
            id_token: SecretString::from(id_token.to_string()),
        })
    }

    /// The provider's logout for a session signed in with `id_token`, coming back to the
    /// console's signed-out page; `None` when the provider offers no logout endpoint.
    pub async fn logout_url(&self, id_token: &SecretString) -> Option<String> {
        let d = self.discovery.lock().await.current.clone()?;
        let end = d.end_session.clone()?;
        let hint: ConsoleIdToken = id_token.expose_secret().parse().ok()?;
        let back =
            PostLogoutRedirectUrl::new(format!("{}/admin/signed-out", self.config.console_url))
                .ok()?;
        Some(
            LogoutRequest::from(end)
                .set_id_token_hint(&hint)
                .set_client_id(ClientId::new(self.config.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// How a signature failure starts (the caller reads the keys again once).
const KEY_UNKNOWN: &str = "the ID token's signature does not verify";
