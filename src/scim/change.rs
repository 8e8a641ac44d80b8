//! A change to one resource, as PUT (RFC 7644 section 3.5.1) or PATCH (section 3.5.2) asks
//! for it: from the current resource, the resource the client wants.

use serde_json::Value;

use super::error::ScimResult;
use super::patch::{self, PatchRequest};
use super::schema::{ResourceKind, SchemaRegistry};

/// A PUT or a PATCH.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    /// PUT: the whole resource as given (already normalised and checked).
    Replace(Value),
    /// PATCH: operations applied, all or nothing, to the current resource.
    Patch(&'a PatchRequest),
}

impl Change<'_> {
    /// Whether this is a PATCH.
    pub fn is_patch(&self) -> bool {
        matches!(self, Change::Patch(_))
    }

    /// The resource the client wants, given the current one (canonical form).
    pub fn desired(self, kind: ResourceKind, current: &Value) -> ScimResult<Value> {
        match self {
            Change::Replace(resource) => Ok(resource),
            Change::Patch(req) => {
                patch::apply(&SchemaRegistry::builtin().resource(kind), current, req)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_put_is_the_given_resource_and_a_patch_applies_to_the_current_one() {
        let current = json!({"id": "u1", "userName": "a", "nickName": "old"});
        let put = Change::Replace(json!({"userName": "b"}));
        assert!(!put.is_patch());
        assert_eq!(
            put.desired(ResourceKind::User, &current).ok(),
            Some(json!({"userName": "b"}))
        );
        let req = PatchRequest::parse(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "nickName", "value": "new"}]}),
        )
        .expect("a PatchOp");
        let patch = Change::Patch(&req);
        assert!(patch.is_patch());
        let desired = patch
            .desired(ResourceKind::User, &current)
            .expect("applies");
        assert_eq!(desired["nickName"], "new");
        assert_eq!(desired["userName"], "a");
    }
}
