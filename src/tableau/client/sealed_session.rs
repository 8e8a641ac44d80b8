//! The shared Tableau session token at rest: sealed (XChaCha20-Poly1305) under a key derived
//! from the tenant's Tableau credential, so a copy of the store (a backup, a read replica, a
//! leaked dump) holds no live admin session.
//!
//! Why the credential: every replica of a tenant holds it (it is how they sign in), and whoever
//! holds it can sign in anyway, so the key adds no secret to manage and no new way in. Rotating
//! the credential (a new PAT, a new connected-app secret) rotates the key: a session sealed
//! under the old one cannot be opened, so the replica signs in itself and stores its own.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::Credentials;

/// What a sealed token starts with; the version names the cipher and the key derivation.
const PREFIX: &str = "sealed:v1:";

/// The salt of the key derivation: the same credential keys nothing else of ours.
const SALT: &[u8] = b"tableau-scim shared session token";

/// XChaCha20's nonce: 24 random bytes, so random nonces never repeat in practice.
const NONCE_LEN: usize = 24;

/// Overwrite key material once used (the cipher keeps its own copy).
fn zero(bytes: &mut [u8]) {
    use zeroize::Zeroize;
    bytes.zeroize();
}

/// The key that seals one tenant's stored Tableau session.
pub struct SessionSeal {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SessionSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSeal(..)")
    }
}

impl SessionSeal {
    /// The seal of sessions signed in with `credentials` for `scope` (the session's scope: the
    /// server, site and credential name): HKDF-SHA256 of the credential's secret, and of
    /// `session_key` before it when the replicas are given one (`[server] session_key_file`):
    /// then a copy of the configuration's credential alone does not open the store either, and
    /// a replica without that key cannot use the stored session.
    pub fn for_credentials(
        credentials: &Credentials,
        session_key: Option<&SecretString>,
        scope: &str,
    ) -> SessionSeal {
        let secret = match credentials {
            Credentials::Pat { secret, .. } => secret,
            Credentials::ConnectedApp(app) => &app.secret_value,
        };
        // Length-prefixed, so that no (key, secret) pair reads as another.
        let mut ikm = Vec::new();
        if let Some(k) = session_key {
            let k = k.expose_secret().trim().as_bytes();
            ikm.extend_from_slice(&(k.len() as u64).to_be_bytes());
            ikm.extend_from_slice(k);
        }
        ikm.extend_from_slice(secret.expose_secret().as_bytes());
        let hk = Hkdf::<Sha256>::new(Some(SALT), &ikm);
        zero(&mut ikm);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's most (255 x 32): expand cannot fail here.
        let _ = hk.expand(scope.as_bytes(), &mut key);
        let seal = SessionSeal {
            cipher: XChaCha20Poly1305::new(&key.into()),
        };
        zero(&mut key);
        seal
    }

    /// `token` sealed for the stored row `row` (bound to it: a sealed token copied to another
    /// row does not open there).
    pub fn seal(&self, token: &SecretString, row: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: token.expose_secret().as_bytes(),
            aad: row.as_bytes(),
        };
        // Encryption fails only for messages beyond the cipher's limit (256 GiB).
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The token of `stored`, if it was sealed under this key for `row`; `None` for a token
    /// sealed under another key (another credential), for another row, tampered with, or
    /// stored in clear by an earlier version.
    pub fn open(&self, stored: &str, row: &str) -> Option<SecretString> {
        let bytes = URL_SAFE_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: row.as_bytes(),
        };
        let clear = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()?;
        String::from_utf8(clear).ok().map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(secret: &str) -> Credentials {
        Credentials::Pat {
            name: "scim".into(),
            secret: SecretString::from(secret.to_string()),
        }
    }

    #[test]
    fn a_sealed_token_opens_only_under_its_key_and_row() {
        let seal = SessionSeal::for_credentials(&pat("s1"), None, "https://t acme pat:scim");
        let token = SecretString::from("Session|Token-value".to_string());
        let stored = seal.seal(&token, "acme\u{1f}scope");
        assert!(stored.starts_with(PREFIX));
        assert!(!stored.contains("Token-value"), "{stored}");
        let opened = seal.open(&stored, "acme\u{1f}scope");
        assert_eq!(
            opened.as_ref().map(|t| t.expose_secret().to_string()),
            Some("Session|Token-value".to_string())
        );
        assert!(
            seal.open(&stored, "other\u{1f}scope").is_none(),
            "another row"
        );
        let rotated = SessionSeal::for_credentials(&pat("s2"), None, "https://t acme pat:scim");
        assert!(
            rotated.open(&stored, "acme\u{1f}scope").is_none(),
            "another key"
        );
        let scoped = SessionSeal::for_credentials(&pat("s1"), None, "https://t other pat:scim");
        assert!(
            scoped.open(&stored, "acme\u{1f}scope").is_none(),
            "another scope"
        );
    }

    #[test]
    fn clear_tampered_and_short_rows_do_not_open() {
        let seal = SessionSeal::for_credentials(&pat("s1"), None, "scope");
        assert!(
            seal.open("Session|Token-value", "row").is_none(),
            "in clear"
        );
        assert!(seal.open("sealed:v1:", "row").is_none());
        assert!(seal.open("sealed:v1:!!!", "row").is_none());
        let stored = seal.seal(&SecretString::from("t".to_string()), "row");
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        assert!(seal.open(&tampered, "row").is_none());
        assert_ne!(
            stored,
            seal.seal(&SecretString::from("t".to_string()), "row"),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn its_debug_shows_no_key() {
        let seal = SessionSeal::for_credentials(&pat("s1"), None, "scope");
        assert_eq!(format!("{seal:?}"), "SessionSeal(..)");
    }
}
