//! What a sink receives, pure: an audit entry as RFC 5424 syslog (one message, octet-counted
//! for TLS transport, RFC 5425 4.3), and as HTTP bodies in the shape Splunk's HTTP Event
//! Collector takes (`{"time", "host", "source", "sourcetype", "event"}` objects, concatenated)
//! or as JSON lines (one event object a line, as Elastic's and most collectors' HTTP inputs take).

use serde_json::{json, Value};

use super::ExportEvent;
use crate::store::AuditRow;

/// RFC 5424 facility 13 ("log audit") at severity 6 (informational): PRI = 13 * 8 + 6.
const PRI: u8 = 110;

/// The SD-ID of our structured data: `name@<private enterprise number>` (RFC 5424 7.2.2);
/// 32473 is the number IANA reserves for documentation (RFC 5612), used until we hold our own.
const SD_ID: &str = "tableau-scim@32473";

/// An audit row's fields as JSON, after `first` (its time, and what else the reader needs
/// ahead of them): the one JSON form of an audit row, for the sinks and `report audit`.
pub fn row_json(first: &[(&str, &str)], row: &AuditRow) -> Value {
    let mut o = serde_json::Map::new();
    for (k, v) in first {
        o.insert((*k).to_string(), json!(v));
    }
    let fields = json!({
        "operation": row.operation,
        "resource": row.resource,
        "role_before": row.role_before,
        "role_after": row.role_after,
        "outcome": row.outcome,
        "tableau_calls": row.tableau_calls,
    });
    if let Value::Object(f) = fields {
        o.extend(f);
    }
    Value::Object(o)
}

/// The event as JSON: what every sink carries.
pub fn event_json(e: &ExportEvent) -> Value {
    row_json(&[("at", &e.at), ("tenant", &e.tenant)], &e.row)
}

/// An SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 6.3.3).
fn sd_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: printable US-ASCII without spaces, at most `max` (RFC 5424 6.2), `-` if empty.
fn header_field(v: &str, max: usize) -> String {
    let f: String = v
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// One RFC 5424 message for `e` from `host`: the fields as structured data, the JSON as MSG.
pub fn syslog_message(e: &ExportEvent, host: &str) -> String {
    let sd = format!(
        "[{SD_ID} tenant=\"{}\" operation=\"{}\" resource=\"{}\" outcome=\"{}\" calls=\"{}\"]",
        sd_escape(&e.tenant),
        sd_escape(&e.row.operation),
        sd_escape(&e.row.resource),
        sd_escape(&e.row.outcome),
        e.row.tableau_calls
    );
    format!(
        "<{PRI}>1 {} {} tableau-scim - audit {sd} {}",
        header_field(&e.at, 64),
        header_field(host, 255),
        event_json(e)
    )
}

/// `message` framed for syslog over TLS: its length in octets, a space, the message.
pub fn octet_counted(message: &str) -> String {
    format!("{} {message}", message.len())
}

/// Seconds since the epoch of an RFC 3339 time, for HEC's `time` (0 if it does not parse).
fn epoch_seconds(at: &str) -> f64 {
    chrono::DateTime::parse_from_rfc3339(at).map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0)
}

/// A body of HEC events for `batch`.
pub fn hec_body(batch: &[&ExportEvent], host: &str) -> String {
    batch
        .iter()
        .map(|e| {
            json!({
                "time": epoch_seconds(&e.at),
                "host": host,
                "source": "tableau-scim",
                "sourcetype": "tableau-scim:audit",
                "event": event_json(e),
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A body of JSON lines for `batch`.
pub fn json_lines_body(batch: &[&ExportEvent]) -> String {
    let mut out = String::new();
    for e in batch {
        out.push_str(&event_json(e).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> ExportEvent {
        ExportEvent {
            tenant: "acme".into(),
            at: "2026-12-07T07:00:00.250Z".into(),
            row: AuditRow {
                operation: "update_user".into(),
                resource: "ada\"]\\x".into(),
                tableau_calls: 2,
                role_before: Some("Viewer".into()),
                role_after: Some("Creator".into()),
                outcome: "ok".into(),
            },
        }
    }

    #[test]
    fn a_syslog_message_is_rfc_5424_with_escaped_structured_data() {
        let m = syslog_message(&event(), "scim 1");
        assert!(
            m.starts_with("<110>1 2026-12-07T07:00:00.250Z scim1 tableau-scim - audit [tableau-scim@32473 tenant=\"acme\" operation=\"update_user\" resource=\"ada\\\"\\]\\\\x\" outcome=\"ok\" calls=\"2\"] {"),
            "{m}"
        );
        let json: Value =
            serde_json::from_str(&m[m.find("] {").expect("msg") + 2..]).expect("JSON");
        assert_eq!(json["role_after"], "Creator");
        let framed = octet_counted(&m);
        assert_eq!(framed, format!("{} {m}", m.len()));
    }

    #[test]
    fn http_bodies_are_hec_events_or_json_lines() {
        let e = event();
        let hec = hec_body(&[&e, &e], "scim1");
        let events: Vec<Value> = serde_json::Deserializer::from_str(&hec)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .expect("concatenated JSON");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["sourcetype"], "tableau-scim:audit");
        assert_eq!(events[0]["time"], 1_796_626_800.25);
        assert_eq!(events[0]["event"]["tenant"], "acme");
        let lines = json_lines_body(&[&e]);
        assert_eq!(lines.lines().count(), 1);
        assert!(lines.ends_with('\n'));
    }
}
