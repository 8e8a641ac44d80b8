//! Tracing as an operator runs it: `tableau-scim serve` with `[server.tracing]` pointed at an
//! OpenTelemetry collector (here one the test starts, decoding OTLP/HTTP protobuf). A gateway
//! in front sends a W3C `traceparent`; the IdP's create shows up in the gateway's trace as the
//! request's span with the store, lock and Tableau calls below it, the request id on it, and
//! no secret anywhere in what was exported.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpResponse};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::{self, EmulatorConfig};

use crate::common::serve_process::ServeProcess;
use crate::common::{self, Idp};

const TOKEN: &str = "tracing-scim-token-000000001";
const PAT_SECRET: &str = "tracing-pat-secret-value";
/// The gateway's trace and its span, as its `traceparent` names them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GATEWAY_SPAN: &str = "00f067aa0ba902b7";
/// A trace the gateway did not keep (its `traceparent`'s sampled flag unset).
const UNSAMPLED_TRACE: &str = "5ce929d0e0e47364bf92f3577b34da6a";

/// A collector: every body posted to `/v1/traces`, as received.
#[derive(Default)]
struct Collector {
    bodies: Mutex<Vec<Vec<u8>>>,
}

async fn receive(body: web::Bytes, c: web::Data<Collector>) -> HttpResponse {
    c.bodies.lock().unwrap().push(body.to_vec());
    // An empty ExportTraceServiceResponse: everything accepted.
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn start_collector() -> (Arc<Collector>, String) {
    crate::common::receiver::start_receiver::<Collector, _, _>("/v1/traces", receive)
}

/// Every span the collector received, decoded.
fn spans(c: &Collector) -> Vec<Span> {
    let bodies = c.bodies.lock().unwrap();
    let mut out = Vec::new();
    for b in bodies.iter() {
        let req = ExportTraceServiceRequest::decode(b.as_slice()).expect("OTLP protobuf");
        for rs in req.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| v.value.clone());
            assert_eq!(
                service,
                Some(AnyValue::StringValue("scim-bridge-test".into())),
                "the resource names the service as configured"
            );
            for ss in rs.scope_spans {
                out.extend(ss.spans);
            }
        }
    }
    out
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            AnyValue::BoolValue(b) => b.to_string(),
            AnyValue::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_is_one_trace_under_the_gateways_span_with_no_secret_exported() {
    let tableau = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("acme", "scim", PAT_SECRET),
        2,
    )
    .expect("the emulator starts");
    let (collector, endpoint) = start_collector();
    let dir = common::tempdir();
    let port = common::free_port();
    let config = dir.path().join("tableau-scim.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\n[server.tracing]\notlp_endpoint = \"{endpoint}\"\nservice_name = \"scim-bridge-test\"\n\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\n",
            dir.path().join("data").display(),
            tableau.url(),
        ),
    )
    .expect("the configuration is written");
    let origin = format!("http://127.0.0.1:{port}");
    let mut server = ServeProcess::start(
        &config,
        &origin,
        &[
            ("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", PAT_SECRET),
            ("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN),
        ],
    )
    .await;
    let idp = Idp::new(&format!("{origin}/scim/v2"), TOKEN);

    // The IdP's create, through a gateway that traces.
    let traced = idp
        .with_header("traceparent", &format!("00-{TRACE_ID}-{GATEWAY_SPAN}-01"))
        .with_header("x-request-id", "okta-req-7f3a");
    let (s, body) = traced
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "active": true
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // A gateway that decided not to keep its trace: nothing of the request is made or sent.
    let (s, _) = idp
        .with_header(
            "traceparent",
            &format!("00-{UNSAMPLED_TRACE}-{GATEWAY_SPAN}-00"),
        )
        .call(Method::GET, "/Users?count=1", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // A request with no traceparent starts a trace of its own.
    let (s, _) = idp.call(Method::GET, "/Users?count=1", None).await;
    assert_eq!(s, StatusCode::OK);
    let session_tokens = tableau
        .with_state(|s| s.session_tokens())
        .unwrap_or_default();
    assert!(!session_tokens.is_empty(), "the bridge signed in");

    // An orchestrator stops it; the queued spans are sent on the way out.
    server.terminate();

    let all = spans(&collector);
    let by_id: HashMap<Vec<u8>, &Span> = all.iter().map(|s| (s.span_id.clone(), s)).collect();
    let create = all
        .iter()
        .find(|s| s.name == "POST /scim/v2/Users")
        .unwrap_or_else(|| {
            panic!(
                "the create's span was exported: {:?}",
                all.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(
        hex(&create.trace_id),
        TRACE_ID,
        "the gateway's trace goes on"
    );
    assert_eq!(
        hex(&create.parent_span_id),
        GATEWAY_SPAN,
        "under the gateway's span"
    );
    assert_eq!(attr(create, "request_id").as_deref(), Some("okta-req-7f3a"));
    assert_eq!(
        attr(create, "http.route").as_deref(),
        Some("/scim/v2/Users")
    );
    assert_eq!(attr(create, "tenant").as_deref(), Some("acme"));
    assert_eq!(
        attr(create, "http.response.status_code").as_deref(),
        Some("201")
    );

    // Below it: the key lock, the store and Tableau's calls, each in the same trace and each
    // reaching the request's span through its parents.
    let under_create = |s: &Span| {
        let mut at = s;
        for _ in 0..16 {
            if at.span_id == create.span_id {
                return true;
            }
            match by_id.get(&at.parent_span_id) {
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    };
    let below: Vec<&Span> = all
        .iter()
        .filter(|s| s.span_id != create.span_id && under_create(s))
        .collect();
    for s in &below {
        assert_eq!(
            hex(&s.trace_id),
            TRACE_ID,
            "{} is in the gateway's trace",
            s.name
        );
    }
    let names: Vec<&str> = below.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("store ")),
        "store calls: {names:?}"
    );
    assert!(names.contains(&"lock.wait"), "the key lock: {names:?}");
    let tableau_calls: Vec<&&Span> = below
        .iter()
        .filter(|s| attr(s, "tableau.endpoint").is_some())
        .collect();
    assert!(
        tableau_calls
            .iter()
            .any(|s| attr(s, "tableau.endpoint").is_some_and(|e| e.starts_with("POST "))),
        "the user was added in Tableau: {names:?}"
    );
    for s in &tableau_calls {
        let status = attr(s, "http.response.status_code").unwrap_or_default();
        assert!(status.starts_with('2'), "{}: {status}", s.name);
    }
    assert!(
        !all.iter().any(|s| hex(&s.trace_id) == UNSAMPLED_TRACE),
        "no span of the unsampled request"
    );
    // The list started its own trace.
    let list = all
        .iter()
        .find(|s| s.name == "GET /scim/v2/Users")
        .expect("the list's span was exported");
    assert_ne!(hex(&list.trace_id), TRACE_ID);
    assert!(list.parent_span_id.is_empty(), "a root span");

    // Nothing exported holds a secret or the user's name; the log (at info) no secret.
    let raw: Vec<u8> = collector.bodies.lock().unwrap().concat();
    let raw = String::from_utf8_lossy(&raw);
    let log = server.log_text();
    for secret in [TOKEN, PAT_SECRET, "ada@example.com"]
        .into_iter()
        .map(str::to_string)
        .chain(session_tokens)
    {
        assert!(!raw.contains(&secret), "{secret} was exported");
        if secret != "ada@example.com" {
            assert!(!log.contains(&secret), "{secret} is in the log");
        }
    }
}
