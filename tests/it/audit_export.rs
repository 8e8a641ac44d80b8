//! Audit export as a security team runs it: every provisioning event reaches their SIEM as it
//! happens, through Splunk's HTTP Event Collector shape or syslog over TLS; a collector outage
//! shorter than the queue loses nothing and never holds provisioning up; past the queue, what
//! is dropped is counted and the store still holds it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;

use actix_web::{web, HttpRequest, HttpResponse};
use common::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::audit_export::{HttpFormat, SinkConfig, SinkTarget};
use tableau_scim::emulator::EmulatorConfig;
use tokio::io::AsyncReadExt;

const TOKEN: &str = "audit-export-bearer-token-01";
const HEC_TOKEN: &str = "hec-token-0123456789";

/// An HTTP collector: records each accepted batch's events; answers 503 while `down`.
#[derive(Default)]
struct Collector {
    events: Mutex<Vec<Value>>,
    authorizations: Mutex<Vec<String>>,
    down: AtomicBool,
}

async fn collect(req: HttpRequest, body: web::Bytes, c: web::Data<Collector>) -> HttpResponse {
    if c.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    c.authorizations.lock().unwrap().push(auth);
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut events = c.events.lock().unwrap();
    for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        events.push(v.expect("HEC events are JSON"));
    }
    HttpResponse::Ok().json(json!({"text": "Success", "code": 0}))
}

fn start_collector() -> (Arc<Collector>, String) {
    crate::common::receiver::start_receiver::<Collector, _, _>("/services/collector/event", collect)
}

fn site_exporting_to(sinks: Vec<SinkConfig>) -> Site {
    Site::start(
        EmulatorConfig::new("acme", "scim", "pat-secret"),
        TOKEN,
        |o| {
            o.server.audit_sinks = sinks;
        },
    )
}

fn hec(url: &str, queue: usize) -> SinkConfig {
    SinkConfig {
        name: "splunk".into(),
        target: SinkTarget::Http {
            url: url.to_string(),
            format: HttpFormat::Hec,
            token: Some(HEC_TOKEN.to_string().into()),
            ca_file: None,
        },
        queue,
    }
}

async fn create(site: &Site, name: &str) {
    let (s, body) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

/// The created users' names the collector has, in the order it received them (resources
/// are SCIM ids; the events of creates name the user's id, so they are matched by count).
fn creates(c: &Collector) -> Vec<Value> {
    c.events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["operation"] == "create_user")
        .cloned()
        .collect()
}

/// The users created, as the store's audit trail names them (their ids), oldest first.
async fn created_in_trail(site: &Site) -> Vec<String> {
    site.stack
        .tenant()
        .audit_trail()
        .await
        .expect("the trail")
        .into_iter()
        .filter(|r| r.operation == "create_user")
        .map(|r| r.resource)
        .collect()
}

async fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 15 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audit_entry_reaches_the_collector_and_an_outage_loses_none() {
    let (collector, url) = start_collector();
    let site = site_exporting_to(vec![hec(&url, 1000)]);
    create(&site, "ada@example.com").await;
    wait_for(|| creates(&collector).len() == 1, "the first event").await;
    let first = creates(&collector)[0].clone();
    assert_eq!(first["sourcetype"], "tableau-scim:audit");
    assert_eq!(first["source"], "tableau-scim");
    assert!(first["time"].as_f64().is_some_and(|t| t > 1.7e9), "{first}");
    assert_eq!(first["event"]["tenant"], "acme");
    assert_eq!(first["event"]["outcome"], "ok");
    assert_eq!(first["event"]["role_after"], "Viewer");
    assert!(first["event"]["tableau_calls"]
        .as_u64()
        .is_some_and(|n| n >= 1));
    assert_eq!(
        collector.authorizations.lock().unwrap()[0],
        format!("Splunk {HEC_TOKEN}")
    );

    // The collector goes down: provisioning goes on, the entries wait.
    collector.down.store(true, Ordering::SeqCst);
    for i in 0..5 {
        create(&site, &format!("outage{i}@example.com")).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(creates(&collector).len(), 1, "nothing accepted while down");
    collector.down.store(false, Ordering::SeqCst);
    wait_for(
        || creates(&collector).len() == 6,
        "the queued events after the outage",
    )
    .await;
    // In order, none twice: the resources are the users' ids, as the store's trail has them.
    let trail = created_in_trail(&site).await;
    let exported: Vec<String> = creates(&collector)
        .iter()
        .map(|e| {
            e["event"]["resource"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(exported, trail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_queue_a_sink_drops_the_newest_and_provisioning_never_waits() {
    let (collector, url) = start_collector();
    collector.down.store(true, Ordering::SeqCst);
    let site = site_exporting_to(vec![hec(&url, 3)]);
    for i in 0..6 {
        create(&site, &format!("burst{i}@example.com")).await;
    }
    collector.down.store(false, Ordering::SeqCst);
    wait_for(
        || !creates(&collector).is_empty(),
        "delivery after the outage",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let exported = creates(&collector);
    assert_eq!(exported.len(), 3, "the queue's three, no more");
    let trail = created_in_trail(&site).await;
    assert_eq!(trail.len(), 6, "the store holds every entry");
    let firsts: Vec<&str> = exported
        .iter()
        .filter_map(|e| e["event"]["resource"].as_str())
        .collect();
    assert_eq!(
        firsts,
        trail[..3].iter().map(String::as_str).collect::<Vec<_>>(),
        "the oldest kept, in order"
    );
}

/// A syslog receiver over TLS (RFC 5425) with a certificate for `localhost` from a CA the test
/// makes: reads octet-counted messages into `messages`.
async fn start_syslog(dir: &std::path::Path) -> (Arc<Mutex<Vec<String>>>, u16, std::path::PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let ca = common::postgres::make_certificates(dir);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.crt"))
        .expect("the certificate")
        .map(|c| c.expect("a certificate"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("the key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("an address").port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let out = messages.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let out = out.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = tls.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Octet counting: "<length> <message>", repeated.
                    while let Some(sp) = buf.iter().position(|b| *b == b' ') {
                        let len: usize = std::str::from_utf8(&buf[..sp])
                            .expect("a length")
                            .parse()
                            .expect("digits");
                        if buf.len() < sp + 1 + len {
                            break;
                        }
                        let msg =
                            String::from_utf8(buf[sp + 1..sp + 1 + len].to_vec()).expect("UTF-8");
                        out.lock().unwrap().push(msg);
                        buf.drain(..sp + 1 + len);
                    }
                }
            });
        }
    });
    (messages, port, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_reach_a_syslog_receiver_over_tls_as_rfc_5424() {
    let dir = common::tempdir();
    let (messages, port, ca) = start_syslog(dir.path()).await;
    let site = site_exporting_to(vec![SinkConfig {
        name: "siem".into(),
        target: SinkTarget::Syslog {
            address: format!("localhost:{port}"),
            ca_file: Some(ca),
        },
        queue: 100,
    }]);
    create(&site, "grace@example.com").await;
    create(&site, "linus@example.com").await;
    wait_for(
        || {
            messages
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.contains("operation=\"create_user\""))
                .count()
                == 2
        },
        "two syslog messages",
    )
    .await;
    let m = messages.lock().unwrap()[0].clone();
    assert!(
        m.starts_with("<110>1 20"),
        "PRI 110 (log audit, informational), version 1: {m}"
    );
    assert!(
        m.contains(
            " tableau-scim - audit [tableau-scim@32473 tenant=\"acme\" operation=\"create_user\""
        ),
        "{m}"
    );
    let json: Value =
        serde_json::from_str(&m[m.find("] {").expect("a JSON message") + 2..]).expect("JSON");
    assert_eq!(json["tenant"], "acme");
}
