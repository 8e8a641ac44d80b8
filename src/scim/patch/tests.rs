//! PATCH tests: the RFC 7644 section 3.5.2 examples, the Okta and Entra ID shapes of
//! scim-idp.md, and the protocol items of its closing checklist (named `checklist_NN_...`).

use serde_json::{json, Value};

use crate::scim::error::ScimError;
use crate::scim::patch::{apply, PatchRequest};
use crate::scim::resource;
use crate::scim::schema::{ResourceKind, ResourceSchema, SchemaRegistry};
use crate::scim::urn::ENTERPRISE_USER;

fn users() -> ResourceSchema<'static> {
    SchemaRegistry::builtin().resource(ResourceKind::User)
}
fn groups() -> ResourceSchema<'static> {
    SchemaRegistry::builtin().resource(ResourceKind::Group)
}

fn ops(operations: Value) -> PatchRequest {
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":operations});
    match PatchRequest::parse(&body) {
        Ok(r) => r,
        Err(e) => panic!("patch should parse: {e}"),
    }
}

fn run(
    schema: ResourceSchema<'static>,
    current: &Value,
    operations: Value,
) -> Result<Value, ScimError> {
    apply(&schema, current, &ops(operations))
}

fn ok(schema: ResourceSchema<'static>, current: &Value, operations: Value) -> Value {
    match run(schema, current, operations) {
        Ok(v) => v,
        Err(e) => panic!("patch should apply: {e}"),
    }
}

fn group() -> Value {
    json!({"id":"g1","displayName":"Tour Guides","members":[
        {"value":"2819c223-7f76-453a-919d-413861904646","type":"User"},
        {"value":"902c246b-6245-4190-8e05-00816be7344a","type":"User"}]})
}

fn member_ids(g: &Value) -> Vec<&str> {
    g["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default()
}

fn user() -> Value {
    json!({"id":"u1","userName":"bjensen","name":{"givenName":"Barbara","familyName":"Jensen"},
           "emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],
           "addresses":[{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"}],
           "active":true})
}

// ---- RFC 7644 section 3.5.2.1 (add) ----

#[test]
fn checklist_18_rfc_3_5_2_1_add_member_appends_and_readding_is_a_no_op() {
    let add = json!([{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"https://example.com/v2/Users/2819c223","value":"2819c223-7f76-453a-919d-000000000001"}]}]);
    let g = ok(groups(), &group(), add.clone());
    assert_eq!(member_ids(&g).len(), 3);
    // display is readOnly: dropped on input.
    assert!(g["members"][2].get("display").is_none());
    let again = ok(groups(), &g, add);
    assert_eq!(
        again, g,
        "checklist 18: re-adding an existing member changes nothing"
    );
}

#[test]
fn rfc_3_5_2_1_add_without_path_merges_attributes() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"},{"value":"b2@x.org","type":"other"}],"nickName":"Babs"}}]),
    );
    assert_eq!(u["nickName"], "Babs");
    assert_eq!(
        u["emails"].as_array().map(Vec::len),
        Some(3),
        "existing home email merged, new one appended"
    );
}

// ---- RFC 7644 section 3.5.2.2 (remove) ----

#[test]
fn rfc_3_5_2_2_remove_one_member_by_filter() {
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]),
    );
    assert_eq!(member_ids(&g), vec!["902c246b-6245-4190-8e05-00816be7344a"]);
}

#[test]
fn rfc_3_5_2_2_remove_all_members() {
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"remove","path":"members"}]),
    );
    assert!(g.get("members").is_none());
}

#[test]
fn rfc_3_5_2_2_remove_by_compound_filter() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(u["emails"][0]["type"], "home");
}

#[test]
fn rfc_3_5_2_2_swap_a_member_in_one_request_without_space_after_eq() {
    let g = ok(
        groups(),
        &group(),
        json!([
        {"op":"remove","path":"members[value eq\"2819c223-7f76-453a-919d-413861904646\"]"},
        {"op":"add","path":"members","value":[{"display":"James Smith","$ref":"https://example.com/v2/Users/08e1d05d","value":"08e1d05d-121c-4561-8b96-473d93df9210"}]}]),
    );
    assert_eq!(
        member_ids(&g),
        vec![
            "902c246b-6245-4190-8e05-00816be7344a",
            "08e1d05d-121c-4561-8b96-473d93df9210"
        ]
    );
}

#[test]
fn rfc_3_5_2_2_remove_all_then_add_two() {
    let g = ok(
        groups(),
        &group(),
        json!([
        {"op":"remove","path":"members"},
        {"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]}]),
    );
    assert_eq!(member_ids(&g), vec!["a", "b"]);
}

// ---- RFC 7644 section 3.5.2.3 (replace) ----

#[test]
fn rfc_3_5_2_3_replace_members() {
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"replace","path":"members","value":[{"value":"x"},{"value":"y"}]}]),
    );
    assert_eq!(member_ids(&g), vec!["x", "y"]);
}

#[test]
fn rfc_3_5_2_3_replace_a_filtered_record() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","primary":true}}]),
    );
    assert_eq!(
        u["addresses"][0]["streetAddress"],
        "911 Universal City Plaza"
    );
    assert_eq!(u["addresses"][0]["postalCode"], "91608");
}

#[test]
fn rfc_3_5_2_3_replace_one_sub_attribute_of_a_filtered_record() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}]),
    );
    assert_eq!(u["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(u["addresses"][0]["locality"], "Hollywood");
}

#[test]
fn rfc_3_5_2_3_replace_without_path() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],"nickName":"Babs"}}]),
    );
    assert_eq!(u["nickName"], "Babs");
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(2));
}

#[test]
fn replace_complex_keeps_other_sub_attributes() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","path":"name","value":{"givenName":"Babs"}}]),
    );
    assert_eq!(u["name"], json!({"givenName":"Babs","familyName":"Jensen"}));
}

// ---- errors ----

#[test]
fn errors_no_target_invalid_path_mutability() {
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"addresses[type eq \"home\" or locality eq \"x\"]","value":{"locality":"y"}}]),
    );
    assert!(matches!(e, Err(ScimError::NoTarget(_))), "{e:?}");
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"nosuch","value":"x"}]),
    );
    assert!(matches!(e, Err(ScimError::InvalidPath(_))), "{e:?}");
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"id","value":"other"}]),
    );
    assert!(matches!(e, Err(ScimError::Mutability(_))), "{e:?}");
    let e = run(users(), &user(), json!([{"op":"remove","path":"userName"}]));
    assert!(matches!(e, Err(ScimError::Mutability(_))), "{e:?}");
    let e = run(
        users(),
        &user(),
        json!([{"op":"add","path":"groups","value":[{"value":"g"}]}]),
    );
    assert!(matches!(e, Err(ScimError::Mutability(_))), "{e:?}");
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"active","value":"maybe"}]),
    );
    assert!(matches!(e, Err(ScimError::InvalidValue(_))), "{e:?}");
    let e = PatchRequest::parse(
        &json!({"Operations":[{"op":"replace","path":"emails[type eq]","value":"x"}]}),
    );
    assert!(matches!(e, Err(ScimError::InvalidPath(_))), "{e:?}");
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"emails[nosub eq \"x\"]","value":{"value":"y"}}]),
    );
    assert!(matches!(e, Err(ScimError::InvalidFilter(_))), "{e:?}");
    let pw = ok(
        users(),
        &user(),
        json!([{"op":"replace","value":{"password":"new-secret"}}, {"op":"replace","path":"password","value":"x"}]),
    );
    assert_eq!(
        pw,
        user(),
        "checklist 13: password is accepted and discarded"
    );
    let bad_op = PatchRequest::parse(&json!({"Operations":[{"op":"move","path":"a"}]}));
    assert!(matches!(bad_op, Err(ScimError::InvalidSyntax(_))));
    let bad_schema = PatchRequest::parse(
        &json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[]}),
    );
    assert!(matches!(bad_schema, Err(ScimError::InvalidSyntax(_))));
    let unknown_ext = ok(
        users(),
        &user(),
        json!([{"op":"add","path":"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:badge","value":"7"}]),
    );
    assert_eq!(
        unknown_ext,
        user(),
        "an unknown extension's attribute is skipped like an unknown key"
    );
}

#[test]
fn immutable_member_ids_cannot_be_edited_in_place() {
    let e = run(
        groups(),
        &group(),
        json!([{"op":"replace","path":"members.value","value":"other"}]),
    );
    assert!(matches!(e, Err(ScimError::Mutability(_))), "{e:?}");
    let e = run(
        groups(),
        &group(),
        json!([{"op":"replace","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"].value","value":"x"}]),
    );
    assert!(matches!(e, Err(ScimError::Mutability(_))), "{e:?}");
}

#[test]
fn a_read_only_extension_cannot_be_written_whole() {
    for op in ["add", "replace", "remove"] {
        let e = run(
            users(),
            &user(),
            json!([{"op":op,"path":"urn:ietf:params:scim:schemas:extension:tableau-scim:2.0:User","value":{}}]),
        );
        assert!(matches!(e, Err(ScimError::Mutability(_))), "{op}: {e:?}");
    }
}

#[test]
fn checklist_16_patch_is_all_or_nothing() {
    let before = user();
    let e = run(
        users(),
        &before,
        json!([
        {"op":"replace","path":"nickName","value":"Babs"},
        {"op":"replace","path":"id","value":"x"}]),
    );
    assert!(e.is_err());
    // `apply` works on a copy: the caller's resource is unchanged and nothing half-done returns.
    assert_eq!(before, user());
}

#[test]
fn checklist_15_op_and_member_names_are_case_insensitive() {
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "operations":[{"OP":"Replace","Path":"nickName","Value":"Babs"}]});
    let req = PatchRequest::parse(&body).map_err(|e| e.to_string());
    let u = req.and_then(|r| apply(&users(), &user(), &r).map_err(|e| e.to_string()));
    assert_eq!(u.map(|u| u["nickName"].clone()), Ok(json!("Babs")));
}

#[test]
fn checklist_17_pathless_dotted_and_urn_keys_act_as_paths_and_readonly_echoes_are_skipped() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","value":{
        "id":"u1","meta":{"resourceType":"User"},"schemas":["x"],"groups":[],
        "displayName":"Pvlo","name.givenName":"Gtfd","name.familyName":"Pqr",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Eqpj",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m-1"}}]),
    );
    assert_eq!(u["displayName"], "Pvlo");
    assert_eq!(u["name"], json!({"givenName":"Gtfd","familyName":"Pqr"}));
    assert_eq!(u[ENTERPRISE_USER]["employeeNumber"], "Eqpj");
    assert_eq!(
        u[ENTERPRISE_USER]["manager"],
        json!({"value":"m-1"}),
        "checklist 24"
    );
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","value":{"id":"other"}}]),
    );
    assert!(matches!(e, Err(ScimError::Mutability(_))));
}

#[test]
fn okta_group_rename_with_readonly_id_echo() {
    // scim-idp.md section 2.8: OIN templates send this right after create.
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"replace","value":{"id":"g1","displayName":"Test SCIMv2"}}]),
    );
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert_eq!(member_ids(&g).len(), 2);
}

#[test]
fn okta_membership_delta_remove_and_add_in_one_request() {
    let g = ok(
        groups(),
        &group(),
        json!([
        {"op":"remove","path":"members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"},
        {"op":"add","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}]),
    );
    assert_eq!(
        member_ids(&g),
        vec![
            "2819c223-7f76-453a-919d-413861904646",
            "23a35c27-23d3-4c03-b4c5-6443c09e7173"
        ]
    );
}

#[test]
fn checklist_28_okta_deactivate_and_reactivate_pathless() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"replace","value":{"active":false}}]),
    );
    assert_eq!(u["active"], false);
    let u = ok(
        users(),
        &u,
        json!([{"op":"replace","value":{"active":true}}]),
    );
    assert_eq!(u["active"], true);
}

#[test]
fn checklist_19_remove_members_with_value_list_removes_only_those_and_stale_remove_is_ok() {
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"Remove","path":"members","value":[{"value":"2819c223-7f76-453a-919d-413861904646"}]}]),
    );
    assert_eq!(member_ids(&g), vec!["902c246b-6245-4190-8e05-00816be7344a"]);
    let g2 = ok(
        groups(),
        &g,
        json!([{"op":"remove","path":"members[value eq \"not-a-member\"]"}]),
    );
    assert_eq!(g2, g);
    let e = PatchRequest::parse(&json!({"Operations":[{"op":"remove"}]}));
    assert!(
        matches!(e, Err(ScimError::NoTarget(_))),
        "remove without path is noTarget"
    );
}

#[test]
fn checklist_20_replace_members_including_empty_and_pathless() {
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"replace","path":"members","value":[]}]),
    );
    assert!(g.get("members").is_none());
    let g = ok(
        groups(),
        &group(),
        json!([{"op":"replace","value":{"members":[{"value":"z"}]}}]),
    );
    assert_eq!(member_ids(&g), vec!["z"]);
}

#[test]
fn checklist_21_add_or_replace_on_absent_typed_value_creates_it() {
    let mut u = user();
    if let Some(o) = u.as_object_mut() {
        o.remove("emails");
    }
    let u2 = ok(
        users(),
        &u,
        json!([{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@contoso.com"}]),
    );
    assert_eq!(
        u2["emails"],
        json!([{"type":"work","value":"a@contoso.com"}])
    );
    let u3 = ok(
        users(),
        &u,
        json!([{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@contoso.com"}]),
    );
    assert_eq!(
        u3["emails"],
        json!([{"type":"work","value":"b@contoso.com"}])
    );
    let u4 = ok(
        users(),
        &u2,
        json!([{"op":"replace","path":"emails[type eq \"work\"].value","value":"c@contoso.com"}]),
    );
    assert_eq!(
        u4["emails"],
        json!([{"type":"work","value":"c@contoso.com"}]),
        "existing work email replaced, not duplicated"
    );
}

/// RFC 7644 section 3.5.2.3 with RFC 7643 section 2.5: replacing a value with `""` or `null`
/// clears it. Microsoft's gallery validation clears attributes exactly this way; answering 200
/// and keeping the old value would be a silent ignore.
#[test]
fn replace_with_empty_or_null_on_a_value_path_clears_it() {
    let mut u = user();
    u["phoneNumbers"] =
        json!([{"type":"work","value":"+1 555 0100"},{"type":"mobile","value":"+1 555 0101"}]);
    for cleared in [json!(""), Value::Null] {
        for op in ["replace", "add", "Replace"] {
            let got = ok(
                users(),
                &u,
                json!([{"op":op,"path":"emails[type eq \"work\"].value","value":cleared}]),
            );
            assert_eq!(
                got["emails"],
                json!([{"value":"babs@jensen.org","type":"home"}]),
                "{op} {cleared}: the work email is gone, the home one stays"
            );
            let got = ok(
                users(),
                &u,
                json!([{"op":op,"path":"phoneNumbers[type eq \"work\"].value","value":cleared}]),
            );
            assert_eq!(
                got["phoneNumbers"],
                json!([{"type":"mobile","value":"+1 555 0101"}])
            );
            let got = ok(
                users(),
                &u,
                json!([{"op":op,"path":"addresses[type eq \"work\"].streetAddress","value":cleared}]),
            );
            assert_eq!(
                got["addresses"],
                json!([{"type":"work","locality":"Hollywood"}]),
                "a sub-attribute other than value goes alone"
            );
            // The same key in a path-less value.
            let got = ok(
                users(),
                &u,
                json!([{"op":op,"value":{"emails[type eq \"work\"].value":cleared}}]),
            );
            assert_eq!(
                got["emails"],
                json!([{"value":"babs@jensen.org","type":"home"}])
            );
        }
        // A whole selected value replaced by nothing goes too.
        let got = ok(
            users(),
            &u,
            json!([{"op":"replace","path":"emails[type eq \"home\"]","value":cleared}]),
        );
        assert_eq!(
            got["emails"],
            json!([{"value":"bjensen@example.com","type":"work","primary":true}])
        );
        // Clearing what is not there changes nothing and succeeds.
        let got = ok(
            users(),
            &u,
            json!([{"op":"replace","path":"emails[type eq \"other\"].value","value":cleared}]),
        );
        assert_eq!(got["emails"], u["emails"]);
        // Without a filter: the attribute, or the sub-attribute, is cleared.
        let got = ok(
            users(),
            &u,
            json!([{"op":"replace","path":"name.givenName","value":cleared},{"op":"replace","path":"title","value":cleared}]),
        );
        assert_eq!(got["name"], json!({"familyName":"Jensen"}));
        assert!(got.get("title").is_none());
    }
}

#[test]
fn checklist_22_string_booleans_are_accepted() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"Replace","path":"active","value":"False"}]),
    );
    assert_eq!(u["active"], false);
    let u = ok(
        users(),
        &u,
        json!([{"op":"replace","path":"active","value":"true"}]),
    );
    assert_eq!(u["active"], true);
}

#[test]
fn checklist_23_roles_object_primary_path_stringified_and_replace() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b0\",\"value\":\"Creator\",\"displayName\":\"Creator role\"}"}]}]),
    );
    assert_eq!(
        u["roles"],
        json!([{"value":"Creator","display":"Creator role"}])
    );
    let u = ok(
        users(),
        &u,
        json!([{"op":"replace","path":"roles","value":[{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"User","value":"Viewer"}]}]),
    );
    assert_eq!(u["roles"].as_array().map(Vec::len), Some(1));
    assert_eq!(u["roles"][0]["value"], "Viewer");
    let u = ok(
        users(),
        &u,
        json!([{"op":"replace","path":"roles[primary eq \"True\"].value","value":"Explorer"}]),
    );
    assert!(u["roles"].as_array().is_some_and(|r| r
        .iter()
        .any(|x| x["value"] == "Explorer" && x["primary"] == true)));
}

#[test]
fn checklist_24_manager_string_object_or_array_becomes_an_object() {
    for v in [
        json!("m-9"),
        json!({"value":"m-9"}),
        json!([{"value":"m-9"}]),
    ] {
        let u = ok(
            users(),
            &user(),
            json!([{"op":"add","path":format!("{ENTERPRISE_USER}:manager"),"value":v}]),
        );
        assert_eq!(u[ENTERPRISE_USER]["manager"], json!({"value":"m-9"}));
    }
}

/// `urn:...:enterprise:2.0:User.manager` (a dot where RFC 7644 section 3.10 has a colon, as
/// Microsoft's sample collections write it) is the enterprise `manager`, for add, replace and
/// remove alike, by path and as a path-less key: never a 200 for a change not made.
#[test]
fn a_dotted_extension_path_names_the_extension_attribute() {
    let dotted = format!("{ENTERPRISE_USER}.manager");
    let added = ok(
        users(),
        &user(),
        json!([{"op":"add","path":dotted,"value":{"value":"m-1"}}]),
    );
    assert_eq!(added[ENTERPRISE_USER]["manager"], json!({"value":"m-1"}));
    let replaced = ok(
        users(),
        &added,
        json!([{"op":"replace","path":dotted,"value":"m-2"}]),
    );
    assert_eq!(replaced[ENTERPRISE_USER]["manager"], json!({"value":"m-2"}));
    let removed = ok(users(), &replaced, json!([{"op":"remove","path":dotted}]));
    assert!(removed
        .get(ENTERPRISE_USER)
        .is_none_or(|e| e.get("manager").is_none()));
    let pathless = ok(
        users(),
        &user(),
        json!([{"op":"replace","value":{format!("{ENTERPRISE_USER}.department"):"Tour Operations"}}]),
    );
    assert_eq!(pathless[ENTERPRISE_USER]["department"], "Tour Operations");
    // A dotted name the schema does not have is refused, as with a colon.
    let unknown = run(
        users(),
        &user(),
        json!([{"op":"add","path":format!("{ENTERPRISE_USER}.shoeSize"),"value":"9"}]),
    );
    assert!(
        matches!(unknown, Err(ScimError::InvalidPath(_))),
        "{unknown:?}"
    );
}

#[test]
fn checklist_25_primary_true_clears_others_and_two_primaries_are_invalid() {
    let u = ok(
        users(),
        &user(),
        json!([{"op":"add","path":"emails","value":[{"value":"new@x.com","type":"other","primary":true}]}]),
    );
    let primaries: Vec<&Value> = u["emails"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["primary"] == true).collect())
        .unwrap_or_default();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "new@x.com");
    let e = run(
        users(),
        &user(),
        json!([{"op":"replace","path":"emails","value":[{"value":"a","primary":true},{"value":"b","primary":true}]}]),
    );
    assert!(matches!(e, Err(ScimError::InvalidValue(_))));
}

#[test]
fn checklist_26_patch_that_changes_nothing_returns_an_equal_resource() {
    let before = user();
    let after = ok(
        users(),
        &before,
        json!([{"op":"replace","path":"name.givenName","value":"Barbara"},{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work","primary":true}]}]),
    );
    assert_eq!(
        after, before,
        "equal result lets the backend skip the write and keep lastModified"
    );
}

#[test]
fn empty_operations_is_a_no_op() {
    // The Microsoft validator sends `"Operations": []` (scim-idp.md section 1.9).
    let u = ok(users(), &user(), json!([]));
    assert_eq!(u, user());
}

#[test]
fn tableau_30_extension_site_roles_are_read_as_roles() {
    let body = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:tableau:3.0:User","urn:ietf:params:scim:schemas:extension:tableau:3.0"],
        "userName":"user@x.com","name":{"familyName":"F","givenName":"G"},"active":true,
        "urn:ietf:params:scim:schemas:extension:tableau:3.0":{"siteRoles":[{"value":"Explorer"}],"entitlements":[{"value":"Viewer"}]}});
    let u = resource::from_input(&users(), &body).map_err(|e| e.to_string());
    assert_eq!(
        u.as_ref().map(|u| u["roles"].clone()),
        Ok(json!([{"value":"Explorer"}]))
    );
    assert!(u.is_ok_and(|u| u
        .get("urn:ietf:params:scim:schemas:extension:tableau:3.0:User")
        .is_none()));
    let p = ok(
        users(),
        &user(),
        json!([{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:tableau:3.0:User:siteRoles","value":[{"value":"Creator"}]}]),
    );
    assert_eq!(p["roles"], json!([{"value":"Creator"}]));
    // With no siteRoles, Tableau's SCIM reads entitlements, and so do we.
    let only = json!({"userName":"user@x.com",
        "urn:ietf:params:scim:schemas:extension:tableau:3.0:User":{"entitlements":[{"value":"Creator"}]}});
    let u = resource::from_input(&users(), &only).map_err(|e| e.to_string());
    assert_eq!(
        u.map(|u| u["roles"].clone()),
        Ok(json!([{"value":"Creator"}]))
    );
}

#[test]
fn checklist_13_14_input_ignores_password_readonly_and_unknown_keys() {
    let body = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "id":"client-chosen","meta":{"resourceType":"User"},"groups":[],"password":"1mz050nq",
        "userName":"test.user@okta.local","prefferedLanguage":"typo","addresses":null,"phoneNumbers":null,
        "emails":[{"primary":"True","value":"test.user@okta.local","type":"work","display":"x"}],
        "urn:ietf:params:scim:schemas:extension:Custom:2.0:User":{"badge":"1"}});
    let u = resource::from_input(&users(), &body).map_err(|e| e.to_string());
    assert_eq!(
        u,
        Ok(
            json!({"userName":"test.user@okta.local","emails":[{"primary":true,"value":"test.user@okta.local","type":"work","display":"x"}]})
        )
    );
}

#[test]
fn checklist_22_input_type_errors_are_invalid_value_and_name_the_attribute() {
    for (body, needle) in [
        (json!({"userName": 5}), "userName"),
        (json!({"userName":"a","active":"maybe"}), "active"),
        (json!({"userName":"a","name":"Barbara"}), "name"),
        (
            json!({"userName":"a","emails":[{"value":1}]}),
            "emails.value",
        ),
    ] {
        match resource::from_input(&users(), &body) {
            Err(ScimError::InvalidValue(d)) => assert!(d.contains(needle), "{d}"),
            other => panic!("{body} should be invalidValue, got {other:?}"),
        }
    }
    assert!(matches!(
        resource::from_input(&users(), &json!([1])),
        Err(ScimError::InvalidSyntax(_))
    ));
    assert!(matches!(
        resource::check_required(&users(), &json!({"userName":"  "})),
        Err(ScimError::InvalidValue(_))
    ));
}

/// Adding and removing many values is matched by key, once each (SECURITY.md, bounds): the
/// result is what one-by-one matching gave, for thousands of values.
#[test]
fn many_members_are_added_and_removed_by_key_each_once() {
    let existing: Vec<Value> = (0..5_000)
        .map(|i| json!({"value": format!("m{i:05}"), "type": "User"}))
        .collect();
    let g = json!({"id": "g1", "displayName": "Big", "members": existing});
    let added: Vec<Value> = (2_500..7_500)
        .map(|i| json!({"value": format!("m{i:05}")}))
        .collect();
    let grown = ok(
        groups(),
        &g,
        json!([{"op": "add", "path": "members", "value": added}]),
    );
    assert_eq!(
        member_ids(&grown).len(),
        7_500,
        "the 2,500 already in are not repeated"
    );
    let gone: Vec<Value> = (0..7_000)
        .map(|i| json!({"value": format!("m{i:05}")}))
        .collect();
    let shrunk = ok(
        groups(),
        &grown,
        json!([{"op": "remove", "path": "members", "value": gone}]),
    );
    assert_eq!(
        member_ids(&shrunk),
        (7_000..7_500)
            .map(|i| format!("m{i:05}"))
            .collect::<Vec<_>>()
    );
    // Case rules hold: emails' values are not caseExact, so one address is one value.
    let u = ok(
        users(),
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "BJENSEN@example.com", "type": "work"}]}]),
    );
    assert_eq!(
        u["emails"].as_array().map(Vec::len),
        Some(2),
        "{}",
        u["emails"]
    );
}
