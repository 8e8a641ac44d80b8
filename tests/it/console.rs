//! The admin console over HTTP, as a browser uses it (cookies kept by hand, no redirects
//! followed): sign-in, sessions, CSRF, which tenant an admin token opens, and the pages'
//! figures after an IdP provisioned through SCIM. tests/console/ drives it in Chromium.

use crate::common;

use common::Idp;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::json;

use tableau_scim::emulator;

use crate::console_browser::{
    deployment, deployment_with, Browser, Deployment, ADMIN_A, ADMIN_ALL, SCIM_A,
};

#[tokio::test(flavor = "multi_thread")]
async fn the_console_opens_only_with_an_admin_token_and_only_its_tenants() {
    let d = deployment();
    let mut b = Browser::new(&d);
    for path in [
        "/admin",
        "/admin/tenants/a/access",
        "/admin/tenants/a/audit",
        "/admin/tenants/a/drift",
        "/admin/tenants/a/access.csv",
    ] {
        let p = b.get(path).await;
        assert_eq!(
            (p.status, p.location.as_str()),
            (StatusCode::SEE_OTHER, "/admin/login"),
            "{path}"
        );
    }
    let wrong = b.sign_in("not-a-token-at-all-000000").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("not an admin token"), "{}", wrong.body);
    let scim = b.sign_in(SCIM_A).await;
    assert_eq!(
        scim.status,
        StatusCode::UNAUTHORIZED,
        "a SCIM token does not open the console"
    );
    // An admin token does not open SCIM.
    let idp = Idp::new(
        &format!("http://{}/scim/v2", d.serving.server.addr),
        ADMIN_ALL,
    );
    assert_eq!(idp.read("/Users").await.status, StatusCode::UNAUTHORIZED);
    // A login form posted without its own token (from another site) is refused.
    let forged = b
        .send(Method::POST, "/admin/login", Some(&[("token", ADMIN_A)]))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);

    let ok = b.sign_in(ADMIN_A).await;
    assert_eq!(
        (ok.status, ok.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin")
    );
    let cookie = b
        .cookies
        .get("tableau_scim_session")
        .cloned()
        .unwrap_or_default();
    assert_eq!(cookie.len(), 64, "a random session id");
    let home = b.get("/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.content_type.starts_with("text/html"));
    assert!(home.body.contains("href=\"/admin/tenants/a/access\""));
    assert!(
        !home.body.contains("/admin/tenants/b/"),
        "tenant a's admin sees only tenant a"
    );
    // Another tenant is not found, as one that does not exist: the same answer for both, so
    // which ids exist stays unknown.
    let other = b.get("/admin/tenants/b/access").await;
    let none = b.get("/admin/tenants/zz/access").await;
    assert_eq!(
        (other.status, none.status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(other.body, none.body);
    assert_eq!(
        b.get("/admin/tenants/b/audit.csv").await.status,
        StatusCode::NOT_FOUND
    );
    // A POST without the session's CSRF token is refused, with a form or without one.
    let drift = b.get("/admin/tenants/a/drift").await;
    assert_eq!(
        b.send(
            Method::POST,
            "/admin/tenants/a/drift/run",
            Some(&[("csrf", "forged")])
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.send(Method::POST, "/admin/tenants/a/drift/run", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.send(Method::POST, "/admin/logout", None).await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = Browser::csrf(&drift);
    let run = b
        .send(
            Method::POST,
            "/admin/tenants/a/drift/run",
            Some(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(
        (run.status, run.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/tenants/a/drift")
    );
    let after = b.get("/admin/tenants/a/drift").await;
    assert!(after.body.contains("Last run"), "{}", after.body);
    let out = b
        .send(Method::POST, "/admin/logout", Some(&[("csrf", &csrf)]))
        .await;
    assert_eq!(
        (out.status, out.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/login")
    );
    assert_eq!(
        b.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    // The old session id is dead even if a client kept it.
    b.cookies.insert("tableau_scim_session".into(), cookie);
    assert_eq!(b.get("/admin").await.status, StatusCode::SEE_OTHER);

    let mut all = Browser::new(&d);
    all.sign_in(ADMIN_ALL).await;
    let home = all.get("/admin").await;
    assert!(
        home.body.contains("/admin/tenants/a/access")
            && home.body.contains("/admin/tenants/b/access")
    );
    let page = all.get("/admin/tenants/b/access").await;
    assert_eq!(page.status, StatusCode::OK);
    for h in ["content-security-policy", "x-frame-options"] {
        let resp = all
            .http
            .get(format!("{}/admin/login", all.base))
            .send()
            .await
            .expect("answer");
        assert!(resp.headers().contains_key(h), "{h}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_an_okta_replay_the_pages_show_the_users_their_roles_and_the_trail() {
    let d = deployment();
    let idp = Idp::new(&format!("http://{}/scim/v2", d.serving.server.addr), SCIM_A);
    let mut ids = Vec::new();
    for (name, role) in [
        ("ana@a.example", "Creator"),
        ("ben@a.example", "Explorer"),
        ("cleo@a.example", "Viewer"),
    ] {
        let (s, u) = idp
            .call(Method::POST, "/Users", Some(json!({"userName": name, "name": {"givenName": name, "familyName": "A"}, "roles": [{"value": role}]})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(common::id(&u));
    }
    let (s, _) = idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[2]),
            Some(common::patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut b = Browser::new(&d);
    b.sign_in(ADMIN_A).await;
    let page = b.get("/admin/tenants/a/access?managed=yes").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "<td>ana@a.example</td>",
        "<td>Creator</td>",
        "<td>ben@a.example</td>",
        "<td>Explorer</td>",
        "<td>cleo@a.example</td>",
        "<td>Unlicensed</td>",
        "3 of 4 users",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    let csv = b
        .get("/admin/tenants/a/access.csv?managed=yes&active=yes")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and the two active managed users: {}",
        csv.body
    );
    assert!(
        lines[1].starts_with("ana@a.example,ana@a.example A,Creator,Creator,the IdP,yes,yes"),
        "{}",
        lines[1]
    );
    let audit = b.get("/admin/tenants/a/audit").await;
    let ops: Vec<&str> = audit
        .body
        .split("<tr><td>")
        .skip(1)
        .filter_map(|r| r.split("</td><td").nth(1))
        .filter_map(|c| c.strip_prefix(">"))
        .collect();
    assert_eq!(
        ops,
        vec!["patch_user", "create_user", "create_user", "create_user"],
        "newest first"
    );
    let by_user = b
        .get("/admin/tenants/a/audit.csv?user=cleo%40a.example")
        .await;
    assert_eq!(
        by_user.body.lines().count(),
        3,
        "cleo's two events: {}",
        by_user.body
    );
    let only_patch = b
        .get("/admin/tenants/a/audit.csv?operation=patch_user")
        .await;
    assert_eq!(only_patch.body.lines().count(), 2);
    let home = b.get("/admin").await;
    assert!(home.body.contains("<svg"), "the users-per-role chart");
    // Seats from Query Site: ana and the emulator's administrator hold Creator-tier seats.
    assert!(
        home.body.contains("<span class=\"num\">2</span>") && home.body.contains("no seat limit"),
        "license bars: {}",
        home.body
    );
}

/// `tableau-scim report` as its own process: exit status, standard output.
async fn report(d: &Deployment, args: &[&str]) -> (i32, String) {
    let mut all = vec!["report".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend([
        "--config".into(),
        d.config.display().to_string(),
        "--tenant".into(),
        "a".into(),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(&all)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the command runs")
    })
    .await
    .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn report_prints_the_access_list_and_the_trail_for_scripts() {
    let d = deployment();
    let idp = Idp::new(&format!("http://{}/scim/v2", d.serving.server.addr), SCIM_A);
    let (s, _) = idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ana@a.example", "roles": [{"value": "Creator"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (code, csv) = report(&d, &["access"]).await;
    assert_eq!(code, 0);
    assert!(csv.starts_with(
        "user_name,full_name,site_role,idp_role,role_source,managed,active,last_login,provisioned,groups,id"
    ));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("ana@a.example,,Creator,Creator,the IdP,yes,yes")),
        "{csv}"
    );
    let (code, json) = report(&d, &["access", "--format", "json"]).await;
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(2),
        "ana and the site's administrator"
    );
    let (code, trail) = report(&d, &["audit", "--format", "json", "--since", "2000-01-01"]).await;
    assert_eq!(code, 0);
    let trail: serde_json::Value = serde_json::from_str(&trail).expect("JSON");
    assert_eq!(trail[0]["operation"], "create_user");
    assert_eq!(trail[0]["role_after"], "Creator");
    let (_, later) = report(&d, &["audit", "--since", "2999-01-01"]).await;
    assert_eq!(later.lines().count(), 1, "only the header: {later}");
    assert_eq!(
        report(&d, &["access", "--since", "2026-01-01"]).await.0,
        2,
        "refused, not ignored"
    );
}

/// Sessions are bounded per admin token: one tenant's admin signing in again and again ends
/// only their own oldest sessions, never another admin's (the bound was global: 1,024 sign-ins
/// signed everyone out).
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_admin_signing_in_again_and_again_signs_no_other_admin_out() {
    let d = deployment();
    let mut operator = Browser::new(&d);
    operator.sign_in(ADMIN_ALL).await;
    let mut first = Browser::new(&d);
    first.sign_in(ADMIN_A).await;
    assert_eq!(first.get("/admin").await.status, StatusCode::OK);
    let per_token = tableau_scim::console::SESSIONS_PER_TOKEN;
    let mut last = Browser::new(&d);
    for _ in 0..per_token {
        last = Browser::new(&d);
        last.sign_in(ADMIN_A).await;
    }
    assert_eq!(
        first.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "past {per_token} sessions, the tenant admin's own oldest ended"
    );
    assert_eq!(last.get("/admin").await.status, StatusCode::OK);
    assert_eq!(
        operator.get("/admin/tenants/b/access").await.status,
        StatusCode::OK,
        "the other admin is still signed in"
    );
}

/// Behind a TLS-terminating proxy (`public_url` https, plain HTTP here), the console's cookies
/// are `Secure` and every answer carries HSTS; without https, neither.
#[tokio::test(flavor = "multi_thread")]
async fn behind_an_https_proxy_cookies_are_secure_and_hsts_is_sent() {
    let d = deployment_with("public_url = \"https://scim.example.com\"");
    let mut b = Browser::new(&d);
    let form = b.get("/admin/login").await;
    let signed = b.sign_in(ADMIN_A).await;
    for page in [&form, &signed] {
        let cookies: Vec<&str> = page
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(!cookies.is_empty());
        assert!(
            cookies.iter().all(|c| c.contains("; Secure")),
            "{cookies:?}"
        );
        assert_eq!(
            page.headers
                .get(header::STRICT_TRANSPORT_SECURITY)
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000")
        );
    }
    let r = Client::new()
        .get(format!(
            "http://{}/scim/v2/ServiceProviderConfig",
            d.serving.server.addr
        ))
        .bearer_auth(SCIM_A)
        .send()
        .await
        .expect("an answer");
    assert!(r.headers().contains_key(header::STRICT_TRANSPORT_SECURITY));
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(
        body["meta"]["location"],
        "https://scim.example.com/scim/v2/ServiceProviderConfig"
    );

    let plain = deployment();
    let mut b = Browser::new(&plain);
    let form = b.get("/admin/login").await;
    assert!(!form.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    assert!(form
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .all(|c| !c.contains("Secure")));
}

/// A move a fault stopped shows on the overview, with its next step, progress and the fault,
/// until the IdP's retry finishes it; `/metrics` counts moves finished and stopped.
#[tokio::test(flavor = "multi_thread")]
async fn a_move_under_way_shows_its_step_progress_and_fault() {
    let d = deployment_with("metrics_listen = \"127.0.0.1:0\"");
    let idp = Idp::new(&format!("http://{}/scim/v2", d.serving.server.addr), SCIM_A);
    let (s, u) = idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ana@a.example", "roles": [{"value": "Creator"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let ana = common::id(&u);
    d._a.with_state(|s| {
        for i in 0..4 {
            s.seed_item(
                "ana@a.example",
                tableau_scim::tableau::content::ContentKind::Workbook,
                &format!("Book {i}"),
                None,
            );
        }
        // Add User, Get Groups for User, four listings and two owner changes pass; then
        // Tableau is down longer than the retries last.
        let mut script = vec![emulator::Fault::Ok; 8];
        script.extend(std::iter::repeat_n(emulator::Fault::Unavailable, 40));
        s.faults = emulator::Faults {
            script: script.into(),
            ..emulator::Faults::default()
        };
    });
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": "ana.new@a.example"}]});
    let (s, _) = idp
        .call(
            Method::PATCH,
            &format!("/Users/{ana}"),
            Some(rename.clone()),
        )
        .await;
    assert!(s.is_server_error(), "{s}");
    let mut b = Browser::new(&d);
    b.sign_in(ADMIN_A).await;
    let home = b.get("/admin").await;
    for needle in [
        "<td>ana@a.example</td><td>ana.new@a.example</td><td>content</td>",
        "handed over",
        "503",
    ] {
        assert!(home.body.contains(needle), "{needle}: {}", home.body);
    }
    d._a.with_state(|s| s.faults = emulator::Faults::default());
    let (s, u) = idp
        .call(Method::PATCH, &format!("/Users/{ana}"), Some(rename))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let home = b.get("/admin").await;
    assert!(
        home.body
            .contains("None: every userName change has finished."),
        "{}",
        home.body
    );
    let metrics_addr = d
        .serving
        .metrics
        .as_ref()
        .map(|m| m.addr)
        .expect("a metrics listener");
    let metrics = Client::new()
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for needle in [
        "tableau_scim_moves_done{tenant=\"a\"} 1",
        "tableau_scim_move_faults{tenant=\"a\"} 1",
        "tableau_scim_moves_running{tenant=\"a\"} 0",
    ] {
        assert!(metrics.contains(needle), "{needle}: {metrics}");
    }
}

/// The breaker's holds in the console: what is held and its impact, the release button (CSRF
/// checked), audited with the admin who pressed it.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_breaker_is_shown_with_its_impact_and_released_from_the_console() {
    let d = deployment();
    let idp = Idp::new(&format!("http://{}/scim/v2", d.serving.server.addr), SCIM_A);
    let mut ids = Vec::new();
    for i in 0..25 {
        let (s, u) = idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("leaver{i:02}@a.example")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(common::id(&u));
    }
    // The default breaker: 20 destructive changes an hour at a small site.
    let mut held = 0;
    for uid in &ids {
        let (s, _) = idp
            .call(
                Method::PATCH,
                &format!("/Users/{uid}"),
                Some(common::patch(
                    json!([{"op": "replace", "value": {"active": false}}]),
                )),
            )
            .await;
        held += usize::from(s == StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(held, 5);
    let mut b = Browser::new(&d);
    b.sign_in(ADMIN_A).await;
    let page = b.get("/admin/tenants/a/holds").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "The breaker is open: 5 changes are held.",
        "<span>Viewer seats freed</span> <strong>5</strong>",
        "deactivate &#39;leaver24@a.example&#39; (Viewer)",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    let forged = b
        .send(
            Method::POST,
            "/admin/tenants/a/holds/release",
            Some(&[("csrf", "forged")]),
        )
        .await;
    assert_ne!(
        forged.status,
        StatusCode::SEE_OTHER,
        "a forged form decides nothing"
    );
    let csrf = Browser::csrf(&page);
    let done = b
        .send(
            Method::POST,
            "/admin/tenants/a/holds/release",
            Some(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.get("/admin/tenants/a/holds").await;
    assert!(page.body.contains("The breaker is closed"), "{}", page.body);
    assert!(page.body.contains("console admin token"), "{}", page.body);
    let unlicensed =
        d._a.with_state(|s| {
            (0..25)
                .filter(|i| {
                    s.role_of(&format!("leaver{i:02}@a.example")).as_deref() == Some("Unlicensed")
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(unlicensed, 25);
}
