//! Protocol tests over HTTP: the real server on a random port, an in-memory store per test.
//! Each checklist item of `../shared/reference/scim-idp.md` that belongs to the protocol layer
//! has a test named `checklist_NN_...`.

use crate::common;

use std::sync::Arc;

use common::{Idp, Reply};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::backend::memory::MemoryStore;
use tableau_scim::http::{self, AppState, HttpSettings, TokenDigest, TokenSet};

const TOKEN: &str = "test-token-1";
const SECOND_TOKEN: &str = "test-token-2";
const MAX_BODY: usize = 8 * 1024;
const MAX_PAGE: usize = 5;

/// A protocol-only server (the in-memory store) with two accepted tokens, small limits, and an
/// IdP holding the first token.
async fn spawn() -> Idp {
    let state = AppState::single(
        Arc::new(MemoryStore::new()),
        TokenSet::new(vec![TokenDigest::of(TOKEN), TokenDigest::of(SECOND_TOKEN)]),
        HttpSettings {
            max_body_bytes: MAX_BODY,
            max_page_size: MAX_PAGE,
            ..HttpSettings::default()
        },
    );
    let server = http::start("127.0.0.1:0", state, 1).expect("the server starts");
    Idp::new(&format!("http://{}/scim/v2", server.addr), TOKEN)
}

/// POST a user with a name and a primary work email; it must be created.
async fn create_user(app: &Idp, user_name: &str) -> Value {
    let r = app.request(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":user_name,
        "name":{"givenName":"G","familyName":"F"},"emails":[{"value":user_name,"type":"work","primary":true}],"active":true}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// Every error is SCIM JSON with a string status (checklist 2).
fn assert_scim_error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert!(
        r.header("content-type")
            .starts_with("application/scim+json"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(r.body["status"], json!(status.to_string()));
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        r.body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{}",
        r.body
    );
}

// ---- discovery ----

#[tokio::test]
async fn checklist_31_discovery_endpoints_exist_get_only_and_refuse_filters() {
    let app = spawn().await;
    let spc = app.read("/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(
        spc.body["filter"]["maxResults"], MAX_PAGE,
        "checklist 11: advertised page size"
    );
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    assert!(spc.body["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.ends_with("/ServiceProviderConfig")));

    let rts = app.read("/ResourceTypes").await;
    assert_eq!(rts.body["totalResults"], 2);
    let user_rt = app.read("/ResourceTypes/User").await;
    assert_eq!(user_rt.body["endpoint"], "/Users");
    assert_eq!(
        user_rt.body["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_scim_error(&app.read("/ResourceTypes/Printer").await, 404, None);

    let schemas = app.read("/Schemas").await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default();
    for urn in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:tableau-scim:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
        "urn:ietf:params:scim:schemas:core:2.0:Schema",
    ] {
        assert!(ids.contains(&urn), "{urn} missing from /Schemas");
    }
    let one = app
        .read("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["meta"]["resourceType"], "Schema");
    assert_scim_error(&app.read("/Schemas/urn:nope").await, 404, None);

    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        assert_scim_error(
            &app.read(&format!("{path}?filter=id%20pr")).await,
            403,
            None,
        );
        let r = app.request(Method::POST, path, Some(json!({}))).await;
        assert_scim_error(&r, 405, None);
        assert_eq!(r.header("allow"), "GET");
    }
}

#[tokio::test]
async fn checklist_27_32_schemas_advertise_only_what_is_stored_and_values_echo_exactly() {
    let app = spawn().await;
    let user = app
        .read("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    let names: Vec<&str> = user.body["attributes"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    for absent in ["ims", "photos", "entitlements", "x509Certificates"] {
        assert!(
            !names.contains(&absent),
            "{absent} is advertised but not stored"
        );
    }
    // Every advertised writable attribute survives a round trip through the store.
    let body = json!({"userName":"rt@example.com","name":{"formatted":"A B","familyName":"B","givenName":"A","middleName":"M","honorificPrefix":"Dr","honorificSuffix":"III"},
        "displayName":"A B","nickName":"ab","profileUrl":"https://example.com/ab","title":"t","userType":"Employee","preferredLanguage":"en","locale":"en-US","timezone":"Europe/Paris","active":true,
        "emails":[{"value":"rt@example.com","type":"work","primary":true,"display":"w"}],"phoneNumbers":[{"value":"+1","type":"mobile"}],
        "addresses":[{"formatted":"f","streetAddress":"s","locality":"l","region":"r","postalCode":"p","country":"c","type":"work","primary":true}],
        "roles":[{"value":"Creator","display":"Creator","type":"site","primary":true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1","costCenter":"c","organization":"o","division":"d","department":"dep","manager":{"value":"m"}}});
    let created = app
        .request(Method::POST, "/Users", Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let got = app
        .read(&format!(
            "/Users/{}",
            created.body["id"].as_str().unwrap_or_default()
        ))
        .await;
    for (k, v) in body.as_object().into_iter().flatten() {
        assert_eq!(&got.body[k], v, "checklist 27: {k} echoed exactly");
    }
}

// ---- auth ----

#[tokio::test]
async fn checklist_35_missing_or_wrong_token_is_401_scim_error() {
    let app = spawn().await;
    for token in [None, Some("wrong"), Some("")] {
        let r = app.raw(Method::GET, "/Users", token, None, None).await;
        assert_scim_error(&r, 401, None);
        assert!(r.header("www-authenticate").starts_with("Bearer"));
    }
    let basic = app
        .with_header("Authorization", "Basic dXNlcjpwYXNz")
        .raw(Method::GET, "/Users", None, None, None)
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    // Two configured tokens both work: rotation without downtime.
    assert_eq!(
        app.raw(Method::GET, "/Users", Some(SECOND_TOKEN), None, None)
            .await
            .status,
        StatusCode::OK
    );
    // The discovery endpoints are behind the token too.
    assert_scim_error(
        &app.raw(Method::GET, "/Schemas", None, None, None).await,
        401,
        None,
    );
}

// ---- bodies ----

#[tokio::test]
async fn checklist_01_scim_and_plain_json_content_types_are_accepted() {
    let app = spawn().await;
    for (i, ct) in [
        "application/scim+json",
        "application/json",
        "application/scim+json; charset=utf-8",
        "application/json;charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let r = app
            .raw(
                Method::POST,
                "/Users",
                Some(TOKEN),
                Some(ct),
                Some(json!({"userName":format!("ct{i}")}).to_string().into()),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}: {}", r.body);
        assert!(r
            .header("content-type")
            .starts_with("application/scim+json"));
    }
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("text/plain"),
            Some(json!({"userName":"x"}).to_string().into()),
        )
        .await;
    assert_scim_error(&r, 415, None);
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/x-www-form-urlencoded"),
            Some("userName=x".into()),
        )
        .await;
    assert_scim_error(&r, 415, None);
}

#[tokio::test]
async fn bad_json_wrong_types_and_oversize_bodies_get_scim_errors() {
    let app = spawn().await;
    for bad in [
        "{",
        "[1,2",
        "not json",
        "{\"userName\": \"a\",}",
        "\u{feff}{}",
    ] {
        let r = app
            .raw(
                Method::POST,
                "/Users",
                Some(TOKEN),
                Some("application/scim+json"),
                Some(bad.into()),
            )
            .await;
        assert_scim_error(&r, 400, Some("invalidSyntax"));
    }
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/scim+json"),
            None,
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = app
        .request(Method::POST, "/Users", Some(json!([{"userName":"a"}])))
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = app
        .request(Method::POST, "/Users", Some(json!({"userName": 42})))
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(r.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("userName")));
    let r = app
        .request(
            Method::POST,
            "/Users",
            Some(json!({"displayName": "no user name"})),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let huge = json!({"userName": "x".repeat(MAX_BODY + 1)});
    let r = app.request(Method::POST, "/Users", Some(huge)).await;
    assert_scim_error(&r, 413, None);
    assert!(r.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains(&MAX_BODY.to_string())));
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/json"),
            Some(deep.into()),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/json"),
            Some(
                String::from_utf8_lossy(b"{\"userName\":\"\xff\"}")
                    .replace('\u{fffd}', "\\udc00")
                    .into(),
            ),
        )
        .await;
    assert!(
        r.status.is_client_error(),
        "lone surrogate escape: {}",
        r.status
    );
    // Nothing above created a user.
    assert_eq!(app.read("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn checklist_02_every_error_is_scim_json_unknown_paths_404_bulk_501_wrong_method_405() {
    let app = spawn().await;
    assert_scim_error(&app.read("/Printers").await, 404, None);
    assert_scim_error(&app.read("/Users/no-such-id").await, 404, None);
    assert_scim_error(
        &app.request(Method::POST, "/Bulk", Some(json!({}))).await,
        501,
        None,
    );
    let r = app.request(Method::DELETE, "/Users", None).await;
    assert_scim_error(&r, 405, None);
    assert_eq!(r.header("allow"), "GET, POST");
    assert_scim_error(&app.read("/Users/.search").await, 405, None);
}

// ---- create, read, uniqueness ----

#[tokio::test]
async fn checklist_03_status_codes_location_and_bodies() {
    let app = spawn().await;
    let created = app
        .request(Method::POST, "/Users", Some(json!({"userName":"bjensen"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let loc = created.header("location").to_string();
    assert_eq!(created.body["meta"]["location"], json!(loc));
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.header("etag").starts_with("W/"));
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    let put = app
        .request(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName":"bjensen","nickName":"B"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["nickName"], "B");
    let patch = app.request(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"nickName","value":"C"}]}))).await;
    assert_eq!(patch.status, StatusCode::OK);
    assert_eq!(patch.body["nickName"], "C");
    let del = app
        .request(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_scim_error(&app.read(&format!("/Users/{id}")).await, 404, None);
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
    assert_scim_error(&dup, 409, Some("uniqueness"));
    let other = create_user(&app, "other@example.com").await;
    let clash = app
        .request(
            Method::PUT,
            &format!("/Users/{}", other["id"].as_str().unwrap_or_default()),
            Some(json!({"userName":"DUP@example.com"})),
        )
        .await;
    assert_scim_error(&clash, 409, Some("uniqueness"));
    let clash = app.request(Method::PATCH, &format!("/Users/{}", other["id"].as_str().unwrap_or_default()), Some(json!({"Operations":[{"op":"replace","path":"userName","value":"dup@EXAMPLE.com"}]}))).await;
    assert_scim_error(&clash, 409, Some("uniqueness"));
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
    assert_scim_error(
        &app.request(
            Method::POST,
            "/Users",
            Some(json!({"userName":"gone@example.com"})),
        )
        .await,
        409,
        Some("uniqueness"),
    );
}

#[tokio::test]
async fn checklist_09_10_bad_filters_are_400_invalid_filter_naming_the_problem() {
    let app = spawn().await;
    for (q, needle) in [
        ("userName%20eq", "position"),
        ("userName%20regex%20%22x%22", "operator"),
        ("nosuch%20eq%20%22x%22", "nosuch"),
        ("active%20gt%20true", "boolean"),
        ("emails%5Btype%20eq%20%22work%22", "']'"),
        ("(((((((((((((((((((((((((((((((((((((userName%20pr)))))))))))))))))))))))))))))))))))))", "nesting"),
    ] {
        let r = app.read(&format!("/Users?filter={q}")).await;
        assert_scim_error(&r, 400, Some("invalidFilter"));
        assert!(r.body["detail"].as_str().is_some_and(|d| d.contains(needle)), "{q}: {}", r.body);
    }
    let r = app.read("/Users?startIndex=abc").await;
    assert_scim_error(&r, 400, Some("invalidValue"));
}

// ---- paging ----

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

// ---- attributes ----

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

// ---- search ----

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
    assert_scim_error(&bad, 400, Some("invalidFilter"));
    let bad = app
        .request(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]})),
        )
        .await;
    assert_scim_error(&bad, 400, Some("invalidSyntax"));
}

#[tokio::test]
async fn checklist_34_unknown_query_parameters_are_ignored() {
    let app = spawn().await;
    let r = app
        .read("/Users?aadOptscim062020&sortBy=userName&foo=bar")
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

// ---- PUT, PATCH, ETags ----

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
    assert_scim_error(
        &app.request(Method::PUT, "/Users/nope", Some(json!({"userName":"x"})))
            .await,
        404,
        None,
    );
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
async fn patch_errors_over_http() {
    let app = spawn().await;
    let u = create_user(&app, "pe@example.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap_or_default());
    let r = app
        .request(
            Method::PATCH,
            &path,
            Some(json!({"Operations":[{"op":"remove"}]})),
        )
        .await;
    assert_scim_error(&r, 400, Some("noTarget"));
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"replace","path":"emails[type eq \"work\"","value":"x"}]}))).await;
    assert_scim_error(&r, 400, Some("invalidPath"));
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]}))).await;
    assert_scim_error(&r, 400, Some("mutability"));
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"add","path":"nickName","value":"ok"},{"op":"replace","path":"id","value":"x"}]}))).await;
    assert_scim_error(&r, 400, Some("mutability"));
    assert!(
        app.read(&path).await.body.get("nickName").is_none(),
        "checklist 16: the first op was not applied"
    );
    assert_scim_error(
        &app.request(Method::PATCH, "/Users/nope", Some(json!({"Operations":[]})))
            .await,
        404,
        None,
    );
}

// ---- IdP flows ----

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
    assert_scim_error(&bad_member, 400, Some("invalidValue"));
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
    assert_scim_error(
        &app.request(
            Method::POST,
            "/Groups",
            Some(json!({"displayName":"SALES"})),
        )
        .await,
        409,
        Some("uniqueness"),
    );
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

#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let state = AppState::single(
        Arc::new(MemoryStore::new()),
        TokenSet::new(vec![TokenDigest::of(TOKEN)]),
        HttpSettings {
            client_request_timeout: std::time::Duration::from_millis(500),
            ..HttpSettings::default()
        },
    );
    let server = http::start("127.0.0.1:0", state, 1).expect("the server starts");
    let mut conn = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("a connection");
    // Headers that never end (slowloris).
    assert!(conn
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .is_ok());
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf)).await;
    // The server answers 408 or closes the connection well before our 5 s patience runs out.
    match read {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(_) => panic!("the slow client was not cut off"),
    }
}
