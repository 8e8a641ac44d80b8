//! Path-less add and replace: every key of the value is applied as the path it names, or
//! refused as that path would be. Nothing a client sends is dropped without a word.

use serde_json::{json, Value};

use crate::scim::error::ScimError;
use crate::scim::patch::{apply, PatchRequest};
use crate::scim::schema::{ResourceKind, ResourceSchema, SchemaRegistry};
use crate::scim::urn;

fn users() -> ResourceSchema<'static> {
    SchemaRegistry::builtin().resource(ResourceKind::User)
}

fn pathless(value: Value) -> Result<Value, ScimError> {
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"Replace","value":value}]});
    let req = PatchRequest::parse(&body)?;
    apply(&users(), &user(), &req)
}

fn user() -> Value {
    json!({"id":"u1","userName":"bjensen","name":{"givenName":"Barbara","familyName":"Jensen"},
           "emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],
           "active":true})
}

#[test]
fn entra_value_path_keys_replace_the_filtered_value() {
    // Microsoft's SCIM guide, "Update User [Multi-valued properties]".
    let u = pathless(
        json!({"emails[type eq \"work\"].value":"new@example.com","name.familyName":"Lee"}),
    )
    .map_err(|e| e.to_string());
    let u = u
        .as_ref()
        .map(|u| (u["emails"].clone(), u["name"]["familyName"].clone()));
    assert_eq!(
        u,
        Ok((
            json!([{"value":"new@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]),
            json!("Lee")
        ))
    );
}

#[test]
fn urn_objects_of_known_schemas_apply_each_attribute() {
    let u = pathless(json!({
        "urn:ietf:params:scim:schemas:core:2.0:User":{"displayName":"Babs"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Tour Operations"}}))
    .map_err(|e| e.to_string());
    assert_eq!(
        u.as_ref().map(|u| (
            u["displayName"].clone(),
            u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"].clone()
        )),
        Ok((json!("Babs"), json!("Tour Operations")))
    );
}

#[test]
fn keys_naming_nothing_of_ours_are_refused_not_dropped() {
    for key in [
        "nickName2",
        "name.middle",
        "emails[type eq \"work\"].colour",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize",
        "urn:ietf:params:scim:schemas:core:2.0:User:title.x",
        "emails[type eq",
    ] {
        let e = pathless(json!({ key: "x" }));
        assert!(matches!(e, Err(ScimError::InvalidPath(_))), "{key}: {e:?}");
    }
    let e = pathless(
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"shoeSize":"44"}}),
    );
    assert!(matches!(e, Err(ScimError::InvalidPath(_))), "{e:?}");
}

#[test]
fn attributes_of_extensions_we_do_not_know_are_skipped_as_with_a_path() {
    // An Entra custom extension attribute: not ours to store, as `path` would skip it too.
    let u = pathless(json!({
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCenter":"42",
        "displayName":"Babs"}))
    .map_err(|e| e.to_string());
    assert_eq!(u.map(|u| u["displayName"].clone()), Ok(json!("Babs")));
}

fn request(ops: Value) -> PatchRequest {
    PatchRequest::parse(&json!({
        "schemas": [urn::PATCH_OP],
        "Operations": ops
    }))
    .expect("a valid PATCH")
}

#[test]
fn a_patch_changes_only_members_when_every_operation_targets_members() {
    let only = |ops: Value| request(ops).changes_only("members", urn::GROUP);
    // Okta's and Entra's member pushes.
    assert!(only(
        json!([{"op":"add","path":"members","value":[{"value":"a"}]}])
    ));
    assert!(only(json!([
        {"op":"Remove","path":"members[value eq \"a\"]"},
        {"op":"Add","path":"members","value":[{"value":"b"}]}
    ])));
    assert!(only(json!([{"op":"replace","value":{"members":[]}}])));
    assert!(only(
        json!([{"op":"add","path":format!("{}:members", urn::GROUP),"value":[]}])
    ));
    // Anything else is a change the client may want to see.
    assert!(!only(json!([
        {"op":"add","path":"members","value":[{"value":"a"}]},
        {"op":"replace","path":"displayName","value":"New"}
    ])));
    assert!(!only(
        json!([{"op":"replace","value":{"members":[],"displayName":"x"}}])
    ));
    assert!(!only(json!([{"op":"replace","value":{}}])));
    assert!(!only(
        json!([{"op":"replace","path":"externalId","value":"x"}])
    ));
}
