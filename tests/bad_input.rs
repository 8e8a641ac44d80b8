//! The bad-input corpus (`tests/corpus/bad_requests.json`) against the real bridge stack: every
//! entry gets its 4xx SCIM error, none a 5xx, and none makes a Tableau call. Huge strings and
//! arrays are generated here rather than stored.

use base64::Engine;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::tableau::emulator::EmulatorConfig;

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
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let stack = match Stack::start(StackOptions::new(
        EmulatorConfig::new("acme", "pat", "secret"),
        dir.path().to_path_buf(),
        TOKEN,
    )) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let base = stack.scim_url();
    let origin = format!("http://{}", stack.serving.server.addr);
    let http = Client::new();
    let cases = corpus(&base, &origin);
    let mut failures = Vec::new();
    for c in &cases {
        let mut req = http.request(c.method.clone(), &c.url);
        match c.token.as_str() {
            "valid" => req = req.bearer_auth(TOKEN),
            "wrong" => req = req.bearer_auth("not-the-token-at-all"),
            "basic" => req = req.header("Authorization", "Basic dXNlcjpwYXNz"),
            _ => {}
        }
        if let Some(b) = &c.body {
            req = req
                .header("Content-Type", c.content_type.as_str())
                .body(b.clone());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: transport error {e}", c.name));
                continue;
            }
        };
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body: Value =
            serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Value::Null);
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
    let calls = stack
        .emulator
        .with_state(|s| s.total_calls())
        .unwrap_or(u64::MAX);
    assert_eq!(calls, 0, "bad input reached Tableau");
}
