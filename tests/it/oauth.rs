//! OAuth 2.0 client credentials (RFC 6749 4.4) as Entra ID's "OAuth2 Client Credentials Grant"
//! uses it: the IdP asks the tenant's token endpoint for an access token with its client id and
//! secret, then sends it as a bearer token; static bearer tokens keep working beside it. On
//! replicas sharing a key, a token from one is accepted by all.

use std::time::Duration;

use crate::common;

use base64::Engine;
use common::flows::Provisioned;
use common::replicas::{site, Replicas};
use common::{Idp, Site};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::http::{OAuthClientConfig, TokenDigest};

const TOKEN: &str = "static-bearer-token-0123456789";
const CLIENT_ID: &str = "entra-acme";
const SECRET: &str = "client-secret-0123456789abcdef";

fn oauth_site(lifetime: Duration) -> Site {
    Site::start(
        EmulatorConfig::new("acme", "scim", "pat-secret"),
        TOKEN,
        |o| {
            o.tenant.oauth = Some(OAuthClientConfig {
                client_id: CLIENT_ID.into(),
                secrets: vec![TokenDigest::of(SECRET)],
                lifetime,
            });
        },
    )
}

fn origin(scim_base: &str) -> String {
    scim_base.trim_end_matches("/scim/v2").to_string()
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// POST a token request: (status, headers, JSON body).
async fn ask(
    url: &str,
    authorization: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut r = Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    let reply = r.send().await.expect("the token endpoint answers");
    let status = reply.status();
    let headers = reply.headers().clone();
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

const FORM: &str = "application/x-www-form-urlencoded";

async fn access_token(token_url: &str) -> String {
    let (s, _, body) = ask(
        token_url,
        Some(&basic(CLIENT_ID, SECRET)),
        FORM,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_provisions_with_an_access_token_from_the_tenants_token_endpoint() {
    let site = oauth_site(Duration::from_secs(3600));
    let base = site.stack.scim_url();
    let token_url = format!("{}/tenants/acme/oauth/token", origin(&base));
    site.reset_calls();

    // Entra sends Basic client authentication and a form (client_secret_basic).
    let (s, headers, body) = ask(
        &token_url,
        Some(&basic(CLIENT_ID, SECRET)),
        FORM,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "scim");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    let token = body["access_token"]
        .as_str()
        .expect("an access token")
        .to_string();
    assert!(!token.contains(SECRET));
    assert_eq!(site.total_calls(), 0, "a token costs no Tableau call");

    // The access token opens the tenant's SCIM endpoints like a bearer token.
    let idp = Idp::new(&base, &token);
    let (s, created) = idp
        .call(
            reqwest::Method::POST,
            "/Users",
            Some(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "active": true
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(site.role("ada@example.com").as_deref(), Some("Viewer"));
    let (s, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(s, StatusCode::OK);
    let schemes: Vec<&str> = spc["authenticationSchemes"]
        .as_array()
        .expect("schemes")
        .iter()
        .filter_map(|s| s["type"].as_str())
        .collect();
    assert_eq!(schemes, ["oauthbearertoken", "oauth2"]);
    // The per-tenant path takes it too; the static token still works.
    let (s, _) = Idp::new(&format!("{}/tenants/acme/scim/v2", origin(&base)), &token)
        .get("/Users?count=1")
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = Idp::new(&base, TOKEN).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);

    // Credentials in the body (client_secret_post), at the endpoint the client id resolves.
    let (s, _, body) = ask(
        &format!("{}/oauth/token", origin(&base)),
        None,
        FORM,
        &format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}&scope=anything"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "scim", "the scope granted is said");

    // A changed token is not accepted.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (s, body) = Idp::new(&base, &forged).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_malformed_requests_get_their_oauth_errors_before_any_tableau_call() {
    let site = oauth_site(Duration::from_secs(3600));
    let base = site.stack.scim_url();
    let token_url = format!("{}/tenants/acme/oauth/token", origin(&base));
    site.reset_calls();
    let grant = "grant_type=client_credentials";

    let (s, headers, body) = ask(
        &token_url,
        Some(&basic(CLIENT_ID, "wrong-secret-0123456789")),
        FORM,
        grant,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(headers["www-authenticate"], "Basic realm=\"tableau-scim\"");
    assert_eq!(headers["cache-control"], "no-store");
    let (s, _, body) = ask(
        &token_url,
        Some(&basic("someone-else", SECRET)),
        FORM,
        grant,
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, _, body) = ask(
        &token_url,
        Some(&basic(CLIENT_ID, SECRET)),
        FORM,
        "grant_type=password",
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (s, _, body) = ask(
        &token_url,
        Some(&basic(CLIENT_ID, SECRET)),
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let both = format!("{grant}&client_id={CLIENT_ID}&client_secret={SECRET}");
    let (s, _, body) = ask(&token_url, Some(&basic(CLIENT_ID, SECRET)), FORM, &both).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let huge = format!("{grant}&x={}", "a".repeat(16 * 1024));
    let (s, _, body) = ask(&token_url, Some(&basic(CLIENT_ID, SECRET)), FORM, &huge).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (s, _, body) = ask(
        &format!("{}/tenants/other/oauth/token", origin(&base)),
        Some(&basic(CLIENT_ID, SECRET)),
        FORM,
        grant,
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("invalid_request"))
    );
    // The secret is not an access token, nor a bearer token.
    let (s, _) = Idp::new(&base, SECRET).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(site.total_calls(), 0, "no refusal reached Tableau");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refused_and_a_new_one_works() {
    let site = oauth_site(Duration::from_secs(1));
    let base = site.stack.scim_url();
    let token_url = format!("{}/tenants/acme/oauth/token", origin(&base));
    let token = access_token(&token_url).await;
    // Lifetimes are whole seconds: after two, the token is past its expiry whatever the
    // second it was issued in.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, body) = Idp::new(&base, &token).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expired")),
        "{body}"
    );
    let fresh = access_token(&token_url).await;
    let (s, _) = Idp::new(&base, &fresh).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_sharing_a_key_accept_each_others_access_tokens() {
    let digest = TokenDigest::of(SECRET).to_hex();
    let dir = common::tempdir();
    let key_file = dir.path().join("session.key");
    std::fs::write(&key_file, "a-key-the-replicas-share-0123456789abcdef\n")
        .expect("the key is written");
    let r = Replicas::start_with(
        site(),
        2,
        &format!("session_key_file = \"{}\"\n", key_file.display()),
        &format!(
            "[tenants.oauth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret_hashes = [\"{digest}\"]\n"
        ),
    )
    .await;
    let token = access_token(&format!("{}/tenants/acme/oauth/token", origin(&r.bases[0]))).await;
    for base in &r.bases {
        let (s, body) = Idp::new(base, &token).get("/Users?count=1").await;
        assert_eq!(s, StatusCode::OK, "{base}: {body}");
    }
}
