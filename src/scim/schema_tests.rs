//! Tests of the schema registry: attribute lookups, characteristics and the published schemas.

use super::*;

#[test]
fn registry_loads_and_serves_seven_schemas() {
    let r = SchemaRegistry::builtin();
    let ids: Vec<&str> = r
        .served_schemas()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 7);
    assert!(ids.contains(&urn::SERVICE_PROVIDER_CONFIG));
    assert!(ids.contains(&urn::RESOURCE_TYPE));
    assert!(ids.contains(&urn::SCHEMA));
    assert!(
        !ids.contains(&urn::TABLEAU_30_USER),
        "input-only extension is not served"
    );
}

#[test]
fn lookup_is_case_insensitive_and_knows_urns() {
    let r = SchemaRegistry::builtin().resource(ResourceKind::User);
    let a = r.resolve(None, "USERNAME").map(|a| a.attr.name.as_str());
    assert_eq!(a, Some("userName"));
    let dept = r
        .resolve(Some(urn::ENTERPRISE_USER), "Department")
        .map(|a| a.location);
    assert_eq!(dept, Some(Location::Extension(urn::ENTERPRISE_USER)));
    assert!(r.resolve(Some(urn::USER), "id").is_some());
    assert!(r.resolve(None, "nosuch").is_none());
    let t30 = r.extension(urn::TABLEAU_30).map(|s| s.id.as_str());
    assert_eq!(t30, Some(urn::TABLEAU_30_USER));
}

#[test]
fn roles_value_lists_the_tableau_site_roles() {
    let r = SchemaRegistry::builtin().resource(ResourceKind::User);
    let roles = r.resolve(None, "roles").map(|a| a.attr);
    let values = roles
        .and_then(|a| a.sub("value"))
        .map(|v| v.canonical_values.clone())
        .unwrap_or_default();
    for role in [
        "Creator",
        "Explorer",
        "ExplorerCanPublish",
        "SiteAdministratorExplorer",
        "SiteAdministratorCreator",
        "Viewer",
        "Unlicensed",
    ] {
        assert!(values.iter().any(|v| v == role), "{role} missing");
    }
}

#[test]
fn served_schemas_list_external_id_and_the_enforced_mutability() {
    let served = SchemaRegistry::builtin().served_schemas();
    let doc = |id: &str| {
        served
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    let attr = |doc: &Value, name: &str| {
        doc["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name).cloned())
    };
    for id in [urn::USER, urn::GROUP] {
        let ext = attr(&doc(id), "externalId");
        assert!(
            ext.as_ref()
                .is_some_and(|e| e["mutability"] == "readWrite" && e["caseExact"] == true),
            "{id}: {ext:?}"
        );
    }
    let user_name = attr(&doc(urn::USER), "userName");
    assert_eq!(
        user_name.map(|u| u["mutability"].clone()),
        Some(Value::from("readWrite")),
        "a userName change is an identity move"
    );
    let r = SchemaRegistry::builtin().resource(ResourceKind::User);
    assert_eq!(
        r.resolve(None, "userName").map(|a| a.attr.mutability),
        Some(Mutability::ReadWrite),
        "a change reaches the bridge, which moves the person"
    );
}

#[test]
fn id_and_external_id_are_case_exact() {
    let r = SchemaRegistry::builtin().resource(ResourceKind::User);
    for name in ["id", "externalId"] {
        assert!(r.resolve(None, name).is_some_and(|a| a.attr.case_exact));
    }
    assert!(r
        .resolve(None, "userName")
        .is_some_and(|a| !a.attr.case_exact));
}
