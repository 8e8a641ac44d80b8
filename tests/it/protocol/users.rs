//! /Users: status codes and bodies, uniqueness, filters, paging, attribute selection, PUT, PATCH and ETags, search, and the shapes Entra ID sends.

use super::*;

#[tokio::test]
async fn checklist_03_status_codes_location_and_bodies() {
    let app = spawn().await;
    let created = app
        .request(Method::POST, "/Users", Some(json!({"userName":"bjensen"})))
        .await;
    let loc = created.header("location").to_string();
    assert_eq!(created.body["meta"]["location"], json!(loc));
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    assert!(loc.ends_with(&format!("/Users/{id}")), "{loc}");
    let put = app
        .request(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName":"bjensen","nickName":"B"})),
        )
        .await;
    let patch = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"nickName","value":"C"}]}))).await;
    let del = app
        .request(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_seen!(vec![created, put, patch, del], @r#"
    [
      {
        "status": 201,
        "content-type": "application/scim+json",
        "etag": "[version]",
        "location": "[location]",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "id": "[id]",
          "meta": {
            "created": "[time]",
            "lastModified": "[time]",
            "version": "[version]",
            "resourceType": "User",
            "location": "[location]"
          },
          "userName": "bjensen"
        }
      },
      {
        "status": 200,
        "content-type": "application/scim+json",
        "etag": "[version]",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "id": "[id]",
          "userName": "bjensen",
          "nickName": "B",
          "meta": {
            "created": "[time]",
            "lastModified": "[time]",
            "version": "[version]",
            "resourceType": "User",
            "location": "[location]"
          }
        }
      },
      {
        "status": 200,
        "content-type": "application/scim+json",
        "etag": "[version]",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "id": "[id]",
          "userName": "bjensen",
          "nickName": "C",
          "meta": {
            "created": "[time]",
            "lastModified": "[time]",
            "version": "[version]",
            "resourceType": "User",
            "location": "[location]"
          }
        }
      },
      {
        "status": 204,
        "content-type": "",
        "body": null
      }
    ]
    "#);
    assert_seen!(app.read(&format!("/Users/{id}")).await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no User with id '[id]'"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_04_duplicate_user_name_is_409_and_deleted_users_do_not_count() {
    let app = spawn().await;
    let first = create_user(&app, "Dup@Example.com").await;
    let dup = app
        .request(
            Method::POST,
            "/Users",
            Some(json!({"userName":"dup@example.COM"})),
        )
        .await;
    assert_seen!(dup, @r#"
    {
      "status": 409,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "409",
        "detail": "a User with userName 'dup@example.COM' already exists",
        "scimType": "uniqueness"
      }
    }
    "#);
    let other = create_user(&app, "other@example.com").await;
    let clash = app
        .request(
            Method::PUT,
            &format!("/Users/{}", other["id"].as_str().unwrap_or_default()),
            Some(json!({"userName":"DUP@example.com"})),
        )
        .await;
    assert_seen!(clash, @r#"
    {
      "status": 409,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "409",
        "detail": "a User with userName 'DUP@example.com' already exists",
        "scimType": "uniqueness"
      }
    }
    "#);
    let clash = app.request(Method::PATCH, &format!("/Users/{}", other["id"].as_str().unwrap_or_default()), Some(json!({"Operations":[{"op":"replace","path":"userName","value":"dup@EXAMPLE.com"}]}))).await;
    assert_seen!(clash, @r#"
    {
      "status": 409,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "409",
        "detail": "a User with userName 'dup@EXAMPLE.com' already exists",
        "scimType": "uniqueness"
      }
    }
    "#);
    app.request(
        Method::DELETE,
        &format!("/Users/{}", first["id"].as_str().unwrap_or_default()),
        None,
    )
    .await;
    create_user(&app, "Dup@Example.com").await;
}

#[tokio::test]
async fn checklist_05_06_08_unmatched_filter_is_empty_list_and_filters_decode_plus_and_percent_20()
{
    let app = spawn().await;
    create_user(&app, "test.user@okta.local").await;
    let none = app
        .read("/Users?filter=userName%20eq%20%22nobody%40okta.local%22&startIndex=1&count=100")
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    assert_eq!(
        none.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    // Okta's %20 and upper-cased userName, Entra's +.
    for q in [
        "filter=userName%20eq%20%22TEST.USER%40okta.local%22",
        "filter=userName+eq+%22test.user%40okta.local%22",
        "filter=USERNAME+EQ+%22test.user%40okta.local%22",
    ] {
        let r = app.read(&format!("/Users?{q}")).await;
        assert_eq!(r.body["totalResults"], 1, "{q}");
    }
    // Entra's connection test: a random GUID on the matching attribute.
    let r = app
        .read("/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );
}

#[tokio::test]
async fn checklist_06_inactive_users_stay_visible_to_filters_and_uniqueness() {
    let app = spawn().await;
    let u = create_user(&app, "gone@example.com").await;
    let id = u["id"].as_str().unwrap_or_default();
    app.request(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({"Operations":[{"op":"replace","value":{"active":false}}]})),
    )
    .await;
    let r = app
        .read("/Users?filter=userName%20eq%20%22gone%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["active"], false);
    assert_seen!(app.request(
            Method::POST,
            "/Users",
            Some(json!({"userName":"gone@example.com"})),
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
        "detail": "a User with userName 'gone@example.com' already exists",
        "scimType": "uniqueness"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_11_paging_is_one_based_clamped_and_stable() {
    let app = spawn().await;
    for i in 0..7 {
        create_user(&app, &format!("user{i}@example.com")).await;
    }
    let page = |q: &'static str| app.read(q);
    let p = page("/Users?startIndex=1&count=3").await;
    assert_eq!(
        (
            p.body["totalResults"].clone(),
            p.body["itemsPerPage"].clone(),
            p.body["startIndex"].clone()
        ),
        (json!(7), json!(3), json!(1))
    );
    let p = page("/Users?startIndex=7&count=3").await;
    assert_eq!(p.body["itemsPerPage"], 1);
    let p = page("/Users?startIndex=0&count=2").await;
    assert_eq!(p.body["startIndex"], 1, "startIndex < 1 is 1");
    let p = page("/Users?count=0").await;
    assert_eq!(
        (p.body["totalResults"].clone(), p.body["Resources"].clone()),
        (json!(7), json!([]))
    );
    let p = page("/Users?count=-4").await;
    assert_eq!(p.body["itemsPerPage"], 0, "negative count is 0");
    let p = page("/Users").await;
    assert_eq!(
        p.body["itemsPerPage"], MAX_PAGE,
        "no count: the server maximum"
    );
    let p = page("/Users?count=1000").await;
    assert_eq!(
        p.body["itemsPerPage"], MAX_PAGE,
        "never more than the maximum"
    );
    let p = page("/Users?startIndex=50").await;
    assert_eq!(
        (p.body["totalResults"].clone(), p.body["Resources"].clone()),
        (json!(7), json!([]))
    );
    // Okta's import: pages of 2 cover everyone exactly once, in a stable order.
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let p = app
            .read(&format!("/Users?startIndex={start}&count=2"))
            .await;
        let items = p.body["Resources"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        seen.extend(
            items
                .iter()
                .filter_map(|u| u["id"].as_str().map(str::to_string)),
        );
        start += 2;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (7, 7));
    assert!(p_is_integer(&app.read("/Users?count=1").await.body));
}

fn p_is_integer(b: &Value) -> bool {
    b["totalResults"].is_u64() && b["startIndex"].is_u64() && b["itemsPerPage"].is_u64()
}

#[tokio::test]
async fn checklist_12_attribute_selection_on_reads_and_writes() {
    let app = spawn().await;
    let u = create_user(&app, "sel@example.com").await;
    let id = u["id"].as_str().unwrap_or_default();
    let r = app.read(&format!("/Users/{id}?attributes=userName")).await;
    let keys: Vec<&String> = r
        .body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, vec!["schemas", "id", "userName"]);
    let r = app.read(&format!("/Users/{id}?attributes=name.givenName,urn:ietf:params:scim:schemas:core:2.0:User:emails.value")).await;
    assert_eq!(r.body["name"], json!({"givenName":"G"}));
    assert_eq!(r.body["emails"], json!([{"value":"sel@example.com"}]));
    let r = app
        .read(&format!(
            "/Users/{id}?excludedAttributes=emails,name.familyName,id"
        ))
        .await;
    assert!(r.body.get("emails").is_none());
    assert_eq!(r.body["name"], json!({"givenName":"G"}));
    assert_eq!(r.body["id"], json!(id), "id is returned always");
    let r = app
        .read("/Users?attributes=userName&filter=userName%20eq%20%22sel%40example.com%22")
        .await;
    assert_eq!(r.body["Resources"][0].as_object().map(|o| o.len()), Some(3));
    let r = app
        .request(
            Method::PATCH,
            &format!("/Users/{id}?attributes=nickName"),
            Some(json!({"Operations":[{"op":"add","path":"nickName","value":"N"}]})),
        )
        .await;
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(3), "{}", r.body);
    let r = app.read(&format!("/Users/{id}?attributes=password")).await;
    assert!(
        r.body.get("password").is_none(),
        "returned:never never appears"
    );
}

#[tokio::test]
async fn checklist_13_password_is_accepted_and_never_returned() {
    let app = spawn().await;
    let r = app
        .request(
            Method::POST,
            "/Users",
            Some(json!({"userName":"pw@okta.local","password":"1mz050nq"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body.get("password").is_none());
    let again = app
        .read(&format!(
            "/Users/{}",
            r.body["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert!(!again.body.to_string().contains("1mz050nq"));
}

#[tokio::test]
async fn checklist_33_search_at_the_root_and_per_resource_type() {
    let app = spawn().await;
    create_user(&app, "s1@example.com").await;
    create_user(&app, "s2@example.com").await;
    app.request(
        Method::POST,
        "/Groups",
        Some(json!({"displayName":"Searchers"})),
    )
    .await;
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"attributes":["userName"],"filter":"userName sw \"s\"","startIndex":1,"count":10});
    let r = app
        .request(Method::POST, "/Users/.search", Some(body))
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].clone()),
        (StatusCode::OK, json!(2))
    );
    assert!(r.body["Resources"][0].get("emails").is_none());
    let all = app.request(Method::POST, "/.search", Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"startIndex":2,"count":2}))).await;
    assert_eq!(all.body["totalResults"], 3);
    assert_eq!(all.body["itemsPerPage"], 2);
    assert_eq!(
        all.body["Resources"][1]["displayName"], "Searchers",
        "users first, then groups"
    );
    let groups_only = app
        .request(
            Method::POST,
            "/.search",
            Some(json!({"filter":"displayName eq \"Searchers\""})),
        )
        .await;
    assert_eq!(groups_only.body["totalResults"], 1);
    let bad = app
        .request(
            Method::POST,
            "/.search",
            Some(json!({"filter":"nope eq 1"})),
        )
        .await;
    assert_seen!(bad, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "unknown attribute 'nope' for User resources",
        "scimType": "invalidFilter"
      }
    }
    "#);
    let bad = app
        .request(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]})),
        )
        .await;
    assert_seen!(bad, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "a search body's \"schemas\" must be [\"urn:ietf:params:scim:api:messages:2.0:SearchRequest\"]",
        "scimType": "invalidSyntax"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_14_29_put_ignores_readonly_and_clears_omitted_attributes() {
    let app = spawn().await;
    let u = create_user(&app, "put@example.com").await;
    let id = u["id"].as_str().unwrap_or_default();
    let mut okta_put = u.clone();
    okta_put["name"] = json!({"givenName":"Another","middleName":"Excited","familyName":"User"});
    okta_put["groups"] = json!([]);
    okta_put["meta"] = json!({"resourceType":"User"});
    if let Some(o) = okta_put.as_object_mut() {
        o.remove("emails");
    }
    let r = app
        .request(Method::PUT, &format!("/Users/{id}"), Some(okta_put))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["middleName"], "Excited");
    assert!(
        r.body.get("emails").is_none(),
        "omitted readWrite attribute cleared"
    );
    assert_eq!(r.body["id"], json!(id));
    assert_seen!(app.request(Method::PUT, "/Users/nope", Some(json!({"userName":"x"})))
            .await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no User with id 'nope'"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_26_unchanged_put_or_patch_keeps_last_modified_and_etags_work() {
    let app = spawn().await;
    let u = create_user(&app, "etag@example.com").await;
    let id = u["id"].as_str().unwrap_or_default();
    let etag = u["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let same = app
        .request(Method::PUT, &format!("/Users/{id}"), Some(u.clone()))
        .await;
    assert_eq!(same.body["meta"]["lastModified"], u["meta"]["lastModified"]);
    assert_eq!(same.body["meta"]["version"], json!(etag));
    let patch = app
        .request(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"Operations":[{"op":"replace","path":"active","value":true}]})),
        )
        .await;
    assert_eq!(patch.body["meta"]["version"], json!(etag));
    // If-None-Match on GET.
    let r = app
        .with_header("If-None-Match", &etag)
        .read(&format!("/Users/{id}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    // A change moves the version; the old one then fails If-Match.
    let changed = app
        .request(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"Operations":[{"op":"add","path":"nickName","value":"E"}]})),
        )
        .await;
    assert_ne!(changed.body["meta"]["version"], json!(etag));
    let stale = app
        .with_header("If-Match", &etag)
        .raw(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(TOKEN),
            Some("application/json"),
            Some(
                json!({"Operations":[{"op":"add","path":"nickName","value":"F"}]})
                    .to_string()
                    .into(),
            ),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let current = changed.body["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let fresh = app
        .with_header("If-Match", &current)
        .request(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(fresh.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn entra_user_provisioning_shapes() {
    let app = spawn().await;
    let r = app.request(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee","active":"True",
        "emails":[{"primary":true,"type":"work","value":"Test_User_11bb11bb@testuser.com"}],"meta":{"resourceType":"User"},
        "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[],"addresses":null,"manager":null}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["active"], true);
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    let by_ext = app
        .read("/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(by_ext.body["totalResults"], 1);
    let by_ext_case = app
        .read("/Users?filter=externalId+eq+%220A21F0F2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(
        by_ext_case.body["totalResults"], 0,
        "externalId is caseExact"
    );
    let by_mail = app.read("/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22test_user_11bb11bb%40testuser.com%22").await;
    assert_eq!(by_mail.body["totalResults"], 1);
    let p = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
        {"op":"Replace","path":"displayName","value":"Pvlo"},
        {"op":"Replace","path":"emails[type eq \"work\"].value","value":"TestBcwqnm@test.microsoft.com"},
        {"op":"Replace","path":"name.givenName","value":"Gtfd"},{"op":"Replace","path":"externalId","value":"Eqpj"},
        {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]}))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(
        p.body["emails"][0]["value"],
        "TestBcwqnm@test.microsoft.com"
    );
    assert_eq!(
        p.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "Eqpj"
    );
    assert!(p.body["schemas"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ))));
    let off = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}))).await;
    assert_eq!(off.body["active"], false);
    let empty = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}))).await;
    assert_eq!(empty.status, StatusCode::OK);
}
