//! A token request (RFC 6749 4.4.2) read from its headers and form body, pure: the client's
//! credentials from HTTP Basic (2.3.1, which a server MUST support) or the body (which it MAY),
//! never both; `grant_type=client_credentials` only; each parameter at most once (3.2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::OAuthError;

/// The grant this endpoint issues.
pub const GRANT_TYPE: &str = "client_credentials";

/// The scope every token carries: the tenant's SCIM endpoints, all of them.
pub const SCOPE: &str = "scim";

/// Largest token request body read, in bytes: three short parameters fit many times over.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// A client's credentials as presented. The client id and secret may each have been sent
/// form-encoded (as 2.3.1 says for Basic) or raw (as many clients do): both readings are kept,
/// and either may match.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    /// The client id, as sent and as decoded.
    pub client_id: Vec<String>,
    /// The client secret, as sent and as decoded.
    pub client_secret: Vec<String>,
    /// Whether it came in an `Authorization: Basic` header (a refusal then carries
    /// `WWW-Authenticate`, RFC 6749 5.2).
    pub basic: bool,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("client_id", &self.client_id)
            .field("client_secret", &"..")
            .field("basic", &self.basic)
            .finish()
    }
}

/// The request, read: who asks, and the scope asked for (granted as [`SCOPE`] whatever it is,
/// and said so in the answer, as 3.3 requires when it differs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The credentials.
    pub client: Presented,
    /// The `scope` parameter, if sent.
    pub scope: Option<String>,
}

/// `value` raw and, when it decodes to something else, form-decoded.
fn readings(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if !value.contains('&') && !value.contains('=') {
        if let Ok(pairs) =
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={value}"))
        {
            if let Some((_, decoded)) = pairs.into_iter().next() {
                if decoded != value {
                    out.push(decoded);
                }
            }
        }
    }
    out
}

fn basic(authorization: &str) -> Result<Option<(String, String)>, OAuthError> {
    let Some((scheme, rest)) = authorization.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bytes = STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::InvalidRequest("the Basic credentials are not base64".into()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| OAuthError::InvalidRequest("the Basic credentials are not UTF-8".into()))?;
    let (id, secret) = text.split_once(':').ok_or_else(|| {
        OAuthError::InvalidRequest(
            "the Basic credentials have no ':' between client id and secret".into(),
        )
    })?;
    Ok(Some((id.to_string(), secret.to_string())))
}

/// The token request in `body` (its `Content-Type` and `Authorization` headers beside it), or
/// the OAuth error that refuses it.
pub fn parse(
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<TokenRequest, OAuthError> {
    let form = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| {
            c.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::InvalidRequest(
            "a token request is a form: Content-Type: application/x-www-form-urlencoded".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::InvalidRequest("the body is not a URL-encoded form".into()))?;
    let mut grant_type = None;
    let mut client_id = None;
    let mut client_secret = None;
    let mut scope = None;
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "grant_type" => &mut grant_type,
            "client_id" => &mut client_id,
            "client_secret" => &mut client_secret,
            "scope" => &mut scope,
            // RFC 6749 3.2: "The authorization server MUST ignore unrecognized request
            // parameters" (`resource`, `audience` and the like carry nothing we could apply).
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(OAuthError::InvalidRequest(format!(
                "the parameter {name} is sent more than once"
            )));
        }
    }
    match grant_type.as_deref() {
        None => return Err(OAuthError::InvalidRequest("grant_type is missing".into())),
        Some(GRANT_TYPE) => {}
        Some(other) => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type '{}' is not issued here; use client_credentials",
                crate::scim::truncated(other, 64)
            )))
        }
    }
    let from_header = authorization.map(basic).transpose()?.flatten();
    let client = match (from_header, client_id, client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "send the client's credentials once: in the Basic header or in the body, not both"
                    .into(),
            ))
        }
        (Some((id, secret)), None, None) => Presented {
            client_id: readings(&id),
            client_secret: readings(&secret),
            basic: true,
        },
        (None, Some(id), Some(secret)) => Presented {
            client_id: vec![id],
            client_secret: vec![secret],
            basic: false,
        },
        (None, _, _) => {
            return Err(OAuthError::InvalidClient {
                basic: false,
                why: "no client credentials: send client_id and client_secret, or HTTP Basic"
                    .into(),
            })
        }
    };
    Ok(TokenRequest { client, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=utf-8");

    fn basic_header(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn credentials_come_from_basic_or_the_body() {
        let h = basic_header("entra", "s%2Bcret");
        let r = parse(FORM, Some(&h), b"grant_type=client_credentials&scope=x").expect("valid");
        assert!(r.client.basic);
        assert_eq!(r.client.client_id, vec!["entra".to_string()]);
        assert_eq!(
            r.client.client_secret,
            vec!["s%2Bcret".to_string(), "s+cret".to_string()]
        );
        assert_eq!(r.scope.as_deref(), Some("x"));
        let r = parse(
            FORM,
            None,
            b"grant_type=client_credentials&client_id=entra&client_secret=a%26b&resource=ignored",
        )
        .expect("valid");
        assert!(!r.client.basic);
        assert_eq!(r.client.client_secret, vec!["a&b".to_string()]);
    }

    #[test]
    fn malformed_requests_are_refused_with_their_oauth_error() {
        let h = basic_header("entra", "secret");
        let code = |r: Result<TokenRequest, OAuthError>| r.map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            code(parse(Some("application/json"), Some(&h), b"{}")),
            Err("invalid_request")
        );
        assert_eq!(
            code(parse(None, Some(&h), b"grant_type=client_credentials")),
            Err("invalid_request")
        );
        assert_eq!(code(parse(FORM, Some(&h), b"")), Err("invalid_request"));
        assert_eq!(
            code(parse(FORM, Some(&h), b"grant_type=password")),
            Err("unsupported_grant_type")
        );
        assert_eq!(
            code(parse(
                FORM,
                Some(&h),
                b"grant_type=client_credentials&grant_type=client_credentials"
            )),
            Err("invalid_request")
        );
        assert_eq!(
            code(parse(
                FORM,
                Some(&h),
                b"grant_type=client_credentials&client_id=entra"
            )),
            Err("invalid_request")
        );
        assert_eq!(
            code(parse(
                FORM,
                None,
                b"grant_type=client_credentials&client_id=entra"
            )),
            Err("invalid_client")
        );
        assert_eq!(
            code(parse(
                FORM,
                Some("Basic !!!"),
                b"grant_type=client_credentials"
            )),
            Err("invalid_request")
        );
        let no_colon = format!("Basic {}", STANDARD.encode("entra"));
        assert_eq!(
            code(parse(
                FORM,
                Some(&no_colon),
                b"grant_type=client_credentials"
            )),
            Err("invalid_request")
        );
    }

    #[test]
    fn a_secret_is_not_shown_by_debug() {
        let h = basic_header("entra", "very-secret-value");
        let r = parse(FORM, Some(&h), b"grant_type=client_credentials").expect("valid");
        assert!(!format!("{r:?}").contains("very-secret-value"));
    }
}
