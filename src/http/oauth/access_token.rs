//! OAuth 2.0 access tokens for SCIM (RFC 6749 4.4, RFC 6750), pure: issued by the token
//! endpoint, checked by the bearer middleware. A token is self-contained and signed
//! (HMAC-SHA256), so every replica accepts what any replica issued without a store lookup, and
//! an unauthenticated client cannot make the server read the store by presenting tokens.
//!
//! The form is `tsat1.<payload>.<tag>`, both parts base64url: the payload is JSON naming the
//! tenant, the client and the expiry; the tag is the HMAC of the payload's text under the
//! tenant's key. The key is derived (HKDF-SHA256) from the replicas' shared key
//! (`[server] session_key_file`) and the tenant's id; without a shared key it is random per
//! process, and a token does not outlive a restart (the IdP asks for another on the 401).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The prefix of every access token this server issues: a bearer token that does not start
/// with it is never parsed as one.
pub const PREFIX: &str = "tsat1.";

/// Longest access token read, in bytes: a payload this server writes is under 400; anything
/// longer is refused before it is decoded, so a presented token costs a bounded amount of work.
pub const MAX_TOKEN_BYTES: usize = 1024;

const SALT: &[u8] = b"tableau-scim oauth access token v1";

/// A tenant's key for its access tokens. Its bytes are never shown.
#[derive(Clone)]
pub struct AccessTokenKey([u8; 32]);

impl std::fmt::Debug for AccessTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessTokenKey(..)")
    }
}

impl Drop for AccessTokenKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

impl AccessTokenKey {
    /// Tenant `tenant`'s key: from the replicas' shared key when there is one (every replica
    /// derives the same), else random for this process.
    pub fn derive(shared_key: Option<&[u8]>, tenant: &str) -> AccessTokenKey {
        let mut random = [0u8; 32];
        let ikm: &[u8] = match shared_key {
            Some(k) => k,
            None => {
                rand::rng().fill_bytes(&mut random);
                &random
            }
        };
        let hk = Hkdf::<Sha256>::new(Some(SALT), ikm);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
        if hk.expand(tenant.as_bytes(), &mut key).is_err() {
            rand::rng().fill_bytes(&mut key);
        }
        use zeroize::Zeroize;
        random.zeroize();
        AccessTokenKey(key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }
}

/// What a token says: whose it is and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The tenant.
    #[serde(rename = "t")]
    pub tenant: String,
    /// The OAuth client it was issued to.
    #[serde(rename = "c")]
    pub client_id: String,
    /// Expiry, seconds since the Unix epoch.
    #[serde(rename = "e")]
    pub expires_at: u64,
    /// 96 random bits: two tokens issued in the same second differ.
    #[serde(rename = "n")]
    pub nonce: String,
}

/// A token signed for `claims` under `key`.
pub fn issue(key: &AccessTokenKey, claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mut mac = key.mac();
    mac.update(payload.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{PREFIX}{payload}.{tag}")
}

/// A fresh nonce for [`Claims::nonce`].
pub fn nonce() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a presented access token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token this server could have issued (form, size, signature, tenant).
    Invalid,
    /// Genuine, but past its expiry: the client should ask for another.
    Expired,
}

/// The claims of `token` as far as they can be read without a key: the tenant whose key
/// checks it. Nothing read here is trusted before [`verify`].
pub fn unverified_tenant(token: &str) -> Option<String> {
    let (payload, _) = split(token)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Claims>(&json)
        .ok()
        .map(|c| c.tenant)
}

fn split(token: &str) -> Option<(&str, &str)> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    token.strip_prefix(PREFIX)?.split_once('.')
}

/// The claims of `token` if `key` signed it for `tenant` and it has not expired at `now`
/// (seconds since the epoch). The signature is compared in constant time, and checked before
/// anything else in the payload is believed.
pub fn verify(
    key: &AccessTokenKey,
    tenant: &str,
    token: &str,
    now: u64,
) -> Result<Claims, Refusal> {
    let (payload, tag) = split(token).ok_or(Refusal::Invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refusal::Invalid)?;
    let mut mac = key.mac();
    mac.update(payload.as_bytes());
    mac.verify_slice(&tag).map_err(|_| Refusal::Invalid)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| Refusal::Invalid)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| Refusal::Invalid)?;
    if claims.tenant != tenant {
        return Err(Refusal::Invalid);
    }
    if now >= claims.expires_at {
        return Err(Refusal::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: u64) -> Claims {
        Claims {
            tenant: "acme".into(),
            client_id: "entra".into(),
            expires_at,
            nonce: nonce(),
        }
    }

    #[test]
    fn a_token_verifies_under_its_key_until_it_expires() {
        let key = AccessTokenKey::derive(Some(b"0123456789abcdef0123456789abcdef"), "acme");
        let token = issue(&key, &claims(1_000));
        assert!(token.starts_with(PREFIX));
        assert_eq!(unverified_tenant(&token).as_deref(), Some("acme"));
        assert_eq!(
            verify(&key, "acme", &token, 999).map(|c| c.client_id),
            Ok("entra".into())
        );
        assert_eq!(verify(&key, "acme", &token, 1_000), Err(Refusal::Expired));
        assert_eq!(verify(&key, "other", &token, 999), Err(Refusal::Invalid));
    }

    #[test]
    fn replicas_sharing_a_key_accept_each_others_tokens_and_no_one_else_does() {
        let shared = b"0123456789abcdef0123456789abcdef";
        let a = AccessTokenKey::derive(Some(shared), "acme");
        let b = AccessTokenKey::derive(Some(shared), "acme");
        let other_tenant = AccessTokenKey::derive(Some(shared), "globex");
        let unshared = AccessTokenKey::derive(None, "acme");
        let token = issue(&a, &claims(1_000));
        assert!(verify(&b, "acme", &token, 1).is_ok());
        assert_eq!(
            verify(&other_tenant, "acme", &token, 1),
            Err(Refusal::Invalid)
        );
        assert_eq!(verify(&unshared, "acme", &token, 1), Err(Refusal::Invalid));
    }

    #[test]
    fn a_changed_payload_or_tag_and_oversized_or_foreign_tokens_are_invalid() {
        let key = AccessTokenKey::derive(Some(b"0123456789abcdef0123456789abcdef"), "acme");
        let token = issue(&key, &claims(1_000));
        let (payload, tag) = token[PREFIX.len()..].split_once('.').expect("two parts");
        let mut forged = claims(u64::MAX);
        forged.nonce = "x".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let swapped = format!("{PREFIX}{forged_payload}.{tag}");
        assert_eq!(verify(&key, "acme", &swapped, 1), Err(Refusal::Invalid));
        let bad_tag = format!("{PREFIX}{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
        assert_eq!(verify(&key, "acme", &bad_tag, 1), Err(Refusal::Invalid));
        let long = format!("{PREFIX}{}.{tag}", "A".repeat(MAX_TOKEN_BYTES));
        assert_eq!(verify(&key, "acme", &long, 1), Err(Refusal::Invalid));
        assert_eq!(unverified_tenant(&long), None);
        assert_eq!(
            verify(&key, "acme", "a-static-bearer-token", 1),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            verify(&key, "acme", "tsat1.no-dot", 1),
            Err(Refusal::Invalid)
        );
    }

    #[test]
    fn the_key_is_never_shown() {
        let key = AccessTokenKey::derive(None, "acme");
        assert_eq!(format!("{key:?}"), "AccessTokenKey(..)");
    }
}
