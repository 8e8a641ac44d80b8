//! Authentication: a missing or wrong bearer token.

use super::*;

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
