//! The bad-input corpus (`tests/it/corpus/bad_requests.json`) against the real bridge stack: every
//! entry gets its 4xx SCIM error, none a 5xx, and none makes a Tableau call. Huge strings and
//! arrays are generated here rather than stored.

use crate::common;

use base64::Engine;
use common::Site;
use reqwest::Method;
use serde_json::{json, Value};
use tableau_scim::emulator::EmulatorConfig;

const TOKEN: &str = "bad-input-corpus-token";

struct Case {
    name: String,
    method: Method,
    url: String,
    body: Option<Vec<u8>>,
    content_type: String,
    token: String,
    status: u16,
    scim_type: Option<String>,
}

fn corpus(base: &str, origin: &str) -> Vec<Case> {
    let text = include_str!("corpus/bad_requests.json");
    let entries: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    assert!(entries.len() > 50, "the corpus loads");
    let mut out: Vec<Case> = entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            let path = s("path");
            let body = if let Some(b) = e["body"].as_str() {
                Some(b.as_bytes().to_vec())
            } else {
                e["body_b64"]
                    .as_str()
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            };
            Case {
                name: s("name"),
                method: Method::from_bytes(s("method").as_bytes()).unwrap_or(Method::GET),
                url: if e["absolute"] == true {
                    format!("{origin}{path}")
                } else {
                    format!("{base}{path}")
                },
                body,
                content_type: s("content_type"),
                token: s("token"),
                status: u16::try_from(e["status"].as_u64().unwrap_or(0)).unwrap_or(0),
                scim_type: e["scim_type"].as_str().map(str::to_string),
            }
        })
        .collect();
    let huge = |name: &str, body: Value, status: u16, scim_type: Option<&str>| Case {
        name: name.into(),
        method: Method::POST,
        url: format!("{base}/Users"),
        body: Some(body.to_string().into_bytes()),
        content_type: "application/scim+json".into(),
        token: "valid".into(),
        status,
        scim_type: scim_type.map(str::to_string),
    };
    out.push(huge(
        "huge string",
        json!({"userName": "x".repeat(2 * 1024 * 1024)}),
        413,
        None,
    ));
    out.push(huge(
        "huge array",
        json!({"userName": "a@b.c", "emails": vec![json!({"value": "e@x.com"}); 200_000]}),
        413,
        None,
    ));
    // A hostile tenant's requests inside the body limit (SECURITY.md, the bounds of
    // scim/bounds.rs): refused with the bound named, before any work that grows with them.
    let emails: Vec<Value> = (0..20_000)
        .map(|i| json!({"value": format!("e{i}@x.io")}))
        .collect();
    out.push(huge(
        "20,000 distinct emails",
        json!({"userName": "a@b.c", "emails": emails}),
        400,
        Some("invalidValue"),
    ));
    out.push(huge(
        "a 900 KB title",
        json!({"userName": "a@b.c", "title": "t".repeat(900 * 1024)}),
        400,
        Some("invalidValue"),
    ));
    out.push(Case {
        url: format!("{base}/Users/.search"),
        ..huge(
            "40,000 paths in attributes",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "attributes": vec!["userName"; 40_000]}),
            400,
            Some("invalidValue"),
        )
    });
    let ops: Vec<Value> = (0..1_001)
        .map(|i| json!({"op": "add", "path": "nickName", "value": format!("n{i}")}))
        .collect();
    out.push(Case {
        method: Method::PATCH,
        url: format!("{base}/Users/6b7179ba-b82b-4f0f-91ed-812074ac5da6"),
        ..huge(
            "1,001 PATCH operations",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
            400,
            Some("invalidValue"),
        )
    });
    // Names Tableau cannot hold (docs/tableau-fidelity.md, "limits"), refused before any call.
    for (name, body, url) in [
        (
            "NUL in userName",
            json!({"userName": "ann\u{0}@example.com"}),
            "/Users",
        ),
        (
            "10,000-character userName",
            json!({"userName": "a".repeat(10_000)}),
            "/Users",
        ),
        (
            "semicolon in userName",
            json!({"userName": "ann;bob@example.com"}),
            "/Users",
        ),
        (
            "control character in displayName",
            json!({"userName": "ann@example.com", "displayName": "Ann\u{1b}[31m"}),
            "/Users",
        ),
        (
            "newline in name.givenName",
            json!({"userName": "ann@example.com", "name": {"givenName": "A\nB"}}),
            "/Users",
        ),
        (
            "300-character email",
            json!({"userName": "ann@example.com", "emails": [{"value": format!("{}@x.io", "e".repeat(295))}]}),
            "/Users",
        ),
        (
            "NUL in group displayName",
            json!({"displayName": "Fin\u{0}ance"}),
            "/Groups",
        ),
        (
            "256-character group displayName",
            json!({"displayName": "g".repeat(256)}),
            "/Groups",
        ),
        (
            "member id that is no LUID",
            json!({"displayName": "Finance", "members": [{"value": "bob"}]}),
            "/Groups",
        ),
    ] {
        out.push(Case {
            url: format!("{base}{url}"),
            ..huge(name, body, 400, Some("invalidValue"))
        });
    }
    // Ids that cannot be Tableau LUIDs name nothing: 404 without asking Tableau.
    for (method, path) in [
        (Method::GET, "/Users/not-a-luid"),
        (Method::GET, "/Groups/not-a-luid"),
        (Method::DELETE, "/Users/6b7179ba-b82b-4f0f-91ed"),
        (Method::DELETE, "/Groups/..%2F..%2Fsites"),
        (Method::PUT, "/Users/x"),
    ] {
        let body =
            (method == Method::PUT).then(|| json!({"userName": "a@b.c"}).to_string().into_bytes());
        out.push(Case {
            name: format!("{method} {path}"),
            method,
            url: format!("{base}{path}"),
            body,
            content_type: "application/scim+json".into(),
            token: "valid".into(),
            status: 404,
            scim_type: None,
        });
    }
    out.push(huge(
        "many members",
        json!({"displayName": "G", "members": vec![json!({"value": "x", "type": "Group"}); 5_000]}),
        400,
        Some("invalidValue"),
    ));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_request_is_a_4xx_scim_error_and_no_tableau_call() {
    let site = Site::start(EmulatorConfig::new("acme", "pat", "secret"), TOKEN, |_| {});
    let base = site.stack.scim_url();
    let origin = format!("http://{}", site.stack.serving.server.addr);
    let cases = corpus(&base, &origin);
    let mut failures = Vec::new();
    for c in &cases {
        let (idp, token) = match c.token.as_str() {
            "valid" => (site.idp.clone(), Some(TOKEN)),
            "wrong" => (site.idp.clone(), Some("not-the-token-at-all")),
            "basic" => (
                site.idp.with_header("Authorization", "Basic dXNlcjpwYXNz"),
                None,
            ),
            _ => (site.idp.clone(), None),
        };
        let content_type = c.body.as_ref().map(|_| c.content_type.as_str());
        let reply = match idp
            .try_raw(
                c.method.clone(),
                &c.url,
                token,
                content_type,
                c.body.clone(),
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: transport error {e}", c.name));
                continue;
            }
        };
        let status = reply.status.as_u16();
        let ctype = reply.header("content-type");
        let body = &reply.body;
        let problem = if status >= 500 {
            Some(format!("a {status}"))
        } else if status != c.status {
            Some(format!("{status}, expected {}", c.status))
        } else if !ctype.starts_with("application/scim+json") {
            Some(format!("content type {ctype}"))
        } else if body["status"] != json!(status.to_string())
            || body["detail"].as_str().is_none_or(|d| d.is_empty())
        {
            Some(format!("not a SCIM error body: {body}"))
        } else if body["scimType"].as_str() != c.scim_type.as_deref() {
            Some(format!(
                "scimType {:?}, expected {:?}",
                body["scimType"], c.scim_type
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let calls = site
        .stack
        .emulator
        .with_state(|s| s.total_calls())
        .unwrap_or(u64::MAX);
    assert_eq!(calls, 0, "bad input reached Tableau");
}
