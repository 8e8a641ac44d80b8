//! Tableau's own responses, as tableauserverclient (TSC) recorded them in its source
//! distribution (`test/assets/`), fetched like any test dependency and never copied here:
//!
//! - the client, unchanged, reads every user, group, site, server-info, sign-in and error
//!   response it handles from a server that answers with those recordings, and the fields we
//!   rely on come out right;
//! - for the same calls, the emulator's answers carry every element and attribute the
//!   recordings carry (shapes, not values), bar a short list of named exceptions.
//!
//! The assets are found at `$TABLEAU_RECORDED_RESPONSES` (`.ci/run` sets it), or downloaded
//! once into `target/` with `pip download`.

use crate::common;

use tableau_scim::tableau::auth_config::AuthConfiguration;
use tableau_scim::tableau::content::{ContentItem, ContentKind};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::tableau::*;
use reqwest::Method;
use tableau_scim::emulator::{Capacity, EmulatorConfig};
use tableau_scim::tableau::model::{NewUser, UserUpdate};
use tableau_scim::tableau::xml::{self, Element};
use tableau_scim::tableau::{ClientConfig, NameMatch, SiteRole, TableauClient, TableauError};

const TSC_VERSION: &str = "0.42";

/// The directory of TSC's recorded responses, found or fetched once per test binary.
fn assets() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(find_or_fetch).clone()
}

fn find_or_fetch() -> PathBuf {
    if let Ok(dir) = std::env::var("TABLEAU_RECORDED_RESPONSES") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/recorded-responses");
    let dir = root.join(format!("tableauserverclient-{TSC_VERSION}/test/assets"));
    if dir.is_dir() {
        return dir;
    }
    let _ = std::fs::create_dir_all(&root);
    let spec = format!("tableauserverclient=={TSC_VERSION}");
    let downloaded = ["python3", "python"].iter().any(|py| {
        Command::new(py)
            .args([
                "-m",
                "pip",
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
            ])
            .arg(&root)
            .arg(&spec)
            .status()
            .is_ok_and(|s| s.success())
    });
    let archive = root.join(format!("tableauserverclient-{TSC_VERSION}.tar.gz"));
    let unpacked = downloaded
        && Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        unpacked && dir.is_dir(),
        "TSC's recorded responses are needed: set TABLEAU_RECORDED_RESPONSES to the test/assets directory of `pip download --no-binary :all: --no-deps {spec}`, or let this test run pip"
    );
    dir
}

fn asset(name: &str) -> String {
    let path = assets().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `"GET /sites/{id}/users"`: the method and the path after `/api/{ver}`, ids replaced.
fn route_key(method: &str, path: &str) -> String {
    let after_version = path
        .strip_prefix("/api/")
        .and_then(|p| p.split_once('/'))
        .map_or(path, |(_, rest)| rest);
    let segments: Vec<&str> = after_version
        .split('/')
        .map(|s| {
            if s.len() == 36 && s.contains('-') {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} /{}", segments.join("/"))
}

/// A server that answers each route with a recorded response.
struct Replay {
    url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Replay {
    fn start(routes: &[(&str, u16, &str)]) -> Replay {
        let table: BTreeMap<String, (u16, String)> = routes
            .iter()
            .map(|(key, status, file)| (key.to_string(), (*status, asset(file))))
            .collect();
        let table = web::Data::new(table);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(table.clone())
                .default_service(web::to(answer))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("a port");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Replay {
            url: format!("http://{addr}"),
            handle,
        }
    }

    fn client(&self, version: Option<&str>) -> TableauClient {
        let mut cfg = ClientConfig::new(&self.url, "Samples", pat());
        cfg.api_version = version.map(str::to_string);
        cfg.retry = five_attempts();
        cfg.request_timeout = Duration::from_secs(5);
        TableauClient::new(cfg).expect("a client")
    }
}

async fn answer(
    req: HttpRequest,
    table: web::Data<BTreeMap<String, (u16, String)>>,
) -> HttpResponse {
    let key = route_key(req.method().as_str(), req.path());
    match table.get(&key) {
        Some((status, body)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(*status).unwrap_or_default())
                .content_type("application/xml;charset=utf-8")
                .body(body.clone())
        }
        None => HttpResponse::NotImplemented().body(format!("no recording for {key}")),
    }
}

const SIGN_IN: (&str, u16, &str) = ("POST /auth/signin", 200, "auth_sign_in.xml");

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_tableaus_recorded_sign_in_server_info_and_site() {
    let r = Replay::start(&[
        SIGN_IN,
        ("GET /serverinfo", 200, "server_info_get.xml"),
        ("GET /sites/{id}", 200, "site_get_by_id.xml"),
    ]);
    let c = r.client(None);
    assert_eq!(ok(c.api_version().await).to_string(), "3.10", "discovered");
    let info = ok(c.server_info().await);
    assert_eq!(info.product_version, "10.1.0");
    let s = ok(c.session().await);
    assert_eq!(
        (s.site_id.as_str(), s.user_id.as_str()),
        (
            "6b7179ba-b82b-4f0f-91ed-812074ac5da6",
            "1a96d216-e9b8-497b-a82a-0b899a965e01"
        )
    );
    let site = ok(c.site_info().await);
    assert_eq!(
        (
            site.id.as_str(),
            site.tier_creator_capacity,
            site.tier_explorer_capacity,
            site.tier_viewer_capacity
        ),
        (
            "0626857c-1def-4503-a7d8-7907c3ff9d9f",
            Some(2),
            Some(1),
            Some(1)
        )
    );
    r.handle.stop(false).await;

    // Tableau Cloud's authentication configurations, REST 3.24 (TSC `list_auth_configurations`).
    let cloud = Replay::start(&[
        SIGN_IN,
        (
            "GET /sites/{id}/site-auth-configurations",
            200,
            "site_auth_configurations.xml",
        ),
    ]);
    let configs = ok(cloud.client(Some("3.24")).auth_configurations().await).unwrap_or_default();
    let seen: Vec<(&str, &str, bool)> = configs
        .iter()
        .map(|c| (c.auth_setting.as_str(), c.id.as_str(), c.enabled))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("OIDC", "00000000-0000-0000-0000-000000000000", true),
            ("SAML", "11111111-1111-1111-1111-111111111111", true)
        ]
    );
    assert_eq!(configs[1].name, "Initial SAML");
    assert_eq!(
        ok(cloud.client(Some("3.23")).auth_configurations().await),
        None,
        "no such call before 3.24"
    );
    cloud.handle.stop(false).await;

    let refused = Replay::start(&[
        ("POST /auth/signin", 401, "auth_sign_in_error.xml"),
        ("GET /serverinfo", 404, "server_info_404.xml"),
    ]);
    let c = refused.client(Some("3.24"));
    let err = c.sign_in().await;
    assert!(
        matches!(&err, Err(TableauError::SignIn(m)) if m.contains("401001")),
        "{err:?}"
    );
    assert_eq!(code_of(c.server_info().await).as_deref(), Some("404003"));
    refused.handle.stop(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_tableaus_recorded_users() {
    let r = Replay::start(&[
        SIGN_IN,
        ("GET /sites/{id}/users", 200, "user_get.xml"),
        ("GET /sites/{id}/users/{id}", 200, "user_get_by_id.xml"),
        ("POST /sites/{id}/users", 201, "user_add.xml"),
        ("PUT /sites/{id}/users/{id}", 200, "user_update.xml"),
        (
            "GET /sites/{id}/users/{id}/groups",
            200,
            "user_populate_groups.xml",
        ),
    ]);
    let c = r.client(Some("3.24"));
    let users = ok(c.all_users().await);
    let seen: Vec<_> = users
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.site_role.as_str(),
                u.full_name.as_deref(),
                u.email.as_deref(),
                u.last_login.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "alice",
                "Publisher",
                Some("alice cook"),
                Some("alicecook@test.com"),
                Some("2016-08-16T23:17:06Z")
            ),
            (
                "Bob",
                "Interactor",
                Some("Bob Smith"),
                Some("bob@test.com"),
                None
            ),
        ]
    );
    let one = ok(c.get_user("dd2239f6-ddf1-4107-981a-4cf94e415794").await);
    assert_eq!(
        one.map(|u| (u.full_name, u.auth_setting, u.domain)),
        Some((
            Some("Alice".into()),
            Some("ServerDefault".into()),
            Some("local".into())
        ))
    );
    let added = ok(c
        .add_user(&NewUser {
            name: "Cassie".into(),
            site_role: SiteRole::Viewer,
            auth_setting: None,
            idp_configuration_id: None,
            email: None,
        })
        .await);
    assert_eq!(
        (
            added.id.as_str(),
            added.name.as_str(),
            added.role(),
            added.auth_setting.as_deref()
        ),
        (
            "4cc4c17f-898a-4de4-abed-a1681c673ced",
            "Cassie",
            Some(SiteRole::Viewer),
            Some("ServerDefault")
        )
    );
    let updated = ok(c
        .update_user(
            &added.id,
            &UserUpdate {
                full_name: Some("Cassie".into()),
                ..UserUpdate::default()
            },
        )
        .await);
    assert_eq!(
        (
            updated.id.as_str(),
            updated.full_name.as_deref(),
            updated.email.as_deref()
        ),
        (
            "4cc4c17f-898a-4de4-abed-a1681c673ced",
            Some("Cassie"),
            Some("cassie@email.com")
        ),
        "Update User's answer has no id: the client keeps it"
    );
    let groups = ok(c.groups_of_user(&added.id).await);
    assert_eq!(groups.len(), 3);
    assert!(groups[0].is_all_users());
    r.handle.stop(false).await;

    // Tableau Cloud's answer to fields=_all_ (API 3.25), namespace prefixes and all.
    let cloud = Replay::start(&[
        SIGN_IN,
        ("GET /sites/{id}/users", 200, "user_get_all_fields.xml"),
    ]);
    let c = cloud.client(Some("3.25"));
    let bob = ok(c
        .find_user_by_name("bob@example.com", NameMatch::Exact)
        .await);
    assert_eq!(
        bob.map(|u| (u.idp_configuration_id, u.domain, u.auth_setting)),
        Some((
            Some("22222222-2222-2222-2222-222222222222".into()),
            Some("TABID_WITH_MFA".into()),
            Some("TableauIDWithMFA".into())
        ))
    );
    cloud.handle.stop(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_tableaus_recorded_groups_and_members() {
    let r = Replay::start(&[
        SIGN_IN,
        ("GET /sites/{id}/groups", 200, "group_get_all_fields.xml"),
        ("POST /sites/{id}/groups", 201, "group_create.xml"),
        ("PUT /sites/{id}/groups/{id}", 200, "group_update.xml"),
        (
            "GET /sites/{id}/groups/{id}/users",
            200,
            "group_populate_users.xml",
        ),
        (
            "POST /sites/{id}/groups/{id}/users",
            200,
            "group_add_users.xml",
        ),
    ]);
    let c = r.client(Some("3.24"));
    let groups = ok(c.all_groups().await);
    let counts: Vec<_> = groups
        .iter()
        .map(|g| (g.name.as_str(), g.user_count, g.is_all_users()))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("All Users", Some(2), true),
            ("group1", Some(1), false),
            ("test", Some(0), false)
        ]
    );
    let created = ok(c
        .create_group("試供品", Some(SiteRole::ExplorerCanPublish))
        .await);
    assert_eq!(
        (
            created.id.as_str(),
            created.name.as_str(),
            created.minimum_site_role.as_deref()
        ),
        (
            "3e4a9ea0-a07a-4fe6-b50f-c345c8c81034",
            "試供品",
            Some("ExplorerCanPublish")
        )
    );
    let renamed = ok(c
        .update_group(&created.id, "Group updated name", None)
        .await);
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.minimum_site_role.as_deref(),
            renamed.domain.as_deref()
        ),
        (
            "Group updated name",
            Some("ExplorerCanPublish"),
            Some("local")
        )
    );
    let members = ok(c.group_members(&created.id).await);
    assert_eq!(
        members.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["alice"]
    );
    ok(c.add_members(
        &created.id,
        &["5de011f8-5aa9-4d5b-b991-f462c8dd6bb7".to_string()],
    )
    .await);
    r.handle.stop(false).await;

    // A recorded listing that claims one member and carries none ends, not loops.
    let empty = Replay::start(&[
        SIGN_IN,
        (
            "GET /sites/{id}/groups/{id}/users",
            200,
            "group_populate_users_empty.xml",
        ),
        (
            "POST /sites/{id}/groups/{id}/users",
            200,
            "group_add_user.xml",
        ),
    ]);
    let c = empty.client(Some("3.20"));
    assert!(ok(c
        .group_members("e7833b48-c6f7-47b5-a2a7-36e7dd232758")
        .await)
    .is_empty());
    ok(c.add_members(
        "e7833b48-c6f7-47b5-a2a7-36e7dd232758",
        &["5de011f8-5aa9-4d5b-b991-f462c8dd6bb7".to_string()],
    )
    .await);
    empty.handle.stop(false).await;
}

// ---- shape parity ----

/// The owner whose content the recordings hold: Safari's workbook
/// (`user_populate_workbooks.xml`) and both data sources (`datasource_get.xml`); none of the
/// recorded flows or projects.
const RECORDED_OWNER: &str = "5de011f8-5aa9-4d5b-b991-f462c8dd6bb7";
/// The owner every recorded Update answer names, but the flow's.
const RECORDED_NEW_OWNER: &str = "dd2239f6-ddf1-4107-981a-4cf94e415794";

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_tableaus_recorded_content_and_owner_changes() {
    // TSC implements no Query Flows for User; its flows listing has the same shape.
    let r = Replay::start(&[
        SIGN_IN,
        (
            "GET /sites/{id}/users/{id}/workbooks",
            200,
            "user_populate_workbooks.xml",
        ),
        ("GET /sites/{id}/users/{id}/flows", 200, "flow_get.xml"),
        ("GET /sites/{id}/datasources", 200, "datasource_get.xml"),
        ("GET /sites/{id}/projects", 200, "project_get.xml"),
        ("PUT /sites/{id}/workbooks/{id}", 200, "workbook_update.xml"),
        (
            "PUT /sites/{id}/datasources/{id}",
            200,
            "datasource_update.xml",
        ),
        ("PUT /sites/{id}/flows/{id}", 200, "flow_update.xml"),
        ("PUT /sites/{id}/projects/{id}", 200, "project_update.xml"),
    ]);
    let c = r.client(Some("3.24"));
    let owned = ok(c.owned_content(RECORDED_OWNER).await);
    let seen: Vec<_> = owned
        .iter()
        .map(|i| (i.kind, i.name.as_str(), i.project_id.as_deref()))
        .collect();
    let default = Some("ee8c6e70-43b6-11e6-af4f-f7b0d8e20760");
    assert_eq!(
        seen,
        vec![
            (ContentKind::Datasource, "SampleDS", default),
            (ContentKind::Datasource, "Sample datasource", default),
            (ContentKind::Workbook, "SafariSample", default),
        ],
        "data sources before workbooks; the recorded flows and projects are others'"
    );
    let projects = ok(c
        .owned_of_kind(ContentKind::Project, RECORDED_NEW_OWNER)
        .await);
    let parents: Vec<_> = projects
        .iter()
        .map(|p| (p.name.as_str(), p.project_id.as_deref()))
        .collect();
    assert_eq!(
        parents,
        vec![
            ("default", None),
            (
                "Tableau > Child 1",
                Some("1d0304cd-3796-429f-b815-7258370b9b74")
            )
        ]
    );
    // Each recorded Update answer names its new owner: read back, it is the change made.
    for item in &owned {
        let changed = ok(c.change_owner(item, RECORDED_NEW_OWNER).await);
        assert_eq!(changed.owner_id, RECORDED_NEW_OWNER, "{item:?}");
    }
    let moved = ok(c.change_owner(&projects[1], RECORDED_NEW_OWNER).await);
    assert_eq!(moved.kind, ContentKind::Project);
    // An answer naming someone else is never taken as done.
    let flow = ContentItem {
        kind: ContentKind::Flow,
        id: "587daa37-b84d-4400-a9a2-aa90e0be7837".into(),
        name: "FlowOne".into(),
        owner_id: RECORDED_OWNER.into(),
        project_id: None,
    };
    let refused = c.change_owner(&flow, RECORDED_NEW_OWNER).await;
    assert!(
        matches!(&refused, Err(TableauError::Protocol(m)) if m.contains("7ebb3f20")),
        "{refused:?}"
    );
    r.handle.stop(false).await;
}

/// Every element and attribute of a document, as paths from the root: `"users/user@name"`.
/// Namespaces and schema attributes are left out; values are not compared.
fn shape(text: &str) -> BTreeSet<String> {
    fn walk(e: &Element, at: &str, out: &mut BTreeSet<String>) {
        let here = if at.is_empty() {
            e.name.clone()
        } else {
            format!("{at}/{}", e.name)
        };
        out.insert(here.clone());
        for (k, _) in &e.attrs {
            if !k.starts_with("xmlns") && !k.starts_with("xsi:") {
                out.insert(format!("{here}@{k}"));
            }
        }
        for c in &e.children {
            walk(c, &here, out);
        }
    }
    let mut out = BTreeSet::new();
    match xml::parse(text) {
        Ok(root) => walk(&root, "", &mut out),
        Err(e) => panic!("not XML ({e}): {text}"),
    }
    out
}

/// What a recording carries that the emulator's answer may lack, and why.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "@lastLogin",
        "only users who have signed in to Tableau have it; the emulator's never have",
    ),
    (
        "tsResponse/site@numUsers",
        "API 2.3 put usage on <site>; tableauserverclient reads it from <usage> (SiteItem), the XSD's siteType",
    ),
    ("tsResponse/site@storage", "as numUsers"),
    (
        "tsResponse/group@siteRole",
        "API 2.3's Create Group answer; from 3.x the role is minimumSiteRole and <import siteRole>",
    ),
    ("tsResponse/group@grantLicenseMode", "as group@siteRole"),
];

fn excused(path: &str) -> bool {
    EXCEPTIONS
        .iter()
        .any(|(p, _)| path == *p || (p.starts_with('@') && path.ends_with(p)))
        || content_detail(path)
}

/// What describes a workbook, data source, flow or project itself (size, dates, tags,
/// extracts, certification, web page, permissions mode, acceleration) rather than who owns it
/// and where it lives: an owner change reads and writes none of it, and the emulator models
/// only `id`, `name`, `contentUrl`, `parentProjectId`, `<project id name>` and `<owner id>`.
fn content_detail(path: &str) -> bool {
    const KINDS: [&str; 4] = ["workbook", "datasource", "flow", "project"];
    const MODELLED: [&str; 4] = ["@id", "@name", "@contentUrl", "@parentProjectId"];
    let rest = path.strip_prefix("tsResponse/").unwrap_or(path);
    let rest = KINDS
        .iter()
        .find_map(|k| rest.strip_prefix(&format!("{k}s/")))
        .unwrap_or(rest);
    let Some((kind, tail)) = KINDS
        .iter()
        .find_map(|k| rest.strip_prefix(k).map(|t| (k, t)))
    else {
        return false;
    };
    let modelled = MODELLED.contains(&tail)
        || tail.is_empty()
        || (*kind != "project" && ["/project", "/project@id", "/project@name"].contains(&tail))
        || ["/owner", "/owner@id"].contains(&tail);
    !modelled
}

fn assert_covers(recording: &str, emulated: &str) {
    let want = shape(&asset(recording));
    let have = shape(emulated);
    let missing: Vec<&String> = want
        .iter()
        .filter(|p| !have.contains(*p) && !excused(p))
        .collect();
    assert!(
        missing.is_empty(),
        "{recording}: the emulator's answer lacks {missing:?}\nemulator: {emulated}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_answers_in_tableaus_recorded_shapes() {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.api_version = "3.25".into();
    // The identity-provider configuration the recorded user has.
    cfg.auth_configurations = vec![AuthConfiguration {
        auth_setting: "SAML".into(),
        enabled: true,
        id: "22222222-2222-2222-2222-222222222222".into(),
        name: "Initial SAML".into(),
        known_provider_alias: Some("Salesforce".into()),
    }];
    // A site with seats per tier shows its capacities, as the recording's does.
    cfg.capacity = Capacity {
        creator: Some(10),
        explorer: Some(10),
        viewer: Some(10),
    };
    let e = start(cfg);
    let (member, group) = e
        .with_state(|s| {
            let u = s.add_user(
                "ann@example.com",
                SiteRole::Explorer,
                None,
                Some("22222222-2222-2222-2222-222222222222".into()),
                Some("ann@example.com".into()),
            );
            let g = s.create_group("Sales", None);
            (
                u.map(|u| u.id.to_string()).unwrap_or_default(),
                g.map(|g| g.id).unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let raw = Raw::sign_in(&e, "3.25").await;
    assert_covers("auth_sign_in.xml", &raw.signed_in);
    let get = |path: String| {
        let raw = &raw;
        async move { raw.send(Method::GET, &path, "").await.2 }
    };
    let server_info = ok(
        ok(raw.http.get(format!("{}/serverinfo", raw.api)).send().await)
            .text()
            .await,
    );
    assert_covers("server_info_get.xml", &server_info);
    let (_, _, named) = raw
        .send(
            Method::PUT,
            &format!("/users/{member}"),
            r#"<tsRequest><user fullName="Ann Lee" email="ann@example.com" siteRole="Explorer"/></tsRequest>"#,
        )
        .await;
    assert_covers("user_update.xml", &named);
    let users = get("/users".into()).await;
    assert_covers("user_get.xml", &users);
    assert_covers(
        "site_auth_configurations.xml",
        &get("/site-auth-configurations".into()).await,
    );
    assert_covers(
        "user_get_all_fields.xml",
        &get("/users?fields=_all_".into()).await,
    );
    assert_covers("user_get_by_id.xml", &get(format!("/users/{member}")).await);
    assert_covers(
        "user_populate_groups.xml",
        &get(format!("/users/{member}/groups")).await,
    );
    assert_covers("group_get_all_fields.xml", &get("/groups".into()).await);
    assert_covers("group_get.xml", &get("/groups".into()).await);
    let (_, _, added) = raw
        .send(
            Method::POST,
            "/users",
            r#"<tsRequest><user name="cassie@example.com" siteRole="Viewer" authSetting="ServerDefault"/></tsRequest>"#,
        )
        .await;
    assert_covers("user_add.xml", &added);
    let (_, _, one) = raw
        .send(
            Method::POST,
            &format!("/groups/{group}/users"),
            &format!(r#"<tsRequest><user id="{member}"/></tsRequest>"#),
        )
        .await;
    assert_covers("group_add_user.xml", &one);
    assert_covers(
        "group_populate_users.xml",
        &get(format!("/groups/{group}/users")).await,
    );
    let (_, _, bulk) = raw
        .send(
            Method::POST,
            &format!("/groups/{group}/users"),
            &format!(r#"<tsRequest><users><user id="{member}"/></users></tsRequest>"#),
        )
        .await;
    // TSC's `test_add_users` answers a bulk add with `group_add_users.xml`: the users, no
    // `<pagination>` (`group_users_added.xml` is the member listing its `test_add_user` reads).
    assert_covers("group_add_users.xml", &bulk);
    assert!(
        !bulk.contains("<pagination"),
        "a bulk add is not paginated: {bulk}"
    );
    let (_, _, created) = raw
        .send(
            Method::POST,
            "/groups",
            r#"<tsRequest><group name="Finance" minimumSiteRole="Explorer"/></tsRequest>"#,
        )
        .await;
    assert_covers("group_create.xml", &created);
    let (_, _, updated) = raw
        .send(
            Method::PUT,
            &format!("/groups/{group}"),
            r#"<tsRequest><group name="Sales EMEA" minimumSiteRole="Explorer"/></tsRequest>"#,
        )
        .await;
    assert_covers("group_update.xml", &updated);
    assert_covers(
        "site_get_by_id.xml",
        &get("?includeUsageStatistics=true".into()).await,
    );

    let refused = ok(ok(raw
        .http
        .post(format!("{}/auth/signin", raw.api))
        .body(r#"<tsRequest><credentials personalAccessTokenName="x" personalAccessTokenSecret="y"><site contentUrl="acme"/></credentials></tsRequest>"#)
        .send()
        .await)
    .text()
    .await);
    assert_covers("auth_sign_in_error.xml", &refused);
    let unknown_version = ok(ok(raw
        .http
        .get(format!("{}/api/9.99/serverinfo", e.url()))
        .send()
        .await)
    .text()
    .await);
    assert_covers("server_info_404.xml", &unknown_version);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_answers_content_in_tableaus_recorded_shapes() {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.api_version = "3.25".into();
    let e = start(cfg);
    let (owner, items) = e
        .with_state(|s| {
            let owner = s.add_user("ann@example.com", SiteRole::Creator, None, None, None);
            let items: Vec<ContentItem> = ContentKind::ALL
                .into_iter()
                .filter_map(|k| {
                    s.seed_item("ann@example.com", k, &format!("Ann's {k}"), Some("Finance"))
                })
                .collect();
            (owner.map(|u| u.id.to_string()).unwrap_or_default(), items)
        })
        .unwrap_or_default();
    let raw = Raw::sign_in(&e, "3.25").await;
    let get = |path: String| {
        let raw = &raw;
        async move { raw.send(Method::GET, &path, "").await.2 }
    };
    assert_covers(
        "user_populate_workbooks.xml",
        &get(format!("/users/{owner}/workbooks?ownedBy=true")).await,
    );
    assert_covers(
        "flow_get.xml",
        &get(format!("/users/{owner}/flows?isOwner=true")).await,
    );
    assert_covers("datasource_get.xml", &get("/datasources".into()).await);
    assert_covers("project_get.xml", &get("/projects".into()).await);
    for item in &items {
        let (_, _, answer) = raw
            .send(
                Method::PUT,
                &format!("/{}/{}", item.kind.plural(), item.id),
                &format!(
                    r#"<tsRequest><{k}><owner id="{owner}"/></{k}></tsRequest>"#,
                    k = item.kind.element()
                ),
            )
            .await;
        assert_covers(&format!("{}_update.xml", item.kind.element()), &answer);
    }
}

#[test]
fn shapes_are_paths_of_elements_and_attributes() {
    let s = shape(
        r#"<tsResponse xmlns="http://tableau.com/api"><users><user id="1" name="a"><domain name="local"/></user></users></tsResponse>"#,
    );
    let want: BTreeSet<String> = [
        "tsResponse",
        "tsResponse/users",
        "tsResponse/users/user",
        "tsResponse/users/user@id",
        "tsResponse/users/user@name",
        "tsResponse/users/user/domain",
        "tsResponse/users/user/domain@name",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(s, want);
    assert!(excused("tsResponse/users/user@lastLogin"));
    assert!(!excused("tsResponse/users/user@fullName"));
}
