//! Connected App (direct trust) JWTs: HS256 tokens Tableau accepts at sign-in
//! (tableau-rest.md section 1.5). HS256 is an HMAC over two base64url segments, so this is
//! written over the `hmac` and `sha2` crates rather than a JWT library whose other algorithms
//! we would never use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sha2::Sha256;

/// The scopes the bridge asks for: every action on users and groups; the content read scope,
/// among whose GET methods are Query Site (readiness, `check-config`) and the listings of
/// workbooks, data sources and projects; and the owner changes of content
/// (help.tableau.com, "Access Scopes for Connected Apps": individual, wildcard and content
/// read scopes; `tableau:datasources:update` is its example for Update Data Source). The
/// workbook, flow and project scopes follow the page's `tableau:<resource>:<action>` pattern
/// (assumed: its per-method table was not at hand); the content read scope does not name
/// flows, so Query Flows for User asks for `tableau:flows:read`.
pub const SCOPES: [&str; 8] = [
    "tableau:users:*",
    "tableau:groups:*",
    "tableau:content:read",
    "tableau:workbooks:update",
    "tableau:datasources:update",
    "tableau:flows:read",
    "tableau:flows:update",
    "tableau:projects:update",
];

/// The scope of a content call (see [`SCOPES`]), by method and endpoint label; `None` for
/// the users and groups calls.
fn content_scope(method: &str, endpoint: &str) -> Option<&'static str> {
    let resource = endpoint.strip_prefix("users/{id}/").unwrap_or(endpoint);
    let resource = resource.split('/').next().unwrap_or_default();
    Some(match (method, resource) {
        ("GET", "flows") => "tableau:flows:read",
        ("GET", "workbooks" | "datasources" | "projects") => "tableau:content:read",
        ("PUT", "workbooks") => "tableau:workbooks:update",
        ("PUT", "datasources") => "tableau:datasources:update",
        ("PUT", "flows") => "tableau:flows:update",
        ("PUT", "projects") => "tableau:projects:update",
        _ => return None,
    })
}

/// The scope a call needs, by method and endpoint label (`"users/{id}"`, `"sites/{id}"`):
/// `tableau:<users|groups>:<read|create|update|delete>`, and the content read scope for
/// Query Site. Get Groups for a User is taken as a users read and membership changes as a
/// group update (assumed: the per-method table was not at hand). Used to name the scope in
/// an error when Tableau refuses a connected app's call.
pub fn scope_for(method: &str, endpoint: &str) -> &'static str {
    if let Some(scope) = content_scope(method, endpoint) {
        return scope;
    }
    let groups = endpoint.starts_with("groups");
    match (method, groups) {
        _ if endpoint.starts_with("sites") => "tableau:content:read",
        ("GET", false) => "tableau:users:read",
        ("GET", true) => "tableau:groups:read",
        ("POST", false) => "tableau:users:create",
        ("POST", true) if endpoint == "groups" => "tableau:groups:create",
        ("PUT", false) => "tableau:users:update",
        ("DELETE", false) => "tableau:users:delete",
        ("DELETE", true) if endpoint == "groups/{id}" => "tableau:groups:delete",
        (_, true) => "tableau:groups:update",
        _ => "tableau:users:*",
    }
}

/// How long a minted token is valid; Tableau refuses `exp` more than 10 minutes ahead.
pub const LIFETIME_SECS: i64 = 5 * 60;

/// A Connected App's identity.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    /// The app's client id (`iss`).
    pub client_id: String,
    /// The secret's id (`kid`).
    pub secret_id: String,
    /// The secret's value (the HMAC key).
    pub secret_value: SecretString,
    /// The Tableau user the token signs in as (`sub`): a site administrator.
    pub username: String,
}

fn sign(secret: &SecretString, signing_input: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
    mac.update(signing_input.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Mint a token valid from `now` (seconds since the epoch).
pub fn mint(app: &ConnectedApp, now: i64) -> Option<String> {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": app.secret_id, "iss": app.client_id});
    let claims = json!({
        "iss": app.client_id,
        "sub": app.username,
        "aud": "tableau",
        "exp": now + LIFETIME_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
        "scp": SCOPES,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = sign(&app.secret_value, &input)?;
    Some(format!("{input}.{signature}"))
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtRejection {
    /// Not three base64url segments of JSON.
    #[error("malformed token")]
    Malformed,
    /// The `kid` or `iss` names no known app or secret.
    #[error("unknown connected app or secret")]
    UnknownApp,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `aud` is not `tableau`, `exp` has passed or is more than 10 minutes ahead, or a claim is
    /// missing.
    #[error("invalid claims: {0}")]
    Claims(String),
}

/// Check a token as Tableau would: signature, `aud`, `exp` window, `sub`, `scp`. Returns the
/// claims. Used by the emulator.
pub fn verify(token: &str, app: &ConnectedApp, now: i64) -> Result<Value, JwtRejection> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtRejection::Malformed);
    };
    let decode = |seg: &str| -> Result<Value, JwtRejection> {
        let bytes = URL_SAFE_NO_PAD
            .decode(seg)
            .map_err(|_| JwtRejection::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| JwtRejection::Malformed)
    };
    let header = decode(h)?;
    let claims = decode(c)?;
    if header["alg"] != "HS256" {
        return Err(JwtRejection::Claims("alg must be HS256".into()));
    }
    if header["kid"] != app.secret_id.as_str() || claims["iss"] != app.client_id.as_str() {
        return Err(JwtRejection::UnknownApp);
    }
    let expected =
        sign(&app.secret_value, &format!("{h}.{c}")).ok_or(JwtRejection::BadSignature)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        s.as_bytes(),
    )) {
        return Err(JwtRejection::BadSignature);
    }
    if claims["aud"] != "tableau" {
        return Err(JwtRejection::Claims("aud must be \"tableau\"".into()));
    }
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| JwtRejection::Claims("exp missing".into()))?;
    if exp <= now || exp > now + 600 {
        return Err(JwtRejection::Claims(
            "exp must be in the next 10 minutes".into(),
        ));
    }
    if !claims["sub"].is_string() || !claims["jti"].is_string() {
        return Err(JwtRejection::Claims("sub and jti are required".into()));
    }
    if !claims["scp"].is_array() {
        return Err(JwtRejection::Claims("scp must list scopes".into()));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(secret: &str) -> ConnectedApp {
        ConnectedApp {
            client_id: "client-1".into(),
            secret_id: "kid-1".into(),
            secret_value: SecretString::from(secret.to_string()),
            username: "admin@example.com".into(),
        }
    }

    #[test]
    fn minted_tokens_verify_and_carry_the_claims_tableau_wants() {
        let now = 1_700_000_000;
        let token = mint(&app("s3cret"), now).unwrap_or_default();
        let claims = verify(&token, &app("s3cret"), now);
        let claims = claims.unwrap_or_default();
        assert_eq!(claims["aud"], "tableau");
        assert_eq!(claims["sub"], "admin@example.com");
        assert_eq!(claims["scp"], json!(SCOPES));
        assert!(claims["exp"]
            .as_i64()
            .is_some_and(|e| e > now && e <= now + 600));
        assert_eq!(
            verify(&token, &app("other"), now),
            Err(JwtRejection::BadSignature)
        );
        assert!(matches!(
            verify(&token, &app("s3cret"), now + 3600),
            Err(JwtRejection::Claims(_))
        ));
        assert_eq!(
            verify("a.b", &app("s3cret"), now),
            Err(JwtRejection::Malformed)
        );
    }

    #[test]
    fn each_call_names_the_scope_it_needs() {
        assert_eq!(scope_for("GET", "sites/{id}"), "tableau:content:read");
        assert_eq!(scope_for("GET", "users"), "tableau:users:read");
        assert_eq!(scope_for("POST", "users"), "tableau:users:create");
        assert_eq!(scope_for("PUT", "users/{id}"), "tableau:users:update");
        assert_eq!(scope_for("DELETE", "users/{id}"), "tableau:users:delete");
        assert_eq!(scope_for("POST", "groups"), "tableau:groups:create");
        assert_eq!(
            scope_for("POST", "groups/{id}/users"),
            "tableau:groups:update"
        );
        assert_eq!(scope_for("DELETE", "groups/{id}"), "tableau:groups:delete");
        assert_eq!(
            scope_for("DELETE", "groups/{id}/users/{id}"),
            "tableau:groups:update"
        );
        assert_eq!(scope_for("GET", "groups/{id}/users"), "tableau:groups:read");
        assert_eq!(
            scope_for("GET", "users/{id}/workbooks"),
            "tableau:content:read"
        );
        assert_eq!(scope_for("GET", "users/{id}/flows"), "tableau:flows:read");
        assert_eq!(scope_for("GET", "users/{id}/groups"), "tableau:users:read");
        assert_eq!(scope_for("PUT", "flows/{id}"), "tableau:flows:update");
        assert_eq!(
            scope_for("PUT", "datasources/{id}"),
            "tableau:datasources:update"
        );
        assert!(SCOPES.iter().all(|s| s.starts_with("tableau:")));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let shown = format!("{:?}", app("very-secret-value"));
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
