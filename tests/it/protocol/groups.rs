//! /Groups: the Okta flow with group push, groups created empty and filled by PATCH.

use super::*;

#[tokio::test]
async fn checklist_28_okta_create_flow_deactivate_keeps_memberships_and_group_push() {
    let app = spawn().await;
    let lookup = app
        .read("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100")
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let created = app.request(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
        "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
        "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    let deact = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}))).await;
    assert_eq!(deact.body["active"], false);
    let group = app.request(Method::POST, "/Groups", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}))).await;
    assert_eq!(group.status, StatusCode::CREATED);
    let gid = group.body["id"].as_str().unwrap_or_default().to_string();
    let rename = app.request(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":gid,"displayName":"Test SCIMv2"}}]}))).await;
    assert_eq!(rename.status, StatusCode::OK);
    let add = app.request(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":id,"display":"test.user@okta.local"}]}]}))).await;
    // Members alone changed and no attributes asked for: 204, no body (RFC 7644 3.5.2).
    assert_eq!(add.status, StatusCode::NO_CONTENT);
    assert!(add.body.is_null(), "{}", add.body);
    let add = app.read(&format!("/Groups/{gid}")).await;
    assert_eq!(add.body["members"][0]["value"], json!(id));
    assert!(
        add.body["members"][0].get("display").is_none(),
        "members are served as written"
    );
    let user = app.read(&format!("/Users/{id}?attributes=groups")).await;
    assert_eq!(
        user.body["groups"][0]["value"],
        json!(gid),
        "inactive user keeps its memberships"
    );
    let excluded = app
        .read(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(excluded.body.get("members").is_none());
    let by_name = app
        .read("/Groups?excludedAttributes=members&filter=displayName+eq+%22Test+SCIMv2%22")
        .await;
    assert_eq!(by_name.body["totalResults"], 1);
    assert!(by_name.body["Resources"][0].get("members").is_none());
    let bad_member = app.request(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations":[{"op":"add","path":"members","value":[{"value":"not-a-user"}]}]}))).await;
    assert_seen!(bad_member, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "member 'not-a-user' is not the id of a known User or Group",
        "scimType": "invalidValue"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_30_groups_created_empty_filled_by_patch_and_names_unique() {
    let app = spawn().await;
    let a = create_user(&app, "a@example.com").await;
    let b = create_user(&app, "b@example.com").await;
    let g = app.request(Method::POST, "/Groups", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","meta":{"resourceType":"Group"}}))).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap_or_default();
    let add = app
        .request(
            Method::PATCH,
            // Asking for attributes brings the resource back.
            &format!("/Groups/{gid}?attributes=members,displayName"),
            Some(
                json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
        {"op":"Add","path":"members","value":[{"$ref":null,"value":a["id"]},{"value":b["id"]}]}]}),
            ),
        )
        .await;
    assert_eq!(add.body["members"].as_array().map(Vec::len), Some(2));
    let rm = app
        .request(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(
                json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
        {"op":"Remove","path":"members","value":[{"value":a["id"]}]}]}),
            ),
        )
        .await;
    assert_eq!(rm.status, StatusCode::NO_CONTENT);
    let rm = app.read(&format!("/Groups/{gid}")).await;
    assert_eq!(
        rm.body["members"],
        json!([{"value":b["id"]}]),
        "members are served as written"
    );
    assert_seen!(app.request(
            Method::POST,
            "/Groups",
            Some(json!({"displayName":"SALES"})),
        )
        .await, @r#"
    {
      "status": 409,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "409",
        "detail": "a Group with displayName 'SALES' already exists",
        "scimType": "uniqueness"
      }
    }
    "#);
    let ext = app
        .read("/Groups?filter=externalId%20eq%20%228aa1a0c0-c4c3-4bc0-b4a5-2ef676900159%22")
        .await;
    assert_eq!(ext.body["totalResults"], 1);
    let put = app
        .request(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({"displayName":"Sales","members":[{"value":a["id"]}]})),
        )
        .await;
    assert_eq!(
        put.body["members"].as_array().map(Vec::len),
        Some(1),
        "checklist 29: PUT sets exactly the given members"
    );
    assert!(
        put.body.get("externalId").is_none(),
        "PUT clears what it omits"
    );
}
