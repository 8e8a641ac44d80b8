//! Resource versions (RFC 7644 section 3.14): the weak ETag of a resource, the `meta` that
//! carries it, and the `If-Match` / `If-None-Match` preconditions. Every backend and the HTTP
//! layer use these, so a version means the same thing everywhere.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::{ScimError, ScimResult};
use super::schema::ResourceKind;

/// A weak ETag over the resource's content: it moves exactly when what a client can read moves.
/// `meta` is not content (its `lastModified` moves with every write).
pub fn version_of(resource: &Value) -> String {
    // The digest of the resource's compact JSON without `meta`, written straight into the
    // hash: cloning and printing the resource first was a tenth of a cached read's CPU.
    let mut h = HashWriter(Sha256::new());
    match resource {
        Value::Object(o) => {
            h.0.update(b"{");
            for (i, (k, v)) in o.iter().filter(|(k, _)| k.as_str() != "meta").enumerate() {
                if i > 0 {
                    h.0.update(b",");
                }
                h.json(k);
                h.0.update(b":");
                h.json(v);
            }
            h.0.update(b"}");
        }
        other => h.json(other),
    }
    let digest = h.0.finalize();
    format!("W/\"{}\"", hex::encode(&digest[..8]))
}

/// Feeds what serde_json prints into a SHA-256.
struct HashWriter(Sha256);

impl HashWriter {
    fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        // Writing into a hash cannot fail, and a `Value` always serializes.
        let _ = serde_json::to_writer(&mut *self, value);
    }
}

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Set `meta` on a resource: `created` and `lastModified` when known, and the version of its
/// content. The one builder of `meta` for every backend.
pub fn set_meta(resource: &mut Value, created: Option<&str>, last_modified: Option<&str>) {
    let version = version_of(resource);
    let Some(o) = resource.as_object_mut() else {
        return;
    };
    let mut meta = Map::new();
    if let Some(c) = created {
        meta.insert("created".into(), c.into());
    }
    if let Some(m) = last_modified {
        meta.insert("lastModified".into(), m.into());
    }
    meta.insert("version".into(), version.into());
    o.insert("meta".into(), Value::Object(meta));
}

/// The version a resource carries in `meta.version` (empty when it has none).
pub fn current_version(resource: &Value) -> &str {
    resource["meta"]["version"].as_str().unwrap_or_default()
}

/// Whether a list of entity tags (the value of `If-Match` or `If-None-Match`) names `version`:
/// `*` matches any version, otherwise one of the comma-separated tags must be equal.
pub fn tags_match(tags: &str, version: &str) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == version)
}

/// `If-Match` (RFC 7644 section 3.14): a write goes ahead only when the client's version is the
/// current one; otherwise 412 naming both versions.
pub fn check_if_match(
    current: &Value,
    if_match: Option<&str>,
    kind: ResourceKind,
) -> ScimResult<()> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let version = current_version(current);
    if tags_match(wanted, version) {
        Ok(())
    } else {
        Err(ScimError::PreconditionFailed(format!(
            "the {} has changed: If-Match {wanted} is not the current version {version}",
            kind.name()
        )))
    }
}

/// `If-None-Match` on a read: the client's copy is current, so the answer is 304. A resource
/// without a version never is.
pub fn not_modified(current: &Value, if_none_match: Option<&str>) -> bool {
    let version = current_version(current);
    !version.is_empty() && if_none_match.is_some_and(|tags| tags_match(tags, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_version_is_the_digest_of_the_resource_without_meta() {
        let r = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1",
                       "userName": "a\"b@example.com",
                       "meta": {"lastModified": "2026-01-01T00:00:00Z"}, "active": true});
        let mut without = r.clone();
        if let Some(o) = without.as_object_mut() {
            o.remove("meta");
        }
        let digest = Sha256::digest(without.to_string().as_bytes());
        assert_eq!(
            version_of(&r),
            format!("W/\"{}\"", hex::encode(&digest[..8]))
        );
        let mut changed = r.clone();
        changed["active"] = false.into();
        assert_ne!(version_of(&r), version_of(&changed));
        changed["active"] = true.into();
        changed["meta"] = json!({"lastModified": "2027-01-01T00:00:00Z"});
        assert_eq!(version_of(&r), version_of(&changed), "meta is not content");
    }

    #[test]
    fn meta_carries_the_known_times_and_the_version_of_the_content() {
        let mut r = json!({"id": "g1", "displayName": "Sales"});
        let expected = version_of(&r);
        set_meta(
            &mut r,
            Some("2026-01-01T00:00:00Z"),
            Some("2026-02-01T00:00:00Z"),
        );
        assert_eq!(
            r["meta"],
            json!({"created": "2026-01-01T00:00:00Z", "lastModified": "2026-02-01T00:00:00Z",
                   "version": expected})
        );
        let mut bare = json!({"id": "g1", "displayName": "Sales"});
        set_meta(&mut bare, None, None);
        assert_eq!(bare["meta"], json!({"version": expected}));
        assert_eq!(current_version(&bare), expected);
    }

    #[test]
    fn if_match_admits_the_current_version_a_list_holding_it_or_a_star() {
        let mut r = json!({"id": "u1"});
        set_meta(&mut r, None, None);
        let v = current_version(&r).to_string();
        for ok in [
            None,
            Some("*"),
            Some(v.as_str()),
            Some(&*format!("W/\"old\", {v}")),
        ] {
            assert!(check_if_match(&r, ok, ResourceKind::User).is_ok(), "{ok:?}");
        }
        let stale = check_if_match(&r, Some("W/\"old\""), ResourceKind::Group);
        match stale {
            Err(ScimError::PreconditionFailed(m)) => {
                assert!(m.contains("the Group has changed") && m.contains(&v), "{m}");
            }
            other => panic!("expected 412, got {other:?}"),
        }
    }

    #[test]
    fn if_none_match_is_a_hit_only_for_a_versioned_resource_it_names() {
        let mut r = json!({"id": "u1"});
        set_meta(&mut r, None, None);
        let v = current_version(&r).to_string();
        assert!(not_modified(&r, Some(&v)));
        assert!(not_modified(&r, Some("*")));
        assert!(not_modified(&r, Some(&format!("W/\"x\" , {v}"))));
        assert!(!not_modified(&r, Some("W/\"x\"")));
        assert!(!not_modified(&r, None));
        assert!(
            !not_modified(&json!({"id": "u1"}), Some("*")),
            "no version, no 304"
        );
    }
}
