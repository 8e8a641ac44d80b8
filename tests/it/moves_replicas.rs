//! An identity move on one replica is seen at once on the others (the alias travels on the
//! change feed), and a move a killed replica left half-done is finished by another one.

use crate::common;

use common::id;
use common::replicas::{site, Replicas};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::tableau::content::ContentKind;

const ROLES: &str = "[tenants.roles]\n\"creator\" = \"Creator\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_on_one_replica_reads_back_on_every_replica() {
    let r = Replicas::start(site(), 3, ROLES).await;
    let (s, u) = r
        .idp_of(0)
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ann@example.com", "roles": [{"value": "creator"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let ann = id(&u);
    let (s, g) = r
        .idp_of(1)
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Finance", "members": [{"value": ann}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let group = id(&g);
    r.emulator.with_state(|s| {
        s.seed_item(
            "ann@example.com",
            ContentKind::Workbook,
            "Sales",
            Some("Finance"),
        )
    });
    // Every replica has read Ann under her old name (its caches hold her).
    for i in 0..3 {
        let (_, u) = r.idp_of(i).get(&format!("/Users/{ann}")).await;
        assert_eq!(u["userName"], "ann@example.com", "replica {i}");
    }
    let (s, u) = r
        .idp_of(2)
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "userName", "value": "ann.lee@example.com"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    for i in 0..3 {
        let (s, u) = r.idp_of(i).get(&format!("/Users/{ann}")).await;
        assert_eq!(
            (s, u["userName"].clone()),
            (StatusCode::OK, json!("ann.lee@example.com")),
            "replica {i}"
        );
        let (_, l) = r
            .idp_of(i)
            .get("/Users?filter=userName%20eq%20%22ann.lee%40example.com%22")
            .await;
        assert_eq!(l["Resources"][0]["id"], ann, "replica {i}: {l}");
        let (_, g) = r.idp_of(i).get(&format!("/Groups/{group}")).await;
        assert_eq!(g["members"][0]["value"], ann, "replica {i}: {g}");
    }
    // A change through another replica reaches the new Tableau user.
    let (s, body) = r
        .idp_of(0)
        .call(Method::DELETE, &format!("/Users/{ann}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let gone = r.emulator.with_state(|s| {
        s.user_named("ann.lee@example.com")
            .map(|u| u.site_role.to_string())
    });
    assert_eq!(
        gone,
        Some(Some("Unlicensed".to_string())),
        "she owns Sales: kept Unlicensed"
    );
}
