//! What one resource and one request may carry. A SCIM token is held by an IdP cloud, and an
//! IdP tenant can be compromised or misconfigured: without these bounds one request inside the
//! body limit could hold a worker for seconds (duplicate checks over 40,000 emails) and one
//! stored user could make every page read megabytes. Each bound is far above what an IdP sends
//! (SECURITY.md, "What an authenticated client can do"), and each refusal is a 400 naming it.

use serde_json::Value;

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::ResourceKind;

/// Values of one multi-valued attribute of a user (`emails`, `phoneNumbers`, `roles`, ...).
/// Okta and Entra ID send at most a handful (Entra maps one value per type, Okta's profile
/// holds a primary and a secondary email; `roles` from Entra's `AppRoleAssignmentsComplex`
/// is one per app role assigned): 100 leaves room for any directory.
pub const MAX_VALUES: usize = 100;

/// Characters of one string value. The longest values IdPs send are URLs (`profileUrl`,
/// `photos`, a few hundred characters) and base64 certificates (`x509Certificates`, 2 to 4
/// KiB); Entra ID's directory attributes hold at most 256 characters, its extension
/// attributes 256.
pub const MAX_STRING_CHARS: usize = 8 * 1024;

/// Bytes of a user as stored and served (its JSON). A full Entra ID user with the enterprise
/// extension is about 2 KiB; 64 KiB bounds what every page of `GET /Users` reads per user.
pub const MAX_USER_BYTES: usize = 64 * 1024;

/// Operations of one PATCH. Okta removes group members one operation each; Entra ID sends one
/// operation per attribute it maps (scim-idp.md sections 2 and 3). 1,000 bounds a request's
/// work at 1,000 passes over the resource.
pub const MAX_OPERATIONS: usize = 1_000;

/// Paths of `attributes` or `excludedAttributes` (a resource has a few dozen attributes).
pub const MAX_PATHS: usize = 256;

/// Refuse a multi-valued attribute holding more than its bound: every one but a group's
/// `members`, whose number only the body limit bounds (a Tableau group may hold its site's
/// every user).
pub fn check_value_count(attr_name: &str, label: &str, count: usize) -> ScimResult<()> {
    if attr_name != "members" && count > MAX_VALUES {
        return Err(ScimError::InvalidValue(format!(
            "'{label}' has {count} values; at most {MAX_VALUES} are accepted"
        )));
    }
    Ok(())
}

/// Refuse a canonical resource that holds a string longer than [`MAX_STRING_CHARS`] or, for a
/// user, is larger than [`MAX_USER_BYTES`]. Linear in the resource.
pub fn check_resource(kind: ResourceKind, resource: &Value) -> ScimResult<()> {
    if let Some(path) = long_string(resource, "") {
        return Err(ScimError::InvalidValue(format!(
            "'{path}' is longer than {MAX_STRING_CHARS} characters"
        )));
    }
    if kind == ResourceKind::User {
        let bytes = serde_json::to_vec(resource).map_or(0, |v| v.len());
        if bytes > MAX_USER_BYTES {
            return Err(ScimError::InvalidValue(format!(
                "the user is {bytes} bytes as JSON; at most {MAX_USER_BYTES} are accepted"
            )));
        }
    }
    Ok(())
}

/// The path of the first string value longer than the bound, if any.
fn long_string(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::String(s) => (s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS)
            .then(|| at.to_string()),
        Value::Array(items) => items.iter().find_map(|i| long_string(i, at)),
        Value::Object(o) => o.iter().find_map(|(k, v)| {
            let next = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            long_string(v, &next)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resource_over_its_bounds_is_refused_naming_the_bound() {
        assert!(check_value_count("emails", "emails", MAX_VALUES).is_ok());
        assert!(
            matches!(check_value_count("emails", "emails", MAX_VALUES + 1),
            Err(ScimError::InvalidValue(m)) if m.contains("at most 100"))
        );
        assert!(check_value_count("members", "members", 50_000).is_ok());
        let long = "x".repeat(MAX_STRING_CHARS + 1);
        assert!(
            matches!(check_resource(ResourceKind::User, &json!({"name": {"givenName": long}})),
            Err(ScimError::InvalidValue(m)) if m.contains("'name.givenName'"))
        );
        let fits = "x".repeat(MAX_STRING_CHARS);
        assert!(check_resource(ResourceKind::User, &json!({"title": fits})).is_ok());
        let many: Vec<Value> = (0..60)
            .map(|i| json!({"value": format!("{i}{}", "y".repeat(2000))}))
            .collect();
        assert!(
            matches!(check_resource(ResourceKind::User, &json!({"x509Certificates": many})),
            Err(ScimError::InvalidValue(m)) if m.contains("bytes"))
        );
    }
}
