//! Pure work too large for an HTTP worker. An actix worker answers every request it holds on
//! one thread: while it applies a PATCH of 1,000 operations (tens of milliseconds, the largest
//! the bounds admit) it answers nothing else, `/healthz` and other tenants included. Such work
//! runs on the blocking pool instead; the few kilobytes an IdP sends run where they are.

use serde_json::Value;

use crate::bridge::error::{BridgeError, BridgeResult};
use crate::scim::change::Change;
use crate::scim::schema::ResourceKind;
use crate::scim::ScimError;

/// The heaviest PATCH applied on the worker, by [`crate::scim::patch::PatchRequest::weight`]:
/// an IdP's PATCH of a user is a few operations of a few values (scim-idp.md sections 2 and 3),
/// a group's a few hundred members at most per request; applying 1,000 values takes about a
/// millisecond.
pub const WORKER_WEIGHT: usize = 1_000;

/// The resource `change` makes of `current`: on the blocking pool when the change is a PATCH
/// heavier than [`WORKER_WEIGHT`], here otherwise.
pub async fn desired(
    change: Change<'_>,
    kind: ResourceKind,
    current: &Value,
) -> BridgeResult<Value> {
    match change {
        Change::Patch(req) if req.weight() > WORKER_WEIGHT => {
            let (req, current) = (req.clone(), current.clone());
            let applied =
                tokio::task::spawn_blocking(move || Change::Patch(&req).desired(kind, &current))
                    .await
                    .map_err(|e| {
                        BridgeError::Scim(ScimError::Internal(format!(
                            "the PATCH could not be applied: {e}"
                        )))
                    })?;
            Ok(applied?)
        }
        other => Ok(other.desired(kind, current)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::PatchRequest;
    use serde_json::json;

    #[tokio::test]
    async fn a_heavy_patch_gives_on_the_blocking_pool_what_it_gives_here() {
        let members: Vec<Value> = (0..1_500)
            .map(|i| json!({"value": format!("6b7179ba-b82b-4f0f-91ed-{i:012}")}))
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": members},
                           {"op": "replace", "path": "displayName", "value": "Sales"}]});
        let req = PatchRequest::parse(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.weight(), 1_502, "two operations and 1,500 values");
        assert!(req.weight() > WORKER_WEIGHT);
        let current = json!({"id": "g1", "displayName": "Old", "members": []});
        let here = Change::Patch(&req).desired(ResourceKind::Group, &current);
        let pooled = desired(Change::Patch(&req), ResourceKind::Group, &current).await;
        let pooled = pooled.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(&pooled), here.as_ref().ok());
        assert_eq!(pooled["members"].as_array().map(Vec::len), Some(1_500));
        assert_eq!(pooled["displayName"], "Sales");
    }
}
