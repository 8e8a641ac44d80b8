//! PATCH on arbitrary JSON: never panics, and an applied PATCH yields a resource that still has
//! its required attributes and its id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use tableau_scim::scim::patch::{apply, PatchRequest};
use tableau_scim::scim::resource;
use tableau_scim::scim::schema::{ResourceKind, SchemaRegistry};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::builtin();
    for kind in ResourceKind::ALL {
        let schema = registry.resource(kind);
        let _ = resource::from_input(&schema, &body);
        let Ok(request) = PatchRequest::parse(&body) else {
            continue;
        };
        let current = match kind {
            ResourceKind::User => json!({"id":"u1","userName":"bjensen","name":{"givenName":"B","familyName":"J"},
                "emails":[{"value":"a@b.c","type":"work","primary":true},{"value":"x@y.z","type":"home"}],
                "roles":[{"value":"Viewer"}],"active":true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}),
            ResourceKind::Group => json!({"id":"g1","displayName":"G","members":[{"value":"u1"},{"value":"u2","type":"User"}]}),
        };
        if let Ok(after) = apply(&schema, &current, &request) {
            assert_eq!(after["id"], current["id"], "PATCH changed the id");
            assert!(resource::check_required(&schema, &after).is_ok(), "PATCH removed a required attribute: {after}");
        }
    }
});
