//! The IdPs' provisioning flows, request by request, against anything that serves SCIM in front
//! of the emulator: one server ([`Site`]) or replicas behind a load balancer.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::state::{Seed, SeedUser};
use tableau_scim::emulator::{Flavor, RunningEmulator};

use super::{id, patch, Idp, Site};

/// What the flows expect of the site: one Explorer already there (Entra adds it to a group).
pub fn existing_user_seed() -> Seed {
    Seed {
        users: vec![SeedUser {
            name: "existing@example.com".into(),
            site_role: "Explorer".into(),
            full_name: Some("Pre Existing".into()),
            email: Some("existing@example.com".into()),
            owns_content: false,
        }],
        groups: vec![],
    }
}

/// A site with one Creator account named `name` (a custodian for `deprovision = "transfer"`).
pub fn creator_seed(name: &str) -> Seed {
    Seed {
        users: vec![SeedUser {
            name: name.into(),
            site_role: "Creator".into(),
            full_name: None,
            email: None,
            owns_content: false,
        }],
        groups: vec![],
    }
}

/// SCIM in front of an emulated Tableau.
pub trait Provisioned {
    /// The IdP's client.
    fn idp(&self) -> &Idp;
    /// The emulated Tableau.
    fn emulator(&self) -> &RunningEmulator;
    /// A user's site role in Tableau, by name.
    fn role(&self, name: &str) -> Option<String> {
        self.emulator().with_state(|s| s.role_of(name)).flatten()
    }
    /// A group's members in Tableau, by name.
    fn members(&self, group: &str) -> Vec<String> {
        self.emulator()
            .with_state(|s| s.member_names(group))
            .flatten()
            .unwrap_or_default()
    }
    /// Every user name in Tableau.
    fn user_names(&self) -> Vec<String> {
        self.emulator()
            .with_state(|s| s.user_names())
            .unwrap_or_default()
    }
    /// Calls the emulator counted for `key` (`"PUT /sites/{id}/users/{id}"`) since the last
    /// reset.
    fn calls(&self, key: &str) -> u64 {
        self.emulator()
            .with_state(|s| s.stats_snapshot().get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }
    /// Every Tableau call since the last reset, as the emulator counted them.
    fn total_calls(&self) -> u64 {
        self.emulator().with_state(|s| s.total_calls()).unwrap_or(0)
    }
    /// Zero the emulator's call counters.
    fn reset_calls(&self) {
        self.emulator().with_state(|s| s.reset_stats());
    }
}

impl Provisioned for Site {
    fn idp(&self) -> &Idp {
        &self.idp
    }
    fn emulator(&self) -> &RunningEmulator {
        &self.stack.emulator
    }
}

/// Okta (OIN template), request by request (scim-idp.md section 2). Returns the user id.
pub async fn okta_flow(h: &impl Provisioned, user_name: &str, group: &str) -> String {
    let (s, probe) = h.idp().get("/Users?startIndex=1&count=2").await;
    assert_eq!(s, StatusCode::OK, "Test Connector: {probe}");
    let (s, _) = h.idp().get("/Groups?startIndex=1&count=100").await;
    assert_eq!(s, StatusCode::OK);
    let (s, lookup) = h
        .idp()
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100",
            user_name.replace('@', "%40")
        ))
        .await;
    assert_eq!(
        (s, lookup["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );
    let (s, created) = h.idp().call(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":user_name,
        "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":user_name,"type":"work"}],
        "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}))).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let uid = id(&created);
    assert_eq!(
        h.role(user_name).as_deref(),
        Some("Viewer"),
        "no roles: the default"
    );
    // Profile push: GET, then PUT of our own body plus Okta's changes, with roles mapped.
    let (_, mut body) = h.idp().get(&format!("/Users/{uid}")).await;
    body["name"] = json!({"givenName":"Another","middleName":"Excited","familyName":"User"});
    body["roles"] = json!([{"value":"tableau-creator","primary":true}]);
    let (s, put) = h
        .idp()
        .call(Method::PUT, &format!("/Users/{uid}"), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    assert_eq!(h.role(user_name).as_deref(), Some("Creator"));
    assert_eq!(
        put["urn:ietf:params:scim:schemas:extension:tableau-scim:2.0:User"]["siteRole"],
        "Creator"
    );
    // Deactivate and reactivate.
    let (s, off) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"replace","value":{"active":false}}]))),
        )
        .await;
    assert_eq!((s, off["active"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(h.role(user_name).as_deref(), Some("Unlicensed"));
    let (_, still) = h
        .idp()
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            user_name.replace('@', "%40")
        ))
        .await;
    assert_eq!(still["totalResults"], 1, "inactive users stay visible");
    let (_, on) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"replace","value":{"active":true}}]))),
        )
        .await;
    assert_eq!(on["active"], true, "{on}");
    assert_eq!(
        h.role(user_name).as_deref(),
        Some("Creator"),
        "the mapped role comes back"
    );
    // Group push.
    let (s, g) = h.idp().call(Method::POST, "/Groups", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":group,"members":[]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g);
    let (s, _) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{"op":"replace","value":{"id":gid,"displayName":group}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, added) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{"op":"add","path":"members","value":[{"value":uid,"display":user_name}]}]),
            )),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NO_CONTENT,
        "a change of members alone has no body: {added}"
    );
    assert_eq!(h.members(group), vec![user_name.to_string()]);
    uid
}

/// Entra ID, request by request (scim-idp.md section 3).
pub async fn entra_flow(h: &impl Provisioned, user_name: &str, group: &str) -> String {
    let (s, t) = h
        .idp()
        .get("/Users?filter=userName+eq+%220b5d5b7c-7d2a-4a4f-9c1e-1f0c4b8e7a11%22")
        .await;
    assert_eq!((s, t["totalResults"].clone()), (StatusCode::OK, json!(0)));
    let (s, c) = h.idp().call(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":user_name,"active":"True",
        "emails":[{"primary":true,"type":"work","value":user_name}],"meta":{"resourceType":"User"},
        "name":{"formatted":"Given Family","familyName":"Family","givenName":"Given"},"roles":[]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let uid = id(&c);
    let (_, by_ext) = h
        .idp()
        .get("/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(by_ext["Resources"][0]["id"], json!(uid));
    let (s, p) = h.idp().call(Method::PATCH, &format!("/Users/{uid}"), Some(patch(json!([
        {"op":"Replace","path":"displayName","value":"Pvlo"},
        {"op":"Replace","path":"name.formatted","value":"Gtfd Pvlo"},
        {"op":"Replace","path":"emails[type eq \"work\"].value","value":"new.mail@example.com"},
        {"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b0\",\"value\":\"Explorer\",\"displayName\":\"Explorer\"}"}]}])))).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let tu = h
        .emulator()
        .with_state(|s| s.user_named(user_name))
        .flatten();
    // Tableau Cloud cannot hold a full name set through REST: tableau-scim keeps it.
    let cloud = h.emulator().with_state(|s| s.flavor) == Some(Flavor::Cloud);
    assert_eq!(
        tu.as_ref().and_then(|u| u.full_name.clone()).as_deref(),
        (!cloud).then_some("Gtfd Pvlo")
    );
    let (_, seen) = h.idp().get(&format!("/Users/{uid}")).await;
    assert_eq!(seen["name"]["formatted"], "Gtfd Pvlo");
    assert_eq!(seen["emails"][0]["value"], "new.mail@example.com");
    // Nor an email ("Tableau Cloud only allows for updating siteRole and authSetting"): Tableau
    // keeps the one Add User carried.
    assert_eq!(
        tu.as_ref().and_then(|u| u.email.clone()).as_deref(),
        Some(if cloud {
            user_name
        } else {
            "new.mail@example.com"
        })
    );
    assert_eq!(h.role(user_name).as_deref(), Some("Explorer"));
    let (s, g) = h.idp().call(Method::POST, "/Groups", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":group,"meta":{"resourceType":"Group"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g);
    let (_, found) = h
        .idp()
        .get(&format!(
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22{}%22",
            group.replace(' ', "+")
        ))
        .await;
    assert_eq!(found["Resources"][0]["id"], json!(gid));
    assert!(found["Resources"][0].get("members").is_none());
    let (_, existing) = h
        .idp()
        .get("/Users?filter=userName%20eq%20%22existing%40example.com%22")
        .await;
    let other = id(&existing["Resources"][0]);
    let (s, _) = h.idp().call(Method::PATCH, &format!("/Groups/{gid}"), Some(patch(json!([{"op":"Add","path":"members","value":[{"$ref":null,"value":uid},{"value":other}]}])))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{"op":"Remove","path":"members","value":[{"value":other}]}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h.members(group), vec![user_name.to_string()]);
    let (s, off) = h
        .idp()
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"Replace","path":"active","value":"False"}]),
            )),
        )
        .await;
    assert_eq!((s, off["active"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(h.role(user_name).as_deref(), Some("Unlicensed"));
    uid
}
