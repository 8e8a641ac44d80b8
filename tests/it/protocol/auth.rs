//! Authentication: a missing or wrong bearer token.

use super::*;

#[tokio::test]
async fn checklist_35_missing_or_wrong_token_is_401_scim_error() {
    let app = spawn().await;
    let mut seen = Vec::new();
    for token in [None, Some("wrong"), Some("")] {
        seen.push(app.raw(Method::GET, "/Users", token, None, None).await);
    }
    assert_seen!(seen, @r#"
    [
      {
        "status": 401,
        "content-type": "application/scim+json",
        "www-authenticate": "Bearer realm=\"tableau-scim\"",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "401",
          "detail": "authentication required: send 'Authorization: Bearer <token>'"
        }
      },
      {
        "status": 401,
        "content-type": "application/scim+json",
        "www-authenticate": "Bearer realm=\"tableau-scim\"",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "401",
          "detail": "the bearer token is not valid for this server"
        }
      },
      {
        "status": 401,
        "content-type": "application/scim+json",
        "www-authenticate": "Bearer realm=\"tableau-scim\"",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "401",
          "detail": "authentication required: send 'Authorization: Bearer <token>'"
        }
      }
    ]
    "#);
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
    assert_seen!(app.raw(Method::GET, "/Schemas", None, None, None).await, @r#"
    {
      "status": 401,
      "content-type": "application/scim+json",
      "www-authenticate": "Bearer realm=\"tableau-scim\"",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "401",
        "detail": "authentication required: send 'Authorization: Bearer <token>'"
      }
    }
    "#);
}
