//! Discovery: /ServiceProviderConfig, /ResourceTypes, /Schemas, and what the server ignores.

use super::*;

#[tokio::test]
async fn checklist_31_discovery_endpoints_exist_get_only_and_refuse_filters() {
    let app = spawn().await;
    let spc = app.read("/ServiceProviderConfig").await;
    assert_eq!(
        spc.body["filter"]["maxResults"], MAX_PAGE,
        "checklist 11: advertised page size"
    );
    assert!(spc.body["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.ends_with("/ServiceProviderConfig")));
    assert_seen!(spc, @r#"
    {
      "status": 200,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
        ],
        "documentationUri": "https://github.com/tableau-scim/tableau-scim#readme",
        "patch": {
          "supported": true
        },
        "bulk": {
          "supported": false,
          "maxOperations": 0,
          "maxPayloadSize": 0
        },
        "filter": {
          "supported": true,
          "maxResults": 5
        },
        "changePassword": {
          "supported": false
        },
        "sort": {
          "supported": false
        },
        "etag": {
          "supported": true
        },
        "authenticationSchemes": [
          {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A per-tenant bearer token in the Authorization header",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true
          }
        ],
        "meta": {
          "resourceType": "ServiceProviderConfig",
          "location": "[location]"
        }
      }
    }
    "#);

    let rts = app.read("/ResourceTypes").await;
    assert_eq!(rts.body["totalResults"], 2);
    let user_rt = app.read("/ResourceTypes/User").await;
    assert_eq!(user_rt.body["endpoint"], "/Users");
    assert_eq!(
        user_rt.body["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_seen!(app.read("/ResourceTypes/Printer").await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no resource type 'Printer'; there are 'User' and 'Group'"
      }
    }
    "#);

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
    assert_seen!(app.read("/Schemas/urn:nope").await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no schema 'urn:nope'"
      }
    }
    "#);

    let mut seen = Vec::new();
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        seen.push(app.read(&format!("{path}?filter=id%20pr")).await);
        seen.push(app.request(Method::POST, path, Some(json!({}))).await);
    }
    assert_seen!(seen, @r#"
    [
      {
        "status": 403,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "403",
          "detail": "discovery endpoints do not support filtering (RFC 7644 section 4)"
        }
      },
      {
        "status": 405,
        "content-type": "application/scim+json",
        "allow": "GET",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "405",
          "detail": "POST is not allowed on /scim/v2/ServiceProviderConfig; it takes GET"
        }
      },
      {
        "status": 403,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "403",
          "detail": "discovery endpoints do not support filtering (RFC 7644 section 4)"
        }
      },
      {
        "status": 405,
        "content-type": "application/scim+json",
        "allow": "GET",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "405",
          "detail": "POST is not allowed on /scim/v2/ResourceTypes; it takes GET"
        }
      },
      {
        "status": 403,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "403",
          "detail": "discovery endpoints do not support filtering (RFC 7644 section 4)"
        }
      },
      {
        "status": 405,
        "content-type": "application/scim+json",
        "allow": "GET",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "405",
          "detail": "POST is not allowed on /scim/v2/Schemas; it takes GET"
        }
      }
    ]
    "#);
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

#[tokio::test]
async fn checklist_34_unknown_query_parameters_are_ignored() {
    let app = spawn().await;
    let r = app
        .read("/Users?aadOptscim062020&sortBy=userName&foo=bar")
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
