//! Bearer tokens as the server holds them: SHA-256 digests, compared in constant time, so
//! neither a token nor its length leaks through timing or memory dumps.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a plain token.
    pub fn of(token: &str) -> Self {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// From 64 hex digits (the form `tableau-scim hash-token` prints).
    pub fn from_hex(hex_digest: &str) -> Option<Self> {
        let bytes = hex::decode(hex_digest.trim()).ok()?;
        Some(TokenDigest(bytes.try_into().ok()?))
    }

    /// As 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

/// The tokens a server accepts. Several, so a token can be rotated without downtime.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    digests: Vec<TokenDigest>,
}

impl TokenSet {
    /// A set of accepted token digests.
    pub fn new(digests: Vec<TokenDigest>) -> Self {
        TokenSet { digests }
    }

    /// Whether no token is accepted at all.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `digest` is one of the accepted digests (configuration checks; not for
    /// authentication, which compares in constant time with [`TokenSet::accepts`]).
    pub fn contains(&self, digest: &TokenDigest) -> bool {
        self.digests.contains(digest)
    }

    /// Whether `presented` is one of the accepted tokens. Every digest is compared, whatever
    /// matched, so the time taken does not say which token (or how much of it) matched.
    pub fn accepts(&self, presented: &str) -> bool {
        let candidate = TokenDigest::of(presented);
        let mut matched = subtle::Choice::from(0);
        for d in &self.digests {
            matched |= d.0.ct_eq(&candidate.0);
        }
        bool::from(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens_and_round_trips_hex() {
        let set = TokenSet::new(vec![TokenDigest::of("alpha"), TokenDigest::of("beta")]);
        assert!(set.accepts("alpha"));
        assert!(set.accepts("beta"));
        assert!(!set.accepts("gamma"));
        assert!(!set.accepts(""));
        let hex = TokenDigest::of("alpha").to_hex();
        assert_eq!(TokenDigest::from_hex(&hex), Some(TokenDigest::of("alpha")));
        assert_eq!(TokenDigest::from_hex("zz"), None);
        assert!(!format!("{:?}", TokenDigest::of("alpha")).contains(&hex));
    }
}
