//! The audit trail as the bridge writes it: one event per change (or refused change) of a user
//! or group, with the site role before and after and the Tableau calls it took.

use crate::bridge::operation::Operation;
use crate::tableau::SiteRole;

/// What happened to one user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The operation.
    pub operation: Operation,
    /// The resource id (or the userName when no id exists yet).
    pub resource: String,
    /// The site role before.
    pub role_before: Option<String>,
    /// The site role after.
    pub role_after: Option<String>,
    /// `ok`, or what happened instead.
    pub outcome: String,
}

impl AuditEvent {
    /// A successful `operation` on `resource`, no roles recorded yet.
    pub fn new(operation: Operation, resource: &str) -> AuditEvent {
        AuditEvent {
            operation,
            resource: resource.to_string(),
            role_before: None,
            role_after: None,
            outcome: "ok".into(),
        }
    }

    /// With the site roles before and after.
    pub fn roles(mut self, before: Option<&str>, after: Option<&str>) -> AuditEvent {
        self.role_before = before.map(str::to_string);
        self.role_after = after.map(str::to_string);
        self
    }

    /// With another outcome than `ok`.
    pub fn outcome(mut self, outcome: impl Into<String>) -> AuditEvent {
        self.outcome = outcome.into();
        self
    }
}

/// A site role as the audit trail writes it.
pub fn role_name(role: Option<SiteRole>) -> Option<&'static str> {
    role.map(SiteRole::as_str)
}
