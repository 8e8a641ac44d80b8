//! Sessions: the API version, sign-in (PAT or Connected App JWT), single-flight renewal,
//! sign-out, and the site they are on.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::{elapsed_ms, redirect, transport, Credentials, TableauClient};
use crate::tableau::error::TableauError;
use crate::tableau::jwt;
use crate::tableau::model::{ApiVersion, ServerInfo};
use crate::tableau::xml::{self, element, ts_request};

/// Where the replicas of one tenant keep the one Tableau session a PAT allows (a second
/// sign-in with the same PAT ends the first: tableau-rest.md section 1.4), so that replicas
/// signing in on their own do not sign each other out forever.
#[async_trait::async_trait]
pub trait SessionShare: Send + Sync {
    /// Hold the sign-in lock shared with the other replicas until the returned guard drops.
    async fn lock(&self) -> Result<Box<dyn Send + Sync>, String>;
    /// The session stored by whichever replica signed in last for `scope` (the server, site
    /// and credential the session belongs to: [`TableauClient::session_scope`]).
    async fn load(&self, scope: &str) -> Result<Option<Session>, String>;
    /// Store the session this replica just signed in for `scope`.
    async fn save(&self, scope: &str, session: &Session) -> Result<(), String>;
}

/// An established session.
#[derive(Debug)]
pub struct Session {
    pub(super) token: SecretString,
    /// The server address the session lives on: the configured one, or where Tableau
    /// redirected the sign-in.
    pub server: String,
    /// Site LUID.
    pub site_id: String,
    /// The signed-in user's LUID.
    pub user_id: String,
}

impl Session {
    /// A session as another replica stored it.
    pub fn new(token: SecretString, server: String, site_id: String, user_id: String) -> Session {
        Session {
            token,
            server,
            site_id,
            user_id,
        }
    }

    /// The `X-Tableau-Auth` token (to share it with the other replicas).
    pub fn token(&self) -> &SecretString {
        &self.token
    }
}

/// Whether `stored` is the very session that just failed (`stale`): only then is signing in
/// again right; any other stored session is newer, signed in by another replica.
pub(super) fn is_the_failed_one(stored: &Session, stale: Option<&Arc<Session>>) -> bool {
    stale.is_some_and(|s| s.token.expose_secret() == stored.token.expose_secret())
}

impl TableauClient {
    /// Share this client's session with the other replicas of its tenant through `share`.
    /// Only a PAT needs it (a connected app may hold a session per replica); returns whether
    /// it applies.
    pub fn share_session(&self, share: Arc<dyn SessionShare>) -> bool {
        if !matches!(self.cfg.credentials, Credentials::Pat { .. }) {
            return false;
        }
        self.share.set(share).is_ok()
    }

    /// What a shared session belongs to: the server, the site and the credential's name. A
    /// session stored under another (the tenant pointed at another site since) is never used.
    pub fn session_scope(&self) -> String {
        let credential = match &self.cfg.credentials {
            Credentials::Pat { name, .. } => format!("pat:{name}"),
            Credentials::ConnectedApp(app) => format!("app:{}", app.client_id),
        };
        format!("{} {} {credential}", self.cfg.server_url, self.cfg.site)
    }

    /// The key that seals this client's session where the replicas share it: derived from its
    /// credential for its session scope ([`SessionSeal::for_credentials`]).
    pub fn session_seal(&self) -> super::SessionSeal {
        super::SessionSeal::for_credentials(
            &self.cfg.credentials,
            self.cfg.session_key.as_ref(),
            &self.session_scope(),
        )
    }

    /// The REST API version in use, discovering it once if not configured.
    pub async fn api_version(&self) -> Result<ApiVersion, TableauError> {
        self.version
            .get_or_try_init(|| async {
                match &self.cfg.api_version {
                    Some(v) => ApiVersion::parse(v)
                        .ok_or_else(|| TableauError::Config(format!("bad API version '{v}'"))),
                    None => {
                        let info = self.server_info().await?;
                        ApiVersion::parse(&info.rest_api_version).ok_or_else(|| {
                            TableauError::Protocol(format!(
                                "server reports API version '{}'",
                                info.rest_api_version
                            ))
                        })
                    }
                }
            })
            .await
            .copied()
    }

    /// `GET /api/{ver}/serverinfo`, which needs no sign-in. Uses the configured version, or
    /// the oldest we speak (every 3.x server answers it).
    pub async fn server_info(&self) -> Result<ServerInfo, TableauError> {
        let ver = self
            .cfg
            .api_version
            .clone()
            .unwrap_or_else(|| ApiVersion::MINIMUM.to_string());
        let url = format!("{}/api/{ver}/serverinfo", self.cfg.server_url);
        let (answer, _) = self
            .unauthenticated("GET serverinfo", Method::GET, url, None)
            .await?;
        if !answer.status.is_success() {
            return Err(xml::parse_error(answer.status.as_u16(), &answer.text));
        }
        let root = xml::parse(&answer.text)?;
        ServerInfo::from_element(
            root.find("serverInfo")
                .ok_or_else(|| TableauError::Protocol("no <serverInfo>".into()))?,
        )
    }

    /// The Sign In body: the PAT, or a freshly minted Connected App JWT (`isUat="false"` only
    /// where the API knows the attribute).
    fn sign_in_request(&self, ver: ApiVersion) -> Result<String, TableauError> {
        let site = element("site", &[("contentUrl", Some(&self.cfg.site))], None);
        let credentials = match &self.cfg.credentials {
            Credentials::Pat { name, secret } => element(
                "credentials",
                &[
                    ("personalAccessTokenName", Some(name)),
                    ("personalAccessTokenSecret", Some(secret.expose_secret())),
                ],
                Some(&site),
            ),
            Credentials::ConnectedApp(app) => {
                let now = crate::clock::system_now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                let token = jwt::mint(app, now).ok_or_else(|| {
                    TableauError::Config("cannot sign the connected-app JWT".into())
                })?;
                let is_uat = (ver >= ApiVersion::IS_UAT).then_some("false");
                element(
                    "credentials",
                    &[("jwt", Some(&token)), ("isUat", is_uat)],
                    Some(&site),
                )
            }
        };
        Ok(ts_request(&credentials))
    }

    async fn sign_in_now(&self) -> Result<Session, TableauError> {
        let ver = self.api_version().await?;
        let url = format!("{}/api/{ver}/auth/signin", self.cfg.server_url);
        let body = self.sign_in_request(ver)?;
        self.stats.sign_in();
        let (answer, answered_at) = self
            .unauthenticated("POST auth/signin", Method::POST, url, Some(&body))
            .await?;
        if answer.status.is_success() {
            return parse_session(&answer.text, redirect::server_address(&answered_at));
        }
        Err(TableauError::SignIn(
            xml::parse_error(answer.status.as_u16(), &answer.text).to_string(),
        ))
    }

    /// The current session, signing in if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, TableauError> {
        if let Some(s) = self.session.read().await.clone() {
            return Ok(s);
        }
        self.renew(None).await
    }

    /// Sign in again unless another task already replaced `stale`: concurrent 401s make one
    /// sign-in, and every waiter reuses its token (Tableau ends the earlier session when a PAT
    /// signs in again, so parallel sign-ins would knock each other out).
    pub(super) async fn renew(
        &self,
        stale: Option<&Arc<Session>>,
    ) -> Result<Arc<Session>, TableauError> {
        let _one_at_a_time = self.sign_in_lock.lock().await;
        if let Some(current) = self.session.read().await.clone() {
            let replaced = stale.is_none_or(|s| !Arc::ptr_eq(s, &current));
            if replaced {
                return Ok(current);
            }
        }
        let fresh = match self.share.get() {
            Some(share) => self.renew_shared(share.as_ref(), stale).await?,
            None => {
                // Boxed: signing in goes through the same funnel that asks for sessions, so
                // the future would otherwise contain itself.
                let s = Arc::new(Box::pin(self.sign_in_now()).await?);
                tracing::info!(tableau.site = %self.cfg.site, "signed in to Tableau");
                s
            }
        };
        *self.session.write().await = Some(fresh.clone());
        Ok(fresh)
    }

    /// Renew through the shared session: under the replicas' sign-in lock, take the stored
    /// session unless it is the one that failed; only then sign in, and store the new one.
    async fn renew_shared(
        &self,
        share: &dyn SessionShare,
        stale: Option<&Arc<Session>>,
    ) -> Result<Arc<Session>, TableauError> {
        let unavailable = |last: String| TableauError::Unavailable {
            attempts: 1,
            last: format!("the Tableau session shared by the replicas: {last}"),
        };
        let _held = share.lock().await.map_err(unavailable)?;
        let scope = self.session_scope();
        if let Some(stored) = share.load(&scope).await.map_err(unavailable)? {
            if !is_the_failed_one(&stored, stale) {
                tracing::debug!(tableau.site = %self.cfg.site, "using the Tableau session another replica signed in");
                return Ok(Arc::new(stored));
            }
        }
        let fresh = Box::pin(self.sign_in_now()).await?;
        share.save(&scope, &fresh).await.map_err(unavailable)?;
        tracing::info!(tableau.site = %self.cfg.site, "signed in to Tableau (session shared with the other replicas)");
        Ok(Arc::new(fresh))
    }

    /// Sign in now (replacing any session).
    pub async fn sign_in(&self) -> Result<(), TableauError> {
        let current = self.session.read().await.clone();
        self.renew(current.as_ref()).await.map(|_| ())
    }

    /// Sign out, if signed in. Errors are logged, not returned: this runs at shutdown, once,
    /// without retries.
    /// A shared session stays signed in: the other replicas use it.
    pub async fn sign_out(&self) {
        let Some(s) = self.session.write().await.take() else {
            return;
        };
        if self.share.get().is_some() {
            return;
        }
        let Ok(ver) = self.api_version().await else {
            return;
        };
        let url = format!("{}/api/{ver}/auth/signout", s.server);
        let started = Instant::now();
        let resp = self
            .http
            .post(&url)
            .header("X-Tableau-Auth", s.token.expose_secret())
            .send()
            .await;
        let status = resp.as_ref().map_or(0, |r| r.status().as_u16());
        self.stats
            .record("POST auth/signout", status, elapsed_ms(started));
        if let Err(e) = resp {
            tracing::warn!(error = %transport(&e), "Tableau sign-out failed");
        }
    }
}

fn parse_session(text: &str, server: String) -> Result<Session, TableauError> {
    let root = xml::parse(text)?;
    let creds = root
        .find("credentials")
        .ok_or_else(|| TableauError::Protocol("sign-in response without <credentials>".into()))?;
    let token = creds
        .attr("token")
        .ok_or_else(|| TableauError::Protocol("sign-in response without a token".into()))?;
    let site_id = creds
        .child("site")
        .and_then(|s| s.attr("id"))
        .ok_or_else(|| TableauError::Protocol("sign-in response without a site id".into()))?;
    Ok(Session {
        token: SecretString::from(token.to_string()),
        server,
        site_id: site_id.to_string(),
        user_id: creds
            .child("user")
            .and_then(|u| u.attr("id"))
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tscs_sign_in_sample() {
        // tableau-rest.md section 1.1, TSC test/assets/auth_sign_in.xml.
        let doc = r#"<tsResponse xmlns="http://tableau.com/api"><credentials token="eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l"><site id="6b7179ba-b82b-4f0f-91ed-812074ac5da6" contentUrl="Samples"/><user id="1a96d216-e9b8-497b-a82a-0b899a965e01"/></credentials></tsResponse>"#;
        let s = parse_session(doc, "https://t".into()).map_err(|e| e.to_string());
        let s = s.as_ref().map(|s| {
            (
                s.site_id.as_str(),
                s.user_id.as_str(),
                s.token.expose_secret(),
            )
        });
        assert_eq!(
            s,
            Ok((
                "6b7179ba-b82b-4f0f-91ed-812074ac5da6",
                "1a96d216-e9b8-497b-a82a-0b899a965e01",
                "eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l"
            ))
        );
        assert!(parse_session("<tsResponse/>", String::new()).is_err());
    }

    #[test]
    fn a_session_belongs_to_its_server_site_and_credential() {
        use crate::tableau::ClientConfig;
        let scope = |url: &str, site: &str, pat: &str| {
            let creds = Credentials::Pat {
                name: pat.into(),
                secret: SecretString::from("s".to_string()),
            };
            TableauClient::new(ClientConfig::new(url, site, creds)).map(|c| c.session_scope())
        };
        let acme = scope("https://t.example.com", "acme", "scim").ok();
        assert!(acme.is_some());
        assert_eq!(acme, scope("https://t.example.com/", "acme", "scim").ok());
        for other in [
            scope("https://t.example.com", "other", "scim"),
            scope("https://u.example.com", "acme", "scim"),
            scope("https://t.example.com", "acme", "scim2"),
        ] {
            assert_ne!(acme, other.ok());
        }
    }

    #[test]
    fn only_the_session_that_failed_is_replaced() {
        let session = |t: &str| {
            Session::new(
                SecretString::from(t.to_string()),
                "s".into(),
                "x".into(),
                "u".into(),
            )
        };
        let stored = session("t2");
        assert!(
            !is_the_failed_one(&stored, None),
            "no session yet: take the stored one"
        );
        assert!(
            !is_the_failed_one(&stored, Some(&Arc::new(session("t1")))),
            "another replica renewed already"
        );
        assert!(
            is_the_failed_one(&stored, Some(&Arc::new(session("t2")))),
            "the stored one failed: sign in"
        );
    }
}
