//! Server Info, Sign In, Sign Out, Query Site and the site's authentication configurations.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::{lock, ok, signed_in, version, Reply, Scope};
use crate::emulator::request::{body_root, only_attributes, param, query_pairs};
use crate::emulator::state::{api_error, ApiError, SessionInfo, SiteState};
use crate::emulator::xml_out::auth_configurations_xml;
use crate::emulator::Shared;
use crate::tableau::model::ApiVersion;
use crate::tableau::site_role::LicenseTier;
use crate::tableau::xml::{self, element, Element};

pub(super) async fn server_info(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    version(&req, &shared)?;
    Ok(ok(
        StatusCode::OK,
        &format!(
            "<serverInfo><productVersion build=\"20242.24.0101.0000\">2024.2.0</productVersion><restApiVersion>{}</restApiVersion></serverInfo>",
            shared.api_version
        ),
    ))
}

/// A sign-in that reached the wrong address: Tableau Cloud answers 301 to the site's pod, and
/// a client that follows it as a GET meets 405000 (REST reference, Sign In errors: "this error
/// may be caused by leaving the pod name out of the server address"); tableauserverclient
/// re-posts to `Location` (`auth_endpoint.sign_in`). `None` when the request came to the pod.
fn redirect_to_pod(req: &HttpRequest, shared: &Shared) -> Option<HttpResponse> {
    let pod = shared.sign_in_host.as_deref()?;
    let info = req.connection_info();
    let host = info.host();
    let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
    if name.eq_ignore_ascii_case(pod) {
        return None;
    }
    let port = req.app_config().local_addr().port();
    let location = format!("{}://{pod}:{port}{}", info.scheme(), req.path());
    Some(
        HttpResponse::MovedPermanently()
            .insert_header(("Location", location))
            .finish(),
    )
}

fn refused(why: &str) -> ApiError {
    api_error(
        401,
        "401001",
        "Signin Error",
        format!("Error signing in to Tableau Server: {why}"),
    )
}

/// The attributes `<credentials>` may carry at `ver`: `isUat` only from 3.27 (tableau-rest.md
/// section 1.1); tableauserverclient sends it with every JWT, which older servers are assumed
/// to refuse like any attribute their schema lacks.
fn credential_attributes(ver: ApiVersion) -> &'static [&'static str] {
    const BASE: &[&str] = &[
        "name",
        "password",
        "personalAccessTokenName",
        "personalAccessTokenSecret",
        "jwt",
    ];
    const WITH_UAT: &[&str] = &[
        "name",
        "password",
        "personalAccessTokenName",
        "personalAccessTokenSecret",
        "jwt",
        "isUat",
    ];
    if ver >= ApiVersion::IS_UAT {
        WITH_UAT
    } else {
        BASE
    }
}

/// Who the credentials sign in as, whether it is the PAT, and a connected app's scopes.
fn check_credentials(
    creds: &Element,
    shared: &Shared,
    state: &SiteState,
) -> Result<(String, bool, Option<Vec<String>>), ApiError> {
    if let Some(name) = creds.attr("personalAccessTokenName") {
        let secret = creds.attr("personalAccessTokenSecret").unwrap_or_default();
        let name_ok = name == shared.pat_name;
        let secret_ok: bool = secret
            .as_bytes()
            .ct_eq(shared.pat_secret.expose_secret().as_bytes())
            .into();
        if !(name_ok && secret_ok) {
            return Err(refused("the personal access token is not valid"));
        }
        return Ok((state.admin_id.clone(), true, None));
    }
    let Some(jwt) = creds.attr("jwt") else {
        return Err(refused(
            "only personal access tokens and connected-app JWTs are accepted",
        ));
    };
    let Some(app) = &shared.connected_app else {
        return Err(refused("no connected app is configured"));
    };
    let now = crate::clock::now().timestamp();
    let claims = crate::tableau::jwt::verify(jwt, app, now).map_err(|e| refused(&e.to_string()))?;
    let sub = claims["sub"].as_str().unwrap_or_default();
    let id = state
        .users
        .values()
        .find(|u| u.user.name == sub)
        .map(|u| u.user.id.to_string())
        .ok_or_else(|| refused(&format!("no user '{sub}' on the site")))?;
    let asked = claims["scp"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // A Tableau that does not know a scope does not grant it (assumed: how a version without
    // the users and groups scopes treats them).
    let scopes = match &shared.known_scopes {
        Some(known) => asked.into_iter().filter(|s| known.contains(s)).collect(),
        None => asked,
    };
    Ok((id, false, Some(scopes)))
}

pub(super) async fn sign_in(
    req: HttpRequest,
    shared: web::Data<Shared>,
    body: web::Bytes,
) -> Reply {
    let ver = version(&req, &shared)?;
    if let Some(redirect) = redirect_to_pod(&req, &shared) {
        return Ok(redirect);
    }
    let root = body_root(&body)?;
    let creds = root
        .child("credentials")
        .ok_or_else(|| refused("no credentials"))?;
    only_attributes(creds, credential_attributes(ver))?;
    let site = creds
        .child("site")
        .and_then(|s| s.attr("contentUrl"))
        .unwrap_or_default();
    let mut state = lock(&shared)?;
    if !site.eq_ignore_ascii_case(&state.content_url) {
        return Err(refused(&format!("no site '{site}'")));
    }
    let (user_id, is_pat, scopes) = check_credentials(creds, &shared, &state)?;
    let token: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        hex::encode(bytes)
    };
    if is_pat {
        // One session per PAT: signing in again ends the earlier session (tableau-rest.md 1.4).
        if let Some(old) = state.pat_token.take() {
            state.sessions.remove(&old);
        }
        state.pat_token = Some(token.clone());
    }
    state.sessions.insert(
        token.clone(),
        SessionInfo {
            calls: 0,
            user_id: user_id.clone(),
            scopes,
        },
    );
    let inner = format!(
        "<credentials token=\"{token}\" estimatedTimeToExpiration=\"239:59:59\"><site id=\"{}\" contentUrl=\"{}\"/><user id=\"{user_id}\"/></credentials>",
        state.site_id,
        xml::esc(&state.content_url)
    );
    Ok(ok(StatusCode::OK, &inner))
}

pub(super) async fn sign_out(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    version(&req, &shared)?;
    let token = req
        .headers()
        .get("X-Tableau-Auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut state = lock(&shared)?;
    state.sessions.remove(token);
    if state.pat_token.as_deref() == Some(token) {
        state.pat_token = None;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The settings Query Site shows beside what the emulator models, as TSC's recorded
/// `site_get_by_id.xml` shows them, so that the emulator's site has Tableau's shape.
const SITE_SETTINGS: &[(&str, &str)] = &[
    ("storageQuota", "100"),
    ("disableSubscriptions", "false"),
    ("revisionHistoryEnabled", "false"),
    ("revisionLimit", "25"),
    ("subscribeOthersEnabled", "true"),
    ("allowSubscriptionAttachments", "true"),
    ("guestAccessEnabled", "false"),
    ("cacheWarmupEnabled", "true"),
    ("commentingEnabled", "true"),
    ("commentingMentionsEnabled", "false"),
    ("editingFlowsEnabled", "false"),
    ("schedulingFlowsEnabled", "false"),
    ("extractEncryptionMode", "enabled"),
    ("catalogingEnabled", "true"),
    ("catalogObfuscationEnabled", "true"),
    ("derivedPermissionsEnabled", "false"),
    ("requestAccessEnabled", "false"),
    ("runNowEnabled", "true"),
    ("isDataAlertsEnabled", "true"),
    ("askDataMode", "EnabledByDefault"),
    ("useDefaultTimeZone", "false"),
    ("timeZone", "America/Los_Angeles"),
];

/// Query Site: the tier capacities always; `<usage>` only when asked with
/// `includeUsageStatistics=true` (REST reference, Query Site; tableauserverclient's
/// `SiteItem` reads `<usage>` only when present). The per-tier counts are the `siteType`
/// usage attributes of Tableau's XSD (tableau-rest.md section 4.3).
/// List Authentication Configurations (`GET /sites/{id}/site-auth-configurations`, REST 3.24:
/// tableauserverclient's `sites.list_auth_configurations`), answered in the shape of its
/// `site_auth_configurations.xml`. Below 3.24 the method does not exist: 404 `404003`, what an
/// unknown resource of a version answers (TSC `server_info_404.xml`; **assumed** for this
/// method). The connected-app scope is assumed to be Query Site's (`tableau:content:read`).
pub(super) async fn auth_configurations(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    if version(&req, &shared)? < ApiVersion::IDP_CONFIGURATION_ID {
        return Err(api_error(
            404,
            "404003",
            "Resource Not Found",
            "List Authentication Configurations needs API 3.24 or later",
        ));
    }
    let s = signed_in(&req, &shared, Scope::CONTENT_READ)?;
    Ok(ok(
        StatusCode::OK,
        &auth_configurations_xml(&s.state.auth_configurations),
    ))
}

pub(super) async fn query_site(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let s = signed_in(&req, &shared, Scope::CONTENT_READ)?;
    let state = &s.state;
    let cap = state.capacity;
    let n = |o: Option<u64>| o.map(|v| v.to_string());
    let (c, e, v) = (n(cap.creator), n(cap.explorer), n(cap.viewer));
    let with_usage = param(&query_pairs(&req), "includeUsageStatistics") == Some("true");
    let usage = with_usage.then(|| {
        format!(
            "<usage numCreators=\"{}\" numExplorers=\"{}\" numViewers=\"{}\" numUsers=\"{}\" storage=\"0\"/>",
            state.usage(LicenseTier::Creator),
            state.usage(LicenseTier::Explorer),
            state.usage(LicenseTier::Viewer),
            state.users.len()
        )
    });
    let quota = state.users.len().max(1000).to_string();
    let mut attributes = vec![
        ("id", Some(state.site_id.as_str())),
        ("name", Some(state.content_url.as_str())),
        ("contentUrl", Some(state.content_url.as_str())),
        ("adminMode", Some("ContentAndUsers")),
        ("state", Some("Active")),
        ("userQuota", Some(quota.as_str())),
        ("tierCreatorCapacity", c.as_deref()),
        ("tierExplorerCapacity", e.as_deref()),
        ("tierViewerCapacity", v.as_deref()),
    ];
    attributes.extend(SITE_SETTINGS.iter().map(|(k, v)| (*k, Some(*v))));
    let site = element("site", &attributes, usage.as_deref());
    Ok(ok(StatusCode::OK, &site))
}
