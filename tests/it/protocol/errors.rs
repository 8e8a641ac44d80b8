//! Errors: content types, malformed bodies and filters, unknown paths and methods, PATCH errors, slow clients; every one a SCIM error.

use super::*;

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
    assert_seen!(r, @r#"
    {
      "status": 415,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "415",
        "detail": "Content-Type 'text/plain' is not accepted; send application/scim+json or application/json"
      }
    }
    "#);
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/x-www-form-urlencoded"),
            Some("userName=x".into()),
        )
        .await;
    assert_seen!(r, @r#"
    {
      "status": 415,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "415",
        "detail": "Content-Type 'application/x-www-form-urlencoded' is not accepted; send application/scim+json or application/json"
      }
    }
    "#);
}

#[tokio::test]
async fn bad_json_wrong_types_and_oversize_bodies_get_scim_errors() {
    let app = spawn().await;
    let mut seen = Vec::new();
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
        seen.push(r);
    }
    assert_seen!(seen, @r#"
    [
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "the request body is not valid JSON: EOF while parsing an object at line 1 column 1",
          "scimType": "invalidSyntax"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "the request body is not valid JSON: EOF while parsing a list at line 1 column 4",
          "scimType": "invalidSyntax"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "the request body is not valid JSON: expected ident at line 1 column 2",
          "scimType": "invalidSyntax"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "the request body is not valid JSON: trailing comma at line 1 column 18",
          "scimType": "invalidSyntax"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "the request body is not valid JSON: expected value at line 1 column 1",
          "scimType": "invalidSyntax"
        }
      }
    ]
    "#);
    let r = app
        .raw(
            Method::POST,
            "/Users",
            Some(TOKEN),
            Some("application/scim+json"),
            None,
        )
        .await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "the request body is empty; a JSON object is required",
        "scimType": "invalidSyntax"
      }
    }
    "#);
    let r = app
        .request(Method::POST, "/Users", Some(json!([{"userName":"a"}])))
        .await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "the request body must be a JSON object describing a User",
        "scimType": "invalidSyntax"
      }
    }
    "#);
    let r = app
        .request(Method::POST, "/Users", Some(json!({"userName": 42})))
        .await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'userName' must be a string, not a number",
        "scimType": "invalidValue"
      }
    }
    "#);
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
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'userName' is required for a User and must not be empty",
        "scimType": "invalidValue"
      }
    }
    "#);
    let huge = json!({"userName": "x".repeat(MAX_BODY + 1)});
    let r = app.request(Method::POST, "/Users", Some(huge)).await;
    assert_seen!(r, @r#"
    {
      "status": 413,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "413",
        "detail": "the request body is larger than the 8192 bytes this server accepts"
      }
    }
    "#);
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
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "the request body is not valid JSON: recursion limit exceeded at line 1 column 128",
        "scimType": "invalidSyntax"
      }
    }
    "#);
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
    assert_seen!(app.read("/Printers").await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no SCIM endpoint at /scim/v2/Printers"
      }
    }
    "#);
    assert_seen!(app.read("/Users/no-such-id").await, @r#"
    {
      "status": 404,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "404",
        "detail": "no User with id 'no-such-id'"
      }
    }
    "#);
    assert_seen!(app.request(Method::POST, "/Bulk", Some(json!({}))).await, @r#"
    {
      "status": 501,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "501",
        "detail": "/scim/v2/Bulk is not supported by this server (see /ServiceProviderConfig)"
      }
    }
    "#);
    let r = app.request(Method::DELETE, "/Users", None).await;
    assert_seen!(r, @r#"
    {
      "status": 405,
      "content-type": "application/scim+json",
      "allow": "GET, POST",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "405",
        "detail": "DELETE is not allowed on /scim/v2/Users; it takes GET, POST"
      }
    }
    "#);
    assert_eq!(r.header("allow"), "GET, POST");
    assert_seen!(app.read("/Users/.search").await, @r#"
    {
      "status": 405,
      "content-type": "application/scim+json",
      "allow": "POST",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "405",
        "detail": "GET is not allowed on /scim/v2/Users/.search; it takes POST"
      }
    }
    "#);
}

#[tokio::test]
async fn checklist_09_10_bad_filters_are_400_invalid_filter_naming_the_problem() {
    let app = spawn().await;
    let mut seen = Vec::new();
    for (q, needle) in [
        ("userName%20eq", "position"),
        ("userName%20regex%20%22x%22", "operator"),
        ("nosuch%20eq%20%22x%22", "nosuch"),
        ("active%20gt%20true", "boolean"),
        ("emails%5Btype%20eq%20%22work%22", "']'"),
        ("(((((((((((((((((((((((((((((((((((((userName%20pr)))))))))))))))))))))))))))))))))))))", "nesting"),
    ] {
        let r = app.read(&format!("/Users?filter={q}")).await;
        assert!(r.body["detail"].as_str().is_some_and(|d| d.contains(needle)), "{q}: {}", r.body);
        seen.push(r);
    }
    assert_seen!(seen, @r#"
    [
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "invalid filter at position 11: expected a value: a JSON string in double quotes, a number, true, false or null, found the end of the filter",
          "scimType": "invalidFilter"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "invalid filter at position 9: expected an operator: eq, ne, co, sw, ew, gt, ge, lt, le or pr, found 'regex \"x\"'",
          "scimType": "invalidFilter"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "unknown attribute 'nosuch' for User resources",
          "scimType": "invalidFilter"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "'active' is a boolean; 'gt' is not defined on booleans, use eq or ne",
          "scimType": "invalidFilter"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "invalid filter at position 21: expected ']' to close the value filter, 'and' or 'or', found the end of the filter",
          "scimType": "invalidFilter"
        }
      },
      {
        "status": 400,
        "content-type": "application/scim+json",
        "body": {
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:Error"
          ],
          "status": "400",
          "detail": "invalid filter at position 32: expected at most 32 levels of nesting (the filter nests deeper), found '(((((userName pr))))'",
          "scimType": "invalidFilter"
        }
      }
    ]
    "#);
    let r = app.read("/Users?startIndex=abc").await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'startIndex' must be an integer, not 'abc'",
        "scimType": "invalidValue"
      }
    }
    "#);
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
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "operation 1 is a remove without a \"path\"; say what to remove",
        "scimType": "noTarget"
      }
    }
    "#);
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"replace","path":"emails[type eq \"work\"","value":"x"}]}))).await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'emails[type eq \"work\"' has '[' without a closing ']'",
        "scimType": "invalidPath"
      }
    }
    "#);
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]}))).await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'meta.created' is readOnly and cannot be changed",
        "scimType": "mutability"
      }
    }
    "#);
    let r = app.request(Method::PATCH, &path, Some(json!({"Operations":[{"op":"add","path":"nickName","value":"ok"},{"op":"replace","path":"id","value":"x"}]}))).await;
    assert_seen!(r, @r#"
    {
      "status": 400,
      "content-type": "application/scim+json",
      "body": {
        "schemas": [
          "urn:ietf:params:scim:api:messages:2.0:Error"
        ],
        "status": "400",
        "detail": "'id' is readOnly and cannot be changed",
        "scimType": "mutability"
      }
    }
    "#);
    assert!(
        app.read(&path).await.body.get("nickName").is_none(),
        "checklist 16: the first op was not applied"
    );
    assert_seen!(app.request(Method::PATCH, "/Users/nope", Some(json!({"Operations":[]})))
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
